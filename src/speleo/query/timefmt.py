"""Formatting `_time` for people and machines (ISO 8601 with the UTC offset)."""

from __future__ import annotations

import datetime as dt
import math
from zoneinfo import ZoneInfo

from speleo.spl import parse_relative_time


def local_zone(name: str | None = None) -> dt.tzinfo:
    """The zone named (IANA), else the machine's local zone."""
    if name:
        return ZoneInfo(name)
    return dt.datetime.now().astimezone().tzinfo or dt.timezone.utc


def iso(ts: float | None, tz: dt.tzinfo) -> str | None:
    """Epoch seconds -> ISO 8601 with offset; milliseconds or microseconds only when present.

    `iso(0.5, utc)` -> `1970-01-01T00:00:00.500+00:00`.
    """
    if ts is None or (isinstance(ts, float) and math.isnan(ts)):
        return None
    d = dt.datetime.fromtimestamp(ts, tz)
    us = round((ts - math.floor(ts)) * 1_000_000)
    if us == 0:
        return d.isoformat(timespec="seconds")
    if us % 1000 == 0:
        return d.isoformat(timespec="milliseconds")
    return d.isoformat(timespec="microseconds")


def to_epoch(value, now: float, tz: dt.tzinfo) -> float | None:
    """A time bound from the CLI or the API: None, "" or 0 mean all time (None); a number or a
    numeric string is an epoch; anything else a Splunk time modifier (`-24h`, `-7d@d`, `now`).

    Raises SplSyntaxError for a modifier that does not parse.
    """
    if value is None or value == "" or value == 0 or value == "0":
        return None
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return float(value)
    except ValueError:
        return parse_relative_time(str(value), now, tz)
