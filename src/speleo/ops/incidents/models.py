"""Incident records: the incident, its roles (with history) and its timeline.

Tables on the operations database's `Base` (`speleo.ops.db`), created by the Alembic revision
`0004_incidents`. Times are epoch seconds UTC (floats), as everywhere in the operations database.

Vocabulary (ITIL 4, `docs/incidents.md`): an *incident* is an unplanned interruption to a service
or a reduction in its quality; incident management restores service first. The root cause belongs
to a *problem* (`speleo.ops.problems`).

The MTTx timestamps are stored, never the means (learning-loop spec section 4.3):
MTTD = detected - impact_started, MTTA = acknowledged - detected, MTTM = mitigated - impact_started,
MTTR (restore) = resolved - impact_started, time to close = closed - resolved.
"""

from __future__ import annotations

import json
from urllib.parse import urlencode

from sqlalchemy import Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from speleo.ops.db import Base

# -- severity ------------------------------------------------------------------------------
SEVERITIES: dict[str, str] = {
    "SEV1": "Critical: a customer-facing service is down or losing data, or a security breach is under way, "
            "for many users. A major incident: immediate, coordinated response around the clock.",
    "SEV2": "Major: a key service is badly degraded, or down for a part of its users, with no workaround. "
            "Urgent response with an incident commander, also out of hours.",
    "SEV3": "Minor: limited degradation, or a workaround exists; users notice little. "
            "Handled in working hours.",
    "SEV4": "Low: no user impact yet (an internal tool, a warning sign, a cosmetic fault). Tracked and fixed "
            "in the normal course of work.",
}
DEFAULT_SEVERITY = "SEV3"

# -- status and its state machine ----------------------------------------------------------
TRIAGE, INVESTIGATING, IDENTIFIED, MITIGATED, RESOLVED, CLOSED = (
    "triage", "investigating", "identified", "mitigated", "resolved", "closed")
STATUSES = (TRIAGE, INVESTIGATING, IDENTIFIED, MITIGATED, RESOLVED, CLOSED)
STATUS_MEANINGS: dict[str, str] = {
    TRIAGE: "declared or opened by an alert; nobody has taken it on yet",
    INVESTIGATING: "someone works on it; the cause is not known",
    IDENTIFIED: "the cause (or the failing part) is known; restoring service",
    MITIGATED: "the impact is stopped or reduced (a workaround); not yet back to normal",
    RESOLVED: "normal service is restored",
    CLOSED: "post-incident work is done; the record is final",
}
# Forward moves may skip steps (a false alarm goes triage -> resolved). Going back is allowed while
# service is not restored, and resolved -> investigating reopens an incident whose impact returned.
# Nothing goes back to triage, only a resolved incident is closed, and closed is final (a recurrence
# is a new incident, linked later to the same problem).
TRANSITIONS: dict[str, frozenset[str]] = {
    TRIAGE: frozenset({INVESTIGATING, IDENTIFIED, MITIGATED, RESOLVED}),
    INVESTIGATING: frozenset({IDENTIFIED, MITIGATED, RESOLVED}),
    IDENTIFIED: frozenset({INVESTIGATING, MITIGATED, RESOLVED}),
    MITIGATED: frozenset({INVESTIGATING, IDENTIFIED, RESOLVED}),
    RESOLVED: frozenset({INVESTIGATING, CLOSED}),
    CLOSED: frozenset(),
}
OPEN_STATUSES = frozenset({TRIAGE, INVESTIGATING, IDENTIFIED, MITIGATED})

# -- roles ---------------------------------------------------------------------------------
COMMANDER, COMMUNICATIONS, SCRIBE, PARTICIPANT = "commander", "communications", "scribe", "participant"
ROLES: dict[str, str] = {
    COMMANDER: "incident commander: owns the response and its decisions (one at a time)",
    COMMUNICATIONS: "communications lead: keeps stakeholders informed (one at a time)",
    SCRIBE: "scribe: keeps the timeline (one at a time)",
    PARTICIPANT: "participant: works on the incident (any number)",
}
SINGLE_HOLDER_ROLES = frozenset({COMMANDER, COMMUNICATIONS, SCRIBE})

# -- timeline ------------------------------------------------------------------------------
TIMELINE_KINDS: dict[str, str] = {
    "alert": "an alert opened the incident or joined it (with its search and time range)",
    "status": "the status changed",
    "severity": "the severity changed",
    "role": "someone took on or left a role",
    "note": "a note written by a person",
    "update": "a stakeholder update",
    "pinned_event": "a log event or result row pinned from a search",
    "field": "another field changed (title, services, a timestamp)",
    "release": "a release whose window holds the incident's start (a release checklist run recorded it)",
    "escalation": "an on-call escalation step notified someone, or the chain stopped (speleo.ops.oncall)",
    "problem": "a known problem matched (its signatures, why, and its plan of attack)",
    "diagnostic": "a diagnostic of a plan of attack ran (its search, range and output)",
}

# the MTTx timestamps, in lifecycle order (column name -> meaning)
TIMESTAMPS: dict[str, str] = {
    "impact_started_at": "when the impact began (often back-dated by hand)",
    "detected_at": "when the problem was first noticed (an alert fired, a user reported it)",
    "declared_at": "when the incident record was opened",
    "acknowledged_at": "when someone first took it on",
    "mitigated_at": "when the impact was first stopped or reduced",
    "resolved_at": "when normal service was restored",
    "closed_at": "when post-incident work was done",
}


class IncidentRow(Base):
    __tablename__ = "incidents"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    severity: Mapped[str] = mapped_column(String(8), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, index=True)
    services: Mapped[str] = mapped_column(Text, nullable=False, default="[]")  # JSON list of names
    dedup_key: Mapped[str | None] = mapped_column(String(200), nullable=True, index=True)
    created_by: Mapped[str] = mapped_column(String(120), nullable=False)
    impact_started_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    detected_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    declared_at: Mapped[float] = mapped_column(Float, nullable=False)
    acknowledged_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    mitigated_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    resolved_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    closed_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    updated_at: Mapped[float] = mapped_column(Float, nullable=False)

    def service_list(self) -> list[str]:
        return json.loads(self.services or "[]")

    def to_dict(self) -> dict:
        d = {c: getattr(self, c) for c in ("id", "title", "description", "severity", "status", "dedup_key",
                                          "created_by", "updated_at", *TIMESTAMPS)}
        d["services"] = self.service_list()
        return d


class RoleRow(Base):
    """One holding of a role: who, from when (`assumed_at`) until when (`renounced_at`, None = still)."""

    __tablename__ = "incident_roles"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"), nullable=False, index=True)
    role: Mapped[str] = mapped_column(String(32), nullable=False)
    who: Mapped[str] = mapped_column(String(120), nullable=False)
    assumed_at: Mapped[float] = mapped_column(Float, nullable=False)
    renounced_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    assigned_by: Mapped[str] = mapped_column(String(120), nullable=False)

    def to_dict(self) -> dict:
        return {c: getattr(self, c) for c in ("id", "role", "who", "assumed_at", "renounced_at", "assigned_by")}


class TimelineRow(Base):
    """One timeline entry. `at` is when it happened; `recorded_at` when it was written down.

    An entry that comes from a search (an alert, a pinned event) keeps the search text and its
    absolute time range (`earliest`/`latest`, epoch seconds) so `search_link()` re-runs exactly it.
    """

    __tablename__ = "incident_timeline"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"), nullable=False, index=True)
    at: Mapped[float] = mapped_column(Float, nullable=False)
    recorded_at: Mapped[float] = mapped_column(Float, nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    source: Mapped[str] = mapped_column(String(200), nullable=False)  # "cli", "api", "web", "alert:<name>"
    actor: Mapped[str] = mapped_column(String(120), nullable=False)
    text: Mapped[str] = mapped_column(Text, nullable=False)
    details: Mapped[str] = mapped_column(Text, nullable=False, default="{}")  # JSON object
    search: Mapped[str | None] = mapped_column(Text, nullable=True)
    earliest: Mapped[float | None] = mapped_column(Float, nullable=True)
    latest: Mapped[float | None] = mapped_column(Float, nullable=True)

    def to_dict(self) -> dict:
        d = {c: getattr(self, c) for c in ("id", "at", "recorded_at", "kind", "source", "actor", "text",
                                          "search", "earliest", "latest")}
        d["details"] = json.loads(self.details or "{}")
        d["link"] = search_link(self.search, self.earliest, self.latest)
        return d


def search_link(search: str | None, earliest: float | None, latest: float | None) -> str | None:
    """The web search page URL that re-runs `search` over the absolute range, or None without a search.

    Shape: `/?q=<search>&earliest=<epoch>&latest=<epoch>` (the search page's own parameters).
    """
    if not search:
        return None
    params = {"q": search}
    if earliest is not None:
        params["earliest"] = _epoch_text(earliest)
    if latest is not None:
        params["latest"] = _epoch_text(latest)
    return "/?" + urlencode(params)


def _epoch_text(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else repr(float(v))
