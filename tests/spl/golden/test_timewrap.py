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


@pytest.mark.parametrize("bad, why", [("1mon", "calendar spans"), ("1x", "timescale"), ("1d series=exact", "relative"),
                                      ("1d align=start", "align")])
def test_bad_spans_and_options(bad, why):
    with pytest.raises(SplError, match=why):
        run(f"* | timechart span=1h count | timewrap {bad}", rows=EVENTS)


def test_needs_time():
    with pytest.raises(SplError, match="_time"):
        run("* | stats count | timewrap 1d", rows=EVENTS)


def test_too_many_periods_are_refused():
    # the first bin (21:00 two days ago) is 177,200 s before NOW: wrapped every second, 177,200
    # periods, far above the bound of 1,000
    with pytest.raises(InputError, match="177,200 periods"):
        run("* | timechart span=1h count | timewrap 1s", rows=EVENTS)


def test_after_a_split_timechart_and_stats_max():
    # timechart ... by and stats max() both end in a step on the result; timewrap still follows
    events = ev((-3600, "a", "web1"), (-25 * 3600, "b", "web1"), (-3600, "c", "web2"))
    rows = run("* | timechart span=1h count by host | timewrap 1d", rows=events)
    row = {r["_time"]: r for r in rows}[at(21)]
    assert (row["web1_1day_before"], row["web1_latest_day"], row["web2_latest_day"]) == (1, 1, 1)
    rows = run("* | bin _time span=1h | stats max(linecount) as m by _time | timewrap 1d", rows=events)
    assert {r["_time"]: r for r in rows}[at(21)]["m_latest_day"] == 1
