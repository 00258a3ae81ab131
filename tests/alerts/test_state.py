"""Scheduler state: group commit of finished runs."""

from __future__ import annotations

import threading

from speleo.alerts.state import Run, StateStore
from speleo.config import Home
from speleo.ops.db import Database


def test_runs_finishing_together_are_all_committed_with_their_state(tmp_path):
    states = StateStore(Database.for_home(Home(tmp_path / "h")))
    runs = [Run(i % 5 + 1, f"s{i % 5}", f"sid-{i}", 100.0 + i, 100.0 + i, 0.1, "success", result_count=i)
            for i in range(40)]
    barrier = threading.Barrier(len(runs))

    def finish(run: Run) -> None:
        barrier.wait()
        states.finish_run(run, {"prev_value": float(run.result_count), "last_status": "success"})

    threads = [threading.Thread(target=finish, args=(r,)) for r in runs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(r.id is not None for r in runs)
    stored = {r.sid: r.result_count for sid in range(1, 6) for r in states.runs(sid, 100)}
    assert stored == {f"sid-{i}": i for i in range(40)}
    for sid in range(1, 6):
        assert states.state(sid).last_status == "success" and states.state(sid).prev_value is not None
