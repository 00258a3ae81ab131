"""reltime and tojson, each against its Splunk Search Reference page (reltime: 9.1,
search-commands/reltime; tojson: 9.2, search-commands/tojson); expected values worked out by hand.

Events (newest first, NOW = 1700000000, offsets in seconds):
  -10    "id=1 n=7 flag=yes doc={\"a\":[1]} tags=x"
  -3700  "id=2 n=abc flag=0 doc={broken tags=y"
  -90000 "id=3 flag=maybe"
"""

from __future__ import annotations

import pytest

from speleo.errors import SplError
from tests.spl.golden._util import NOW, ev, run

EVENTS = ev((-10, 'id=1 n=7 flag=yes doc={"a":[1]} tags=x'), (-3700, "id=2 n=abc flag=0 doc={broken tags=y"),
            (-90000, "id=3 flag=maybe"))


def table(query: str) -> list[dict]:
    return run(query, rows=EVENTS)


# --- reltime ---------------------------------------------------------------------------------------

def test_reltime_names_the_largest_whole_unit():
    # 10 s -> "10 seconds ago"; 3700 s = 1 h 1 min 40 s -> "1 hour ago"; 90000 s = 1 day 1 h -> "1 day ago"
    rows = table("* | reltime | table id reltime")
    assert [(r["id"], r["reltime"]) for r in rows] == [("1", "10 seconds ago"), ("2", "1 hour ago"), ("3", "1 day ago")]


def test_reltime_future_plural_now_and_several_fields():
    # the search's now comes from the compile context (NOW), not the wall clock.
    # soon = _time + 7200: id 1 at NOW+7190 -> "in 1 hour" (7190 // 3600 = 1); id 2 at NOW+3500 ->
    # "in 58 minutes" (3500 // 60); id 3 at NOW-82800 -> "23 hours ago".
    # same = NOW exactly -> "now"; old = NOW - 2 years of 365 days -> "2 years ago";
    # mid = NOW - 45 days -> "1 month ago" (a month is 30 days)
    rows = table(f'* | eval soon=_time+7200, same={NOW}, old={NOW} - 2*365*86400, mid={NOW} - 45*86400 '
                 '| reltime timefield="soon,same,old,mid" | table id reltime_soon reltime_same reltime_old reltime_mid')
    assert [(r["reltime_soon"], r["reltime_same"], r["reltime_old"], r["reltime_mid"]) for r in rows] == [
        ("in 1 hour", "now", "2 years ago", "1 month ago"),
        ("in 58 minutes", "now", "2 years ago", "1 month ago"),
        ("23 hours ago", "now", "2 years ago", "1 month ago")]


def test_reltime_prefix_and_a_value_that_is_not_a_time():
    # prefix=ago_ with one field: ago_<field>; n=abc (id 2) and no n (id 3) give no value;
    # n=7 is 7 s after the epoch: NOW - 7 = 1699999993 s = 19675 days and more -> 53 years of 365 days
    rows = table("* | reltime timefield=n prefix=ago_ | table id ago_n")
    assert [(r["id"], r["ago_n"]) for r in rows] == [("1", "53 years ago"), ("2", None), ("3", None)]


def test_reltime_of_nan_or_an_infinite_time_is_no_value():
    # a time that is no finite number has no relative time; the search still runs (the cast of
    # its unit count to a whole number failed and the whole search with it)
    rows = table('* | eval inf=tonumber("inf"), nan=tonumber("nan") | reltime timefield="inf,nan" '
                 '| table id reltime_inf reltime_nan')
    assert [(r["reltime_inf"], r["reltime_nan"]) for r in rows] == [(None, None)] * 3

def test_reltime_refuses_unknown_options_and_empty_names():
    with pytest.raises(SplError, match="option 'field' is not supported"):
        run("* | reltime field=_time", rows=EVENTS)
    with pytest.raises(SplError, match="a field name is empty"):
        run('* | reltime timefield="a,,b"', rows=EVENTS)


# --- tojson ----------------------------------------------------------------------------------------

def test_tojson_types_each_named_field():
    # id 1: n "7" (none: text -> string), num(n) would be 7; bool(flag) "yes" -> true; json(doc) valid
    # (the test extractor stops at commas, so the event holds a one-item array);
    # auto(tags) "x" -> string. Keys in the order named.
    rows = table("* | tojson id n bool(flag) json(doc) auto(tags) | table _raw")
    assert rows[0]["_raw"] == '{"id":"1","n":"7","flag":true,"doc":{"a":[1]},"tags":"x"}'
    # id 2: bool("0") -> false (a number, 0); json("{broken") is not JSON: skipped, the key left out
    assert rows[1]["_raw"] == '{"id":"2","n":"abc","flag":false,"tags":"y"}'
    # id 3: no n, doc or tags (left out); bool("maybe") skipped
    assert rows[2]["_raw"] == '{"id":"3"}'


def test_tojson_num_auto_fill_null_and_output_field():
    # num(n): 7 -> 7; "abc" skipped -> null with fill_null=true; id 3 has no n: left out.
    # auto(id): "1" reads as a number -> 1. The JSON goes to `out`; _raw stays the event.
    rows = table("* | tojson num(n) auto(id) fill_null=true output_field=out | table out _raw")
    assert [r["out"] for r in rows] == ['{"n":7,"id":1}', '{"n":null,"id":2}', '{"id":3}']
    assert rows[0]["_raw"].startswith("id=1 ")


def test_tojson_numbers_lists_and_default_type():
    # a count (a number) stays a number under none; values() is a JSON array; default_type=str makes
    # the fields without a function strings; the wildcard's matches in alphabetical order
    rows = table('* | stats count values(id) as ids by flag | where flag="yes" | tojson')
    assert rows[0]["_raw"] == '{"count":1,"flag":"yes","ids":"1"}'   # one value: a scalar, as in Splunk
    rows = table("* | stats count values(flag) as flags | tojson")
    assert rows[0]["_raw"] == '{"count":3,"flags":["0","maybe","yes"]}'
    rows = table("* | stats count values(flag) as flags | tojson default_type=str")
    assert rows[0]["_raw"] == '{"count":"3","flags":["0","maybe","yes"]}'
    rows = table("* | stats count values(flag) as flags | tojson bool(flags)")
    assert rows[0]["_raw"] == '{"flags":[false,true]}'   # "maybe" skipped


def test_tojson_of_events_includes_search_time_fields_and_internal_ones_on_request():
    # the last command of a search sees the events' fields; _time only with include_internal=true
    rows = run("id=3 | tojson", rows=EVENTS)
    assert rows[0]["_raw"] == ('{"flag":"maybe","host":"h1","id":"3","index":"main","linecount":1,'
                               '"source":"/var/log/st","sourcetype":"st"}')
    rows = run("id=3 | tojson str(_time) str(id)", rows=EVENTS)   # named: included
    assert rows[0]["_raw"] == '{"_time":"1699910000","id":"3"}'


@pytest.mark.parametrize("query, why", [
    ("* | tojson text(id)", "unknown type function 'text'"),
    ("* | tojson str(id", "after str"),
    ("* | tojson default_type=date", "default_type='date'"),
    ("* | tojson fill_null=perhaps", "expected true or false"),
])
def test_tojson_errors_say_what_is_wrong(query, why):
    with pytest.raises(SplError, match=why):
        run(query, rows=EVENTS)
