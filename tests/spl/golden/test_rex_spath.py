"""rex, regex, spath, extract.

Splunk Search Reference pages:
"rex" (named groups become fields; `field=` default _raw; `max_match=0` every match as a multivalue
field; `mode=sed` with "s/regex/replacement/flags" (g = every match) and "y/from/to/"; a field is only set
where the regex matches): https://help.splunk.com/splunk-enterprise/spl-search-reference/9.4/search-commands/rex
"regex" (keeps results whose field matches, `!=` those that do not; unanchored, case-sensitive; default
_raw): https://help.splunk.com/splunk-enterprise/spl-search-reference/9.4/search-commands/regex
"spath" (`path=` dotted path, `{}` every array item as a multivalue field, `{N}` the N-th item counting
from 1, `output=`, `input=`; without a path every path becomes a field):
https://help.splunk.com/splunk-enterprise/spl-search-reference/9.4/search-commands/spath
"""

from __future__ import annotations

import pytest

from tests.spl.golden._util import dump, ev, offsets, rows_of, run, sql

EVENTS = ev(
    "src=10.0.0.1 dst=10.0.0.2 user=alice msg=login_ok",          # -10
    "src=10.0.0.3 user=Bob msg=login_FAILED port=22",             # -20
    "heartbeat",                                                  # -30
)

JSON = ev(
    '{"user": {"name": "ann", "id": 7}, "tags": ["a", "b"], "n": 1}',
    '{"user": {"name": "bob"}, "tags": [], "n": 2}',
    "not json user=carol",
)


@pytest.mark.parametrize("query, col, expected", [
    ('rex "user=(?<u>\\w+)"', "u", ["alice", "Bob", None]),
    ('rex "(?<a>\\d+)\\.(?<b>\\d+)"', "b", ["0", "0", None]),          # the first match only
    ('rex field=msg "login_(?<result>\\w+)"', "result", ["ok", "FAILED", None]),
    ('rex "USER=(?<u>\\w+)"', "u", [None, None, None]),               # case-sensitive
    ('rex "(?i)USER=(?<u>\\w+)"', "u", ["alice", "Bob", None]),
    ('rex max_match=0 "(?<ip>\\d+\\.\\d+\\.\\d+\\.\\d+)"', "ip", [["10.0.0.1", "10.0.0.2"], ["10.0.0.3"], None]),
    ('rex max_match=1 "(?<ip>\\d+\\.\\d+\\.\\d+\\.\\d+)"', "ip", ["10.0.0.1", "10.0.0.3", None]),
    ('rex field=nosuch "(?<z>.)"', "z", [None, None, None]),
    # where the regex does not match, an existing field keeps its value
    ('eval u="none" | rex "user=(?<u>\\w+)"', "u", ["alice", "Bob", "none"]),
    ('rex "user=(?<user>[a-z]+)"', "user", ["alice", "Bob", None]),  # "Bob" does not match: the extracted value stays
    # mode=sed
    ('rex field=msg mode=sed "s/login_/L:/"', "msg", ["L:ok", "L:FAILED", None]),
    ('rex mode=sed "s/\\d+/N/g"', "_raw", ["src=N.N.N.N dst=N.N.N.N user=alice msg=login_ok",
                                          "src=N.N.N.N user=Bob msg=login_FAILED port=N", "heartbeat"]),
    ('rex mode=sed "s/\\d+/N/"', "_raw", ["src=N.0.0.1 dst=10.0.0.2 user=alice msg=login_ok",
                                         "src=N.0.0.3 user=Bob msg=login_FAILED port=22", "heartbeat"]),
    ('rex field=msg mode=sed "y/ok/OK/"', "msg", ["lOgin_OK", "lOgin_FAILED", None]),
    ('rex field=msg mode=sed "s/(\\w+)_(\\w+)/\\2-\\1/"', "msg", ["ok-login", "FAILED-login", None]),
])
def test_rex(query, col, expected):
    assert rows_of(f"* | {query} | table {col}", EVENTS, col) == expected


def test_rex_sed_example_from_the_reference():
    # rex page example: mask the first three groups of a credit card number
    rows = rows_of('heartbeat | eval cc="1234-5678-9012-3456" | rex field=cc mode=sed "s/(\\d{4}-){3}/XXXX-XXXX-XXXX-/g"'
                   " | table cc", EVENTS, "cc")
    assert rows == ["XXXX-XXXX-XXXX-3456"]


@pytest.mark.parametrize("query, expected", [
    ('regex user="^[a-z]+$"', [-10]),
    ('regex _raw="port=\\d+"', [-20]),
    ('regex "login"', [-10, -20]),
    ('regex "LOGIN"', []),
    ('search user=* | regex user!="^a"', [-20]),
    ('regex src="^10\\.0\\.0\\.[13]$"', [-10, -20]),
])
def test_regex(query, expected):
    assert offsets("* | " + query, EVENTS) == expected


@pytest.mark.parametrize("query, col, expected", [
    ("spath path=user.name", "user.name", ["ann", "bob", None]),
    ("spath output=uid path=user.id", "uid", ["7", None, None]),
    ("spath user.name output=who", "who", ["ann", "bob", None]),
    ("spath path=tags{} output=t", "t", [["a", "b"], None, None]),
    ("spath path=tags{1} output=t1", "t1", ["a", None, None]),
    ("spath path=tags{2} output=t2", "t2", ["b", None, None]),
    ("spath path=nosuch.path output=x", "x", [None, None, None]),
    ("spath | eval m=n*10", "m", [10, 20, None]),
    ('eval j="{\\"k\\": {\\"v\\": 5}}" | spath input=j path=k.v output=kv', "kv", ["5", "5", "5"]),
])
def test_spath(query, col, expected):
    assert rows_of(f"* | {query} | table {col}", JSON, col) == expected


def test_extract_keeps_key_value_fields():
    assert rows_of("* | extract | table user", EVENTS, "user") == ["alice", "Bob", None]


# --- SPL -> AST ---------------------------------------------------------------------------------


@pytest.mark.parametrize("query, expected", [
    ('x | rex field=msg max_match=0 "(?<w>\\w+)"',
     "Pipeline(commands=[SearchCmd(expr=Term(text='x', quoted=False)), RexCmd(field='msg', regex='(?<w>\\\\w+)', "
     "max_match=0)])"),
    ('x | rex "(?<a>.)"',
     "Pipeline(commands=[SearchCmd(expr=Term(text='x', quoted=False)), RexCmd(field='_raw', regex='(?<a>.)')])"),
    ('x | rex field=m mode=sed "s/a/b/g"',
     "Pipeline(commands=[SearchCmd(expr=Term(text='x', quoted=False)), RexSedCmd(field='m', op='s', regex='a', "
     "replacement='b', occurrence=1, every=True)])"),
    ('x | regex f!="^a"',
     "Pipeline(commands=[SearchCmd(expr=Term(text='x', quoted=False)), RegexCmd(field='f', negate=True, regex='^a')])"),
    ("x | spath input=j output=o path=a.b{}",
     "Pipeline(commands=[SearchCmd(expr=Term(text='x', quoted=False)), SpathCmd(input='j', output='o', path='a.b{}')])"),
])
def test_rex_spath_ast(query, expected):
    assert dump(query) == expected


# --- SPL -> SQL ---------------------------------------------------------------------------------


def test_rex_sql():
    # expected by hand: the group extracted from _raw (NULLIF '' = no match), else the field's value
    # before rex (here the key=value extraction of "u", shared as "__x0" by spl/cse.py); checked
    # against the compiler's text and adopted.
    x_u = "NULLIF(REGEXP_EXTRACT(\"_raw\", '(?:^|[\\s,;])' || 'u' || '=([^\\s,;]+)', 1), '')"
    assert sql('* | rex "u=(?<u>\\d+)"') == (
        "WITH s0 AS (SELECT * FROM __events__ WHERE TRUE), s1 AS (SELECT *, COALESCE(NULLIF(REGEXP_EXTRACT("
        "CAST(\"_raw\" AS TEXT), 'u=(?P<u>\\d+)', 1), ''), \"__x0\") AS \"u\" FROM (SELECT *, " + x_u +
        " AS \"__x0\" FROM s0) AS s0) SELECT * EXCLUDE (\"__x0\") FROM s1 ORDER BY \"_time\" DESC")


def test_regex_sql():
    assert sql('* | regex "a.c"') == (
        "WITH s0 AS (SELECT * FROM __events__ WHERE TRUE AND COALESCE(REGEXP_MATCHES(CAST(\"_raw\" AS TEXT), 'a.c'), "
        "FALSE)) SELECT * FROM s0 ORDER BY \"_time\" DESC")


def test_spath_array_path_beside_a_key_value_field_of_the_same_name():
    # spath without path=: `sourceIPs{}` is the array's values (a list); an event without the
    # JSON but with a key=value pair of that name gives its value as a one-value list (before,
    # DuckDB refused to mix the list and the text: 7 searches of the detection corpus)
    # (the harness extracts `log` as key=value text up to a comma: one element, no comma)
    events = ev((-10, 'log={"sourceIPs":["1.2.3.4"]}', "h", "x"), (-20, "sourceIPs{}=9.9.9.9", "h", "x"))
    assert run("* | spath input=log | table sourceIPs{}", rows=events) == [
        {"sourceIPs{}": ["1.2.3.4"]}, {"sourceIPs{}": ["9.9.9.9"]}]


MANY = ev("w1 w2 w3 w4 w5 w6 w7 w8 w9 w10 w11 (x) end", "abcdefghijk1 abcdefghijk2 abcdefghijk3")


def test_rex_groups_after_the_ninth():
    # DuckDB's RE2 functions read groups 0..9 only; the corpus's nginx rex has 17 named groups.
    # Eleven groups, one unnamed (the 2nd) and a class holding "(" (not a group): g11 is the
    # 11th word, "w11"; g10 "w10"; tail is the 12th group, "(x)" without its brackets -> "x"
    pattern = (r"^(?<g1>\S+) (\S+) (?<g3>\S+) (?<g4>\S+) (?<g5>\S+) (?<g6>\S+) (?<g7>\S+) (?<g8>\S+) "
               r"(?<g9>\S+) (?<g10>\S+) (?<g11>\S+) [(](?<tail>\w)\)")
    rows = rows_of(f'w1 | rex "{pattern}" | table g1 g9 g10 g11 tail', MANY, "g1", "g9", "g10", "g11", "tail")
    assert rows == [("w1", "w9", "w10", "w11", "x")]


def test_rex_max_match_with_a_group_after_the_ninth():
    # (regexp_extract_all has no limit of 9 groups; this guards it) group 12 (n) is the digit after
    # each "abcdefghijk": every match, 1 2 3; group 11 (k) is "k" each time
    rows = rows_of(r'abcdefghijk1 | rex max_match=0 "(a)(b)(c)(d)(e)(f)(g)(h)(i)(j)(?<k>k)(?<n>\d)" | table k n',
                   MANY, "k", "n")
    assert rows == [(["k", "k", "k"], ["1", "2", "3"])]
