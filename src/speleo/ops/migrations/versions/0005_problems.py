"""Problems: problem records, their links to incidents, versioned plans of attack, signatures;
and an index on incidents.declared_at (the incidents list, newest first).

Revision ID: 0005_problems
Revises: 0004_incidents
"""
import sqlalchemy as sa
from alembic import op

revision = "0005_problems"
down_revision = "0004_incidents"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # the incidents list is newest first: an index keeps it fast at 10,000 incidents (bench/incidents_bench.py)
    op.create_index("ix_incidents_declared_at", "incidents", ["declared_at"])
    op.create_table(
        "problems",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("statement", sa.String(500), nullable=False),
        sa.Column("status", sa.String(24), nullable=False, index=True),
        sa.Column("services", sa.Text, nullable=False),
        sa.Column("root_cause", sa.Text, nullable=False),
        sa.Column("workaround", sa.Text, nullable=False),
        sa.Column("known_error", sa.Text, nullable=False),
        sa.Column("created_by", sa.String(120), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
        sa.Column("resolved_at", sa.Float),
        sa.Column("closed_at", sa.Float),
    )
    op.create_table(
        "problem_incidents",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("problem_id", sa.Integer, sa.ForeignKey("problems.id", ondelete="CASCADE"), nullable=False, index=True),
        sa.Column("incident_id", sa.Integer, sa.ForeignKey("incidents.id", ondelete="CASCADE"), nullable=False,
                  index=True),
        sa.Column("linked_at", sa.Float, nullable=False),
        sa.Column("linked_by", sa.String(120), nullable=False),
        sa.Column("how", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("details", sa.Text, nullable=False),
        sa.Column("plan_version", sa.Integer),
        sa.UniqueConstraint("problem_id", "incident_id", name="uq_problem_incident"),
    )
    op.create_table(
        "problem_plans",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("problem_id", sa.Integer, sa.ForeignKey("problems.id", ondelete="CASCADE"), nullable=False, index=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("owner", sa.String(120), nullable=False),
        sa.Column("reviewed_at", sa.Float),
        sa.Column("reviewed_by", sa.String(120)),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("created_by", sa.String(120), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.UniqueConstraint("problem_id", "version", name="uq_problem_plan_version"),
    )
    op.create_table(
        "problem_signatures",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("problem_id", sa.Integer, sa.ForeignKey("problems.id", ondelete="CASCADE"), nullable=False, index=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("details", sa.Text, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("created_by", sa.String(120), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("problem_signatures")
    op.drop_table("problem_plans")
    op.drop_table("problem_incidents")
    op.drop_table("problems")
    op.drop_index("ix_incidents_declared_at", "incidents")
