"""Numbers shown as text the way Splunk shows them: a computed whole number has no ".0".
Splunk's eval keeps numbers as doubles and prints 12, not 12.0 (Search Reference, eval: "."
concatenates strings and numbers, e.g. `eval full=first." ".last`; tonumber, stats sum/avg
and values() over numbers)."""

from __future__ import annotations

import pytest

from tests.spl.golden._util import ev, run

ROWS = ev("n=6", "n=6")


@pytest.mark.parametrize("query, want", [
    ('* | head 1 | eval x=tonumber("12") | eval y="a".x | table y', [{"y": "a12"}]),
    ('* | head 1 | eval x=tonumber("12") | fields x | eval y="a".x | table y', [{"y": "a12"}]),
    ('* | stats sum(n) as s | eval y="total ".s | table y', [{"y": "total 12"}]),
    ('* | stats avg(n) as s | eval y=s."/s" | table y', [{"y": "6/s"}]),
    ('* | head 1 | eval x=3/2 | eval y="a".x | table y', [{"y": "a1.5"}]),
])
def test_concatenation_prints_whole_numbers_without_a_decimal_point(query, want):
    assert run(query, rows=ROWS) == want


def test_values_of_numbers_are_printed_as_splunk_does():
    # 2.5 * 1, 2.5 * 2: 2.5 and 5 (sorted as text)
    rows = run("* | streamstats count as c | eval x=c*2.5 | stats values(x) as x", rows=ROWS)
    assert rows == [{"x": ["2.5", "5"]}]


def test_a_number_joined_to_a_multivalue_field_is_printed_as_splunk_does():
    rows = run('* | head 1 | eval x=mvappend(tonumber("3"), "a") | table x', rows=ROWS)
    assert rows == [{"x": ["3", "a"]}]


def test_functions_taking_text_see_a_whole_number_without_its_decimal_point():
    # n=6: n*2.0 is 12 (a double): if() mixing it with text, substr, upper, replace and len all
    # see "12" (not "12.0": replace would give "1x.0", len 4)
    rows = run('* | head 1 | eval a=if(n>1, n*2.0, "none"), b=substr(n*2.0, 1), c=upper(n*2.0), '
               'd=replace(n*2.0, "2", "x"), e=len(n*2.0) | table a b c d e', rows=ROWS)
    assert rows == [{"a": "12", "b": "12", "c": "12", "d": "1x", "e": 2}]
