"""Periodic work of the operations workflows on one server thread ("ops").

Escalation steps, action-item reminders, readiness checks and report schedules are rows with a
due time in the operations database; a *tick* looks for the due ones and processes them
idempotently, so a restart or kill -9 neither loses nor repeats them (the durability lives in
the rows, not in this thread). Register a tick from a route module's `install(app, runtime)`:

    runtime.ticks.add("escalation", escalations.tick, every_secs=1.0)

`fn(now)` receives the runtime clock's time (epoch seconds UTC). An exception is logged, kept in
`runtime.errors["tick:<name>"]` (shown by `speleo status`) and written to `_internal`
(sourcetype `speleo:ticks`); it never stops the thread or the other ticks. Ticks run one after
the other: a slow tick delays the others, so keep each one short (bounded batches). Servers that
share one operations database (PostgreSQL) run the ticks on one of them at a time: the holder of
the `ops-ticks` lease (speleo.ops.lease).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Callable

from speleo.clock import Clock

log = logging.getLogger("speleo.ticks")


@dataclass
class Tick:
    name: str
    fn: Callable[[float], None]
    every_secs: float
    next_at: float = 0.0
    runs: int = 0
    failures: int = 0


class Ticker:
    """Registered ticks and the thread that calls them (see the module doc)."""

    def __init__(self, clock: Clock, errors: dict[str, str] | None = None,
                 emit: Callable[[dict], None] | None = None) -> None:
        self.clock = clock
        self.errors = errors if errors is not None else {}
        self.emit = emit
        self._ticks: dict[str, Tick] = {}
        self._lock = threading.Lock()
        self.lease = None   # speleo.ops.lease.Lease: when set, ticks run only while this server holds it

    def add(self, name: str, fn: Callable[[float], None], every_secs: float) -> None:
        """Call `fn(now)` every `every_secs` seconds (≥ 0.05) from the ops thread; replaces NAME."""
        if every_secs < 0.05:
            raise ValueError(f"tick {name!r}: every_secs must be at least 0.05 s, not {every_secs}")
        with self._lock:
            self._ticks[name] = Tick(name, fn, float(every_secs))

    def names(self) -> list[str]:
        with self._lock:
            return sorted(self._ticks)

    def run_due(self) -> float:
        """Run every tick that is due now; return seconds until the next one is due (≤ 1 s)."""
        with self._lock:
            ticks = list(self._ticks.values())
        now = self.clock.time()
        if self.lease is not None and not self.lease.held(now):
            return 1.0                  # another server sharing the operations database runs them
        for t in ticks:
            if now < t.next_at:
                continue
            t.next_at = now + t.every_secs
            try:
                t.fn(now)
                t.runs += 1
                self.errors.pop(f"tick:{t.name}", None)
            except Exception as e:  # a failing tick is reported, never fatal
                t.failures += 1
                log.exception("tick %s failed", t.name)
                self.errors[f"tick:{t.name}"] = f"{type(e).__name__}: {e}"
                if self.emit is not None:
                    try:
                        self.emit({"tick": t.name, "error": f"{type(e).__name__}: {e}"[:500]})
                    except Exception:
                        log.exception("could not record the failure of tick %s", t.name)
        now = self.clock.time()
        with self._lock:
            due = [t.next_at for t in self._ticks.values()]
        return max(0.02, min([1.0] + [d - now for d in due]))

    def run(self, stop: threading.Event) -> None:
        """The thread's loop: until `stop` is set."""
        while not stop.is_set():
            self.clock.wait(stop, self.run_due())
