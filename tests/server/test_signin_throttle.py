"""The sign-in throttle and the index scope, on their own (manual clock)."""

from __future__ import annotations

from speleo.clock import ManualClock
from speleo.query.scope import IndexScope, matches
from speleo.server.throttle import LoginThrottle


def test_waits_double_after_the_free_failures_and_the_window_forgets():
    clock = ManualClock(1000.0)
    t = LoginThrottle(clock)
    keys = t.keys("Bob", "10.0.0.1")
    assert keys == ["user:bob", "ip:10.0.0.1"]
    for _ in range(4):
        t.failed(keys)
        assert t.retry_after(keys) == 0
    waits = []
    for _ in range(4):
        t.failed(keys)
        waits.append(t.retry_after(keys))
        clock.advance(waits[-1])
    assert waits == [1, 2, 4, 8]
    clock.advance(900)                          # every failure left the 15-minute window
    assert t.retry_after(keys) == 0 and t.tracked() == 0


def test_the_wait_is_capped_and_success_clears_only_the_account():
    clock = ManualClock(0.0)
    t = LoginThrottle(clock, max_delay_secs=60)
    keys = t.keys("amy", "10.0.0.2")
    for _ in range(30):
        t.failed(keys)
    assert t.retry_after(keys) == 60
    t.succeeded(keys[0])
    assert t.retry_after([keys[0]]) == 0
    assert t.retry_after([keys[1]]) == 60       # the address still guessed 30 times


def test_tracked_keys_are_bounded():
    t = LoginThrottle(ManualClock(0.0), max_keys=100)
    for i in range(1000):
        t.failed(t.keys(f"name{i}", f"10.0.{i // 256}.{i % 256}"))
    assert t.tracked() == 100


def test_index_patterns_keep_internal_indexes_apart():
    assert matches("web", "*") and not matches("_audit", "*")
    assert matches("_audit", "_*") and matches("_audit", "_audit") and not matches("web", "_*")
    assert matches("web-01", "WEB-*")
    s = IndexScope(allowed=("web*", "_audit"), default=("web",))
    assert s.permits("web2") and s.permits("_audit") and not s.permits("_internal") and not s.permits("db")
    assert s.wanted_by_default("web") and not s.wanted_by_default("web2")
    assert s.refused(["web", "db", "x*", "_internal"]) == ["db", "_internal"]
