"""Operations on on-call records: schedules, rotations, overrides, contact methods, policies.

No HTTP here (routes: `speleo.server.oncall_api`). Each change runs in one transaction with its
`record_change` history rows. "Now" comes from the injected clock (epoch seconds UTC).
Errors: InputError (400) for bad values, naming the field and what to do; NotFoundError (404)
for an unknown schedule, policy or contact; ConflictError (409) for a name already taken or a
record another one still uses.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any, Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from speleo.clock import Clock, SystemClock
from speleo.errors import ConflictError, InputError, NotFoundError
from speleo.ops.db import Database, record_change
from speleo.ops.incidents.service import clean_services
from speleo.ops.oncall import schedule as sch
from speleo.ops.oncall.models import (
    CONTACT_KINDS, ESCALATE_TO, NOTIFY_SCHEDULE, NOTIFY_USER, REPEAT, STEP_KINDS, WAIT, WEBHOOK_STYLES, ContactRow,
    OverrideRow, PolicyRow, RotationRow, ScheduleRow)
from speleo.ops.users import UserRow

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
MAX_STEPS = 50          # steps in one policy
MAX_CHAIN = 200         # notifications one incident's chain may hold once repeats and escalate_to are unrolled
MAX_WAIT_MIN = 1440
MAX_REPEAT = 5          # as Grafana OnCall's repeat_escalation
MAX_RANGE = 366 * 86400.0
MAX_OVERRIDE = 90 * 86400.0


def clean_name(what: str, value: Any) -> str:
    n = str(value or "").strip()
    if not _NAME.match(n):
        raise InputError(f"{what} name {value!r}: 1-64 letters, digits, '_', '.', '-', starting with a letter or digit")
    return n


def _epoch(what: str, v: Any) -> float:
    try:
        x = float(v)
    except (TypeError, ValueError):
        raise InputError(f"{what}: {v!r} is not a time in epoch seconds") from None
    if not math.isfinite(x) or x < 0:
        raise InputError(f"{what}: {v!r} is not a time in epoch seconds")
    return x


class OnCall:
    """The on-call records of one operations database, with a clock for "now"."""

    def __init__(self, db: Database, clock: Clock | None = None) -> None:
        self.db = db
        self.clock = clock or SystemClock()

    # -- schedules ---------------------------------------------------------------------------
    def create_schedule(self, name: str, time_zone: str, actor: str, description: str = "") -> dict:
        """A schedule in IANA zone `time_zone`. Raises InputError, ConflictError (name taken)."""
        name = clean_name("schedule", name)
        sch.zone(time_zone)
        now = self.clock.time()
        with self.db.session() as s:
            if s.scalars(select(ScheduleRow).where(ScheduleRow.name == name)).first():
                raise ConflictError(f"schedule '{name}' already exists")
            row = ScheduleRow(name=name, time_zone=time_zone, description=str(description or "")[:2000],
                              created_by=actor, created_at=now, updated_at=now)
            s.add(row)
            s.flush()
            record_change(s, "oncall_schedule", name, "created", None, {"time_zone": time_zone}, actor, at=now)
            return self._schedule_dict(s, row)

    def list_schedules(self) -> list[dict]:
        """Every schedule with its rotations and overrides, by name."""
        with self.db.session() as s:
            return [self._schedule_dict(s, r) for r in s.scalars(select(ScheduleRow).order_by(ScheduleRow.name))]

    def get_schedule(self, name: str) -> dict:
        with self.db.session() as s:
            return self._schedule_dict(s, _schedule(s, name))

    def delete_schedule(self, name: str, actor: str) -> None:
        """Raises NotFoundError; ConflictError while a policy notifies it."""
        with self.db.session() as s:
            row = _schedule(s, name)
            users = [p.name for p in s.scalars(select(PolicyRow))
                     if any(st.get("schedule") == row.name for st in json.loads(p.steps))]
            if users:
                raise ConflictError(f"schedule '{row.name}' is used by escalation policy {', '.join(users)}: "
                                    "change those policies first")
            s.delete(row)
            record_change(s, "oncall_schedule", row.name, "deleted", row.time_zone, None, actor, at=self.clock.time())

    def add_rotation(self, schedule: str, actor: str, *, users: Iterable[str], start: str, kind: str = "weekly",
                     length: int | None = None, unit: str | None = None, layer: int = 0, name: str | None = None,
                     end: str | None = None) -> dict:
        """Add a rotation (layer) to `schedule`: `users` take turns from `start` (local wall time
        `2026-03-23T09:00`, which sets the hand-off time) every day/week/custom length.

        Raises InputError (unknown user, bad kind/length/start/end), NotFoundError (schedule).
        """
        n, u = sch.rotation_length(kind, length, unit)
        st = sch.parse_local(start, "start")
        en = sch.parse_local(end, "end") if end else None
        if en is not None and en <= st:
            raise InputError(f"end {end} is not after start {start}")
        names = [clean_name("user", x) for x in ([p for p in users.split(",")] if isinstance(users, str) else users)
                 if str(x).strip()]
        if not names:
            raise InputError("users: a rotation needs at least one user, in turn order (e.g. alice,bob)")
        if not -100 <= int(layer) <= 100:
            raise InputError("layer: between -100 and 100 (the higher layer wins where rotations overlap)")
        now = self.clock.time()
        with self.db.session() as s:
            row = _schedule(s, schedule)
            _check_users(s, names)
            existing = list(s.scalars(select(RotationRow).where(RotationRow.schedule_id == row.id)))
            rname = clean_name("rotation", name or f"rotation-{len(existing) + 1}")
            if any(r.name == rname for r in existing):
                raise ConflictError(f"schedule '{row.name}' already has a rotation named '{rname}'")
            rot = RotationRow(schedule_id=row.id, name=rname, kind=kind, length=n, unit=u, layer=int(layer),
                              users=json.dumps(names), start_local=st.isoformat(timespec="minutes"),
                              end_local=en.isoformat(timespec="minutes") if en else None, created_at=now)
            s.add(rot)
            row.updated_at = now
            s.flush()
            record_change(s, "oncall_schedule", row.name, f"rotation:{rname}", None, rot.to_dict(), actor, at=now)
            return rot.to_dict()

    def remove_rotation(self, schedule: str, rotation: str, actor: str) -> None:
        with self.db.session() as s:
            row = _schedule(s, schedule)
            rot = s.scalars(select(RotationRow).where(RotationRow.schedule_id == row.id,
                                                      RotationRow.name == rotation)).first()
            if rot is None:
                raise NotFoundError(f"schedule '{row.name}' has no rotation named '{rotation}'")
            record_change(s, "oncall_schedule", row.name, f"rotation:{rotation}", rot.to_dict(), None, actor,
                          at=self.clock.time())
            s.delete(rot)

    def add_override(self, schedule: str, user: str, start: Any, end: Any, actor: str, reason: str = "") -> dict:
        """`user` is on call in `schedule` from `start` to `end` (epoch seconds), above every layer.

        Raises InputError (unknown user, end not after start, longer than 90 days), NotFoundError.
        """
        a, b = _epoch("start", start), _epoch("end", end)
        if b <= a:
            raise InputError(f"override end ({b}) is not after its start ({a})")
        if b - a > MAX_OVERRIDE:
            raise InputError("an override lasts 90 days at most; add a rotation for longer cover")
        user = clean_name("user", user)
        now = self.clock.time()
        with self.db.session() as s:
            row = _schedule(s, schedule)
            _check_users(s, [user])
            o = OverrideRow(schedule_id=row.id, user=user, start=a, end=b, reason=str(reason or "")[:2000],
                            created_by=actor, created_at=now)
            s.add(o)
            row.updated_at = now
            s.flush()
            record_change(s, "oncall_schedule", row.name, f"override:{o.id}", None, o.to_dict(), actor, at=now)
            return o.to_dict()

    def remove_override(self, schedule: str, override_id: int, actor: str) -> None:
        with self.db.session() as s:
            row = _schedule(s, schedule)
            o = s.get(OverrideRow, int(override_id)) if 0 < int(override_id) < 2**63 else None  # 64-bit ids
            if o is None or o.schedule_id != row.id:
                raise NotFoundError(f"schedule '{row.name}' has no override {override_id}")
            record_change(s, "oncall_schedule", row.name, f"override:{o.id}", o.to_dict(), None, actor,
                          at=self.clock.time())
            s.delete(o)

    def load(self, name: str) -> sch.Schedule:
        """The schedule as a pure `schedule.Schedule`. Raises NotFoundError."""
        with self.db.session() as s:
            return _load(s, _schedule(s, name))

    def who(self, name: str, at: float | None = None) -> dict:
        """Who is on call in `name` at `at` (default now): `{"schedule", "at", "user" (None in a gap),
        "source", "rotation", "until"}` (until: epoch seconds the cover ends, within 31 days)."""
        t = self.clock.time() if at is None else _epoch("at", at)
        sc = self.load(name)
        ahead = sch.final_shifts(sc, t, t + 31 * 86400)
        cur = ahead[0] if ahead and ahead[0].start <= t else None
        return {"schedule": sc.name, "time_zone": sc.time_zone, "at": t, "user": cur.user if cur else None,
                "source": cur.source if cur else None, "rotation": cur.rotation if cur else None,
                "until": cur.end if cur else (ahead[0].start if ahead else None)}

    def shifts(self, name: str, start: Any, end: Any) -> dict:
        """The final shifts and gaps of `name` over [start, end) (epoch seconds; at most 366 days)."""
        a, b = _range(start, end)
        sc = self.load(name)
        tz = sc.tz
        return {"schedule": sc.name, "time_zone": sc.time_zone, "start": a, "end": b,
                "shifts": [x.to_dict(tz) for x in sch.final_shifts(sc, a, b)],
                "gaps": [g.to_dict(tz) for g in sch.gaps(sc, a, b)]}

    # -- contact methods ---------------------------------------------------------------------
    def add_contact(self, user: str, kind: str, target: str, actor: str, style: str = "json") -> dict:
        """Add an email address or webhook URL (style json/slack/teams) to a user. Raises InputError."""
        user = clean_name("user", user)
        target = str(target or "").strip()
        if kind not in CONTACT_KINDS:
            raise InputError(f"contact kind {kind!r}: one of {', '.join(CONTACT_KINDS)}")
        if kind == "email" and not re.match(r"^[^@\s<>,;]+@[^@\s<>,;]+$", target):
            raise InputError(f"email {target!r}: give an address like name@example.com")
        if kind == "webhook" and not target.lower().startswith(("http://", "https://")):
            raise InputError(f"webhook {target!r}: give an http:// or https:// URL")
        if style not in WEBHOOK_STYLES:
            raise InputError(f"style {style!r}: one of {', '.join(WEBHOOK_STYLES)}")
        if len(target) > 500:
            raise InputError("contact target: 500 characters at most")
        now = self.clock.time()
        with self.db.session() as s:
            _check_users(s, [user])
            if s.scalars(select(ContactRow).where(ContactRow.user == user, ContactRow.kind == kind,
                                                  ContactRow.target == target)).first():
                raise ConflictError(f"user '{user}' already has the {kind} contact {target}")
            row = ContactRow(user=user, kind=kind, target=target, style=style if kind == "webhook" else "json",
                             created_at=now)
            s.add(row)
            s.flush()
            record_change(s, "user", user, "contact", None, {"kind": kind, "target": _shown(row)}, actor, at=now)
            return row.to_dict()

    def contacts(self, user: str | None = None) -> list[dict]:
        q = select(ContactRow).order_by(ContactRow.user, ContactRow.id)
        if user:
            q = q.where(ContactRow.user == user)
        with self.db.session() as s:
            return [r.to_dict() for r in s.scalars(q)]

    def remove_contact(self, contact_id: int, actor: str) -> None:
        with self.db.session() as s:
            row = s.get(ContactRow, int(contact_id)) if 0 < int(contact_id) < 2**63 else None
            if row is None:
                raise NotFoundError(f"no contact method {contact_id} ('speleo oncall contact list' shows them)")
            record_change(s, "user", row.user, "contact", {"kind": row.kind, "target": _shown(row)}, None, actor,
                          at=self.clock.time())
            s.delete(row)

    # -- escalation policies -----------------------------------------------------------------
    def create_policy(self, name: str, steps: list, actor: str, *, services: Iterable[str] = (),
                      default: bool = False, description: str = "", replace: bool = False) -> dict:
        """Create (or with `replace`, redefine) an escalation policy; see `models.STEP_KINDS`.

        Refused with InputError, naming the step, when a step is malformed, names an unknown user,
        schedule or policy, or when `escalate_to` makes the policy reach itself (a loop); with
        ConflictError when the name is taken (and not `replace`).
        """
        name = clean_name("policy", name)
        clean = clean_steps(steps)
        svc = sorted(clean_services(services))  # the incidents' own rule for service names
        now = self.clock.time()
        with self.db.session() as s:
            row = s.scalars(select(PolicyRow).where(PolicyRow.name == name)).first()
            if row is not None and not replace:
                raise ConflictError(f"escalation policy '{name}' already exists (replace it with --replace / PUT)")
            _check_references(s, name, clean)
            if default:
                for other in s.scalars(select(PolicyRow).where(PolicyRow.is_default == 1, PolicyRow.name != name)):
                    other.is_default = 0
                    record_change(s, "oncall_policy", other.name, "default", True, False, actor, at=now)
            if row is None:
                row = PolicyRow(name=name, created_by=actor, created_at=now, steps="[]", services="[]")
                s.add(row)
                old = None
            else:
                old = row.to_dict()
            row.steps, row.services, row.is_default = json.dumps(clean), json.dumps(svc), 1 if default else 0
            row.description, row.updated_at = str(description or "")[:2000], now
            s.flush()
            _expand(s, name, {})  # the unrolled chain must stay bounded
            record_change(s, "oncall_policy", name, "definition", old and {k: old[k] for k in ("steps", "services", "default")},
                          {"steps": clean, "services": svc, "default": bool(default)}, actor, at=now)
            return row.to_dict()

    def list_policies(self) -> list[dict]:
        with self.db.session() as s:
            return [p.to_dict() for p in s.scalars(select(PolicyRow).order_by(PolicyRow.name))]

    def get_policy(self, name: str) -> dict:
        with self.db.session() as s:
            p = _policy(s, name)
            d = p.to_dict()
            d["chain"] = [{"after_secs": off, "kind": k, "target": t} for off, k, t in _expand(s, p.name, {})]
            return d

    def delete_policy(self, name: str, actor: str) -> None:
        with self.db.session() as s:
            p = _policy(s, name)
            users = [o.name for o in s.scalars(select(PolicyRow)) if o.name != p.name
                     and any(st.get("policy") == p.name for st in json.loads(o.steps))]
            if users:
                raise ConflictError(f"policy '{p.name}' is used by policy {', '.join(users)} (escalate_to)")
            record_change(s, "oncall_policy", p.name, "deleted", p.to_dict()["steps"], None, actor, at=self.clock.time())
            s.delete(p)

    def chain(self, policy: str) -> list[tuple[float, str, str]]:
        """The unrolled notifications of `policy`: (seconds after the start, kind, target)."""
        with self.db.session() as s:
            return _expand(s, _policy(s, policy).name, {})

    def policy_for(self, services: Iterable[str]) -> str | None:
        """The policy an incident with `services` starts: the first (by name) naming one of them,
        else the default policy, else None."""
        want = set(services)
        with self.db.session() as s:
            pols = list(s.scalars(select(PolicyRow).order_by(PolicyRow.name)))
        for p in pols:
            if want & set(json.loads(p.services)):
                return p.name
        return next((p.name for p in pols if p.is_default), None)

    # -- helpers ------------------------------------------------------------------------------
    def _schedule_dict(self, s: Session, row: ScheduleRow) -> dict:
        return {"id": row.id, "name": row.name, "time_zone": row.time_zone, "description": row.description,
                "created_by": row.created_by, "created_at": row.created_at, "updated_at": row.updated_at,
                "rotations": [r.to_dict() for r in s.scalars(select(RotationRow).where(
                    RotationRow.schedule_id == row.id).order_by(RotationRow.layer.desc(), RotationRow.id))],
                "overrides": [o.to_dict() for o in s.scalars(select(OverrideRow).where(
                    OverrideRow.schedule_id == row.id).order_by(OverrideRow.start))]}


def _shown(row: ContactRow) -> str:
    """A contact's target for history rows: a webhook URL's path may hold a secret token."""
    if row.kind == "webhook":
        return row.target.split("//", 1)[-1].split("/", 1)[0] + "/…"
    return row.target


def _range(start: Any, end: Any) -> tuple[float, float]:
    a, b = _epoch("start", start), _epoch("end", end)
    if b <= a:
        raise InputError(f"end ({b}) is not after start ({a})")
    if b - a > MAX_RANGE:
        raise InputError("a range of at most 366 days")
    return a, b


def _schedule(s: Session, name: str) -> ScheduleRow:
    row = s.scalars(select(ScheduleRow).where(ScheduleRow.name == str(name))).first()
    if row is None:
        raise NotFoundError(f"no on-call schedule named '{name}' ('speleo oncall schedule list' shows them)")
    return row


def _policy(s: Session, name: str) -> PolicyRow:
    row = s.scalars(select(PolicyRow).where(PolicyRow.name == str(name))).first()
    if row is None:
        raise NotFoundError(f"no escalation policy named '{name}' ('speleo oncall policy list' shows them)")
    return row


def _load(s: Session, row: ScheduleRow) -> sch.Schedule:
    rots = [sch.Rotation(r.name, tuple(json.loads(r.users)), sch.parse_local(r.start_local), r.length, r.unit,
                         r.layer, sch.parse_local(r.end_local) if r.end_local else None, r.id)
            for r in s.scalars(select(RotationRow).where(RotationRow.schedule_id == row.id))]
    overs = [sch.Override(o.user, o.start, o.end, o.id, o.reason)
             for o in s.scalars(select(OverrideRow).where(OverrideRow.schedule_id == row.id))]
    return sch.Schedule(row.name, row.time_zone, rots, overs)


def load_all(s: Session) -> list[sch.Schedule]:
    return [_load(s, r) for r in s.scalars(select(ScheduleRow).order_by(ScheduleRow.name))]


def _check_users(s: Session, names: list[str]) -> None:
    known = set(s.scalars(select(UserRow.name).where(UserRow.name.in_(names))))
    missing = [n for n in names if n not in known]
    if missing:
        raise InputError(f"unknown user(s) {', '.join(missing)}: create them first ('speleo user add')")


def clean_steps(steps: Any) -> list[dict]:
    """Check the shape of a policy's steps; returns them normalised. Raises InputError naming the step."""
    if isinstance(steps, str):
        try:
            steps = json.loads(steps)
        except ValueError as e:
            raise InputError(f"steps: not JSON ({e}); e.g. [{{\"kind\": \"notify_user\", \"user\": \"alice\"}}]") from None
    if not isinstance(steps, list) or not steps:
        raise InputError("steps: a non-empty list of steps, e.g. [{\"kind\": \"notify_schedule\", \"schedule\": \"primary\"}, "
                         "{\"kind\": \"wait\", \"minutes\": 5}, {\"kind\": \"notify_user\", \"user\": \"boss\"}]")
    if len(steps) > MAX_STEPS:
        raise InputError(f"steps: {len(steps)} given, {MAX_STEPS} at most")
    out = []
    for i, st in enumerate(steps, 1):
        if not isinstance(st, dict) or st.get("kind") not in STEP_KINDS:
            raise InputError(f"step {i}: needs 'kind', one of {', '.join(STEP_KINDS)}")
        k = st["kind"]
        key = {NOTIFY_SCHEDULE: "schedule", NOTIFY_USER: "user", WAIT: "minutes", REPEAT: "times",
               ESCALATE_TO: "policy"}[k]
        extra = set(st) - {"kind", key}
        if extra:
            raise InputError(f"step {i} ({k}): unknown field(s) {', '.join(sorted(extra))}; it takes '{key}'")
        v = st.get(key)
        if k in (WAIT, REPEAT):
            lo, hi = (0, MAX_WAIT_MIN) if k == WAIT else (1, MAX_REPEAT)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not lo <= v <= hi or (k == REPEAT and v != int(v)):
                raise InputError(f"step {i} ({k}): '{key}' must be a number from {lo} to {hi}")
            if k == REPEAT and not any(x["kind"] in (NOTIFY_SCHEDULE, NOTIFY_USER) for x in out):
                raise InputError(f"step {i} (repeat): nothing to repeat; put notify steps before it")
            out.append({"kind": k, key: int(v) if k == REPEAT else float(v)})
        else:
            out.append({"kind": k, key: clean_name(key, v)})
    return out


def _check_references(s: Session, name: str, steps: list[dict]) -> None:
    for i, st in enumerate(steps, 1):
        if st["kind"] == NOTIFY_USER:
            try:
                _check_users(s, [st["user"]])
            except InputError as e:
                raise InputError(f"step {i} (notify_user): {e}") from None
        elif st["kind"] == NOTIFY_SCHEDULE:
            if not s.scalars(select(ScheduleRow.id).where(ScheduleRow.name == st["schedule"])).first():
                raise InputError(f"step {i} (notify_schedule): no schedule named '{st['schedule']}' "
                                 "('speleo oncall schedule list' shows them)")
        elif st["kind"] == ESCALATE_TO:
            target = st["policy"]
            if target == name:
                raise InputError(f"step {i} (escalate_to): policy '{name}' escalates to itself, a loop that would "
                                 "never end; use a 'repeat' step to go round again a bounded number of times")
            path = _path_to(s, target, name, [name, target])
            if path is None and not s.scalars(select(PolicyRow.id).where(PolicyRow.name == target)).first():
                raise InputError(f"step {i} (escalate_to): no escalation policy named '{target}'")
            if path is not None:
                raise InputError(f"step {i} (escalate_to): a loop: {' -> '.join(path)}; a policy must not reach "
                                 "itself through escalate_to (use a 'repeat' step instead)")


def _path_to(s: Session, start: str, goal: str, path: list[str], seen: set | None = None) -> list[str] | None:
    """The escalate_to path from policy `start` back to `goal`, or None."""
    seen = seen if seen is not None else set()
    if start in seen:
        return None
    seen.add(start)
    row = s.scalars(select(PolicyRow).where(PolicyRow.name == start)).first()
    if row is None:
        return None
    for st in json.loads(row.steps):
        if st["kind"] == ESCALATE_TO:
            nxt = st["policy"]
            if nxt == goal:
                return path + [goal]
            found = _path_to(s, nxt, goal, path + [nxt], seen)
            if found:
                return found
    return None


def _expand(s: Session, name: str, memo: dict, depth: int = 0) -> list[tuple[float, str, str]]:
    """Unroll `name`'s steps into (offset seconds, notify kind, target), repeats and escalate_to included.
    Raises InputError when the chain would hold more than MAX_CHAIN notifications or go 20 policies deep."""
    if depth > 20:
        raise InputError("escalate_to goes more than 20 policies deep")
    row = _policy(s, name)
    out: list[tuple[float, str, str]] = []
    offset = 0.0
    block: list = []  # the wait and notify steps so far: what a repeat runs again
    for st in json.loads(row.steps):
        k = st["kind"]
        if k == WAIT:
            offset += st["minutes"] * 60.0
            block.append(("wait", st["minutes"] * 60.0))
        elif k in (NOTIFY_SCHEDULE, NOTIFY_USER):
            tgt = st["schedule"] if k == NOTIFY_SCHEDULE else st["user"]
            out.append((offset, k, tgt))
            block.append(("notify", k, tgt))
        elif k == REPEAT:
            gap = 60.0 if not block or block[-1][0] != "wait" else 0.0  # a repeat without a wait still moves on
            for _ in range(st["times"]):
                offset += gap
                for b in block:
                    if b[0] == "wait":
                        offset += b[1]
                    else:
                        out.append((offset, b[1], b[2]))
        elif k == ESCALATE_TO:
            for off, kk, tt in _expand(s, st["policy"], memo, depth + 1):
                out.append((offset + off, kk, tt))
        if len(out) > MAX_CHAIN:
            raise InputError(f"policy '{name}' unrolls to more than {MAX_CHAIN} notifications; use fewer repeats")
    return out
