"""The table of timestamp formats Speleo recognises, and the rules shared by every time parser.

Standard library only: `speleo.ingest.syslog` uses `infer_year` without the recognizer.

Each `Pattern` is a regex written so that both Python's `re` and RE2 (the engine behind
`pyarrow.compute`) accept it, with named groups that say what each piece is:

    Y four-digit year, y two-digit year, m month number, b month name (Jan, January, JAN),
    d day, H hour, M minute, S second, f fraction digits (after `.` or `,`),
    k milliseconds after `:` (`05:06:07:123`, also unpadded `:12`), p AM/PM,
    z zone (Z, UTC, GMT, +07, +0700, -07:00), e epoch seconds (may carry a fraction),
    ms epoch milliseconds, us epoch microseconds.

The families follow what Splunk's datetime.xml recognises and what operations logs write
(sources in docs/ingestion.md): ISO 8601 / RFC 3339, `YYYY/MM/DD`, `YYYY.MM.DD`, compact `YYYYMMDD`,
`MM/DD/YYYY` and `DD/MM/YYYY`, also with dashes and AM/PM (one source is one or the other: see
docs/decisions/0010-timestamps-recognition.md), `DD.MM.YYYY`, `DD/Mon/YYYY:HH:MM:SS zone`,
`DD-Mon-YYYY`, RFC 2822, ctime, syslog `Mon DD HH:MM:SS`, `Mon DD YYYY`, `Mon D, YYYY h:mm:ss AM`,
Android `MM-DD`, `[MM.DD HH:MM:SS]`, glog `I0304 05:06:07.123456`, epochs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

from speleo.errors import InputError

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_LONG = ("uary", "ruary", "ch", "il", "", "e", "y", "ust", "tember", "ober", "ember", "ember")
_MON = "(?P<b>" + "|".join(
    [m + f"(?:{tail})?" if tail else m for m, tail in zip(MONTHS, _LONG)]
    + [m.upper() for m in MONTHS] + ["Sept"]) + ")"
_DOW = "(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]{0,6}"
_M2 = "(?P<m>0[1-9]|1[0-2])"
_D2 = "(?P<d>0[1-9]|[12][0-9]|3[01])"
_D12 = "(?P<d>0?[1-9]|[12][0-9]|3[01])"
_M12 = "(?P<m>0?[1-9]|1[0-2])"
_Y4 = "(?P<Y>(?:19|20)[0-9][0-9])"
_HMS = "(?P<H>[01][0-9]|2[0-3]):(?P<M>[0-5][0-9]):(?P<S>[0-5][0-9]|60)"
_HMS12 = "(?P<H>0?[1-9]|1[0-2]):(?P<M>[0-5][0-9]):(?P<S>[0-5][0-9]|60) ?(?P<p>AM|PM|am|pm)"
_HMS_AMPM = ("(?P<H>[01]?[0-9]|2[0-3]):(?P<M>[0-5][0-9]):(?P<S>[0-5][0-9]|60)" + "(?:[.,](?P<f>[0-9]{1,9}))?"
             + "(?: ?(?P<p>AM|PM|am|pm))?")
_HMS_LOOSE = "(?P<H>[01]?[0-9]|2[0-3]):(?P<M>[0-5]?[0-9]):(?P<S>[0-5]?[0-9]|60)"
_FRAC = "(?:[.,](?P<f>[0-9]{1,9})|:(?P<k>[0-9]{1,3}))?"
_DOT_FRAC = r"(?:\.(?P<f>[0-9]{1,9}))?"
_ZNUM = "[+-](?:[01][0-9]|2[0-3])"
_ZONE = "(?P<z>Z|" + _ZNUM + "(?::?[0-5][0-9])?| (?:UTC|GMT)| " + _ZNUM + ":?[0-5][0-9])?"
_RFC2822_ZONE = "(?: (?P<z>" + _ZNUM + "[0-5][0-9]|UTC|GMT|UT|EST|EDT|CST|CDT|MST|MDT|PST|PDT))?"

# Named zones and their offsets (RFC 2822 section 4.3 for the US names).
NAMED_ZONES = {"Z": 0, "UTC": 0, "GMT": 0, "UT": 0, "EST": -5, "EDT": -4, "CST": -6, "CDT": -5,
               "MST": -7, "MDT": -6, "PST": -8, "PDT": -7}

# Characters a timestamp may follow (besides the line start) and may be followed by.
LEFT = r"(?:^|[^\w.:/+-])"
RIGHT = r"(?:$|[^\w])"
# What may precede a timestamp that "starts" a line: at most 3 of these characters.
LEAD = r"^(?:[\[(<\"'*#-]{1,3} ?)?"
JSON_KEY = r'"(?:@timestamp|timestamp|time|ts|_time|date|datetime|eventTime)"\s*:\s*"?'
DAY_SECONDS = 86400.0
# How far ahead of the clock a timestamp may be: Splunk's MAX_DAYS_HENCE default
# (props.conf.spec), 2 days. A later one is not taken (the event gets the previous event's
# time); a year-less time takes the latest year that keeps it within this bound.
MAX_AHEAD_SECS = 2 * DAY_SECONDS
_YEARS_BACK = 4


@dataclass(frozen=True)
class Pattern:
    """One timestamp format: `core` is the RE2/Python regex of the timestamp itself.

    `json` patterns are searched after a JSON timestamp key anywhere in the line.
    `has_year` is False for formats that carry no year (the year is inferred).
    `epoch` is True for bare numbers (seconds, ms, us since 1970).
    """

    name: str
    core: str
    has_year: bool = True
    json: bool = False
    epoch: bool = False

    @property
    def search_regex(self) -> str:
        """Regex that finds the timestamp anywhere; the timestamp is the group `ts`."""
        if self.json:
            return JSON_KEY + "(?P<ts>" + self.core + ")"
        return LEFT + "(?P<ts>" + self.core + ")" + RIGHT

    @property
    def start_regex(self) -> str:
        """Regex that matches only when the timestamp starts the line (after `LEAD`)."""
        return LEAD + "(?P<ts>" + self.core + ")" + RIGHT


_ISO = _Y4 + "-" + _M2 + "-" + _D2 + "[T ]" + _HMS + _FRAC + _ZONE
_EPOCH_S = r"(?P<e>1[0-9]{9}(?:\.[0-9]{1,9})?)"
_EPOCH_MS = "(?P<ms>1[0-9]{12})"
_EPOCH_US = "(?P<us>1[0-9]{15})"

# Order matters only between patterns that match the same text at the same place
# (US month/day before day/month: see `TimestampRecognizer.learn`).
PATTERNS: tuple[Pattern, ...] = (
    Pattern("json_epoch_us", _EPOCH_US, json=True, epoch=True),
    Pattern("json_epoch_ms", _EPOCH_MS, json=True, epoch=True),
    Pattern("json_epoch", _EPOCH_S, json=True, epoch=True),
    Pattern("json_iso", _ISO, json=True),
    Pattern("iso8601", _ISO),
    Pattern("iso_basic", _Y4 + _M2 + _D2 + "T(?P<H>[01][0-9]|2[0-3])(?P<M>[0-5][0-9])(?P<S>[0-5][0-9])"
            + _DOT_FRAC + "(?P<z>Z|" + _ZNUM + "(?::?[0-5][0-9])?)?"),
    Pattern("ymd_slash", _Y4 + "/" + _M2 + "/" + _D2 + "[T -]" + _HMS + _FRAC + _ZONE),
    Pattern("ymd_dot", _Y4 + r"\." + _M2 + r"\." + _D2 + "[T ]" + _HMS + _FRAC + _ZONE),
    Pattern("bgl", _Y4 + "-" + _M2 + "-" + _D2
            + r"-(?P<H>[01][0-9]|2[0-3])\.(?P<M>[0-5][0-9])\.(?P<S>[0-5][0-9])" + _DOT_FRAC),
    Pattern("ymd_compact_colon", _Y4 + _M2 + _D2 + "-" + _HMS_LOOSE + _FRAC),
    Pattern("ymd_compact", _Y4 + _M2 + _D2 + "[ -](?P<H>[01][0-9]|2[0-3])(?P<M>[0-5][0-9])(?P<S>[0-5][0-9])"
            + _DOT_FRAC),
    Pattern("yymmdd_hhmmss", "(?P<y>[0-9][0-9])" + _M2 + _D2
            + " (?P<H>[01][0-9]|2[0-3])(?P<M>[0-5][0-9])(?P<S>[0-5][0-9])"),
    Pattern("yy_slash", "(?P<y>[0-9][0-9])/" + _M2 + "/" + _D2 + " " + _HMS + _FRAC),
    Pattern("apache_access", _D2 + "/" + _MON + "/(?P<Y>[0-9]{4}):" + _HMS + _FRAC
            + "(?: (?P<z>[+-][0-9]{4}))?"),
    Pattern("rfc2822", _DOW + ", " + _D12 + " " + _MON + " " + _Y4 + " " + _HMS + _FRAC + _RFC2822_ZONE),
    Pattern("dd_mon_yyyy", _D12 + "[- ]" + _MON + "[- ]" + _Y4 + "[ :]" + _HMS + _FRAC + _ZONE),
    Pattern("ctime", _DOW + " " + _MON + " +(?P<d>[0-9]{1,2}) " + _HMS + _FRAC
            + "(?: (?:(?P<z>" + "|".join(NAMED_ZONES) + ")|[A-Z]{3,5}))? " + _Y4),
    Pattern("mon_dd_yyyy", _MON + " +" + _D12 + " " + _Y4 + " " + _HMS + _FRAC),
    Pattern("mon_dd_yyyy_ampm", _MON + " " + _D12 + ", " + _Y4 + " " + _HMS12),
    Pattern("syslog", _MON + " +(?P<d>[0-9]{1,2}) " + _HMS + _FRAC, has_year=False),
    Pattern("mon_dd_hms_yyyy", _MON + " +" + _D12 + " " + _HMS + _FRAC + " " + _Y4),
    Pattern("mdy_slash", _M12 + "/" + _D12 + "/" + _Y4 + "[ :]" + _HMS_AMPM + _ZONE),
    Pattern("dmy_slash", _D12 + "/" + _M12 + "/" + _Y4 + "[ :]" + _HMS_AMPM + _ZONE),
    Pattern("mdy_dash", _M2 + "-" + _D2 + "-" + _Y4 + " " + _HMS_AMPM + _ZONE),
    Pattern("dmy_dash", _D2 + "-" + _M2 + "-" + _Y4 + " " + _HMS_AMPM + _ZONE),
    Pattern("dmy_dot", _D12 + r"\." + _M12 + r"\." + _Y4 + " " + _HMS + _FRAC + _ZONE),
    Pattern("mm_dd", _M2 + "-" + _D2 + " " + _HMS + _FRAC, has_year=False),
    Pattern("mm_dd_dot", _M2 + r"\." + _D2 + " " + _HMS + _FRAC, has_year=False),
    Pattern("glog", "[IWEF]" + _M2 + _D2 + " " + _HMS + _DOT_FRAC, has_year=False),
    Pattern("epoch_us", _EPOCH_US, epoch=True),
    Pattern("epoch_ms", _EPOCH_MS, epoch=True),
    Pattern("epoch", _EPOCH_S, epoch=True),
)
TEXT_PATTERNS = tuple(p for p in PATTERNS if not p.json)
_GROUP = re.compile(r"\(\?P<\w+>")


def any_start_regex(patterns: tuple[Pattern, ...] = TEXT_PATTERNS) -> str:
    """One regex (no named groups) that matches a line starting with any of `patterns`."""
    cores = "|".join(_GROUP.sub("(?:", p.core) for p in patterns)
    return LEAD + "(?:" + cores + ")" + RIGHT


def any_search_regex(patterns: tuple[Pattern, ...] = TEXT_PATTERNS) -> str:
    """One regex that finds the leftmost place where any of `patterns` may start (group
    `ts` starts there; the other named groups are removed)."""
    cores = "|".join(_GROUP.sub("(?:", p.core) for p in patterns)
    return LEFT + "(?P<ts>" + cores + ")" + RIGHT


_STRPTIME = {
    "%Y": "(?P<Y>[0-9]{4})", "%y": "(?P<y>[0-9]{2})", "%m": "(?P<m>[0-9]{1,2})",
    "%d": "(?P<d>[0-9]{1,2})", "%e": "(?P<d> ?[0-9]{1,2})", "%H": "(?P<H>[0-9]{1,2})",
    "%I": "(?P<H>[0-9]{1,2})", "%p": "(?P<p>AM|PM|am|pm)",
    "%M": "(?P<M>[0-9]{2})", "%S": "(?P<S>[0-9]{2})", "%f": "(?P<f>[0-9]{1,9})",
    "%3N": "(?P<f>[0-9]{3})", "%6N": "(?P<f>[0-9]{6})", "%9N": "(?P<f>[0-9]{9})",
    "%b": _MON, "%B": _MON, "%a": _DOW, "%A": _DOW,
    "%z": "(?P<z>Z|[+-][0-9]{2}:?[0-9]{2})", "%Z": "(?P<z>UTC|GMT|UT|EST|EDT|CST|CDT|MST|MDT|PST|PDT)",
    "%s": "(?P<e>[0-9]{9,10}(?:\\.[0-9]{1,9})?)", "%T": _HMS, "%%": "%",
}


def pattern_from_format(time_format: str) -> Pattern:
    """Build a `Pattern` from a strptime-like format (`%Y-%m-%d %H:%M:%S.%f`), Splunk's
    TIME_FORMAT (props.conf.spec) subset: %Y %y %m %d %e %H %I %p %M %S %f %3N %6N %9N
    %b %B %a %A %z %Z %s %T %%. Raises `InputError` for other directives."""
    out, i = [], 0
    while i < len(time_format):
        if time_format[i] == "%":
            size = 3 if time_format[i + 1 : i + 2].isdigit() else 2
            piece = _STRPTIME.get(time_format[i : i + size])
            if piece is None:
                raise InputError(f"unsupported time_format directive {time_format[i:i + size]!r} in "
                                 f"{time_format!r} (supported: {' '.join(sorted(_STRPTIME))})")
            out.append(piece)
            i += size
        else:
            out.append(re.escape(time_format[i]).replace("\\ ", " "))
            i += 1
    core = "".join(out)
    has_year = "(?P<Y>" in core or "(?P<y>" in core or "(?P<e>" in core
    return Pattern("time_format", core, has_year=has_year, epoch="(?P<e>" in core)


def month_number(name: str) -> int:
    """1-12 for a month name as the patterns capture it (`Mar`, `March`, `MAR`, `Sept`)."""
    return MONTHS.index(name[:3].title()) + 1


def zone_offset_text(z: str) -> float:
    """Seconds east of UTC for `Z`, `UTC`, `GMT`, `EST` (RFC 2822), `+07`, `+0700`, `-07:00`."""
    z = z.strip()
    if not z or z in NAMED_ZONES:
        return NAMED_ZONES.get(z, 0) * 3600.0
    if z[0] not in "+-":
        return 0.0
    digits = z[1:].replace(":", "")
    sign = -1 if z[0] == "-" else 1
    return sign * (int(digits[:2]) * 3600 + int(digits[2:4] or 0) * 60)


def infer_year(to_epoch: Callable[[int], float | None], now: float, now_year: int) -> int | None:
    """The year of a year-less time (syslog `Dec 31 23:59:59`, Android `12-31 ...`).

    `to_epoch(year)` gives the epoch seconds of the time in that year (None when the date
    does not exist, e.g. Feb 29); `now` is the clock (epoch seconds) and `now_year` its year
    in the source's zone. The answer is the latest of next year, this year and the four
    before whose time is at most `MAX_AHEAD_SECS` after `now`: `Jan 1 00:00:02` read at
    `Dec 31 23:59:59` is next year's, `Dec 31 23:59:59` read on Jan 1 is last year's.
    Shared by the file path (`TimestampRecognizer`, its vectorised twin follows the same
    rule) and the syslog listener (`syslog.bsd_time`). None when no candidate exists.
    """
    for year in range(now_year + 1, now_year - _YEARS_BACK - 1, -1):
        epoch = to_epoch(year)
        if epoch is not None and epoch <= now + MAX_AHEAD_SECS:
            return year
    return None


def hour_24(hour: int, ampm: str | None) -> int:
    """24-hour clock hour from a 12-hour one and its AM/PM marker (None: already 24-hour)."""
    if not ampm:
        return hour
    return hour % 12 + (12 if ampm[0] in "Pp" else 0)


def fraction(g: dict[str, str | None]) -> float:
    """Seconds after the whole second: `f` is decimal digits, `k` is milliseconds."""
    if g.get("f"):
        return float("0." + g["f"])  # type: ignore[operator]
    if g.get("k"):
        return int(g["k"]) / 1000.0  # type: ignore[arg-type]
    return 0.0
