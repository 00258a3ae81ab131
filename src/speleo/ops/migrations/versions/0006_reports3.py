"""Hourly report rollups (speleo.ops.reports.rollup, decision 0033).

Revision ID: 0006_reports3
Revises: 0005_reports
"""
import sqlalchemy as sa
from alembic import op

revision = "0006_reports3"
down_revision = "0005_reports"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "report_rollups",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("hour", sa.Float, primary_key=True),
        sa.Column("fingerprint", sa.Text, nullable=False),
        sa.Column("counts", sa.Text, nullable=False),
        sa.Column("summarised_at", sa.Float, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("report_rollups")
