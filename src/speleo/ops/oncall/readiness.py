"""Readiness: is on-call able to reach someone? Gaps ahead, people without a contact method,
policies that reach no one. Reported daily by a tick (an `_internal` event, sourcetype
`speleo:oncall`), and on demand (`speleo oncall readiness`, `GET /api/v1/oncall/readiness`).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Callable

from sqlalchemy import select

from speleo.ops.db import Database
from speleo.ops.oncall import schedule as sch
from speleo.ops.oncall.models import NOTIFY_SCHEDULE, ContactRow, OncallStateRow, PolicyRow
from speleo.ops.oncall.service import _expand, load_all

DEFAULT_DAYS = 14
STATE_KEY = "readiness_reported_day"


def check(db: Database, now: float, days: int = DEFAULT_DAYS) -> dict:
    """The readiness report over [now, now + days): `{"ok", "at", "days", "gaps": [{"schedule",
    "start", "end", "hours", ...}], "users_without_contact": [names], "unreachable_policies":
    [{"policy", "why"}], "problems": N}`. Users counted are those on call in a rotation or
    override, or named by a policy."""
    end = now + days * 86400.0
    with db.session() as s:
        scheds = load_all(s)
        contacts = set(s.scalars(select(ContactRow.user)))
        pols = list(s.scalars(select(PolicyRow).order_by(PolicyRow.name)))
        chains = {p.name: _expand(s, p.name, {}) for p in pols}
    by_name = {sc.name: sc for sc in scheds}
    gaps = [{"schedule": sc.name, **g.to_dict(sc.tz)} for sc in scheds for g in sch.gaps(sc, now, end)]
    people: set[str] = set()
    for sc in scheds:
        people.update(u for r in sc.rotations for u in r.users)
        people.update(o.user for o in sc.overrides if o.end > now)
    for chain in chains.values():
        people.update(t for _, k, t in chain if k != NOTIFY_SCHEDULE)
    unreachable = []
    for name, chain in chains.items():
        reach = set()
        for _, kind, target in chain:
            if kind == NOTIFY_SCHEDULE and target in by_name:
                sc = by_name[target]
                reach.update(sh.user for sh in sch.final_shifts(sc, now, end) if sh.user in contacts)
            elif target in contacts:
                reach.add(target)
        if not reach:
            unreachable.append({"policy": name, "why": "no person it notifies (directly or on call in its schedules "
                                                        f"over the next {days} days) has a contact method"})
    missing = sorted(people - contacts)
    n = len(gaps) + len(missing) + len(unreachable)
    return {"ok": n == 0, "at": now, "days": days, "gaps": gaps, "users_without_contact": missing,
            "unreachable_policies": unreachable, "problems": n}


def daily(db: Database, now: float, emit: Callable[[dict], None], days: int = DEFAULT_DAYS) -> bool:
    """Run `check` once per UTC day and `emit` a summary; the day is kept in the database, so a
    restart does not report twice or skip a day. Returns True when it reported."""
    today = dt.datetime.fromtimestamp(now, dt.timezone.utc).date().isoformat()
    with db.session() as s:
        row = s.get(OncallStateRow, STATE_KEY)
        if row is not None and row.value == today:
            return False
    report = check(db, now, days)
    emit({"action": "readiness", "ok": report["ok"], "problems": report["problems"], "gaps": len(report["gaps"]),
          "gap_hours": round(sum(g["hours"] for g in report["gaps"]), 3),
          "users_without_contact": ",".join(report["users_without_contact"]),
          "unreachable_policies": ",".join(p["policy"] for p in report["unreachable_policies"]),
          "details": json.dumps(report, default=str)[:8000]})
    with db.session() as s:
        row = s.get(OncallStateRow, STATE_KEY)
        if row is None:
            s.add(OncallStateRow(key=STATE_KEY, value=today))
        else:
            row.value = today
    return True
