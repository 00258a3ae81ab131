"""Search history: every search a user ran from the search page (speleo.ops.history).

Revision ID: 0006_searchpage2
Revises: 0002_security
"""
import sqlalchemy as sa
from alembic import op

revision = "0006_searchpage2"
down_revision = "0002_security"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "search_history",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("user_id", sa.Integer, nullable=False, index=True),
        sa.Column("search", sa.Text, nullable=False),
        sa.Column("earliest", sa.String(64)),
        sa.Column("latest", sa.String(64)),
        sa.Column("ran_at", sa.Float, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("result_count", sa.Integer),
        sa.Column("run_secs", sa.Float),
    )


def downgrade() -> None:
    op.drop_table("search_history")
