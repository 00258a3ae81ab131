"""Splunk time format variables (strftime, strptime, convert ctime/mktime) translated for DuckDB.

Splunk Search Reference, "Date and time format variables": besides the C variables, Splunk has
%F (%Y-%m-%d), %T (%H:%M:%S), %Q / %N (subseconds: %3Q milliseconds, %6N microseconds, %9N
nanoseconds; %Q defaults to 3 digits, %N to 9), %s (epoch seconds), %+ (date, time and zone,
"Tue Nov 14 22:13:20 UTC 2023"), %z (+hhmm), %Z (zone abbreviation), %e / %k / %l (day, 24-hour,
12-hour padded with a blank), %C (century) and others. DuckDB's strftime knows only some of them,
and a few letters mean something else there (%g, %n), so a format is never passed through as
written: `strftime_pieces` splits it into what DuckDB formats and what Speleo computes.
"""

from __future__ import annotations

import re

from speleo.errors import SplSyntaxError

# Variables that expand into others (C / GNU meanings, as Splunk documents them).
_ALIASES = {
    "F": "%Y-%m-%d", "T": "%H:%M:%S", "D": "%m/%d/%y", "R": "%H:%M", "r": "%I:%M:%S %p",
    "h": "%b", "+": "%a %b %e %H:%M:%S %Z %Y", "c": "%a %b %e %H:%M:%S %Y", "x": "%m/%d/%y",
    "X": "%H:%M:%S", "n": "\n", "t": "\t", "%": "%",
}
# Variables DuckDB's strftime formats as Splunk does.
_DIRECT = set("aAbBdHIjmMpSUVWyYuwGf")
# Blank-padded variables: DuckDB's unpadded form, padded to two characters.
_BLANK_PAD = {"e": "%-d", "k": "%-H", "l": "%-I"}
_TOKEN = re.compile(r"%([369]?)([A-Za-z+%])")


def _expand(fmt: str) -> str:
    """Replace the alias variables (%F, %T, %+ ...) by what they stand for (one level suffices:
    no alias expands into another alias, %+ and %c use %e which is handled later)."""
    return _TOKEN.sub(lambda m: _ALIASES[m.group(2)] if not m.group(1) and m.group(2) in _ALIASES
                      and m.group(2) not in "nt%" else m.group(0), fmt)


def strftime_pieces(fmt: str) -> list[tuple[str, str]]:
    """A Splunk format as pieces: ("duck", DuckDB strftime format), ("pad", DuckDB format of a
    value padded with a blank to 2 characters), ("subsec", digits), ("epoch", ""),
    ("offset", "") for %z, ("zone", "") for %Z, ("century", ""), ("isoyear2", "") for %g.

    Raises SplSyntaxError naming a variable Splunk does not document (e.g. %q).
    """
    out: list[tuple[str, str]] = []

    def duck(s: str) -> None:
        if out and out[-1][0] == "duck":
            out[-1] = ("duck", out[-1][1] + s)
        else:
            out.append(("duck", s))

    pos = 0
    fmt = _expand(fmt)
    for m in _TOKEN.finditer(fmt):
        duck(fmt[pos:m.start()].replace("%", "%%"))
        pos = m.end()
        width, var = m.group(1), m.group(2)
        if var in ("Q", "N"):
            out.append(("subsec", width or ("3" if var == "Q" else "9")))
        elif width:
            raise SplSyntaxError(f"time format variable %{width}{var}: only %Q and %N take a width (3, 6 or 9)",
                                 fmt, m.start(), m.end())
        elif var in _DIRECT:
            duck("%" + var)
        elif var in _BLANK_PAD:
            out.append(("pad", _BLANK_PAD[var]))
        elif var in ("n", "t", "%"):
            duck({"n": "\n", "t": "\t", "%": "%%"}[var])
        else:
            kind = {"s": "epoch", "z": "offset", "Z": "zone", "C": "century", "g": "isoyear2"}.get(var)
            if kind is None:
                raise SplSyntaxError(f"unknown time format variable %{var} (Search Reference: Date and time "
                                     "format variables)", fmt, m.start(), m.end())
            out.append((kind, ""))
    duck(fmt[pos:].replace("%", "%%"))
    return [p for p in out if p != ("duck", "")]


_PARSE = {"e": "%d", "k": "%H", "l": "%I", "3Q": "%g", "Q": "%g", "3N": "%g", "6Q": "%f", "6N": "%f",
          "9Q": "%n", "9N": "%n", "N": "%n", "C": None, "s": None, "n": "\n", "t": "\t"}


def strptime_format(fmt: str) -> tuple[str, bool]:
    """A Splunk format as a DuckDB strptime format, and whether it reads a zone (%z / %Z, so the
    parsed time is absolute rather than wall-clock time in the search's zone).

    %s (epoch seconds) is handled by the caller (`is_epoch_format`). Raises SplSyntaxError for
    a variable DuckDB cannot read (%C)."""
    fmt = _expand(fmt)

    def sub(m: re.Match) -> str:
        key = m.group(1) + m.group(2)
        if key in _PARSE:
            if _PARSE[key] is None:
                raise SplSyntaxError(f"strptime cannot read time format variable %{key}", fmt, m.start(), m.end())
            return _PARSE[key]
        return m.group(0)

    out = _TOKEN.sub(sub, fmt)
    return out, bool(re.search(r"%[zZ]", out))


def is_epoch_format(fmt: str) -> bool:
    """True for a format that is only %s (epoch seconds), perhaps with subseconds (%s.%3N)."""
    return re.fullmatch(r"%s(?:\.%[369]?[QN])?", fmt.strip()) is not None


def zone_abbreviations(name: str) -> dict[int, str]:
    """UTC offset (seconds) -> abbreviation for an IANA zone or "+hh:mm" offset (the names in use
    around the years 2000-2040, e.g. America/New_York: {-18000: "EST", -14400: "EDT"}); offsets
    without a name are printed as +hhmm by the caller."""
    import datetime as dt
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    if name.upper() == "UTC":
        return {0: "UTC"}
    try:
        zone = ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return {}
    out: dict[int, str] = {}
    for year in range(2000, 2041, 5):
        for month in (1, 7):
            d = dt.datetime(year, month, 1, tzinfo=zone)
            abbr = d.tzname()
            if abbr and not abbr[0] in "+-":
                out[int(d.utcoffset().total_seconds())] = abbr
    return out
