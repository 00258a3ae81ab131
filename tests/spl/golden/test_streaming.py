"""streamstats, delta, accum, trendline (running statistics in search order, newest first).

The events are the example of Splunk's streamstats page (host / action / bytes; host is `h` here):
x LOGON 100, y APP_START 200, x FILE_DOWNLOAD 400, x REBOOT 50, y LOGON 150, x LOGON 100,
where `streamstats window=3 avg(bytes)` gives 100, 150, 233.33, 216.66, 200, 100.
"streamstats" (current=true includes the event itself; window=N the last N events; by-groups; global=f
gives each group its own window): https://help.splunk.com/splunk-enterprise/spl-search-reference/9.4/search-commands/streamstats
"delta" (difference with the previous result, p= N results back; the first has none):
https://help.splunk.com/splunk-enterprise/spl-search-reference/9.2/search-commands/delta
"accum" (running total): https://help.splunk.com/splunk-enterprise/spl-search-reference/9.2/search-commands/accum
"trendline" (smaN: mean of the last N values, wmaN: weights 1..N, the newest heaviest; no value until
N values were seen; emaN: alpha = 2/(N+1)): https://help.splunk.com/splunk-enterprise/spl-search-reference/9.2/search-commands/trendline
"""

from __future__ import annotations

import pytest

from tests.spl.golden._util import dump, ev, rows_of

EVENTS = ev(
    ("h=x action=LOGON bytes=100"),
    ("h=y action=APP_START bytes=200"),
    ("h=x action=FILE_DOWNLOAD bytes=400"),
    ("h=x action=REBOOT bytes=50"),
    ("h=y action=LOGON bytes=150"),
    ("h=x action=LOGON bytes=100"),
)


def approx(values):
    return [None if v is None else pytest.approx(v, abs=0.01) for v in values]


@pytest.mark.parametrize("query, col, expected", [
    ("streamstats window=3 avg(bytes) as a", "a", [100, 150, 233.33, 216.67, 200, 100]),
    ("streamstats count", "count", [1, 2, 3, 4, 5, 6]),
    ("streamstats count as n by h", "n", [1, 1, 2, 3, 2, 4]),
    ("streamstats sum(bytes) as s", "s", [100, 300, 700, 750, 900, 1000]),
    ("streamstats current=f sum(bytes) as s", "s", [None, 100, 300, 700, 750, 900]),
    ("streamstats window=2 global=f max(bytes) as m by h", "m", [100, 200, 400, 400, 200, 100]),
    ("streamstats dc(action) as d", "d", [1, 2, 3, 4, 4, 4]),
    ("streamstats min(bytes) as lo max(bytes) as hi | eval r=hi-lo", "r", [0, 100, 300, 350, 350, 350]),
    ("delta bytes as d", "d", [None, 100, 200, -350, 100, -50]),
    ("delta bytes as d p=2", "d", [None, None, 300, -150, -250, 50]),
    ("accum bytes as total", "total", [100, 300, 700, 750, 900, 1000]),
    ("trendline sma3(bytes) as t", "t", [None, None, 233.33, 216.67, 200, 100]),
    ("trendline wma3(bytes) as t", "t", [None, None, 283.33, 191.67, 158.33, 108.33]),
    # ema3: alpha = 2 / (3 + 1) = 0.5, seeded with the first value: 100, (200+100)/2 = 150,
    # (400+150)/2 = 275, (50+275)/2 = 162.5, (150+162.5)/2 = 156.25, (100+156.25)/2 = 128.125
    ("trendline ema3(bytes) as t", "t", [100, 150, 275, 162.5, 156.25, 128.125]),
])
def test_streaming(query, col, expected):
    got = rows_of(f"* | {query} | table {col}", EVENTS, col)
    assert got == approx(expected)


@pytest.mark.parametrize("query, col, expected", [
    # Search Reference, streamstats with the functions of stats: first()/last() the first / last
    # value seen in the stream's order (newest first here), earliest()/latest() by _time. They
    # were refused ("streamstats function 'last(_time)' is not supported").
    # by h: x is LOGON, FILE_DOWNLOAD, REBOOT, LOGON; y is APP_START, LOGON; current=f: the previous
    ("streamstats current=f last(action) as prev by h", "prev",
     [None, None, "LOGON", "FILE_DOWNLOAD", "APP_START", "REBOOT"]),
    ("streamstats first(action) as f", "f", ["LOGON"] * 6),
    ("streamstats window=2 first(bytes) as f", "f", ["100", "100", "200", "400", "50", "150"]),
    # newest first: the earliest seen before a result is the one just before it; the latest is the first
    ("streamstats current=f earliest(bytes) as e", "e", [None, "100", "200", "400", "50", "150"]),
    ("streamstats latest(bytes) as l", "l", ["100"] * 6),
    # bytes 100, 200, 400, 50, 150, 100 two at a time: max - min
    ("streamstats window=2 range(bytes) as r", "r", [0, 100, 200, 350, 100, 50]),
    # the events are 10 s apart: the gap to the previous (newer) event
    ("streamstats current=f last(_time) as prev | eval gap=prev-_time", "gap", [None, 10, 10, 10, 10, 10]),
])
def test_streamstats_first_last_earliest_latest_range(query, col, expected):
    got = rows_of(f"* | {query} | table {col}", EVENTS, col)
    assert [None if v is None else (str(v) if isinstance(e, str) else pytest.approx(v)) for v, e in
            zip(got, expected)] == expected


def test_delta_default_name():
    # without AS the output field is delta(<field>)
    assert rows_of("* | delta bytes", EVENTS, "delta(bytes)") == approx(
        [None, 100, 200, -350, 100, -50])


def test_streamstats_after_sort():
    # streamstats follows the current result order
    rows = rows_of("* | sort bytes | streamstats count as rank | table bytes rank", EVENTS, "bytes", "rank")
    assert rows == [("50", 1), ("100", 2), ("100", 3), ("150", 4), ("200", 5), ("400", 6)]


# --- SPL -> AST ---------------------------------------------------------------------------------


@pytest.mark.parametrize("query, expected", [
    ("x | streamstats current=f window=3 avg(b) as a by h",
     "Pipeline(commands=[SearchCmd(expr=Term(text='x', quoted=False)), StreamstatsCmd(options={'current': 'f', "
     "'window': '3'}, aggs=[Agg(func='avg', arg='b', param=None, alias='a', label='avg(b)')], by=['h'])])"),
    ("x | delta b as d p=2 | accum b",
     "Pipeline(commands=[SearchCmd(expr=Term(text='x', quoted=False)), ArgsCmd(name='delta', options={'p': '2'}, "
     "args=['b', 'as', 'd']), ArgsCmd(name='accum', options={}, args=['b'])])"),
])
def test_streaming_ast(query, expected):
    assert dump(query) == expected


# --- SPL -> SQL ---------------------------------------------------------------------------------


def test_streamstats_sql():
    # expected by hand: a running COUNT(*) window in the current (time) order, up to the current row
    from tests.spl.golden._util import sql

    assert sql("* | streamstats count") == (
        "WITH s0 AS (SELECT * FROM __events__ WHERE TRUE), s1 AS (SELECT *, COUNT(*) OVER (ORDER BY \"_time\" DESC "
        "ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS \"count\" FROM s0) SELECT * FROM s1 ORDER BY \"_time\" DESC")


def test_reverse_sql():
    # expected by hand: the order pinned in a row number, then read backwards
    from tests.spl.golden._util import sql

    assert sql("* | reverse") == (
        "WITH s0 AS (SELECT * FROM __events__ WHERE TRUE), s1 AS (SELECT *, ROW_NUMBER() OVER (ORDER BY \"_time\" DESC) "
        "AS \"__speleo_ord\" FROM s0) SELECT * EXCLUDE (\"__speleo_ord\") FROM s1 ORDER BY \"__speleo_ord\" DESC")


def test_trendline_refuses_a_moving_average_of_an_ema_of_the_same_command():
    # the ema is a running value computed after the SQL: sma2(e) there would read nothing
    from speleo.errors import SplError
    from tests.spl.golden._util import run

    with pytest.raises(SplError, match="second trendline command"):
        run("* | trendline ema2(bytes) as e sma2(e) as f", rows=EVENTS)
    rows = run("* | trendline ema2(bytes) as e | trendline sma2(e) as f | table f", rows=EVENTS)
    assert rows[0]["f"] is None and rows[1]["f"] is not None
