"""contingency (aliases counttable, ctable) against its Splunk Search Reference page (9.4,
search-commands/contingency); expected tables worked out by hand below.

Events (newest first, offsets in seconds from NOW):
  -10 method=GET status=200      -60 method=PUT status=200
  -20 method=GET status=200      -70 method=GET              (no status: not counted)
  -30 method=GET status=404      -80 status=404              (no method: not counted)
  -40 method=POST status=200     -90 method=DELETE status=404
  -50 method=POST status=500

Pairs counted (7): GET/200 x2, GET/404, POST/200, POST/500, PUT/200, DELETE/404.
Row totals: GET 3, POST 2, DELETE 1, PUT 1 (DELETE before PUT: equal counts by value).
Column totals: 200 -> 4, 404 -> 2, 500 -> 1.
"""

from __future__ import annotations

import pytest

from speleo.errors import SplError
from speleo.query.post import collect_messages
from tests.spl.golden._util import ev, run

EVENTS = ev("method=GET status=200", "method=GET status=200", "method=GET status=404", "method=POST status=200",
            "method=POST status=500", "method=PUT status=200", "method=GET", "status=404",
            "method=DELETE status=404")


def table(query: str) -> list[tuple]:
    return [tuple(r.values()) for r in run(query, rows=EVENTS)]


FULL = [  # method, 200, 404, 500, TOTAL
    ("GET", 2, 1, 0, 3),
    ("POST", 1, 0, 1, 2),
    ("DELETE", 0, 1, 0, 1),
    ("PUT", 1, 0, 0, 1),
    ("TOTAL", 4, 2, 1, 7),
]


def test_contingency_counts_pairs_most_common_first_with_totals():
    rows = run("* | contingency method status", rows=EVENTS)
    assert list(rows[0]) == ["method", "200", "404", "500", "TOTAL"]
    assert [tuple(r.values()) for r in rows] == FULL


@pytest.mark.parametrize("word", ["counttable", "ctable"])
def test_aliases_and_maxrows_zero_mean_the_same_table(word):
    # maxrows=0: the limits.conf ceiling (1000), so every value here
    assert table(f"* | {word} maxrows=0 maxcols=0 method status") == FULL


def test_usetotal_false_and_totalstr():
    assert table("* | contingency usetotal=false method status") == [r[:4] for r in FULL[:4]]
    rows = run("* | contingency totalstr=All method status", rows=EVENTS)
    assert list(rows[0]) == ["method", "200", "404", "500", "All"]
    assert rows[-1]["method"] == "All" and rows[-1]["All"] == 7


def test_maxrows_maxcols_keep_the_most_common_and_totals_are_of_what_is_shown():
    # rows GET, POST; columns 200, 404. GET: 2, 1 -> 3; POST: 1, 0 -> 1; totals 3, 1 -> 4
    # (POST/500 and the other rows are left out of every total)
    with collect_messages() as said:
        rows = table("* | contingency maxrows=2 maxcols=2 method status")
    assert rows == [("GET", 2, 1, 3), ("POST", 1, 0, 1), ("TOTAL", 3, 1, 4)]
    assert said == ["contingency left out the 2 least common values of method",
                    "contingency left out the 1 least common value of status"]


def test_mincover_keeps_values_until_they_hold_the_fraction():
    # 7 pairs, half = 3.5. Rows: GET holds 3 (< 3.5), with POST 5 -> GET, POST.
    # Columns: 200 alone holds 4 (>= 3.5) -> 200 only. GET: 2 -> 2; POST: 1 -> 1; totals 3 -> 3
    assert table("* | contingency minrowcover=0.5 mincolcover=0.5 method status") == [
        ("GET", 2, 2), ("POST", 1, 1), ("TOTAL", 3, 3)]
    # maxrows wins when reached first: 0.9 of 7 = 6.3 needs all 4 rows (3, 5, 6, 7); maxrows=1 stops at GET
    assert table("* | contingency minrowcover=0.9 maxrows=1 usetotal=f method status") == [("GET", 2, 1, 0)]


def test_empty_values_are_EMPTY_STR_and_ties_order_by_value():
    # PUT's status becomes "": columns 200 (GET 2, POST 1) = 3, 404 = 2, then 500 and EMPTY_STR
    # with 1 each, by value ("500" < "EMPTY_STR")
    rows = run('* | eval s=if(method="PUT", "", status) | contingency usetotal=f method s', rows=EVENTS)
    assert list(rows[0]) == ["method", "200", "404", "500", "EMPTY_STR"]
    assert [tuple(r.values()) for r in rows] == [("GET", 2, 1, 0, 0), ("POST", 1, 0, 1, 0), ("DELETE", 0, 1, 0, 0),
                                                 ("PUT", 0, 0, 0, 1)]


def test_a_value_named_like_another_column_gets_a_suffix():
    # totalstr=200: the totals column is "200", so status 200's column becomes "200_1"
    rows = run("* | contingency totalstr=200 method status", rows=EVENTS)
    assert list(rows[0]) == ["method", "200_1", "404", "500", "200"]
    assert tuple(rows[-1].values()) == ("200", 4, 2, 1, 7)


def test_multivalue_counts_under_each_distinct_value_and_later_commands_run():
    # the two newest events (GET/200) with tags x, y, x: each distinct tag once per event
    assert table('* | head 2 | eval tags=split("x,y,x", ",") | contingency method tags') == [
        ("GET", 2, 2, 4), ("TOTAL", 2, 2, 4)]
    rows = run('* | contingency method status | where method!="TOTAL" | table method TOTAL', rows=EVENTS)
    assert rows == [{"method": "GET", "TOTAL": 3}, {"method": "POST", "TOTAL": 2}, {"method": "DELETE", "TOTAL": 1},
                    {"method": "PUT", "TOTAL": 1}]


def test_no_pair_gives_no_results():
    assert run("* | contingency method nosuchfield", rows=EVENTS) == []


@pytest.mark.parametrize("query, why, column", [
    ("* | contingency method", "needs exactly two fields", 22),
    ("* | contingency method status x", r"3 given, found 'x'", 30),
    ("* | contingency maxcols=ten method status", "maxcols='ten': expected a whole number", 24),
    ("* | contingency mincolcover=2 method status", "a fraction above 0 and at most 1", 28),
    ("* | contingency usetotal=maybe method status", "expected true or false", 25),
    ("* | contingency meth* status", "cannot hold a wildcard", 16),
    ("* | ctable rows=5 method status", r"^ctable: unknown option 'rows'", 11),
])
def test_errors_say_what_is_wrong_and_where(query, why, column):
    with pytest.raises(SplError, match=why) as info:
        run(query, rows=EVENTS)
    assert info.value.column == column + 1   # offsets in the query from 0; SplError's column from 1


def test_not_in_a_subsearch():
    with pytest.raises(SplError, match="not supported in a subsearch"):
        run("* | append [search * | contingency method status]", rows=EVENTS)
