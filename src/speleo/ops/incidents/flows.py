"""What happens when an incident changes: its timeline fills itself; alerts open or join incidents.

The change functions (`declared`, `status_changed`, ...) are called by `service.Incidents` inside
the change's transaction, so the entry is written with the change or not at all.

Alert action hook (issue 12: `actions=incident`, `action.incident.param.severity`, `.service`,
`.dedup_key` defaulting to the saved search's name) calls, from the server process:

    from speleo.ops.incidents.flows import open_or_join_from_alert
    grouping = open_or_join_from_alert(incidents, alert_name=saved_search_name, search=spl,
                                       earliest=range_start, latest=range_end, fired_at=trigger_time,
                                       severity=params.get("severity"), services=[params.get("service")],
                                       dedup_key=params.get("dedup_key"), result_count=n)
    grouping.incident_id, grouping.opened, grouping.reason

where `incidents` is a `service.Incidents` on the home's database and the server's clock.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from speleo.errors import InputError
from speleo.ops.incidents.models import OPEN_STATUSES, IncidentRow, TimelineRow

if TYPE_CHECKING:
    from speleo.ops.incidents.service import Incidents

MAX_DETAILS = 20_000  # bytes of JSON in one entry's details


def entry(s: Session, inc: IncidentRow, kind: str, text: str, actor: str, source: str, at: float, *,
          search: str | None = None, earliest: float | None = None, latest: float | None = None,
          details: dict | None = None, recorded: float | None = None) -> TimelineRow:
    """Add one timeline entry to `inc` (in the caller's transaction) and return it.

    Raises InputError for a range with latest before earliest, a range without a search, or
    details that are not a JSON object or are too large.
    """
    if (earliest is not None or latest is not None) and not search:
        raise InputError("a time range on a timeline entry needs the search it belongs to")
    if earliest is not None and latest is not None and float(latest) < float(earliest):
        raise InputError(f"latest ({latest}) is before earliest ({earliest})")
    if details is not None and not isinstance(details, dict):
        raise InputError("details: a JSON object")
    body = json.dumps(details or {}, sort_keys=True, default=str)
    if len(body) > MAX_DETAILS:
        raise InputError(f"details: {len(body)} bytes of JSON, {MAX_DETAILS} at most")
    row = TimelineRow(incident_id=inc.id, at=at, recorded_at=at if recorded is None else recorded, kind=kind,
                      source=source or "unknown", actor=actor or "system", text=text, details=body,
                      search=search or None, earliest=None if earliest is None else float(earliest),
                      latest=None if latest is None else float(latest))
    s.add(row)
    return row


def declared(s: Session, inc: IncidentRow, actor: str, source: str, now: float) -> None:
    entry(s, inc, "status", f"declared {inc.severity}: {inc.title}", actor, source, now,
          details={"status": inc.status, "severity": inc.severity})
    recent_releases(s, inc, now)


def recent_releases(s: Session, inc: IncidentRow, now: float) -> None:
    """Each release whose window (`speleo.ops.checklists`: at .. at + window_secs) holds the start
    of the incident (impact start, else detection) becomes a `release` entry: "what changed?"."""
    from speleo.ops.checklists import MAX_WINDOW, ReleaseRow

    start = inc.impact_started_at or inc.detected_at or now
    for rel in s.scalars(select(ReleaseRow).where(ReleaseRow.at <= start, ReleaseRow.at >= start - MAX_WINDOW)
                         .order_by(ReleaseRow.at)):
        if rel.at + rel.window_secs >= start:
            entry(s, inc, "release", f"release {rel.name} {rel.version} by {rel.who}", rel.who, f"release:{rel.id}",
                  rel.at, details={"release_id": rel.id, "name": rel.name, "version": rel.version})


def status_changed(s: Session, inc: IncidentRow, old: str, new: str, actor: str, source: str, now: float) -> None:
    entry(s, inc, "status", f"status {old} -> {new}", actor, source, now, details={"old": old, "new": new})


def severity_changed(s: Session, inc: IncidentRow, old: str, new: str, actor: str, source: str, now: float) -> None:
    entry(s, inc, "severity", f"severity {old} -> {new}", actor, source, now, details={"old": old, "new": new})


def acknowledged(s: Session, inc: IncidentRow, actor: str, source: str, now: float) -> None:
    entry(s, inc, "status", f"acknowledged by {actor}", actor, source, now, details={"acknowledged": True})


def role_changed(s: Session, inc: IncidentRow, role: str, who: str, assumed: bool, actor: str, source: str,
                 now: float) -> None:
    verb = "took on" if assumed else "left"
    entry(s, inc, "role", f"{who} {verb} the role {role}", actor, source, now,
          details={"role": role, "who": who, "assumed": assumed})


def field_changed(s: Session, inc: IncidentRow, field: str, old: Any, new: Any, actor: str, source: str,
                  now: float) -> None:
    if field == "services":
        old, new = json.loads(old or "[]"), json.loads(new or "[]")
    entry(s, inc, "field", f"{field} changed", actor, source, now, details={"field": field, "old": old, "new": new})


# -- alerts: open one incident per dedup key, later firings join it --------------------------
@dataclass(frozen=True)
class AlertGrouping:
    """What an alert firing did: the incident it opened or joined, and why (said to the person)."""

    incident_id: int
    opened: bool
    dedup_key: str
    reason: str

    def to_dict(self) -> dict:
        return asdict(self)


def open_or_join_from_alert(incidents: "Incidents", *, alert_name: str, search: str | None = None,
                            earliest: float | None = None, latest: float | None = None,
                            fired_at: float | None = None, severity: str | None = None,
                            services: Iterable[str | None] = (), dedup_key: str | None = None,
                            result_count: int | None = None, details: dict | None = None) -> AlertGrouping:
    """Open an incident for an alert firing, or add the firing to the open incident with its dedup key.

    Rule (the whole of it, so grouping is predictable): the key is `dedup_key`, else the alert's
    name. A firing joins the most recent incident with that key whose status is open (triage,
    investigating, identified, mitigated). Otherwise (none, or only resolved/closed ones) it opens
    a new incident in triage, titled after the alert, `detected_at` = `fired_at`. Either way the
    firing becomes an `alert` timeline entry with its search and absolute time range (epoch
    seconds) and the reason, and new services join the incident's affected services.

    Raises InputError for an empty alert name or bad values (see `Incidents.create`).
    """
    name = str(alert_name or "").strip()
    if not name:
        raise InputError("alert_name: the alert (saved search) name is needed")
    key = (str(dedup_key).strip() if dedup_key else "") or name
    names = [x for x in services if x]
    info = {"alert": name, "dedup_key": key, "result_count": result_count, **(details or {})}
    text = f"alert '{name}' fired" + (f" ({result_count} results)" if result_count is not None else "")
    alert = {"kind": "alert", "text": text, "at": fired_at, "search": search, "earliest": earliest, "latest": latest}
    actor = f"alert:{name}"
    with incidents.alert_lock:
        found = _open_incident_with_key(incidents, key)
        if found is None:
            prior = _last_with_key(incidents, key)
            why = (f"opened a new incident: no open incident has dedup key '{key}'"
                   + (f" (incident {prior[0]} with that key is {prior[1]})" if prior else ""))
            inc = incidents.create(name, actor, actor, severity=severity, services=names, detected_at=fired_at,
                                   dedup_key=key, entries=[{**alert, "details": {**info, "grouping": why, "opened": True}}])
            return AlertGrouping(inc["id"], True, key, why)
        inc_id, status, firings = found
        why = (f"joined incident {inc_id}: it is {status} and has the same dedup key '{key}' "
               f"(firing {firings + 1} of this key on it)")
        incidents.add_entry(inc_id, "alert", text, actor, actor, at=fired_at, search=search, earliest=earliest,
                            latest=latest, details={**info, "grouping": why, "opened": False})
        current = incidents.get(inc_id)["services"]
        added = [n for n in names if n not in current]
        if added:
            incidents.update(inc_id, actor, actor, services=current + added)
        return AlertGrouping(inc_id, False, key, why)


def _open_incident_with_key(incidents: "Incidents", key: str) -> tuple[int, str, int] | None:
    with incidents.db.session() as s:
        inc = s.scalars(select(IncidentRow).where(IncidentRow.dedup_key == key,
                                                  IncidentRow.status.in_(sorted(OPEN_STATUSES)))
                        .order_by(IncidentRow.declared_at.desc(), IncidentRow.id.desc()).limit(1)).first()
        if inc is None:
            return None
        firings = len(list(s.scalars(select(TimelineRow.id).where(TimelineRow.incident_id == inc.id,
                                                                   TimelineRow.kind == "alert"))))
        return inc.id, inc.status, firings


def _last_with_key(incidents: "Incidents", key: str) -> tuple[int, str] | None:
    with incidents.db.session() as s:
        inc = s.scalars(select(IncidentRow).where(IncidentRow.dedup_key == key)
                        .order_by(IncidentRow.id.desc()).limit(1)).first()
        return None if inc is None else (inc.id, inc.status)
