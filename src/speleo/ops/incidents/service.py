"""Operations on incidents: create, get, list, update, ack, assign, resolve, close, add entries.

No HTTP here (the routes are `speleo.server.incidents_api`). Each operation runs in one
transaction: the change, its `record_change` history rows (who, when, old, new) and its timeline
entries (`flows`) commit together or not at all. "Now" comes from the injected clock.

Values returned are plain dicts (`IncidentRow.to_dict()` plus `roles` and `timeline` for `get`).
Errors: InputError (400) for bad values, naming the field; NotFoundError (404) for an unknown
incident; TransitionError (409) for a status change the state machine refuses, naming the rule.
"""

from __future__ import annotations

import json
import math
import re
import threading
from typing import Any, Iterable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from speleo.clock import Clock, SystemClock
from speleo.errors import ConflictError, InputError, NotFoundError
from speleo.ops.db import Database, record_change
from speleo.ops.incidents import flows
from speleo.ops.incidents.models import (
    CLOSED, DEFAULT_SEVERITY, INVESTIGATING, MITIGATED, OPEN_STATUSES, RESOLVED, ROLES, SEVERITIES,
    SINGLE_HOLDER_ROLES, STATUSES, TIMELINE_KINDS, TRANSITIONS, TRIAGE, IncidentRow, RoleRow, TimelineRow)

RECORD_TYPE = "incident"
MAX_TITLE = 200
MAX_TEXT = 20_000
MAX_SERVICES = 50
MAX_LIST = 1000
MAX_TIMELINE = 2000  # timeline entries returned by `get` (the newest); `timeline_total` counts all
FUTURE_SLACK = 300.0  # seconds a given timestamp may lie ahead of the clock (clock skew between hosts)
_SERVICE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,63}$")
# kinds a person (or the alert hook) adds directly; the others are written by the flows
ENTRY_KINDS = frozenset({"note", "update", "pinned_event", "alert"})


class TransitionError(ConflictError):
    """A status change the incident state machine refuses; `rule` names the rule broken."""

    code = "invalid_transition"

    def __init__(self, message: str, rule: str) -> None:
        super().__init__(message)
        self.rule = rule

    def to_dict(self) -> dict:
        return {**super().to_dict(), "rule": self.rule}


def check_transition(old: str, new: str) -> None:
    """Raise TransitionError unless `old -> new` is allowed (models.TRANSITIONS); rules:

    `same-status` (no move), `closed-is-final`, `close-only-when-resolved`, `no-return-to-triage`,
    `reopen-to-investigating` (a resolved incident reopens only to investigating).
    """
    if new == old:
        raise TransitionError(f"the incident is already {old} (rule same-status)", "same-status")
    if new in TRANSITIONS[old]:
        return
    if old == CLOSED:
        rule, why = "closed-is-final", "a closed incident does not change; declare a new incident for a recurrence"
    elif new == CLOSED:
        rule, why = "close-only-when-resolved", "resolve the incident first, then close it"
    elif new == TRIAGE:
        rule, why = "no-return-to-triage", "triage is only the first status; use investigating"
    else:
        rule, why = "reopen-to-investigating", "a resolved incident reopens to investigating"
    raise TransitionError(f"cannot move an incident from {old} to {new}: {why} (rule {rule})", rule)


class Incidents:
    """The incident records of one operations database, with a clock for "now"."""

    def __init__(self, db: Database, clock: Clock | None = None) -> None:
        self.db = db
        self.clock = clock or SystemClock()
        self.alert_lock = threading.Lock()  # open-or-join is find-then-create: one at a time per process

    # -- create, read ------------------------------------------------------------------------
    def create(self, title: str, actor: str, source: str, *, severity: str | None = None,
               services: Iterable[str] = (), description: str = "", impact_started_at: float | None = None,
               detected_at: float | None = None, dedup_key: str | None = None,
               entries: Iterable[dict] = ()) -> dict:
        """Declare an incident in status triage; `declared_at` is now, `detected_at` defaults to now.

        `entries` are more timeline entries written in the same transaction (keyword arguments of
        `add_entry`: kind, text, at, search, earliest, latest, details), e.g. the alert that opened it.

        Raises InputError for an empty or long title, an unknown severity, a bad service name, or
        timestamps out of order (impact_started <= detected <= declared) or in the future.
        """
        now = self.clock.time()
        detected = now if detected_at is None else self._time("detected_at", detected_at, now)
        impact = None if impact_started_at is None else self._time("impact_started_at", impact_started_at, now)
        _check_order(impact, detected, now)
        with self.db.session() as s:
            inc = IncidentRow(title=clean_title(title), description=_text("description", description),
                              severity=clean_severity(severity or DEFAULT_SEVERITY), status=TRIAGE,
                              services=json.dumps(clean_services(services)), dedup_key=_dedup(dedup_key),
                              created_by=actor, impact_started_at=impact, detected_at=detected,
                              declared_at=now, updated_at=now)
            s.add(inc)
            s.flush()
            record_change(s, RECORD_TYPE, inc.id, "created", None, inc.to_dict(), actor, at=now)
            flows.declared(s, inc, actor, source, now)
            for e in entries:
                e = dict(e)
                at = now if e.get("at") is None else self._time("at", e.pop("at"), now)
                e.pop("at", None)
                flows.entry(s, inc, _entry_kind(e.pop("kind")), _text("text", e.pop("text"), required=True),
                            actor, source, at, recorded=now, **e)
            return inc.to_dict()

    def get(self, incident_id: int, timeline_limit: int = MAX_TIMELINE) -> dict:
        """The incident with its `roles` (every holding, oldest first), `timeline` (by time; the newest
        `timeline_limit` entries), `timeline_total` (all entries) and `durations`."""
        with self.db.session() as s:
            inc = _row(s, incident_id)
            d = self.get_in(s, inc)
            where = TimelineRow.incident_id == inc.id
            newest = s.scalars(select(TimelineRow).where(where).order_by(TimelineRow.at.desc(), TimelineRow.id.desc())
                               .limit(max(1, min(timeline_limit, MAX_TIMELINE))))
            d["timeline"] = [t.to_dict() for t in reversed(list(newest))]
            d["timeline_total"] = s.scalar(select(func.count()).select_from(TimelineRow).where(where))
            d["durations"] = durations(d)
            return d

    def list(self, status: str | None = None, open_only: bool = False, severity: str | None = None,
             service: str | None = None, limit: int = 100) -> list[dict]:
        """Incidents, newest first; filters by status, open (not resolved/closed), severity, service."""
        if limit < 1 or limit > MAX_LIST:
            raise InputError(f"limit: between 1 and {MAX_LIST}")
        q = select(IncidentRow).order_by(IncidentRow.declared_at.desc(), IncidentRow.id.desc())
        if status:
            if status not in STATUSES:
                raise InputError(f"status: '{status}' is not one of {', '.join(STATUSES)}")
            q = q.where(IncidentRow.status == status)
        if open_only:
            q = q.where(IncidentRow.status.in_(sorted(OPEN_STATUSES)))
        if severity:
            q = q.where(IncidentRow.severity == clean_severity(severity))
        if service:  # services are a JSON list: its JSON string element, as a bound LIKE pattern (escaped)
            q = q.where(IncidentRow.services.contains(json.dumps(str(service)), autoescape=True))
        with self.db.session() as s:
            rows = [r.to_dict() for r in s.scalars(q.limit(limit))]
        if service:  # exact, whatever JSON escaping did
            rows = [r for r in rows if service in r["services"]]
        return rows

    # -- changes -----------------------------------------------------------------------------
    def update(self, incident_id: int, actor: str, source: str, *, title: str | None = None,
               severity: str | None = None, status: str | None = None, services: Iterable[str] | None = None,
               description: str | None = None, impact_started_at: float | None = None,
               detected_at: float | None = None, note: str | None = None) -> dict:
        """Change the given fields (None = leave); each change gets a history row and a timeline entry.

        `note`, when given, is added to the timeline as the reason. Raises InputError, NotFoundError,
        TransitionError (see `check_transition`).
        """
        now = self.clock.time()
        with self.db.session() as s:
            inc = _row(s, incident_id)
            if inc.status == CLOSED:
                raise TransitionError(f"incident {inc.id} is closed; a closed incident does not change "
                                      "(rule closed-is-final)", "closed-is-final")
            if title is not None:
                self._set(s, inc, "title", clean_title(title), actor, source, now)
            if description is not None:
                self._set(s, inc, "description", _text("description", description), actor, source, now)
            if services is not None:
                self._set(s, inc, "services", json.dumps(clean_services(services)), actor, source, now)
            if impact_started_at is not None or detected_at is not None:
                impact = inc.impact_started_at if impact_started_at is None else self._time("impact_started_at", impact_started_at, now)
                detected = inc.detected_at if detected_at is None else self._time("detected_at", detected_at, now)
                _check_order(impact, detected, inc.declared_at)
                self._set(s, inc, "impact_started_at", impact, actor, source, now)
                self._set(s, inc, "detected_at", detected, actor, source, now)
            if severity is not None:
                new = clean_severity(severity)
                if new != inc.severity:
                    old = inc.severity
                    self._set(s, inc, "severity", new, actor, source, now, entry=False)
                    flows.severity_changed(s, inc, old, new, actor, source, now)
            if status is not None:
                self._transition(s, inc, clean_status(status), actor, source, now)
            if note:
                flows.entry(s, inc, "note", _text("note", note), actor, source, now)
            return inc.to_dict()

    def ack(self, incident_id: int, actor: str, source: str) -> dict:
        """Acknowledge: someone takes the incident on. Sets `acknowledged_at` (the first ack counts)
        and moves triage -> investigating. Acknowledging again changes nothing. Raises
        TransitionError (rule `ack-only-open`) on a resolved or closed incident."""
        now = self.clock.time()
        with self.db.session() as s:
            inc = _row(s, incident_id)
            if inc.status not in OPEN_STATUSES:
                raise TransitionError(f"incident {inc.id} is {inc.status}; only an open incident is acknowledged "
                                      "(rule ack-only-open)", "ack-only-open")
            if inc.acknowledged_at is None:
                self._set(s, inc, "acknowledged_at", now, actor, source, now, entry=False)
                flows.acknowledged(s, inc, actor, source, now)
            if inc.status == TRIAGE:
                self._transition(s, inc, INVESTIGATING, actor, source, now)
            return inc.to_dict()

    def assign(self, incident_id: int, role: str, who: str, actor: str, source: str, remove: bool = False) -> dict:
        """Give `who` the `role` (or take it away with `remove`). Commander, communications lead
        and scribe have one holder at a time: assigning one ends the previous holding
        (`renounced_at`); participants are any number. History is kept (who held what, when).

        Raises InputError for an unknown role, an empty name, a holding that does not exist
        (remove) or already exists (assign); TransitionError on a closed incident.
        """
        role = clean_role(role)
        who = _name("who", who)
        now = self.clock.time()
        with self.db.session() as s:
            inc = _row(s, incident_id)
            if inc.status == CLOSED:
                raise TransitionError(f"incident {inc.id} is closed (rule closed-is-final)", "closed-is-final")
            current = list(s.scalars(select(RoleRow).where(RoleRow.incident_id == inc.id, RoleRow.role == role,
                                                             RoleRow.renounced_at.is_(None))))
            mine = [r for r in current if r.who == who]
            if remove:
                if not mine:
                    raise InputError(f"{who} does not hold the role {role} on incident {inc.id}")
                self._end_holding(s, inc, mine[0], actor, source, now)
            else:
                if mine:
                    raise InputError(f"{who} already holds the role {role} on incident {inc.id}")
                if role in SINGLE_HOLDER_ROLES:
                    for r in current:
                        self._end_holding(s, inc, r, actor, source, now)
                s.add(RoleRow(incident_id=inc.id, role=role, who=who, assumed_at=now, assigned_by=actor))
                record_change(s, RECORD_TYPE, inc.id, f"role:{role}", None, who, actor, at=now)
                flows.role_changed(s, inc, role, who, True, actor, source, now)
            inc.updated_at = now
            return self.get_in(s, inc)

    def resolve(self, incident_id: int, actor: str, source: str, note: str | None = None) -> dict:
        """Normal service is restored: status resolved, `resolved_at` now (and `mitigated_at` if unset)."""
        return self.update(incident_id, actor, source, status=RESOLVED, note=note)

    def close(self, incident_id: int, actor: str, source: str, note: str | None = None) -> dict:
        """Post-incident work done: status closed, `closed_at` now. Only a resolved incident closes."""
        return self.update(incident_id, actor, source, status=CLOSED, note=note)

    def add_entry(self, incident_id: int, kind: str, text: str, actor: str, source: str, *,
                  at: float | None = None, search: str | None = None, earliest: float | None = None,
                  latest: float | None = None, details: dict | None = None) -> dict:
        """Add a note, stakeholder update, pinned event or alert to the timeline; returns the entry.

        `search` with `earliest`/`latest` (epoch seconds, earliest <= latest) is what the entry's
        link re-runs. Entries are added to closed incidents too (the timeline never loses one).
        """
        kind = _entry_kind(kind)
        now = self.clock.time()
        when = now if at is None else self._time("at", at, now)
        with self.db.session() as s:
            inc = _row(s, incident_id)
            row = flows.entry(s, inc, kind, _text("text", text, required=True), actor, source, when,
                              search=search, earliest=earliest, latest=latest, details=details, recorded=now)
            s.flush()
            return row.to_dict()

    # -- helpers ------------------------------------------------------------------------------
    def get_in(self, s: Session, inc: IncidentRow) -> dict:
        s.flush()
        d = inc.to_dict()
        d["roles"] = [r.to_dict() for r in s.scalars(
            select(RoleRow).where(RoleRow.incident_id == inc.id).order_by(RoleRow.assumed_at, RoleRow.id))]
        return d

    def _end_holding(self, s: Session, inc: IncidentRow, r: RoleRow, actor: str, source: str, now: float) -> None:
        r.renounced_at = now
        record_change(s, RECORD_TYPE, inc.id, f"role:{r.role}", r.who, None, actor, at=now)
        flows.role_changed(s, inc, r.role, r.who, False, actor, source, now)

    def _transition(self, s: Session, inc: IncidentRow, new: str, actor: str, source: str, now: float) -> None:
        old = inc.status
        check_transition(old, new)
        self._set(s, inc, "status", new, actor, source, now, entry=False)
        if old == TRIAGE and inc.acknowledged_at is None:
            self._set(s, inc, "acknowledged_at", now, actor, source, now, entry=False)  # someone took it on
        if new in (MITIGATED, RESOLVED) and inc.mitigated_at is None:
            self._set(s, inc, "mitigated_at", now, actor, source, now, entry=False)
        if new == RESOLVED:
            self._set(s, inc, "resolved_at", now, actor, source, now, entry=False)
        if old == RESOLVED and new == INVESTIGATING:
            self._set(s, inc, "resolved_at", None, actor, source, now, entry=False)  # reopened: not restored
        if new == CLOSED:
            self._set(s, inc, "closed_at", now, actor, source, now, entry=False)
        flows.status_changed(s, inc, old, new, actor, source, now)

    def _set(self, s: Session, inc: IncidentRow, field: str, value: Any, actor: str, source: str, now: float,
             entry: bool = True) -> None:
        old = getattr(inc, field)
        if old == value:
            return
        setattr(inc, field, value)
        inc.updated_at = now
        record_change(s, RECORD_TYPE, inc.id, field, old, value, actor, at=now)
        if entry:
            flows.field_changed(s, inc, field, old, value, actor, source, now)

    def _time(self, field: str, value: Any, now: float) -> float:
        try:
            v = float(value)
        except (TypeError, ValueError):
            raise InputError(f"{field}: '{value}' is not a time in epoch seconds") from None
        if not math.isfinite(v) or v < 0:
            raise InputError(f"{field}: '{value}' is not a time in epoch seconds")
        if v > now + FUTURE_SLACK:
            raise InputError(f"{field}: {v} is in the future (now is {now})")
        return v


def durations(inc: dict) -> dict:
    """The MTTx durations of one incident, seconds or None when a timestamp is missing:
    `ttd` = detected - impact_started, `tta` = acknowledged - detected, `ttm` = mitigated -
    impact_started, `ttr` = resolved - impact_started, `ttc` = closed - resolved (spec 4.3)."""

    def diff(end: str, start: str):
        a, b = inc.get(end), inc.get(start)
        return None if a is None or b is None else a - b

    return {"ttd": diff("detected_at", "impact_started_at"), "tta": diff("acknowledged_at", "detected_at"),
            "ttm": diff("mitigated_at", "impact_started_at"), "ttr": diff("resolved_at", "impact_started_at"),
            "ttc": diff("closed_at", "resolved_at")}


# -- validation ----------------------------------------------------------------------------
def _row(s: Session, incident_id: Any) -> IncidentRow:
    try:
        key = int(incident_id)
    except (TypeError, ValueError):
        raise InputError(f"incident id: '{incident_id}' is not a number") from None
    # ids are 64-bit database integers: a larger number names no incident (and would overflow the driver)
    inc = s.get(IncidentRow, key) if -(2**63) <= key < 2**63 else None
    if inc is None:
        raise NotFoundError(f"no incident {key}; 'speleo incident list' shows them")
    return inc


def clean_title(title: Any) -> str:
    t = str(title or "").strip()
    if not t:
        raise InputError("title: give the incident a title (what is broken, for whom)")
    if len(t) > MAX_TITLE:
        raise InputError(f"title: {len(t)} characters, {MAX_TITLE} at most")
    return t


def clean_severity(severity: Any) -> str:
    s = str(severity).strip().upper()
    if s.isdigit():
        s = "SEV" + s
    if s not in SEVERITIES:
        raise InputError(f"severity: '{severity}' is not one of {', '.join(SEVERITIES)} (SEV1 is the most severe)")
    return s


def clean_status(status: Any) -> str:
    s = str(status).strip().lower()
    if s not in STATUSES:
        raise InputError(f"status: '{status}' is not one of {', '.join(STATUSES)}")
    return s


def clean_role(role: Any) -> str:
    r = str(role).strip().lower().replace("-", "_")
    r = {"ic": "commander", "incident_commander": "commander", "comms": "communications",
         "communications_lead": "communications"}.get(r, r)
    if r not in ROLES:
        raise InputError(f"role: '{role}' is not one of {', '.join(ROLES)}")
    return r


def clean_services(services: Iterable[str]) -> list[str]:
    if isinstance(services, str):
        services = [p for p in services.split(",")]
    out: list[str] = []
    for name in services:
        n = str(name).strip()
        if not n:
            continue
        if not _SERVICE_NAME.match(n):
            raise InputError(f"service: '{n}' is not a service name (letters, digits, _ . : / -, 64 at most)")
        if n not in out:
            out.append(n)
    if len(out) > MAX_SERVICES:
        raise InputError(f"services: {len(out)} given, {MAX_SERVICES} at most")
    return out


def _entry_kind(kind: Any) -> str:
    if kind not in ENTRY_KINDS:
        raise InputError(f"kind: '{kind}' is not one of {', '.join(sorted(ENTRY_KINDS))}")
    return kind


def _dedup(key: Any) -> str | None:
    if key is None:
        return None
    k = str(key).strip()
    if len(k) > 200:
        raise InputError("dedup_key: 200 characters at most")
    return k or None


def _name(field: str, v: Any) -> str:
    n = str(v or "").strip()
    if not n or len(n) > 120:
        raise InputError(f"{field}: a name of 1 to 120 characters")
    return n


def _text(field: str, v: Any, required: bool = False) -> str:
    t = str(v or "")
    if required and not t.strip():
        raise InputError(f"{field}: must not be empty")
    if len(t) > MAX_TEXT:
        raise InputError(f"{field}: {len(t)} characters, {MAX_TEXT} at most")
    return t


def _check_order(impact: float | None, detected: float | None, declared: float) -> None:
    if impact is not None and detected is not None and impact > detected:
        raise InputError(f"impact_started_at ({impact}) is after detected_at ({detected}): impact starts before it is detected")
    if detected is not None and detected > declared + FUTURE_SLACK:
        raise InputError(f"detected_at ({detected}) is after the incident was declared ({declared})")


__all__ = ["Incidents", "TransitionError", "check_transition", "durations", "TIMELINE_KINDS"]
