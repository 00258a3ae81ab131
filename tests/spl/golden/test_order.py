"""sort, head, tail, reverse, dedup, top, rare.

Splunk Search Reference pages:
"sort" (results missing the field sort last in both directions; numbers numerically, strings
lexicographically with upper case before lower case; "If the string starts with a number, the string is
sorted numerically based on that number alone"; `sort N`, `limit=`, `str()`, `num()`):
https://help.splunk.com/splunk-enterprise/spl-search-reference/9.0/search-commands/sort
(and the Search Manual's "Lexicographical order"). "head", "tail" (tail returns the last N results in
reverse order), "reverse":
https://help.splunk.com/splunk-enterprise/spl-search-reference/9.2/search-commands/tail
"dedup" (keeps the first result of each combination in search order; results without the fields are
removed unless keepempty=true; consecutive=true; sortby sorts the deduplicated results):
https://help.splunk.com/splunk-enterprise/spl-search-reference/9.2/search-commands/dedup
"top" / "rare" (count and percent of the events that have the field; limit=0 all values;
useother/otherstr): https://help.splunk.com/splunk-enterprise/spl-search-reference/9.4/search-commands/top
"""

from __future__ import annotations

import pytest

from tests.spl.golden._util import dump, ev, offsets, run, sql

EVENTS = ev(
    (-10, "x=10 user=alice g=a", "web1"),
    (-20, "x=9 user=bob g=a", "web2"),
    (-30, "x=100 user=alice g=b", "web1"),
    (-40, "x=abc user=Alice g=a", "web2"),
    (-50, "x=Abc user=carol g=b", "web1"),
    (-60, "x=10abc user=bob g=b", "db1"),
    (-70, "x=-5 user=alice g=c", "web2"),
    (-80, "x=2.5 g=d", "db1"),
    (-90, "user=dave g=c", "web1"),
)


@pytest.mark.parametrize("query, expected", [
    # numbers (also a string starting with a number) numerically, then strings, missing last
    ("sort x", [-70, -80, -20, -10, -60, -30, -50, -40, -90]),
    ("sort + x", [-70, -80, -20, -10, -60, -30, -50, -40, -90]),
    ("sort -x", [-40, -50, -30, -60, -10, -20, -80, -70, -90]),
    ("sort x desc", [-40, -50, -30, -60, -10, -20, -80, -70, -90]),
    ("sort str(x)", [-70, -10, -30, -60, -80, -20, -50, -40, -90]),   # "-5" "10" "100" "10abc" "2.5" "9" "Abc" "abc"
    ("sort 3 x", [-70, -80, -20]),
    ("sort limit=2 -x", [-40, -50]),
    ("sort host, -x", [-60, -80, -50, -30, -10, -90, -40, -20, -70]),
    ("head 3", [-10, -20, -30]),
    ("head limit=2", [-10, -20]),
    ("head", [-10, -20, -30, -40, -50, -60, -70, -80, -90]),      # default 10
    ("tail 2", [-90, -80]),                                         # the last two, last first
    ("sort x | head 2", [-70, -80]),
    ("sort x | tail 2", [-90, -40]),
    ("reverse", [-90, -80, -70, -60, -50, -40, -30, -20, -10]),
    ("sort x | reverse", [-90, -40, -50, -30, -60, -10, -20, -80, -70]),
    # dedup: first in the current order; case-sensitive values; missing field removed
    ("dedup user", [-10, -20, -40, -50, -90]),
    ("dedup 2 user", [-10, -20, -30, -40, -50, -60, -90]),
    ("dedup host", [-10, -20, -60]),
    ("dedup host user", [-10, -20, -40, -50, -60, -70, -90]),
    ("dedup user keepempty=true", [-10, -20, -40, -50, -80, -90]),
    ("dedup g consecutive=true", [-10, -30, -40, -50, -70, -80, -90]),
    ("dedup host sortby +host", [-60, -10, -20]),
    ("sort -x | dedup host", [-40, -50, -60]),
])
def test_order_results(query, expected):
    assert offsets("* | " + query, EVENTS) == expected


def test_dedup_keepevents_blanks_the_duplicates():
    rows = run("* | dedup keepevents=true host | table host user", rows=EVENTS)
    assert [r["host"] for r in rows] == ["web1", "web2", None, None, None, "db1", None, None, None]
    assert [r["user"] for r in rows][:3] == ["alice", "bob", "alice"]


def test_top_count_and_percent():
    # 8 events have user: alice 3, bob 2, Alice 1, carol 1, dave 1
    rows = run("* | top user", rows=EVENTS)
    assert [(r["user"], r["count"], r["percent"]) for r in rows[:2]] == [("alice", 3, 37.5), ("bob", 2, 25.0)]
    assert sorted((r["user"], r["count"], r["percent"]) for r in rows[2:]) == [
        ("Alice", 1, 12.5), ("carol", 1, 12.5), ("dave", 1, 12.5)]
    assert list(rows[0]) == ["user", "count", "percent"]


def test_top_options():
    rows = run("* | top limit=2 user countfield=n percentfield=p", rows=EVENTS)
    assert rows == [{"user": "alice", "n": 3, "p": 37.5}, {"user": "bob", "n": 2, "p": 25.0}]
    rows = run("* | top 1 user showperc=f", rows=EVENTS)
    assert rows == [{"user": "alice", "count": 3}]
    rows = run("* | top 1 user showcount=false", rows=EVENTS)
    assert rows == [{"user": "alice", "percent": 37.5}]
    assert len(run("* | top limit=0 g", rows=EVENTS)) == 4


def test_top_by_and_two_fields():
    rows = run("* | top 1 user by host", rows=EVENTS)
    # db1: only -60 has a user; web1: alice 2 of 4; web2: three users once each (any of them)
    assert [(r["host"], r["count"], r["percent"]) for r in rows] == [
        ("db1", 1, 100.0), ("web1", 2, 50.0), ("web2", 1, pytest.approx(100 / 3))]
    assert rows[0]["user"] == "bob" and rows[1]["user"] == "alice"
    rows = run("* | top 1 host user", rows=EVENTS)
    assert rows == [{"host": "web1", "user": "alice", "count": 2, "percent": 25.0}]


def test_top_useother():
    # useother=true adds a row for the values past the limit, named by otherstr (default "OTHER")
    rows = run("* | top limit=2 useother=true user", rows=EVENTS)
    assert [(r["user"], r["count"], r["percent"]) for r in rows] == [
        ("alice", 3, 37.5), ("bob", 2, 25.0), ("OTHER", 3, 37.5)]
    rows = run('* | top limit=1 useother=t otherstr="rest" host', rows=EVENTS)
    assert [(r["host"], r["count"]) for r in rows] == [("web1", 4), ("rest", 5)]


def test_rare():
    rows = run("* | rare host", rows=EVENTS)
    assert [(r["host"], r["count"], r["percent"]) for r in rows] == [
        ("db1", 2, pytest.approx(200 / 9)), ("web2", 3, pytest.approx(300 / 9)), ("web1", 4, pytest.approx(400 / 9))]


# --- SPL -> AST ---------------------------------------------------------------------------------


@pytest.mark.parametrize("query, expected", [
    ("x | sort 5 -num(a), str(b) | tail 3",
     "Pipeline(commands=[SearchCmd(expr=Term(text='x', quoted=False)), SortCmd(keys=[SortKey(field='a', "
     "descending=True, mode='num'), SortKey(field='b', descending=False, mode='str')], limit=5), "
     "HeadCmd(count=3, tail=True)])"),
    ("x | dedup 2 a b",
     "Pipeline(commands=[SearchCmd(expr=Term(text='x', quoted=False)), DedupCmd(fields=['a', 'b'], count=2)])"),
    ("x | top limit=3 countfield=n a by b",
     "Pipeline(commands=[SearchCmd(expr=Term(text='x', quoted=False)), TopCmd(fields=['a'], by=['b'], limit=3, "
     "rare=False, countfield='n', percentfield='percent', showcount=True, showperc=True)])"),
    ("x | rare a | sort 0 a",
     "Pipeline(commands=[SearchCmd(expr=Term(text='x', quoted=False)), TopCmd(fields=['a'], by=[], limit=10, "
     "rare=True, countfield='count', percentfield='percent', showcount=True, showperc=True), "
     "SortCmd(keys=[SortKey(field='a', descending=False, mode='auto')], limit=None)])"),
])
def test_order_ast(query, expected):
    assert dump(query) == expected


# --- SPL -> SQL ---------------------------------------------------------------------------------


def test_head_sql():
    # expected by hand: LIMIT in the current (time) order
    assert sql("* | head 3") == (
        "WITH s0 AS (SELECT * FROM __events__ WHERE TRUE), "
        "s1 AS (SELECT * FROM s0 ORDER BY \"_time\" DESC LIMIT 3) SELECT * FROM s1 ORDER BY \"_time\" DESC")


def test_dedup_sql():
    # expected by hand: the rows with a host, numbered per host in time order, the first kept
    assert sql("* | dedup host") == (
        "WITH s0 AS (SELECT * FROM __events__ WHERE TRUE AND NOT \"host\" IS NULL), "
        "s1 AS (SELECT * FROM s0 QUALIFY ROW_NUMBER() OVER (PARTITION BY \"host\" ORDER BY \"_time\" DESC) <= 1) "
        "SELECT * FROM s1 ORDER BY \"_time\" DESC")
