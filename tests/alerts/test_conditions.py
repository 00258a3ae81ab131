"""Trigger conditions and comparators (pure): Splunk's semantics, spec §1.5 checks 3-6."""

from __future__ import annotations

import pytest

from speleo.alerts.conditions import evaluate, measure


def rows(*hosts):
    return [{} if h is None else {"host": h} for h in hosts]


def test_number_of_events_greater_than_zero():
    assert not evaluate("number of events", "greater than", 0, measure("number of events", []), None).triggered
    assert evaluate("number of events", "greater than", 0, measure("number of events", rows("a")), None).triggered


def test_number_of_hosts_counts_distinct_non_empty_hosts():
    v = measure("number of hosts", rows("a", "a", "b", None) + [{"host": ""}])
    assert v == 2
    assert evaluate("number of hosts", "equal to", 2, v, None).triggered
    assert measure("number of sources", [{"source": ["s1", "s2"]}, {"source": "s1"}]) == 2


@pytest.mark.parametrize("comparator, value, threshold, expected", [
    ("greater than", 5, 5, False), ("greater than", 6, 5, True),
    ("less than", 4, 5, True), ("less than", 5, 5, False),
    ("equal to", 5, 5, True), ("not equal to", 5, 5, False), ("not equal to", 4, 5, True),
])
def test_plain_comparators(comparator, value, threshold, expected):
    assert evaluate("number of events", comparator, threshold, value, None).triggered is expected


def test_rises_by_triggers_on_the_third_run_not_the_first():
    prev, fired = None, []
    for v in (5, 14, 24):
        fired.append(evaluate("number of events", "rises by", 10, v, prev).triggered)
        prev = v
    assert fired == [False, False, True]
    first = evaluate("number of events", "rises by", 10, 100, None)
    assert not first.triggered and "no previous run" in first.reason


@pytest.mark.parametrize("comparator, prev, value, expected", [
    ("drops by perc", 10, 5, True), ("drops by perc", 10, 6, False),
    ("rises by perc", 10, 15, True), ("rises by perc", 10, 14, False),
    ("drops by", 10, 0, True), ("drops by", 10, 1, False),
])
def test_changes_against_previous(comparator, prev, value, expected):
    assert evaluate("number of events", comparator, 50 if "perc" in comparator else 10, value, prev).triggered is expected


def test_zero_previous_value_never_triggers_a_percentage_and_says_why():
    for comp, v in (("drops by perc", 0), ("rises by perc", 1000)):
        out = evaluate("number of events", comp, 50, v, 0)
        assert not out.triggered
        assert "previous run measured 0" in out.reason


def test_custom_condition_and_always():
    assert evaluate("custom", "", None, None, None, condition_rows=1).triggered
    assert not evaluate("number of events", "greater than", 0, 10, None, condition_rows=0).triggered
    assert evaluate("always", "", None, None, None).triggered
