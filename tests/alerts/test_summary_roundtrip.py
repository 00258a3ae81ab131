"""sistats/sitop/sichart/sitimechart | collect, then stats/top/chart/timechart over the summary
index: the same answer as the non-si command over the original events (Splunk Search Reference:
sistats, "use the summary index"). Through the real journal and store, as `speleo search` runs it."""

from __future__ import annotations

import pytest

from speleo.alerts.indexing import write_events
from speleo.config import Home
from speleo.query import post
from speleo.service import Service

NOW = 1_800_000_000.0
# (seconds before NOW, host, _raw); x is missing from the last event
EVENTS = [(100, "web1", "x=1 status=200"), (90, "web1", "x=3 status=500"), (70, "web2", "x=5 status=200"),
          (50, "web2", "status=404"), (30, "web2", "x=10 status=200")]


@pytest.fixture
def svc(tmp_path):
    from speleo.cli.alert_cmds import install_local_sinks

    saved = dict(post.SINKS)
    home = Home(tmp_path / "h")
    s = Service(home)
    w = s.open_writer()
    try:
        write_events(w.store, s.catalog, "main", "kv", "test", None,
                     [{"_time": NOW - ago, "_raw": raw, "host": host} for ago, host, raw in EVENTS])
        w.store.seal()
    finally:
        w.close()
    install_local_sinks(home)   # collect writes through the home's writer, as on the command line
    yield s
    post.SINKS.clear()
    post.SINKS.update(saved)


def _rows(svc, query):
    return svc.search(query, NOW - 3600, NOW + 1, limit=0, now=NOW, capabilities=None).table.to_pylist()


@pytest.mark.parametrize("si, later", [
    ("sistats count avg(x) max(x) dc(status) by host", "stats count avg(x) max(x) dc(status) by host"),
    ("sitop status", "top status"),
    ("sichart count over host by status", "chart count over host by status"),
    ("sitimechart span=1m count by host", "timechart span=1m count by host"),
])
def test_summary_index_round_trip(svc, si, later):
    _rows(svc, f"index=main | {si} | collect index=summary")
    from_summary = _rows(svc, f"index=summary | {later}")
    assert from_summary == _rows(svc, f"index=main | {later}")
    assert from_summary


def test_round_trip_values_by_hand(svc):
    _rows(svc, "index=main | sistats count avg(x) by host | collect index=summary")
    # web1: 2 events, x 1 and 3 -> avg 2; web2: 3 events, x 5 and 10 (one without x) -> avg 7.5
    assert _rows(svc, "index=summary | stats count avg(x) by host") == [
        {"host": "web1", "count": 2, "avg(x)": 2.0}, {"host": "web2", "count": 3, "avg(x)": 7.5}]
    # each summary event keeps its original event's time
    assert _rows(svc, "index=summary | stats min(_time) as first max(_time) as last") == [
        {"first": NOW - 100, "last": NOW - 30}]


def test_a_metadata_by_field_goes_through_a_copy(svc):
    # the summary events' own sourcetype is stash (docs/spl.md); a copy of the original survives: 5 kv events
    _rows(svc, "index=main | eval orig_sourcetype=sourcetype | sistats count by orig_sourcetype | collect index=summary")
    assert _rows(svc, "index=summary | stats count by orig_sourcetype") == [{"orig_sourcetype": "kv", "count": 5}]
    assert _rows(svc, "index=summary | stats count by sourcetype") == [{"sourcetype": "stash", "count": 5}]
