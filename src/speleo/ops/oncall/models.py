"""On-call records: schedules, rotations, overrides, contact methods, escalation policies, and the
escalations of incidents with their durable steps.

Tables on the operations database's `Base` (`speleo.ops.db`), created by the Alembic revision
`0005_oncall`. Instants are epoch seconds UTC (floats); rotation starts and ends are naive local
wall times (ISO text) in the schedule's IANA time zone (see `schedule`).
"""

from __future__ import annotations

import json

from sqlalchemy import Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from speleo.ops.db import Base

# escalation step kinds (Grafana OnCall's step codes, the subset Speleo runs)
NOTIFY_SCHEDULE, NOTIFY_USER, WAIT, REPEAT, ESCALATE_TO = (
    "notify_schedule", "notify_user", "wait", "repeat", "escalate_to")
STEP_KINDS = {
    NOTIFY_SCHEDULE: "notify whoever is on call in a schedule when the step runs ({'schedule': name})",
    NOTIFY_USER: "notify a user ({'user': name})",
    WAIT: "wait before the next step ({'minutes': N}, up to 1440)",
    REPEAT: "run the steps before this one again, K more times ({'times': K}, 1 to 5)",
    ESCALATE_TO: "continue with another policy's steps ({'policy': name}); cycles are refused",
}
CONTACT_KINDS = ("email", "webhook")
WEBHOOK_STYLES = ("json", "slack", "teams")

# escalation states: a chain per incident
ACTIVE, ACKNOWLEDGED, FINISHED, NO_POLICY = "active", "acknowledged", "finished", "no_policy"
# step states: pending -> claimed (about to send) -> sent; pending -> cancelled (acknowledged first)
PENDING, CLAIMED, SENT, CANCELLED = "pending", "claimed", "sent", "cancelled"


class ScheduleRow(Base):
    __tablename__ = "oncall_schedules"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    time_zone: Mapped[str] = mapped_column(String(64), nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    created_by: Mapped[str] = mapped_column(String(120), nullable=False)
    created_at: Mapped[float] = mapped_column(Float, nullable=False)
    updated_at: Mapped[float] = mapped_column(Float, nullable=False)


class RotationRow(Base):
    __tablename__ = "oncall_rotations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    schedule_id: Mapped[int] = mapped_column(ForeignKey("oncall_schedules.id", ondelete="CASCADE"), nullable=False, index=True)
    name: Mapped[str] = mapped_column(String(64), nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    length: Mapped[int] = mapped_column(Integer, nullable=False)
    unit: Mapped[str] = mapped_column(String(8), nullable=False)
    layer: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    users: Mapped[str] = mapped_column(Text, nullable=False)        # JSON list of user names, in turn order
    start_local: Mapped[str] = mapped_column(String(32), nullable=False)
    end_local: Mapped[str | None] = mapped_column(String(32), nullable=True)
    created_at: Mapped[float] = mapped_column(Float, nullable=False)

    def to_dict(self) -> dict:
        d = {c: getattr(self, c) for c in ("id", "name", "kind", "length", "unit", "layer", "start_local", "end_local")}
        d["users"] = json.loads(self.users)
        d["handoff"] = self.start_local[11:16]
        return d


class OverrideRow(Base):
    __tablename__ = "oncall_overrides"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    schedule_id: Mapped[int] = mapped_column(ForeignKey("oncall_schedules.id", ondelete="CASCADE"), nullable=False, index=True)
    user: Mapped[str] = mapped_column(String(64), nullable=False)
    start: Mapped[float] = mapped_column(Float, nullable=False)
    end: Mapped[float] = mapped_column(Float, nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False, default="")
    created_by: Mapped[str] = mapped_column(String(120), nullable=False)
    created_at: Mapped[float] = mapped_column(Float, nullable=False)

    def to_dict(self) -> dict:
        return {c: getattr(self, c) for c in ("id", "user", "start", "end", "reason", "created_by", "created_at")}


class ContactRow(Base):
    """How to reach a user: an email address or a webhook URL (with its payload style)."""

    __tablename__ = "oncall_contacts"
    __table_args__ = (UniqueConstraint("user", "kind", "target", name="uq_oncall_contact"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    target: Mapped[str] = mapped_column(String(500), nullable=False)
    style: Mapped[str] = mapped_column(String(8), nullable=False, default="json")
    created_at: Mapped[float] = mapped_column(Float, nullable=False)

    def to_dict(self) -> dict:
        return {c: getattr(self, c) for c in ("id", "user", "kind", "target", "style", "created_at")}


class PolicyRow(Base):
    __tablename__ = "oncall_policies"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    steps: Mapped[str] = mapped_column(Text, nullable=False)            # JSON list of {"kind", ...}
    services: Mapped[str] = mapped_column(Text, nullable=False, default="[]")  # JSON list: incidents it starts on
    is_default: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    created_by: Mapped[str] = mapped_column(String(120), nullable=False)
    created_at: Mapped[float] = mapped_column(Float, nullable=False)
    updated_at: Mapped[float] = mapped_column(Float, nullable=False)

    def to_dict(self) -> dict:
        return {"id": self.id, "name": self.name, "description": self.description, "steps": json.loads(self.steps),
                "services": json.loads(self.services), "default": bool(self.is_default),
                "created_by": self.created_by, "created_at": self.created_at, "updated_at": self.updated_at}


class EscalationRow(Base):
    """The escalation chain of one incident (at most one: `incident_id` is unique)."""

    __tablename__ = "oncall_escalations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"), unique=True, nullable=False)
    policy: Mapped[str | None] = mapped_column(String(64), nullable=True)
    state: Mapped[str] = mapped_column(String(16), nullable=False, index=True)
    reason: Mapped[str] = mapped_column(Text, nullable=False, default="")
    started_at: Mapped[float] = mapped_column(Float, nullable=False)
    ended_at: Mapped[float | None] = mapped_column(Float, nullable=True)

    def to_dict(self) -> dict:
        return {c: getattr(self, c) for c in ("id", "incident_id", "policy", "state", "reason", "started_at", "ended_at")}


class StepRow(Base):
    """One notification of a chain, due at `due_at`: the durable timer (see `escalation`)."""

    __tablename__ = "oncall_escalation_steps"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    escalation_id: Mapped[int] = mapped_column(ForeignKey("oncall_escalations.id", ondelete="CASCADE"), nullable=False, index=True)
    incident_id: Mapped[int] = mapped_column(Integer, nullable=False)
    seq: Mapped[int] = mapped_column(Integer, nullable=False)
    due_at: Mapped[float] = mapped_column(Float, nullable=False)
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    target: Mapped[str] = mapped_column(String(64), nullable=False)
    state: Mapped[str] = mapped_column(String(16), nullable=False)
    claimed_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    claims: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    done_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    detail: Mapped[str] = mapped_column(Text, nullable=False, default="")

    def to_dict(self) -> dict:
        return {c: getattr(self, c) for c in ("id", "seq", "due_at", "kind", "target", "state", "claimed_at",
                                             "claims", "done_at", "detail")}


class OncallStateRow(Base):
    """Small durable facts of the on-call ticks (e.g. the day of the last readiness report)."""

    __tablename__ = "oncall_state"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text, nullable=False)
