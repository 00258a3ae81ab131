"""Eval and statistical functions added from Splunk's Search Reference ("Evaluation functions",
"Statistical and charting functions"). Every expected value is worked out by hand from the
documented definition (and the documentation's own examples where there is one); wall-clock
times are written out as dates in the zone they are read in."""

from __future__ import annotations

import re

import json
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest
import sqlglot

from speleo.errors import SplError, SplSyntaxError, SplUnsupportedError
from speleo.spl import compile_search, parse
from speleo.spl.commands.aggregates import Sparkline
from speleo.spl.timemod import parse_relative_time
from tests.spl.conftest import EVENTS, NOW, make_ctx, run

NY = ZoneInfo("America/New_York")


def events(rows):
    """(offset from NOW, _raw) pairs as conftest rows."""
    return [(off, raw, "web1", "app") for off, raw in rows]


def one(query: str, **kw) -> dict:
    rows = run(query, **kw)
    assert len(rows) == 1, rows
    return rows[0]


# --- informational functions -------------------------------------------------------------------


def test_typeof_reference_example():
    # Search Reference (Informational functions): the four types concatenated.
    row = one('| makeresults | eval t=typeof(12) + typeof("string") + typeof(1==2) + typeof(badfield) | table t')
    assert row == {"t": "NumberStringBoolInvalid"}


def test_typeof_of_fields_literals_and_multivalues():
    q = ('status=404 | eval a=typeof(status), b=typeof(user), c=typeof(path), d=typeof(3.5), e=typeof("12"),'
         ' f=typeof(tostring(5)), g=typeof(split("a,b", ",")), h=typeof(null()), i=typeof(bytes)'
         ' | table a b c d e f g h i')
    # status=404 and bytes=50 are extracted text that looks like a number: Number, as in Splunk.
    assert one(q) == {"a": "Number", "b": "String", "c": "Invalid", "d": "Number", "e": "String",
                      "f": "String", "g": "Multivalue", "h": "Invalid", "i": "Number"}


def test_typeof_of_list_fields():
    # alice was seen on web1 and web2 (two values), bob and carol on one host each.
    rows = run("* | stats values(host) as hs, values(status) as st by user | eval t=typeof(hs), u=typeof(st)"
               " | table user t u")
    by_user = {r["user"]: (r["t"], r["u"]) for r in rows}
    assert by_user["alice"] == ("Multivalue", "Multivalue")       # statuses 500 and 404
    assert by_user["bob"] == ("String", "Number")                  # web1 only; 200 twice
    assert by_user["carol"] == ("String", "Number")


def test_isnum_isstr_isint_isbool():
    # a boolean cannot be an eval result (Search Reference: eval): each test goes through tostring()
    tests = ('a=isnum(status), b=isnum(user), c=isnum("12"), d=isnum(12), e=isnum(nofield),'
             ' f=isnum(split("1,2", ",")), g=isstr(user), h=isstr(status), i=isstr("12"), j=isstr(nofield),'
             ' k=isint(bytes), l=isint(2.5), m=isint(status/7), n=isint(nofield), o=isbool(1<2), p=isbool("true")')
    pairs = [t.strip().split("=", 1) for t in re.split(r",\s(?=[a-p]=)", tests)]
    q = "status=404 | eval " + ", ".join(f"{k}=tostring({v})" for k, v in pairs) + " | table a b c d e f g h i j k l m n o p"
    expected = {"a": True, "b": False, "c": False, "d": True, "e": False, "f": False, "g": True,
                "h": False, "i": True, "j": False, "k": True, "l": False, "m": False, "n": False,
                "o": True, "p": False}
    assert one(q) == {k: str(v) for k, v in expected.items()}


def test_isnum_in_where():
    # every event but the login failure (-50) has a bytes value
    assert [round(r["_time"] - NOW) for r in run("* | where isnum(bytes)")] == [-10, -20, -30, -40, -4000, -90000]


# --- validate, searchmatch ------------------------------------------------------------------------------


PORTS = events([(-1, "port=70000"), (-2, "port=abc"), (-3, "port=80"), (-4, "nothing here")])


def test_validate_reference_example():
    # Search Reference: the value of the first condition that is FALSE, null when all hold.
    q = ('* | eval v=validate(isint(port), "ERROR: Port is not an integer", '
         'port >= 1 AND port <= 65535, "ERROR: Port is out of range") | table v')
    assert [r["v"] for r in run(q, rows=PORTS)] == [
        "ERROR: Port is out of range",       # 70000 is an integer, out of range
        "ERROR: Port is not an integer",     # abc
        None,                                # 80 passes both
        "ERROR: Port is not an integer",     # no port: isint(null) is FALSE
    ]


def test_validate_needs_pairs():
    with pytest.raises(SplUnsupportedError):
        run('| makeresults | eval v=validate(true(), "a", false())')


@pytest.mark.parametrize("search, matching", [
    ("status=404 OR user=bob", [-20, -30, -4000]),
    ("error", [-10]),                         # "ERROR:" is the token error; "errors" is not
    ("err*", [-10, -40]),
    ('\\"disk full\\"', [-10]),
    ("user=a* NOT status=500", [-30]),
    ("bytes>=100 host=web1", [-10, -20, -4000]),
])
def test_searchmatch(search, matching):
    rows = run(f'* | eval m=if(searchmatch("{search}"), "y", "n") | table _time m')
    assert [round(r["_time"] - NOW) for r in rows if r["m"] == "y"] == matching
    assert [round(r["_time"] - NOW) for r in run(f'* | where searchmatch("{search}")')] == matching


def test_searchmatch_errors():
    with pytest.raises(SplUnsupportedError):
        run("* | where searchmatch(user)")                        # the search string must be literal
    with pytest.raises(SplUnsupportedError):
        run('* | where searchmatch("[search x]")')
    with pytest.raises(SplSyntaxError) as err:
        run('* | where searchmatch("(user=a")')
    q = '* | where searchmatch("(user=a")'
    assert err.value.query == q


# --- exact, random --------------------------------------------------------------------------------------


def test_exact():
    row = one('| makeresults | eval e=exact(3.0*1.1), f=exact("12"), g=exact(nofield), h=exact("x") | table e f g h')
    assert row["e"] == pytest.approx(3.3, abs=1e-12)
    assert (row["f"], row["g"], row["h"]) == (12.0, None, None)


def test_random_is_an_integer_in_range():
    values = [r["r"] for r in run("* | eval r=random() | table r")]
    assert len(values) == len(EVENTS)
    assert all(isinstance(v, int) and 0 <= v <= 2**31 - 1 for v in values)
    assert len(set(values)) > 1


# --- mvrange, json_object ----------------------------------------------------------------------------------


def test_mvrange():
    q = ('| makeresults | eval a=mvrange(1, 11, 2), b=mvrange(1, 5), c=mvrange(5, 1), d=mvrange(0, 1, 0.25),'
         ' e=mvrange(0, 1209600, "7d"), f=mvrange(10, 0, -3), g=mvrange(1, nofield), h=mvrange(1, 5, 0),'
         ' i=mvcount(mvrange(1, 11, 2)), j=mvjoin(mvrange(1, 4), ",")'
         ' | table a b c d e f g h i j')
    assert one(q) == {
        "a": ["1", "3", "5", "7", "9"],            # the Search Reference example; 11 excluded
        "b": ["1", "2", "3", "4"],
        "c": None,                                 # empty range
        "d": ["0", "0.25", "0.5", "0.75"],
        "e": ["0", "604800"],                      # 7-day steps; 1209600 (14 days) excluded
        "f": ["10", "7", "4", "1"],
        "g": None,
        "h": None,                                 # zero step
        "i": 5,
        "j": "1,2,3",
    }


def test_mvrange_bad_step():
    with pytest.raises(SplUnsupportedError):
        run('| makeresults | eval a=mvrange(0, 10, "2mon")')


def test_json_object():
    q = ('status=404 | eval a=json_object("name", "maria", "age", 30), b=json_object("user", user, "status", status),'
         ' c=json_object("p", path), d=json_object("l", split("a,b", ",")), e=json_object(), f=json_object("ok", 1<2),'
         ' g=json_object("half", 7/2, "two", 4/2) | table a b c d e f g')
    row = one(q)
    assert row["a"] == '{"name":"maria","age":30}'
    assert json.loads(row["b"]) == {"user": "alice", "status": 404}
    assert json.loads(row["c"]) == {"p": None}
    assert json.loads(row["d"]) == {"l": ["a", "b"]}
    assert row["e"] == "{}"
    assert json.loads(row["f"]) == {"ok": True}
    assert row["g"] == '{"half":3.5,"two":2}'


def test_json_object_needs_pairs():
    with pytest.raises(SplUnsupportedError):
        run('| makeresults | eval j=json_object("a")')


# --- tonumber with a base ---------------------------------------------------------------------------------------


def test_tonumber_bases():
    q = ('| makeresults | eval a=tonumber("FF", 16), b=tonumber("0A4", 16), c=tonumber("0xff", 16),'
         ' d=tonumber("1010", 2), e=tonumber("102", 2), f=tonumber("zz", 36), g=tonumber("-7f", 16),'
         ' h=tonumber("", 16), i=tonumber(nofield, 16), j=tonumber("777", 8), k=tonumber("12", 10),'
         ' l=tonumber("abc"), m=tonumber("1.5"), n=tonumber("G", 16) | table a b c d e f g h i j k l m n')
    assert one(q) == {"a": 255.0, "b": 164.0, "c": 255.0, "d": 10.0, "e": None, "f": 1295.0, "g": -127.0,
                      "h": None, "i": None, "j": 511.0, "k": 12.0, "l": None, "m": 1.5, "n": None}


@pytest.mark.parametrize("base", ["1", "37", "x", '"16"'])
def test_tonumber_bad_base(base):
    with pytest.raises(SplUnsupportedError):
        run(f'| makeresults | eval a=tonumber("FF", {base})')


# --- relative_time on a field ---------------------------------------------------------------------------------------

T404 = NOW - 30          # the status=404 event: 2023-11-14 22:12:50 UTC, a Tuesday


def _utc(*parts) -> float:
    return datetime(*parts, tzinfo=timezone.utc).timestamp()


@pytest.mark.parametrize("spec, expected", [
    ("-1d@d", _utc(2023, 11, 13)),
    ("@d", _utc(2023, 11, 14)),
    ("@h", _utc(2023, 11, 14, 22)),
    ("@m", _utc(2023, 11, 14, 22, 12)),
    ("@w0", _utc(2023, 11, 12)),             # Sunday
    ("@w1", _utc(2023, 11, 13)),             # Monday
    ("@w", _utc(2023, 11, 12)),
    ("@mon", _utc(2023, 11, 1)),
    ("@q", _utc(2023, 10, 1)),
    ("@y", _utc(2023, 1, 1)),
    ("@d+8h", _utc(2023, 11, 14, 8)),
    ("+1mon@mon", _utc(2023, 12, 1)),
    ("-1h", T404 - 3600),
    ("-70m@m", _utc(2023, 11, 14, 21, 2)),   # 21:02:50 snapped
    ("now", T404),
])
def test_relative_time_on_field_utc(spec, expected):
    row = one(f'status=404 | eval r=relative_time(_time, "{spec}") | table r')
    assert row["r"] == expected


@pytest.mark.parametrize("spec, wall", [
    ("@d", (2023, 11, 14)),                  # 17:12:50 EST
    ("-1d@d", (2023, 11, 13)),
    ("@h", (2023, 11, 14, 17)),
    ("@w1", (2023, 11, 13)),
    ("@mon", (2023, 11, 1)),                 # still EDT on Nov 1
    ("@y", (2023, 1, 1)),
    ("-10d", (2023, 11, 4, 17, 12, 50)),     # days move the local calendar, across the DST change
])
def test_relative_time_on_field_in_zone(spec, wall):
    row = one(f'status=404 | eval r=relative_time(_time, "{spec}") | table r', tz=NY)
    assert row["r"] == datetime(*wall, tzinfo=NY).timestamp()


def test_relative_time_sql_agrees_with_the_time_modifier_parser():
    # Times around both 2024 DST changes in New York, each spec computed in SQL and by timemod.
    times = [datetime(2024, 3, 10, 1, 30, tzinfo=NY), datetime(2024, 3, 10, 3, 30, tzinfo=NY),
             datetime(2024, 3, 11, 0, 30, tzinfo=NY), datetime(2024, 11, 3, 1, 30, tzinfo=NY),
             datetime(2024, 11, 3, 23, 59, tzinfo=NY), datetime(2024, 2, 29, 12, 0, tzinfo=NY)]
    specs = ["@d", "-1d@d", "@h", "@w0", "@w5", "@mon", "@q", "@y", "+1d", "-1mon", "-1y@y", "@d+8h", "-90m@h"]
    rows = [(t.timestamp() - NOW, f"n={i}") for i, t in enumerate(times)]
    evals = ", ".join(f'r{i}=relative_time(_time, "{s}")' for i, s in enumerate(specs))
    got = run(f"* | eval {evals}", rows=events(rows), tz=NY)
    for row in got:
        for i, s in enumerate(specs):
            assert row[f"r{i}"] == parse_relative_time(s, row["_time"], NY), (row["_time"], s)


def test_relative_time_snaps_in_the_repeated_hour():
    # 2024-11-03 01:00-02:00 happens twice in New York; @h keeps the instant's own offset.
    first, second = _utc(2024, 11, 3, 5, 30), _utc(2024, 11, 3, 6, 30)     # 01:30 EDT, 01:30 EST
    rows = run('* | eval r=relative_time(_time, "@h"), m=relative_time(_time, "@m") | table _time r m',
               rows=events([(first - NOW, "a"), (second - NOW + 59, "b")]), tz=NY)
    assert [(r["r"], r["m"]) for r in rows] == [(_utc(2024, 11, 3, 6), _utc(2024, 11, 3, 6, 30)),
                                                (_utc(2024, 11, 3, 5), first)]


def test_relative_time_edge_cases():
    row = one('status=404 | eval a=relative_time(nofield, "-1d@d"), b=relative_time(now(), "-1d@d"),'
              ' c=relative_time(_time, "10/31/2023:00:00:00") | table a b c')
    assert row == {"a": None, "b": _utc(2023, 11, 13), "c": _utc(2023, 10, 31)}
    with pytest.raises(SplSyntaxError):
        run('status=404 | eval a=relative_time(_time, "-1x")')
    # a modifier computed per event is applied per event; a value that is no modifier gives null
    assert one('status=404 | eval a=relative_time(_time, user) | table a') == {"a": None}


# --- earliest_time, latest_time, rate ----------------------------------------------------------------------------

COUNTERS = [
    (-300, "counter=100", "a", "app"),
    (-200, "counter=160", "a", "app"),
    (-100, "counter=400", "a", "app"),
    (-250, "counter=5", "b", "app"),
    (-150, "nothing here", "b", "app"),
    (-50, "counter=abc", "c", "app"),
    (-40, "counter=xyz", "c", "app"),
]


def test_earliest_time_latest_time_rate():
    rows = run("* | stats earliest_time(counter) as et, latest_time(counter) as lt, rate(counter) as r by host",
               rows=COUNTERS)
    assert rows == [
        {"host": "a", "et": NOW - 300, "lt": NOW - 100, "r": 1.5},     # (400 - 100) / 200 s
        {"host": "b", "et": NOW - 250, "lt": NOW - 250, "r": None},    # one value: the times are equal
        {"host": "c", "et": NOW - 50, "lt": NOW - 40, "r": None},      # not numbers
    ]
    assert one("* | stats earliest_time(counter) as et, latest_time(counter) as lt, earliest_time(nofield) as n",
               rows=COUNTERS) == {"et": NOW - 300, "lt": NOW - 40, "n": None}


def test_latest_time_in_eventstats():
    rows = run('* | eventstats latest_time(counter) as lt by host | where host="b" | table _time lt', rows=COUNTERS)
    assert rows == [{"_time": NOW - 150, "lt": NOW - 250}, {"_time": NOW - 250, "lt": NOW - 250}]


# --- per_second ... per_day, rate in timechart ---------------------------------------------------------------------
# 1m buckets around NOW (NOW mod 60 = 20): NOW-80 holds -30 and -70, NOW-20 holds -10 and -15.

SPARK = [
    (-10, "bytes=120 h=x", "web1", "app"),
    (-15, "bytes=60 h=x", "web1", "app"),
    (-30, "bytes=30 h=x", "web1", "app"),
    (-70, "bytes=6 h=x", "web1", "app"),
    (-70, "bytes=7 h=y", "web1", "app"),
    (-130, "bytes=5 h=y", "web1", "app"),
]


def test_per_functions_in_timechart():
    rows = run("h=x | timechart span=1m per_second(bytes) per_minute(bytes) per_hour(bytes) per_day(bytes)",
               rows=SPARK)
    assert [r["_time"] - NOW for r in rows] == [-80, -20]
    sums = [36, 180]
    for r, s in zip(rows, sums):
        assert r["per_second(bytes)"] == pytest.approx(s / 60)
        assert r["per_minute(bytes)"] == pytest.approx(s)
        assert r["per_hour(bytes)"] == pytest.approx(s * 60)
        assert r["per_day(bytes)"] == pytest.approx(s * 1440)


@pytest.mark.parametrize("query, expected", [
    ("h=x | timechart span=5m per_minute(bytes)", 216 * 60 / 300),       # one 5m bucket: 43.2
    ("h=x | timechart span=1d per_hour(bytes)", 216 / 24),
    ("h=x | timechart span=1mon per_day(bytes)", 216 / 30),              # November has 30 days
])
def test_per_functions_with_longer_spans(query, expected):
    row = one(query, rows=SPARK)
    assert list(row.values())[1] == pytest.approx(expected)


def test_per_hour_on_a_23_hour_day():
    # New York's 2024-03-10 lasts 23 hours (DST starts): 230 bytes that day are 10 per hour.
    rows = [(datetime(2024, 3, 10, 1, 0, tzinfo=NY).timestamp() - NOW, "bytes=30"),
            (datetime(2024, 3, 10, 12, 0, tzinfo=NY).timestamp() - NOW, "bytes=200")]
    row = one("* | timechart span=1d per_hour(bytes) per_day(bytes)", rows=events(rows), tz=NY)
    assert row["_time"] == datetime(2024, 3, 10, tzinfo=NY).timestamp()
    assert row["per_hour(bytes)"] == pytest.approx(10.0)
    assert row["per_day(bytes)"] == pytest.approx(240.0)


def test_per_minute_by_field():
    rows = run("* | timechart span=1m per_minute(bytes) by h", rows=SPARK)
    assert [(r["_time"] - NOW, r["x"], r["y"]) for r in rows] == [(-140, None, 5.0), (-80, 36.0, 7.0),
                                                                  (-20, 180.0, None)]


def test_time_functions_in_timechart_see_event_times():
    rows = run("h=x | timechart span=1m rate(bytes) earliest_time(bytes) latest(bytes)", rows=SPARK)
    assert rows == [
        {"_time": NOW - 80, "rate(bytes)": 0.6, "earliest_time(bytes)": NOW - 70, "latest(bytes)": "30"},
        {"_time": NOW - 20, "rate(bytes)": 12.0, "earliest_time(bytes)": NOW - 15, "latest(bytes)": "120"},
    ]
    by = run("* | timechart span=1m rate(bytes) by h", rows=SPARK)
    assert [(r["_time"] - NOW, r["x"], r["y"]) for r in by] == [(-140, None, None), (-80, 0.6, None),
                                                                (-20, 12.0, None)]


@pytest.mark.parametrize("query", ["* | stats per_second(bytes)", "* | eventstats per_hour(bytes)",
                                   "* | chart per_minute(bytes) by h"])
def test_per_functions_need_timechart(query):
    with pytest.raises(SplUnsupportedError):
        run(query, rows=SPARK)


# --- sparkline ------------------------------------------------------------------------------------------------------


def test_sparkline_parses():
    aggs = parse("* | stats sparkline(avg(x), 5m) as s, sparkline, sparkline(count,1h), count by h").commands[1].aggs
    s, bare, hourly, count = aggs
    assert isinstance(s, Sparkline) and (s.inner.func, s.inner.arg, s.span, s.alias) == ("avg", "x", "5m", "s")
    assert isinstance(bare, Sparkline) and (bare.inner.func, bare.span, bare.label) == ("count", None, "sparkline")
    assert (hourly.inner.func, hourly.span, hourly.label) == ("count", "1h", "sparkline(count,1h)")
    assert not isinstance(count, Sparkline) and count.func == "count"


@pytest.mark.parametrize("query, error", [
    ("* | stats sparkline(values(x))", SplUnsupportedError),
    ("* | stats sparkline(per_second(x), 1m)", SplUnsupportedError),
    ("* | stats sparkline(avg)", SplSyntaxError),
    ("* | stats sparkline(count, 5x)", SplSyntaxError),
    ("* | stats sparkline(count", SplSyntaxError),
    ("* | stats sparkline(nosuchfunc(x))", SplUnsupportedError),
])
def test_sparkline_parse_errors(query, error):
    with pytest.raises(error):
        parse(query)


def test_sparkline_count_by_field():
    # buckets NOW-140, NOW-80, NOW-20 (from the earliest to the latest event of the input)
    rows = run("* | stats sparkline(count, 1m) as s, count by h", rows=SPARK)
    assert rows == [{"h": "x", "s": ["0", "2", "2"], "count": 4}, {"h": "y", "s": ["1", "1", "0"], "count": 2}]


def test_sparkline_of_other_functions():
    rows = run("* | stats sparkline(sum(bytes), 1m) as s, sparkline(avg(bytes), 1m) as a by h", rows=SPARK)
    assert rows == [{"h": "x", "s": ["0", "36", "180"], "a": [None, "18", "90"]},   # empty avg bucket: null
                    {"h": "y", "s": ["5", "7", "0"], "a": ["5", "7", None]}]


def test_sparkline_automatic_span():
    # 120 s between the first and last event: the smallest span giving <= 20 buckets is 10s,
    # 13 buckets from NOW-130 to NOW-10.
    row = one("* | stats sparkline(count) as s", rows=SPARK)
    assert row["s"] == ["1", "0", "0", "0", "0", "0", "2", "0", "0", "0", "1", "1", "1"]
    rows = run("* | stats sparkline as s by h", rows=SPARK)
    assert rows[0]["s"] == ["0", "0", "0", "0", "0", "0", "1", "0", "0", "0", "1", "1", "1"]
    assert rows[1]["s"] == ["1", "0", "0", "0", "0", "0", "1", "0", "0", "0", "0", "0", "0"]


def test_sparklines_of_different_spans_and_no_by():
    # 2m buckets (NOW mod 120 = 80): -130 falls in NOW-200, the others in NOW-80.
    row = one("* | stats sparkline(count, 1m) as a, sparkline(count, 2m) as b, count", rows=SPARK)
    assert row == {"a": ["1", "3", "2"], "b": ["1", "5"], "count": 6}


def test_sparkline_names_and_chart():
    rows = run("* | stats sparkline, count by h", rows=SPARK)
    assert list(rows[0]) == ["h", "sparkline", "count"]
    rows = run("* | chart sparkline(count, 1m) as s, count by h", rows=SPARK)
    assert rows == [{"h": "x", "s": ["0", "2", "2"], "count": 4}, {"h": "y", "s": ["1", "1", "0"], "count": 2}]


def test_sparkline_day_span_in_zone_and_empty_input():
    assert one("* | stats sparkline(count, 1d) as s", rows=SPARK, tz=NY) == {"s": ["6"]}
    assert one("h=nobody | stats sparkline(count, 1m) as s, count", rows=SPARK) == {"s": None, "count": 0}


@pytest.mark.parametrize("query", ["* | eventstats sparkline(count)", "* | timechart sparkline(count)",
                                   "* | chart sparkline(count) over h by host"])
def test_sparkline_only_in_stats_and_chart(query):
    with pytest.raises(SplUnsupportedError):
        run(query, rows=SPARK)


# --- hostile string arguments ------------------------------------------------------------------------------------

HOSTILE = ["'", "''", "\\", "\\'", ";", "--", "/*", "*/", "'; DROP TABLE __events__; --", '"', "%", "_", "$1",
           "é", "NULL", "select 1; select 2"]


def _q(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_values_in_string_arguments(value):
    v = _q(value)
    query = (f"status=404 | eval a=validate(false(), {v}), b=json_object({v}, {v}), c=typeof({v}),"
             f" d=tonumber({v}, 16), f=tostring(isstr({v})) | table a b c d f")
    compiled = compile_search(query, make_ctx())
    assert len(sqlglot.parse(compiled.sql, read="duckdb")) == 1        # one statement, values as literals
    row = one(query)
    assert row["a"] == value and json.loads(row["b"]) == {value: value}
    assert (row["c"], row["d"], row["f"]) == ("String", None, "True")
    try:                                   # a search string may not parse ('"' opens a phrase)
        rows = run(f"* | eval e=if(searchmatch({v}), 1, 0) | table e")
    except SplError:
        return
    assert {r["e"] for r in rows} <= {0, 1}


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_time_modifiers_and_steps_are_errors(value):
    for q in [f"status=404 | eval r=relative_time(_time, {_q(value)})",
              f"status=404 | eval r=mvrange(0, 3, {_q(value)})"]:
        try:
            compiled = compile_search(q, make_ctx())
        except SplError:
            continue
        assert len(sqlglot.parse(compiled.sql, read="duckdb")) == 1
