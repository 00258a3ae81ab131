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


@pytest.mark.xfail(strict=True, reason="stats by a multivalue field groups by the whole list instead of by each "
                   "value (commands/stats.py)")
def test_stats_by_a_multivalue_field():
    # each value of a multivalue field counts for stats by
    rows = rows_of('* | makemv delim="|" tags | stats count by tags', EVENTS, "tags", "count")
    assert rows == [("blue", 1), ("green", 1), ("red", 1), ("solo", 1)]


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
