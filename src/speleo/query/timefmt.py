"""Formatting `_time` for people and machines (ISO 8601 with the UTC offset)."""

from __future__ import annotations

import datetime as dt
import math
import re
from zoneinfo import ZoneInfo

from speleo.errors import SplSyntaxError
from speleo.spl import parse_relative_time


def local_zone(name: str | None = None) -> dt.tzinfo:
    """The zone named (IANA), else the machine's local zone by its IANA name (`machine_zone`),
    so that day buckets and relative times follow its daylight saving time; a fixed offset only
    when the machine's zone has no name Speleo can find."""
    if name:
        return ZoneInfo(name)
    found = machine_zone()
    if found is not None:
        return found
    return dt.datetime.now().astimezone().tzinfo or dt.timezone.utc


def machine_zone() -> ZoneInfo | None:
    """The machine's zone as an IANA zone: the `TZ` environment variable when it names one
    (`TZ=Europe/Paris`, `TZ=:Europe/Paris`), else the target of the /etc/localtime link
    (`/usr/share/zoneinfo/America/New_York`), else /etc/timezone (Debian); None when none of
    them names a zone DuckDB knows (a POSIX rule string such as `EST5EDT,M3.2.0,M11.1.0`
    included); `posix/<zone>` and `right/<zone>` are read as `<zone>`."""
    import os

    candidates = []
    env = os.environ.get("TZ")
    if env is not None:
        candidates.append(env.lstrip(":"))
    else:
        try:
            target = os.path.realpath("/etc/localtime")
            if "/zoneinfo/" in target:
                candidates.append(target.split("/zoneinfo/", 1)[1])
        except OSError:
            pass
        try:
            with open("/etc/timezone", encoding="utf-8") as fh:
                candidates.append(fh.read(200).strip())
        except (OSError, UnicodeDecodeError):
            pass
    for key in candidates:
        if key.startswith(("posix/", "right/")):   # the same zone's data (right/: with leap seconds)
            key = key.split("/", 1)[1]
        if not key or key.startswith("/") or ".." in key:
            continue
        try:
            zone = ZoneInfo(key)
        except (ValueError, OSError, KeyError):   # not a zone name, or not in the database
            continue
        if _duckdb_knows(key):   # the name goes into the SQL (timezone('<name>', ...)): DuckDB must know it
            return zone
    return None


def _duckdb_knows(key: str) -> bool:
    """Whether DuckDB's time zone data (ICU) has the zone `key`: Python's tz database also has
    names ICU lacks (`localtime`, `posixrules`), with which every search would fail."""
    from speleo.spl.nodes import zone_offsets

    return zone_offsets(key) is not None


def iso(ts: float | None, tz: dt.tzinfo) -> str | None:
    """Epoch seconds -> ISO 8601 with offset; milliseconds or microseconds only when present.

    `iso(0.5, utc)` -> `1970-01-01T00:00:00.500+00:00`; a time no date can hold (an `eval _time=1e19`)
    comes back as the number's text, `1e+19`.
    """
    if ts is None or (isinstance(ts, float) and math.isnan(ts)):
        return None
    try:
        d = dt.datetime.fromtimestamp(ts, tz)
    except (OverflowError, ValueError, OSError):   # past the years 1-9999: the number as it is
        return f"{ts:g}" if isinstance(ts, float) else str(ts)
    us = round((ts - math.floor(ts)) * 1_000_000)
    if us == 0:
        return d.isoformat(timespec="seconds")
    if us % 1000 == 0:
        return d.isoformat(timespec="milliseconds")
    return d.isoformat(timespec="microseconds")


_ISO_DATE = re.compile(r"\d{4}-\d\d-\d\d(?:[T ]\d\d:\d\d(?::\d\d(?:\.\d+)?)?)?(?:Z|[+-]\d\d:?\d\d)?")
_SPLUNK_DATE = re.compile(r"(\d\d?)/(\d\d?)/(\d{4})(?::(\d\d?):(\d\d):(\d\d))?")


def to_epoch(value, now: float, tz: dt.tzinfo) -> float | None:
    """A time bound from the CLI, the API or the web page (the one parser they share).

    None, "" or 0 mean all time (None); a number or a numeric string is an epoch (seconds UTC);
    an ISO 8601 date or date-time (`2015-05-17`, `2015-05-17T10:05`, `2015-05-17 10:05:03.5+02:00`,
    `...Z`) or Splunk's `%m/%d/%Y:%H:%M:%S` (`05/17/2015:10:05:00`, time optional) is read in
    `tz` unless it carries an offset; anything else is a Splunk time modifier (`-24h`, `-7d@d`,
    `now`). Raises SplSyntaxError for a value that is none of these.
    """
    if value is None or value == "" or value == 0 or value == "0":
        return None
    if isinstance(value, (int, float)):
        return float(value)
    text = str(value).strip()
    try:
        return float(text)
    except ValueError:
        pass
    when = _absolute(text, tz)
    if when is not None:
        return when
    return parse_relative_time(text, now, tz)


def _absolute(text: str, tz: dt.tzinfo) -> float | None:
    """An ISO 8601 or Splunk `%m/%d/%Y:%H:%M:%S` time as epoch seconds, else None."""
    try:
        if _ISO_DATE.fullmatch(text):
            d = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        elif m := _SPLUNK_DATE.fullmatch(text):
            month, day, year, hh, mm, ss = (int(g) if g else 0 for g in m.groups())
            d = dt.datetime(year, month, day, hh, mm, ss)
        else:
            return None
    except ValueError as e:
        raise SplSyntaxError(f"not a valid date: {text!r} ({e})", text, 0, len(text)) from None
    if d.tzinfo is None:
        d = d.replace(tzinfo=tz)
    return d.timestamp()
