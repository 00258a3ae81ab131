"""Alerts: scheduling and alerting attributes of saved searches, scheduler state, throttle
keys, run history and fired alerts (speleo.alerts.models).

Revision ID: 0003_alerts
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

revision = "0003_alerts"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("saved_searches") as t:
        t.add_column(sa.Column("attrs", sa.Text, nullable=True))
        t.add_column(sa.Column("app", sa.String(80), nullable=True))
        t.add_column(sa.Column("sharing", sa.String(16), nullable=True))
    op.create_table(
        "alert_state",
        sa.Column("saved_id", sa.Integer, primary_key=True),
        sa.Column("next_scheduled", sa.Float),
        sa.Column("last_scheduled", sa.Float),
        sa.Column("last_status", sa.String(32)),
        sa.Column("prev_value", sa.Float),
        sa.Column("prev_scheduled", sa.Float),
        sa.Column("suppressed_until", sa.Float),
        sa.Column("startup_pending", sa.Integer, nullable=False, server_default="0"),
    )
    op.create_table(
        "alert_throttle",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("scope", sa.String(300), nullable=False),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("saved_id", sa.Integer, nullable=False, index=True),
        sa.Column("expires", sa.Float, nullable=False),
        sa.UniqueConstraint("scope", "key"),
    )
    op.create_table(
        "alert_runs",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("saved_id", sa.Integer, nullable=False, index=True),
        sa.Column("savedsearch_name", sa.String(120), nullable=False),
        sa.Column("sid", sa.String(120), nullable=False, index=True),
        sa.Column("scheduled_time", sa.Float, nullable=False),
        sa.Column("dispatch_time", sa.Float),
        sa.Column("run_time", sa.Float),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("reason", sa.Text),
        sa.Column("result_count", sa.Integer),
        sa.Column("measured", sa.Float),
        sa.Column("triggered", sa.Integer, nullable=False, server_default="0"),
        sa.Column("suppressed", sa.Integer, nullable=False, server_default="0"),
        sa.Column("alert_actions", sa.Text),
    )
    op.create_table(
        "fired_alerts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("saved_id", sa.Integer, nullable=False, index=True),
        sa.Column("savedsearch_name", sa.String(120), nullable=False),
        sa.Column("owner_id", sa.Integer, nullable=False),
        sa.Column("sid", sa.String(120), nullable=False),
        sa.Column("trigger_time", sa.Float, nullable=False),
        sa.Column("expiration_time", sa.Float, nullable=False, index=True),
        sa.Column("severity", sa.Integer, nullable=False),
        sa.Column("alert_type", sa.String(16), nullable=False),
        sa.Column("digest_mode", sa.Integer, nullable=False),
        sa.Column("actions", sa.Text),
        sa.Column("triggered_alerts", sa.Integer, nullable=False),
        sa.Column("result", sa.Text),
    )


def downgrade() -> None:
    for name in ("fired_alerts", "alert_runs", "alert_throttle", "alert_state"):
        op.drop_table(name)
    with op.batch_alter_table("saved_searches") as t:
        t.drop_column("sharing")
        t.drop_column("app")
        t.drop_column("attrs")
