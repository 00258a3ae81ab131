"""Security: roles (capabilities, importRoles, srchIndexesAllowed/Default), the roles of each
user, disabled users, and server-side web sessions.

Existing users keep their role: `users.role` is copied into `user_roles`. The built-in roles
themselves are created by `speleo.ops.roles.Roles.ensure_builtins` (their definitions live in code).

Revision ID: 0002_security
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

revision = "0002_security"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "roles",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("capabilities", sa.Text, nullable=False),
        sa.Column("import_roles", sa.Text, nullable=False),
        sa.Column("srch_indexes_allowed", sa.Text, nullable=False),
        sa.Column("srch_indexes_default", sa.Text, nullable=False),
        sa.Column("builtin", sa.Integer, nullable=False, server_default="0"),
        sa.Column("created", sa.Float, nullable=False),
        sa.Column("updated", sa.Float, nullable=False),
    )
    op.create_table(
        "user_roles",
        sa.Column("user_id", sa.Integer, primary_key=True),
        sa.Column("role", sa.String(64), primary_key=True),
    )
    op.create_table(
        "web_sessions",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("user_id", sa.Integer, nullable=False, index=True),
        sa.Column("csrf", sa.String(64), nullable=False),
        sa.Column("created", sa.Float, nullable=False),
        sa.Column("last_seen", sa.Float, nullable=False),
        sa.Column("expires", sa.Float, nullable=False),
        sa.Column("revoked", sa.Float),
        sa.Column("revoked_reason", sa.String(64)),
        sa.Column("client", sa.String(64)),
    )
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("disabled", sa.Integer, nullable=False, server_default="0"))
    op.execute("INSERT INTO user_roles (user_id, role) SELECT id, role FROM users")


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("disabled")
    op.drop_table("web_sessions")
    op.drop_table("user_roles")
    op.drop_table("roles")
