"""Timestamp recognition: find the time of an event in its text.

The formats are the table `timeformats.PATTERNS` (regexes for both Python's `re` and RE2).
A `TimestampRecognizer` serves one source. Like Splunk, which learns a source's timestamp
format and looks only `MAX_TIMESTAMP_LOOKAHEAD` characters into an event, it decides the
format once per source from a sample of its first lines (`learn`), then applies that one
format to every event; `breaking.EventParser` does so vectorised over whole chunks with
`extract_vector` and sends only the lines that do not fit to the Python path (`find`).

How the format of a source is chosen (docs/decisions/0010-timestamps-recognition.md):

- In each sample line every pattern's first valid match within `max_lookahead` characters
  is a candidate; the leftmost wins, and among those starting at the same place the longest
  (it carries more: fraction, zone, year). Every pattern that wins a line scores one point.
- The source's format is the pattern with the most points; a tie goes to the earlier one in
  the table. `03/04/2021` is read month first unless more lines of the sample can only be
  day-first than can only be month-first; when no line tells, the reading whose consecutive
  times move least wins (`01/03`, `02/03`, `03/03` are three days of March), else month first.
- A line the learned format does not fit may still start with another format (a line of a
  second layout); a timestamp elsewhere in such a line is never taken, and neither is a bare
  number (epoch) unless the source's format is an epoch. So a 13-digit number in a message
  body never becomes the time when the line begins with a timestamp of another format; and a
  number that follows a clock time (`22:15:29 ... 1514038530000`) earns no point while
  learning: the line starts with a layout the table lacks, and the event is better flagged
  `no_timestamp` than timed hours off.
- JSON events (`{...`) are searched for a timestamp key (`"timestamp"`, `"@timestamp"`,
  `"time"`, `"ts"`, ...) anywhere in the line before any other pattern.
- A timestamp must be bounded: it may not be glued to word characters, dots, colons or
  slashes on its left. So OpenStack's `nova-api.log.1.2017-05-16_13:53:08 2017-05-16
  00:00:00.008` yields the second timestamp: the first is part of a file name.
- Year-less formats (syslog `Jun 14 15:16:01`, Android `06-14 15:16:01.123`) take their
  year from `timeformats.infer_year` and the recognizer's clock (injectable: `now`/`clock`).
- Naive times are read in `tz` (an IANA name or a tzinfo; None = the machine's local zone).
  Times with an offset or a zone name, and epochs, ignore `tz`.
- BGL lines carry an epoch column (UTC) and a local wall-clock time without zone; the epoch
  is leftmost and absolute, so it is taken. HPC lines carry only an epoch.
- A timestamp more than two days after the clock (Splunk's MAX_DAYS_HENCE) is not taken:
  the event gets the previous event's time and the `no_timestamp` flag, never a future time.
- Epochs are 10 digits (seconds, optionally with a fraction), 13 (milliseconds) or 16
  (microseconds) starting with 1, i.e. 2001-09-09 .. 2033-05-18.
"""

from __future__ import annotations

import calendar
import re
import time
from collections import Counter
from datetime import datetime, timezone, tzinfo
from typing import Callable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pyarrow as pa

from speleo.errors import InputError
from speleo.ingest.timeformats import (
    MAX_AHEAD_SECS,
    PATTERNS,
    RIGHT,
    Pattern,
    any_search_regex,
    any_start_regex,
    fraction,
    hour_24,
    infer_year,
    month_number,
    pattern_from_format,
    zone_offset_text,
)

_SLICE_EXTRA = 48  # characters of a timestamp allowed past max_lookahead in the vector path
LEARN_LINES = 256  # sample lines that decide a source's format
LEARN_QUICK = 32  # ... or as few when one format wins all of them


def resolve_tz(tz: str | tzinfo | None) -> tzinfo | None:
    """An IANA name or tzinfo as a tzinfo; None stays None (machine's local zone).

    Raises `InputError` for an unknown zone name.
    """
    if tz is None or isinstance(tz, tzinfo):
        return tz
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InputError(f"unknown time zone {tz!r} (use an IANA name such as 'Europe/Paris' or 'UTC')") from exc


class Zone:
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

    def year_of(self, epoch: float) -> int:
        """The calendar year of `epoch` (seconds UTC) on this zone's wall clock."""
        if self.tz is None:
            return time.localtime(epoch).tm_year
        return datetime.fromtimestamp(epoch, self.tz).year

    def _compute(self, naive: int) -> float:
        if self.tz is None:
            parts = time.gmtime(naive)
            return float(naive - time.mktime(parts[:8] + (-1,)))
        wall = datetime.fromtimestamp(naive, timezone.utc).replace(tzinfo=self.tz)
        delta = wall.utcoffset()
        return delta.total_seconds() if delta else 0.0


class TimestampRecognizer:
    """Learns the timestamp format of one source from its lines and then applies it fast.

    `tz`: IANA name or tzinfo for naive times (None = machine's local zone).
    `time_format`: strptime-like format that replaces automatic recognition (TIME_FORMAT).
    `time_prefix`: regex that must match right before the timestamp (TIME_PREFIX).
    `now` / `clock`: epoch seconds, or a function returning them, used to infer missing
    years (default: `time.time` at each call).
    `max_lookahead`: a timestamp must start within this many characters of the line
    (MAX_TIMESTAMP_LOOKAHEAD, default 128 as in Splunk).
    Raises `InputError` for an unknown zone, an unsupported format or a bad prefix regex.
    """

    def __init__(
        self,
        tz: str | tzinfo | None = None,
        time_format: str | None = None,
        time_prefix: str | None = None,
        now: float | None = None,
        max_lookahead: int = 128,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.zone = Zone(resolve_tz(tz))
        self.now = now
        self.clock = clock or time.time
        self.max_lookahead = max_lookahead
        self.time_prefix = time_prefix
        try:
            self._prefix = re.compile(time_prefix) if time_prefix else None
        except re.error as exc:
            raise InputError(f"invalid time_prefix regex {time_prefix!r}: {exc}") from exc
        fixed = pattern_from_format(time_format) if time_format else None
        self.patterns: tuple[Pattern, ...] = (fixed,) if fixed else PATTERNS
        self.learned: Pattern | None = fixed
        self.scores: dict[str, int] = {}
        self._search = {p.name: re.compile(p.search_regex) for p in self.patterns}
        self._start = {p.name: re.compile(p.start_regex) for p in self.patterns}
        self._core = {p.name: re.compile(p.core) for p in self.patterns}
        text = tuple(p for p in self.patterns if not p.json)
        self._at = {p.name: re.compile("(?P<ts>" + p.core + ")" + RIGHT) for p in text}
        self._any = re.compile(any_search_regex(text)) if text else None
        self._any_start: re.Pattern[str] | None = None
        self._epochs = frozenset(p.name for p in self.patterns if p.epoch)

    # ---- public API -------------------------------------------------------------------
    def learn(self, lines: list[str]) -> Pattern | None:
        """Choose the source's format from sample lines (see module doc) and return it.

        Keeps a format given by `time_format`. Returns None (nothing learned) when no
        line of the sample holds a timestamp. `scores` keeps the points of each pattern.
        """
        if self.learned is not None and self.learned.name == "time_format":
            return self.learned
        scores = self._votes(lines[:LEARN_LINES])
        self.scores = scores
        if not scores:
            return None
        best = max(self.patterns, key=lambda p: scores.get(p.name, 0))
        rival = _RIVALS.get(best.name)
        if rival is not None and scores.get(rival) == scores[best.name]:
            best = self._steadier(best, rival, lines[:LEARN_LINES])
        self.learned = best
        return best

    def _steadier(self, first: Pattern, rival_name: str, lines: list[str]) -> Pattern:
        """Of two readings that fit the sample equally (month/day or day/month), the one whose
        consecutive times move least: logs are written in time order, so `01/03`, `02/03`,
        `03/03` are three days of March rather than three months. `first` on a tie."""
        rival = next(p for p in self.patterns if p.name == rival_name)

        def drift(pattern: Pattern) -> float:
            times = [hit[0] for hit in (self._search_one(pattern, ln) for ln in lines) if hit]
            return sum(abs(b - a) for a, b in zip(times, times[1:]))

        return rival if drift(rival) < drift(first) else first

    def find(self, line: str) -> tuple[float, int, int] | None:
        """(epoch seconds UTC, start char, end char) of the event's timestamp, or None.

        With a learned format: that format anywhere within `max_lookahead` characters (JSON
        keys anywhere in the line), else another format only at the start of the line.
        Without one: the leftmost-longest timestamp of any format, which is then learned.
        """
        if self._prefix is not None:
            return self._find_after_prefix(line)
        if self.learned is not None:
            hit = self._search_one(self.learned, line)
            if hit is not None:
                return hit
            return self._find_at_start(line)
        found = self._candidates(line)
        if not found:
            return None
        pattern, hit = _best(found)
        if self._epoch_after_clock([pattern.name], line, hit[1]):
            return None
        self.learned = pattern
        return hit

    def starts_with_timestamp(self, line: str) -> bool:
        """True when a timestamp begins the line, after at most 3 of `[(<"'*#-` and a space.

        A line that starts with whitespace never starts with a timestamp (continuation).
        """
        if self._prefix is not None:
            m = self._prefix.match(line)
            hit = self._find_after_prefix(line) if m is not None else None
            return hit is not None and hit[1] == m.end()  # type: ignore[union-attr]
        if not self._may_start(line):
            return False
        order = (self.learned,) + self.patterns if self.learned else self.patterns
        for pattern in order:
            if pattern.json:
                continue
            m = self._start[pattern.name].match(line)
            if m is not None and self.convert(pattern, m.groupdict()) is not None:
                return True
        return False

    def _may_start(self, line: str) -> bool:
        """Cheap filter: one regex of every format (no groups) matches the line's start."""
        if self._any_start is None:
            self._any_start = re.compile(any_start_regex(tuple(p for p in self.patterns if not p.json)))
        return self._any_start.match(line) is not None

    def current_now(self) -> float:
        """The `now` used to infer years: the pinned value or the clock."""
        return self.now if self.now is not None else self.clock()

    # ---- helpers ----------------------------------------------------------------------
    def _candidates(self, line: str) -> list[tuple[Pattern, tuple[float, int, int]]]:
        """Every pattern's first valid timestamp in the line (JSON keys first for JSON)."""
        out = []
        for pattern in self.patterns:
            hit = self._search_one(pattern, line)
            if hit is not None:
                out.append((pattern, hit))
        json_hits = [c for c in out if c[0].json]
        return json_hits[:1] if json_hits else out

    def _votes(self, lines: list[str]) -> dict[str, int]:
        """Points of each pattern over sample lines: one per line it wins. Stops after
        `LEARN_QUICK` lines when a single pattern has won every line so far."""
        names: list[str] = []
        for i, line in enumerate(lines):
            if i == LEARN_QUICK and len(set(names)) == 1:
                break
            names += self._winners(line)
        return dict(Counter(names))

    def _winners(self, line: str) -> list[str]:
        """Patterns giving the leftmost-longest valid timestamp of a line (JSON keys first).

        Fast path: one regex of every format finds the leftmost place where any timestamp
        may start; only the formats that match right there are converted.
        """
        if line.lstrip().startswith("{"):
            for p in self.patterns:
                if p.json and self._search_one(p, line) is not None:
                    return [p.name]
        if self._any is None:
            return self._winners_slow(line)
        head = line[: self.max_lookahead + _SLICE_EXTRA]
        m = self._any.search(head)
        if m is None or m.start("ts") > self.max_lookahead:
            return []
        at = m.start("ts")
        found = []
        for p in self.patterns:
            if p.json:
                continue
            hit = self._at[p.name].match(head, at)
            if hit is not None and self.convert(p, hit.groupdict()) is not None:
                found.append((p.name, hit.end("ts")))
        if not found:  # the first shape was no valid date (Feb 30): look further
            return self._winners_slow(line)
        longest = max(end for _, end in found)
        names = [name for name, end in found if end == longest]
        if self._epoch_after_clock(names, line, at):
            return []
        return names

    def _epoch_after_clock(self, names: list[str], line: str, at: int) -> bool:
        """A bare number that follows a clock time (`22:15:29 ... 1514038530000`) is not the
        event's time: the line starts with a time of a layout not in the table."""
        return bool(names) and all(n in self._epochs for n in names) and _CLOCK.search(line, 0, at) is not None

    def _winners_slow(self, line: str) -> list[str]:
        found = self._candidates(line)
        if not found:
            return []
        _, (_, start, end) = _best(found)
        names = [p.name for p, hit in found if hit[1] == start and hit[2] == end]
        return [] if self._epoch_after_clock(names, line, start) else names

    def _search_one(self, pattern: Pattern, line: str) -> tuple[float, int, int] | None:
        if pattern.json and not line.lstrip().startswith("{"):
            return None
        text = line if pattern.json else line[: self.max_lookahead + _SLICE_EXTRA]
        for m in self._search[pattern.name].finditer(text):
            start = m.start("ts")
            if start > self.max_lookahead and not pattern.json:
                return None
            epoch = self.convert(pattern, m.groupdict())
            if epoch is not None:
                return epoch, start, m.end("ts")
        return None

    def _find_at_start(self, line: str) -> tuple[float, int, int] | None:
        """A timestamp of any non-epoch format (or a JSON key) that starts the line."""
        learned = self.learned
        if not line.lstrip().startswith("{") and not self._may_start(line):
            return None
        for pattern in self.patterns:
            if pattern.epoch and not (learned is not None and learned.epoch):
                continue
            if pattern.json:
                hit = self._search_one(pattern, line)
                if hit is not None:
                    return hit
                continue
            m = self._start[pattern.name].match(line)
            if m is not None:
                epoch = self.convert(pattern, m.groupdict())
                if epoch is not None:
                    return epoch, m.start("ts"), m.end("ts")
        return None

    def _find_after_prefix(self, line: str) -> tuple[float, int, int] | None:
        """The timestamp right after the first match of `time_prefix` (props.conf.spec
        TIME_PREFIX: only the text after the end of the first match is looked at). Later
        matches are not tried: each try costs every pattern, so a line of 10,000 `[` with
        `time_prefix = \\[` took 0.1 s."""
        assert self._prefix is not None
        pm = self._prefix.search(line)
        if pm is None:
            return None
        for pattern in self.patterns:
            if pattern.json:
                continue
            m = self._core[pattern.name].match(line, pm.end())
            if m is not None:
                epoch = self.convert(pattern, m.groupdict())
                if epoch is not None:
                    return epoch, pm.end(), m.end()
        return None

    def convert(self, pattern: Pattern, g: dict[str, str | None]) -> float | None:
        """Epoch seconds UTC from the named groups of one match, or None if impossible."""
        if g.get("ms"):
            return self._not_ahead(int(g["ms"]) / 1000.0)  # type: ignore[arg-type]
        if g.get("us"):
            return self._not_ahead(int(g["us"]) / 1e6)  # type: ignore[arg-type]
        if g.get("e"):
            return self._not_ahead(float(g["e"]))  # type: ignore[arg-type]
        month = int(g["m"]) if g.get("m") else month_number(g["b"])  # type: ignore[arg-type]
        hour = hour_24(int(g["H"]), g.get("p"))  # type: ignore[arg-type]
        clock = (int(g["d"]), hour, int(g["M"]), min(int(g["S"]), 59))  # type: ignore[arg-type]
        frac = fraction(g)
        if pattern.has_year:
            year = int(g["Y"]) if g.get("Y") else 2000 + int(g["y"])  # type: ignore[arg-type]
            return self._not_ahead(self._epoch(year, month, clock, frac, g.get("z")))
        now = self.current_now()
        year = infer_year(lambda y: self._epoch(y, month, clock, frac, None), now, self.zone.year_of(now))
        return None if year is None else self._epoch(year, month, clock, frac, None)

    def _not_ahead(self, epoch: float | None) -> float | None:
        """`epoch`, or None when it is more than `MAX_AHEAD_SECS` after the clock."""
        if epoch is None or epoch > self.current_now() + MAX_AHEAD_SECS:
            return None
        return epoch

    def _epoch(self, year: int, month: int, clock: tuple[int, int, int, int], frac: float,
               z: str | None) -> float | None:
        day, hour, minute, second = clock
        if day < 1 or day > calendar.monthrange(year, month)[1]:
            return None
        naive = calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0)) + frac
        if z:
            return naive - zone_offset_text(z)
        return naive - self.zone.offset(naive)

    # ---- vectorised path used by breaking.py ------------------------------------------
    def extract_vector(self, lines: pa.Array, pattern: Pattern, anchored: bool) -> pa.Array:
        """Epoch seconds (float64, null where `pattern` does not fit) for each line.

        `lines`: pyarrow string array. `anchored`: the timestamp must start the line.
        Raises `pyarrow.ArrowInvalid` if RE2 rejects the regex (callers fall back to `find`).
        """
        from speleo.ingest.timevector import extract_times

        return extract_times(self, lines, pattern, anchored, self.max_lookahead + _SLICE_EXTRA)


_CLOCK = re.compile(r"\d:[0-5]\d:[0-5]\d")
_RIVALS = {"mdy_slash": "dmy_slash", "mdy_dash": "dmy_dash"}  # same text, month or day first


def _best(found: list[tuple[Pattern, tuple[float, int, int]]]) -> tuple[Pattern, tuple[float, int, int]]:
    """The leftmost candidate, the longest among those starting at the same place, the
    earliest in the pattern table among equals."""
    return min(found, key=lambda c: (c[1][1], -c[1][2]))
