"""Comparisons on a multivalue field in where, eval and search; the "." operator on one.

Splunk Search Reference pages:
"where" and "eval" (eval expressions; `=` is case-sensitive, numbers compare as numbers when both
sides are numbers). That a comparison on a multivalue field is true when any value makes it true is
Splunk's behaviour as issue 15 states it; the pages do not spell it out for where/eval:
https://help.splunk.com/splunk-enterprise/spl-search-reference/9.2/search-commands/where
https://help.splunk.com/splunk-enterprise/spl-search-reference/9.2/search-commands/eval
"search" (field=value on a multivalue field matches when any value matches; `!=` needs a value and
none equal): https://help.splunk.com/splunk-enterprise/spl-search-reference/9.2/search-commands/search
"Multivalue eval functions" (mvjoin, mvmap join or map the values when a single value is wanted):
https://help.splunk.com/splunk-enterprise/spl-search-reference/9.2/evaluation-functions/multivalue-eval-functions

Events (newest first): n=1 k=a|b|a, n=2 k=b, n=4 k=c|b, n=8 (no k). After split(k, "|"):
n=1 [a, b, a], n=2 [b], n=4 [c, b], n=8 null.
"""

from __future__ import annotations

from tests.spl.golden._util import ev, rows_of

EVENTS = ev("k=a|b|a n=1", "k=b n=2", "k=c|b n=4", "n=8")


def test_where_equals_any_value_after_split_and_makemv():
    assert rows_of('* | eval k=split(k, "|") | where k="a" | table n', EVENTS, "n") == ["1"]
    assert rows_of('* | eval k=split(k, "|") | where k="b" | table n', EVENTS, "n") == ["1", "2", "4"]
    assert rows_of('* | makemv delim="|" k | where k="c" | table n', EVENTS, "n") == ["4"]
    # eval's = is case-sensitive: no value is "A"
    assert rows_of('* | eval k=split(k, "|") | where k="A" | table n', EVENTS, "n") == []


def test_where_on_values_and_mvappend():
    # values(k) by n: 1 [a, b], 2 [b], 4 [b, c] (n=8 has no k: values() null, the row kept)
    q = '* | eval k=split(k, "|") | stats values(k) as v by n | where v="c" | table n'
    assert rows_of(q, EVENTS, "n") == ["4"]
    # mvappend("q", n): [q, 1] ... [q, 8]; only n=8 has the value 8
    assert rows_of('* | eval m=mvappend("q", n) | where m=8 | table n', EVENTS, "n") == ["8"]
    assert rows_of('* | eval m=mvappend("q", n) | where m="q" | table n', EVENTS, "n") == ["1", "2", "4", "8"]


def test_not_equal_and_ordering_are_any_value_too():
    # != true when some value differs from "a": [a, b, a] has b, [b], [c, b]; n=8 has no value
    assert rows_of('* | eval k=split(k, "|") | where k!="a" | table n', EVENTS, "n") == ["1", "2", "4"]
    # != "b": [a, b, a] has a, [b] none, [c, b] has c
    assert rows_of('* | eval k=split(k, "|") | where k!="b" | table n', EVENTS, "n") == ["1", "4"]
    # numbers: split(n."|3") = [n, 3]; > 3 when n > 3 (the 3 is not > 3): 4 and 8
    assert rows_of('* | eval m=split(n."|3", "|") | where m>3 | table n', EVENTS, "n") == ["4", "8"]
    # compared as numbers, not text: "10" > 9 (as text "10" < "9")
    assert rows_of('* | eval m=split(n."|10", "|") | where m>9 | table n', EVENTS, "n") == ["1", "2", "4", "8"]


def test_eval_if_and_case_on_a_multivalue_field():
    q = '* | eval k=split(k, "|") | eval x=if(k="a", 1, 0), y=case(k="c", "has c", true(), "no") | table n x y'
    assert rows_of(q, EVENTS, "n", "x", "y") == [("1", 1, "no"), ("2", 0, "no"), ("4", 0, "has c"),
                                                  ("8", 0, "no")]


def test_search_on_a_multivalue_field_still_any_value():
    assert rows_of('* | eval k=split(k, "|") | search k=a | table n', EVENTS, "n") == ["1"]
    # search's != : a value and none equal to b -> none of 1, 2, 4 (all hold b); n=8 has no value
    assert rows_of('* | eval k=split(k, "|") | search k!=b | table n', EVENTS, "n") == []
    assert rows_of('* | eval k=split(k, "|") | stats values(k) as v by n | search v=c | table n',
                   EVENTS, "n") == ["4"]


def test_concatenation_with_a_multivalue_operand_gives_no_value():
    # "." joins single values; a multivalue operand gives null (mvjoin joins the values)
    q = '* | eval k=split(k, "|") | eval x=k."z", y=mvjoin(k, ",")."z" | table n x y'
    assert rows_of(q, EVENTS, "n", "x", "y") == [("1", None, "a,b,az"), ("2", None, "bz"), ("4", None, "c,bz"),
                                                  ("8", None, None)]


def test_fillnull_leaves_a_multivalue_field_multivalue():
    # fillnull fills null fields only (Search Reference: fillnull): [a, b, a], [b] and [c, b] keep their
    # values (they were printed as "[a, b, a]" text and no value compared); n=8's null k becomes [0]
    q = '* | eval k=split(k, "|") | fillnull | where k="b" | table n'
    assert rows_of(q, EVENTS, "n") == ["1", "2", "4"]
    q = '* | eval k=split(k, "|") | fillnull value=none k | eval c=mvcount(k) | where k="none" | table n c'
    assert rows_of(q, EVENTS, "n") == ["8"]
    assert rows_of('* | eval k=split(k, "|") | fillnull k | eval c=mvcount(k) | table c', EVENTS, "c") == \
        [3, 1, 2, 1]
