"""Schedule arithmetic across daylight-saving changes (pure, no database).

Expected instants are worked out by hand from the published 2026 rules and written as UTC
calendar times (calendar.timegm), not computed with zoneinfo:
- Europe/Berlin: CET (UTC+1) -> CEST (UTC+2) on Sun 29 Mar 2026 at 01:00 UTC;
  CEST -> CET on Sun 25 Oct 2026 at 01:00 UTC.
- America/New_York: EST (UTC-5) -> EDT (UTC-4) on Sun 8 Mar 2026 at 07:00 UTC;
  EDT -> EST on Sun 1 Nov 2026 at 06:00 UTC.
"""

import calendar
import datetime as dt

import pytest

from speleo.errors import InputError
from speleo.ops.oncall import schedule as sch


def utc(y, mo, d, h=0, mi=0):
    return float(calendar.timegm((y, mo, d, h, mi, 0)))


def rot(users, start, kind="daily", length=None, unit=None, layer=0, name="r", end=None):
    n, u = sch.rotation_length(kind, length, unit)
    return sch.Rotation(name, tuple(users), dt.datetime.fromisoformat(start), n, u, layer,
                        dt.datetime.fromisoformat(end) if end else None)


def starts(sc, a, b):
    return [(s.user, s.start, s.end) for s in sch.final_shifts(sc, a, b)]


def test_berlin_daily_0900_handoff_across_spring_forward():
    sc = sch.Schedule("b", "Europe/Berlin", [rot(["ann", "bob", "cy"], "2026-03-27T09:00")])
    got = starts(sc, utc(2026, 3, 27, 8), utc(2026, 3, 31, 7))
    # 09:00 CET = 08:00 UTC until Sat 28 Mar; 09:00 CEST = 07:00 UTC from Sun 29 Mar
    assert got == [("ann", utc(2026, 3, 27, 8), utc(2026, 3, 28, 8)),
                   ("bob", utc(2026, 3, 28, 8), utc(2026, 3, 29, 7)),   # the 23-hour shift
                   ("cy", utc(2026, 3, 29, 7), utc(2026, 3, 30, 7)),
                   ("ann", utc(2026, 3, 30, 7), utc(2026, 3, 31, 7))]


def test_berlin_daily_0900_handoff_across_fall_back():
    sc = sch.Schedule("b", "Europe/Berlin", [rot(["ann", "bob"], "2026-10-24T09:00")])
    got = starts(sc, utc(2026, 10, 24, 7), utc(2026, 10, 26, 8))
    assert got == [("ann", utc(2026, 10, 24, 7), utc(2026, 10, 25, 8)),  # 25 hours: 09:00 CEST -> 09:00 CET
                   ("bob", utc(2026, 10, 25, 8), utc(2026, 10, 26, 8))]


def test_new_york_weekly_monday_0900_across_both_changes():
    sc = sch.Schedule("ny", "America/New_York", [rot(["ann", "bob"], "2026-03-02T09:00", kind="weekly")])
    # Mon 2 Mar 09:00 EST = 14:00 UTC; Mon 9 Mar 09:00 EDT = 13:00 UTC (a 167-hour week)
    assert starts(sc, utc(2026, 3, 2, 14), utc(2026, 3, 16, 13)) == [
        ("ann", utc(2026, 3, 2, 14), utc(2026, 3, 9, 13)), ("bob", utc(2026, 3, 9, 13), utc(2026, 3, 16, 13))]
    # Mon 26 Oct 09:00 EDT = 13:00 UTC; Mon 2 Nov 09:00 EST = 14:00 UTC (a 169-hour week).
    # Weeks since 2 Mar: 34 -> ann (even)
    assert starts(sc, utc(2026, 10, 26, 13), utc(2026, 11, 9, 14)) == [
        ("ann", utc(2026, 10, 26, 13), utc(2026, 11, 2, 14)), ("bob", utc(2026, 11, 2, 14), utc(2026, 11, 9, 14))]


def test_new_york_who_is_on_call_around_the_changes():
    sc = sch.Schedule("ny", "America/New_York", [rot(["ann", "bob"], "2026-03-07T09:00")])
    # Sun 8 Mar: hand-off at 09:00 EDT = 13:00 UTC (the day before it was 14:00 UTC)
    assert sch.who_at(sc, utc(2026, 3, 8, 12, 59)).user == "ann"
    assert sch.who_at(sc, utc(2026, 3, 8, 13, 0)).user == "bob"
    assert sch.who_at(sc, utc(2026, 3, 7, 13, 59)) is None   # before the first shift: a gap
    sc2 = sch.Schedule("ny", "America/New_York", [rot(["ann", "bob"], "2026-10-31T09:00")])
    # Sun 1 Nov: 09:00 EST = 14:00 UTC
    assert sch.who_at(sc2, utc(2026, 11, 1, 13, 59)).user == "ann"
    assert sch.who_at(sc2, utc(2026, 11, 1, 14, 0)).user == "bob"


def test_twelve_hour_custom_rotation_keeps_local_handoffs():
    sc = sch.Schedule("b", "Europe/Berlin", [rot(["day", "night"], "2026-03-28T09:00", "custom", 12, "hours")])
    got = starts(sc, utc(2026, 3, 28, 8), utc(2026, 3, 29, 19))
    # 09:00 CET=08Z, 21:00 CET=20Z, then 09:00 CEST=07Z (night is 10 h elapsed), 21:00 CEST=19Z
    assert got == [("day", utc(2026, 3, 28, 8), utc(2026, 3, 28, 20)),
                   ("night", utc(2026, 3, 28, 20), utc(2026, 3, 29, 7)),
                   ("day", utc(2026, 3, 29, 7), utc(2026, 3, 29, 19))]


def test_handoff_inside_the_spring_forward_gap_moves_forward_and_repeated_time_takes_first():
    sc = sch.Schedule("b", "Europe/Berlin", [rot(["a", "b"], "2026-03-28T02:30")])
    # 02:30 on 29 Mar does not exist in Berlin: read with the CET offset, 01:30 UTC (03:30 CEST)
    assert [s.start for s in sch.final_shifts(sc, utc(2026, 3, 29, 0), utc(2026, 3, 30, 3))] == [
        utc(2026, 3, 29, 0), utc(2026, 3, 29, 1, 30), utc(2026, 3, 30, 0, 30)]
    sc2 = sch.Schedule("b", "Europe/Berlin", [rot(["a", "b"], "2026-10-24T02:30")])
    # 02:30 on 25 Oct happens twice; the first (CEST) is 00:30 UTC
    assert [s.start for s in sch.final_shifts(sc2, utc(2026, 10, 24, 12), utc(2026, 10, 26, 3))] == [
        utc(2026, 10, 24, 12), utc(2026, 10, 25, 0, 30), utc(2026, 10, 26, 1, 30)]


def test_layers_overrides_and_gaps():
    weekly = rot(["ann", "bob"], "2026-06-01T09:00", "weekly", layer=0, name="base")
    # a higher layer covering only Sat 6 Jun 09:00 -> Sun 7 Jun 09:00 Berlin (CEST: 07:00 UTC)
    weekend = rot(["cy"], "2026-06-06T09:00", layer=5, name="weekend", end="2026-06-07T09:00")
    ov = sch.Override("dee", utc(2026, 6, 2, 10), utc(2026, 6, 2, 12), id=1)
    sc = sch.Schedule("b", "Europe/Berlin", [weekly, weekend], [ov])
    got = starts(sc, utc(2026, 6, 1, 7), utc(2026, 6, 8, 7))
    assert got == [("ann", utc(2026, 6, 1, 7), utc(2026, 6, 2, 10)), ("dee", utc(2026, 6, 2, 10), utc(2026, 6, 2, 12)),
                   ("ann", utc(2026, 6, 2, 12), utc(2026, 6, 6, 7)), ("cy", utc(2026, 6, 6, 7), utc(2026, 6, 7, 7)),
                   ("ann", utc(2026, 6, 7, 7), utc(2026, 6, 8, 7))]
    assert sch.gaps(sc, utc(2026, 5, 31), utc(2026, 6, 2)) == [sch.Gap(utc(2026, 5, 31), utc(2026, 6, 1, 7))]
    ended = sch.Schedule("e", "UTC", [rot(["a"], "2026-01-01T00:00", end="2026-01-03T12:00")])
    assert sch.gaps(ended, utc(2026, 1, 1), utc(2026, 1, 4)) == [sch.Gap(utc(2026, 1, 3, 12), utc(2026, 1, 4))]


def test_bad_zone_and_lengths_are_refused():
    with pytest.raises(InputError, match="IANA"):
        sch.zone("Mars/Olympus")
    with pytest.raises(InputError, match="between 1 hour and 52 weeks"):
        sch.rotation_length("custom", 0, "days")
    with pytest.raises(InputError, match="zone offset"):
        sch.parse_local("2026-03-01T09:00+01:00")
