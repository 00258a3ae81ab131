"""Service level objectives (speleo.ops.slo).

Revision ID: 0005_reports
Revises: 0004_incidents
"""
import sqlalchemy as sa
from alembic import op

revision = "0005_reports"
down_revision = "0004_incidents"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "slos",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(120), nullable=False, unique=True),
        sa.Column("service", sa.String(120), nullable=False, index=True),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("good", sa.Text, nullable=False),
        sa.Column("good_kind", sa.String(8), nullable=False),
        sa.Column("total", sa.Text, nullable=False),
        sa.Column("total_kind", sa.String(8), nullable=False),
        sa.Column("objective", sa.Float, nullable=False),
        sa.Column("window_days", sa.Integer, nullable=False),
        sa.Column("alerts", sa.Text, nullable=False),
        sa.Column("created_by", sa.String(120), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("slos")
