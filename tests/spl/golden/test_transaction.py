"""transaction: grouping by a field, maxpause, maxspan, startswith/endswith, duration, eventcount.

Splunk Search Reference, "transaction" (a transaction's _time is its first event's, `duration` the
time between its first and last event, `eventcount` the number of events; `maxpause` the largest gap
between two events of a transaction, `maxspan` the largest span of a transaction; startswith /
endswith a search or eval() that opens / closes a transaction; keepevicted=false (default) drops
transactions that do not meet the closing conditions):
https://help.splunk.com/splunk-enterprise/spl-search-reference/9.2/search-commands/transaction

The data avoids gaps and spans equal to the limits, and splits that depend on the direction the
events are read in.
"""

from __future__ import annotations

import pytest

from tests.spl.golden._util import NOW, dump, ev, run

EVENTS = ev(
    (-10, "action=ping"),                     # no sid: in no transaction
    (-40, "sid=1 action=view"),
    (-50, "sid=2 action=logout"),
    (-55, "sid=1 action=logout"),
    (-60, "sid=1 action=view"),
    (-90, "sid=2 action=login"),
    (-95, "sid=1 action=view"),
    (-100, "sid=1 action=login"),
)


def tx(query, events=EVENTS):
    rows = run(query + " | table _time sid duration eventcount", rows=events)
    return [(round(r["_time"] - NOW), r["sid"], r["duration"], r["eventcount"]) for r in rows]


def test_transaction_by_field():
    # sid 1: -100 .. -40 (5 events, 60 s); sid 2: -90, -50; newest transaction first
    assert tx("* | transaction sid") == [(-90, "2", 40, 2), (-100, "1", 60, 5)]


def test_transaction_maxpause():
    # gaps of sid 1: 5, 35, 5, 15; sid 2: 40
    assert tx("* | transaction sid maxpause=20s") == [
        (-50, "2", 0, 1), (-60, "1", 20, 3), (-90, "2", 0, 1), (-100, "1", 5, 2)]


def test_transaction_maxspan():
    # sid 1 over 30 s: {-100, -95} then {-60, -55, -40}; sid 2 spans 40 s: two transactions
    assert tx("* | transaction sid maxspan=30s") == [
        (-50, "2", 0, 1), (-60, "1", 20, 3), (-90, "2", 0, 1), (-100, "1", 5, 2)]
    assert tx("* | transaction sid maxspan=1m") == [(-90, "2", 40, 2), (-100, "1", 60, 5)]


def test_transaction_startswith_opens_a_new_one():
    events = EVENTS + ev((-200, "sid=1 action=login"))
    assert tx('* | transaction sid startswith="action=login"', events) == [
        (-90, "2", 40, 2), (-100, "1", 60, 5), (-200, "1", 0, 1)]


def test_transaction_endswith_closes():
    # sid 1 closes at its logout (-55); the later view (-40) starts another transaction
    rows = tx('* | transaction sid endswith=eval(action="logout") keepevicted=true')
    assert rows == [(-40, "1", 0, 1), (-90, "2", 40, 2), (-100, "1", 45, 4)]


def test_transaction_evicted_are_dropped_by_default():
    # -40 (sid 1, after the logout) has no start event: evicted, returned only with keepevicted=true
    q = '* | transaction sid startswith="action=login" endswith="action=logout"'
    assert tx(q) == [(-90, "2", 40, 2), (-100, "1", 45, 4)]
    assert tx(q + " keepevicted=true") == [(-40, "1", 0, 1), (-90, "2", 40, 2), (-100, "1", 45, 4)]


def test_transaction_raw_in_time_order():
    rows = run("* | transaction sid | search sid=2 | table _raw", rows=EVENTS)
    assert rows == [{"_raw": "sid=2 action=login\nsid=2 action=logout"}]


# --- SPL -> AST ---------------------------------------------------------------------------------


@pytest.mark.parametrize("query, expected", [
    ('x | transaction sid maxspan=30s startswith="a=1" endswith=eval(b>2)',
     "Pipeline(commands=[SearchCmd(expr=Term(text='x', quoted=False)), TransactionCmd(fields=['sid'], "
     "options={'maxspan': '30s'}, startswith=FieldCmp(field='a', op='=', value='1', quoted=False), "
     "endswith=BinOp(op='>', left=Field(name='b'), right=Num(text='2')))])"),
    ("x | transaction a, b maxpause=5m",
     "Pipeline(commands=[SearchCmd(expr=Term(text='x', quoted=False)), TransactionCmd(fields=['a', 'b'], "
     "options={'maxpause': '5m'}, startswith=None, endswith=None)])"),
])
def test_transaction_ast(query, expected):
    assert dump(query) == expected


def test_transaction_sql_shape():
    # the full SQL is long (segments by window functions, see commands/events.py); the golden checks
    # its hand-expected pieces: events without the field are left out, a new transaction starts after
    # a gap over maxpause, one row per (key, segment) with duration and eventcount
    from tests.spl.golden._util import sql

    text = sql("* | transaction host maxpause=15s")
    assert "WHERE NOT \"__speleo_k0\" IS NULL" in text
    assert "\"_time\" - LAG(\"_time\") OVER (PARTITION BY \"__speleo_k0\" ORDER BY \"_time\"" in text
    assert "> 15.0" in text
    assert "MAX(\"_time\") - MIN(\"_time\") AS \"duration\", COUNT(*) AS \"eventcount\"" in text
    assert "GROUP BY \"__speleo_k0\", \"__speleo_seg\"" in text


def test_transaction_over_results_with_time():
    # Real searches run transaction after `tstats ... by _time` (no _raw): the rows are grouped
    # as events are. user a has rows at NOW-20 and NOW-10 (10 s apart: one transaction, maxpause
    # 5m) and one at NOW-4000 (over an hour before: its own); user b one row. Fields merge as
    # distinct values; a field that holds lists (values()) merges their values.
    from tests.spl.conftest import NOW
    from tests.spl.golden._util import ev as _ev, run as _run

    rows = _run("* | stats count values(p) as p by _time user | transaction user maxpause=5m "
                "| table _time user p eventcount duration _raw",
                rows=_ev((-10, "user=a p=x"), (-20, "user=a p=y"), (-4000, "user=a p=z"), (-30, "user=b p=x")))
    assert rows == [
        {"_time": NOW - 20, "user": "a", "p": ["x", "y"], "eventcount": 2, "duration": 10.0, "_raw": None},
        {"_time": NOW - 30, "user": "b", "p": ["x"], "eventcount": 1, "duration": 0.0, "_raw": None},
        {"_time": NOW - 4000, "user": "a", "p": ["z"], "eventcount": 1, "duration": 0.0, "_raw": None},
    ]
