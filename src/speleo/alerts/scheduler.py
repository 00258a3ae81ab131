"""The scheduler of `speleo serve`: runs saved searches on their cron schedules.

Rules (Splunk savedsearches.conf.spec and limits.conf [scheduler]; spec §1.2):
- Each scheduled search has a next tick S to decide, kept in the ops DB (`alert_state`).
  When S is dispatched, the run is recorded `running` and the next tick stored in the same
  transaction; a run found `running` at start-up was cut short by a crash and is recorded
  `failed` (continuous searches run it again).
- `realtime_schedule = 1` (default): a tick that cannot start before the next tick (or, with
  `schedule_window`, before the end of its window) is skipped, with the reason; ticks missed
  while the server was down are skipped (no catch-up) unless still inside their window.
- `realtime_schedule = 0` (continuous): every tick runs, late and in order, each with its own
  S; after a restart only ticks within `max_continuous_scheduled_search_lookback` (24 h) run,
  older ones are recorded skipped ("lookback exceeded").
- `max_concurrent` instances per search (a real-time-scheduled tick finding them busy is
  skipped unless its window allows waiting), and `max_concurrent_total` runs overall
  (Splunk: 50% of the search slots; here floor(0.5 × (CPUs + 6)), at least 1).
- Ties are served in Splunk's priority tiers: RT highest > continuous highest > RT higher >
  RT default > continuous higher > continuous default, then by scheduled time.
- `allow_skew`: each search's ticks move by a stable offset up to N% of its period (or a
  duration), so that searches sharing a cron schedule do not all start at the same second.
- `run_on_startup`: once as soon as the server starts, and after an edit of the search or
  its dispatch times; `run_n_times`: at most N runs until the next restart.
Searches run on worker threads through `Service.search` (readers only: ingestion never waits
for them). Every decision ends in a run record and an `_internal` scheduler event.
"""

from __future__ import annotations

import logging
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from speleo.alerts.cron import Schedule, schedule_of
from speleo.alerts.runner import AlertRunner, make_sid
from speleo.alerts.state import Run, StateStore
from speleo.alerts.store import AlertStore, SavedSearch

log = logging.getLogger("speleo.scheduler")
MAX_SKIPS_RECORDED = 100
CLOCK_BACK_TOLERANCE_SECS = 60.0   # a last tick later than now by more than this: the clock was set back


def default_max_concurrent_total() -> int:
    return max(1, int(0.5 * ((os.cpu_count() or 1) + 6)))


@dataclass
class SchedulerSettings:
    max_concurrent_total: int = 0  # 0: default_max_concurrent_total()
    continuous_lookback_secs: float = 86400.0  # limits.conf max_continuous_scheduled_search_lookback
    expire_period_secs: float = 120.0  # limits.conf alerts_expire_period
    tick_secs: float = 1.0


def tier(spec) -> int:
    """Splunk's priority tier (lower runs first)."""
    rt, prio = bool(spec["realtime_schedule"]), spec["schedule_priority"]
    order = {(True, "highest"): 0, (False, "highest"): 1, (True, "higher"): 2, (True, "default"): 3,
             (False, "higher"): 4, (False, "default"): 5}
    return order[(rt, prio)]


class Scheduler:
    """Decides and dispatches runs; `tick()` is one decision pass (the thread calls it)."""

    def __init__(self, store: AlertStore, states: StateStore, runner: AlertRunner, clock,
                 settings: SchedulerSettings | None = None) -> None:
        self.store, self.states, self.runner, self.clock = store, states, runner, clock
        self.settings = settings or SchedulerSettings()
        self.slots = self.settings.max_concurrent_total or default_max_concurrent_total()
        self.pool = ThreadPoolExecutor(max_workers=self.slots, thread_name_prefix="speleo-search")
        self.running: dict[int, int] = {}
        self.total_running = 0
        self.lock = threading.Lock()
        self.idle = threading.Condition(self.lock)
        self.runs_since_start: dict[int, int] = {}
        self.dispatched = 0
        self.startup_due: set[int] = set()
        self.started_at: float | None = None
        self.stop_event = threading.Event()
        self.lease = None   # speleo.ops.lease.Lease: when set, searches run only while this server holds it
        self.wake = threading.Event()  # set by a finished run or stop(): decide again now
        self.thread: threading.Thread | None = None
        self._last_expire = 0.0
        self.last_error: str | None = None

    # -- lifecycle ----------------------------------------------------------------------
    def recover(self) -> None:
        """Start-up: runs cut short by a crash, run_on_startup searches."""
        self.started_at = self.clock.time()
        by_id = {s.id: s for s in self.store.list()}
        for run in self.states.interrupted_runs():
            run.status, run.reason = "failed", "the server stopped during the run (restart, crash or kill -9)"
            saved = by_id.get(run.saved_id)
            rerun = saved is not None and saved.spec.scheduled and not saved.spec["realtime_schedule"]
            state = None
            if rerun:  # continuous: the interrupted tick runs again (within the lookback)
                st = self.states.state(run.saved_id)
                state = {"next_scheduled": min(run.scheduled_time, st.next_scheduled or run.scheduled_time)}
                run.reason += "; it runs again (realtime_schedule = 0)"
            self.states.finish_run(run, state)
        self.startup_due = {s.id for s in by_id.values() if s.spec.scheduled and s.spec["run_on_startup"]}

    def start(self) -> None:
        if self.lease is None or self.lease.held(self.clock.time()):
            self.recover()
        self.thread = threading.Thread(target=self._loop, name="speleo-scheduler", daemon=True)
        self.thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self.stop_event.set()
        self.wake.set()
        if self.thread:
            self.thread.join(timeout)
        self.pool.shutdown(wait=False, cancel_futures=True)

    def _loop(self) -> None:
        while not self.stop_event.is_set():
            try:
                wait = self.tick()
                self.last_error = None
            except Exception as e:  # keep scheduling; the error is visible in status
                log.exception("scheduler tick failed")
                self.last_error = f"{type(e).__name__}: {e}"
                wait = self.settings.tick_secs
            self.clock.wait(self.wake, wait)
            self.wake.clear()

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Block until no run is in flight (tests and backtests)."""
        with self.idle:
            return self.idle.wait_for(lambda: self.total_running == 0, timeout)

    def status(self) -> dict:
        with self.lock:
            return {"running": self.total_running, "max_concurrent_total": self.slots, "error": self.last_error}

    # -- one pass -----------------------------------------------------------------------
    def tick(self) -> float:
        """Decide every due tick; returns seconds until the next decision is needed."""
        now = self.clock.time()
        if self.lease is not None:      # servers sharing one operations database: one schedules
            before = self.lease.takeovers
            if not self.lease.held(now):
                return min(self.settings.tick_secs, self.lease.ttl / 3)
            if self.lease.takeovers > before and self.started_at is not None and self.total_running == 0:
                self.recover()          # taken over from another server: the runs it cut short
        if self.started_at is None:
            self.recover()
        if now - self._last_expire >= self.settings.expire_period_secs:
            self.states.expire_fired(now)
            self._last_expire = now
        states = self.states.states()
        ready: list[tuple[int, float, SavedSearch, float, float | None]] = []
        soonest = now + self.settings.tick_secs
        for saved in self.store.list():
            spec = saved.spec
            if not spec.scheduled or self._exhausted(saved):
                continue
            sched = schedule_of(saved, self.runner.tz, now)
            st = states.get(saved.id)
            if saved.id in self.startup_due or (st is not None and st.startup_pending):
                ready.append((tier(spec), now, saved, now, None))
            if st is not None and st.next_scheduled is not None and self._clock_went_back(st, now):
                st = None   # the stored next tick is a clock jump away: take the schedule's next one
            if st is None or st.next_scheduled is None:
                nxt = sched.next_after(now)
                self.states.update_state(saved.id, next_scheduled=nxt)
                soonest = min(soonest, nxt)
                continue
            ready.extend(self._due(saved, sched, st.next_scheduled, now))
            if st.next_scheduled > now:
                soonest = min(soonest, st.next_scheduled)
        ready.sort(key=lambda r: (r[0], r[1]))
        self._dispatch([(saved, s_time, nxt) for _, s_time, saved, _, nxt in ready], now)
        return max(0.1, soonest - now)

    @staticmethod
    def _clock_went_back(st, now: float) -> bool:
        """The wall clock was set back (NTP step, a VM restored, an operator): the last tick that
        ran lies in the future. Its stored next tick would then silence the search until the
        clock catches up (a week back: a week without alerts); the schedule restarts from now
        instead (a tick between now and the old last one may run a second time)."""
        return st.last_scheduled is not None and st.last_scheduled > now + CLOCK_BACK_TOLERANCE_SECS \
            and st.next_scheduled > now

    def _exhausted(self, saved: SavedSearch) -> bool:
        n = int(saved.spec["run_n_times"] or 0)
        return n > 0 and self.runs_since_start.get(saved.id, 0) >= n

    def _due(self, saved: SavedSearch, sched: Schedule, first: float, now: float) -> list:
        """Ticks from `first` up to now: skip what must be skipped, return what may start."""
        if first > now:
            return []
        spec = saved.spec
        ticks = [first] + sched.ticks(first, now, limit=MAX_SKIPS_RECORDED * 10)
        if spec["realtime_schedule"]:
            return self._due_realtime(saved, sched, ticks, now)
        return self._due_continuous(saved, sched, ticks, now)

    def _busy(self, saved: SavedSearch) -> str | None:
        with self.lock:
            if self.running.get(saved.id, 0) >= int(saved.spec["max_concurrent"]):
                return f"max_concurrent ({saved.spec['max_concurrent']}) instances of this search were running"
            if self.total_running >= self.slots:
                return f"the scheduler's concurrency limit (max_concurrent_total = {self.slots}) was reached"
        return None

    def _down_reason(self, s_time: float) -> str | None:
        if self.started_at is not None and s_time < self.started_at:
            return "the server was not running at the scheduled time (realtime_schedule = 1: no catch-up)"
        return None

    def _due_realtime(self, saved, sched, ticks: list[float], now: float) -> list:
        spec = saved.spec
        *late, last = ticks
        self._skip_many(saved, late, lambda s: self._down_reason(s) or self._busy(saved) or
                        "the run could not start before the next scheduled time", sched.next_after(late[-1])
                        if late else None)
        window = spec.window_secs(sched.period(last))
        busy = self._busy(saved)
        down = self._down_reason(last)
        nxt = sched.next_after(last)
        if down and now > last + window:
            self.runner.skipped(saved, last, down, next_scheduled=nxt)
            return []
        if busy:
            per_search = busy.startswith("max_concurrent")
            if per_search and (window == 0 or now > last + window):
                self.runner.skipped(saved, last, busy, next_scheduled=nxt)
            return []  # wait (within the window, or for a free slot until the next tick)
        return [(tier(spec), last, saved, now, nxt)]

    def _due_continuous(self, saved, sched, ticks: list[float], now: float) -> list:
        lookback = self.settings.continuous_lookback_secs
        old = [s for s in ticks if now - s > lookback]
        if old:
            rest = [s for s in ticks if now - s <= lookback]
            nxt = rest[0] if rest else sched.next_after(old[-1])
            self._skip_many(saved, old, lambda s: f"lookback exceeded: the tick is older than "
                                                   f"max_continuous_scheduled_search_lookback ({lookback:g} s)", nxt)
            ticks = rest
        if not ticks or self._busy(saved):
            return []
        return [(tier(saved.spec), ticks[0], saved, now, sched.next_after(ticks[0]))]

    def _skip_many(self, saved, ticks: list[float], reason_of, next_scheduled: float | None) -> None:
        """Record skipped ticks (at most MAX_SKIPS_RECORDED, the rest in one summary record),
        all of one search in one transaction (a clock jumping a week ahead over many
        searches made one commit per record, blocking the scheduler for minutes)."""
        if not ticks:
            return
        if len(ticks) > MAX_SKIPS_RECORDED:
            rest = ticks[MAX_SKIPS_RECORDED - 1:]
            items = [(s, reason_of(s)) for s in ticks[: MAX_SKIPS_RECORDED - 1]]
            items.append((rest[0], f"{len(rest)} scheduled runs from {int(rest[0])} to {int(rest[-1])} "
                                   f"skipped: {reason_of(rest[0])}"))
        else:
            items = [(s, reason_of(s)) for s in ticks]
        self.runner.skipped_many(saved, items, next_scheduled)

    # -- dispatch -----------------------------------------------------------------------
    def _dispatch(self, ready: list[tuple[SavedSearch, float, float | None]], now: float) -> None:
        """Start what fits in the free slots: reserve the slots, record every started run (and
        each search's next tick) in ONE transaction, then hand the runs to the pool."""
        chosen: list[tuple[SavedSearch, float, Run, float | None]] = []
        for saved, s_time, nxt in ready:
            if self._busy(saved):
                continue
            with self.lock:
                self.running[saved.id] = self.running.get(saved.id, 0) + 1
                self.total_running += 1
            chosen.append((saved, s_time, Run(saved.id, saved.name, make_sid(saved, s_time), s_time, now), nxt))
        if not chosen:
            return
        for saved, _, _, nxt in chosen:
            if nxt is None:  # a run_on_startup run
                self.startup_due.discard(saved.id)
        self.states.start_runs([(run, nxt, nxt is None) for _, _, run, nxt in chosen])
        for saved, s_time, run, _ in chosen:
            self.runs_since_start[saved.id] = self.runs_since_start.get(saved.id, 0) + 1
            self.dispatched += 1
            self.pool.submit(self._run, saved, s_time, run)

    def _run(self, saved: SavedSearch, s_time: float, run: Run) -> None:
        try:
            self.runner.run(saved, s_time, run_id=run.id, sid=run.sid)
        except Exception:
            log.exception("run of %s failed", saved.name)
        finally:
            with self.idle:
                self.running[saved.id] -= 1
                self.total_running -= 1
                self.idle.notify_all()
            self.wake.set()
