"""Problem records: the problem, its links to incidents, its versioned plan of attack and its signatures.

Tables on the operations database's `Base`, created by the Alembic revision `0005_problems`.
Times are epoch seconds UTC (floats). JSON columns are Text (SQLite and PostgreSQL alike).

Vocabulary (ITIL 4 Problem Management): a *problem* is a cause, or potential cause, of one or
more incidents; a *known error* is a problem that has been analysed and has not been resolved
(its root cause and workaround are written down: the known error record); a *workaround*
reduces or removes the impact of an incident or problem for which a full resolution is not yet
available.
"""

from __future__ import annotations

import json

from sqlalchemy import Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from speleo.ops.db import Base
from speleo.ops.incidents import models as _incident_models  # noqa: F401  (the incidents table of the links)

# -- status and its state machine ----------------------------------------------------------
OPEN, UNDER_INVESTIGATION, KNOWN_ERROR, RESOLVED, CLOSED = (
    "open", "under_investigation", "known_error", "resolved", "closed")
STATUSES = (OPEN, UNDER_INVESTIGATION, KNOWN_ERROR, RESOLVED, CLOSED)
STATUS_MEANINGS: dict[str, str] = {
    OPEN: "recorded; nobody analyses it yet",
    UNDER_INVESTIGATION: "someone looks for the root cause",
    KNOWN_ERROR: "analysed: the root cause is known, a workaround may exist; not fixed yet",
    RESOLVED: "the root cause is removed (a fix is deployed); watched for recurrence",
    CLOSED: "final: no recurrence, nothing left to do",
}
# Forward moves may skip a step (open -> known_error when the cause is known at once).
# resolved -> under_investigation reopens a problem that recurred; closed is final.
TRANSITIONS: dict[str, frozenset[str]] = {
    OPEN: frozenset({UNDER_INVESTIGATION, KNOWN_ERROR, RESOLVED}),
    UNDER_INVESTIGATION: frozenset({KNOWN_ERROR, RESOLVED}),
    KNOWN_ERROR: frozenset({UNDER_INVESTIGATION, RESOLVED}),
    RESOLVED: frozenset({UNDER_INVESTIGATION, CLOSED}),
    CLOSED: frozenset(),
}
# the named rules a refused transition reports (docs/incidents.md)
RULES: dict[str, str] = {
    "same-status": "the problem already has this status",
    "closed-is-final": "a closed problem does not change; open a new problem",
    "close-only-when-resolved": "resolve the problem (remove the root cause) before closing it",
    "no-return-to-open": "open is only the first status; use under_investigation",
    "reopen-to-investigation": "a resolved problem that recurred goes back to under_investigation",
    "known-error-needs-root-cause": "a known error has its root cause written down (--root-cause)",
    "resolve-needs-root-cause": "a problem is resolved by removing its root cause: write it down first",
}

# -- signature kinds -----------------------------------------------------------------------
SIGNATURE_KINDS: dict[str, str] = {
    "alert": "an alert rule (saved search) name: matches when that alert fires",
    "pattern": "a log pattern (a drain3 / cluster template, <*> for a variable token): matches events of that shape",
    "stack": "a stack-trace hash of normalised frames (no line numbers, addresses or paths)",
    "search": "a service + error pair from a saved search's results (fields service and error by default)",
}


def _loads(text: str | None, default):
    return json.loads(text) if text else default


class ProblemRow(Base):
    __tablename__ = "problems"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    statement: Mapped[str] = mapped_column(String(500), nullable=False)
    status: Mapped[str] = mapped_column(String(24), nullable=False, index=True)
    services: Mapped[str] = mapped_column(Text, nullable=False, default="[]")  # JSON list
    root_cause: Mapped[str] = mapped_column(Text, nullable=False, default="")
    workaround: Mapped[str] = mapped_column(Text, nullable=False, default="")
    known_error: Mapped[str] = mapped_column(Text, nullable=False, default="")  # the known error record
    created_by: Mapped[str] = mapped_column(String(120), nullable=False)
    created_at: Mapped[float] = mapped_column(Float, nullable=False)
    updated_at: Mapped[float] = mapped_column(Float, nullable=False)
    resolved_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    closed_at: Mapped[float | None] = mapped_column(Float, nullable=True)

    def to_dict(self) -> dict:
        d = {c: getattr(self, c) for c in ("id", "statement", "status", "root_cause", "workaround", "known_error",
                                          "created_by", "created_at", "updated_at", "resolved_at", "closed_at")}
        d["services"] = _loads(self.services, [])
        return d


class ProblemIncidentRow(Base):
    """One link problem <-> incident: by hand (`how` = manual) or by a matching signature."""

    __tablename__ = "problem_incidents"
    __table_args__ = (UniqueConstraint("problem_id", "incident_id", name="uq_problem_incident"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    problem_id: Mapped[int] = mapped_column(ForeignKey("problems.id", ondelete="CASCADE"), nullable=False, index=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"), nullable=False, index=True)
    linked_at: Mapped[float] = mapped_column(Float, nullable=False)
    linked_by: Mapped[str] = mapped_column(String(120), nullable=False)
    how: Mapped[str] = mapped_column(String(16), nullable=False)  # "manual" or "signature"
    reason: Mapped[str] = mapped_column(Text, nullable=False, default="")
    details: Mapped[str] = mapped_column(Text, nullable=False, default="{}")  # JSON: signature, events, strength
    plan_version: Mapped[int | None] = mapped_column(Integer, nullable=True)  # the plan shown to the incident

    def to_dict(self) -> dict:
        d = {c: getattr(self, c) for c in ("problem_id", "incident_id", "linked_at", "linked_by", "how", "reason",
                                          "plan_version")}
        d["details"] = _loads(self.details, {})
        return d


class PlanRow(Base):
    """One version of a problem's plan of attack (a new version per change; the last is current)."""

    __tablename__ = "problem_plans"
    __table_args__ = (UniqueConstraint("problem_id", "version", name="uq_problem_plan_version"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    problem_id: Mapped[int] = mapped_column(ForeignKey("problems.id", ondelete="CASCADE"), nullable=False, index=True)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    owner: Mapped[str] = mapped_column(String(120), nullable=False)
    reviewed_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    reviewed_by: Mapped[str | None] = mapped_column(String(120), nullable=True)
    created_at: Mapped[float] = mapped_column(Float, nullable=False)
    created_by: Mapped[str] = mapped_column(String(120), nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False)  # JSON: diagnostics, timebox, people, runbook, comms

    def to_dict(self) -> dict:
        d = {c: getattr(self, c) for c in ("problem_id", "version", "owner", "reviewed_at", "reviewed_by",
                                          "created_at", "created_by")}
        d.update(_loads(self.body, {}))
        return d


class SignatureRow(Base):
    __tablename__ = "problem_signatures"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    problem_id: Mapped[int] = mapped_column(ForeignKey("problems.id", ondelete="CASCADE"), nullable=False, index=True)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    value: Mapped[str] = mapped_column(Text, nullable=False)
    details: Mapped[str] = mapped_column(Text, nullable=False, default="{}")  # JSON: fields, frames, saved search
    created_at: Mapped[float] = mapped_column(Float, nullable=False)
    created_by: Mapped[str] = mapped_column(String(120), nullable=False)

    def to_dict(self) -> dict:
        d = {c: getattr(self, c) for c in ("id", "problem_id", "kind", "value", "created_at", "created_by")}
        d["details"] = _loads(self.details, {})
        return d
