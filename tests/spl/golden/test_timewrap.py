"""timewrap (Splunk Search Reference: timewrap,
https://help.splunk.com/splunk-cloud-platform/spl-search-reference/9.3.2408/search-commands/timewrap):
the rows of a timechart cut into periods counted back from the end of the search (align=end),
each period its own series: latest_day, 1day_before, 2days_before...

Expected values by hand. NOW is 2023-11-14 22:13:20 UTC. Events at NOW-1h (21:13 today),
NOW-2h (20:13 today), NOW-25h (21:13 yesterday) and NOW-49h (21:13 two days ago). With span=1h
the bins are whole hours; a period is the 24 h before the end (NOW), so the bins of 21:00 two
days ago, yesterday and today are periods 2, 1 and 0, all drawn at today's 21:00.
"""

from __future__ import annotations

import datetime as dt

import pytest

from speleo.errors import InputError, SplError
from tests.spl.conftest import NOW
from tests.spl.golden._util import ev, run

EVENTS = ev((-3600, "a host=web1"), (-2 * 3600, "d"), (-25 * 3600, "b"), (-49 * 3600, "c"))


def at(hour: int) -> float:
    return dt.datetime(2023, 11, 14, hour, tzinfo=dt.timezone.utc).timestamp()


def test_day_over_day():
    rows = run("* | timechart span=1h count | timewrap 1d", rows=EVENTS)
    assert list(rows[0]) == ["_time", "count_2days_before", "count_1day_before", "count_latest_day"]
    by_time = {r["_time"]: r for r in rows}
    assert by_time[at(21)] == {"_time": at(21), "count_2days_before": 1, "count_1day_before": 1, "count_latest_day": 1}
    # 20:00: today's event; yesterday's bin is an empty (zero) bin of the timechart; two days ago
    # the timechart had not started (its first bin is 21:00 two days ago)
    assert by_time[at(20)] == {"_time": at(20), "count_2days_before": None, "count_1day_before": 0,
                               "count_latest_day": 1}
    # one row per hour of the latest period: the timechart runs to the bin holding NOW (22:00,
    # empty), so the 24 bins from 23:00 yesterday to 22:00 today
    assert len(rows) == 24 and max(by_time) == at(22) and min(by_time) == at(22) - 23 * 3600
    assert sum(r["count_latest_day"] or 0 for r in rows) == 2


def test_short_names_and_later_commands():
    rows = run("* | timechart span=1h count | timewrap 1d series=short | stats sum(count_s1) as y sum(count_s0) as t",
               rows=EVENTS)
    assert rows == [{"y": 1, "t": 2}]


def test_two_day_periods():
    # period 2 days: 21:13 today, 20:13 today and 21:13 yesterday are all in the latest 48 h
    rows = run("* | timechart span=1h count | timewrap 2d", rows=EVENTS)
    assert list(rows[0]) == ["_time", "count_2days_before", "count_latest_2days"]
    assert sum(r["count_latest_2days"] or 0 for r in rows) == 3
    assert sum(r["count_2days_before"] or 0 for r in rows) == 1


@pytest.mark.parametrize("bad, why", [("0mon", "at least 1"), ("1x", "timescale"), ("1d series=exact", "relative"),
                                      ("1d align=start", "align")])
def test_bad_spans_and_options(bad, why):
    with pytest.raises(SplError, match=why):
        run(f"* | timechart span=1h count | timewrap {bad}", rows=EVENTS)


def test_needs_time():
    with pytest.raises(SplError, match="_time"):
        run("* | stats count | timewrap 1d", rows=EVENTS)


def test_too_many_periods_are_refused():
    # minute rows from the oldest event (49 h ago) to the newest (1 h ago): 48 * 60 + 1 = 2,881
    # rows, each in a period of its own when wrapped every minute: far above the bound of 1,000
    with pytest.raises(InputError, match="2,881 periods"):
        run("* | timechart span=1m count | timewrap 1min", rows=EVENTS)


def test_only_periods_holding_rows_become_columns():
    # hourly rows wrapped every second: each of the 49 rows is in a period of its own, and the
    # periods between them (177,200 seconds back to the first bin) get no column
    rows = run("* | timechart span=1h count | timewrap 1s", rows=EVENTS)
    assert len(rows[0]) == 1 + 49


def test_after_a_split_timechart_and_stats_max():
    # timechart ... by and stats max() both end in a step on the result; timewrap still follows
    events = ev((-3600, "a", "web1"), (-25 * 3600, "b", "web1"), (-3600, "c", "web2"))
    rows = run("* | timechart span=1h count by host | timewrap 1d", rows=events)
    row = {r["_time"]: r for r in rows}[at(21)]
    assert (row["web1_1day_before"], row["web1_latest_day"], row["web2_latest_day"]) == (1, 1, 1)
    rows = run("* | bin _time span=1h | stats max(linecount) as m by _time | timewrap 1d", rows=events)
    assert {r["_time"]: r for r in rows}[at(21)]["m_latest_day"] == 1


def test_month_periods_are_calendar_months_back_from_the_end():
    # NOW = 2023-11-14 22:13:20 UTC is the end. Periods: latest [Oct 14 22:13:20, end),
    # 1month_before [Sep 14 22:13:20, Oct 14 22:13:20) (30 days), 2months_before [Aug 14
    # 22:13:20, Sep 14 22:13:20) (31 days). A row keeps its distance from its period's start:
    # Oct 10 (period 1) + 30 days = Nov 9; Sep 20 (period 1) + 30 days = Oct 20;
    # Sep 1 (period 2) + 61 days = Nov 1; Nov 10 stays.
    day = 86400
    events = ev((-425600, "a"), (-3104000, "b"), (-4832000, "c"), (-6473600, "d"))
    rows = run("* | timechart span=1d count | timewrap 1mon", rows=events)
    assert list(rows[0]) == ["_time", "count_2months_before", "count_1month_before", "count_latest_month"]

    def row(y, m, d):
        t = dt.datetime(y, m, d, tzinfo=dt.timezone.utc).timestamp()
        return next(r for r in rows if r["_time"] == t)
    assert row(2023, 11, 10)["count_latest_month"] == 1
    assert row(2023, 11, 9)["count_1month_before"] == 1
    assert row(2023, 10, 20)["count_1month_before"] == 1
    assert row(2023, 11, 1)["count_2months_before"] == 1
    assert sum(r["count_latest_month"] or 0 for r in rows) == 1
    assert sum(r["count_1month_before"] or 0 for r in rows) == 2
    assert sum(r["count_2months_before"] or 0 for r in rows) == 1
    assert all(r["_time"] % day == 0 for r in rows)   # whole days moved by whole days


def test_quarters_and_short_series_names():
    # a quarter is 3 months: Sep 1 is in [Aug 14 22:13:20, Nov 14 22:13:20): the latest quarter
    events = ev((-425600, "a"), (-6473600, "d"))
    rows = run("* | timechart span=1d count | timewrap 1q series=short", rows=events)
    assert list(rows[0]) == ["_time", "count_s0"]
    assert sum(r["count_s0"] for r in rows) == 2


def test_month_periods_keep_local_midnights_across_daylight_saving_time():
    # New York: the end NOW = 2023-11-14 17:13:20 EST; the latest month starts Oct 14 17:13:20 EDT,
    # the one before Sep 14 17:13:20 EDT. An event on Oct 10 12:00 EDT falls in the day bucket
    # of Oct 10 00:00 EDT (04:00 UTC), which moves 30 wall-clock days to Nov 9 00:00 EST (05:00
    # UTC): a local midnight still, though the offset changed on Nov 5.
    from zoneinfo import ZoneInfo

    ny = ZoneInfo("America/New_York")
    when = dt.datetime(2023, 10, 10, 12, 0, tzinfo=ny).timestamp()
    events = ev((when - NOW, "b"), (-425600, "a"))
    rows = run("* | timechart span=1d count | timewrap 1mon", rows=events, tz=ny)
    moved = [r["_time"] for r in rows if r.get("count_1month_before")]
    assert moved == [dt.datetime(2023, 11, 9, tzinfo=ny).timestamp()]
    assert all(dt.datetime.fromtimestamp(r["_time"], ny).hour == 0 for r in rows)
