"""Base schema: users, saved searches, and the change history of operations records.

Homes made before migrations existed already have `users` and `saved_searches` (created by
`create_all`): this revision creates only the tables that are missing.

Revision ID: 0001
Revises:
"""
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    have = set(sa.inspect(op.get_bind()).get_table_names())
    if "users" not in have:
        op.create_table(
            "users",
            sa.Column("id", sa.Integer, primary_key=True),
            sa.Column("name", sa.String(64), nullable=False, unique=True),
            sa.Column("role", sa.String(16), nullable=False),
            sa.Column("password_hash", sa.String(255), nullable=False),
            sa.Column("created", sa.Float, nullable=False),
            sa.Column("password_changed", sa.Float, nullable=False),
        )
    if "saved_searches" not in have:
        op.create_table(
            "saved_searches",
            sa.Column("id", sa.Integer, primary_key=True),
            sa.Column("owner_id", sa.Integer, nullable=False, index=True),
            sa.Column("name", sa.String(120), nullable=False),
            sa.Column("search", sa.Text, nullable=False),
            sa.Column("earliest", sa.String(64)),
            sa.Column("latest", sa.String(64)),
            sa.Column("created", sa.Float, nullable=False),
            sa.Column("updated", sa.Float, nullable=False),
            sa.UniqueConstraint("owner_id", "name"),
        )
    if "record_changes" not in have:
        op.create_table(
            "record_changes",
            sa.Column("id", sa.Integer, primary_key=True),
            sa.Column("record_type", sa.String(64), nullable=False, index=True),
            sa.Column("record_id", sa.String(64), nullable=False, index=True),
            sa.Column("field", sa.String(64), nullable=False),
            sa.Column("old", sa.Text),
            sa.Column("new", sa.Text),
            sa.Column("actor", sa.String(120), nullable=False),
            sa.Column("at", sa.Float, nullable=False),
        )


def downgrade() -> None:
    op.drop_table("record_changes")
