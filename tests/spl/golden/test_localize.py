"""localize against its Splunk Search Reference page (9.0, search-commands/localize); expected
regions worked out by hand below.

Events at NOW -10, -20, -100, -130, -400 s. Oldest first: -400, -130, -100, -20, -10; the gaps
between consecutive ones: 270, 30, 80, 10.
"""

from __future__ import annotations

import pytest

from speleo.errors import SplError
from tests.spl.golden._util import NOW, ev, run

EVENTS = ev((-10, "a"), (-20, "b"), (-100, "c"), (-130, "d"), (-400, "e"))
FIELDS = ("_time", "starttime", "endtime", "duration", "count", "density")


def regions(query: str) -> list[tuple]:
    return [tuple(r[f] - NOW if f in ("_time", "starttime", "endtime") else r[f] for f in FIELDS)
            for r in run(query, rows=EVENTS)]


def test_default_maxpause_one_minute_and_30s_either_side():
    # gaps above 60 (270, 80) split: [-20, -10], [-130, -100], [-400], newest first.
    # [-20,-10]: start -20-30 = -50, end -10+30 = 20, duration 70, 2 events -> 2/70
    # [-130,-100]: -160, -70, 90, 2/90; [-400]: -430, -370, 60, 1/60
    assert regions("* | localize") == [(-20, -50, 20, 70, 2, 2 / 70), (-130, -160, -70, 90, 2, 2 / 90),
                                       (-400, -430, -370, 60, 1, 1 / 60)]


def test_maxpause_is_inclusive():
    # 80s joins -100 and -20 (gap 80): [-130 .. -10] holds 4: -160, 20, 180, 4/180
    assert regions("* | localize maxpause=80s") == [(-130, -160, 20, 180, 4, 4 / 180),
                                                    (-400, -430, -370, 60, 1, 1 / 60)]
    # 79s does not
    assert [r[0] for r in regions("* | localize maxpause=79s")] == [-20, -130, -400]
    # 5m (300 s) takes in the 270 s gap too: one region -400 .. -10 of 5
    assert regions("* | localize maxpause=5m timeafter=1m timebefore=0") == [(-400, -400, 50, 450, 5, 5 / 450)]


def test_zero_duration_has_no_density_and_commands_run_after():
    # 5s: every event its own region; no expansion -> duration 0, no density
    assert regions("* | localize maxpause=5s timeafter=0 timebefore=0") == [
        (t, t, t, 0, 1, None) for t in (-10, -20, -100, -130, -400)]
    assert run("* | localize | stats sum(count) as n max(duration) as d", rows=EVENTS) == [{"n": 5, "d": 90}]


@pytest.mark.parametrize("query, why, offset", [
    ("* | localize maxpause=5x", r"maxpause='5x': expected a whole number with s, m, h or d", 22),
    ("* | localize timeafter=-1m", "expected a whole number", 23),
    ("* | localize 5m", "takes only maxpause=", 13),
    ("* | localize span=5m", r"unknown option 'span'", 13),
])
def test_errors_say_what_is_wrong_and_where(query, why, offset):
    with pytest.raises(SplError, match=why) as info:
        run(query, rows=EVENTS)
    assert info.value.column == offset + 1   # offsets in the query from 0; SplError's column from 1


def test_needs_time_and_not_in_a_subsearch():
    with pytest.raises(SplError, match="needs results with _time"):
        run("* | stats count by host | localize", rows=EVENTS)
    with pytest.raises(SplError, match="not supported in a subsearch"):
        run("* | append [search * | localize]", rows=EVENTS)
