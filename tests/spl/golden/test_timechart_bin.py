"""bin / bucket, timechart and chart: bucket boundaries, empty buckets, series, NULL series.

Splunk Search Reference, "bin" (a value is put in the bin whose start is the value rounded down to
a multiple of the span): https://help.splunk.com/splunk-enterprise/spl-search-reference/9.4/search-commands/bin
"timechart" (`cont=true` by default: the gaps in time are filled; `usenull=true` by default: events
without the split-by field make a series named by `nullstr`, default "NULL"; count of an empty cell is 0):
https://help.splunk.com/splunk-enterprise/spl-search-reference/9.4/search-commands/timechart
"chart": https://help.splunk.com/splunk-enterprise/spl-search-reference/9.4/search-commands/chart

NOW is 2023-11-14 22:13:20 UTC, so minute boundaries are at NOW-20, NOW-80, NOW-140, NOW-200, NOW-260.
"""

from __future__ import annotations

import pytest

from tests.spl.golden._util import NOW, dump, ev, run, sql

EVENTS = ev(
    (-5, "h=a bytes=10", "web1", "access"),       # 22:13:15 -> bucket NOW-20
    (-20, "h=b bytes=20", "web1", "app"),         # 22:13:00 exactly: the bucket starting there
    (-21, "h=a bytes=30", "web2", "access"),      # 22:12:59 -> bucket NOW-80
    (-80, "h=a bytes=40", "web2", "access"),      # 22:12:00 -> bucket NOW-80
    (-90, "bytes=5", "web1", "app"),              # 22:11:50 -> bucket NOW-140, no h
)


def rel(rows, *cols):
    """Rows as tuples with _time relative to NOW."""
    return [tuple(r[c] - NOW if c == "_time" else r[c] for c in cols) for r in rows]


def test_bin_minute_boundaries():
    rows = run("* | bin _time span=1m | stats count by _time", rows=EVENTS)
    assert rel(rows, "_time", "count") == [(-140, 1), (-80, 2), (-20, 2)]


def test_bin_as_new_field_keeps_time():
    rows = run("* | bucket _time span=1m as t | table _time t", rows=EVENTS)
    assert [(r["_time"] - NOW, r["t"] - NOW) for r in rows] == [
        (-5, -20), (-20, -20), (-21, -80), (-80, -80), (-90, -140)]


def test_bin_two_minutes_aligned_to_the_epoch():
    # 1700000000 % 120 = 80: two-minute bins start at NOW-80 and NOW-200
    rows = run("* | bin span=2m _time | stats count by _time", rows=EVENTS)
    assert rel(rows, "_time", "count") == [(-200, 1), (-80, 4)]


def test_bin_numeric_field_ranges():
    # bin page: a span without a timescale on a field other than _time is an absolute bin length;
    # the value becomes "<start>-<end>" of its bin, start = the value rounded down to a multiple
    # of the span: 5 -> 0-10, 10 -> 10-20 (a bound starts the next bin), 20, 30, 40 likewise
    rows = run("* | bin bytes span=10 | stats count by bytes", rows=EVENTS)
    assert [(r["bytes"], r["count"]) for r in rows] == [
        ("0-10", 1), ("10-20", 1), ("20-30", 1), ("30-40", 1), ("40-50", 1)]


NUMS = ev("v=-5", "v=-10", "v=2.5", "v=0.35", "v=abc")


def test_bin_numeric_negatives_and_decimals():
    # -5 rounds down to -10 (bin -10 up to 0); -10 is the start of its own bin; a non-number has no bin
    rows = run("* | bin v span=10 as b | table v b", rows=NUMS)
    assert [(r["v"], r["b"]) for r in rows] == [
        ("-5", "-10-0"), ("-10", "-10-0"), ("2.5", "0-10"), ("0.35", "0-10"), ("abc", None)]
    # span=2.5: 2.5 starts 2.5-5; 0.35 -> 0-2.5; -5 -> -5--2.5; -10 -> -10--7.5
    rows = run("* | bin v span=2.5 as b | table b", rows=NUMS)
    assert [r["b"] for r in rows] == ["-5--2.5", "-10--7.5", "2.5-5", "0-2.5", None]
    # span=0.1: 0.35 / 0.1 = 3.5 -> 3 -> 0.3-0.4 (bounds rounded to the span's decimals)
    rows = run("* | bin v span=0.1 as b | table b", rows=NUMS)
    assert [r["b"] for r in rows] == ["-5--4.9", "-10--9.9", "2.5-2.6", "0.3-0.4", None]


HOURS = ev(*[f"date_h={h}" for h in (0, 3, 7, 12, 19, 23)])
SECONDS = ev(*[f"sec={s}" for s in range(60)])


def test_bin_bins_picks_a_power_of_ten():
    # Search Manual, "Search using time bins and spans": with bins=N and no span, the span is the
    # least power of ten giving at most N bins. Hours 0..23 with bins=12: span 1 gives 24 bins,
    # span 10 gives 3 (0-10, 10-20, 20-30)
    rows = run("* | bin date_h bins=12 | stats count by date_h", rows=HOURS)
    assert [(r["date_h"], r["count"]) for r in rows] == [("0-10", 3), ("10-20", 2), ("20-30", 1)]
    # bins=24: span 1 gives 24 bins (0 .. 23), which fits
    rows = run("* | bin date_h bins=24 as b | table b", rows=HOURS)
    assert [r["b"] for r in rows] == ["0-1", "3-4", "7-8", "12-13", "19-20", "23-24"]
    # the page's other example: 0..59 with bins=5 -> 59/5 = 11.8 -> span 100, one bin 0-100
    rows = run("* | bin sec bins=5 | stats count by sec", rows=SECONDS)
    assert [(r["sec"], r["count"]) for r in rows] == [("0-100", 60)]


def test_bin_end_widens_the_range():
    # bin page: end= widens the range the span is chosen from (only used without a span).
    # 0..59 with end=1000 and bins=10: 1000/10 = 100 -> span 100 gives 11 bins (0 .. 1000), too
    # many -> span 1000, one bin 0-1000
    rows = run("* | bin sec bins=10 end=1000 | stats count by sec", rows=SECONDS)
    assert [(r["sec"], r["count"]) for r in rows] == [("0-1000", 60)]
    # default bins=100: 0..59 -> span 1 (60 bins)
    rows = run("* | bin sec | stats count by sec | head 2", rows=SECONDS)
    assert [r["sec"] for r in rows] == ["0-1", "1-2"]


def test_bin_unsupported_forms():
    from speleo.errors import SplSyntaxError, SplUnsupportedError

    with pytest.raises(SplUnsupportedError, match="logarithmic span"):
        run("* | bin v span=log10", rows=NUMS)
    with pytest.raises(SplUnsupportedError, match="bin _time without span"):
        run("* | bin _time", rows=NUMS)
    with pytest.raises(SplSyntaxError, match="at least 2"):
        run("* | bin v bins=1", rows=NUMS)


def test_bin_time_with_a_bare_number_is_seconds():
    # bin page: on _time a span is a time range; span=60 is 60 seconds, as span=1m
    rows = run("* | bin _time span=60 | stats count by _time", rows=EVENTS)
    assert rel(rows, "_time", "count") == [(-140, 1), (-80, 2), (-20, 2)]


def test_timechart_count_and_avg():
    assert rel(run("* | timechart span=1m count", rows=EVENTS), "_time", "count") == [
        (-140, 1), (-80, 2), (-20, 2)]
    rows = run("* | timechart span=1m avg(bytes)", rows=EVENTS)
    assert rel(rows, "_time", "avg(bytes)") == [(-140, 5), (-80, 35), (-20, 15)]


def test_timechart_count_by_field_zero_cells():
    rows = run("* | search h=* | timechart span=1m count by h", rows=EVENTS)
    # E5 has no h and is filtered out first; an empty cell of count is 0
    assert [{k: (v - NOW if k == "_time" else v) for k, v in r.items()} for r in rows] == [
        {"_time": -80, "a": 2, "b": 0}, {"_time": -20, "a": 1, "b": 1}]


def test_timechart_null_series():
    rows = run("* | timechart span=1m count by h", rows=EVENTS)
    assert [{k: (v - NOW if k == "_time" else v) for k, v in r.items()} for r in rows] == [
        {"_time": -140, "a": 0, "b": 0, "NULL": 1}, {"_time": -80, "a": 2, "b": 0, "NULL": 0},
        {"_time": -20, "a": 1, "b": 1, "NULL": 0}]


def test_timechart_fills_gaps():
    events = ev((-5, "x"), (-200, "x"))
    rows = run("* | timechart span=1m count", rows=events)
    assert rel(rows, "_time", "count") == [(-200, 1), (-140, 0), (-80, 0), (-20, 1)]


def test_timechart_fills_the_searched_time_range():
    # earliest=-5m@m .. latest=now: minute buckets from NOW-380+? -- by hand: NOW = 22:13:20, -5m = 22:08:20,
    # snapped @m = 22:08:00 = NOW-320; buckets start at NOW-320, -260, -200, -140, -80, -20 (the one holding now)
    events = ev((-5, "x"), (-200, "x"))
    rows = run("* earliest=-5m@m latest=now | timechart span=1m count", rows=events)
    assert rel(rows, "_time", "count") == [(-320, 0), (-260, 0), (-200, 1), (-140, 0), (-80, 0), (-20, 1)]


def test_timechart_cont_false_keeps_only_buckets_with_events():
    events = ev((-5, "x"), (-200, "x"))
    rows = run("* | timechart span=1m cont=false count", rows=events)
    assert rel(rows, "_time", "count") == [(-200, 1), (-20, 1)]


def test_timechart_usenull_false_and_nullstr():
    rows = run("* | timechart span=1m usenull=f count by h", rows=EVENTS)
    assert all("NULL" not in r for r in rows) and rel(rows, "_time", "a") == [(-140, 0), (-80, 2), (-20, 1)]
    rows = run('* | timechart span=1m nullstr="none" count by h', rows=EVENTS)
    assert rel(rows, "_time", "none") == [(-140, 1), (-80, 0), (-20, 0)]


def test_timechart_limit_with_and_without_other():
    # event counts by h: a = 3, b = 1, no h (NULL) = 1; limit=1 keeps a, the rest is OTHER
    rows = run("* | timechart span=1m limit=1 count by h", rows=EVENTS)
    assert rel(rows, "_time", "a", "OTHER") == [(-140, 0, 1), (-80, 2, 0), (-20, 1, 1)]
    rows = run('* | timechart span=1m limit=1 useother=f count by h', rows=EVENTS)
    assert [sorted(k for k in r if k != "_time") for r in rows] == [["a"]] * 3
    rows = run('* | timechart span=1m limit=1 otherstr="rest" avg(bytes) by h', rows=EVENTS)
    # rest at NOW-140: E5 (5); at NOW-20: E2 (b, 20); a has 40,30 at -80 and 10 at -20
    assert rel(rows, "_time", "a", "rest") == [(-140, None, 5), (-80, 35, None), (-20, 10, 20)]


def test_timechart_options_after_the_by_field():
    # Search Reference, timechart: the split-by clause takes its options after the field
    # (`timechart count by host limit=5`, as searches are commonly written); it was a syntax
    # error. Same answers as test_timechart_limit_with_and_without_other.
    rows = run("* | timechart count by h span=1m limit=1", rows=EVENTS)
    assert rel(rows, "_time", "a", "OTHER") == [(-140, 0, 1), (-80, 2, 0), (-20, 1, 1)]
    rows = run("* | timechart span=1m count by h limit=1 useother=f", rows=EVENTS)
    assert [sorted(k for k in r if k != "_time") for r in rows] == [["a"]] * 3


def test_timechart_rejects_a_bad_boolean():
    from speleo.errors import SplSyntaxError

    with pytest.raises(SplSyntaxError, match="cont= takes true or false"):
        run("* | timechart cont=maybe count", rows=EVENTS)


def test_timechart_sum_by_field():
    rows = run("* | search h=* | timechart span=1m sum(bytes) by h", rows=EVENTS)
    assert [(r["_time"] - NOW, r["a"], r["b"]) for r in rows] == [(-80, 70, None), (-20, 10, 20)]


def test_timechart_by_indexed_field_with_avg():
    # avg over an indexed split-by field: an empty cell has no value (null), not 0
    rows = run("* | eval b=tonumber(bytes) | timechart span=1m avg(b) by host", rows=EVENTS)
    assert [(r["_time"] - NOW, r["web1"], r["web2"]) for r in rows] == [(-140, 5, None), (-80, None, 35),
                                                                        (-20, 15, None)]


def test_chart_over_by():
    rows = run("* | chart count over host by sourcetype", rows=EVENTS)
    assert rows == [{"host": "web1", "access": 1, "app": 2}, {"host": "web2", "access": 2, "app": 0}]


def test_chart_by_inside_append():
    # the table of test_chart_over_by appended after one result: the main search's commands
    # after the append read its series columns (they run over the result, as after chart):
    # web1 access 1 app 2 -> 3; web2 access 2 app 0 -> 2. `table access` read null before.
    rows = run("* | stats count as n | append [search * | chart count over host by sourcetype] | addtotals "
               "| table host access Total", rows=EVENTS)
    assert rows == [{"host": None, "access": None, "Total": 5}, {"host": "web1", "access": 1, "Total": 3},
                    {"host": "web2", "access": 2, "Total": 2}]
    # inside the subsearch they are not known yet: commands that would read them are refused,
    # not answered with nulls
    from speleo.errors import SplError

    for inner in ("addtotals", "addtotals access app", "fillnull value=0", "foreach * [eval <<FIELD>>=1]"):
        with pytest.raises(SplError, match="cannot see the series columns"):
            run(f"* | stats count as n | append [search * | chart count over host by sourcetype | {inner}]",
                rows=EVENTS)


def test_chart_series_limit_other_and_null():
    # Search Reference, chart: limit= (default 10) keeps that many series, the rest merged into
    # OTHER (useother=true, otherstr=) or left out; usenull=true (default) makes a series named by
    # nullstr= (default NULL) of the events without the split field. chart ignored all of them.
    # h per host: web1 a (10), b (20), none (5); web2 a (30), a (40). Series by events: a 3,
    # then NULL and b 1 each (ties by name: "NULL" < "b").
    assert run("* | chart count over host by h", rows=EVENTS) == [
        {"host": "web1", "NULL": 1, "a": 1, "b": 1}, {"host": "web2", "NULL": 0, "a": 2, "b": 0}]
    assert run("* | chart limit=1 count over host by h", rows=EVENTS) == [
        {"host": "web1", "OTHER": 2, "a": 1}, {"host": "web2", "OTHER": 0, "a": 2}]
    # the series left out still make their row (web1 keeps a=1; a host with only them keeps its row)
    assert run("* | chart limit=1 useother=f count over host by h", rows=EVENTS) == [
        {"host": "web1", "a": 1}, {"host": "web2", "a": 2}]
    assert run("* | chart usenull=f count over host by h", rows=EVENTS) == [
        {"host": "web1", "a": 1, "b": 1}, {"host": "web2", "a": 2, "b": 0}]
    # the merged series is computed over its events: web1 rest = 20 + 5; web2 has none (null)
    assert run("* | chart limit=1 otherstr=rest nullstr=none sum(bytes) over host by h", rows=EVENTS) == [
        {"host": "web1", "a": 10, "rest": 25}, {"host": "web2", "a": 70, "rest": None}]
    assert run("* | chart limit=0 count over host by h", rows=EVENTS) == run("* | chart count over host by h",
                                                                           rows=EVENTS)
    rows = run("* | chart limit=1 count over host by h | addtotals | table host Total", rows=EVENTS)
    assert rows == [{"host": "web1", "Total": 3}, {"host": "web2", "Total": 2}]


def test_commands_after_chart_over_by_read_its_series_columns():
    # the table of test_chart_over_by: web1 access 1 app 2; web2 access 2 app 0. Commands after
    # it see the series as fields (Search Reference: addtotals sums each row's numeric fields;
    # eval reads them by name; they were null when the columns came from a SQL PIVOT)
    rows = run("* | chart count over host by sourcetype | addtotals", rows=EVENTS)
    assert [(r["host"], r["Total"]) for r in rows] == [("web1", 3), ("web2", 2)]
    rows = run("* | chart count over host by sourcetype | eval share=round(app*100/(access+app)) | table host share",
               rows=EVENTS)
    assert rows == [{"host": "web1", "share": 67}, {"host": "web2", "share": 0}]
    rows = run("* | chart count over host by sourcetype | where access > 1 | fields host access", rows=EVENTS)
    assert rows == [{"host": "web2", "access": 2}]


def test_chart_over_by_with_functions_pivot_cannot_take():
    # rate = (latest - earliest) / (latest_time - earliest_time) per (host, sourcetype) cell
    # (Statistical and charting functions, "rate"): web1/app has E2 (t=-20, 20) and E5 (t=-90, 5):
    # 15 / 70; web2/access has E3 (-21, 30) and E4 (-80, 40): -10 / 59; web1/access has one event
    # (equal times: null); web2/app has none (an empty cell of rate is null, not 0)
    rows = run("* | chart rate(bytes) over host by sourcetype", rows=EVENTS)
    assert rows == [{"host": "web1", "access": None, "app": pytest.approx(15 / 70)},
                    {"host": "web2", "access": pytest.approx(-10 / 59), "app": None}]
    # range = max - min: web1/access 10-10, web1/app 20-5, web2/access 40-30
    rows = run("* | chart range(bytes) over host by sourcetype", rows=EVENTS)
    assert rows == [{"host": "web1", "access": 0, "app": 15}, {"host": "web2", "access": 10, "app": None}]
    # dc: an empty cell is 0, as count's
    rows = run("* | chart dc(h) over host by sourcetype", rows=EVENTS)
    assert rows == [{"host": "web1", "access": 1, "app": 1}, {"host": "web2", "access": 1, "app": 0}]


def test_chart_by_one_field_is_like_stats():
    # events without the over field are left out
    rows = run("* | chart count, avg(bytes) as a by h", rows=EVENTS)
    assert [(r["h"], r["count"], r["a"]) for r in rows] == [("a", 3, pytest.approx(80 / 3)), ("b", 1, 20)]


# --- SPL -> AST ---------------------------------------------------------------------------------


@pytest.mark.parametrize("query, expected", [
    ("x | timechart span=1m count by h",
     "Pipeline(commands=[SearchCmd(expr=Term(text='x', quoted=False)), TimechartCmd(span='1m', aggs=[Agg(func='count', "
     "arg=None, param=None, alias=None, label='count')], by='h', limit=10)])"),
    ("x | bin span=5m _time as t",
     "Pipeline(commands=[SearchCmd(expr=Term(text='x', quoted=False)), BinCmd(field='_time', span='5m', alias='t')])"),
    ("x | chart avg(b) over host by st",
     "Pipeline(commands=[SearchCmd(expr=Term(text='x', quoted=False)), ChartCmd(options={}, aggs=[Agg(func='avg', "
     "arg='b', param=None, alias=None, label='avg(b)')], over='host', by=['st'])])"),
])
def test_timechart_ast(query, expected):
    assert dump(query) == expected


# --- SPL -> SQL ---------------------------------------------------------------------------------


def test_bin_sql():
    # expected by hand: floor(_time / 60) * 60 replacing _time. The compiler first pins the event
    # order in a hidden row number (bin rewrites the column the order uses) and casts _time with
    # TRY_CAST: checked, the same rows in the same order; adopted.
    assert sql("* | bin _time span=1m") == (
        "WITH s0 AS (SELECT * FROM __events__ WHERE TRUE), "
        "s1 AS (SELECT *, ROW_NUMBER() OVER (ORDER BY \"_time\" DESC) AS \"__speleo_ord\" FROM s0), "
        "s2 AS (SELECT * REPLACE (FLOOR((TRY_CAST(\"_time\" AS DOUBLE)) / 60) * 60 AS \"_time\") FROM s1) "
        "SELECT * EXCLUDE (\"__speleo_ord\") FROM s2 ORDER BY \"__speleo_ord\" ASC")


def test_timechart_by_then_more_commands():
    # the series columns exist for later commands (the pivot runs before them): counts by hand
    # from EVENTS: a = 1 at -20, 2 at -80; b = 1 at -20
    rows = run("* | timechart span=1m count by h | eval total=a+b | where total > 0 | table _time total", rows=EVENTS)
    assert rel(rows, "_time", "total") == [(-80, 2), (-20, 2)]


def test_timechart_by_inside_append_pivots_in_sql():
    rows = run("* | stats count | append [search * | timechart span=1m count by h]", rows=EVENTS)
    assert rows[0]["count"] == 5
    assert [(r["_time"] - NOW, r["a"], r["b"], r["NULL"]) for r in rows[1:]] == [
        (-140, 0, 0, 1), (-80, 2, 0, 0), (-20, 1, 1, 0)]


def test_timechart_count_by_gives_integers():
    # the OTHER merge sums counts after aggregating: still an integer count (not a 128-bit decimal)
    for query in ("* | timechart span=1m count by h", "* | stats count | append [search * | timechart span=1m count by h]"):
        rows = [r for r in run(query, rows=EVENTS) if r.get("_time") is not None]
        assert {type(r[c]) for r in rows for c in ("a", "b", "NULL")} == {int}, query


def test_timechart_keeps_buckets_a_command_moved_out_of_the_range():
    # by hand: -5 - 3600 = NOW-3605 -> minute bucket NOW-3620; -200 - 3600 = NOW-3800 (21:10:00, a
    # bucket start); the searched range (NOW-320 .. NOW) is still filled with zeros
    events = ev((-5, "h=a"), (-200, "h=b"))
    rows = run("* earliest=-5m@m latest=now | eval _time=_time-3600 | timechart span=1m count", rows=events)
    assert rel(rows, "_time", "count") == [(-3800, 1), (-3620, 1), (-320, 0), (-260, 0), (-200, 0), (-140, 0),
                                           (-80, 0), (-20, 0)]
    rows = run("* earliest=-5m@m latest=now | eval _time=_time-3600 | timechart span=1m count by h", rows=events)
    assert rel(rows, "_time", "a", "b")[:3] == [(-3800, 0, 1), (-3620, 1, 0), (-320, 0, 0)] and len(rows) == 8


def test_timechart_does_not_fill_more_than_the_cap():
    # 20000 one-second buckets between the two events: more than cont=true fills (10,000), so
    # only the buckets with events come back (a year between them must not build 31 million rows)
    events = ev((-5, "h=a"), (-20005, "h=b"))
    assert rel(run("* | timechart span=1s count", rows=events), "_time", "count") == [(-20005, 1), (-5, 1)]
    assert rel(run("* | timechart span=1s count by h", rows=events), "_time", "a", "b") == [
        (-20005, 0, 1), (-5, 1, 0)]


def test_span_below_its_unit_is_refused():
    from speleo.errors import SplSyntaxError

    for query in ("* | timechart span=0.5s count", "* | bin _time span=0m", "* | timechart span=0d count"):
        with pytest.raises(SplSyntaxError, match="at least one second"):
            run(query, rows=EVENTS)


def test_timechart_leaves_out_events_whose_time_was_made_null():
    # as stats by _time does: E1 (-5) keeps its time -> bucket NOW-20; E2..E5 get a null _time
    query = '* | eval _time=if(bytes="10", _time, null()) | timechart span=1m cont=f count by h'
    assert [{k: (v - NOW if k == "_time" else v) for k, v in r.items()} for r in run(query, rows=EVENTS)] == [
        {"_time": -20, "a": 1}]
    rows = run("* | stats count | append [search " + query[2:] + "]", rows=EVENTS)
    assert [(r["_time"] - NOW, r["a"]) for r in rows[1:]] == [(-20, 1)] and "b" not in rows[1]


def test_timechart_fills_empty_days():
    # UTC days: the events fall on 2023-11-12 (-2 d) and 2023-11-14; 2023-11-13 00:00 = NOW - 166400 is empty
    events = ev((-5, "h=a"), (-172805, "h=b"))
    assert rel(run("* | timechart span=1d count", rows=events), "_time", "count") == [
        (-252800, 1), (-166400, 0), (-80000, 1)]
    rows = run("* | timechart span=1d count by h", rows=events)
    assert rel(rows, "_time", "a", "b") == [(-252800, 0, 1), (-166400, 0, 0), (-80000, 1, 0)]
    # with the searched range: -3d@d = 2023-11-11 00:00 = NOW - 339200 through today
    rows = run("* earliest=-3d@d | timechart span=1d count", rows=events)
    assert rel(rows, "_time", "count") == [(-339200, 0), (-252800, 1), (-166400, 0), (-80000, 1)]


def test_timechart_null_and_other_columns_come_last():
    # by count: beta 2, then NULL, Zed and alpha 1 each (ties by name: "NULL" < "Zed" < "alpha"):
    # limit=3 keeps beta, NULL and Zed; the named series come first, then NULL, then OTHER
    events = ev("h=Zed", "h=alpha", "x=1", "h=beta", "h=beta")
    rows = run("* | timechart span=1h limit=3 count by h", rows=events)
    assert list(rows[0]) == ["_time", "Zed", "beta", "NULL", "OTHER"]


def test_timechart_fills_days_from_a_day_without_a_local_midnight():
    # America/Santiago, DST from 2023-09-03: 00:00 does not exist, that day's bucket starts at
    # 01:00 -03 (04:00 UTC = NOW - 6286400); the next days start at their midnights, 03:00 UTC:
    # 09-04 = NOW - 6203600 (event a, NOW - 71 d), 09-05 = NOW - 6117200 (event b, NOW - 70 d),
    # 09-06 = NOW - 6030800 (the last day before latest=-68d@d = 09-07 00:00)
    from zoneinfo import ZoneInfo

    events = ev((-71 * 86400, "h=a"), (-70 * 86400, "h=b"))
    tz = ZoneInfo("America/Santiago")
    rows = run("* earliest=-72d@d latest=-68d@d | timechart span=1d count", rows=events, tz=tz)
    assert rel(rows, "_time", "count") == [(-6286400, 0), (-6203600, 1), (-6117200, 1), (-6030800, 0)]
    rows = run("* earliest=-72d@d latest=-68d@d | timechart span=1d count by h", rows=events, tz=tz)
    assert rel(rows, "_time", "a", "b") == [(-6286400, 0, 0), (-6203600, 1, 0), (-6117200, 0, 1), (-6030800, 0, 0)]
