"""Per-role search limits (speleo.query.scope.SearchLimits) on the embedded engine: rows read
refused before the search runs, the time limit interrupting a running search, the memory limit of
its connection; both the one-shot and the batched (web job) paths. Figures planted here."""

from __future__ import annotations

import time

import pytest

from speleo.config import Home
from speleo.query import engine
from speleo.query.scope import IndexScope, SearchLimitError, SearchLimits
from speleo.service import Service

T0 = 1_793_491_200.0
SLOW = "| makeresults count=300000000 | eval x=random() | stats dc(x)"


def scoped(**limits) -> IndexScope:
    return IndexScope(("*",), ("*",), SearchLimits(**limits))


@pytest.fixture(scope="module")
def svc(tmp_path_factory):
    from speleo.alerts.indexing import write_events

    svc = Service(Home(tmp_path_factory.mktemp("limits") / "home"))
    w = svc.open_writer()
    for k in range(3):   # three buckets of 1,000 events, an hour apart
        write_events(w.store, svc.catalog, "main", "app", "app.log", f"h{k}",
                     [{"_time": T0 + k * 3600 + i, "_raw": f"event {i} of batch {k} status=200"} for i in range(1000)])
        w.store.seal()
    w.close()
    return svc


def test_rows_read_are_counted_from_the_plan_and_refused_before_the_search(svc):
    assert svc.search("index=main | stats count", scope=scoped(max_rows_read=3000), capabilities=None) \
        .table.to_pylist() == [{"count": 3000}]
    with pytest.raises(SearchLimitError, match=r"would read 3,000 events; your roles allow 2,999 per search") as e:
        svc.search("index=main | stats count", scope=scoped(max_rows_read=2999), capabilities=None)
    assert e.value.status == 403 and e.value.code == "search_limit"
    # a narrower time range plans fewer buckets: within the limit
    r = svc.search("index=main | stats count", earliest=T0 + 3600, latest=T0 + 7200,
                   scope=scoped(max_rows_read=1000), capabilities=None)
    assert r.table.to_pylist() == [{"count": 1000}]
    # the batched path (web jobs) applies it too
    compiled = engine.compile_for("index=main", now=T0 + 86400)
    with pytest.raises(SearchLimitError, match="srchMaxRowsRead"):
        engine.execute_incremental(svc.home, svc.catalog, compiled, limit=10, scope=scoped(max_rows_read=10))


def test_the_time_limit_stops_a_running_search(svc):
    for run in (lambda s: svc.search(SLOW, scope=s, capabilities=None),
                lambda s: engine.execute_incremental(svc.home, svc.catalog, engine.compile_for(SLOW), scope=s)):
        started = time.monotonic()
        with pytest.raises(SearchLimitError, match=r"stopped after 1 s, the longest your roles allow \(srchMaxTime\)"):
            run(scoped(max_time_secs=1))
        assert time.monotonic() - started < 60    # interrupted, not run to the end (minutes)
    # a search inside its time runs as usual, and its timer does not fire later on another search
    assert svc.search("index=main | stats count", scope=scoped(max_time_secs=1), capabilities=None) \
        .table.to_pylist() == [{"count": 3000}]
    time.sleep(1.2)
    assert svc.search("index=main | stats count", capabilities=None).table.to_pylist() == [{"count": 3000}]


def test_the_memory_limit_is_the_search_connections(svc):
    big = "| makeresults count=3000000 | eval x=random() | stats dc(x) by x | stats count"
    with pytest.raises(SearchLimitError, match=r"more memory than the 16 MB your roles allow one search"):
        svc.search(big, scope=scoped(max_memory_bytes=16 << 20), capabilities=None)
    # ordinary searches fit
    r = svc.search("index=main | stats count by host", scope=scoped(max_memory_bytes=64 << 20), capabilities=None)
    assert sorted((x["host"], x["count"]) for x in r.table.to_pylist()) == [("h0", 1000), ("h1", 1000), ("h2", 1000)]
