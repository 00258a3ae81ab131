"""Incidents: the incident, its role holdings (with history) and its timeline.

Revision ID: 0004_incidents
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

revision = "0004_incidents"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "incidents",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("severity", sa.String(8), nullable=False),
        sa.Column("status", sa.String(16), nullable=False, index=True),
        sa.Column("services", sa.Text, nullable=False),
        sa.Column("dedup_key", sa.String(200), nullable=True, index=True),
        sa.Column("created_by", sa.String(120), nullable=False),
        sa.Column("impact_started_at", sa.Float),
        sa.Column("detected_at", sa.Float),
        sa.Column("declared_at", sa.Float, nullable=False),
        sa.Column("acknowledged_at", sa.Float),
        sa.Column("mitigated_at", sa.Float),
        sa.Column("resolved_at", sa.Float),
        sa.Column("closed_at", sa.Float),
        sa.Column("updated_at", sa.Float, nullable=False),
    )
    op.create_table(
        "incident_roles",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("incident_id", sa.Integer, sa.ForeignKey("incidents.id", ondelete="CASCADE"), nullable=False, index=True),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("who", sa.String(120), nullable=False),
        sa.Column("assumed_at", sa.Float, nullable=False),
        sa.Column("renounced_at", sa.Float),
        sa.Column("assigned_by", sa.String(120), nullable=False),
    )
    op.create_table(
        "incident_timeline",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("incident_id", sa.Integer, sa.ForeignKey("incidents.id", ondelete="CASCADE"), nullable=False, index=True),
        sa.Column("at", sa.Float, nullable=False),
        sa.Column("recorded_at", sa.Float, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("actor", sa.String(120), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("details", sa.Text, nullable=False),
        sa.Column("search", sa.Text),
        sa.Column("earliest", sa.Float),
        sa.Column("latest", sa.Float),
    )


def downgrade() -> None:
    op.drop_table("incident_timeline")
    op.drop_table("incident_roles")
    op.drop_table("incidents")
