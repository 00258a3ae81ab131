"""Timestamp recognition: find the time of an event in its text.

A `TimestampRecognizer` knows a table of timestamp patterns (`PATTERNS`). Each is a regex
written so that both Python's `re` and RE2 (the engine behind `pyarrow.compute`) accept it,
with named groups that say what each piece is:

    Y four-digit year, y two-digit year, m month number, b month name, d day,
    H hour, M minute, S second, f fraction digits, z offset (Z, +0700, -07:00),
    e epoch seconds (may carry a fraction), ms epoch milliseconds.

The recognizer learns the pattern of one source from the first line where a timestamp is
found and tries it first on later lines; a line it does not fit falls back to every pattern.
`breaking.EventParser` uses the same regexes vectorised over whole chunks with
`extract_vector`, and only sends the lines that do not fit to the Python path.

Rules worth knowing:

- "First timestamp" means the leftmost one within `max_lookahead` characters. A timestamp
  must be bounded: it may not be glued to word characters, dots, colons or slashes on its
  left. That is why OpenStack's `nova-api.log.1.2017-05-16_13:53:08 2017-05-16 00:00:00.008`
  yields the second timestamp: the first is part of a file name.
- JSON events (`{...`) are searched for a timestamp key (`"timestamp"`, `"@timestamp"`,
  `"time"`, `"ts"`, ...) anywhere in the line, before any other pattern, so that
  `"load_timestamp":...` earlier in the object is not taken for the event time.
- Year-less formats (syslog `Jun 14 15:16:01`) take the most recent year that does not put
  the event more than one day (clock skew) after `now`.
- Naive times are read in `tz` (an IANA name or a tzinfo; None = the machine's local zone).
  Times with an offset or `Z`, and epochs, ignore `tz`.
- BGL lines carry an epoch column (`1117838570`, UTC) and a local wall-clock time
  (`2005-06-03-15.42.50.675872`) whose zone the line does not record. Speleo takes the epoch:
  it is absolute, it is the leftmost timestamp of the line (so no special case is needed),
  and it stays right whatever zone the ingesting machine is in. The wall clock only adds
  sub-second digits, which are not worth a wrong hour.
- Epochs are recognised only as 10 digits (seconds, optionally with a fraction) or
  13 digits (milliseconds) starting with 1, i.e. 2001-09-09 .. 2033-05-18, bounded by
  non-word characters.
"""

from __future__ import annotations

import calendar
import re
import time
from dataclasses import dataclass
from datetime import datetime, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pyarrow as pa
import pyarrow.compute as pc

from speleo.errors import InputError

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MON = "(?P<b>" + "|".join(MONTHS) + ")"
_DOW = "(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)"
_M2 = "(?P<m>0[1-9]|1[0-2])"
_D2 = "(?P<d>0[1-9]|[12][0-9]|3[01])"
_HMS = "(?P<H>[01][0-9]|2[0-3]):(?P<M>[0-5][0-9]):(?P<S>[0-5][0-9]|60)"
_FRAC = "(?:[.,](?P<f>[0-9]{1,9}))?"
_ZONE = "(?P<z>Z|[+-](?:[01][0-9]|2[0-3]):?[0-5][0-9])?"

# Characters a timestamp may follow (besides the line start) and may be followed by.
_LEFT = r"(?:^|[^\w.:/+-])"
_RIGHT = r"(?:$|[^\w])"
# What may precede a timestamp that "starts" a line: at most 3 of these characters.
_LEAD = r"^(?:[\[(<\"'*#-]{1,3} ?)?"
_JSON_KEY = r'"(?:@timestamp|timestamp|time|ts|_time|date|datetime|eventTime)"\s*:\s*"?'
_DAY_SECONDS = 86400.0
_SLICE_EXTRA = 48  # characters of a timestamp allowed past max_lookahead in the vector path


@dataclass(frozen=True)
class Pattern:
    """One timestamp format: `core` is the RE2/Python regex of the timestamp itself.

    `json` patterns are searched after a JSON timestamp key anywhere in the line.
    `has_year` is False for formats that carry no year (the year is inferred).
    """

    name: str
    core: str
    has_year: bool = True
    json: bool = False

    @property
    def search_regex(self) -> str:
        """Regex that finds the timestamp anywhere; the timestamp is the group `ts`."""
        if self.json:
            return _JSON_KEY + "(?P<ts>" + self.core + ")"
        return _LEFT + "(?P<ts>" + self.core + ")" + _RIGHT

    @property
    def start_regex(self) -> str:
        """Regex that matches only when the timestamp starts the line (after `_LEAD`)."""
        return _LEAD + "(?P<ts>" + self.core + ")" + _RIGHT


_ISO = (
    "(?P<Y>(?:19|20)[0-9][0-9])-" + _M2 + "-" + _D2 + "[T ]" + _HMS + _FRAC + " ?" + _ZONE
)
PATTERNS: tuple[Pattern, ...] = (
    Pattern("json_epoch_ms", "(?P<ms>1[0-9]{12})", json=True),
    Pattern("json_epoch", r"(?P<e>1[0-9]{9}(?:\.[0-9]{1,9})?)", json=True),
    Pattern("json_iso", _ISO, json=True),
    Pattern("iso8601", _ISO),
    Pattern("iso_slash", "(?P<Y>(?:19|20)[0-9][0-9])/" + _M2 + "/" + _D2 + "[T ]" + _HMS + _FRAC),
    Pattern(
        "bgl",
        "(?P<Y>(?:19|20)[0-9][0-9])-" + _M2 + "-" + _D2
        + r"-(?P<H>[01][0-9]|2[0-3])\.(?P<M>[0-5][0-9])\.(?P<S>[0-5][0-9])(?:\.(?P<f>[0-9]{1,9}))?",
    ),
    Pattern(
        "apache_access",
        _D2 + "/" + _MON + "/(?P<Y>[0-9]{4}):" + _HMS + _FRAC + "(?: (?P<z>[+-][0-9]{4}))?",
    ),
    Pattern("ctime", _DOW + " " + _MON + " +(?P<d>[0-9]{1,2}) " + _HMS + _FRAC + " (?P<Y>[0-9]{4})"),
    Pattern("syslog", _MON + " +(?P<d>[0-9]{1,2}) " + _HMS + _FRAC, has_year=False),
    Pattern("us_date", _M2 + "/" + _D2 + "/(?P<Y>(?:19|20)[0-9][0-9])[ :]" + _HMS + _FRAC),
    Pattern("yy_slash", "(?P<y>[0-9][0-9])/" + _M2 + "/" + _D2 + " " + _HMS + _FRAC),
    Pattern(
        "yymmdd_hhmmss",
        "(?P<y>[0-9][0-9])" + _M2 + _D2 + " (?P<H>[01][0-9]|2[0-3])(?P<M>[0-5][0-9])(?P<S>[0-5][0-9])",
    ),
    Pattern("epoch_ms", "(?P<ms>1[0-9]{12})"),
    Pattern("epoch", r"(?P<e>1[0-9]{9}(?:\.[0-9]{1,9})?)"),
)

_STRPTIME = {
    "%Y": "(?P<Y>[0-9]{4})", "%y": "(?P<y>[0-9]{2})", "%m": "(?P<m>[0-9]{1,2})",
    "%d": "(?P<d>[0-9]{1,2})", "%e": "(?P<d> ?[0-9]{1,2})", "%H": "(?P<H>[0-9]{1,2})",
    "%M": "(?P<M>[0-9]{2})", "%S": "(?P<S>[0-9]{2})", "%f": "(?P<f>[0-9]{1,9})",
    "%b": _MON, "%a": _DOW, "%z": "(?P<z>Z|[+-][0-9]{2}:?[0-9]{2})", "%s": "(?P<e>[0-9]{9,10})",
    "%T": _HMS, "%%": "%",
}


def pattern_from_format(time_format: str) -> Pattern:
    """Build a `Pattern` from a strptime-like format (`%Y-%m-%d %H:%M:%S.%f`).

    Supported: %Y %y %m %d %e %H %M %S %f %b %a %z %s %T %%. Raises `InputError` for others.
    """
    out, i = [], 0
    while i < len(time_format):
        if time_format[i] == "%":
            piece = _STRPTIME.get(time_format[i : i + 2])
            if piece is None:
                raise InputError(f"unsupported time_format directive {time_format[i:i + 2]!r}")
            out.append(piece)
            i += 2
        else:
            out.append(re.escape(time_format[i]).replace("\\ ", " "))
            i += 1
    core = "".join(out)
    has_year = "(?P<Y>" in core or "(?P<y>" in core or "(?P<e>" in core
    return Pattern("time_format", core, has_year=has_year)


def resolve_tz(tz: str | tzinfo | None) -> tzinfo | None:
    """An IANA name or tzinfo as a tzinfo; None stays None (machine's local zone).

    Raises `InputError` for an unknown zone name.
    """
    if tz is None or isinstance(tz, tzinfo):
        return tz
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InputError(f"unknown time zone {tz!r}") from exc


class _Zone:
    """Offsets (seconds) that turn naive wall-clock epochs into UTC epochs, cached per hour."""

    def __init__(self, tz: tzinfo | None) -> None:
        self.tz = tz
        self._cache: dict[int, float] = {}

    def offset(self, naive: float) -> float:
        """Offset in seconds of the wall-clock hour holding `naive` (seconds as if UTC)."""
        hour = int(naive // 3600)
        found = self._cache.get(hour)
        if found is None:
            found = self._compute(hour * 3600)
            self._cache[hour] = found
        return found

    def _compute(self, naive: int) -> float:
        if self.tz is None:
            parts = time.gmtime(naive)
            return float(naive - time.mktime(parts[:8] + (-1,)))
        wall = datetime.fromtimestamp(naive, timezone.utc).replace(tzinfo=self.tz)
        delta = wall.utcoffset()
        return delta.total_seconds() if delta else 0.0


def _zone_offset_text(z: str) -> float:
    """Seconds east of UTC for `Z`, `+0700`, `-07:00`."""
    if not z or z == "Z":
        return 0.0
    digits = z[1:].replace(":", "")
    sign = -1 if z[0] == "-" else 1
    return sign * (int(digits[:2]) * 3600 + int(digits[2:4]) * 60)


def _year_of(now: float, zone: _Zone) -> int:
    return time.gmtime(now + zone.offset(now)).tm_year


class TimestampRecognizer:
    """Learns the timestamp format of one source from its lines and then applies it fast.

    `tz`: IANA name or tzinfo for naive times (None = machine's local zone).
    `time_format`: strptime-like format that replaces automatic recognition.
    `time_prefix`: regex that must match right before the timestamp.
    `now`: epoch seconds used to infer missing years (default: time.time() at each call).
    `max_lookahead`: a timestamp must start within this many characters of the line.
    Raises `InputError` for an unknown zone, an unsupported format or a bad prefix regex.
    """

    def __init__(
        self,
        tz: str | tzinfo | None = None,
        time_format: str | None = None,
        time_prefix: str | None = None,
        now: float | None = None,
        max_lookahead: int = 128,
    ) -> None:
        self.zone = _Zone(resolve_tz(tz))
        self.now = now
        self.max_lookahead = max_lookahead
        self.time_prefix = time_prefix
        try:
            self._prefix = re.compile(time_prefix) if time_prefix else None
        except re.error as exc:
            raise InputError(f"invalid time_prefix regex {time_prefix!r}: {exc}") from exc
        fixed = pattern_from_format(time_format) if time_format else None
        self.patterns: tuple[Pattern, ...] = (fixed,) if fixed else PATTERNS
        self.learned: Pattern | None = fixed
        self._search = {p.name: re.compile(p.search_regex) for p in self.patterns}
        self._start = {p.name: re.compile(p.start_regex) for p in self.patterns}
        self._core = {p.name: re.compile(p.core) for p in self.patterns}

    # ---- public API -------------------------------------------------------------------
    def find(self, line: str) -> tuple[float, int, int] | None:
        """(epoch seconds UTC, start char, end char) of the first timestamp, or None.

        The timestamp must start within `max_lookahead` characters (JSON timestamp keys
        are looked for in the whole line). Learns the pattern that matched.
        """
        if self._prefix is not None:
            return self._find_after_prefix(line)
        if self.learned is not None:
            hit = self._search_one(self.learned, line)
            if hit is not None:
                return hit
        best: tuple[Pattern, tuple[float, int, int]] | None = None
        for pattern in self.patterns:
            hit = self._search_one(pattern, line)
            if hit is not None and (best is None or hit[1] < best[1][1] or pattern.json):
                best = (pattern, hit)
                if pattern.json:
                    break
        if best is None:
            return None
        self.learned = best[0]
        return best[1]

    def starts_with_timestamp(self, line: str) -> bool:
        """True when a timestamp begins the line, after at most 3 of `[(<"'*#-` and a space.

        A line that starts with whitespace never starts with a timestamp (continuation).
        """
        if self._prefix is not None:
            m = self._prefix.match(line)
            hit = self._find_after_prefix(line) if m is not None else None
            return hit is not None and hit[1] == m.end()  # type: ignore[union-attr]
        order = (self.learned,) + self.patterns if self.learned else self.patterns
        for pattern in order:
            if pattern.json:
                continue
            m = self._start[pattern.name].match(line)
            if m is not None and self._convert(pattern, m.groupdict()) is not None:
                self.learned = self.learned or pattern
                return True
        return False

    def current_now(self) -> float:
        """The `now` used to infer years: the pinned value or the wall clock."""
        return self.now if self.now is not None else time.time()

    # ---- helpers ----------------------------------------------------------------------
    def _search_one(self, pattern: Pattern, line: str) -> tuple[float, int, int] | None:
        text = line if pattern.json else line[: self.max_lookahead + _SLICE_EXTRA]
        if pattern.json and not line.lstrip().startswith("{"):
            return None
        for m in self._search[pattern.name].finditer(text):
            start = m.start("ts")
            if start > self.max_lookahead and not pattern.json:
                return None
            epoch = self._convert(pattern, m.groupdict())
            if epoch is not None:
                return epoch, start, m.end("ts")
        return None

    def _find_after_prefix(self, line: str) -> tuple[float, int, int] | None:
        assert self._prefix is not None
        for pm in self._prefix.finditer(line):
            rest = line[pm.end() :]
            for pattern in self.patterns:
                if pattern.json:
                    continue
                m = self._core[pattern.name].match(rest)
                if m is not None:
                    epoch = self._convert(pattern, m.groupdict())
                    if epoch is not None:
                        return epoch, pm.end(), pm.end() + m.end()
        return None

    def _convert(self, pattern: Pattern, g: dict[str, str | None]) -> float | None:
        """Epoch seconds UTC from the named groups of one match, or None if impossible."""
        if g.get("ms"):
            return int(g["ms"]) / 1000.0  # type: ignore[arg-type]
        if g.get("e"):
            return float(g["e"])  # type: ignore[arg-type]
        month = int(g["m"]) if g.get("m") else MONTHS.index(g["b"]) + 1  # type: ignore[arg-type]
        frac = float("0." + g["f"]) if g.get("f") else 0.0
        clock = (int(g["d"]), int(g["H"]), int(g["M"]), min(int(g["S"]), 59))  # type: ignore[arg-type]
        if pattern.has_year:
            year = int(g["Y"]) if g.get("Y") else 2000 + int(g["y"])  # type: ignore[arg-type]
            return self._epoch(year, month, clock, frac, g.get("z"))
        now = self.current_now()
        year = _year_of(now, self.zone)
        for candidate in (year, year - 1, year - 2, year - 3, year - 4):
            epoch = self._epoch(candidate, month, clock, frac, None)
            if epoch is not None and epoch <= now + _DAY_SECONDS:
                return epoch
        return None

    def _epoch(self, year: int, month: int, clock: tuple[int, int, int, int], frac: float,
               z: str | None) -> float | None:
        day, hour, minute, second = clock
        if day < 1 or day > calendar.monthrange(year, month)[1]:
            return None
        naive = calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0)) + frac
        if z:
            return naive - _zone_offset_text(z)
        return naive - self.zone.offset(naive)

    # ---- vectorised path used by breaking.py ------------------------------------------
    def extract_vector(self, lines: pa.Array, pattern: Pattern, anchored: bool) -> pa.Array:
        """Epoch seconds (float64, null where `pattern` does not fit) for each line.

        `lines`: pyarrow string array. `anchored`: the timestamp must start the line.
        Raises `pyarrow.ArrowInvalid` if RE2 rejects the regex (callers fall back to `find`).
        """
        regex = pattern.start_regex if anchored else pattern.search_regex
        if not pattern.json:
            lines = pc.utf8_slice_codeunits(lines, 0, self.max_lookahead + _SLICE_EXTRA)
        groups = pc.extract_regex(lines, regex)
        return _vector_epoch(groups, pattern, self)


def _field(groups: pa.StructArray, name: str) -> pa.Array | None:
    names = [groups.type.field(i).name for i in range(groups.type.num_fields)]
    return pc.struct_field(groups, name) if name in names else None


def _ints(arr: pa.Array | None, default: int = 0) -> pa.Array:
    if arr is None:
        return pa.scalar(default, pa.int64())  # type: ignore[return-value]
    filled = pc.if_else(pc.equal(arr, ""), str(default), arr)
    return pc.cast(pc.utf8_trim_whitespace(filled), pa.int64())


_CUM_DAYS = pa.array([0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334], pa.int64())


def _mod(values: pa.Array, k: int) -> pa.Array:
    """Remainder of non-negative integers (integer `divide` truncates)."""
    return pc.subtract(values, pc.multiply(pc.divide(values, k), k))


def _days_from_civil(year: pa.Array, month: pa.Array, day: pa.Array) -> pa.Array:
    """Days since 1970-01-01 for proleptic Gregorian dates (years >= 1)."""
    y1 = pc.subtract(year, 1)
    leaps = pc.add(pc.subtract(pc.divide(y1, 4), pc.divide(y1, 100)), pc.divide(y1, 400))
    before_year = pc.add(pc.multiply(pc.subtract(year, 1970), 365), pc.subtract(leaps, 477))
    is_leap = pc.and_(
        pc.equal(_mod(year, 4), 0),
        pc.or_(pc.not_equal(_mod(year, 100), 0), pc.equal(_mod(year, 400), 0)),
    )
    month_days = pc.take(_CUM_DAYS, pc.subtract(month, 1))
    leap_add = pc.cast(pc.and_(is_leap, pc.greater(month, 2)), pa.int64())
    return pc.add(pc.add(before_year, month_days), pc.add(leap_add, pc.subtract(day, 1)))


def _vector_epoch(groups: pa.StructArray, pattern: Pattern, rec: TimestampRecognizer) -> pa.Array:
    """Vectorised twin of `TimestampRecognizer._convert` over `extract_regex` output."""
    valid = groups.is_valid()
    ms, e = _field(groups, "ms"), _field(groups, "e")
    if ms is not None:
        out = pc.divide(pc.cast(pc.if_else(valid, ms, "0"), pa.float64()), 1000.0)
        return pc.if_else(valid, out, pa.scalar(None, pa.float64()))
    if e is not None:
        return pc.if_else(valid, pc.cast(pc.if_else(valid, e, "0"), pa.float64()), None)
    groups = _fill_invalid(groups, valid)
    month = _months(groups)
    day, frac = _ints(_field(groups, "d"), 1), _fractions(_field(groups, "f"))
    clock = pc.add(pc.add(pc.multiply(_ints(_field(groups, "H")), 3600),
                          pc.multiply(_ints(_field(groups, "M")), 60)),
                   pc.min_element_wise(_ints(_field(groups, "S")), 59))
    if pattern.has_year:
        year = _years(groups, len(groups))
        naive = _naive(year, month, day, clock, frac)
        out = _apply_zone(naive, _field(groups, "z"), rec.zone)
    else:
        now = rec.current_now()
        this_year = pa.array([_year_of(now, rec.zone)] * len(groups), pa.int64())
        out = _apply_zone(_naive(this_year, month, day, clock, frac), None, rec.zone)
        future = pc.greater(out, now + _DAY_SECONDS)
        if pc.any(future).as_py():
            last = _apply_zone(_naive(pc.subtract(this_year, 1), month, day, clock, frac), None, rec.zone)
            out = pc.if_else(future, last, out)
    return pc.if_else(valid, out, pa.scalar(None, pa.float64()))


def _fill_invalid(groups: pa.StructArray, valid: pa.Array) -> pa.StructArray:
    """Replace rows that did not match by a harmless date so that arithmetic never fails."""
    safe = {"Y": "2000", "y": "00", "m": "01", "b": "Jan", "d": "01", "H": "00", "M": "00", "S": "00"}
    arrays, names = [], []
    for i in range(groups.type.num_fields):
        name = groups.type.field(i).name
        child = pc.struct_field(groups, name)
        fill = safe.get(name)
        arrays.append(pc.if_else(valid, child, fill if fill is not None else ""))
        names.append(name)
    return pa.StructArray.from_arrays(arrays, names=names)


def _months(groups: pa.StructArray) -> pa.Array:
    b = _field(groups, "b")
    if b is not None:
        return pc.add(pc.cast(pc.index_in(b, value_set=pa.array(MONTHS)), pa.int64()), 1)
    return _ints(_field(groups, "m"), 1)


def _years(groups: pa.StructArray, n: int) -> pa.Array:
    y4 = _field(groups, "Y")
    if y4 is not None:
        return _ints(y4, 2000)
    return pc.add(_ints(_field(groups, "y")), 2000)


def _fractions(f: pa.Array | None) -> pa.Array:
    if f is None:
        return pa.scalar(0.0)  # type: ignore[return-value]
    return pc.cast(pc.binary_join_element_wise("0.", pc.if_else(pc.equal(f, ""), "0", f), ""), pa.float64())


def _naive(year: pa.Array, month: pa.Array, day: pa.Array, clock: pa.Array, frac: pa.Array) -> pa.Array:
    days = _days_from_civil(year, month, day)
    seconds = pc.add(pc.multiply(days, 86400), clock)
    return pc.add(pc.cast(seconds, pa.float64()), frac)


def _apply_zone(naive: pa.Array, z: pa.Array | None, zone: _Zone) -> pa.Array:
    """UTC epochs from naive epochs: explicit offsets where present, else the zone's offset."""
    hours = pc.cast(pc.floor(pc.divide(naive, 3600.0)), pa.int64())
    uniq = pc.unique(hours)
    offsets = pa.array([zone.offset(h * 3600.0) for h in uniq.to_pylist()], pa.float64())
    zone_off = pc.take(offsets, pc.index_in(hours, value_set=uniq))
    if z is not None:
        enc = pc.dictionary_encode(z)
        table = pa.array([_zone_offset_text(v) if v else None for v in enc.dictionary.to_pylist()],
                         pa.float64())
        explicit = pc.take(table, enc.indices)
        zone_off = pc.coalesce(explicit, zone_off)
    return pc.subtract(naive, zone_off)
