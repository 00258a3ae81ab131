"""Post-mortems, action items and their reminders, people (email, team, manager), release
checklists and after-action reviews (issue 13, docs/postmortems.md).

Revision ID: 0005_postmortem
Revises: 0004_incidents
"""
import sqlalchemy as sa
from alembic import op

revision = "0005_postmortem"
down_revision = "0004_incidents"
branch_labels = None
depends_on = None


def _id() -> sa.Column:
    return sa.Column("id", sa.Integer, primary_key=True)


def upgrade() -> None:
    op.create_table(
        "postmortems", _id(),
        sa.Column("incident_id", sa.Integer, sa.ForeignKey("incidents.id"), nullable=False, index=True),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("phase", sa.String(16), nullable=False),
        sa.Column("facilitator", sa.String(120)),
        sa.Column("attendees", sa.Text, nullable=False),
        sa.Column("created_by", sa.String(120), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("agreed_at", sa.Float), sa.Column("agreed_by", sa.String(120)),
        sa.Column("issues_done_at", sa.Float), sa.Column("completed_at", sa.Float),
    )
    op.create_table(
        "postmortem_entries", _id(),
        sa.Column("postmortem_id", sa.Integer, sa.ForeignKey("postmortems.id", ondelete="CASCADE"), nullable=False,
                  index=True),
        sa.Column("incident_entry_id", sa.Integer),
        sa.Column("at", sa.Float, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("search", sa.Text), sa.Column("earliest", sa.Float), sa.Column("latest", sa.Float),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("impact_start", sa.Integer, nullable=False), sa.Column("detection", sa.Integer, nullable=False),
        sa.Column("late", sa.Integer, nullable=False), sa.Column("edited", sa.Integer, nullable=False),
        sa.Column("added_by", sa.String(120), nullable=False),
    )
    op.create_table(
        "postmortem_issues", _id(),
        sa.Column("postmortem_id", sa.Integer, sa.ForeignKey("postmortems.id", ondelete="CASCADE"), nullable=False,
                  index=True),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("entries", sa.Text, nullable=False),
        sa.Column("late", sa.Integer, nullable=False),
        sa.Column("created_by", sa.String(120), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
    )
    op.create_table(
        "action_items", _id(),
        sa.Column("source_type", sa.String(32), nullable=False, index=True),
        sa.Column("source_id", sa.String(64), nullable=False, index=True),
        sa.Column("source_item", sa.Integer),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("owner", sa.String(120), nullable=False, index=True),
        sa.Column("expected", sa.Text, nullable=False),
        sa.Column("due_at", sa.Float, nullable=False),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column("status", sa.String(8), nullable=False, index=True),
        sa.Column("warnings", sa.Text, nullable=False),
        sa.Column("created_by", sa.String(120), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("closed_at", sa.Float), sa.Column("closed_by", sa.String(120)),
        sa.Column("evidence_kind", sa.String(16)), sa.Column("evidence", sa.Text),
    )
    op.create_table(
        "action_reminders", _id(),
        sa.Column("action_id", sa.Integer, nullable=False, index=True),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("due_at", sa.Float, nullable=False, index=True),
        sa.Column("sent_at", sa.Float),
        sa.Column("tries", sa.Integer, nullable=False),
        sa.Column("outcome", sa.Text),
        sa.Column("attempt_id", sa.Integer),
    )
    op.create_table(
        "action_people",
        sa.Column("name", sa.String(120), primary_key=True),
        sa.Column("email", sa.String(254)), sa.Column("team", sa.String(64)), sa.Column("manager", sa.String(120)),
    )
    op.create_table(
        "checklist_templates", _id(),
        sa.Column("name", sa.String(120), nullable=False, unique=True),
        sa.Column("release_type", sa.String(64), nullable=False),
        sa.Column("pause_point", sa.Text, nullable=False),
        sa.Column("items", sa.Text, nullable=False),
        sa.Column("created_by", sa.String(120), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
    )
    op.create_table(
        "releases", _id(),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("version", sa.String(120), nullable=False),
        sa.Column("at", sa.Float, nullable=False, index=True),
        sa.Column("who", sa.String(120), nullable=False),
        sa.Column("window_secs", sa.Float, nullable=False),
    )
    op.create_table(
        "checklist_runs", _id(),
        sa.Column("template_id", sa.Integer, sa.ForeignKey("checklist_templates.id"), nullable=False),
        sa.Column("release_id", sa.Integer, sa.ForeignKey("releases.id"), nullable=False, index=True),
        sa.Column("started_by", sa.String(120), nullable=False),
        sa.Column("started_at", sa.Float, nullable=False),
        sa.Column("signed_off_at", sa.Float), sa.Column("signed_off_by", sa.String(120)),
        sa.Column("incident_id", sa.Integer),
    )
    op.create_table(
        "checklist_run_items", _id(),
        sa.Column("run_id", sa.Integer, sa.ForeignKey("checklist_runs.id", ondelete="CASCADE"), nullable=False,
                  index=True),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("spec", sa.Text, nullable=False),
        sa.Column("required", sa.Integer, nullable=False),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("evidence", sa.Text, nullable=False),
        sa.Column("checked_at", sa.Float), sa.Column("checked_by", sa.String(120)),
    )
    op.create_table(
        "reviews", _id(),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("release_id", sa.Integer),
        sa.Column("window_start", sa.Float, nullable=False), sa.Column("window_end", sa.Float, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("went_right", sa.Text, nullable=False), sa.Column("went_wrong", sa.Text, nullable=False),
        sa.Column("created_by", sa.String(120), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("finished_at", sa.Float),
    )
    op.create_table(
        "review_goals", _id(),
        sa.Column("review_id", sa.Integer, sa.ForeignKey("reviews.id", ondelete="CASCADE"), nullable=False, index=True),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("op", sa.String(4), nullable=False),
        sa.Column("target", sa.Float, nullable=False),
        sa.Column("search", sa.Text),
        sa.Column("observed", sa.Float), sa.Column("observed_at", sa.Float),
        sa.Column("why", sa.Text, nullable=False),
    )


def downgrade() -> None:
    for t in ("review_goals", "reviews", "checklist_run_items", "checklist_runs", "releases", "checklist_templates",
              "action_people", "action_reminders", "action_items", "postmortem_issues", "postmortem_entries", "postmortems"):
        op.drop_table(t)
