"""Leader leases (speleo.ops.lease): one holder at a time, renewal, take-over after expiry or
release, and the ops ticks and the alert scheduler doing nothing while another server holds them.
On SQLite and, when installed, on a real PostgreSQL (two servers share one there)."""

from __future__ import annotations

import pytest

from speleo.clock import ManualClock
from speleo.ops.db import Database
from speleo.ops.lease import Lease
from speleo.server.ticks import Ticker


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request, tmp_path):
    if request.param == "sqlite":
        d = Database(f"sqlite:///{tmp_path / 'ops.sqlite'}")
    else:
        from tests.ops.pg import fresh_database

        d = Database(fresh_database(request))
    d.migrate()
    return d


def test_one_holder_renewal_expiry_and_release(db):
    a, b = Lease(db, "ops-ticks", "a", ttl_secs=15), Lease(db, "ops-ticks", "b", ttl_secs=15)
    assert a.held(1000.0) and not b.held(1000.0)
    assert a.held(1010.0) and not b.held(1020.0)     # renewed at 1010: held until 1025
    assert b.held(1025.5) and not a.held(1026.0)     # a stopped renewing (kill -9): b takes over
    assert (a.takeovers, b.takeovers) == (1, 1)
    b.release()                                      # a clean stop: a takes over at once
    assert a.held(1027.0) and a.takeovers == 2
    assert Lease(db, "alert-scheduler", "b").held(1027.0)   # another name is another lease


def test_ticks_run_on_the_holder_only(db):
    clock = ManualClock(2000.0)
    ran = {"a": 0, "b": 0}
    tickers = {}
    for name in ("a", "b"):
        t = Ticker(clock)
        t.lease = Lease(db, "ops-ticks", name)
        t.add("count", lambda now, name=name: ran.__setitem__(name, ran[name] + 1), every_secs=1.0)
        tickers[name] = t
    for _ in range(5):
        tickers["a"].run_due()
        tickers["b"].run_due()
        clock.advance(1.0)
    assert ran == {"a": 5, "b": 0}
    clock.advance(60.0)                              # a is gone
    tickers["b"].run_due()
    assert ran["b"] == 1
