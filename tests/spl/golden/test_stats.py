"""stats and eventstats: count vs count(field), dc, numeric functions ignoring non-numbers, values/list,
first/last/earliest/latest, by-groups (events missing a by field are left out), eventstats by.

Splunk Search Reference, "stats":
https://help.splunk.com/splunk-enterprise/spl-search-reference/9.2/search-commands/stats
"Statistical and charting functions" ("Most of the statistical and charting functions expect the field
values to be numbers ... any non-numeric values are ignored"; count, distinct_count, list, values,
mode, first, last, earliest, latest process values as strings, so "1", "1.0", "01" are distinct; max
and min process values as numbers if possible):
https://help.splunk.com/en/splunk-enterprise/spl-search-reference/9.3/statistical-and-charting-functions
"Multivalue stats and chart functions" (list keeps event order; values is distinct, lexicographic):
https://help.splunk.com/splunk-enterprise/spl-search-reference/9.4/statistical-and-charting-functions/multivalue-stats-and-chart-functions
"eventstats": https://help.splunk.com/splunk-enterprise/spl-search-reference/9.2/search-commands/eventstats
"""

from __future__ import annotations

import math

import pytest

from tests.spl.golden._util import dump, ev, run, sql

EVENTS = ev(
    (-10, "user=alice status=200 bytes=100", "web1"),
    (-20, "user=bob status=404 bytes=2000", "web1"),
    (-30, "user=alice status=500 bytes=abc", "web2"),     # bytes not numeric
    (-40, "user=Alice status=200 bytes=50", "web2"),      # another user value (case differs)
    (-50, "status=503 bytes=7", "db1"),                   # no user
    (-60, "user=carol", "db1"),                           # no status, no bytes
    (-70, "user=bob status=200.0 bytes=1", "web1"),       # 200.0: the same number as 200, another string
)


def one(query):
    rows = run(query, rows=EVENTS)
    assert len(rows) == 1
    return rows[0]


@pytest.mark.parametrize("agg, expected", [
    ("count", 7),
    ("c", 7),
    ("count(user)", 6),                     # only events that have the field
    ("count(bytes)", 6),                    # "abc" is a value: count processes strings
    ("dc(user)", 4),                        # alice, bob, Alice, carol: strings, case-sensitive
    ("distinct_count(status)", 5),          # 200, 404, 500, 503, 200.0
    ("sum(bytes)", 2158),                   # 100+2000+50+7+1, "abc" ignored
    ("avg(bytes)", 2158 / 5),
    ("mean(bytes)", 2158 / 5),
    ("min(bytes)", 1),
    ("max(bytes)", 2000),
    ("range(bytes)", 1999),
    ("max(status)", 503),                   # numbers when possible
    ("min(status)", 200),
    ("median(bytes)", 50),                  # 1 7 50 100 2000
    ("mode(host)", "web1"),
    ("values(user)", ["Alice", "alice", "bob", "carol"]),     # distinct, lexicographic (upper case first)
    ("list(status)", ["200", "404", "500", "200", "503", "200.0"]),   # event order, missing skipped
    ("first(user)", "alice"),               # the first event seen (newest first)
    ("last(user)", "bob"),
    ("earliest(user)", "bob"),              # by _time
    ("latest(user)", "alice"),
    ("sum(user)", None),                    # no numeric value at all
    ("avg(user)", None),
    ("count(nosuchfield)", 0),
    ("dc(nosuchfield)", 0),
])
def test_stats_function(agg, expected):
    got = one(f"* | stats {agg} as v")["v"]
    if isinstance(expected, float):
        assert got == pytest.approx(expected)
    else:
        assert got == expected


def test_stats_max_of_strings_is_lexicographic():
    # Statistical functions, max(): "If the values ... are non-numeric, the maximum value is found
    # using lexicographical ordering" -> over Alice alice bob carol alice bob: "carol"; min "Alice"
    row = one("* | stats max(user) as hi min(user) as lo")
    assert (row["hi"], row["lo"]) == ("carol", "Alice")
    # values that are numbers when possible: bytes has 100 2000 abc 50 7 1 -> the numbers win
    row = one("* | stats max(bytes) as hi min(bytes) as lo")
    assert (row["hi"], row["lo"]) == (2000, 1)


def test_stats_max_by_group_mixes_numbers_and_text():
    # per host: web1 users alice bob bob (no number) -> "bob"; a group whose values are numbers
    # keeps its number, written as Splunk prints it once the column holds text
    rows = run("* | eval v=if(host=\"db1\", 5, user) | stats max(v) as hi by host", rows=EVENTS)
    assert rows == [{"host": "db1", "hi": "5"}, {"host": "web1", "hi": "bob"}, {"host": "web2", "hi": "alice"}]
    # later commands see the merged column (sorted as text here: "5" < "alice" < "bob")
    rows = run("* | eval v=if(host=\"db1\", 5, user) | stats max(v) as hi by host | sort hi | head 1", rows=EVENTS)
    assert rows == [{"host": "db1", "hi": "5"}]


def test_stats_spread_functions():
    # sample (stdev, var) versus population (stdevp, varp): 2 4 4 4 5 5 7 9, mean 5, squares sum 32
    events = ev(*[f"v={v}" for v in (2, 4, 4, 4, 5, 5, 7, 9)])
    row = run("* | stats stdev(v) as s stdevp(v) as sp var(v) as va varp(v) as vp sumsq(v) as sq", rows=events)[0]
    assert row["s"] == pytest.approx(math.sqrt(32 / 7))
    assert row["sp"] == pytest.approx(2.0)
    assert row["va"] == pytest.approx(32 / 7)
    assert row["vp"] == pytest.approx(4.0)
    assert row["sq"] == pytest.approx(4 + 16 * 3 + 25 * 2 + 49 + 81)


def test_stats_by_groups_sorted_and_missing_by_values_left_out():
    rows = run("* | stats count by user", rows=EVENTS)
    # E5 has no user: not counted anywhere; groups are case-sensitive and sorted
    assert [(r["user"], r["count"]) for r in rows] == [("Alice", 1), ("alice", 2), ("bob", 2), ("carol", 1)]


def test_stats_several_functions_by_host():
    rows = run("* | stats count, count(bytes) as nb, sum(bytes) as b, avg(bytes) as a, dc(user) as u by host",
               rows=EVENTS)
    assert [(r["host"], r["count"], r["nb"], r["b"], r["u"]) for r in rows] == [
        ("db1", 2, 1, 7, 1), ("web1", 3, 3, 2101, 2), ("web2", 2, 2, 50, 2)]
    assert [r["a"] for r in rows] == [pytest.approx(7), pytest.approx(2101 / 3), pytest.approx(50)]


def test_stats_two_by_fields():
    rows = run("* | stats count by host, user", rows=EVENTS)
    assert [(r["host"], r["user"], r["count"]) for r in rows] == [
        ("db1", "carol", 1), ("web1", "alice", 1), ("web1", "bob", 2), ("web2", "Alice", 1), ("web2", "alice", 1)]


def test_stats_count_eval():
    # count(eval(<expr>)): counts the events where the expression is true
    rows = run("* | stats count(eval(status>=500)) as errors, count(eval(user=\"alice\")) as a by host", rows=EVENTS)
    assert [(r["host"], r["errors"], r["a"]) for r in rows] == [("db1", 1, 0), ("web1", 0, 1), ("web2", 1, 1)]


def test_stats_over_no_events():
    # no BY clause: one row (count 0); with BY: no rows
    assert run("nosuchterm | stats count", rows=EVENTS) == [{"count": 0}]
    assert run("nosuchterm | stats count by host", rows=EVENTS) == []


def test_stats_default_labels():
    row = one("* | stats count(user), dc(user), avg(bytes)")
    assert list(row) == ["count(user)", "dc(user)", "avg(bytes)"]


def test_eventstats_by_keeps_every_event():
    # eventstats adds the aggregate of each event's group to the event; order is unchanged
    rows = run("* | eventstats avg(bytes) as a, count as n by host | table host user a n", rows=EVENTS)
    assert [(r["host"], r["n"]) for r in rows] == [
        ("web1", 3), ("web1", 3), ("web2", 2), ("web2", 2), ("db1", 2), ("db1", 2), ("web1", 3)]
    assert [r["a"] for r in rows] == [pytest.approx(x) for x in (2101 / 3, 2101 / 3, 50, 50, 7, 7, 2101 / 3)]


def test_eventstats_event_without_the_by_field_gets_nothing():
    rows = run("* | eventstats count as n by user | table user n", rows=EVENTS)
    assert [(r["user"], r["n"]) for r in rows] == [
        ("alice", 2), ("bob", 2), ("alice", 2), ("Alice", 1), (None, None), ("carol", 1), ("bob", 2)]


def test_eventstats_without_by():
    rows = run("* | eventstats dc(user) as users, max(bytes) as top | table users top", rows=EVENTS)
    assert rows == [{"users": 4, "top": 2000}] * 7


# --- SPL -> AST ---------------------------------------------------------------------------------


@pytest.mark.parametrize("query, expected", [
    ("| stats count(eval(status>=500)) as errors, values(user) by host",
     "Pipeline(commands=[StatsCmd(kind='stats', aggs=[Agg(func='count', arg='eval(status>=500)', param=None, "
     "alias='errors', "
     "label='count(eval(status>=500))', expr=BinOp(op='>=', left=Field(name='status'), right=Num(text='500'))), "
     "Agg(func='values', arg='user', param=None, alias=None, label='values(user)')], by=['host'])])"),
    ("x | eventstats avg(bytes) as a by host, user",
     "Pipeline(commands=[SearchCmd(expr=Term(text='x', quoted=False)), StatsCmd(kind='eventstats', "
     "aggs=[Agg(func='avg', arg='bytes', param=None, alias='a', label='avg(bytes)')], by=['host', 'user'])])"),
    ("| stats distinct_count(u) mean(b) p90(c)",
     "Pipeline(commands=[StatsCmd(kind='stats', aggs=[Agg(func='dc', arg='u', param=None, alias=None, "
     "label='distinct_count(u)'), Agg(func='avg', arg='b', param=None, alias=None, label='mean(b)'), "
     "Agg(func='perc', arg='c', param=90.0, alias=None, label='p90(c)')], by=[])])"),
])
def test_stats_ast(query, expected):
    assert dump(query) == expected


# --- SPL -> SQL ---------------------------------------------------------------------------------


def test_stats_sql_count_by_indexed_field():
    # expected by hand: GROUP BY the by field, groups without a value left out, sorted by the group.
    # The compiler's order is its "auto" sort (missing last, numbers numerically, then text): checked,
    # adopted.
    assert sql("* | stats count by host") == (
        "WITH s0 AS (SELECT * FROM __events__ WHERE TRUE), "
        "s1 AS (SELECT \"host\" AS \"host\", COUNT(*) AS \"count\" FROM s0 WHERE NOT \"host\" IS NULL GROUP BY 1) "
        "SELECT * FROM s1 ORDER BY \"host\" IS NULL, TRY_CAST(\"host\" AS DOUBLE) ASC, CAST(\"host\" AS TEXT) ASC")


def test_eventstats_sql_window():
    # expected by hand: a window count per host, null for events without a host, event order kept
    assert sql("* | eventstats count by host") == (
        "WITH s0 AS (SELECT * FROM __events__ WHERE TRUE), s1 AS (SELECT *, CASE WHEN NOT \"host\" IS NULL "
        "THEN COUNT(*) OVER (PARTITION BY \"host\") END AS \"count\" FROM s0) SELECT * FROM s1 ORDER BY \"_time\" DESC")


def test_eventstats_values_on_every_event():
    # by hand: the users are alice bob alice Alice (none) carol bob -> distinct, sorted (upper case
    # first): Alice alice bob carol, on each event; per host web1: alice bob
    rows = run("* | eventstats values(user) as us | table user us", rows=EVENTS)
    assert {tuple(r["us"]) for r in rows} == {("Alice", "alice", "bob", "carol")} and len(rows) == 7
    rows = run("* | eventstats values(user) as us by host | where host=\"web1\" | table us", rows=EVENTS)
    assert [r["us"] for r in rows] == [["alice", "bob"]] * 3


def test_eventstats_and_streamstats_min_max_of_text_over_results():
    # Search Reference, max(): "If the values in the field are non-numeric, the maximum value is
    # found using lexicographical ordering"; a group with a number answers with the numbers.
    # Group a holds beta, alpha: min alpha, max beta; group b holds gamma and 10: 10 both.
    from tests.spl.golden._util import ev as _ev, run as _run

    rows = _run("* | stats count by h v | eventstats min(v) as lo max(v) as hi by h | table h v lo hi",
                rows=_ev("v=beta h=a", "v=alpha h=a", "v=gamma h=b", "v=10 h=b"))
    assert [(r["h"], r["v"], r["lo"], r["hi"]) for r in rows] == [
        ("a", "alpha", "alpha", "beta"), ("a", "beta", "alpha", "beta"), ("b", "10", "10", "10"), ("b", "gamma", "10", "10")]
    # streamstats over the rows in order: running max of beta, then beta/alpha, then +gamma
    rows = _run("* | stats count by v | sort - v | streamstats max(v) as m min(v) as lo | table v m lo",
                rows=_ev("v=beta", "v=alpha", "v=gamma"))
    assert [(r["v"], r["m"], r["lo"]) for r in rows] == [("gamma", "gamma", "gamma"), ("beta", "gamma", "beta"),
                                                         ("alpha", "gamma", "alpha")]
