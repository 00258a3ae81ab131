"""makemv, mvexpand, nomv and the multivalue eval functions.

Splunk Search Reference pages:
"makemv" (delim= default a single space; tokenizer= keeps each match of the first group; empty values
dropped unless allowempty=true): https://help.splunk.com/splunk-enterprise/spl-search-reference/9.2/search-commands/makemv
"mvexpand" (one result per value, limit= the first N values; a result without the field is kept):
https://help.splunk.com/splunk-enterprise/spl-search-reference/9.2/search-commands/mvexpand
"nomv" (the values joined by newlines): https://help.splunk.com/splunk-enterprise/spl-search-reference/9.2/search-commands/nomv
"Multivalue eval functions" (mvcount, mvindex 0-based with negative from the end, mvjoin, mvappend,
mvdedup, mvsort lexicographic, mvfind, mvfilter, split):
https://help.splunk.com/splunk-enterprise/spl-search-reference/9.2/evaluation-functions/multivalue-eval-functions
"""

from __future__ import annotations

import pytest

from tests.spl.golden._util import dump, ev, rows_of

EVENTS = ev(
    "id=1 tags=red|green||blue",       # (the test extractor stops at commas)
    "id=2 tags=solo",
    "id=3",
)


def test_makemv_delim_and_count():
    rows = rows_of('* | makemv delim="|" tags | eval n=mvcount(tags) | table id tags n', EVENTS, "id", "tags", "n")
    assert rows == [("1", ["red", "green", "blue"], 3), ("2", ["solo"], 1), ("3", None, None)]


def test_makemv_allowempty_and_tokenizer():
    rows = rows_of('* | makemv delim="|" allowempty=true tags | eval n=mvcount(tags) | table n', EVENTS, "n")
    assert rows == [4, 1, None]
    rows = rows_of('id=1 | makemv tokenizer="([a-z]+)e" tags | table tags', EVENTS, "tags")
    assert rows == [["r", "gre", "blu"]]            # "gree" matches with the group "gre"


def test_makemv_default_delimiter_is_a_space():
    rows = rows_of('id=2 | eval s="a b  c" | makemv s | table s', EVENTS, "s")
    assert rows == [["a", "b", "c"]]


def test_mvexpand():
    rows = rows_of('* | makemv delim="|" tags | mvexpand tags | table id tags', EVENTS, "id", "tags")
    assert rows == [("1", "red"), ("1", "green"), ("1", "blue"), ("2", "solo"), ("3", None)]
    rows = rows_of('* | makemv delim="|" tags | mvexpand limit=2 tags | table id tags', EVENTS, "id", "tags")
    assert rows == [("1", "red"), ("1", "green"), ("2", "solo"), ("3", None)]


def test_nomv():
    rows = rows_of('id=1 | makemv delim="|" tags | nomv tags | table tags', EVENTS, "tags")
    assert rows == ["red\ngreen\nblue"]


def test_stats_by_a_multivalue_field():
    # each value of a multivalue field counts for stats by (stats page; id=3 has no tags: left out)
    rows = rows_of('* | makemv delim="|" tags | stats count by tags', EVENTS, "tags", "count")
    assert rows == [("blue", 1), ("green", 1), ("red", 1), ("solo", 1)]


MV2 = ev("k=a|b|a n=1", "k=b n=2", "k=c|b n=4", "n=8")


def test_stats_by_a_multivalue_field_from_split_and_values():
    # split gives k = [a,b,a], [b], [c,b]; with dedup_splitvals=false (the default) a value repeated in one
    # result counts each time: a: 1+1 (twice in the first), b: 1 + 2 + 4, c: 4
    q = '* | eval k=split(k, "|") | stats count, sum(n) as s by k'
    assert rows_of(q, MV2, "k", "count", "s") == [("a", 2, 2), ("b", 3, 7), ("c", 1, 4)]
    q = '* | eval k=split(k, "|") | stats dedup_splitvals=true count by k'
    assert rows_of(q, MV2, "k", "count") == [("a", 1), ("b", 3), ("c", 1)]
    # the Search Reference's place for it: after the by-clause
    q = '* | eval k=split(k, "|") | stats count by k dedup_splitvals=true'
    assert rows_of(q, MV2, "k", "count") == [("a", 1), ("b", 3), ("c", 1)]
    # a renamed list is still a list
    q = '* | eval k=split(k, "|") | rename k as kk | stats count by kk'
    assert rows_of(q, MV2, "kk", "count") == [("a", 2), ("b", 3), ("c", 1)]
    # values() makes a list: by n, values(k) = [a, b], [b], [b, c] (each list's distinct values of
    # its one result); counted by each value: a 1, b 3, c 1
    q = '* | eval k=split(k, "|") | stats values(k) as v by n | stats count by v'
    assert rows_of(q, MV2, "v", "count") == [("a", 1), ("b", 3), ("c", 1)]
    # values()/list() over a list field take every value of every list: values sorted and distinct,
    # list in result order (results newest first: [a,b,a], [b], [c,b])
    q = '* | eval k=split(k, "|") | stats values(k) as v, list(k) as l'
    assert rows_of(q, MV2, "v", "l") == [(["a", "b", "c"], ["a", "b", "a", "b", "c", "b"])]


def test_stats_by_two_multivalue_fields_counts_each_combination():
    # x = [p, q], y = [1, 2] in one result: the four combinations count once each
    q = '* | eval x=split("p,q", ","), y=split("1,2", ",") | stats count by x, y'
    assert rows_of(q, ev("a=1"), "x", "y", "count") == [("p", "1", 1), ("p", "2", 1), ("q", "1", 1), ("q", "2", 1)]


def test_mvexpand_then_stats_by_is_single_valued():
    rows = rows_of('* | makemv delim="|" tags | mvexpand tags | stats count by tags', EVENTS, "tags", "count")
    assert rows == [("blue", 1), ("green", 1), ("red", 1), ("solo", 1)]


def test_single_valued_by_fields_compile_as_before():
    # a by-field that is not a known list is grouped as it is: no UNNEST in the SQL
    from tests.spl.golden._util import sql

    assert "UNNEST" not in sql('* | stats count by host')
    assert "UNNEST" not in sql('* | eval k=mvjoin(split(a, ","), ";") | stats count by k')
    assert "UNNEST" not in sql('* | rex "u=(?<user>\\w+)" | stats count by user')
    assert 'SELECT * REPLACE (UNNEST("k") AS "k")' in sql('* | eval k=split(a, ",") | stats count by k')


@pytest.mark.parametrize("expr, expected", [
    ('mvcount(split("a,b,c", ","))', 3),
    ('mvindex(split("a,b,c", ","), 0)', "a"),
    ('mvindex(split("a,b,c", ","), -1)', "c"),
    ('mvindex(split("a,b,c,d", ","), 1, 2)', ["b", "c"]),
    ('mvjoin(split("a,b,c", ","), ";")', "a;b;c"),
    ('mvappend("x", split("a,b", ","), "y")', ["x", "a", "b", "y"]),
    ('mvdedup(split("b,a,b,c,a", ","))', ["b", "a", "c"]),                 # first occurrences, in order
    ('mvdedup(split("z,z", ","))', ["z"]),
    ('mvsort(split("b,10,A,9,a", ","))', ["10", "9", "A", "a", "b"]),       # lexicographic
    ('mvfind(split("ab,cd,ce", ","), "^c")', 1),
    ('mvcount(null())', None),
])
def test_mv_functions(expr, expected):
    assert rows_of(f"id=2 | eval v={expr} | table v", EVENTS, "v") == [expected]


def test_if_case_coalesce_keep_a_multivalue_branch():
    # if(X, Y, Z) ("Comparison and Conditional functions": Y when X is true, else Z); Y a multivalue:
    # id=1 gets the two values, the others the single value z (a one-value list); mvcount 2 / 1
    q = '* | eval v=if(id="1", split("x|y", "|"), "z"), n=mvcount(v), t=typeof(v) | table id v n t'
    assert rows_of(q, EVENTS, "id", "v", "n", "t") == [
        ("1", ["x", "y"], 2, "Multivalue"), ("2", ["z"], 1, "String"), ("3", ["z"], 1, "String")]
    # case: the first true condition's value; none true -> null
    q = '* | eval v=case(id="1", split("x|y", "|"), id="2", 7) | table v'
    assert rows_of(q, EVENTS, "v") == [["x", "y"], ["7"], None]
    # a field holding a list (makemv) in one branch, and stats by the result counts each value
    q = '* | makemv delim="|" tags | eval v=if(isnull(tags), "none", tags) | stats count by v'
    assert rows_of(q, EVENTS, "v", "count") == [("blue", 1), ("green", 1), ("none", 1), ("red", 1), ("solo", 1)]


def test_mvfilter_on_a_field():
    rows = rows_of('id=1 | makemv delim="|" tags | eval r=mvfilter(match(tags, "e")) | table r', EVENTS, "r")
    assert rows == [["red", "green", "blue"]]
    rows = rows_of('id=1 | makemv delim="|" tags | eval r=mvfilter(tags!="red") | table r', EVENTS, "r")
    assert rows == [["green", "blue"]]


# --- SPL -> AST ---------------------------------------------------------------------------------


@pytest.mark.parametrize("query, expected", [
    ('x | makemv delim="|" allowempty=t tags | mvexpand limit=5 tags | nomv tags',
     "Pipeline(commands=[SearchCmd(expr=Term(text='x', quoted=False)), ArgsCmd(name='makemv', options={'delim': '|', "
     "'allowempty': 't'}, args=['tags']), ArgsCmd(name='mvexpand', options={'limit': '5'}, args=['tags']), "
     "ArgsCmd(name='nomv', options={}, args=['tags'])])"),
])
def test_multivalue_ast(query, expected):
    assert dump(query) == expected


# --- SPL -> SQL ---------------------------------------------------------------------------------


def test_mvcount_split_sql():
    # expected by hand: the length of the split list of the extracted text (shared as "__x0" by
    # spl/cse.py; checked against the compiler's text and adopted)
    from tests.spl.golden._util import sql

    x_a = "NULLIF(REGEXP_EXTRACT(\"_raw\", '(?:^|[\\s,;])' || 'a' || '=([^\\s,;]+)', 1), '')"
    assert sql('* | eval n=mvcount(split(a, ","))') == (
        "WITH s0 AS (SELECT * FROM __events__ WHERE TRUE), s1 AS (SELECT *, LEN(STRING_SPLIT(CAST(\"__x0\" AS TEXT), "
        "',')) AS \"n\" FROM (SELECT *, " + x_a + " AS \"__x0\" FROM s0) AS s0) SELECT * EXCLUDE (\"__x0\") FROM s1 "
        "ORDER BY \"_time\" DESC")
