"""eval and where: operators, null propagation, functions, case-sensitive comparisons.

Splunk Search Reference, "eval" (operators: `.` concatenates, `+` adds numbers or concatenates two
strings; null operands give null):
https://help.splunk.com/splunk-enterprise/spl-search-reference/9.4/search-commands/eval
"where" ("The <eval-expression> is case-sensitive"; unquoted words are field names):
https://help.splunk.com/splunk-enterprise/spl-search-reference/9.2/search-commands/where
Evaluation functions (Comparison and Conditional, Conversion, Mathematical, Text):
https://help.splunk.com/splunk-cloud-platform/spl-search-reference/9.3.2408/evaluation-functions/comparison-and-conditional-functions
"""

from __future__ import annotations

import pytest

from tests.spl.golden._util import dump, ev, offsets, rows_of, run, sql

EVENTS = ev(
    "user=alice status=200 bytes=100 dur=1.5",      # -10
    "user=Bob status=404 bytes=2000",               # -20
    "user=carol status=500 bytes=abc",              # -30  bytes is not a number
    "user=dave status=503",                         # -40  no bytes
    "status=200 bytes=7 src=10.1.2.3",              # -50  no user
    "user=erin bytes=30 src=192.168.0.5",           # -60  no status
)


@pytest.mark.parametrize("query, expected", [
    # arithmetic on extracted (string) values; a non-numeric or missing operand gives null
    ("eval kb=bytes/1000", [0.1, 2.0, None, None, 0.007, 0.03]),
    ("eval t=status+1", [201, 405, 501, 504, 201, None]),
    ("eval m=status%7", [4, 5, 3, 6, 4, None]),
    # `.` concatenation; null when an operand is null
    ('eval s=user."-".status', ["alice-200", "Bob-404", "carol-500", "dave-503", None, None]),
    # case(): first true condition; null when none; true() as the default branch
    ('eval c=case(status>=500, "server", status>=400, "client")', [None, "client", "server", "server", None, None]),
    ('eval c=case(status>=500, "server", status>=400, "client", true(), "other")',
     ["other", "client", "server", "server", "other", "other"]),
    # if(): the false value when the predicate is not true (null included)
    ('eval c=if(status==200, "ok", "no")', ["ok", "no", "no", "no", "ok", "no"]),
    ('eval c=coalesce(user, src, "none")', ["alice", "Bob", "carol", "dave", "10.1.2.3", "erin"]),
    ('eval c=nullif(user, "alice")', [None, "Bob", "carol", "dave", None, "erin"]),
    ("eval c=tostring(isnull(bytes))", ["False", "False", "False", "True", "False", "False"]),   # a bare boolean is an error
    ('eval c=if(isnum(bytes), "n", "s")', ["n", "n", "s", "s", "n", "n"]),
    ("eval c=tonumber(bytes)", [100, 2000, None, None, 7, 30]),
    ("eval c=len(user)", [5, 3, 5, 4, None, 4]),
    ("eval c=upper(user)", ["ALICE", "BOB", "CAROL", "DAVE", None, "ERIN"]),
    ('eval c=if(cidrmatch("192.168.0.0/16", src), "lan", "wan")', ["wan", "wan", "wan", "wan", "wan", "lan"]),
    # field names are case-sensitive: User is another (missing) field
    ("eval c=coalesce(User, \"missing\")", ["missing"] * 6),
])
def test_eval_results(query, expected):
    name = query.split("=")[0].split()[-1]
    assert rows_of(f"* | {query} | table {name}", EVENTS, name) == expected


@pytest.mark.parametrize("expr, expected", [
    # examples from the evaluation function pages, worked by hand
    ('7/2', 3.5),
    ('7%3', 1),
    ('"a"+"b"', "ab"),                                 # + concatenates two strings
    ('"abc"."1"', "abc1"),
    ('1 . 2', "12"),                                   # numbers concatenate as text
    ('substr("splunk", 2, 3)', "plu"),                 # 1-based start
    ('substr("splunk", -3)', "unk"),                   # negative start counts from the end
    ('round(3.14159, 2)', 3.14),
    ('round(2.5)', 3),
    ('floor(-1.5)', -2),
    ('ceiling(1.2)', 2),
    ('pow(2, 10)', 1024),
    ('sqrt(9)', 3),
    ('abs(-4)', 4),
    ('len("naïve")', 5),
    ('lower("MiXeD")', "mixed"),
    ('trim("  x  ")', "x"),
    ('ltrim("zzabc", "z")', "abc"),
    ('rtrim("abc  ")', "abc"),
    ('replace("1/14/2017", "^(\\d{1,2})/(\\d{1,2})/", "\\2/\\1/")', "14/1/2017"),
    ('tostring(1234567.891, "commas")', "1,234,567.89"),
    ('tostring(615, "duration")', "00:10:15"),
    ('tostring(255, "hex")', "0xFF"),
    ('tonumber("12abc")', None),
    ('if(like("foobar", "foo%"), 1, 0)', 1),
    ('if(like("foobar", "f_o%"), 1, 0)', 1),
    ('if(match("abc", "^A"), 1, 0)', 0),               # regexes are case-sensitive
    ('if(in("b", "a", "b"), 1, 0)', 1),
    ('if("b" IN ("a", "b"), 1, 0)', 1),
    ('if("abc" < "abd", 1, 0)', 1),
    ('if(10 < 9, 1, 0)', 0),                           # two numbers: numeric order
    ('case(1==2, "x")', None),
    ('null()', None),
    ('strftime(0, "%Y-%m-%d %H:%M:%S")', "1970-01-01 00:00:00"),
    ('strptime("2023-11-14 22:13:20", "%Y-%m-%d %H:%M:%S")', 1700000000),
    ('mvcount(split("a,b,c", ","))', 3),
    ('max(1, 3, 2)', 3),
    ('min(4, "2", 3)', "2"),                          # a mixed call gives text (numbers below strings)
    ('printf("%04d|%.2f|%s", 42, 3.14159, "x")', "0042|3.14|x"),
])
def test_eval_functions(expr, expected):
    rows = rows_of(f"user=alice | eval c={expr} | table c", EVENTS, "c")
    if isinstance(expected, float):
        assert [float(r) for r in rows] == [pytest.approx(expected)]
    else:
        assert rows == [expected]


@pytest.mark.parametrize("query, expected", [
    ("where status>=500", [-30, -40]),
    ('where user="Bob"', [-20]),
    ('where user="bob"', []),                           # case-sensitive
    ("where user=Bob", []),                             # unquoted: the field named Bob (missing)
    ("where user=user", [-10, -20, -30, -40, -60]),     # a field compared with itself (null excluded)
    ('where user!="alice"', [-20, -30, -40, -60]),       # null is not unequal
    ("where isnull(user)", [-50]),
    ("where isnotnull(bytes) AND bytes>50", [-10, -20]),
    ("where bytes>50 OR isnull(status)", [-10, -20, -60]),
    ('where like(src, "10.%")', [-50]),
    ('where match(user, "^[a-c]")', [-10, -30]),
    ('where cidrmatch("192.168.0.0/16", src)', [-60]),
    ("where status IN (200, 404)", [-10, -20, -50]),
    ('where in(user, "alice", "erin")', [-10, -60]),
    ("where status=200 XOR isnull(user)", [-10]),
    ('where User="alice"', []),
    ("where len(user) > 4", [-10, -30]),
])
def test_where_results(query, expected):
    assert offsets("* | " + query, EVENTS) == expected


def test_eval_is_sequential_and_overwrites():
    # "The search processes multiple eval expressions left-to-right and lets you reference previously
    # evaluated fields in subsequent expressions." An existing field is overwritten.
    rows = rows_of("user=alice | eval status=status*2, s2=status+1, user=upper(user) | table status s2 user",
                   EVENTS, "status", "s2", "user")
    assert rows == [(400, 401, "ALICE")]


# --- SPL -> AST ---------------------------------------------------------------------------------


@pytest.mark.parametrize("query, expected", [
    ('| eval c=if(a>1, "x", null()), d=-b*2',
     "Pipeline(commands=[EvalCmd(assignments=[('c', Call(name='if', args=[BinOp(op='>', left=Field(name='a'), "
     "right=Num(text='1')), Str(value='x'), Call(name='null', args=[])])), ('d', BinOp(op='*', "
     "left=UnOp(op='-', operand=Field(name='b')), right=Num(text='2')))])])"),
    # OR < AND < NOT < comparison; `x IN (...)` is the in() function
    ("| where NOT a=1 OR b IN (1, \"2\") AND c",
     "Pipeline(commands=[WhereCmd(expr=BinOp(op='OR', left=UnOp(op='NOT', operand=BinOp(op='=', "
     "left=Field(name='a'), right=Num(text='1'))), right=BinOp(op='AND', left=Call(name='in', "
     "args=[Field(name='b'), Num(text='1'), Str(value='2')]), right=Field(name='c'))))])"),
    # single quotes name a field; `.` and `+` are at one level, left to right
    ("| eval s='my field'.\"x\"+1",
     "Pipeline(commands=[EvalCmd(assignments=[('s', BinOp(op='+', left=BinOp(op='.', "
     "left=Field(name='my field'), right=Str(value='x')), right=Num(text='1')))])])"),
])
def test_eval_where_ast(query, expected):
    assert dump(query) == expected


# --- SPL -> SQL ---------------------------------------------------------------------------------


def test_eval_sql_literal_arithmetic():
    # expected by hand: the search, then one stage adding the column. The compiler wraps each
    # operand of + in parentheses (checked: the same expression) and that text is kept; whole
    # literals are BIGINT, so 86400*40000 does not overflow DuckDB's 32-bit INTEGER.
    assert sql("x | eval n=1+2") == (
        "WITH s0 AS (SELECT * FROM __events__ WHERE \"_raw\" ILIKE '%x%' ESCAPE '\\' AND "
        "REGEXP_MATCHES(\"_raw\", '(?i)(?:^|[^0-9a-z])x(?:[^0-9a-z]|$)')), "
        "s1 AS (SELECT *, (CAST(1 AS BIGINT)) + (CAST(2 AS BIGINT)) AS \"n\" FROM s0) SELECT * FROM s1 "
        "ORDER BY \"_time\" DESC")


def test_where_sql_numeric_comparison():
    # where status>=500 on events: TRY_CAST of the extracted value to DOUBLE, null counts as false;
    # merged into the first SELECT; `*` compiles to TRUE (checked by hand against the compiler's text)
    x = ("SELECT *, NULLIF(REGEXP_EXTRACT(\"_raw\", '(?:^|[\\s,;])' || 'status' || '=([^\\s,;]+)', 1), '') "
         "AS \"__x0\" FROM __events__")
    assert sql("* | where status>=500") == (
        f"WITH s0 AS (SELECT * FROM ({x}) AS __events__ WHERE TRUE AND COALESCE(TRY_CAST(\"__x0\" AS DOUBLE) >= 500, FALSE)) "
        "SELECT * EXCLUDE (\"__x0\") FROM s0 ORDER BY \"_time\" DESC")


def test_relative_time_with_a_modifier_computed_per_event():
    # Search Reference: relative_time(X, Y); the corpus writes "+" . days . "d". 86400 (1970-01-02
    # 00:00 UTC) + 3 days = 345600; minus 3 days snapped to the day = -172800; "x3" is no modifier: null
    rows = run('| makeresults | eval d=3, t=relative_time(86400, "+".d."d"), u=relative_time(86400, "-".d."d@d"), '
               'v=relative_time(100, "x".d) | table t u v')
    assert rows == [{"t": 345600.0, "u": -172800.0, "v": None}]


def test_whole_number_arithmetic_past_32_bits_and_mvexpand_of_unordered_results():
    # 86400 * 40000 = 3,456,000,000 (past 2^31): NOW - that = 1,700,000,000 - 3,456,000,000
    rows = run("* | head 1 | eval x=_time - 86400*40000, y=2147483647+1 | table x y")
    assert rows == [{"x": 1_700_000_000 - 10 - 3_456_000_000, "y": 2_147_483_648}]
    # values() of a stats without by has no row order; mvexpand still gives one row per value
    rows = run("* | stats values(status) as v | mvexpand v | table v")
    assert [r["v"] for r in rows] == ["200", "401", "404", "500", "503"]
