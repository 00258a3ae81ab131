"""Post-mortems in three gated phases: a workflow, not a document (learning-loop spec 5.2, 4.2).

1. `timeline`: started from a resolved or closed incident, the incident's timeline becomes
   *candidate* entries, each keeping its source and its link back to the search and range. The
   team accepts, rejects, edits and adds entries and marks the impact start and the detection.
   Nothing else is recorded in this phase. The facilitator ends it by recording that everyone
   agrees (`advance(..., agreed=True)`). Entries added later stay possible and are marked `late`.
2. `issues`: what went wrong (or well), each pointing at the accepted timeline entries it
   concerns. No actions in this phase.
3. `actions`: at least one per issue, each with one owner, an expected result, a due date and a
   type (`speleo.ops.actions`, source_type "postmortem", source_item = the issue id), with SMART
   warnings. Advancing from `actions` makes the post-mortem `complete`.

Every refusal is a RuleError naming the rule (`RULES` lists them with their meaning). Tables
`postmortems`, `postmortem_entries`, `postmortem_issues` (migration `0005_postmortem`).
"""

from __future__ import annotations

import json
import re
from typing import Any, Iterable

from sqlalchemy import Float, ForeignKey, Integer, String, Text, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from speleo.clock import Clock, SystemClock
from speleo.errors import InputError, NotFoundError
from speleo.ops.actions import Actions, ActionRow, RuleError, clean_ids, epoch
from speleo.ops.checklists import ReleaseRow
from speleo.ops.db import Base, Database, record_change
from speleo.ops.incidents.models import CLOSED, RESOLVED, IncidentRow, TimelineRow, search_link

TIMELINE, ISSUES, ACTIONS, COMPLETE = "timeline", "issues", "actions", "complete"
PHASES = (TIMELINE, ISSUES, ACTIONS, COMPLETE)
CANDIDATE, ACCEPTED, REJECTED = "candidate", "accepted", "rejected"
MAX_CANDIDATES = 1000  # incident timeline entries copied as candidates (the oldest first)
RULES: dict[str, str] = {
    "postmortem-after-resolution": "a post-mortem starts once the incident is resolved or closed",
    "timeline-phase-only": "phase 1 records timeline entries only",
    "timeline-all-decided": "every candidate entry is accepted or rejected before phase 1 ends",
    "timeline-impact-start": "an accepted entry is marked as the impact start before phase 1 ends",
    "timeline-detection": "an accepted entry is marked as the detection before phase 1 ends",
    "timeline-agreement": "the facilitator records that everyone agrees on the timeline to end phase 1",
    "timeline-facilitator": "a facilitator is recorded before phase 1 ends",
    "issues-phase-only": "issues are recorded in phase 2 (later, in phase 3, they are marked late)",
    "issue-points-at-timeline": "an issue points at one or more accepted timeline entries",
    "issues-at-least-one": "phase 2 ends with at least one issue",
    "actions-phase-only": "actions are created in phase 3 only",
    "action-per-issue": "every issue has at least one action before the post-mortem is complete",
    "postmortem-complete": "a complete post-mortem does not change",
}


class PostmortemRow(Base):
    __tablename__ = "postmortems"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), nullable=False, index=True)
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    phase: Mapped[str] = mapped_column(String(16), nullable=False)
    facilitator: Mapped[str | None] = mapped_column(String(120), nullable=True)
    attendees: Mapped[str] = mapped_column(Text, nullable=False, default="[]")
    created_by: Mapped[str] = mapped_column(String(120), nullable=False)
    created_at: Mapped[float] = mapped_column(Float, nullable=False)
    agreed_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    agreed_by: Mapped[str | None] = mapped_column(String(120), nullable=True)
    issues_done_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    completed_at: Mapped[float | None] = mapped_column(Float, nullable=True)

    def to_dict(self) -> dict:
        d = {c: getattr(self, c) for c in ("id", "incident_id", "title", "phase", "facilitator", "created_by",
                                          "created_at", "agreed_at", "agreed_by", "issues_done_at", "completed_at")}
        d["attendees"] = json.loads(self.attendees or "[]")
        return d


class EntryRow(Base):
    __tablename__ = "postmortem_entries"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    postmortem_id: Mapped[int] = mapped_column(ForeignKey("postmortems.id", ondelete="CASCADE"), nullable=False, index=True)
    incident_entry_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    at: Mapped[float] = mapped_column(Float, nullable=False)
    text: Mapped[str] = mapped_column(Text, nullable=False)
    source: Mapped[str] = mapped_column(String(200), nullable=False)
    search: Mapped[str | None] = mapped_column(Text, nullable=True)
    earliest: Mapped[float | None] = mapped_column(Float, nullable=True)
    latest: Mapped[float | None] = mapped_column(Float, nullable=True)
    state: Mapped[str] = mapped_column(String(16), nullable=False)
    impact_start: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    detection: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    late: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    edited: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    added_by: Mapped[str] = mapped_column(String(120), nullable=False)

    def to_dict(self) -> dict:
        d = {c: getattr(self, c) for c in ("id", "incident_entry_id", "at", "text", "source", "search", "earliest",
                                          "latest", "state", "added_by")}
        d.update({f: bool(getattr(self, f)) for f in ("impact_start", "detection", "late", "edited")})
        d["link"] = search_link(self.search, self.earliest, self.latest)
        return d


class IssueRow(Base):
    __tablename__ = "postmortem_issues"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    postmortem_id: Mapped[int] = mapped_column(ForeignKey("postmortems.id", ondelete="CASCADE"), nullable=False, index=True)
    text: Mapped[str] = mapped_column(Text, nullable=False)
    entries: Mapped[str] = mapped_column(Text, nullable=False, default="[]")  # JSON list of entry ids
    late: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    created_by: Mapped[str] = mapped_column(String(120), nullable=False)
    created_at: Mapped[float] = mapped_column(Float, nullable=False)

    def to_dict(self) -> dict:
        return {"id": self.id, "text": self.text, "entries": json.loads(self.entries), "late": bool(self.late),
                "created_by": self.created_by, "created_at": self.created_at}


class Postmortems:
    """The post-mortems of one operations database; actions go through `actions` (same clock)."""

    def __init__(self, db: Database, clock: Clock | None = None, actions: Actions | None = None) -> None:
        self.db = db
        self.clock = clock or SystemClock()
        self.actions = actions or Actions(db, self.clock)

    # -- start and read ----------------------------------------------------------------------
    def start(self, incident_id: Any, actor: str, *, facilitator: str | None = None,
              attendees: Iterable[str] = ()) -> dict:
        """Start the post-mortem of a resolved or closed incident (rule `postmortem-after-resolution`):
        phase `timeline`, with each incident timeline entry as a candidate (source and search link kept).
        The incident's impact start is a candidate too, and so is each release whose window holds
        the start of the incident (`speleo.ops.checklists`: "what changed?")."""
        now = self.clock.time()
        with self.db.session() as s:
            inc = s.get(IncidentRow, _int(incident_id, "incident id"))
            if inc is None:
                raise NotFoundError(f"no incident {incident_id}; 'speleo incident list' shows them")
            if inc.status not in (RESOLVED, CLOSED):
                raise RuleError(f"incident {inc.id} is {inc.status}; restore service first, then learn from it",
                                "postmortem-after-resolution")
            pm = PostmortemRow(incident_id=inc.id, title=f"Post-mortem: {inc.title}"[:200], phase=TIMELINE,
                               facilitator=_name(facilitator) if facilitator else None,
                               attendees=json.dumps(_names(attendees)), created_by=actor, created_at=now)
            s.add(pm)
            s.flush()
            seen = set()
            where = TimelineRow.incident_id == inc.id
            total = s.scalar(select(func.count()).select_from(TimelineRow).where(where))
            for t in s.scalars(select(TimelineRow).where(where).order_by(TimelineRow.at, TimelineRow.id)
                               .limit(MAX_CANDIDATES)):
                seen.add(t.source)
                s.add(EntryRow(postmortem_id=pm.id, incident_entry_id=t.id, at=t.at, text=t.text,
                               source=f"incident:{t.kind}:{t.source}", search=t.search, earliest=t.earliest,
                               latest=t.latest, state=CANDIDATE, added_by=t.actor))
            start = inc.impact_started_at or inc.detected_at or inc.declared_at
            for rel in s.scalars(select(ReleaseRow).where(ReleaseRow.at <= start).order_by(ReleaseRow.at)):
                if rel.at + rel.window_secs >= start and f"release:{rel.id}" not in seen:  # recorded after the incident
                    s.add(EntryRow(postmortem_id=pm.id, at=rel.at, text=f"release {rel.name} {rel.version} by {rel.who}",
                                   source=f"release:{rel.id}", state=CANDIDATE, added_by=rel.who))
            if total > MAX_CANDIDATES:  # said on the timeline itself, so nobody takes it for complete
                s.add(EntryRow(postmortem_id=pm.id, at=now, text=f"{total - MAX_CANDIDATES} later entries of the "
                               f"incident's timeline were not copied (at most {MAX_CANDIDATES}); see incident {inc.id}",
                               source="postmortem:limit", state=CANDIDATE, added_by="system"))
            if inc.impact_started_at is not None:
                s.add(EntryRow(postmortem_id=pm.id, at=inc.impact_started_at, text="impact started (incident record)",
                               source="incident:impact_started_at", state=CANDIDATE, added_by=inc.created_by))
            record_change(s, "postmortem", pm.id, "created", None, pm.to_dict(), actor, at=now)
            s.flush()
            return self._full(s, pm)

    def get(self, pm_id: Any) -> dict:
        """The post-mortem with `entries` (by time), `issues`, `actions`, `gate` (what blocks the next phase)."""
        with self.db.session() as s:
            return self._full(s, _pm(s, pm_id))

    def list(self, incident_id: Any = None) -> list[dict]:
        q = select(PostmortemRow).order_by(PostmortemRow.id.desc())
        if incident_id is not None:
            q = q.where(PostmortemRow.incident_id == _int(incident_id, "incident id"))
        with self.db.session() as s:
            return [p.to_dict() for p in s.scalars(q.limit(1000))]

    def _full(self, s: Session, pm: PostmortemRow) -> dict:
        d = pm.to_dict()
        entries = _entries(s, pm.id)
        issues = list(s.scalars(select(IssueRow).where(IssueRow.postmortem_id == pm.id).order_by(IssueRow.id)))
        d["entries"] = [e.to_dict() for e in entries]
        d["issues"] = [i.to_dict() for i in issues]
        now = self.clock.time()
        d["actions"] = [a.to_dict(now) for a in s.scalars(
            select(ActionRow).where(ActionRow.source_type == "postmortem", ActionRow.source_id == str(pm.id))
            .order_by(ActionRow.id))]
        d["gate"] = [{"rule": r, "message": m} for r, m in self._gate(s, pm, entries, issues, agreed=False)]
        d["rules"] = RULES
        return d

    # -- phase 1: the timeline ---------------------------------------------------------------
    def add_entry(self, pm_id: Any, actor: str, *, at: Any, text: str, search: str | None = None,
                  earliest: Any = None, latest: Any = None) -> dict:
        """Add an entry (accepted, source "manual"); after phase 1 it is marked `late`."""
        now = self.clock.time()
        with self.db.session() as s:
            pm = _open_pm(s, pm_id)
            text = _text(text, "text")
            e = EntryRow(postmortem_id=pm.id, at=epoch("at", at), text=text, source="manual", search=search or None,
                         earliest=None if earliest is None else epoch("earliest", earliest),
                         latest=None if latest is None else epoch("latest", latest), state=ACCEPTED,
                         late=int(pm.phase != TIMELINE), added_by=actor)
            s.add(e)
            s.flush()
            record_change(s, "postmortem", pm.id, f"entry:{e.id}", None, e.to_dict(), actor, at=now)
            return e.to_dict()

    def update_entry(self, pm_id: Any, entry_id: Any, actor: str, *, state: str | None = None,
                     text: str | None = None, at: Any = None, impact_start: bool | None = None,
                     detection: bool | None = None) -> dict:
        """Accept/reject (`state`), edit (`text`, `at`) or mark (`impact_start`, `detection`: one entry
        each; marking one clears the other entries' mark). Only in phase 1 (rule `timeline-phase-only`
        covers the decisions; a late change is refused after phase 1 with the same rule)."""
        now = self.clock.time()
        with self.db.session() as s:
            pm = _open_pm(s, pm_id)
            if pm.phase != TIMELINE:
                raise RuleError(f"post-mortem {pm.id} is in phase {pm.phase}; the agreed timeline changes only by "
                                "adding a (late) entry", "timeline-phase-only")
            e = _entry(s, pm.id, entry_id)
            changes: dict[str, Any] = {}
            if state is not None:
                if state not in (ACCEPTED, REJECTED, CANDIDATE):
                    raise InputError(f"state: '{state}' is not accepted, rejected or candidate")
                changes["state"] = state
            if text is not None:
                changes["text"], changes["edited"] = _text(text, "text"), 1
            if at is not None:
                changes["at"], changes["edited"] = epoch("at", at), 1
            for mark, flag in (("impact_start", impact_start), ("detection", detection)):
                if flag is None:
                    continue
                if flag:
                    for other in _entries(s, pm.id):
                        if getattr(other, mark) and other.id != e.id:
                            setattr(other, mark, 0)
                    changes.setdefault("state", ACCEPTED)
                changes[mark] = int(flag)
            for f, v in changes.items():
                record_change(s, "postmortem", pm.id, f"entry:{e.id}:{f}", getattr(e, f), v, actor, at=now)
                setattr(e, f, v)
            return e.to_dict()

    # -- phase 2: issues ---------------------------------------------------------------------
    def add_issue(self, pm_id: Any, actor: str, text: str, entries: Iterable[Any]) -> dict:
        """Record an issue pointing at accepted timeline entries (rules `issues-phase-only`,
        `issue-points-at-timeline`); in phase 3 it is marked late."""
        now = self.clock.time()
        with self.db.session() as s:
            pm = _open_pm(s, pm_id)
            if pm.phase == TIMELINE:
                raise RuleError(f"post-mortem {pm.id} is in phase 1 (timeline): agree the timeline first "
                                "('speleo postmortem advance PM --agreed')", "issues-phase-only")
            ids = clean_ids(entries, "entry")
            accepted = {e.id for e in _entries(s, pm.id) if e.state == ACCEPTED}
            bad = [i for i in ids if i not in accepted]
            if not ids or bad:
                why = f"entries {bad} are not accepted entries of this timeline" if bad else "no entry given"
                raise RuleError(f"an issue points at the timeline entries it concerns (--entry N): {why}",
                                "issue-points-at-timeline", 400, "bad_input")
            i = IssueRow(postmortem_id=pm.id, text=_text(text, "text"), entries=json.dumps(ids),
                         late=int(pm.phase != ISSUES), created_by=actor, created_at=now)
            s.add(i)
            s.flush()
            record_change(s, "postmortem", pm.id, f"issue:{i.id}", None, i.to_dict(), actor, at=now)
            return i.to_dict()

    # -- phase 3: actions --------------------------------------------------------------------
    def add_action(self, pm_id: Any, actor: str, *, issue: Any, owner: Any = None, expected: Any = None,
                   due_at: Any = None, type: Any = None, title: Any = None) -> dict:
        """Create the action of an issue (rule `actions-phase-only`; the field rules of
        `Actions.add_in`). `title` defaults to the expected result's wording when not given."""
        with self.db.session() as s:
            pm = _open_pm(s, pm_id)
            if pm.phase != ACTIONS:
                raise RuleError(f"post-mortem {pm.id} is in phase {pm.phase}; actions are created in phase 3 "
                                "(actions), after the issues", "actions-phase-only")
            if issue is None or issue == "":
                raise RuleError("an action belongs to an issue: give --issue N", "action-needs-issue", 400, "bad_input")
            iss = s.get(IssueRow, _int(issue, "issue"))
            if iss is None or iss.postmortem_id != pm.id:
                raise NotFoundError(f"no issue {issue} in post-mortem {pm.id}")
            return self.actions.add_in(s, "postmortem", pm.id, actor, title=title or expected, owner=owner,
                                       expected=expected, due_at=due_at, type=type, source_item=iss.id)

    # -- gates -------------------------------------------------------------------------------
    def advance(self, pm_id: Any, actor: str, *, agreed: bool = False) -> dict:
        """Move to the next phase when its gate passes; else RuleError naming the first rule broken.
        Phase 1 ends only with `agreed=True` (the facilitator records that everyone agrees)."""
        now = self.clock.time()
        with self.db.session() as s:
            pm = _open_pm(s, pm_id)
            entries = _entries(s, pm.id)
            issues = list(s.scalars(select(IssueRow).where(IssueRow.postmortem_id == pm.id)))
            broken = self._gate(s, pm, entries, issues, agreed)
            if broken:
                rule, message = broken[0]
                more = f" ({len(broken) - 1} more: {', '.join(r for r, _ in broken[1:])})" if len(broken) > 1 else ""
                raise RuleError(f"post-mortem {pm.id} stays in phase {pm.phase}: {message}{more}", rule)
            nxt = PHASES[PHASES.index(pm.phase) + 1]
            if pm.phase == TIMELINE:
                pm.agreed_at, pm.agreed_by = now, pm.facilitator
            elif pm.phase == ISSUES:
                pm.issues_done_at = now
            else:
                pm.completed_at = now
            record_change(s, "postmortem", pm.id, "phase", pm.phase, nxt, actor, at=now)
            pm.phase = nxt
            return self._full(s, pm)

    def _gate(self, s: Session, pm: PostmortemRow, entries: list[EntryRow], issues: list[IssueRow],
              agreed: bool) -> list[tuple[str, str]]:
        """The rules that block leaving the current phase, as (rule, what to do)."""
        out: list[tuple[str, str]] = []
        if pm.phase == TIMELINE:
            undecided = [e.id for e in entries if e.state == CANDIDATE]
            if undecided:
                out.append(("timeline-all-decided", f"accept or reject the candidate entries {undecided[:20]}"))
            if not any(e.impact_start and e.state == ACCEPTED for e in entries):
                out.append(("timeline-impact-start", "mark the entry where the impact started (--impact-start)"))
            if not any(e.detection and e.state == ACCEPTED for e in entries):
                out.append(("timeline-detection", "mark the entry where the failure was detected (--detection)"))
            if not pm.facilitator:
                out.append(("timeline-facilitator", "record the facilitator ('speleo postmortem people PM "
                                                    "--facilitator USER')"))
            if not agreed:
                out.append(("timeline-agreement", "the facilitator records that everyone agrees (--agreed)"))
        elif pm.phase == ISSUES:
            if not issues:
                out.append(("issues-at-least-one", "record at least one issue ('speleo postmortem issue add')"))
        elif pm.phase == ACTIONS:
            have = set(s.scalars(select(ActionRow.source_item).where(
                ActionRow.source_type == "postmortem", ActionRow.source_id == str(pm.id))))
            bare = [i.id for i in issues if i.id not in have]
            if bare:
                out.append(("action-per-issue", f"give issues {bare} at least one action each"))
        return out

    def set_people(self, pm_id: Any, actor: str, *, facilitator: str | None = None,
                   attendees: Iterable[str] | None = None) -> dict:
        """Record the facilitator and (replace) the attendees."""
        now = self.clock.time()
        with self.db.session() as s:
            pm = _open_pm(s, pm_id)
            if facilitator is not None:
                record_change(s, "postmortem", pm.id, "facilitator", pm.facilitator, _name(facilitator), actor, at=now)
                pm.facilitator = _name(facilitator)
            if attendees is not None:
                new = json.dumps(_names(attendees))
                record_change(s, "postmortem", pm.id, "attendees", pm.attendees, new, actor, at=now)
                pm.attendees = new
            return pm.to_dict()


# -- helpers -----------------------------------------------------------------------------------
def _entries(s: Session, pm_id: int) -> list[EntryRow]:
    return list(s.scalars(select(EntryRow).where(EntryRow.postmortem_id == pm_id).order_by(EntryRow.at, EntryRow.id)))


def _pm(s: Session, pm_id: Any) -> PostmortemRow:
    pm = s.get(PostmortemRow, _int(pm_id, "post-mortem id"))
    if pm is None:
        raise NotFoundError(f"no post-mortem {pm_id}; 'speleo postmortem list' shows them")
    return pm


def _open_pm(s: Session, pm_id: Any) -> PostmortemRow:
    pm = _pm(s, pm_id)
    if pm.phase == COMPLETE:
        raise RuleError(f"post-mortem {pm.id} is complete; it does not change", "postmortem-complete")
    return pm


def _entry(s: Session, pm_id: int, entry_id: Any) -> EntryRow:
    e = s.get(EntryRow, _int(entry_id, "entry"))
    if e is None or e.postmortem_id != pm_id:
        raise NotFoundError(f"no timeline entry {entry_id} in post-mortem {pm_id}")
    return e


def _int(v: Any, field: str) -> int:
    try:
        i = int(v)
    except (TypeError, ValueError):
        raise InputError(f"{field}: '{v}' is not a number") from None
    if not -(2**63) <= i < 2**63:
        raise NotFoundError(f"no {field} {i}")
    return i


def _text(v: Any, field: str) -> str:
    t = str(v or "").strip()
    if not t or len(t) > 5000:
        raise InputError(f"{field}: between 1 and 5000 characters")
    return t


def _name(v: Any) -> str:
    n = str(v or "").strip()
    if not re.match(r"^[A-Za-z0-9][A-Za-z0-9_.@+-]{0,119}$", n):
        raise InputError(f"'{n}' is not a user name (letters, digits, _ . @ + -)")
    return n


def _names(vs: Iterable[str]) -> list[str]:
    out: list[str] = []
    for v in vs:
        for part in str(v).split(","):
            if part.strip() and _name(part) not in out:
                out.append(_name(part))
    return out[:200]
