"""Action items, chased until done: owner, expected result, due date, type, status, evidence.

Shared by post-mortems, after-action reviews and problems: an action belongs to a source named
by `source_type` ("postmortem", "review", "problem", ...) and `source_id` (its id, as text), and
optionally to one item of it (`source_item`: a post-mortem issue, a review goal). Tables
`action_items`, `action_reminders` and `action_people` (migration `0005_postmortem`).

Reminders (learning-loop spec 5.5, "institutionalise the fix"): when an action is created, four
reminder rows are written with their due times: `before` (due - `before_secs`), `at` (due),
`after` (due + `after_secs`) to the owner, and `manager` (due + `manager_secs`) to the owner's
manager (`action_people.manager`). They are sent whatever state the incident is in (Dispatch stops at
Stable: spec [D7]). `run_due(now, notifier)` is the tick (`runtime.ticks`): it claims each due
row with a conditional UPDATE (so two ticks never send one twice), sends through
`speleo.ops.notify.Notifier`, and keeps the attempt's id. A failed delivery is retried after
`RETRY_SECS`, at most `MAX_TRIES` times. Reminders of a closed action are cancelled.

Closing an action needs evidence (spec 5.5): a `link` (http/https URL: the merged change, the
runbook), a `saved_search` (the name of a saved search or alert that now detects the failure
mode), or a `checklist` item (`RUN:ITEM` of a release checklist run).

Times are epoch seconds UTC. Errors: InputError (400), NotFoundError (404), RuleError (the rule
broken is named in the message and in `rule`).
"""

from __future__ import annotations

import json
import math
import re
from typing import Any, Iterable

from sqlalchemy import Float, Integer, String, Text, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from speleo.clock import Clock, SystemClock
from speleo.errors import InputError, NotFoundError, SpeleoError
from speleo.ops.db import Base, Database, record_change

DAY = 86400.0
TYPES: dict[str, str] = {
    "detect": "find out sooner next time (an alert, a saved search, a dashboard)",
    "prevent": "stop the cause from happening again",
    "mitigate": "make the impact smaller or shorter when it happens",
    "process": "change how people work (a runbook, a checklist, training)",
    "sustain": "keep doing what went well (after-action reviews)",
    "improve": "do better next time (after-action reviews)",
}
EVIDENCE_KINDS: dict[str, str] = {
    "link": "an http(s) link: the merged change, the updated runbook",
    "saved_search": "the name of a saved search or alert that now detects the failure mode",
    "checklist": "a release checklist item, as RUN:ITEM",
}
OPEN, DONE = "open", "done"
REMINDER_KINDS = ("before", "at", "after", "manager")
RETRY_SECS = 600.0
MAX_TRIES = 3
FAR_DUE_DAYS = 90   # a due date further away than this is "months away" (SMART warning)
MAX_TEXT = 2000
_USER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@+-]{0,119}$")
# common imperative verbs an action starts with ("add an alert", "fix the retry"): the SMART check
VERBS = frozenset("""add alert allow archive audit automate build cap change check clean configure create cut
decommission define delete deploy document drain drop enable enforce ensure escalate extend fix gate implement
improve increase instrument introduce investigate limit log lower measure migrate monitor move notify page patch
prevent publish raise reduce refactor remove rename replace require restrict retry review rewrite roll rotate run
schedule separate set shorten split stop switch teach tune train update upgrade validate verify write""".split())
_MEASURABLE = re.compile(r"\d|%|\b(no|zero|none|never|every|each|all|alert|alerts|fires?|pages?|within|under|below|"
                         r"above|less|fewer|more|at most|at least|returns?|detects?|passes?|fails?)\b", re.I)


class RuleError(SpeleoError):
    """A request a workflow rule refuses; `rule` names the rule (also in the message)."""

    def __init__(self, message: str, rule: str, status: int = 409, code: str = "rule_refused") -> None:
        super().__init__(f"{message} (rule {rule})")
        self.rule, self.status, self.code = rule, status, code

    def to_dict(self) -> dict:
        return {**super().to_dict(), "rule": self.rule}


def missing_field(field: str, what: str) -> RuleError:
    """The 400 for a required action field that is absent (rule `action-needs-<field>`)."""
    return RuleError(f"an action needs {what}: give --{field.replace('_', '-')}", f"action-needs-{field}", 400,
                     "bad_input")


class ActionRow(Base):
    __tablename__ = "action_items"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_type: Mapped[str] = mapped_column(String(32), nullable=False, index=True)
    source_id: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    source_item: Mapped[int | None] = mapped_column(Integer, nullable=True)
    title: Mapped[str] = mapped_column(Text, nullable=False)
    owner: Mapped[str] = mapped_column(String(120), nullable=False, index=True)
    expected: Mapped[str] = mapped_column(Text, nullable=False)
    due_at: Mapped[float] = mapped_column(Float, nullable=False)
    type: Mapped[str] = mapped_column(String(16), nullable=False)
    status: Mapped[str] = mapped_column(String(8), nullable=False, index=True)
    warnings: Mapped[str] = mapped_column(Text, nullable=False, default="[]")
    created_by: Mapped[str] = mapped_column(String(120), nullable=False)
    created_at: Mapped[float] = mapped_column(Float, nullable=False)
    closed_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    closed_by: Mapped[str | None] = mapped_column(String(120), nullable=True)
    evidence_kind: Mapped[str | None] = mapped_column(String(16), nullable=True)
    evidence: Mapped[str | None] = mapped_column(Text, nullable=True)

    def to_dict(self, now: float | None = None) -> dict:
        d = {c: getattr(self, c) for c in ("id", "source_type", "source_id", "source_item", "title", "owner",
                                          "expected", "due_at", "type", "status", "created_by", "created_at",
                                          "closed_at", "closed_by", "evidence_kind", "evidence")}
        d["warnings"] = json.loads(self.warnings or "[]")
        if now is not None:
            d["overdue"] = self.status == OPEN and now > self.due_at
            d["age_days"] = round((now - self.created_at) / DAY, 1)
        return d


class ReminderRow(Base):
    """One reminder to send at `due_at`; `sent_at` is set when claimed (None: still to send)."""

    __tablename__ = "action_reminders"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    action_id: Mapped[int] = mapped_column(Integer, nullable=False, index=True)
    kind: Mapped[str] = mapped_column(String(8), nullable=False)
    due_at: Mapped[float] = mapped_column(Float, nullable=False, index=True)
    sent_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    tries: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    outcome: Mapped[str | None] = mapped_column(Text, nullable=True)  # "sent to x", "skipped: why", "cancelled"
    attempt_id: Mapped[int | None] = mapped_column(Integer, nullable=True)

    def to_dict(self) -> dict:
        return {c: getattr(self, c) for c in ("id", "action_id", "kind", "due_at", "sent_at", "tries", "outcome",
                                             "attempt_id")}


class PersonRow(Base):
    """Where to reach a user and whom to escalate to: email, team, manager (a user name)."""

    __tablename__ = "action_people"
    name: Mapped[str] = mapped_column(String(120), primary_key=True)
    email: Mapped[str | None] = mapped_column(String(254), nullable=True)
    team: Mapped[str | None] = mapped_column(String(64), nullable=True)
    manager: Mapped[str | None] = mapped_column(String(120), nullable=True)

    def to_dict(self) -> dict:
        return {"name": self.name, "email": self.email, "team": self.team, "manager": self.manager}


def smart_warnings(title: str, expected: str, due_at: float, now: float) -> list[str]:
    """The SMART parts an action misses, each named: `no verb`, `no measurable result`,
    `due date in the past`, `due date months away` (more than FAR_DUE_DAYS days)."""
    out = []
    first = (title.strip().split() or [""])[0].lower().strip(".,:;")
    if first not in VERBS:
        out.append(f"no verb: start the action with what will be done (e.g. 'add', 'fix', 'alert'), not '{first}'")
    if not _MEASURABLE.search(expected):
        out.append("no measurable result: say what will be observed and how much (e.g. 'an alert fires within "
                   "5 minutes', 'zero timeouts in a week')")
    if due_at < now:
        out.append("due date in the past: give a date ahead")
    elif due_at > now + FAR_DUE_DAYS * DAY:
        out.append(f"due date months away ({int((due_at - now) // DAY)} days): set a nearer milestone")
    return out


class Actions:
    """Action items of one operations database, their reminders and the people directory.

    `before_secs`, `after_secs`, `manager_secs`: reminder offsets from the due date (seconds).
    """

    def __init__(self, db: Database, clock: Clock | None = None, *, before_secs: float = 2 * DAY,
                 after_secs: float = DAY, manager_secs: float = 3 * DAY) -> None:
        self.db = db
        self.clock = clock or SystemClock()
        self.before_secs, self.after_secs, self.manager_secs = before_secs, after_secs, manager_secs

    @classmethod
    def for_home(cls, home_root, db: Database, clock: Clock | None = None) -> "Actions":
        """With the reminder offsets of `<home>/learning.conf` `[reminders]`: `before_secs`,
        `after_secs`, `manager_secs` (seconds; the defaults when absent). Raises InputError naming
        the file and key for a value that is not a positive number of seconds."""
        from pathlib import Path

        from speleo.conffile import read_conf

        path = Path(home_root) / "learning.conf"
        settings: dict[str, str] = {}
        if path.exists():
            for st in read_conf(path).merged():
                if st.name == "reminders":
                    settings.update(st.settings)
        kw = {}
        for key in ("before_secs", "after_secs", "manager_secs"):
            if key in settings:
                try:
                    kw[key] = float(settings[key])
                except ValueError:
                    kw[key] = -1.0
                if not 0 <= kw[key] <= 365 * DAY:
                    raise InputError(f"{path} [reminders] {key} = {settings[key]!r}: give seconds (0 to 31536000)")
        return cls(db, clock, **kw)

    # -- create ------------------------------------------------------------------------------
    def create(self, source_type: str, source_id: Any, actor: str, *, title: Any = None, owner: Any = None,
               expected: Any = None, due_at: Any = None, type: Any = None, source_item: int | None = None) -> dict:
        """Create an action (see `add_in`) in its own transaction."""
        with self.db.session() as s:
            return self.add_in(s, source_type, source_id, actor, title=title, owner=owner, expected=expected,
                               due_at=due_at, type=type, source_item=source_item)

    def add_in(self, s: Session, source_type: str, source_id: Any, actor: str, *, title: Any, owner: Any,
               expected: Any, due_at: Any, type: Any, source_item: int | None = None) -> dict:
        """Add an action and its reminders in session `s`; returns it with its SMART `warnings`.

        Raises RuleError (400) naming the missing field (rules `action-needs-owner`,
        `action-needs-expected`, `action-needs-due`, `action-needs-type`, `action-needs-title`),
        `action-single-owner` for more than one owner, InputError for a bad value.
        """
        now = self.clock.time()
        owner = clean_owner(owner)
        expected = _required_text(expected, "expected", "an expected result (what will be observed once done)")
        title = _required_text(title, "title", "a title (what will be done)")
        if due_at is None or due_at == "":
            raise missing_field("due", "a due date")
        due = epoch("due", due_at)
        if not type:
            raise missing_field("type", f"a type ({', '.join(TYPES)})")
        if type not in TYPES:
            raise InputError(f"type: '{type}' is not one of {', '.join(TYPES)}")
        warn = smart_warnings(title, expected, due, now)
        row = ActionRow(source_type=_token("source_type", source_type), source_id=str(source_id),
                        source_item=source_item, title=title, owner=owner, expected=expected, due_at=due,
                        type=type, status=OPEN, warnings=json.dumps(warn), created_by=actor, created_at=now)
        s.add(row)
        s.flush()
        record_change(s, "action", row.id, "created", None, row.to_dict(), actor, at=now)
        for kind, at in (("before", due - self.before_secs), ("at", due), ("after", due + self.after_secs),
                         ("manager", due + self.manager_secs)):
            s.add(ReminderRow(action_id=row.id, kind=kind, due_at=at, tries=0))
        return row.to_dict(now)

    # -- read --------------------------------------------------------------------------------
    def get(self, action_id: Any) -> dict:
        """The action with its `reminders`."""
        with self.db.session() as s:
            row = _action(s, action_id)
            d = row.to_dict(self.clock.time())
            d["reminders"] = [r.to_dict() for r in s.scalars(
                select(ReminderRow).where(ReminderRow.action_id == row.id).order_by(ReminderRow.due_at))]
            return d

    def list(self, *, status: str | None = None, owner: str | None = None, team: str | None = None,
             source_type: str | None = None, source_id: Any = None, overdue: bool = False,
             limit: int = 500) -> list[dict]:
        """Actions, oldest due first, each with `overdue`, `age_days` and the owner's `team`."""
        now = self.clock.time()
        q = select(ActionRow).order_by(ActionRow.due_at, ActionRow.id)
        if status:
            if status not in (OPEN, DONE):
                raise InputError(f"status: '{status}' is not open or done")
            q = q.where(ActionRow.status == status)
        if owner:
            q = q.where(ActionRow.owner == owner)
        if source_type:
            q = q.where(ActionRow.source_type == source_type)
        if source_id is not None:
            q = q.where(ActionRow.source_id == str(source_id))
        with self.db.session() as s:
            teams = {p.name: p.team for p in s.scalars(select(PersonRow))}
            rows = []
            for r in s.scalars(q.limit(max(1, min(limit, 5000)))):
                d = r.to_dict(now)
                d["team"] = teams.get(r.owner)
                rows.append(d)
        if team:
            rows = [r for r in rows if r["team"] == team]
        if overdue:
            rows = [r for r in rows if r["overdue"]]
        return rows

    def backlog(self) -> dict:
        """Open actions counted by team, owner, source and age (0-7, 8-30, 31-90, >90 days), with
        how many of each are overdue: `{"open", "overdue", "by_team", "by_owner", "by_source", "by_age"}`,
        each `by_*` a list of `{"key", "open", "overdue"}`."""
        rows = self.list(status=OPEN, limit=5000)
        out: dict[str, Any] = {"open": len(rows), "overdue": sum(r["overdue"] for r in rows)}
        for name, key in (("by_team", lambda r: r["team"] or "(no team)"), ("by_owner", lambda r: r["owner"]),
                          ("by_source", lambda r: r["source_type"]), ("by_age", _age_bucket)):
            groups: dict[str, dict] = {}
            for r in rows:
                g = groups.setdefault(key(r), {"key": key(r), "open": 0, "overdue": 0})
                g["open"] += 1
                g["overdue"] += int(r["overdue"])
            out[name] = sorted(groups.values(), key=lambda g: (-g["overdue"], -g["open"], g["key"]))
        return out

    # -- close -------------------------------------------------------------------------------
    def done(self, action_id: Any, actor: str, evidence_kind: str | None, evidence: str | None,
             check_saved=None, check_checklist=None) -> dict:
        """Close an action with evidence; its pending reminders are cancelled.

        `check_saved(name) -> bool` and `check_checklist("RUN:ITEM") -> bool` confirm that the saved
        search or checklist item exists (defaults look in this database). Raises RuleError
        `action-done-needs-evidence` (400) without evidence, InputError for evidence that does not
        check out, RuleError `action-already-done` (409).
        """
        if not evidence_kind or not (evidence or "").strip():
            raise RuleError("closing an action asks for evidence: --link URL, --saved-search NAME (a search or "
                            "alert that now detects the failure mode) or --checklist RUN:ITEM",
                            "action-done-needs-evidence", 400, "bad_input")
        evidence = evidence.strip()
        if evidence_kind not in EVIDENCE_KINDS:
            raise InputError(f"evidence kind '{evidence_kind}' is not one of {', '.join(EVIDENCE_KINDS)}")
        now = self.clock.time()
        with self.db.session() as s:
            if evidence_kind == "link" and not re.match(r"^https?://\S+$", evidence):
                raise InputError(f"evidence link '{evidence}' is not an http(s) URL")
            if evidence_kind == "saved_search" and not (check_saved or _saved_exists(s))(evidence):
                raise InputError(f"evidence: no saved search or alert named '{evidence}'; save it first "
                                 "('speleo saved add') so it keeps detecting the failure mode")
            if evidence_kind == "checklist" and not (check_checklist or _checklist_item_exists(s))(evidence):
                raise InputError(f"evidence: no checklist item '{evidence}' (give RUN:ITEM of a checklist run)")
            row = _action(s, action_id)
            if row.status == DONE:
                raise RuleError(f"action {row.id} is already done", "action-already-done")
            for f, v in (("status", DONE), ("closed_at", now), ("closed_by", actor), ("evidence_kind", evidence_kind),
                         ("evidence", evidence)):
                record_change(s, "action", row.id, f, getattr(row, f), v, actor, at=now)
                setattr(row, f, v)
            s.execute(update(ReminderRow).where(ReminderRow.action_id == row.id, ReminderRow.sent_at.is_(None))
                      .values(sent_at=now, outcome="cancelled: the action is done"))
            return row.to_dict(now)

    # -- people ------------------------------------------------------------------------------
    def set_person(self, name: str, actor: str, *, email: str | None = None, team: str | None = None,
                   manager: str | None = None) -> dict:
        """Set a user's email, team and manager (None leaves a field as it is)."""
        name = clean_owner(name)
        if email is not None and email and not re.match(r"^[^@\s<>,;]+@[^@\s<>,;]+$", email):
            raise InputError(f"email: '{email}' is not an address like name@example.com")
        if manager:
            manager = clean_owner(manager)
            if manager == name:
                raise InputError("manager: a user is not their own manager")
        with self.db.session() as s:
            p = s.get(PersonRow, name) or PersonRow(name=name)
            s.add(p)
            for f, v in (("email", email), ("team", team), ("manager", manager)):
                if v is not None:
                    record_change(s, "person", name, f, getattr(p, f), v or None, actor)
                    setattr(p, f, v or None)
            return p.to_dict()

    def people(self) -> list[dict]:
        with self.db.session() as s:
            return [p.to_dict() for p in s.scalars(select(PersonRow).order_by(PersonRow.name))]

    # -- reminders ---------------------------------------------------------------------------
    def run_due(self, now: float, notifier) -> int:
        """Send every reminder due at `now` (the tick); returns how many were handled.

        Each row is claimed by `UPDATE ... WHERE sent_at IS NULL`: a row is sent once even when two
        ticks overlap. A failed delivery goes back with a due time RETRY_SECS later (MAX_TRIES).
        """
        with self.db.session() as s:
            due = list(s.scalars(select(ReminderRow.id).where(ReminderRow.sent_at.is_(None), ReminderRow.due_at <= now)
                                 .order_by(ReminderRow.due_at).limit(200)))
        handled = 0
        for rid in due:
            with self.db.session() as s:
                claimed = s.execute(update(ReminderRow).where(ReminderRow.id == rid, ReminderRow.sent_at.is_(None))
                                    .values(sent_at=now, tries=ReminderRow.tries + 1)).rowcount
            if claimed:
                self._send(rid, now, notifier)
                handled += 1
        return handled

    def remind(self, action_id: Any, notifier, actor: str) -> dict:
        """Send the owner a reminder now (`speleo action remind`); returns the attempt as a dict."""
        now = self.clock.time()
        with self.db.session() as s:
            row = _action(s, action_id)
            r = ReminderRow(action_id=row.id, kind="manual", due_at=now, sent_at=now, tries=1)
            s.add(r)
            s.flush()
            rid = r.id
        return self._send(rid, now, notifier)

    def _send(self, rid: int, now: float, notifier) -> dict:
        with self.db.session() as s:
            r = s.get(ReminderRow, rid)
            a = s.get(ActionRow, r.action_id)
            people = {p.name: p for p in s.scalars(select(PersonRow))}
            if a is None or a.status != OPEN:
                r.outcome = "cancelled: the action is done"
                return r.to_dict()
            target = a.owner
            if r.kind == "manager":
                target = people[a.owner].manager if a.owner in people else None
                if not target:
                    r.outcome = f"skipped: {a.owner} has no manager ('speleo action person {a.owner} --manager NAME')"
                    return r.to_dict()
            address = _address(target, people) or _oncall_email(s, target)
            if address is None:
                r.outcome = (f"skipped: no email address for {target} ('speleo action person {target} --email "
                             "ADDRESS', or an on-call email contact)")
                return r.to_dict()
            subject, text = reminder_text(a, r.kind, now)
        attempt = notifier.email([address], subject, text, ref=("action", str(a.id)))
        with self.db.session() as s:
            r = s.get(ReminderRow, rid)
            r.attempt_id = attempt.id
            if attempt.ok:
                r.outcome = f"sent to {address}"
            else:
                r.outcome = f"failed ({attempt.detail})"
                if r.tries < MAX_TRIES:
                    r.sent_at, r.due_at = None, now + RETRY_SECS
            return r.to_dict()


def reminder_text(a: ActionRow, kind: str, now: float) -> tuple[str, str]:
    """The subject and body of one reminder (`kind`: before, at, after, manager, manual)."""
    import datetime as dt

    due = dt.datetime.fromtimestamp(a.due_at, dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    when = {"before": f"is due on {due}", "at": f"is due now ({due})", "after": f"was due on {due} and is overdue",
            "manager": f"owned by {a.owner} was due on {due} and is still open",
            "manual": f"is due on {due}"}[kind]
    subject = f"[speleo] action {a.id} {when}: {a.title}"
    text = (f"Action {a.id} {when}.\n\nWhat: {a.title}\nExpected result: {a.expected}\nOwner: {a.owner}\n"
            f"Type: {a.type}\nFrom: {a.source_type} {a.source_id}\n\n"
            f"Close it with evidence: speleo action done {a.id} --link URL | --saved-search NAME | --checklist RUN:ITEM\n")
    return subject, text


def _address(name: str, people: dict[str, PersonRow]) -> str | None:
    p = people.get(name)
    if p is not None and p.email:
        return p.email
    return name if "@" in name else None


def _oncall_email(s: Session, name: str) -> str | None:
    """The user's first email contact method of the on-call records (`speleo.ops.oncall`), if any."""
    from speleo.ops.oncall.models import ContactRow

    return s.scalar(select(ContactRow.target).where(ContactRow.user == name, ContactRow.kind == "email")
                    .order_by(ContactRow.id).limit(1))


def _age_bucket(r: dict) -> str:
    d = r["age_days"]
    return "0-7 days" if d <= 7 else "8-30 days" if d <= 30 else "31-90 days" if d <= 90 else "over 90 days"


def _saved_exists(s: Session):
    from speleo.ops.saved import SavedRow

    return lambda name: s.scalar(select(SavedRow.id).where(SavedRow.name == name).limit(1)) is not None


def _checklist_item_exists(s: Session):
    def check(ref: str) -> bool:
        from speleo.ops.checklists import RunItemRow

        run, _, item = ref.partition(":")
        if not (run.isdigit() and item.isdigit()):
            return False
        return s.scalar(select(RunItemRow.id).where(RunItemRow.run_id == int(run), RunItemRow.id == int(item))) is not None
    return check


def _action(s: Session, action_id: Any) -> ActionRow:
    try:
        key = int(action_id)
    except (TypeError, ValueError):
        raise InputError(f"action id: '{action_id}' is not a number") from None
    row = s.get(ActionRow, key) if -(2**63) <= key < 2**63 else None
    if row is None:
        raise NotFoundError(f"no action {key}; 'speleo action list' shows them")
    return row


def clean_owner(owner: Any) -> str:
    """One user name; raises RuleError `action-needs-owner` (none) or `action-single-owner` (several)."""
    o = str(owner or "").strip()
    if not o:
        raise missing_field("owner", "an owner (one user)")
    if re.search(r"[\s,;&]", o) or " and " in o:
        raise RuleError(f"an action has exactly one owner; '{o}' names several: pick one", "action-single-owner",
                        400, "bad_input")
    if not _USER.match(o):
        raise InputError(f"owner: '{o}' is not a user name (letters, digits, _ . @ + -)")
    return o


def _required_text(v: Any, field: str, what: str) -> str:
    t = str(v or "").strip()
    if not t:
        raise missing_field(field, what)
    if len(t) > MAX_TEXT:
        raise InputError(f"{field}: {len(t)} characters, {MAX_TEXT} at most")
    return t


def _token(field: str, v: Any) -> str:
    t = str(v or "").strip()
    if not re.match(r"^[a-z_]{1,32}$", t):
        raise InputError(f"{field}: '{t}' is not a lowercase name")
    return t


def epoch(field: str, v: Any) -> float:
    """`v` as epoch seconds (0 .. year 3000); InputError naming `field` otherwise."""
    try:
        f = float(v)
    except (TypeError, ValueError):
        raise InputError(f"{field}: '{v}' is not a time in epoch seconds") from None
    if not math.isfinite(f) or f < 0 or f > 32503680000:
        raise InputError(f"{field}: '{v}' is not a time in epoch seconds")
    return f


def clean_ids(values: Iterable[Any], field: str) -> list[int]:
    out = []
    for v in values:
        try:
            out.append(int(v))
        except (TypeError, ValueError):
            raise InputError(f"{field}: '{v}' is not a number") from None
    return out
