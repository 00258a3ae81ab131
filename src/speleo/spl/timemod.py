"""Splunk relative time modifiers (Splunk Search Reference: "Time modifiers").

Grammar: ``now`` | epoch seconds | ``%m/%d/%Y:%H:%M:%S`` | a chain of
``[+|-]<int><unit>`` offsets and ``@<unit>[<offset>]`` snaps, e.g. ``-24h``,
``-7d@d``, ``@d``, ``+1h``, ``-1d@w0``, ``@d+8h``. Seconds, minutes and hours are
exact durations; days, weeks, months, quarters and years move the local calendar of
`tz`; snapping rounds down to the start of the unit in `tz` (``@w0`` = Sunday,
``@w1`` = Monday ...).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, tzinfo

from speleo.errors import SplSyntaxError

UNITS = {  # time modifier unit words -> s m h d w mon q y
    "s": "s", "sec": "s", "secs": "s", "second": "s", "seconds": "s",
    "m": "m", "min": "m", "mins": "m", "minute": "m", "minutes": "m",
    "h": "h", "hr": "h", "hrs": "h", "hour": "h", "hours": "h",
    "d": "d", "day": "d", "days": "d",
    "w": "w", "week": "w", "weeks": "w",
    "mon": "mon", "month": "mon", "months": "mon",
    "q": "q", "qtr": "q", "qtrs": "q", "quarter": "q", "quarters": "q",
    "y": "y", "yr": "y", "yrs": "y", "year": "y", "years": "y",
}
MODIFIER_PART = re.compile(r"([+-])(\d*)([a-zA-Z]+)|@([a-zA-Z]+)(\d?)")
_ABSOLUTE = "%m/%d/%Y:%H:%M:%S"


def parse_relative_time(text: str, now: float, tz: tzinfo) -> float:
    """Turn a Splunk time modifier into epoch seconds UTC; SplSyntaxError when invalid."""
    raw = text.strip()
    if raw.lower() == "now" or raw == "":
        return float(now)
    if re.fullmatch(r"\d+(\.\d+)?", raw):
        return float(raw)
    try:
        return datetime.strptime(raw, _ABSOLUTE).replace(tzinfo=tz).timestamp()
    except ValueError:
        pass
    try:
        return _apply_chain(text, raw, datetime.fromtimestamp(now, tz))
    except (ValueError, OverflowError, OSError):  # before year 1 or after 9999
        raise SplSyntaxError(f"time modifier {text!r} is out of range (years 1 to 9999)",
                             text, 0, len(text)) from None


def _apply_chain(text: str, raw: str, cur: datetime) -> float:
    pos = 0
    if raw.lower().startswith("rt"):
        raise SplSyntaxError(f"real-time modifier {text!r} is not supported", text, 0, len(text))
    while pos < len(raw):
        m = MODIFIER_PART.match(raw, pos)
        if not m:
            raise SplSyntaxError(f"invalid time modifier {text!r}", text, pos, len(text))
        if m.group(1):
            cur = _offset(cur, -1 if m.group(1) == "-" else 1, int(m.group(2) or 1), _unit(text, m.group(3), m))
        else:
            cur = _snap(cur, _unit(text, m.group(4), m), m.group(5))
        pos = m.end()
    return cur.timestamp()


def _unit(text: str, word: str, m: re.Match) -> str:
    unit = UNITS.get(word.lower())
    if unit is None:
        raise SplSyntaxError(f"unknown time unit {word!r}", text, m.start(), m.end())
    return unit


def _offset(cur: datetime, sign: int, n: int, unit: str) -> datetime:
    tz = cur.tzinfo
    if unit in ("s", "m", "h"):
        secs = {"s": 1, "m": 60, "h": 3600}[unit] * n * sign
        return datetime.fromtimestamp(cur.timestamp() + secs, tz)
    local = cur.replace(tzinfo=None)
    if unit in ("d", "w"):
        local = local + timedelta(days=n * sign * (7 if unit == "w" else 1))
    else:
        local = _add_months(local, n * sign * {"mon": 1, "q": 3, "y": 12}[unit])
    return _localize(local, tz)


def _add_months(dt: datetime, months: int) -> datetime:
    total = dt.year * 12 + dt.month - 1 + months
    year, month = divmod(total, 12)
    for day in (dt.day, 30, 29, 28):
        try:
            return dt.replace(year=year, month=month + 1, day=day)
        except ValueError:
            continue
    raise ValueError(f"year {year} is out of range")


def _localize(local: datetime, tz: tzinfo | None) -> datetime:
    return datetime.fromtimestamp(local.replace(tzinfo=tz).timestamp(), tz)


def _snap(cur: datetime, unit: str, weekday: str) -> datetime:
    local = cur.replace(tzinfo=None)
    if unit == "s":
        local = local.replace(microsecond=0)
    elif unit == "m":
        local = local.replace(second=0, microsecond=0)
    elif unit == "h":
        local = local.replace(minute=0, second=0, microsecond=0)
    else:
        local = local.replace(hour=0, minute=0, second=0, microsecond=0)
        local = _snap_calendar(local, unit, weekday)
    return _localize(local, cur.tzinfo)


def _snap_calendar(local: datetime, unit: str, weekday: str) -> datetime:
    if unit == "w":
        target = int(weekday or 0) % 7          # 0 = Sunday in Splunk
        back = (local.isoweekday() % 7 - target) % 7
        return local - timedelta(days=back)
    if unit == "mon":
        return local.replace(day=1)
    if unit == "q":
        return local.replace(day=1, month=(local.month - 1) // 3 * 3 + 1)
    if unit == "y":
        return local.replace(day=1, month=1)
    return local
