"""Operations on problems: create, get, list, update (with the status rules), link incidents,
plans of attack (versioned), signatures, and the matcher over every signature.

No HTTP here (routes: `speleo.server.problems_api`). Each operation is one transaction with its
`record_change` history rows. "Now" comes from the injected clock. Values are plain dicts.
Errors: InputError (400) naming the field, NotFoundError (404), TransitionError (409, `rule`
names the rule broken: models.RULES).
"""

from __future__ import annotations

import json
import threading
from typing import Any, Iterable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from speleo.clock import Clock, SystemClock
from speleo.errors import InputError, NotFoundError
from speleo.ops.db import Database, record_change
from speleo.ops.incidents.models import IncidentRow
from speleo.ops.incidents.service import TransitionError, clean_services  # one 409 shape with its rule
from speleo.ops.problems import plans, signatures
from speleo.ops.problems.models import (
    CLOSED, KNOWN_ERROR, OPEN, RESOLVED, RULES, STATUSES, TRANSITIONS, UNDER_INVESTIGATION, PlanRow, ProblemIncidentRow,
    ProblemRow, SignatureRow)

RECORD_TYPE = "problem"
MAX_STATEMENT = 500
MAX_TEXT = 20_000
MAX_LIST = 1000
MAX_SIGNATURES = 10_000  # per database: the matcher stays small and fast


def check_transition(p: ProblemRow, new: str) -> None:
    """Raise TransitionError unless the problem `p` may move to `new` (models.TRANSITIONS, RULES)."""
    old = p.status
    rule = None
    if new == old:
        rule = "same-status"
    elif new not in TRANSITIONS[old]:
        rule = ("closed-is-final" if old == CLOSED else "close-only-when-resolved" if new == CLOSED
                else "no-return-to-open" if new == OPEN else "reopen-to-investigation")
    elif new == KNOWN_ERROR and not p.root_cause.strip():
        rule = "known-error-needs-root-cause"
    elif new == RESOLVED and not p.root_cause.strip():
        rule = "resolve-needs-root-cause"
    if rule:
        raise TransitionError(f"cannot move problem {p.id} from {old} to {new}: {RULES[rule]} (rule {rule})", rule)


class Problems:
    """The problem records of one operations database, with a clock for "now"."""

    def __init__(self, db: Database, clock: Clock | None = None) -> None:
        self.db = db
        self.clock = clock or SystemClock()
        self._matcher: tuple[tuple, signatures.Matcher] | None = None
        self._lock = threading.Lock()

    # -- records -----------------------------------------------------------------------------
    def create(self, statement: str, actor: str, *, services: Iterable[str] = (), root_cause: str = "",
               workaround: str = "", known_error: str = "", incidents: Iterable[int] = ()) -> dict:
        """Record a problem in status open, optionally linked at once to `incidents` (ids).
        Raises InputError for an empty or long statement, a bad service, NotFoundError for an
        unknown incident."""
        now = self.clock.time()
        with self.db.session() as s:
            p = ProblemRow(statement=_statement(statement), status=OPEN, services=json.dumps(clean_services(services)),
                           root_cause=_text("root_cause", root_cause), workaround=_text("workaround", workaround),
                           known_error=_text("known_error", known_error), created_by=actor, created_at=now,
                           updated_at=now)
            s.add(p)
            s.flush()
            record_change(s, RECORD_TYPE, p.id, "created", None, p.to_dict(), actor, at=now)
            for iid in incidents:
                self._link(s, p, _incident(s, iid), actor, now, "manual", f"linked by {actor}", {})
            return p.to_dict()

    def get(self, problem_id: Any) -> dict:
        """The problem with `incidents` (links, newest first, with each incident's title, status and
        times), `plan` (the current version or None), `plan_versions`, `signatures`, and
        `recurrence` (occurrences = linked incidents; time_lost_secs = the sum of each incident's
        impact: resolved (or now) minus impact started (or detected, or declared))."""
        now = self.clock.time()
        with self.db.session() as s:
            p = _row(s, problem_id)
            d = p.to_dict()
            links = list(s.execute(select(ProblemIncidentRow, IncidentRow).join(
                IncidentRow, IncidentRow.id == ProblemIncidentRow.incident_id).where(
                ProblemIncidentRow.problem_id == p.id).order_by(ProblemIncidentRow.linked_at.desc(),
                                                                ProblemIncidentRow.id.desc())))
            d["incidents"] = [{**link.to_dict(), "title": inc.title, "status": inc.status, "severity": inc.severity,
                               "declared_at": inc.declared_at, "impact_secs": impact_secs(inc, now)}
                              for link, inc in links]
            d["recurrence"] = {"occurrences": len(links),
                               "time_lost_secs": sum(impact_secs(inc, now) for _, inc in links)}
            plan = _current_plan(s, p.id)
            d["plan"] = plan.to_dict() if plan else None
            d["plan_versions"] = s.scalar(select(func.count()).select_from(PlanRow).where(PlanRow.problem_id == p.id))
            d["signatures"] = [g.to_dict() for g in s.scalars(select(SignatureRow).where(
                SignatureRow.problem_id == p.id).order_by(SignatureRow.id))]
            return d

    def list(self, status: str | None = None, limit: int = 100) -> list[dict]:
        """Problems, newest first, each with `occurrences` (linked incidents) and `signatures` (count)."""
        if limit < 1 or limit > MAX_LIST:
            raise InputError(f"limit: between 1 and {MAX_LIST}")
        q = select(ProblemRow).order_by(ProblemRow.created_at.desc(), ProblemRow.id.desc()).limit(limit)
        if status:
            q = q.where(ProblemRow.status == clean_status(status))
        with self.db.session() as s:
            rows = list(s.scalars(q))
            ids = [p.id for p in rows]
            occ = dict(s.execute(select(ProblemIncidentRow.problem_id, func.count()).where(
                ProblemIncidentRow.problem_id.in_(ids)).group_by(ProblemIncidentRow.problem_id)).all()) if ids else {}
            sigs = dict(s.execute(select(SignatureRow.problem_id, func.count()).where(
                SignatureRow.problem_id.in_(ids)).group_by(SignatureRow.problem_id)).all()) if ids else {}
            return [{**p.to_dict(), "occurrences": occ.get(p.id, 0), "signatures": sigs.get(p.id, 0)} for p in rows]

    def update(self, problem_id: Any, actor: str, *, statement: str | None = None, status: str | None = None,
               services: Iterable[str] | None = None, root_cause: str | None = None, workaround: str | None = None,
               known_error: str | None = None) -> dict:
        """Change the given fields (None = leave); the text fields are set before the status moves,
        so `--root-cause X --status known_error` is one change. Raises InputError, NotFoundError,
        TransitionError."""
        now = self.clock.time()
        with self.db.session() as s:
            p = _row(s, problem_id)
            if p.status == CLOSED:
                raise TransitionError(f"problem {p.id} is closed: {RULES['closed-is-final']} (rule closed-is-final)",
                                      "closed-is-final")
            for name, value in (("statement", None if statement is None else _statement(statement)),
                                ("services", None if services is None else json.dumps(clean_services(services))),
                                ("root_cause", None if root_cause is None else _text("root_cause", root_cause)),
                                ("workaround", None if workaround is None else _text("workaround", workaround)),
                                ("known_error", None if known_error is None else _text("known_error", known_error))):
                if value is not None:
                    _set(s, p, name, value, actor, now)
            if status is not None:
                new = clean_status(status)
                check_transition(p, new)
                old = p.status
                _set(s, p, "status", new, actor, now)
                if new == RESOLVED:
                    _set(s, p, "resolved_at", now, actor, now)
                if old == RESOLVED and new == UNDER_INVESTIGATION:
                    _set(s, p, "resolved_at", None, actor, now)
                if new == CLOSED:
                    _set(s, p, "closed_at", now, actor, now)
            return p.to_dict()

    # -- links ---------------------------------------------------------------------------------
    def link(self, problem_id: Any, incident_id: Any, actor: str, *, how: str = "manual", reason: str = "",
             details: dict | None = None, remove: bool = False) -> dict:
        """Link (or unlink with `remove`) an incident to the problem; returns the link. Linking again
        is refused (InputError) so the reason of the first link is kept."""
        now = self.clock.time()
        with self.db.session() as s:
            p = _row(s, problem_id)
            inc = _incident(s, incident_id)
            existing = _link_row(s, p.id, inc.id)
            if remove:
                if existing is None:
                    raise InputError(f"incident {inc.id} is not linked to problem {p.id}")
                s.delete(existing)
                record_change(s, RECORD_TYPE, p.id, "incident", inc.id, None, actor, at=now)
                return existing.to_dict()
            if existing is not None:
                raise InputError(f"incident {inc.id} is already linked to problem {p.id} ({existing.reason})")
            return self._link(s, p, inc, actor, now, how, reason or f"linked by {actor}", details or {}).to_dict()

    def _link(self, s: Session, p: ProblemRow, inc: IncidentRow, actor: str, now: float, how: str, reason: str,
              details: dict) -> ProblemIncidentRow:
        plan = _current_plan(s, p.id)
        row = ProblemIncidentRow(problem_id=p.id, incident_id=inc.id, linked_at=now, linked_by=actor, how=how,
                                 reason=reason, details=json.dumps(details, default=str),
                                 plan_version=plan.version if plan else None)
        s.add(row)
        record_change(s, RECORD_TYPE, p.id, "incident", None, inc.id, actor, at=now)
        s.flush()
        return row

    def links_of_incident(self, incident_id: Any) -> list[dict]:
        """The problems linked to an incident, each with its link (how, reason, details), the plan
        shown (current version) and `timebox_ends_at` = linked_at + the plan's time-box."""
        with self.db.session() as s:
            inc = _incident(s, incident_id)
            out = []
            for link, p in s.execute(select(ProblemIncidentRow, ProblemRow).join(
                    ProblemRow, ProblemRow.id == ProblemIncidentRow.problem_id).where(
                    ProblemIncidentRow.incident_id == inc.id).order_by(ProblemIncidentRow.linked_at)):
                plan = _current_plan(s, p.id)
                plan_d = plan.to_dict() if plan else None
                ends = link.linked_at + plan_d["timebox_minutes"] * 60 if plan_d and plan_d.get("timebox_minutes") else None
                out.append({"problem": p.to_dict(), "link": link.to_dict(), "plan": plan_d, "timebox_ends_at": ends})
            return out

    # -- plans ---------------------------------------------------------------------------------
    def set_plan(self, problem_id: Any, actor: str, body: dict, *, owner: str | None = None) -> dict:
        """Store a new version of the plan of attack (`plans.clean` checks the body); the owner
        defaults to the previous version's, else the actor. The review date starts empty."""
        now = self.clock.time()
        clean = plans.clean(body)
        with self.db.session() as s:
            p = _row(s, problem_id)
            prev = _current_plan(s, p.id)
            version = (prev.version if prev else 0) + 1
            row = PlanRow(problem_id=p.id, version=version, owner=_name("owner", owner or (prev.owner if prev else actor)),
                          created_at=now, created_by=actor, body=json.dumps(clean))
            s.add(row)
            record_change(s, RECORD_TYPE, p.id, "plan", prev.version if prev else None, version, actor, at=now)
            p.updated_at = now
            s.flush()
            return row.to_dict()

    def review_plan(self, problem_id: Any, actor: str) -> dict:
        """Mark the current plan as reviewed now by `actor` (NotFoundError when there is none)."""
        now = self.clock.time()
        with self.db.session() as s:
            p = _row(s, problem_id)
            plan = _current_plan(s, p.id)
            if plan is None:
                raise NotFoundError(f"problem {p.id} has no plan of attack yet; 'speleo problem plan {p.id} --file' sets one")
            record_change(s, RECORD_TYPE, p.id, "plan_reviewed_at", plan.reviewed_at, now, actor, at=now)
            plan.reviewed_at, plan.reviewed_by = now, actor
            return plan.to_dict()

    def plan(self, problem_id: Any, version: int | None = None) -> dict:
        with self.db.session() as s:
            p = _row(s, problem_id)
            q = select(PlanRow).where(PlanRow.problem_id == p.id)
            row = (s.scalars(q.where(PlanRow.version == version)).first() if version is not None
                   else _current_plan(s, p.id))
            if row is None:
                raise NotFoundError(f"problem {p.id} has no plan of attack" + (f" version {version}" if version else ""))
            return row.to_dict()

    # -- signatures ---------------------------------------------------------------------------
    def add_signature(self, problem_id: Any, kind: str, value: Any, actor: str, details: dict | None = None) -> dict:
        """Add a signature (signatures.validate: refuses one that matches everything, and a
        duplicate of one the problem already has)."""
        value, det = signatures.validate(kind, value, details)
        now = self.clock.time()
        with self.db.session() as s:
            p = _row(s, problem_id)
            if s.scalar(select(func.count()).select_from(SignatureRow)) >= MAX_SIGNATURES:
                raise InputError(f"{MAX_SIGNATURES} signatures at most; remove unused ones first")
            dup = s.scalars(select(SignatureRow).where(SignatureRow.problem_id == p.id, SignatureRow.kind == kind,
                                                       SignatureRow.value == value)).first()
            if dup is not None:
                raise InputError(f"problem {p.id} already has this {kind} signature (id {dup.id})")
            row = SignatureRow(problem_id=p.id, kind=kind, value=value, details=json.dumps(det), created_at=now,
                               created_by=actor)
            s.add(row)
            s.flush()
            record_change(s, RECORD_TYPE, p.id, "signature", None, f"{kind}:{value}", actor, at=now)
            p.updated_at = now
            return row.to_dict()

    def remove_signature(self, problem_id: Any, signature_id: Any, actor: str) -> dict:
        now = self.clock.time()
        with self.db.session() as s:
            p = _row(s, problem_id)
            row = s.get(SignatureRow, _int("signature id", signature_id))
            if row is None or row.problem_id != p.id:
                raise NotFoundError(f"problem {p.id} has no signature {signature_id}")
            s.delete(row)
            record_change(s, RECORD_TYPE, p.id, "signature", f"{row.kind}:{row.value}", None, actor, at=now)
            return row.to_dict()

    def matcher(self) -> signatures.Matcher:
        """The compiled matcher of every signature of problems not closed, rebuilt only when the
        signatures or the set of closed problems changed (three counts check it)."""
        with self.db.session() as s:
            stamp = (s.scalar(select(func.count()).select_from(SignatureRow)),
                     s.scalar(select(func.max(SignatureRow.id))),
                     s.scalar(select(func.count()).select_from(ProblemRow).where(ProblemRow.status == CLOSED)))
            with self._lock:
                if self._matcher is not None and self._matcher[0] == stamp:
                    return self._matcher[1]
            rows = s.execute(select(SignatureRow).join(ProblemRow, ProblemRow.id == SignatureRow.problem_id)
                             .where(ProblemRow.status != CLOSED)).scalars()
            m = signatures.Matcher(r.to_dict() for r in rows)
        with self._lock:
            self._matcher = (stamp, m)
        return m


def impact_secs(inc: IncidentRow, now: float) -> float:
    """Seconds of impact of one incident: resolved (or now) minus impact started (or detected, declared)."""
    start = inc.impact_started_at or inc.detected_at or inc.declared_at
    end = inc.resolved_at if inc.resolved_at is not None else now
    return max(0.0, end - start)


# -- helpers -------------------------------------------------------------------------------
def _set(s: Session, p: ProblemRow, field: str, value: Any, actor: str, now: float) -> None:
    old = getattr(p, field)
    if old == value:
        return
    setattr(p, field, value)
    p.updated_at = now
    record_change(s, RECORD_TYPE, p.id, field, old, value, actor, at=now)


def _current_plan(s: Session, problem_id: int) -> PlanRow | None:
    return s.scalars(select(PlanRow).where(PlanRow.problem_id == problem_id)
                     .order_by(PlanRow.version.desc()).limit(1)).first()


def _link_row(s: Session, problem_id: int, incident_id: int) -> ProblemIncidentRow | None:
    return s.scalars(select(ProblemIncidentRow).where(ProblemIncidentRow.problem_id == problem_id,
                                                      ProblemIncidentRow.incident_id == incident_id)).first()


def _int(what: str, v: Any) -> int:
    try:
        key = int(v)
    except (TypeError, ValueError):
        raise InputError(f"{what}: '{v}' is not a number") from None
    if not -(2**63) <= key < 2**63:
        raise NotFoundError(f"no {what.replace(' id', '')} {key}")
    return key


def _row(s: Session, problem_id: Any) -> ProblemRow:
    p = s.get(ProblemRow, _int("problem id", problem_id))
    if p is None:
        raise NotFoundError(f"no problem {problem_id}; 'speleo problem list' shows them")
    return p


def _incident(s: Session, incident_id: Any) -> IncidentRow:
    inc = s.get(IncidentRow, _int("incident id", incident_id))
    if inc is None:
        raise NotFoundError(f"no incident {incident_id}; 'speleo incident list' shows them")
    return inc


def clean_status(status: Any) -> str:
    v = str(status).strip().lower().replace(" ", "_").replace("-", "_")
    if v not in STATUSES:
        raise InputError(f"status: '{status}' is not one of {', '.join(STATUSES)}")
    return v


def _statement(v: Any) -> str:
    t = str(v or "").strip()
    if not t:
        raise InputError("statement: say what fails, where and how it shows (e.g. 'checkout times out when the "
                         "payments database fails over')")
    if len(t) > MAX_STATEMENT:
        raise InputError(f"statement: {len(t)} characters, {MAX_STATEMENT} at most")
    return t


def _text(field: str, v: Any) -> str:
    t = str(v or "")
    if len(t) > MAX_TEXT:
        raise InputError(f"{field}: {len(t)} characters, {MAX_TEXT} at most")
    return t


def _name(field: str, v: Any) -> str:
    n = str(v or "").strip()
    if not n or len(n) > 120:
        raise InputError(f"{field}: a name of 1 to 120 characters")
    return n


__all__ = ["Problems", "TransitionError", "check_transition", "clean_status", "impact_secs"]
