"""Cron schedules of saved searches: validation and the ticks, in the server's time zone.

Splunk savedsearches.conf.spec (`cron_schedule`): five fields (minute hour day-of-month month
day-of-week), lists, ranges and steps; Splunk's cron does not accept month or day names, so
neither does Speleo (`0 9 * * MON` is refused with a message naming the word).

Ticks are computed with croniter on wall-clock time of the zone given (the server's zone, or
`Settings.default_tz`). Daylight saving time [Decision, as Vixie cron]: a wall time that does
not exist (spring forward) runs at the first instant after the gap; a wall time that happens
twice (fall back) runs once for a schedule with fixed hours, while schedules whose hour field
is `*` keep one run per real hour (`0 * * * *` runs at 02:00 CEST and at 02:00 CET).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from functools import lru_cache

from croniter import croniter

from speleo.errors import InputError

_NAME = re.compile(r"[A-Za-z]+")
_FIELD = re.compile(r"^(\*|\d+(-\d+)?)(/\d+)?(,(\*|\d+(-\d+)?)(/\d+)?)*$")
FIELD_NAMES = ("minute", "hour", "day of month", "month", "day of week")


def check_cron(expr: str, where: str = "cron_schedule") -> str:
    """The expression normalised (single spaces) or InputError saying which field is wrong.

    `where` names the setting in the message (e.g. "saved search 'x': cron_schedule").
    """
    if _valid(expr):
        return " ".join(expr.split())
    return _validate(expr, where)


def _validate(expr: str, where: str) -> str:
    text = " ".join((expr or "").split())
    parts = text.split(" ") if text else []
    if len(parts) != 5:
        raise InputError(f"{where} {expr!r}: a cron schedule has 5 fields (minute hour day-of-month month "
                         f"day-of-week), e.g. '*/5 * * * *'; this one has {len(parts)}")
    for name, part in zip(FIELD_NAMES, parts):
        word = _NAME.search(part)
        if word:
            raise InputError(f"{where} {expr!r}: Splunk's cron does not accept names ({word.group(0)!r} in the "
                             f"{name} field); use numbers (months 1-12, days of week 0-6 with 0 = Sunday)")
        if not _FIELD.match(part):
            raise InputError(f"{where} {expr!r}: the {name} field {part!r} is not a number, range, list or step")
    if not croniter.is_valid(text):
        raise InputError(f"{where} {expr!r}: a value is out of range (minute 0-59, hour 0-23, day 1-31, "
                         "month 1-12, day of week 0-6)")
    return text


@lru_cache(maxsize=4096)
def _valid(expr: str) -> bool:
    """Expressions already checked (the scheduler parses every schedule at each pass)."""
    try:
        _validate(expr, "")
        return True
    except InputError:
        return False


@lru_cache(maxsize=65536)
def _next_after(expr: str, tz: dt.tzinfo, fixed_hours: bool, t: float) -> float:
    """Cached: a hundred searches with the same cron ask for the same tick."""
    it = croniter(expr, dt.datetime.fromtimestamp(t, tz))
    tick = it.get_next(float)
    for _ in range(10):
        if not (fixed_hours and dt.datetime.fromtimestamp(tick, tz).fold == 1):
            return tick
        tick = it.get_next(float)
    return tick


@dataclass(frozen=True)
class Schedule:
    """A validated cron expression evaluated in one zone."""

    expr: str
    tz: dt.tzinfo

    @classmethod
    def parse(cls, expr: str, tz: dt.tzinfo, where: str = "cron_schedule") -> "Schedule":
        return cls(check_cron(expr, where), tz)

    @property
    def fixed_hours(self) -> bool:
        return self.expr.split(" ")[1] != "*"

    def next_after(self, t: float) -> float:
        """The first tick strictly after epoch `t` (seconds UTC)."""
        return _next_after(self.expr, self.tz, self.fixed_hours, float(t))

    def ticks(self, start: float, end: float, limit: int = 100_000) -> list[float]:
        """Ticks in (start, end], at most `limit`."""
        out: list[float] = []
        t = start
        while len(out) < limit:
            t = self.next_after(t)
            if t > end:
                break
            out.append(t)
        return out

    def period(self, at: float) -> float:
        """Seconds between the next two ticks after `at` (the schedule's period there)."""
        a = self.next_after(at)
        return self.next_after(a) - a


@dataclass(frozen=True)
class Skewed:
    """A schedule whose ticks are moved by a fixed offset (`allow_skew`)."""

    base: Schedule
    offset: float

    def next_after(self, t: float) -> float:
        return self.base.next_after(t - self.offset) + self.offset

    def ticks(self, start: float, end: float, limit: int = 100_000) -> list[float]:
        return [t + self.offset for t in self.base.ticks(start - self.offset, end - self.offset, limit)]

    def period(self, at: float) -> float:
        return self.base.period(at - self.offset)


def schedule_of(saved, tz: dt.tzinfo, at: float):
    """The schedule a saved search runs on: its cron, moved by its `allow_skew` offset."""
    sched = Schedule.parse(saved.spec["cron_schedule"], tz)
    skew = saved.spec.skew_secs(sched.period(at), saved.owner)
    return Skewed(sched, skew) if skew else sched
