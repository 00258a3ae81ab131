"""Behaviours real searches depend on, each as the Splunk Search Reference documents it (issue 15).

Pages (https://help.splunk.com/splunk-enterprise/spl-search-reference/9.4/...):
- search-commands/fillnull: `fillnull [value=<string>] [<field-list>]`; real searches also write the
  option after the fields (`fillnull a b value=NA`), which Splunk accepts.
- search-commands/dedup: `sortby` "sorts the results" ... the results are sorted first and the first
  result of each combination in that order is kept.
- search-commands/top: `otherstr` "Default: OTHER"; count is a whole number.
- evaluation-functions/mathematical-functions, max(X,...) / min(X,...): numbers compare numerically and
  are below strings; strings compare lexicographically ("max(1, 3, 6, 7, "foo", field)" returns "foo").
- evaluation-functions/date-and-time-functions (strftime, strptime) and "Date and time format variables":
  %F = %Y-%m-%d, %T = %H:%M:%S, %Q / %N subseconds (%3Q default for %Q, %9N for %N), %s epoch seconds,
  %+ "date and time with time zone" (%a %b %e %H:%M:%S %Z %Y), %z +hhmm, %Z abbreviation, %e / %k / %l
  blank padded day / 24-hour / 12-hour, %p AM/PM, %j day of year, %U week (Sunday first), %V ISO week.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from speleo.errors import SplSyntaxError
from tests.spl.golden._util import ev, offsets, rows_of, run

ABC = ev("a=1", "b=2", "c=3")


def test_fillnull_value_after_the_field_list():
    # a missing in the 2nd and 3rd events, b in the 1st and 3rd; c untouched (not listed)
    got = rows_of("* | fillnull a b value=NA | table a b c", ABC, "a", "b", "c")
    assert got == [("1", "NA", None), ("NA", "2", None), ("NA", "NA", "3")]
    assert rows_of("* | fillnull value=NA a | table a", ABC, "a") == ["1", "NA", "NA"]


DEDUP = ev((-10, "x=1", "h1"), (-20, "x=5", "h2"), (-30, "x=9", "h1"), (-40, "x=3", "h2"))


def test_dedup_sortby_sorts_first():
    # sort -x: 9 (h1, -30), 5 (h2, -20), 3 (h2, -40), 1 (h1, -10); the first of each host: -30, -20
    assert offsets("* | dedup host sortby -x", DEDUP) == [-30, -20]
    # sort +x: 1 (h1, -10), 3 (h2, -40) ...
    assert offsets("* | dedup host sortby +x", DEDUP) == [-10, -40]


def test_top_otherstr_defaults_to_OTHER_and_counts_are_integers():
    rows = run("* | top limit=1 useother=t host", rows=DEDUP)
    # h1 and h2 both 2 of 4: the first by value order is kept, the other becomes OTHER
    assert [r["host"] for r in rows][1] == "OTHER"
    assert [(r["count"], r["percent"]) for r in rows] == [(2, 50.0), (2, 50.0)]
    assert all(type(r["count"]) is int for r in rows)


@pytest.mark.parametrize("expr, expected", [
    ('min(3, 11, "abc")', "3"),          # numbers below strings
    ('max(3, 11, "abc")', "abc"),
    ('max("abc", "Abd")', "abc"),        # lexicographic: "a" (0x61) after "A" (0x41)
    ('min("abc", "Abd")', "Abd"),
    ('min(10, 9)', 9),                   # numbers only: numeric
    ('max(x, 50)', "100"),               # x=100 read as a number
    ('min(x, 50)', "50"),
    ('max(x, "zz")', "zz"),
    ('min(nosuch, 7, "q")', "7"),        # a null argument is ignored
])
def test_eval_min_max_mixed(expr, expected):
    assert rows_of(f"* | eval r={expr} | table r", ev("x=100"), "r") == [expected]


NOW_EPOCH = 1_700_000_000          # Tue 2023-11-14 22:13:20 UTC; 17:13:20 EST (UTC-5)


@pytest.mark.parametrize("fmt, utc, new_york", [
    ("%F %T", "2023-11-14 22:13:20", "2023-11-14 17:13:20"),
    ("%+", "Tue Nov 14 22:13:20 UTC 2023", "Tue Nov 14 17:13:20 EST 2023"),
    ("%z %Z", "+0000 UTC", "-0500 EST"),
    ("%s", "1700000000", "1700000000"),
    ("%Q|%3N|%6N|%N", "250|250|250000|250000000", "250|250|250000|250000000"),
    ("[%e] [%k] [%l] %p", "[14] [22] [10] PM", "[14] [17] [ 5] PM"),
    ("%j %U %V %a %A %b %B %y %C", "318 46 46 Tue Tuesday Nov November 23 20",
     "318 46 46 Tue Tuesday Nov November 23 20"),
    ("100%% at %H:%M", "100% at 22:13", "100% at 17:13"),
])
def test_strftime_variables(fmt, utc, new_york):
    q = f'* | eval t=strftime({NOW_EPOCH}.25, "{fmt}") | table t'
    assert rows_of(q, ev("x"), "t") == [utc]
    assert rows_of(q, ev("x"), "t", tz=ZoneInfo("America/New_York")) == [new_york]


def test_strftime_day_and_hour_padding_early_in_the_month():
    # 2023-07-02 03:04:05 UTC = 1688267045; EDT (UTC-4) 2023-07-01 23:04:05
    q = '* | eval t=strftime(1688267045, "%e|%k|%l|%Z") | table t'
    assert rows_of(q, ev("x"), "t") == [" 2| 3| 3|UTC"]
    assert rows_of(q, ev("x"), "t", tz=ZoneInfo("America/New_York")) == [" 1|23|11|EDT"]


@pytest.mark.parametrize("value, fmt, expected", [
    ("2023-11-14T22:13:20", "%FT%T", 1_700_000_000),
    ("14/Nov/2023:22:13:20 +0200", "%d/%b/%Y:%H:%M:%S %z", 1_700_000_000 - 7200),   # the zone in the text wins
    ("1700000000.5", "%s.%3N", 1_700_000_000.5),
    ("1700000000", "%s", 1_700_000_000),
    ("2023-11-14 22:13:20.250", "%F %T.%3N", 1_700_000_000.25),
    (" 4 Nov 2023 10 PM", "%e %b %Y %l %p", 1_699_135_200),     # 2023-11-04 22:00 UTC
    ("not a date", "%F", None),
])
def test_strptime_variables(value, fmt, expected):
    assert rows_of(f'* | eval t=strptime("{value}", "{fmt}") | table t', ev("x"), "t") == [expected]


def test_strptime_reads_wall_clock_time_in_the_search_zone():
    # 17:13:20 in New York (EST) is 22:13:20 UTC
    q = '* | eval t=strptime("2023-11-14 17:13:20", "%F %T") | table t'
    assert rows_of(q, ev("x"), "t", tz=ZoneInfo("America/New_York")) == [1_700_000_000]


def test_unknown_time_format_variable_is_an_error_at_its_place():
    query = '* | eval t=strftime(_time, "%Y %q")'
    with pytest.raises(SplSyntaxError, match="%q") as err:
        run(query, rows=ev("x"))
    assert err.value.query == query


def test_convert_ctime_and_mktime_use_the_same_variables():
    rows = run('* | eval s="2023-11-14 22:13:20" | convert timeformat="%F %T" mktime(s) as m '
               '| eval e=1700000000 | convert timeformat="%F %T %z" ctime(e) as c | table m c', rows=ev("x"))
    assert rows == [{"m": 1_700_000_000, "c": "2023-11-14 22:13:20 +0000"}]


# --- multivalue fields in search (Search Reference: search, "field=value" on a multivalue field
# matches when any of its values matches; makemv, eval split()/mvappend make such fields) -----------

MV = ev("tags=a|b|c user=alice", "tags=b user=bob", "tags=cc|Dd user=carol", "user=dave")


@pytest.mark.parametrize("query, expected", [
    ('makemv delim="|" tags | search tags=b', ["alice", "bob"]),
    ('makemv delim="|" tags | search tags=dd', ["carol"]),            # values compare case-insensitively
    ('makemv delim="|" tags | search tags=c*', ["alice", "carol"]),
    ('makemv delim="|" tags | search NOT tags=b', ["carol", "dave"]),
    ('makemv delim="|" tags | search tags!=b', ["carol"]),            # != needs a value
    ('makemv delim="|" tags | search tags IN (zz, cc)', ["carol"]),
    ('eval m=split(tags, "|") | search m=c', ["alice"]),
    ('eval m=mvappend(user, "x") | search m=x user!=dave', ["alice", "bob", "carol"]),
    ('eval n=split("5,20", ",") | search n>10 user=bob', ["bob"]),   # any value above 10
])
def test_search_on_multivalue_fields(query, expected):
    assert rows_of(f"* | {query} | table user", MV, "user") == expected


# --- list/first/last follow the result order; values lexicographic; earliest/latest by _time
# (Search Reference: Statistical and charting functions, list(), first(), last(), values(),
# earliest(), latest()) -------------------------------------------------------------------------------

ORDERED = ev((-10, "x=10 u=b"), (-20, "x=9 u=B"), (-30, "x=100 u=a"), (-40, "x=abc u=c"))


@pytest.mark.parametrize("pipeline, first, last, lst", [
    ("", "10", "abc", ["10", "9", "100", "abc"]),                    # events: newest first
    ("sort x |", "9", "abc", ["9", "10", "100", "abc"]),             # numbers numerically, then strings
    ("sort -x |", "abc", "9", ["abc", "100", "10", "9"]),
    ("reverse |", "abc", "10", ["abc", "100", "9", "10"]),
])
def test_list_first_last_follow_the_stream(pipeline, first, last, lst):
    row = run(f"* | {pipeline} stats first(x) as f last(x) as l list(x) as li", rows=ORDERED)[0]
    assert (row["f"], row["l"], row["li"]) == (first, last, lst)


def test_values_lexicographic_and_earliest_latest_by_time():
    # _time moved: x=9 becomes the latest event; the stream order (first) is unchanged
    row = run('* | eval _time=if(x=="9", _time+1000, _time) | stats values(u) as v earliest(x) as e '
              'latest(x) as la first(x) as f', rows=ORDERED)[0]
    assert row == {"v": ["B", "a", "b", "c"], "e": "abc", "la": "9", "f": "10"}


# --- booleans (Search Reference: eval "The result of an eval expression cannot be a Boolean";
# Conversion functions, tostring: a Boolean gives "True" / "False"; Informational functions, typeof:
# the example typeof(12) + typeof("string") + typeof(1==2) + typeof(badfield) gives
# "NumberStringBoolInvalid"; where / eval: NOT and ! negate a parenthesised expression) -------------

def test_tostring_and_typeof_of_booleans():
    row = run('* | eval a=tostring(1==1), b=tostring(2<1), t=typeof(12) + typeof("string") + typeof(1==2) '
              '+ typeof(badfield), i=if(isbool(1==1), "y", "n") | table a b t i', rows=ev("x"))[0]
    assert row == {"a": "True", "b": "False", "t": "NumberStringBoolInvalid", "i": "y"}


@pytest.mark.parametrize("query", ["* | eval z=(1==1)", "* | eval ok=isnull(x)", '* | eval m=match(_raw, "a")'])
def test_a_boolean_eval_result_is_an_error(query):
    from speleo.errors import SplError

    with pytest.raises(SplError, match="cannot be a Boolean"):
        run(query, rows=ev("x"))


NUMS = ev("n=10", "n=60", "n=100", "n=abc")


@pytest.mark.parametrize("query, expected", [
    ("where isnum(n) AND NOT (n > 50)", ["10"]),
    ("where isnum(n) AND !(n > 50)", ["10"]),
    ("where isnum(n) AND NOT(n > 50) AND !(n < 5)", ["10"]),
    ('where !(n == "abc")', ["10", "60", "100"]),
    ('where !(n > 50 OR n < 20) AND isnum(n)', []),
    ('eval s=if(isnum(n) AND !(n > 50), "small", "big") | where s="small"', ["10"]),
])
def test_not_and_bang_before_parentheses(query, expected):
    assert rows_of(f"* | {query} | table n", NUMS, "n") == expected


# --- transaction (Search Reference: transaction, "mvlist: ... If false, the multivalue fields hold
# the distinct values, sorted" (the default); "closed_txn" is set with keepevicted=true: 1 for a
# closed transaction, 0 for an evicted one) ---------------------------------------------------------

TXN = ev((-10, "sid=1 user=bob code=7"), (-20, "sid=1 user=alice code=7"), (-30, "sid=2 user=carol"),
         (-40, "sid=1 user=Bob code=10 start"), (-50, "sid=2 user=carol start"))


def test_transaction_merges_search_time_fields():
    rows = run("* | transaction sid | table sid user code eventcount", rows=TXN)
    # newest first: sid 1 opens at -40, sid 2 at -50; values distinct and lexicographic
    assert rows == [
        {"sid": "1", "user": ["Bob", "alice", "bob"], "code": ["10", "7"], "eventcount": 3},
        {"sid": "2", "user": ["carol"], "code": None, "eventcount": 2},
    ]
    # a merged field is multivalue: a search on it matches any value, stats by splits it
    assert rows_of("* | transaction sid | search user=alice | table sid", TXN, "sid") == ["1"]
    assert run("* | transaction sid | stats count by user", rows=TXN) == [
        {"user": "Bob", "count": 1}, {"user": "alice", "count": 1}, {"user": "bob", "count": 1},
        {"user": "carol", "count": 1}]


def test_transaction_closed_txn_with_keepevicted():
    # startswith=code=10: sid 1's first event (-40) has it: closed (1); sid 2's first event (-50)
    # does not: evicted (0). Without keepevicted the evicted one is left out.
    rows = run('* | transaction sid startswith="code=10" keepevicted=true | table sid closed_txn', rows=TXN)
    assert sorted((r["sid"], r["closed_txn"]) for r in rows) == [("1", 1), ("2", 0)]
    rows = run('* | transaction sid startswith="code=10" | table sid', rows=TXN)
    assert rows == [{"sid": "1"}]


# --- computed regexes, makemv tokenizer=(...), TERM(key=value), format and return ---------------------
# Search Reference: Text functions replace(X,Y,Z) / Comparison functions match(SUBJECT, "REGEX") /
# Multivalue functions mvfind(MVFIELD, "REGEX") take a regex from any expression; makemv
# `tokenizer=<string>`; Search Manual "Use CASE() and TERM()" (TERM keeps `=` inside the term);
# search-commands/format: `( ( f1="v1" AND f2="v2" ) OR ( ... ) )`, emptystr default "NOT ( )";
# search-commands/return: `return [count] field | alias=field | $field`, count default 1.

PEOPLE = ev("user=alice site=a1", "user=bob site=b1", "user=carol site=a2")


def test_regex_functions_take_a_computed_pattern():
    rows = run('* | eval p="^" . substr(site, 1, 1), m=if(match(user, p), "y", "n"), r=replace(user, p, "_"), '
               'l=split("x1,a9,b2", ","), i=mvfind(l, p) | table m r i', rows=PEOPLE)
    assert [(r["m"], r["r"], r["i"]) for r in rows] == [("y", "_lice", 1), ("y", "_ob", 2), ("n", "carol", 1)]


def test_makemv_unquoted_tokenizer():
    rows = run('* | eval l="k1=v1;k2=v2 k3=v3" | makemv tokenizer=(\\w+=\\w+) l | table l', rows=ev("x"))
    assert rows == [{"l": ["k1=v1", "k2=v2", "k3=v3"]}]


def test_term_with_key_value():
    events = ev("code=200 path=/x", "code=2000 path=/y", "xcode=200")
    assert rows_of("TERM(code=200) | table path", events, "path") == ["/x"]


def test_format_and_return():
    assert run("* | table user site | format", rows=PEOPLE) == [
        {"search": '( ( user="alice" AND site="a1" ) OR ( user="bob" AND site="b1" ) OR ( user="carol" AND site="a2" ) )'}]
    assert run("* | table user | format maxresults=1", rows=PEOPLE) == [{"search": '( ( user="alice" ) )'}]
    assert run('* | where user="nobody" | table user | format', rows=PEOPLE) == [{"search": "NOT ( )"}]
    assert run("* | return user", rows=PEOPLE) == [{"search": 'user="alice"'}]
    assert run("* | return 2 u=user $site", rows=PEOPLE) == [{"search": '(u="alice" a1) OR (u="bob" b1)'}]


@pytest.mark.parametrize("sub, expected", [
    ("search site=b1 | return user", ["bob"]),
    ("search site=a* | return 2 user", ["alice", "carol"]),
    ("search site=a* | return 1 user", ["alice"]),
    ("search site=a* | table user | format", ["alice", "carol"]),
    ("search site=b1 | return site=user", []),        # site="bob" matches nothing
])
def test_subsearch_ending_with_return_or_format_filters(sub, expected):
    assert rows_of(f"* [{sub}] | table user", PEOPLE, "user") == expected


# --- macros are not expanded inside quoted strings (Search Manual, "Use search macros in searches":
# a macro is a call between backticks in the search text; a quoted string is a value) ----------------

def test_macro_inside_a_quoted_string_is_kept():
    from speleo.spl.macros import MacroDef, expand_macros

    macros = {"web": MacroDef("web", "index=web"), "f(1)": MacroDef("f", "x=$a$", ("a",))}
    assert expand_macros('`web` | eval s="use `web` here"', macros) == 'index=web | eval s="use `web` here"'
    assert expand_macros('search "`web`" `f("q")`', macros) == 'search "`web`" x=q'
    assert expand_macros('a="x\\"`web`" b', macros) == 'a="x\\"`web`" b'      # an escaped quote stays inside


def test_lookup_csv_with_a_byte_order_mark(tmp_path):
    # a CSV saved by Excel starts with EF BB BF: the first column is still named "user"
    (tmp_path / "roles.csv").write_bytes(b"\xef\xbb\xbfuser,role\r\nalice,admin\r\nbob,dev\r\n")
    rows = run("* | lookup roles user OUTPUT role | table user role", rows=PEOPLE, lookups_dir=tmp_path)
    assert rows == [{"user": "alice", "role": "admin"}, {"user": "bob", "role": "dev"}, {"user": "carol", "role": None}]
    assert run("| inputlookup roles.csv", rows=PEOPLE, lookups_dir=tmp_path) == [
        {"user": "alice", "role": "admin"}, {"user": "bob", "role": "dev"}]


# --- head (<eval-expression>) (Search Reference: head: "returns results until the expression is
# false"; null=<bool> "how a null result of the expression counts", default false; keeplast=<bool>
# keeps the result that stopped it; limit=<int> the largest number of results) ------------------------

WHILE = ev("n=1", "n=2", "other", "n=3", "n=10", "n=4")


@pytest.mark.parametrize("cmd, expected", [
    ("head (n<5)", ["1", "2"]),                                  # the missing n (null) stops it
    ("head (n<5) null=true", ["1", "2", None, "3"]),
    ("head (n<5) keeplast=true", ["1", "2", None]),
    ("head (n<5) null=true keeplast=true", ["1", "2", None, "3", "10"]),
    ("head (n<5) null=true limit=3", ["1", "2", None]),
    ("head limit=2 (n<5)", ["1", "2"]),
    ("sort -n | head (n>2)", ["10", "4", "3"]),
])
def test_head_with_an_expression(cmd, expected):
    assert rows_of(f"* | {cmd} | table n", WHILE, "n") == expected


# --- autoregress (Search Reference: autoregress: "copies one or more of the previous values for a
# field into each event", names <field>_p<n>, p default 1, p=<start>-<end> a range, AS for one copy)
# and require ("causes a search to fail if the queries and commands that precede it return zero
# events or results") ------------------------------------------------------------------------------

SERIES = ev("v=1", "v=2", "other", "v=4")


def test_autoregress():
    assert rows_of("* | autoregress v | table v_p1", SERIES, "v_p1") == [None, "1", "2", None]
    assert rows_of("* | autoregress v p=2-3 | table v_p2 v_p3", SERIES, "v_p2", "v_p3") == [
        (None, None), (None, None), ("1", None), ("2", "1")]
    assert rows_of("* | sort -v | autoregress v AS prev | table prev", SERIES, "prev") == [None, "4", "2", "1"]


def test_require():
    assert run("* | require | stats count", rows=SERIES) == [{"count": 4}]
    with pytest.raises(Exception, match="returned no results"):
        run('* | where v="none" | require | stats count', rows=SERIES)


def test_extract_with_pair_and_key_value_delimiters():
    # Search Reference: extract, pairdelim / kvdelim: "a:1|b: two" -> a=1, b=two (a blank after the
    # delimiter is not part of the value); a name with no pair keeps its own value
    rows = run('* | eval _raw="a:1|b: two|c:3" | extract pairdelim="|" kvdelim=":" | table a b c', rows=ev("x"))
    assert rows == [{"a": "1", "b": "two", "c": "3"}]
    rows = run('* | extract pairdelim=";" kvdelim=":" | table k q', rows=ev("k:v;q:w x", "q:z"))
    assert rows == [{"k": "v", "q": "w x"}, {"k": None, "q": "z"}]


# --- streamstats resets (Search Reference: streamstats, reset_on_change: "reset the statistics when
# the group by fields change"; reset_before="(<eval-expression>)" resets before the result that
# matches, reset_after after it) ------------------------------------------------------------------

RUNS = ev("g=a v=1", "g=a v=2", "g=b v=3", "g=a v=4", "g=b v=5")


@pytest.mark.parametrize("cmd, expected", [
    ("streamstats count by g", [1, 2, 1, 3, 2]),
    ("streamstats count reset_on_change=true by g", [1, 2, 1, 1, 1]),
    ('streamstats reset_before="(v==3)" count', [1, 2, 1, 2, 3]),
    ('streamstats count reset_after="v==3"', [1, 2, 3, 1, 2]),
    ('streamstats count sum(v) as s reset_after="v==2"', [1, 2, 1, 2, 3]),
])
def test_streamstats_resets(cmd, expected):
    assert rows_of(f"* | {cmd} | table count", RUNS, "count") == expected


def test_timechart_aligntime():
    # Search Reference: timechart aligntime=<time-specifier>: "Align the bin times to something other
    # than base UTC time (epoch 0)"; ignored for spans of days or more. Events at NOW-10 ... NOW-50
    # (NOW = 22:13:20); @m+7s = 22:13:07, so 15 s buckets start at :07, :22, :37, :52 of a minute:
    # 22:12:22 (NOW-58) holds -50, 22:12:37 (NOW-43) -40 and -30, 22:12:52 (NOW-28) -20, 22:13:07 (NOW-13) -10.
    events = ev("a", "b", "c", "d", "e")
    rows = run("* | timechart span=15s aligntime=@m+7s count", rows=events)
    assert [(round(r["_time"] - NOW_EPOCH), r["count"]) for r in rows] == [(-58, 1), (-43, 2), (-28, 1), (-13, 1)]
    plain = run("* | timechart span=1d aligntime=@m+7s count", rows=events)
    assert plain == run("* | timechart span=1d count", rows=events)


def test_fields_still_extracted_after_removing_raw():
    # Splunk extracts search-time fields before `fields - _raw` removes the text (Search Reference:
    # fields; the Search Manual's "When search-time field extraction happens")
    rows = run("* | fields - _raw | table user site", rows=PEOPLE)
    assert rows == [{"user": "alice", "site": "a1"}, {"user": "bob", "site": "b1"}, {"user": "carol", "site": "a2"}]
    assert run("* | fields - _raw | stats count by site", rows=PEOPLE) == [
        {"site": "a1", "count": 1}, {"site": "a2", "count": 1}, {"site": "b1", "count": 1}]


def test_spath_without_path_on_results():
    # Search Reference: spath: without path= every JSON path of the input becomes a field; on
    # results (after table) the fields a later command names are read from the JSON
    q = ('* | head 1 | eval j="{\\"a\\": 1, \\"b\\": {\\"c\\": [2, 3]}}" | table j | spath input=j '
         '| eval n=mvcount(\'b.c{}\') | table a b.c{} n')
    assert run(q, rows=PEOPLE) == [{"a": "1", "b.c{}": ["2", "3"], "n": 2}]


def test_gentimes():
    # Search Reference: gentimes: start=MM/DD/YYYY[:HH:MM:SS] or -N days; end exclusive (default
    # today's midnight); increment default 1d; endtime is one second before the next start.
    # 2023-11-10 00:00 UTC = 1699574400; NOW is 2023-11-14 22:13:20, today's midnight 1699920000.
    rows = run("| gentimes start=11/10/2023 end=11/12/2023", rows=PEOPLE)
    assert rows == [
        {"starttime": 1699574400, "endtime": 1699660799, "starthuman": "Fri Nov 10 00:00:00 2023",
         "endhuman": "Fri Nov 10 23:59:59 2023"},
        {"starttime": 1699660800, "endtime": 1699747199, "starthuman": "Sat Nov 11 00:00:00 2023",
         "endhuman": "Sat Nov 11 23:59:59 2023"}]
    rows = run("| gentimes start=-1 increment=6h | table starttime", rows=PEOPLE)
    assert [r["starttime"] for r in rows] == [1699920000 - 86400 + 6 * 3600 * i for i in range(4)]


def test_eventstats_list_follows_the_events_newest_first_whatever_their_storage_order():
    # Search Reference, stats functions: list() in the order the results arrive (events: newest
    # first). The events are stored oldest first here; by hand, s0=a holds v=1 (10 s ago),
    # v=2 (20 s ago) and v=4 (40 s ago): [1, 2, 4] on every a event, [3] on the b event
    stored_oldest_first = ev((-40, "v=4 s0=a"), (-30, "v=3 s0=b"), (-20, "v=2 s0=a"), (-10, "v=1 s0=a"))
    rows = run("* | eventstats list(v) as l by s0 | table v l", rows=stored_oldest_first)
    assert {r["v"]: r["l"] for r in rows} == {"1": ["1", "2", "4"], "2": ["1", "2", "4"], "3": ["3"],
                                             "4": ["1", "2", "4"]}
    assert run("* | stats list(v) as l by s0", rows=stored_oldest_first) == [
        {"s0": "a", "l": ["1", "2", "4"]}, {"s0": "b", "l": ["3"]}]
