"""Per-role search limits (speleo.ops.roles: srchMaxTime, srchJobsQuota, srchMaxRowsRead, srchMaxMemory).

Revision ID: 0009_role_limits
Revises: 0008_rollup_used
"""
import sqlalchemy as sa
from alembic import op

revision = "0009_role_limits"
down_revision = "0008_rollup_used"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("roles") as batch:
        batch.add_column(sa.Column("limits", sa.Text, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("roles") as batch:
        batch.drop_column("limits")
