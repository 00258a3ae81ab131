"""Scheduler state in the operations database: per-search state, runs, throttle keys, fired
alerts. Everything the scheduler must remember across a restart or kill -9 is written here
in one transaction before the scheduler acts on it.

Fired alerts (Splunk "Triggered Alerts", REST `alerts/fired_alerts`): kept until their
`alert.expires`, at most `max_fired` (Splunk limits.conf `alerts_max_count`, 50,000; the
oldest go first); expired ones are removed by `expire_fired` (the scheduler calls it every
`alerts_expire_period`, 120 s).
"""

from __future__ import annotations

import json
import threading
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import delete, func, select, update

from speleo.alerts.models import FiredRow, RunRow, StateRow, ThrottleRow
from speleo.ops.db import Database

MAX_RUNS_PER_SEARCH = 1000


@dataclass
class State:
    saved_id: int
    next_scheduled: float | None = None
    last_scheduled: float | None = None
    last_status: str | None = None
    prev_value: float | None = None
    prev_scheduled: float | None = None
    suppressed_until: float | None = None
    startup_pending: int = 0


def _state(r: StateRow) -> State:
    return State(r.saved_id, r.next_scheduled, r.last_scheduled, r.last_status, r.prev_value, r.prev_scheduled,
                 r.suppressed_until, r.startup_pending)


@dataclass
class Run:
    """One run of a saved search (scheduler.log fields)."""

    saved_id: int
    savedsearch_name: str
    sid: str
    scheduled_time: float
    dispatch_time: float | None = None
    run_time: float | None = None
    status: str = "running"
    reason: str | None = None
    result_count: int | None = None
    measured: float | None = None
    triggered: int = 0
    suppressed: int = 0
    alert_actions: str | None = None
    id: int | None = None

    def to_dict(self) -> dict:
        return asdict(self)


def _run(r: RunRow) -> Run:
    return Run(r.saved_id, r.savedsearch_name, r.sid, r.scheduled_time, r.dispatch_time, r.run_time, r.status,
               r.reason, r.result_count, r.measured, r.triggered, r.suppressed, r.alert_actions, r.id)


@dataclass
class Fired:
    id: int
    saved_id: int
    savedsearch_name: str
    owner_id: int
    sid: str
    trigger_time: float
    expiration_time: float
    severity: int
    alert_type: str
    digest_mode: bool
    actions: list[str]
    triggered_alerts: int
    result: Any

    def to_dict(self) -> dict:
        return asdict(self)


def _fired(r: FiredRow) -> Fired:
    return Fired(r.id, r.saved_id, r.savedsearch_name, r.owner_id, r.sid, r.trigger_time, r.expiration_time,
                 r.severity, r.alert_type, bool(r.digest_mode), [a for a in (r.actions or "").split(",") if a],
                 r.triggered_alerts, json.loads(r.result) if r.result else None)


@dataclass
class _Pending:
    run: Run
    state: dict | None
    done: threading.Event = field(default_factory=threading.Event)
    error: Exception | None = None


class StateStore:
    """Scheduler state of every saved search (thread-safe: one transaction per call)."""

    def __init__(self, db: Database, max_fired: int = 50_000) -> None:
        self.db = db
        self._claim_lock = threading.Lock()
        self._queue_lock = threading.Lock()
        self._queue: list[_Pending] = []
        self._flushing = False
        self.max_fired = max_fired

    # -- per-search state ---------------------------------------------------------------
    def states(self) -> dict[int, State]:
        with self.db.session() as s:
            return {r.saved_id: _state(r) for r in s.scalars(select(StateRow))}

    def state(self, saved_id: int) -> State:
        with self.db.session() as s:
            r = s.get(StateRow, saved_id)
            return _state(r) if r is not None else State(saved_id)

    def update_state(self, saved_id: int, **values) -> None:
        """Set some fields of the search's state (created when missing)."""
        with self.db.session() as s:
            self._set(s, saved_id, **values)

    # -- runs -----------------------------------------------------------------------------
    def start_run(self, run: Run, next_scheduled: float | None = None) -> int:
        """Record a dispatched run (status running) and, in the same transaction, the next tick
        to decide: after a crash the run is found running and handled by the restart rules."""
        self.start_runs([(run, next_scheduled, False)])
        return run.id

    def start_runs(self, runs: list[tuple[Run, float | None, bool]]) -> None:
        """`start_run` for several runs in one transaction (sets each `run.id`); the flag
        clears the search's `startup_pending`."""
        with self.db.session() as s:
            rows = []
            for run, nxt, startup in runs:
                row = RunRow(**{k: v for k, v in run.to_dict().items() if k != "id"})
                s.add(row)
                rows.append((run, row))
                if nxt is not None:
                    self._set(s, run.saved_id, next_scheduled=nxt)
                if startup:
                    self._set(s, run.saved_id, startup_pending=0)
            s.flush()
            for run, row in rows:
                run.id = row.id

    def finish_run(self, run: Run, state: dict | None = None) -> None:
        """Store the run's outcome and, atomically with it, the state it changes. Returns when
        it is committed. Runs finishing together share one commit (group commit: the first
        caller writes every waiting record in one transaction, the others wait for it)."""
        item = _Pending(run, state)
        with self._queue_lock:
            self._queue.append(item)
            leader = not self._flushing
            self._flushing = self._flushing or leader
        if leader:
            self._flush()
        item.done.wait()
        if item.error is not None:
            raise item.error

    def _flush(self) -> None:
        while True:
            with self._queue_lock:
                batch, self._queue = self._queue, []
                if not batch:
                    self._flushing = False
                    return
            try:
                with self.db.session() as s:
                    for item in batch:
                        self._write_run(s, item.run, item.state)
            except Exception as e:  # every waiting caller sees the failure
                for item in batch:
                    item.error = e
            for item in batch:
                item.done.set()

    def _write_run(self, s, run: Run, state: dict | None) -> None:
        values = {k: v for k, v in run.to_dict().items() if k != "id"}
        if run.id is None:
            row = RunRow(**values)
            s.add(row)
            s.flush()
            run.id = row.id
        else:
            s.execute(update(RunRow).where(RunRow.id == run.id).values(**values))
        if state:
            self._set(s, run.saved_id, **state)
        self._trim_runs(s, run.saved_id)

    def _set(self, s, saved_id: int, **values) -> None:
        r = s.get(StateRow, saved_id)
        if r is None:
            r = StateRow(saved_id=saved_id, startup_pending=0)
            s.add(r)
        for k, v in values.items():
            setattr(r, k, v)

    def _trim_runs(self, s, saved_id: int) -> None:
        n = s.scalar(select(func.count()).select_from(RunRow).where(RunRow.saved_id == saved_id))
        if n and n > MAX_RUNS_PER_SEARCH:
            cut = s.scalar(select(RunRow.id).where(RunRow.saved_id == saved_id).order_by(RunRow.id.desc())
                           .offset(MAX_RUNS_PER_SEARCH).limit(1))
            s.execute(delete(RunRow).where(RunRow.saved_id == saved_id, RunRow.id <= cut))

    def interrupted_runs(self) -> list[Run]:
        """Runs left `running` by a process that died (kill -9, power loss)."""
        with self.db.session() as s:
            return [_run(r) for r in s.scalars(select(RunRow).where(RunRow.status == "running"))]

    def runs(self, saved_id: int, limit: int = 100) -> list[Run]:
        """The most recent runs first."""
        with self.db.session() as s:
            q = select(RunRow).where(RunRow.saved_id == saved_id).order_by(RunRow.id.desc()).limit(limit)
            return [_run(r) for r in s.scalars(q)]

    # -- throttle -------------------------------------------------------------------------
    def throttled(self, scope: str, keys: list[str], now: float) -> set[str]:
        """Which of `keys` are suppressed in `scope` at `now`."""
        if not keys:
            return set()
        with self.db.session() as s:
            q = select(ThrottleRow.key).where(ThrottleRow.scope == scope, ThrottleRow.key.in_(keys),
                                              ThrottleRow.expires > now)
            return set(s.scalars(q))

    def claim(self, scope: str, keys: list[str], saved_id: int, now: float, expires: float) -> list[str]:
        """Atomically take the keys not suppressed at `now` and suppress them until `expires`;
        returns the keys taken (two searches of one group cannot both take a key)."""
        taken = []
        with self._claim_lock, self.db.session() as s:
            for k in keys:
                row = s.scalars(select(ThrottleRow).where(ThrottleRow.scope == scope, ThrottleRow.key == k)).first()
                if row is not None and row.expires > now:
                    continue
                if row is None:
                    s.add(ThrottleRow(scope=scope, key=k, saved_id=saved_id, expires=expires))
                else:
                    row.expires, row.saved_id = expires, saved_id
                taken.append(k)
        return taken

    def throttle_keys(self, saved_id: int, now: float) -> list[dict]:
        with self.db.session() as s:
            q = select(ThrottleRow).where(ThrottleRow.saved_id == saved_id, ThrottleRow.expires > now)
            return [{"scope": r.scope, "key": r.key, "expires": r.expires} for r in s.scalars(q)]

    def clear_throttle(self, saved_id: int) -> None:
        with self.db.session() as s:
            s.execute(delete(ThrottleRow).where(ThrottleRow.saved_id == saved_id))
            self._set(s, saved_id, suppressed_until=None)

    # -- fired alerts ---------------------------------------------------------------------
    def add_fired(self, saved_id: int, name: str, owner_id: int, sid: str, trigger_time: float, expires: float,
                  severity: int, digest_mode: bool, actions: list[str], count: int, result: Any,
                  alert_type: str = "historical") -> int:
        with self.db.session() as s:
            row = FiredRow(saved_id=saved_id, savedsearch_name=name, owner_id=owner_id, sid=sid,
                           trigger_time=trigger_time, expiration_time=expires, severity=severity,
                           alert_type=alert_type, digest_mode=int(digest_mode), actions=",".join(actions),
                           triggered_alerts=count, result=json.dumps(result, default=str)[:65536])
            s.add(row)
            s.flush()
            over = s.scalar(select(func.count()).select_from(FiredRow)) - self.max_fired
            if over > 0:
                oldest = select(FiredRow.id).order_by(FiredRow.trigger_time, FiredRow.id).limit(over)
                s.execute(delete(FiredRow).where(FiredRow.id.in_(list(s.scalars(oldest)))))
            return row.id

    def fired(self, now: float, name: str | None = None) -> list[Fired]:
        """Unexpired fired alerts, newest first (of one saved search when `name` is given)."""
        with self.db.session() as s:
            q = select(FiredRow).where(FiredRow.expiration_time > now)
            if name is not None:
                q = q.where(FiredRow.savedsearch_name == name)
            return [_fired(r) for r in s.scalars(q.order_by(FiredRow.trigger_time.desc(), FiredRow.id.desc()))]

    def delete_fired(self, name: str, sid: str | None = None) -> int:
        """Remove the fired alerts of a saved search (one sid when given); returns how many."""
        with self.db.session() as s:
            q = delete(FiredRow).where(FiredRow.savedsearch_name == name)
            if sid is not None:
                q = q.where(FiredRow.sid == sid)
            return s.execute(q).rowcount or 0

    def expire_fired(self, now: float) -> int:
        with self.db.session() as s:
            return s.execute(delete(FiredRow).where(FiredRow.expiration_time <= now)).rowcount or 0
