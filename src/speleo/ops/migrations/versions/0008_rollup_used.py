"""When each report summary was last read (speleo.ops.reports.rollup.prune drops the unused ones).

Revision ID: 0008_rollup_used
Revises: 0007_leases
"""
import sqlalchemy as sa
from alembic import op

revision = "0008_rollup_used"
down_revision = "0007_leases"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("report_rollups") as batch:
        batch.add_column(sa.Column("used_at", sa.Float, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("report_rollups") as batch:
        batch.drop_column("used_at")
