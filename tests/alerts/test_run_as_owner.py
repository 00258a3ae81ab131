"""A scheduled search runs as its owner (Splunk: a scheduled search runs with its owner's
permissions): the owner's index scope, capabilities (writing commands) and search limits apply;
a search of a removed or disabled owner fails its run and says why; the API token's searches
run as admin. Real Service, operations database, alert store and runner; events planted here."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from speleo.alerts.actions import ServerContext
from speleo.alerts.runner import AlertRunner
from speleo.alerts.state import StateStore
from speleo.alerts.store import AlertStore
from speleo.clock import ManualClock
from speleo.config import Home
from speleo.ops.db import Database
from speleo.ops.users import Users
from speleo.server.scheduling import owner_principals, search_function
from speleo.service import Service

T0 = 1_793_491_200.0
UTC = ZoneInfo("UTC")


@pytest.fixture
def env(tmp_path):
    from speleo.alerts.indexing import write_events

    home = Home(tmp_path / "home")
    svc = Service(home)
    w = svc.open_writer()
    for index, n in (("web", 3), ("secret", 5)):
        write_events(w.store, svc.catalog, index, "app", f"{index}.log", "h1",
                     [{"_time": T0 - 600 + i, "_raw": f"{index} line {i}"} for i in range(n)])
    w.store.seal()
    w.close()
    users = Users(home)
    users.roles.create("webonly", ["search", "schedule_search"], allowed=["web"], default=["web"])
    users.roles.create("capped", ["search", "schedule_search"], allowed=["*"], limits={"srchMaxRowsRead": 4})
    ids = {name: users.add(name, roles, f"{name}-password-1").id
           for name, roles in (("wendy", ["webonly"]), ("carl", ["capped"]), ("gone", ["user"]))}
    clock = ManualClock(T0)
    db = Database.for_home(home)
    store = AlertStore(db, UTC, None, clock)
    runner = AlertRunner(search_function(svc, UTC, 1000, owner_principals(home)), StateStore(db), clock, UTC,
                         ServerContext(home, UTC, write_events=lambda *a: 0))
    return home, users, ids, store, runner


def run(store, runner, owner: int, name: str, search: str):
    saved = store.save(owner, name, {"search": search, "dispatch.earliest_time": "-1h",
                                     "cron_schedule": "*/5 * * * *"}).saved
    return runner.run(saved, T0, trigger_actions=False).run


def test_a_scheduled_search_reads_only_its_owners_indexes(env):
    home, users, ids, store, runner = env
    r = run(store, runner, ids["wendy"], "w-all", "index=* | stats count")
    assert r.status == "success" and r.result_count == 1
    r = run(store, runner, ids["wendy"], "w-secret", "index=secret")
    assert r.status == "success" and r.result_count == 0            # not 5: wendy may not read secret
    r = run(store, runner, 0, "token-secret", "index=secret")       # the API token's: as admin
    assert r.status == "success" and r.result_count == 5


def test_writing_commands_and_limits_of_the_owner_apply(env):
    home, users, ids, store, runner = env
    r = run(store, runner, ids["wendy"], "w-lookup", "index=web | outputlookup stolen.csv")
    assert r.status == "failed" and "edit_lookups" in r.reason
    assert not (home.lookups_dir / "stolen.csv").exists()
    r = run(store, runner, ids["carl"], "c-all", "index=secret OR index=web")
    assert r.status == "failed" and "srchMaxRowsRead" in r.reason and "would read 8 events" in r.reason
    assert run(store, runner, ids["carl"], "c-web", "index=web").status == "success"


def test_a_removed_or_disabled_owner_stops_its_searches(env):
    home, users, ids, store, runner = env
    users.set_disabled("gone", True)
    r = run(store, runner, ids["gone"], "g-1", "index=web")
    assert r.status == "failed" and "'gone' is disabled" in r.reason
    r = run(store, runner, 999, "g-2", "index=web")
    assert r.status == "failed" and "no longer exists" in r.reason
