"""Notifications: every email and webhook attempt of the operations workflows.

Revision ID: 0005_notify
Revises: 0004_incidents
"""
import sqlalchemy as sa
from alembic import op

revision = "0005_notify"
down_revision = "0004_incidents"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notification_attempts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("at", sa.Float, nullable=False, index=True),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("target", sa.String(500), nullable=False),
        sa.Column("subject", sa.String(300), nullable=False),
        sa.Column("ok", sa.Boolean, nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("ref_type", sa.String(32), nullable=True),
        sa.Column("ref_id", sa.String(64), nullable=True),
    )
    op.create_index("ix_notification_attempts_ref", "notification_attempts", ["ref_type", "ref_id"])


def downgrade() -> None:
    op.drop_table("notification_attempts")
