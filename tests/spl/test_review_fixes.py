"""Regressions found in review: each expected value is worked by hand from the events below."""

from __future__ import annotations

from tests.spl.golden._util import run, ev

EVENTS = ev("user=alice action=login", "user=bob action=fail", "user=carol action=fail", "user=alice action=fail")


def test_subsearch_filter_on_a_field_named_like_a_sql_function():
    # every user has a failure: the filter keeps all three rows (alice 2, bob 1, carol 1)
    rows = run("* | stats count by user | search [search action=fail | fields user]", rows=EVENTS)
    assert sorted((r["user"], r["count"]) for r in rows) == [("alice", 2), ("bob", 1), ("carol", 1)]
    rows = run("* action=login [search action=fail | fields user] | table user", rows=EVENTS)
    assert rows == [{"user": "alice"}]


def test_join_with_a_numeric_subsearch_field():
    rows = run("* action=login | join user [search action=fail | stats count as fails by user] | table user fails",
               rows=EVENTS)
    assert rows == [{"user": "alice", "fails": 1}]
    assert isinstance(rows[0]["fails"], int)


def test_fillnull_with_a_number_keeps_counts_numeric():
    rows = run("* | stats count by user | eval x=if(user=\"alice\", 5, null()) | fillnull value=0 x | table user x",
               rows=EVENTS)
    assert rows == [{"user": "alice", "x": 5}, {"user": "bob", "x": 0}, {"user": "carol", "x": 0}]
    rows = run("* | eval y=null() | fillnull value=N/A y | table y | head 1", rows=EVENTS)
    assert rows == [{"y": "N/A"}]
