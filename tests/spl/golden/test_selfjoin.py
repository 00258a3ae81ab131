"""selfjoin against its Splunk Search Reference page (9.2, search-commands/selfjoin): the
page's extended example is reproduced as written, its output table copied from the page; the
other expected rows are worked out by hand below.

The extended example's five results (a = 1..5, _time 60 s apart, oldest first, one key x):
  a=1 b=nada1      c=somethingelse1
  a=2 b=something2 c=(none)
  a=3 b=nada3      c=somethingelse3
  a=4 b=something4 c=(none)
  a=5 b=nada5      c=somethingelse5
"""

from __future__ import annotations

import pytest

from speleo.errors import SplError
from tests.spl.golden._util import NOW, ev, run

EXAMPLE = ('| makeresults count=5 | streamstats count as a | eval _time = _time + (60*a) | eval joiner="x" '
           '| eval b = if(a%2==0,"something".a,"nada".a), c = if(a%2==1,"somethingelse".a,null()) ')


def rows(query: str, *cols, events=()) -> list[tuple]:
    return [tuple(r.get(c) for c in cols) for r in run(query, rows=list(events))]


def test_the_references_extended_example():
    # the page: "Row 1 is joined with row 2 and returned as row 2" ... "Row 5 has no other row to join with";
    # row 2 has no c, so row 1's somethingelse1 stays; row 4 likewise keeps row 3's c
    assert rows(EXAMPLE + "| selfjoin joiner", "_time", "a", "b", "c", "joiner") == [
        (NOW + 120, 2, "something2", "somethingelse1", "x"),
        (NOW + 180, 3, "nada3", "somethingelse3", "x"),
        (NOW + 240, 4, "something4", "somethingelse3", "x"),
        (NOW + 300, 5, "nada5", "somethingelse5", "x")]


def test_overwrite_false_keeps_the_main_results_values():
    # the same pairs (1,2) (2,3) (3,4) (4,5); the main result's value wins, the other's fills a gap:
    # (2,3): row 2 has no c -> somethingelse3; (4,5): -> somethingelse5
    assert rows(EXAMPLE + "| selfjoin overwrite=false joiner", "a", "b", "c") == [
        (1, "nada1", "somethingelse1"), (2, "something2", "somethingelse3"), (3, "nada3", "somethingelse3"),
        (4, "something4", "somethingelse5")]


def test_max_zero_joins_every_later_result():
    # pairs (main, other): 1 with 2..5, 2 with 3..5, 3 with 4..5, 4 with 5: 10 rows, in the place of the other,
    # then of the main: (1,2) (1,3) (2,3) (1,4) (2,4) (3,4) (1,5) (2,5) (3,5) (4,5).
    # a is the other's; c the other's, else the main's: other 4 has none -> mains 1, 2, 3 give
    # somethingelse1, none (row 2 has no c either), somethingelse3
    assert rows(EXAMPLE + "| selfjoin max=0 joiner", "a", "c") == [
        (2, "somethingelse1"), (3, "somethingelse3"), (3, "somethingelse3"), (4, "somethingelse1"), (4, None),
        (4, "somethingelse3"), (5, "somethingelse5"), (5, "somethingelse5"), (5, "somethingelse5"),
        (5, "somethingelse5")]


def test_max_two():
    # 1 with 2, 3; 2 with 3, 4; 3 with 4, 5; 4 with 5 -> by other: (1,2) (1,3) (2,3) (2,4) (3,4) (3,5) (4,5)
    assert rows(EXAMPLE + "| selfjoin max=2 joiner", "a") == [(2,), (3,), (3,), (4,), (4,), (5,), (5,)]


# Results without _time (Splunk's output for this search, from a user's report of it): ids 1..4 with
# owners, then ids 1..3 again without. Equal (here no) _time keeps Splunk's search order, the later result
# first, so the second "1" (ichiro) is the main result and "aka" the other, whose values win.
EMPLOYEES = ('| makeresults count=7 | streamstats count as n | eval id=(n-1)%4+1, '
             'name=case(n=1,"aka",n=2,"ao",n=3,"shiro",n=4,"kuro",n=5,"ichiro",n=6,"jiro",n=7,"saburo"), '
             'owner_id=case(n=1,1,n=2,2,n=3,1,n=4,4) | fields - _time ')


def test_keepsingle():
    assert rows(EMPLOYEES + "| selfjoin id | table id name owner_id", "id", "name", "owner_id") == [
        (1, "aka", 1), (2, "ao", 2), (3, "shiro", 1)]
    # kuro (id 4, alone) is kept, unchanged, in its place
    assert rows(EMPLOYEES + "| selfjoin keepsingle=true id | table id name owner_id", "id", "name", "owner_id") == [
        (1, "aka", 1), (2, "ao", 2), (3, "shiro", 1), (4, "kuro", 4)]


# Events (newest first): ann's two events join (the newer one's fields win, returned in its place);
# bob and carl are alone; the last event has no user and is left out even with keepsingle.
EVENTS = ev("user=ann role=admin", "user=bob shell=zsh", "user=ann shell=bash", "user=carl", "role=guest")


def test_events_newest_wins_search_time_fields_and_keepsingle():
    assert rows("* | selfjoin user | table _time user role shell", "_time", "user", "role", "shell",
                events=EVENTS) == [(NOW - 10, "ann", "admin", "bash")]
    assert rows("* | selfjoin keepsingle=t user | table user role shell", "user", "role", "shell", events=EVENTS) == [
        ("ann", "admin", "bash"), ("bob", None, "zsh"), ("carl", None, None)]


def test_commands_after_selfjoin():
    assert run("* | selfjoin keepsingle=t user | stats count", rows=EVENTS) == [{"count": 3}]


@pytest.mark.parametrize("query, why, offset", [
    ("* | selfjoin", "needs the fields to join on", 12),
    ("* | selfjoin max=-1 user", r"max='-1': expected a whole number", 17),
    ("* | selfjoin overwrite=perhaps user", "expected true or false", 23),
    ("* | selfjoin user keep=true", r"unknown option 'keep' \(options: overwrite, max, keepsingle\)", 18),
    ("* | selfjoin us*", "cannot hold a wildcard", 13),
])
def test_errors_say_what_is_wrong_and_where(query, why, offset):
    with pytest.raises(SplError, match=why) as info:
        run(query, rows=EVENTS)
    assert info.value.column == offset + 1   # offsets in the query from 0; SplError's column from 1


def test_not_in_a_subsearch():
    with pytest.raises(SplError, match="not supported in a subsearch"):
        run("* | append [search * | selfjoin user]", rows=EVENTS)
