"""tstats over the indexed fields: by / groupby, commas in the where clause, span, prestats=t,
fillnull_value, summariesonly accepted, and a bare word in the where clause refused.

Splunk Search Reference, "tstats":
https://help.splunk.com/en/splunk-enterprise/spl-search-reference/9.4/search-commands/tstats
("groupby" is a synonym of "by"; the where clause filters on indexed fields; prestats=t gives
results for a following stats, chart or timechart; fillnull_value stands in for a missing by-field.)

Events (written here, NOW = 1700000000), newest first:
  -10 web1 app    -20 web1 access    -30 web2 access    -40 web2 app
  -50 db1 auth    -4000 web1 access  -90000 db1 app
"""

from __future__ import annotations

import pytest

from speleo.errors import SplSyntaxError, SplUnsupportedError
from speleo.spl import compile_search
from tests.spl.conftest import make_ctx
from tests.spl.golden._util import ev, run

EVENTS = ev((-10, "a status=500", "web1", "app"), (-20, "b status=200", "web1", "access"),
            (-30, "c status=404", "web2", "access"), (-40, "d status=503", "web2", "app"),
            (-50, "e status=401", "db1", "auth"), (-4000, "f status=200", "web1", "access"),
            (-90000, "g status=200", "db1", "app"))

BY_HOST = [{"host": "db1", "count": 2}, {"host": "web1", "count": 3}, {"host": "web2", "count": 2}]


def test_where_index_star_groupby_host_gives_grouped_counts():
    # the case: before, 'groupby host' was read as two search terms and gave one count
    assert run("| tstats count where index=* groupby host", rows=EVENTS) == BY_HOST


def test_by_and_groupby_are_the_same():
    assert run("| tstats count where index=main by host", rows=EVENTS) == BY_HOST


def test_commas_in_where_separate_terms():
    # index=main AND host=web*: web1 (app, access, access), web2 (access, app)
    assert run("| tstats count where index=main, host=web* by sourcetype", rows=EVENTS) == [
        {"sourcetype": "access", "count": 3}, {"sourcetype": "app", "count": 2}]


def test_span_buckets_time():
    # 1h buckets from 1699999200 (NOW=1700000000): -10..-50 -> 1699999200 (5), -4000 -> 1699995600,
    # -90000 -> 1699909200
    assert run("| tstats count where index=main by _time span=1h", rows=EVENTS) == [
        {"_time": 1699909200.0, "count": 1}, {"_time": 1699995600.0, "count": 1},
        {"_time": 1699999200.0, "count": 5}]


def test_prestats_feeds_stats():
    assert run("| tstats prestats=t count where index=main by host | stats count by host", rows=EVENTS) == BY_HOST
    # prestats=t then timechart over the last 2 hours (from 1699992800): timechart fills the range,
    # so the bucket 1699992000 is 0; -4000 falls in 1699995600; -10..-50 in 1699999200
    rows = run("| tstats prestats=t count where earliest=-2h by _time span=1h | timechart span=1h count",
               rows=EVENTS)
    assert [(r["_time"], r["count"]) for r in rows] == [(1699992000.0, 0), (1699995600.0, 1), (1699999200.0, 5)]


def test_summariesonly_allow_old_summaries_and_fillnull_value_are_accepted():
    q = ("| tstats summariesonly=t allow_old_summaries=true count where index=main "
         "by host fillnull_value=NA")
    assert run(q, rows=EVENTS) == BY_HOST


def test_aggregates_over_indexed_fields():
    # dc(host) over all 7: web1, web2, db1; min(_time) is the oldest event
    assert run("| tstats count dc(host) as hosts min(_time) as first where index=main", rows=EVENTS) == [
        {"count": 7, "hosts": 3, "first": 1700000000.0 - 90000}]


@pytest.mark.parametrize("query, word", [
    ("| tstats count where index=* grouby host", "grouby"),
    ("| tstats count where index=main error", "error"),
])
def test_bare_word_in_where_is_refused(query, word):
    with pytest.raises(SplSyntaxError) as info:
        compile_search(query, make_ctx())
    assert f"{word!r} in the where clause is not a field comparison" in info.value.message
    assert query[info.value.pos.start:info.value.pos.end] == word


def test_non_indexed_field_without_a_data_model_is_refused():
    with pytest.raises(SplUnsupportedError) as info:
        compile_search("| tstats count where index=main by user", make_ctx())
    assert "non-indexed field 'user'" in info.value.message
