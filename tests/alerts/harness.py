"""A scheduler over a ManualClock and a scripted search function (no server)."""

from __future__ import annotations

import threading
from datetime import datetime
from zoneinfo import ZoneInfo

from speleo.alerts.actions import ServerContext
from speleo.alerts.runner import AlertRunner, SearchOutput
from speleo.alerts.scheduler import Scheduler, SchedulerSettings
from speleo.alerts.state import StateStore
from speleo.alerts.store import AlertStore
from speleo.clock import ManualClock
from speleo.config import Home
from speleo.ops.db import Database


def epoch(text: str, tz: str = "UTC") -> float:
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(tz)).timestamp()


class Harness:
    """`rows[name]` is a list of row lists (one per run) or a function (now) -> rows."""

    def __init__(self, root, start: float, tz: str = "UTC", slots: int = 4, lookback: float = 86400.0) -> None:
        self.home = Home(root)
        self.home.ensure()
        self.tz = ZoneInfo(tz)
        self.clock = ManualClock(start)
        self.db = Database.for_home(self.home)
        self.store = AlertStore(self.db, self.tz, None, self.clock)
        self.states = StateStore(self.db)
        self.calls: list[dict] = []
        self.rows: dict[str, object] = {}
        self.events: list[tuple[str, dict]] = []
        self.gate: threading.Event | None = None
        self.sent: list = []
        self.slots, self.lookback = slots, lookback
        self.server = ServerContext(self.home, self.tz, write_events=self._write)
        self.new_scheduler()

    def new_scheduler(self) -> Scheduler:
        """A fresh scheduler over the same database (a restart)."""
        self.runner = AlertRunner(self.search, self.states, self.clock, self.tz, self.server,
                                  lambda st, f: self.events.append((st, dict(f))))
        self.sched = Scheduler(self.store, self.states, self.runner, self.clock,
                               SchedulerSettings(max_concurrent_total=self.slots, continuous_lookback_secs=self.lookback))
        return self.sched

    def _write(self, index, sourcetype, source, host, events):
        self.sent.append((index, sourcetype, source, host, events))
        return len(events)

    def search(self, query: str, earliest, latest, now) -> SearchOutput:
        name = query.split("name=")[1].split()[0] if "name=" in query else query
        self.calls.append({"query": query, "earliest": earliest, "latest": latest, "now": now})
        if self.gate is not None and "block" in query:
            self.gate.wait(30)
        spec = self.rows.get(name, [])
        if callable(spec):
            rows = spec(now)
        else:
            n = sum(1 for c in self.calls if c["query"] == query) - 1
            rows = spec[n] if n < len(spec) else (spec[-1] if spec else [])
        if "| where" in query:  # alert_condition in the tests: `where n > K`
            k = float(query.rsplit(">", 1)[1])
            rows = [r for r in rows if float(r.get("n", 0)) > k]
        return SearchOutput(list(rows), len(rows), sorted({k for r in rows for k in r}))

    def save(self, name: str, **attrs):
        attrs.setdefault("search", f"index=main name={name}")
        return self.store.save(0, name, attrs).saved

    def at(self, when: float) -> None:
        """Move the clock to `when`, decide, let runs finish, decide again (queued runs)."""
        self.clock.set(when)
        for _ in range(200):
            before = self.sched.dispatched
            self.sched.tick()
            self.sched.wait_idle()
            if self.sched.dispatched == before:
                break

    def walk(self, start: float, end: float, step: float = 60.0) -> None:
        t = start
        while t <= end:
            self.at(t)
            t += step

    def runs(self, name: str):
        s = self.store.get(name)
        return list(reversed(self.states.runs(s.id, 10_000)))

    def scheduler_events(self, name: str) -> list[dict]:
        return [f for st, f in self.events if st == "scheduler" and f["savedsearch_name"] == name]
