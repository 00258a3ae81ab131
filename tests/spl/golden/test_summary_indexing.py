"""sistats, sitop, sirare, sichart, sitimechart: their output read by stats/top/rare/chart/
timechart in the same search gives the answer of the non-si command over the events.

Splunk Search Reference, "sistats" ("use a summary index ... run stats over the summary index
to get the same results"), "sitop", "sirare", "sichart", "sitimechart". Speleo's prestats form is
the events narrowed to the fields the statistics read (speleo.spl.commands.summarycmds); the
collect round trip is in tests/alerts/test_summary_roundtrip.py.

Events (NOW = 1700000000), newest first:
  -10 web1 x=1 status=200    -20 web1 x=3 status=500    -30 web2 x=5 status=200
  -40 web2 status=404        -50 web2 x=10 status=200
"""

from __future__ import annotations

import pytest

from speleo.errors import SplUnsupportedError
from tests.spl.golden._util import NOW, ev, run

EVENTS = ev((-10, "x=1 status=200", "web1"), (-20, "x=3 status=500", "web1"), (-30, "x=5 status=200", "web2"),
            (-40, "status=404", "web2"), (-50, "x=10 status=200", "web2"))


def test_sistats_then_stats():
    # web1: x 1, 3 -> avg 2, max 3, statuses 200 500; web2: x 5, 10 (one event without x) -> avg 7.5,
    # statuses 200 404
    want = [{"host": "web1", "count": 2, "avg(x)": 2.0, "max(x)": 3, "dc(status)": 2},
            {"host": "web2", "count": 3, "avg(x)": 7.5, "max(x)": 10, "dc(status)": 2}]
    q = "stats count avg(x) max(x) dc(status) by host"
    assert run(f"* | si{q} | {q}", rows=EVENTS) == want
    assert run(f"* | {q}", rows=EVENTS) == want


def test_sistats_output_is_the_narrowed_events():
    # the prestats rows: _time, the by-field and the function's field, one per event (newest first)
    assert run("* | sistats avg(x) by host", rows=EVENTS) == [
        {"_time": NOW - 10, "host": "web1", "x": "1"}, {"_time": NOW - 20, "host": "web1", "x": "3"},
        {"_time": NOW - 30, "host": "web2", "x": "5"}, {"_time": NOW - 40, "host": "web2", "x": None},
        {"_time": NOW - 50, "host": "web2", "x": "10"}]


def test_sistats_with_eval_argument_keeps_the_fields_it_names():
    # x > 2: 3, 5, 10 -> 3 events
    assert run("* | sistats count(eval(x>2)) as big | stats count(eval(x>2)) as big", rows=EVENTS) == [{"big": 3}]


def test_sitop_then_top():
    # status 200 x3, 500 x1, 404 x1 of 5 events; ties by value
    want = [{"status": "200", "count": 3, "percent": 60.0}, {"status": "404", "count": 1, "percent": 20.0},
            {"status": "500", "count": 1, "percent": 20.0}]
    assert run("* | sitop status | top status", rows=EVENTS) == want
    assert run("* | top status", rows=EVENTS) == want


def test_sirare_then_rare_by_host():
    # web1: 200 once, 500 once; web2: 404 once, 200 twice
    want = [{"host": "web1", "status": "200", "count": 1, "percent": 50.0},
            {"host": "web1", "status": "500", "count": 1, "percent": 50.0},
            {"host": "web2", "status": "404", "count": 1, "percent": 100 / 3},
            {"host": "web2", "status": "200", "count": 2, "percent": 200 / 3}]
    got = run("* | sirare status by host | rare status by host", rows=EVENTS)
    assert [r | {"percent": pytest.approx(r["percent"])} for r in got] == want
    assert got == run("* | rare status by host", rows=EVENTS)


def test_sichart_then_chart():
    want = [{"host": "web1", "200": 1, "404": 0, "500": 1}, {"host": "web2", "200": 2, "404": 1, "500": 0}]
    assert run("* | sichart count over host by status | chart count over host by status", rows=EVENTS) == want
    assert run("* | chart count over host by status", rows=EVENTS) == want


def test_sitimechart_then_timechart():
    # 20 s buckets (NOW is a multiple of 20): [NOW-60, NOW-40) holds -50 (web2); [NOW-40, NOW-20) holds -40
    # and -30 (web2); [NOW-20, NOW) holds -20 and -10 (web1)
    want = [{"_time": NOW - 60, "web1": 0, "web2": 1}, {"_time": NOW - 40, "web1": 0, "web2": 2},
            {"_time": NOW - 20, "web1": 2, "web2": 0}]
    q = "timechart span=20s count by host"
    assert run(f"* | si{q} | {q}", rows=EVENTS) == want
    assert run(f"* | {q}", rows=EVENTS) == want


def test_wildcard_field_is_refused_naming_the_reason():
    with pytest.raises(SplUnsupportedError, match="wildcard field 'x\\*'"):
        run("* | sistats avg(x*)", rows=EVENTS)
