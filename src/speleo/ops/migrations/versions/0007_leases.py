"""Leader leases (speleo.ops.lease): one server at a time runs the scheduler and the ops ticks.

Revision ID: 0007_leases
Revises: 0006_reports3
"""
import sqlalchemy as sa
from alembic import op

revision = "0007_leases"
down_revision = "0006_reports3"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "leases",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("holder", sa.String(200), nullable=False),
        sa.Column("expires_at", sa.Float, nullable=False),
        sa.Column("acquired_at", sa.Float, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("leases")
