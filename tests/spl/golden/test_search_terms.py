"""search command: terms, phrases, field comparisons, booleans, IN, TERM(), CASE(), wildcards.

Splunk Search Reference, "search":
https://help.splunk.com/splunk-enterprise/spl-search-reference/9.2/search-commands/search
Search Manual, "Use CASE() and TERM() to match phrases":
https://help.splunk.com/splunk-enterprise/search/search-manual/9.0/search-primer/use-case-and-term-to-match-phrases
Search Manual, "Difference between NOT and !=" (the search page links it): `field!=value` only returns
events that have the field; `NOT field=value` also returns events without it.
"""

from __future__ import annotations

import pytest

from tests.spl.golden._util import dump, ev, offsets, sql

# offsets -10 .. -90, newest first
EVENTS = ev(
    "login ok user=Alice status=200 src=10.0.0.1",          # -10
    "login FAILED user=bob status=404 src=10.0.0.2",        # -20
    "logout user=carol status=500 code=500a",               # -30
    "GET /cart.do user=dave status=503 bytes=12",           # -40
    "heartbeat ok",                                         # -50  no fields at all
    "error: user=eve status=abc",                           # -60  non-numeric status
    "127.0.0.1 - Login user=Frank status=301",              # -70
    "failed-login user=alice status=302 ip=127.0.0.1",      # -80
    "Error code=E42 user=ALICE",                            # -90  no status
)


@pytest.mark.parametrize("query, expected", [
    # Terms are case-insensitive and match whole tokens (minor breakers such as '-' split tokens).
    ("login", [-10, -20, -70, -80]),
    ("LOGIN", [-10, -20, -70, -80]),
    ("log*", [-10, -20, -30, -70, -80]),           # trailing wildcard
    ("*out", [-30]),                               # leading wildcard
    ("error", [-60, -90]),
    ('"login ok"', [-10]),                         # quoted phrase: the words next to each other
    ('"failed"', [-20, -80]),
    ("login ok", [-10]),                           # implicit AND, anywhere in the event
    ("cart.do", [-40]),
    ("heartbeat", [-50]),
    ("*", [-10, -20, -30, -40, -50, -60, -70, -80, -90]),
    # Boolean operators: NOT, OR binds tighter than the implied AND, parentheses.
    ("NOT login", [-30, -40, -50, -60, -90]),
    ("login status=404 OR status=302", [-20, -80]),
    ("(login OR logout) NOT user=alice", [-20, -30, -70]),
    ("login AND ok", [-10]),
    # field=value: values are case-insensitive; field names are case-sensitive.
    ("user=alice", [-10, -80, -90]),
    ("user=ALICE", [-10, -80, -90]),
    ('user="alice"', [-10, -80, -90]),
    ("User=alice", []),
    ("user=al*", [-10, -80, -90]),
    ("user=*e", [-10, -40, -60, -80, -90]),
    ("src=10.0.0.*", [-10, -20]),
    ("status=5*", [-30, -40]),
    ("status=*", [-10, -20, -30, -40, -60, -70, -80]),
    # != needs the field; NOT field=value also keeps the events without the field.
    ("status!=200", [-20, -30, -40, -60, -70, -80]),
    ("NOT status=200", [-20, -30, -40, -50, -60, -70, -80, -90]),
    ("user!=alice", [-20, -30, -40, -60, -70]),
    ("NOT user=alice", [-20, -30, -40, -50, -60, -70]),
    # Comparisons with a number compare numerically; non-numeric values do not match.
    ("status>=500", [-30, -40]),
    ("status<300", [-10]),
    ("status>301", [-20, -30, -40, -80]),
    ("status<=301", [-10, -70]),
    ("bytes=12", [-40]),
    ("bytes=12.0", [-40]),                          # numeric equality
    # IN: a list of values, each may have wildcards; case-insensitive.
    ("status IN (200, 404)", [-10, -20]),
    ("status IN (5*, 301)", [-30, -40, -70]),
    ("user IN (ALICE, bob)", [-10, -20, -80, -90]),
    ("NOT status IN (200, 404)", [-30, -40, -50, -60, -70, -80, -90]),
    # TERM(): the whole token including minor breakers, bounded by major breakers.
    ("TERM(127.0.0.1)", [-70]),
    ("127.0.0.1", [-70, -80]),                      # without TERM: 127 AND 0 AND 1, post-filtered as a phrase
    # CASE(): case-sensitive term or field value.
    ("CASE(Login)", [-70]),
    ("CASE(login)", [-10, -20, -80]),
    ("user=CASE(ALICE)", [-90]),
    ("user=CASE(alice)", [-80]),
    ("CASE(Err*)", [-90]),
])
def test_search_results(query, expected):
    assert offsets(query, EVENTS) == expected


def test_search_after_a_pipe_filters_results():
    # `search` later in the pipeline filters the rows it receives (same rules as the first search).
    assert offsets("login | search status>300", EVENTS) == [-20, -70, -80]
    assert offsets("* | search NOT status=*", EVENTS) == [-50, -90]


# --- SPL -> AST ---------------------------------------------------------------------------------


@pytest.mark.parametrize("query, expected", [
    ("login NOT user=alice",
     "Pipeline(commands=[SearchCmd(expr=And(items=[Term(text='login', quoted=False), "
     "Not(item=FieldCmp(field='user', op='=', value='alice', quoted=False))]))])"),
    # OR binds tighter than the implied AND
    ("a b OR c d",
     "Pipeline(commands=[SearchCmd(expr=And(items=[Term(text='a', quoted=False), Or(items=[Term(text='b', "
     "quoted=False), Term(text='c', quoted=False)]), Term(text='d', quoted=False)]))])"),
    ('status IN (5*, "404") "two words" TERM(10.0.0.1)',
     "Pipeline(commands=[SearchCmd(expr=And(items=[FieldIn(field='status', values=['5*', '404']), "
     "Term(text='two words', quoted=True), TermDirective(text='10.0.0.1', quoted=False)]))])"),
    ("CASE(Error) user=CASE(Bob)",
     "Pipeline(commands=[SearchCmd(expr=And(items=[CaseTerm(text='Error', quoted=False), "
     "CaseFieldCmp(field='user', op='=', value='Bob', quoted=False)]))])"),
    ("x | search (a OR b) c>=1 earliest=-1h",
     "Pipeline(commands=[SearchCmd(expr=Term(text='x', quoted=False)), SearchCmd(expr=And(items=["
     "Or(items=[Term(text='a', quoted=False), Term(text='b', quoted=False)]), "
     "FieldCmp(field='c', op='>=', value='1', quoted=False), TimeBound(which='earliest', text='-1h')]))])"),
])
def test_search_ast(query, expected):
    assert dump(query) == expected


# --- SPL -> SQL ---------------------------------------------------------------------------------
# Written by hand, then compared with the compiler: it computes each search-time field once in
# an inner SELECT (`AS "__x0"`, see spl/cse.py) and drops it with EXCLUDE; checked that this is
# the same condition, and adopted that text.

X_USER = ("SELECT *, NULLIF(REGEXP_EXTRACT(\"_raw\", '(?:^|[\\s,;])' || 'user' || '=([^\\s,;]+)', 1), '') "
          "AS \"__x0\" FROM __events__")


def _term(t):
    return (f"\"_raw\" ILIKE '%{t}%' ESCAPE '\\' AND "
            f"REGEXP_MATCHES(\"_raw\", '(?i)(?:^|[^0-9a-z]){t}(?:[^0-9a-z]|$)')")


def test_search_sql_field_equals():
    # a case-insensitive comparison of the extracted value, never null
    assert sql("user=Bob") == (
        "WITH s0 AS (SELECT * FROM (" + X_USER + ") AS __events__ WHERE "
        "COALESCE(LOWER(CAST(\"__x0\" AS TEXT)) = 'bob', FALSE)) "
        "SELECT * EXCLUDE (\"__x0\") FROM s0 ORDER BY \"_time\" DESC")


def test_search_sql_not_equal_needs_the_field():
    assert sql("user!=bob") == (
        "WITH s0 AS (SELECT * FROM (" + X_USER + ") AS __events__ WHERE "
        "COALESCE(NOT \"__x0\" IS NULL AND NOT (COALESCE(LOWER(CAST(\"__x0\" AS TEXT)) = 'bob', FALSE)), FALSE)) "
        "SELECT * EXCLUDE (\"__x0\") FROM s0 ORDER BY \"_time\" DESC")


def test_search_sql_or_binds_tighter_than_and():
    # a b OR c = a AND (b OR c); each term: an ILIKE prefilter and the exact token regex
    assert sql("a b OR c") == (
        f"WITH s0 AS (SELECT * FROM __events__ WHERE ({_term('a')}) AND (({_term('b')}) OR ({_term('c')}))) "
        "SELECT * FROM s0 ORDER BY \"_time\" DESC")


def test_search_sql_term_directive():
    # TERM(x): x between Splunk's major breakers, case-insensitive
    major = "[\\s\\[\\]<>(){}|!;,''\\\"*&?+]"
    assert sql("TERM(10.0.0.1)") == (
        "WITH s0 AS (SELECT * FROM __events__ WHERE COALESCE(REGEXP_MATCHES(\"_raw\", "
        f"'(?i)(?:^|{major})10\\.0\\.0\\.1(?:{major}|$)'), FALSE)) SELECT * FROM s0 ORDER BY \"_time\" DESC")


@pytest.mark.parametrize("query, expected", [
    # Search Reference, search: a value in CIDR notation matches the IP addresses in that range
    # (`src="10.9.165.0/24"`); it matched only the same text, so nothing. src: -10 10.0.0.1,
    # -20 10.0.0.2; ip: -80 127.0.0.1
    ("src=10.0.0.0/24", [-10, -20]),
    ('src="10.0.0.2/32"', [-20]),
    ("src=10.0.0.0/31", [-10]),                    # 10.0.0.0 and 10.0.0.1
    ("src!=10.0.0.0/31", [-20]),                   # != needs the field
    ("NOT src=10.0.0.0/31", [-20, -30, -40, -50, -60, -70, -80, -90]),
    ('ip IN (127.0.0.0/8, 10.0.0.0/8)', [-80]),
    ("src=10.0.0.0/33", []),                       # not a network: the text itself, found nowhere
])
def test_cidr_values_match_address_ranges(query, expected):
    assert offsets(query, EVENTS) == expected
