"""rangemap, concurrency, fieldformat, setfields, highlight and iconify, each against its Splunk
Search Reference page (9.4, search-commands/<name>); expected values worked out by hand below.

Events (newest first, NOW = 1700000000, offsets in seconds):
  -10 "job=a start=100 took=30 load=-3"
  -20 "job=b start=110 took=5 load=0"
  -30 "job=c start=120 took=0 load=7.5"
  -40 "job=d start=130 took=100 load=12"
  -50 "job=e start=140 took=x load=high"
"""

from __future__ import annotations

import pytest

from speleo.errors import SplError
from tests.spl.golden._util import ev, run

EVENTS = ev("job=a start=100 took=30 load=-3", "job=b start=110 took=5 load=0", "job=c start=120 took=0 load=7.5",
            "job=d start=130 took=100 load=12", "job=e start=140 took=x load=high")


def table(query: str) -> list[dict]:
    return run(query, rows=EVENTS)


def test_rangemap_names_the_range_and_falls_back_to_default():
    # rangemap: "Set the range field to the names of any attribute_name that the value of the input
    # field is within. If no range is matched, the range value is set to the default value."
    # -3 in neg=-5--1; 0 in none of them (ok starts at 1) -> default; 7.5 in ok=1-9.5; 12 in hot=10-20;
    # "high" is not a number -> default
    rows = table("* | rangemap field=load neg=-5--1 ok=1-9.5 hot=10-20 default=quiet | sort job | table job range")
    assert [(r["job"], r["range"]) for r in rows] == [("a", "neg"), ("b", "quiet"), ("c", "ok"), ("d", "hot"),
                                                      ("e", "quiet")]


def test_rangemap_default_is_None_and_bounds_are_included():
    rows = table("* | rangemap field=load low=-3-0 high=12-12 | sort job | table job range")
    assert [r["range"] for r in rows] == ["low", "low", "None", "high", "None"]


def test_rangemap_overlapping_ranges_make_range_multivalue():
    # "if low=1-10, elevated=5-15, and the input field value is 10, range=low and code=elevated":
    # a value in both ranges gets both names; 7.5 in low and elevated, 12 only in elevated
    rows = table("* | rangemap field=load low=1-10 elevated=5-15 | sort job | table job range")
    assert [r["range"] for r in rows] == [["None"], ["None"], ["low", "elevated"], ["elevated"], ["None"]]


@pytest.mark.parametrize("query, why", [
    ("* | rangemap low=1-2", "field=<field>"),
    ("* | rangemap field=load low=5-1", "must not be above"),
    ("* | rangemap field=load low=one-two", "<number>-<number>"),
])
def test_rangemap_errors_say_what_is_wrong(query, why):
    with pytest.raises(SplError, match=why):
        run(query, rows=EVENTS)


def test_concurrency_counts_spans_holding_each_start():
    # spans [start, start+took]: a 100-130, b 110-115, c 120-120, d 130-230; e has no number (took=x).
    # a at 100: a -> 1; b at 110: a, b -> 2; c at 120: a, c (b ended at 115) -> 2;
    # d at 130: a (ends at 130, bound included), d -> 2
    rows = table("* | concurrency duration=took start=start | sort job | table job concurrency")
    assert [(r["job"], r.get("concurrency")) for r in rows] == [("a", 1), ("b", 2), ("c", 2), ("d", 2), ("e", None)]


def test_concurrency_output_name_and_commands_after_it():
    rows = table("* | concurrency duration=took start=start output=busy | where busy > 1 | stats count")
    assert rows == [{"count": 3}]


def test_concurrency_needs_duration():
    with pytest.raises(SplError, match="duration=<field>"):
        run("* | concurrency start=start", rows=EVENTS)


def test_fieldformat_changes_the_shown_value_not_the_one_later_commands_see():
    # sort sees the numbers (a=-3 ... d=12) and sorts them numerically; the final column shows the format
    rows = table('* | eval load=tonumber(load) | where isnotnull(load) | fieldformat load=tostring(load*1000, "commas") '
                 '| sort - load | table job load')
    assert [(r["job"], r["load"]) for r in rows] == [("d", "12,000"), ("c", "7,500"), ("b", "0"), ("a", "-3,000")]


def test_fieldformat_of_a_field_no_longer_there_adds_nothing():
    rows = table("* | fieldformat took=took.\"s\" | stats count by job | where job=\"a\"")
    assert rows == [{"job": "a", "count": 1}]


def test_setfields_sets_literal_values():
    rows = table('* | setfields job=same, note="two words" | stats count by job note')
    assert rows == [{"job": "same", "note": "two words", "count": 5}]


def test_highlight_and_iconify_leave_the_results_alone():
    assert table("* | highlight job start | iconify job | stats count") == [{"count": 5}]
    with pytest.raises(SplError, match="at least one"):
        run("* | highlight", rows=EVENTS)


def test_outlier_keeps_search_time_fields_for_later_commands():
    # outlier on took (numbers 30, 5, 0, 100; "x" is left alone): the job field, extracted from the
    # events, is still there for the commands after it
    rows = table("* | outlier took | sort job | table job")
    assert [r["job"] for r in rows] == ["a", "b", "c", "d", "e"]


def test_rangemap_keeps_the_names_as_written():
    # Search Reference example: Dislike=-5--1 DontCare=0-0 Like=1-5
    rows = table("* | rangemap field=load Dislike=-5--1 DontCare=0-0 Like=1-5 | sort job | table job range")
    assert [r["range"] for r in rows] == ["Dislike", "DontCare", "None", "None", "None"]


def test_fieldformat_formats_a_search_time_field_of_events():
    rows = table('* | fieldformat job=upper(job) | sort - _time | table job')
    assert [r["job"] for r in rows] == ["A", "B", "C", "D", "E"]


def test_concurrency_leaves_a_negative_span_out():
    rows = table("* | head 3 | sort _time | streamstats count as n | eval start=n*10, d=case(n=1, 100, n=2, -50, n=3, 5) "
                 "| concurrency start=start duration=d | sort n | table n concurrency")
    # 1: [10, 110]; 2: negative (no span, no value); 3 at 30: 1's span and its own -> 2
    assert [(r["n"], r.get("concurrency")) for r in rows] == [(1, 1), (2, None), (3, 2)]


def test_a_later_fieldformat_replaces_the_earlier_one():
    rows = table('* | head 1 | eval n=1234567 | fieldformat n=tostring(n, "commas") | fieldformat n=tostring(n+1) '
                 '| table n')
    assert rows == [{"n": "1234568"}]


def test_rangemap_refuses_a_range_given_twice_and_setfields_takes_empty_values():
    with pytest.raises(SplError, match="given twice"):
        run("* | rangemap field=load a=0-10 a=20-30", rows=EVENTS)
    assert table('* | head 1 | setfields a=1, c=, b="x y" | table a b c') == [{"a": "1", "b": "x y", "c": ""}]
