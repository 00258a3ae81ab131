"""The scheduler inside a real `speleo serve`: runs recorded in `_internal`, state that
survives kill -9 (the previous run's value is still there after a restart)."""

from __future__ import annotations

import pytest

from speleo.alerts.state import StateStore
from speleo.alerts.store import for_home
from speleo.config import Home
from tests.conftest import run_cli, wait_for

pytestmark = pytest.mark.e2e

CONF = """[errors]
search = index=main ERROR
enableSched = 1
cron_schedule = 0 0 1 1 *
run_on_startup = 1
counttype = number of events
relation = rises by
quantity = 1
"""


def _runs(home):
    store = for_home(Home(home))
    s = store.get("errors")
    return list(reversed(StateStore(store.db).runs(s.id)))


def test_scheduler_records_in_internal_and_survives_kill9(tmp_path, server_factory):
    home = tmp_path / "home"
    logs = tmp_path / "app.log"
    lines = [f"2026-11-01 10:00:{i:02d} {'ERROR' if i % 3 == 0 else 'INFO'} worker {i}" for i in range(30)]
    logs.write_text("\n".join(lines) + "\n")
    errors = sum(1 for x in lines if "ERROR" in x)
    run_cli(home, "add", "oneshot", str(logs), "--index", "main")
    conf = tmp_path / "savedsearches.conf"
    conf.write_text(CONF)
    run_cli(home, "saved", "import", str(conf))
    server = server_factory(home).start()
    wait_for(lambda: [r for r in _runs(home) if r.status == "success"])
    first = [r for r in _runs(home) if r.status == "success"][0]
    assert first.result_count == errors and first.measured == errors and first.triggered == 0
    assert "no previous run" in first.reason

    def statuses():
        res = server.search("index=_internal sourcetype=scheduler | stats count by status")
        return {r["status"]: int(r["count"]) for r in res["results"]}

    assert wait_for(lambda: statuses().get("success", 0) >= 1)
    state = StateStore(for_home(Home(home)).db).state(first.saved_id)
    assert state.prev_value == errors and state.next_scheduled is not None
    server.kill9()
    # the state written before the kill is what the restarted server reads
    server = server_factory(home).start()
    wait_for(lambda: len([r for r in _runs(home) if r.status == "success"]) >= 2)
    second = [r for r in _runs(home) if r.status == "success"][1]
    assert second.triggered == 0 and f"(previous {errors})" in second.reason
    assert wait_for(lambda: statuses().get("success", 0) >= 2)
