"""On-call: schedules, rotations, overrides, contact methods, escalation policies, escalations and steps.

Revision ID: 0005_oncall
Revises: 0004_incidents
"""
import sqlalchemy as sa
from alembic import op

revision = "0005_oncall"
down_revision = "0004_incidents"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "oncall_schedules",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(64), nullable=False, unique=True),
        sa.Column("time_zone", sa.String(64), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("created_by", sa.String(120), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
    )
    op.create_table(
        "oncall_rotations",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("schedule_id", sa.Integer, sa.ForeignKey("oncall_schedules.id", ondelete="CASCADE"), nullable=False, index=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("length", sa.Integer, nullable=False),
        sa.Column("unit", sa.String(8), nullable=False),
        sa.Column("layer", sa.Integer, nullable=False),
        sa.Column("users", sa.Text, nullable=False),
        sa.Column("start_local", sa.String(32), nullable=False),
        sa.Column("end_local", sa.String(32)),
        sa.Column("created_at", sa.Float, nullable=False),
    )
    op.create_table(
        "oncall_overrides",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("schedule_id", sa.Integer, sa.ForeignKey("oncall_schedules.id", ondelete="CASCADE"), nullable=False, index=True),
        sa.Column("user", sa.String(64), nullable=False),
        sa.Column("start", sa.Float, nullable=False),
        sa.Column("end", sa.Float, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("created_by", sa.String(120), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
    )
    op.create_table(
        "oncall_contacts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("user", sa.String(64), nullable=False, index=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("target", sa.String(500), nullable=False),
        sa.Column("style", sa.String(8), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.UniqueConstraint("user", "kind", "target", name="uq_oncall_contact"),
    )
    op.create_table(
        "oncall_policies",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(64), nullable=False, unique=True),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("steps", sa.Text, nullable=False),
        sa.Column("services", sa.Text, nullable=False),
        sa.Column("is_default", sa.Integer, nullable=False),
        sa.Column("created_by", sa.String(120), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
    )
    op.create_table(
        "oncall_escalations",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("incident_id", sa.Integer, sa.ForeignKey("incidents.id", ondelete="CASCADE"), nullable=False, unique=True),
        sa.Column("policy", sa.String(64)),
        sa.Column("state", sa.String(16), nullable=False, index=True),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("started_at", sa.Float, nullable=False),
        sa.Column("ended_at", sa.Float),
    )
    op.create_table(
        "oncall_escalation_steps",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("escalation_id", sa.Integer, sa.ForeignKey("oncall_escalations.id", ondelete="CASCADE"), nullable=False, index=True),
        sa.Column("incident_id", sa.Integer, nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("due_at", sa.Float, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("target", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("claimed_at", sa.Float),
        sa.Column("claims", sa.Integer, nullable=False),
        sa.Column("done_at", sa.Float),
        sa.Column("detail", sa.Text, nullable=False),
    )
    op.create_index("ix_oncall_steps_due", "oncall_escalation_steps", ["state", "due_at"])
    op.create_table(
        "oncall_state",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )


def downgrade() -> None:
    for t in ("oncall_state", "oncall_escalation_steps", "oncall_escalations", "oncall_policies", "oncall_contacts",
              "oncall_overrides", "oncall_rotations", "oncall_schedules"):
        op.drop_table(t)
