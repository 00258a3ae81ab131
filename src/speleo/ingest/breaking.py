"""Event breaking: raw bytes of one source → an Arrow table of events.

`EventParser.parse` is called repeatedly as a file grows. Its work is vectorised with
`pyarrow.compute` over the whole chunk: split on newlines, find the lines that start an
event with one RE2 regex, extract the times of the first lines with another, join the
lines of each event. Python touches only the lines that the learned timestamp format does
not fit (e.g. the first line of a Java stack trace), long lines, and invalid UTF-8.

Breaking modes, decided once per parser from the sourcetype and the first lines seen:

- `line`: every non-blank line is an event (`should_linemerge=False`, or a source whose
  first lines have no timestamp at all, or whose timestamps mostly do not start the line,
  such as HPC or OpenStack logs);
- `breaker`: a line matching `line_breaker` (at the line start) starts an event; with a
  `time_prefix` the whole event is searched for the timestamp, not only its first line;
- `timestamp` (default): a line that begins with a timestamp starts an event, so a stack
  trace stays with the line before it. Lines that begin with whitespace never start one.

A sourcetype with `json_records` (aws:cloudtrail) reads a file that is one JSON object holding a
list of records (`{"Records": [...]}`) whole, once complete, and makes each record an event
(`speleo.ingest.records`); other files of that sourcetype break as above.

Blank lines belong to the event before them and trailing blank lines are stripped from
`_raw`; nothing empty is emitted. Flags (column `_flags`, comma-separated): `no_timestamp`,
`truncated`, `invalid_utf8`, `max_lines`, `binary` (the event holds NUL bytes).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from speleo.errors import InputError
from speleo.ingest.records import MAX_DOCUMENT_BYTES, byte_offsets, is_records_document, split_records
from speleo.ingest.tailing import complete_lines_end
from speleo.ingest.timestamps import LEARN_LINES, LEARN_QUICK, TimestampRecognizer
from speleo.sourcetypes import Sourcetype

SCHEMA = pa.schema([
    ("_time", pa.float64()), ("_raw", pa.string()), ("linecount", pa.int32()),
    ("_offset", pa.int64()), ("_flags", pa.string()),
])
FLAGS = ("no_timestamp", "truncated", "invalid_utf8", "max_lines", "binary")
_SAMPLE_LINES = 50


@dataclass
class ParsedChunk:
    """Result of one `EventParser.parse` call.

    `events`: table with `SCHEMA` (_time float64 epoch seconds UTC, _raw, linecount int32,
    _offset int64 byte offset of the event's first byte in the stream, _flags).
    `consumed`: bytes of `data` turned into events; pass the rest again with more data.
    `flagged`: number of events per flag in this chunk.
    """

    events: pa.Table
    consumed: int
    flagged: dict[str, int] = field(default_factory=dict)


@dataclass
class _Lines:
    """The complete lines of a chunk: text, byte starts (relative to data) and line flags."""

    text: pa.Array                      # string, no "\n" nor trailing "\r"
    starts: pa.Array                    # int64 byte offset of each line in `data`
    flags: dict[str, set[int]]          # flag -> indices of lines carrying it


class EventParser:
    """Breaks the byte stream of one source into events (see module doc).

    `sourcetype`: parse settings; `tz`: default zone for naive times when the sourcetype
    has none (None = machine's local zone); `now`: epoch seconds pinned for year inference,
    or `clock`: a function giving them (default `time.time`).
    The timestamp format is chosen once, from the first lines of the first chunk
    (`TimestampRecognizer.learn`).
    Raises `InputError` for an invalid `line_breaker`, `time_format` or zone.
    """

    def __init__(self, sourcetype: Sourcetype, tz: str | None = None, now: float | None = None,
                 clock: Callable[[], float] | None = None) -> None:
        self.sourcetype = sourcetype
        self.recognizer = TimestampRecognizer(
            tz=sourcetype.tz or tz, time_format=sourcetype.time_format,
            time_prefix=sourcetype.time_prefix, now=now, clock=clock,
            max_lookahead=sourcetype.max_timestamp_lookahead,
        )
        self.mode: str | None = None
        self._sample: list[str] = []  # first lines that may start an event (format choice)
        self._last_time: float | None = None
        self._breaker = _compile_breaker(sourcetype.line_breaker)

    def parse(self, data: bytes, base_offset: int, final: bool, fallback_time: float) -> ParsedChunk:
        """Turn `data` (starting at byte `base_offset` of the stream, at an event start) into events.

        When `final` is False the last event is held back (its continuation may not be
        written yet) unless every line is an event, and an incomplete last line is never
        consumed. When `final` is True everything is consumed. `fallback_time` (epoch
        seconds) times events without a timestamp when no earlier event of this source has one.
        """
        if self.sourcetype.json_records and is_records_document(data, self.sourcetype.json_records):
            records = self._records(data, base_offset, final, fallback_time)
            if records is not None:
                return records
        end = len(data) if final else complete_lines_end(data)
        if end == 0:
            return ParsedChunk(SCHEMA.empty_table(), 0, {})
        lines = _split_lines(data, end, self.sourcetype.truncate)
        if len(lines.text) == 0:
            return ParsedChunk(SCHEMA.empty_table(), end, {})
        if self.mode is None or len(self._sample) < LEARN_QUICK:
            self._learn(lines.text)
        if self.mode is None:
            self.mode = self._decide_mode(lines.text)
        blank = _blank(lines.text)
        starts = self._event_starts(lines.text, blank)
        starts, split_lines = _cap_lines(starts, self.sourcetype.max_lines)
        if split_lines:
            lines.flags["max_lines"] = split_lines
        n_lines = len(lines.text)
        if not final and self.mode != "line":
            n_lines = _last_start(starts)
            if n_lines == 0:
                return ParsedChunk(SCHEMA.empty_table(), 0, {})
            end = int(lines.starts[n_lines].as_py())
        table, flagged = self._build(lines, blank, starts, n_lines, base_offset, fallback_time)
        return ParsedChunk(table, end, flagged)

    def _records(self, data: bytes, base_offset: int, final: bool, fallback_time: float) -> ParsedChunk | None:
        """One event per record of a JSON records document (`Sourcetype.json_records`), taken
        whole once the document is complete (`final`); None when the data is not such a
        document or is larger than `records.MAX_DOCUMENT_BYTES` (broken into lines instead)."""
        if len(data) > MAX_DOCUMENT_BYTES:
            return None
        if not final:
            return ParsedChunk(SCHEMA.empty_table(), 0, {})
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            return None
        found = split_records(text, self.sourcetype.json_records or "")
        if not found:
            return None
        raws = [r for _, r in found]
        times, missing = self._times(pa.array(raws, pa.string()), fallback_time)
        offsets = [base_offset + b for b in byte_offsets(text, [c for c, _ in found])]
        flags = ["no_timestamp" if m else "" for m in missing.to_pylist()]
        table = pa.Table.from_arrays([times, pa.array(raws, pa.string()), pa.array([1] * len(raws), pa.int32()),
                                      pa.array(offsets, pa.int64()), pa.array(flags, pa.string())], schema=SCHEMA)
        n_missing = sum(1 for f in flags if f)
        return ParsedChunk(table, len(data), {"no_timestamp": n_missing} if n_missing else {})

    # ---- format, mode and event starts -------------------------------------------------
    def _learn(self, text: pa.Array) -> None:
        """Choose the timestamp format from the first lines that may start an event; while
        fewer than `LEARN_QUICK` have been seen (a file that is still being written), each
        new chunk adds its lines and the choice is made again. The first 2 x `LEARN_QUICK`
        lines are tried first: when one format wins all of them, no more are read."""
        seen = 0
        for size in (2 * LEARN_QUICK, LEARN_LINES * 4):
            room = LEARN_LINES - len(self._sample)
            head = text.slice(seen, max(0, size - seen)).to_pylist()
            seen = size
            self._sample += [s for s in head if s.strip() and not s[:1].isspace()][:room]
            self.recognizer.learn(self._sample)
            scores = self.recognizer.scores
            if (len(scores) == 1 and sum(scores.values()) >= LEARN_QUICK) or seen >= len(text):
                return

    def _decide_mode(self, text: pa.Array) -> str:
        st = self.sourcetype
        if not st.should_linemerge:
            return "line"
        if self._breaker is not None:
            return "breaker"
        sample = [s for s in text.slice(0, _SAMPLE_LINES * 4).to_pylist() if s.strip()][:_SAMPLE_LINES]
        timed = [s for s in sample if self.recognizer.find(s) is not None]
        if not timed:
            return "line"
        starting = sum(1 for s in timed if self.recognizer.starts_with_timestamp(s))
        return "timestamp" if starting * 2 >= len(timed) else "line"

    def _event_starts(self, text: pa.Array, blank: pa.Array) -> pa.Array:
        not_blank = pc.invert(blank)
        if self.mode == "line":
            starts = not_blank
        elif self.mode == "breaker":
            starts = pc.and_(self._breaker_matches(text), not_blank)
        else:
            starts = pc.and_(self._timestamp_starts(text), not_blank)
        return _force_first(starts)

    def _breaker_matches(self, text: pa.Array) -> pa.Array:
        assert self._breaker is not None
        try:
            return pc.match_substring_regex(text, "^(?:" + self._breaker.pattern + ")")
        except pa.ArrowInvalid:  # not RE2-compatible: Python's re decides
            return pa.array([self._breaker.match(s) is not None for s in text.to_pylist()])

    def _timestamp_starts(self, text: pa.Array) -> pa.Array:
        learned = self.recognizer.learned
        matched = pa.array([False] * len(text))
        if learned is not None and not learned.json and self.sourcetype.time_prefix is None:
            try:
                matched = pc.match_substring_regex(text, learned.start_regex)
            except pa.ArrowInvalid:
                pass
        # Lines the learned format does not fit may still start with another format (Python
        # checks them: after the learned format's RE2 pass they are few, e.g. exception lines).
        # Each distinct such line is asked once (a stack trace repeats the same exception line).
        maybe = pc.and_(pc.invert(matched), pc.invert(pc.match_substring_regex(text, r"^(\s|$)")))
        if not pc.any(maybe).as_py():
            return matched
        todo = pc.dictionary_encode(pc.filter(text, maybe))
        answers = pa.array([self.recognizer.starts_with_timestamp(s) for s in todo.dictionary.to_pylist()], pa.bool_())
        return pc.replace_with_mask(matched, maybe, pc.take(answers, todo.indices))

    # ---- building the table -------------------------------------------------------------
    def _build(self, lines: _Lines, blank: pa.Array, starts: pa.Array, n_lines: int,
               base_offset: int, fallback_time: float) -> tuple[pa.Table, dict[str, int]]:
        text, blank, starts = lines.text[:n_lines], blank[:n_lines], starts[:n_lines]
        group = pc.subtract(pc.cumulative_sum(pc.cast(starts, pa.int64())), 1)
        keep = _keep_mask(blank, starts, group)
        kept_group = pc.filter(group, keep)
        if len(kept_group) == 0:
            return SCHEMA.empty_table(), {}
        bounds = _run_starts(kept_group)
        list_offsets = pa.concat_arrays([bounds, pa.array([len(kept_group)], pa.int32())])
        kept_text = pc.filter(text, keep)
        if len(bounds) == len(kept_group):   # one line per event: _raw is the line
            raw = kept_text
        else:
            raw = pc.binary_join(pa.ListArray.from_arrays(list_offsets, kept_text), "\n")
        event_group = pc.take(kept_group, bounds)
        first_line = pc.take(pc.indices_nonzero(starts), event_group)
        timed = pc.take(text, first_line)
        if self.mode == "breaker" and self.sourcetype.time_prefix:  # the prefix may be on a later line
            timed = pc.cast(raw, pa.string())                     # (pretty-printed Windows XML)
        times, missing = self._times(timed, fallback_time)
        flags, flagged = _event_flags(lines.flags, group, event_group, missing)
        columns = [
            times, pc.cast(raw, pa.string()),
            pc.cast(pc.subtract(list_offsets[1:], list_offsets[:-1]), pa.int32()),
            pc.add(pc.take(lines.starts, first_line), base_offset), flags,
        ]
        return pa.Table.from_arrays(columns, schema=SCHEMA), flagged

    def _times(self, first_lines: pa.Array, fallback_time: float) -> tuple[pa.Array, pa.Array]:
        """Epoch seconds per event (filled) and a boolean array of events without a timestamp."""
        rec = self.recognizer
        if rec.learned is None and rec.time_prefix is None:  # learn from the first events
            rec.learn(first_lines.slice(0, LEARN_LINES).to_pylist())
        times = pa.nulls(len(first_lines), pa.float64())
        if rec.learned is not None and rec.time_prefix is None:
            try:
                times = rec.extract_vector(first_lines, rec.learned, anchored=False)
            except pa.ArrowInvalid:
                pass
        if rec.learned is not None or rec.time_prefix is not None:
            times = self._python_times(first_lines, times)
        missing = pc.is_null(times)
        if pc.any(missing).as_py():
            head = self._last_time if self._last_time is not None else fallback_time
            if not times[0].is_valid:
                times = pa.concat_arrays([pa.array([head], pa.float64()), times[1:]])
            times = pc.fill_null_forward(times)
        self._last_time = times[-1].as_py()
        return times, missing

    def _python_times(self, first_lines: pa.Array, times: pa.Array) -> pa.Array:
        todo = pc.indices_nonzero(pc.is_null(times)).to_pylist()
        if not todo:
            return times
        values = times.to_pylist()
        for i in todo:
            hit = self.recognizer.find(first_lines[i].as_py())
            values[i] = hit[0] if hit else None
        return pa.array(values, pa.float64())


def _compile_breaker(regex: str | None) -> re.Pattern[str] | None:
    if not regex:
        return None
    try:
        return re.compile(regex)
    except re.error as exc:
        raise InputError(f"invalid line_breaker regex {regex!r}: {exc}") from exc


def _split_lines(data: bytes, end: int, truncate: int) -> _Lines:
    """Complete lines of data[:end] (a trailing partial line counts when end == len(data)).

    Lines end with "\r\n", "\n" or a lone "\r" (Splunk's default LINE_BREAKER `([\r\n]+)`
    breaks on both characters; old Mac OS and some devices write CR only)."""
    if data.find(b"\r", 0, end) >= 0 and _LONE_CR.search(data, 0, end):   # find: memchr, 30x faster
        return _split_lines_cr(data, end, truncate)
    buf = pa.py_buffer(data).slice(0, end)
    whole = pa.Array.from_buffers(pa.large_binary(), 1, [None, pa.array([0, end], pa.int64()).buffers()[1], buf])
    parts = pc.split_pattern(whole, b"\n").flatten()
    if end and data[end - 1 : end] == b"\n":
        parts = parts[:-1]
    widths = pc.add(pc.cast(pc.binary_length(parts), pa.int64()), 1)  # the line and its "\n"
    starts = pc.subtract(pc.cumulative_sum(widths), widths)
    flags: dict[str, set[int]] = {}
    text = _decode(parts, flags)
    if b"\r" in data[:end]:
        text = pc.utf8_rtrim(text, "\r")
    if b"\x00" in data[:end]:
        flags["binary"] = set(pc.indices_nonzero(pc.match_substring(text, "\x00")).to_pylist())
    text = _truncate(text, truncate, flags)
    return _Lines(text, starts, flags)


_LONE_CR = re.compile(rb"\r(?!\n)")
_ANY_EOL = re.compile(rb"(\r\n|\r|\n)")


def _split_lines_cr(data: bytes, end: int, truncate: int) -> _Lines:
    """`_split_lines` for data holding a lone "\r": split in Python on any line end (slower;
    only such sources pay for it)."""
    pieces = _ANY_EOL.split(data[:end])        # line, sep, line, sep, ..., last (may be b"")
    lines, seps = pieces[0::2], pieces[1::2] + [b""]
    if lines and lines[-1] == b"" and len(lines) > 1:
        lines, seps = lines[:-1], seps[:-1]
    widths = [len(a) + len(b) for a, b in zip(lines, seps)]
    starts, pos = [], 0
    for w in widths:
        starts.append(pos)
        pos += w
    flags: dict[str, set[int]] = {}
    text = _decode(pa.array(lines, pa.large_binary()), flags)
    if b"\x00" in data[:end]:
        flags["binary"] = set(pc.indices_nonzero(pc.match_substring(text, "\x00")).to_pylist())
    text = _truncate(text, truncate, flags)
    return _Lines(text, pa.array(starts, pa.int64()), flags)


def _decode(parts: pa.Array, flags: dict[str, set[int]]) -> pa.Array:
    try:
        return pc.cast(parts, pa.string())
    except pa.ArrowInvalid:
        values, bad = [], set()
        for i, raw in enumerate(parts.to_pylist()):
            try:
                values.append(raw.decode("utf-8"))
            except UnicodeDecodeError:
                values.append(raw.decode("utf-8", "replace"))
                bad.add(i)
        flags["invalid_utf8"] = bad
        return pa.array(values, pa.string())


def _truncate(text: pa.Array, limit: int, flags: dict[str, set[int]]) -> pa.Array:
    """Cut lines longer than `limit` bytes (at a character boundary) and flag them."""
    long_ = pc.indices_nonzero(pc.greater(pc.binary_length(text), limit)).to_pylist()
    if not long_:
        return text
    values = text.to_pylist()
    for i in long_:
        values[i] = values[i].encode("utf-8")[:limit].decode("utf-8", "ignore")
    flags["truncated"] = set(long_)
    return pa.array(values, pa.string())


def _blank(text: pa.Array) -> pa.Array:
    return pc.match_substring_regex(text, r"^\s*$")


def _force_first(starts: pa.Array) -> pa.Array:
    if len(starts) == 0 or starts[0].as_py():
        return starts
    return pa.concat_arrays([pa.array([True]), starts[1:]])


def _cap_lines(starts: pa.Array, max_lines: int) -> tuple[pa.Array, set[int]]:
    """Add event starts every `max_lines` lines; lines of events that were cut (for flags)."""
    n = len(starts)
    start_idx = pc.indices_nonzero(starts)
    if len(start_idx) and start_idx[0].as_py() == 0:   # no event longer than max_lines: nothing to cut
        bounds = np.append(start_idx.to_numpy(), n)
        if int(np.diff(bounds).max()) <= max_lines:
            return starts, set()
    group = pc.subtract(pc.cumulative_sum(pc.cast(starts, pa.int64())), 1)
    pos = pc.subtract(_arange(n), pc.take(pc.cast(start_idx, pa.int64()), group))
    if not pc.any(pc.greater_equal(pos, max_lines)).as_py():
        return starts, set()
    cut = pc.subtract(pos, pc.multiply(pc.divide(pos, max_lines), max_lines))
    extra = pc.and_(pc.greater(pos, 0), pc.equal(cut, 0))
    long_groups = pc.unique(pc.filter(group, extra))
    flagged = pc.indices_nonzero(pc.is_in(group, value_set=long_groups)).to_pylist()
    return pc.or_(starts, extra), set(flagged)


def _arange(n: int) -> pa.Array:
    """0, 1, ..., n - 1 as int64 (from numpy: a Python range of a chunk's lines took ~1.5 ms)."""
    return pa.array(np.arange(n, dtype=np.int64))


def _last_start(starts: pa.Array) -> int:
    idx = pc.indices_nonzero(starts)
    return int(idx[-1].as_py()) if len(idx) else 0


def _keep_mask(blank: pa.Array, starts: pa.Array, group: pa.Array) -> pa.Array:
    """Lines to keep: all but the blank lines that trail their event."""
    n = len(blank)
    if not pc.any(blank).as_py():
        return pc.invert(blank)
    idx = _arange(n)
    own = pc.if_else(blank, n, idx)
    rev = pa.array(np.arange(n - 1, -1, -1, dtype=np.int64))
    next_content = pc.take(pc.cumulative_min(pc.take(own, rev)), rev)
    ends = pa.concat_arrays([pc.cast(pc.indices_nonzero(starts), pa.int64())[1:], pa.array([n], pa.int64())])
    return pc.or_(pc.invert(blank), pc.less(next_content, pc.take(ends, group)))


def _run_starts(sorted_ids: pa.Array) -> pa.Array:
    """Positions (int32) where a new value begins in a sorted int64 array."""
    changed = pc.not_equal(sorted_ids[1:], sorted_ids[:-1])
    mask = pa.concat_arrays([pa.array([True]), changed])
    return pc.cast(pc.indices_nonzero(mask), pa.int32())


def _event_flags(line_flags: dict[str, set[int]], group: pa.Array, event_group: pa.Array,
                 missing: pa.Array) -> tuple[pa.Array, dict[str, int]]:
    """The `_flags` column and counts per flag, from line flags and missing timestamps.

    An event's flags are listed in `FLAGS` order, comma-separated; "" when it has none. Only
    the flagged events are touched in Python (a list per event cost 0.3 us each, mostly the
    garbage collector walking them: a third of a second per 100 MB of short lines)."""
    n_events = len(event_group)
    per_event: dict[int, list[str]] = {}
    flagged: dict[str, int] = {}
    position = {g: i for i, g in enumerate(event_group.to_pylist())} if line_flags else {}
    for name in FLAGS:
        if name == "no_timestamp":
            hits = set(pc.indices_nonzero(missing).to_pylist())
        else:
            lines = {i for i in line_flags.get(name, set()) if i < len(group)}
            groups = set(pc.take(group, pa.array(sorted(lines), pa.int64())).to_pylist()) if lines else set()
            hits = {position[g] for g in groups if g in position}
        for i in hits:
            per_event.setdefault(i, []).append(name)
        if hits:
            flagged[name] = len(hits)
    empty = pa.repeat(pa.scalar("", pa.string()), n_events)
    if not flagged:
        return empty, {}
    rows = sorted(per_event)
    mask = np.zeros(n_events, dtype=bool)
    mask[rows] = True
    values = pa.array([",".join(per_event[i]) for i in rows], pa.string())
    return pc.replace_with_mask(empty, pa.array(mask), values), flagged
