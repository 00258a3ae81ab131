"""`speleo alert test NAME --earliest -7d`: run a saved search's schedule over past data with a
pinned clock and say when it would have fired and what it would have sent, sending nothing.

Each cron tick in the range is run in order as the scheduled run at that time (the same
runner as the scheduler: relative dispatch times, rises/drops against the previous tick,
throttling, per-result caps) with a `MemoryStates` instead of the ops database (nothing the
real scheduler keeps is changed) and a `DryRunPool` that renders each action's message
instead of sending it (ElastAlert's dry-run idea).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from speleo.alerts.actions import ActionContext
from speleo.alerts.actions.email import build_message
from speleo.alerts.actions.execute import ActionPool
from speleo.alerts.actions.webhook import payload
from speleo.alerts.cron import schedule_of
from speleo.alerts.runner import AlertRunner, RunReport
from speleo.alerts.state import Fired, Run, State
from speleo.alerts.store import SavedSearch
from speleo.clock import ManualClock
from speleo.errors import InputError

MAX_TICKS = 10_000


def describe(name: str, ctx: ActionContext) -> dict:
    """What an action would send, rendered with its tokens."""
    p = ctx.params
    if name == "email":
        msg = build_message(ctx)
        return {"to": msg["To"], "subject": msg["Subject"], "rows": len(ctx.rows)}
    if name == "webhook":
        return {"url": ctx.render(p.get("param.url")), "payload": payload(ctx)}
    if name == "script":
        return {"filename": p.get("filename", ""), "result_count": ctx.job.get("resultCount")}
    if name == "logevent":
        return {"index": p.get("param.index") or "main", "event": ctx.render(p.get("param.event"))}
    if name == "lookup":
        return {"filename": p.get("filename", ""), "rows": len(ctx.rows)}
    if name == "summary_index":
        return {"index": p.get("_name") or "summary", "events": len(ctx.rows)}
    return {"rows": len(ctx.rows), "params": {k: ctx.render(v) for k, v in p.items() if "pass" not in k}}


class DryRunPool(ActionPool):
    """Renders what each action would send; sends nothing."""

    def __init__(self) -> None:
        pass

    def run(self, names: list[str], make_ctx) -> list[dict]:
        out = []
        for name in names:
            try:
                out.append({"action": name, "status": "not sent (backtest)", "would_send": describe(name, make_ctx(name))})
            except Exception as e:
                out.append({"action": name, "status": "failed", "reason": str(e)})
        return out

    def close(self) -> None:
        pass


@dataclass
class MemoryStates:
    """The scheduler state of one backtest, in memory (same methods the runner calls)."""

    states: dict[int, State] = field(default_factory=dict)
    throttle_until: dict[tuple[str, str], float] = field(default_factory=dict)
    runs_done: list[Run] = field(default_factory=list)
    fired_list: list[Fired] = field(default_factory=list)
    _ids = itertools.count(1)

    def state(self, saved_id: int) -> State:
        return self.states.setdefault(saved_id, State(saved_id))

    def finish_run(self, run: Run, state: dict | None = None) -> None:
        self.runs_done.append(run)
        for k, v in (state or {}).items():
            setattr(self.state(run.saved_id), k, v)

    def claim(self, scope: str, keys: list[str], saved_id: int, now: float, expires: float) -> list[str]:
        taken = [k for k in keys if self.throttle_until.get((scope, k), 0) <= now]
        for k in taken:
            self.throttle_until[(scope, k)] = expires
        return taken

    def add_fired(self, saved_id, name, owner_id, sid, trigger_time, expires, severity, digest_mode, actions, count,
                  result, alert_type="historical") -> int:
        n = next(self._ids)
        self.fired_list.append(Fired(n, saved_id, name, owner_id, sid, trigger_time, expires, severity, alert_type,
                                     digest_mode, actions, count, result))
        return n


def backtest(saved: SavedSearch, search, server, tz, start: float, end: float) -> list[RunReport]:
    """Run every tick of `saved`'s cron schedule in (start, end]; returns one report per run.

    Raises InputError when the search has no cron schedule or the range holds too many ticks."""
    if not saved.spec["cron_schedule"]:
        raise InputError(f"saved search '{saved.name}' has no cron_schedule to test; give it one")
    ticks = schedule_of(saved, tz, start).ticks(start, end, MAX_TICKS + 1)
    if len(ticks) > MAX_TICKS:
        raise InputError(f"saved search '{saved.name}': {MAX_TICKS:,}+ scheduled runs in that range; "
                         "test a shorter range (--earliest)")
    clock = ManualClock(start)
    runner = AlertRunner(search, MemoryStates(), clock, tz, server, pool=DryRunPool())
    reports = []
    for t in ticks:
        clock.set(t)
        reports.append(runner.run(saved, t, trigger_actions=True))
    return reports
