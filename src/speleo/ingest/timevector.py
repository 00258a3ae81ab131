"""Vectorised twin of `TimestampRecognizer.convert`: epoch seconds for a whole chunk of lines.

`extract_times` runs one pattern's regex with `pyarrow.compute.extract_regex` (RE2) and turns
the captured groups into UTC epochs with array arithmetic: no Python per line. Rows more than
`MAX_AHEAD_SECS` after the clock and rows whose date does not exist (Feb 30, Feb 29 of a
common year) come out null, so the caller's Python path decides them as it decides rows the
pattern does not fit. Year-less patterns follow the
rule of `timeformats.infer_year` (the latest of next year, this year, last year that is at
most `MAX_AHEAD_SECS` ahead of the clock; rows that none of these three fit stay null and go
to the Python path, which also tries older years).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc

from speleo.ingest.timeformats import MONTHS, MAX_AHEAD_SECS, Pattern, zone_offset_text

if TYPE_CHECKING:
    from speleo.ingest.timestamps import TimestampRecognizer, Zone

_CUM_DAYS = pa.array([0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334], pa.int64())
_MONTH_DAYS = pa.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], pa.int64())
_NULL = pa.scalar(None, pa.float64())
DAY = 86400.0
_SAFE = {"Y": "2000", "y": "00", "m": "01", "b": "Jan", "d": "01", "H": "00", "M": "00", "S": "00"}


def extract_times(rec: TimestampRecognizer, lines: pa.Array, pattern: Pattern, anchored: bool,
                  width: int) -> pa.Array:
    """Epoch seconds (float64, null where `pattern` does not fit) for each line of `lines`.

    Only the first `width` characters are searched (JSON patterns search the whole line).
    Raises `pyarrow.ArrowInvalid` if RE2 rejects the regex.
    """
    regex = _without_ts(pattern.start_regex if anchored else pattern.search_regex)
    if not pattern.json:
        lines = _heads(lines, width)
    groups = pc.extract_regex(lines, regex)
    return _vector_epoch(groups, pattern, rec)


def _heads(lines: pa.Array, width: int) -> pa.Array:
    """The first `width` characters of each line (`utf8_slice_codeunits`, which counts code
    points). Lines of at most `width` bytes are whole already; ASCII lines are cut by bytes,
    15x cheaper than decoding them."""
    if len(lines) == 0 or (pc.max(pc.binary_length(lines)).as_py() or 0) <= width:
        return lines
    if isinstance(lines, pa.Array) and pc.all(pc.string_is_ascii(lines)).as_py():
        return pc.binary_slice(lines.view(pa.binary()), 0, width).view(pa.string())
    return pc.utf8_slice_codeunits(lines, 0, width)


def _without_ts(regex: str) -> str:
    """The regex with its group `ts` made non-capturing: the arithmetic reads only the parts,
    and each captured group costs RE2 and Arrow a copy per row (5-10% of the extraction)."""
    return regex.replace("(?P<ts>", "(?:", 1)


def _field(groups: pa.StructArray, name: str) -> pa.Array | None:
    names = [groups.type.field(i).name for i in range(groups.type.num_fields)]
    return pc.struct_field(groups, name) if name in names else None


def _ints(arr: pa.Array | None, default: int = 0) -> pa.Array:
    """Integers of a group's texts: `default` where the group is empty, spaces around ignored."""
    if arr is None:
        return pa.scalar(default, pa.int64())  # type: ignore[return-value]
    try:   # the usual case, digits only: the cast alone (it refuses "" and any space)
        return pc.cast(arr, pa.int64())
    except pa.ArrowInvalid:
        pass
    filled = pc.if_else(pc.equal(arr, ""), str(default), arr)
    return pc.cast(pc.utf8_trim_whitespace(filled), pa.int64())


def _mod(values: pa.Array, k: int) -> pa.Array:
    """Remainder of non-negative integers (integer `divide` truncates)."""
    return pc.subtract(values, pc.multiply(pc.divide(values, k), k))


def _is_leap(year: pa.Array) -> pa.Array:
    return pc.and_(pc.equal(_mod(year, 4), 0),
                   pc.or_(pc.not_equal(_mod(year, 100), 0), pc.equal(_mod(year, 400), 0)))


def _days_from_civil(year: pa.Array, month: pa.Array, day: pa.Array) -> pa.Array:
    """Days since 1970-01-01 for proleptic Gregorian dates (years >= 1)."""
    y1 = pc.subtract(year, 1)
    leaps = pc.add(pc.subtract(pc.divide(y1, 4), pc.divide(y1, 100)), pc.divide(y1, 400))
    before_year = pc.add(pc.multiply(pc.subtract(year, 1970), 365), pc.subtract(leaps, 477))
    month_days = pc.take(_CUM_DAYS, pc.subtract(month, 1))
    leap_add = pc.cast(pc.and_(_is_leap(year), pc.greater(month, 2)), pa.int64())
    return pc.add(pc.add(before_year, month_days), pc.add(leap_add, pc.subtract(day, 1)))


def _day_exists(year: pa.Array, month: pa.Array, day: pa.Array) -> pa.Array | bool:
    """Whether each date exists (True for all when no day is past the 28th)."""
    if (pc.max(day).as_py() or 0) <= 28:
        return True
    longest = pc.add(pc.take(_MONTH_DAYS, pc.subtract(month, 1)),
                     pc.cast(pc.and_(_is_leap(year), pc.equal(month, 2)), pa.int64()))
    return pc.and_(pc.greater_equal(day, 1), pc.less_equal(day, longest))


def _vector_epoch(groups: pa.StructArray, pattern: Pattern, rec: TimestampRecognizer) -> pa.Array:
    limit = rec.current_now() + MAX_AHEAD_SECS
    valid = groups.is_valid()
    for name, scale in (("ms", 1000.0), ("us", 1e6), ("e", 1.0)):
        col = _field(groups, name)
        if col is not None:
            out = pc.divide(pc.cast(pc.if_else(valid, col, "0"), pa.float64()), scale)
            return pc.if_else(pc.and_(valid, pc.less_equal(out, limit)), out, _NULL)
    groups = _fill_invalid(groups, valid)
    month, day, frac = _months(groups), _ints(_field(groups, "d"), 1), _fractions(groups)
    clock = pc.add(pc.add(pc.multiply(_hours(groups), 3600), pc.multiply(_ints(_field(groups, "M")), 60)),
                   pc.min_element_wise(_ints(_field(groups, "S")), 59))
    if pattern.has_year:
        year = _years(groups)
        out = _apply_zone(_naive(year, month, day, clock, frac), _field(groups, "z"), rec.zone)
        exists = _day_exists(year, month, day)
        ok = pc.and_(valid, pc.less_equal(out, limit))
        ok = ok if exists is True else pc.and_(ok, exists)
    else:
        out, ok = _year_less(month, day, clock, frac, rec, len(groups))
        ok = pc.and_(valid, ok)
    return pc.if_else(ok, out, _NULL)


def _year_less(month: pa.Array, day: pa.Array, clock: pa.Array, frac: pa.Array,
               rec: TimestampRecognizer, n: int) -> tuple[pa.Array, pa.Array]:
    """Epochs with the year of `timeformats.infer_year` (next, this or last year) and a mask
    of rows that got one."""
    now = rec.current_now()
    base = rec.zone.year_of(now)
    limit = now + MAX_AHEAD_SECS
    years = [base - 1, base] + ([base + 1] if rec.zone.year_of(limit + DAY) > base else [])
    out = pa.nulls(n, pa.float64())
    todo: pa.Array | None = None  # rows a later year may still take
    for year in reversed(years):  # the latest year that fits wins
        col = pa.scalar(year, pa.int64())
        epoch = _apply_zone(_naive(col, month, day, clock, frac), None, rec.zone)
        exists = _day_exists(col, month, day)
        fits = pc.less_equal(epoch, limit)
        fits = fits if exists is True else pc.and_(fits, exists)
        fits = fits if todo is None else pc.and_(fits, todo)
        out = pc.if_else(fits, epoch, out)
        todo = pc.is_null(out)
        if not pc.any(todo).as_py():
            break
    return out, pc.is_valid(out)


def _fill_invalid(groups: pa.StructArray, valid: pa.Array) -> pa.StructArray:
    """Replace rows that did not match by a harmless date so that arithmetic never fails."""
    if groups.null_count == 0:   # every row matched
        return groups
    arrays, names = [], []
    for i in range(groups.type.num_fields):
        name = groups.type.field(i).name
        fill = _SAFE.get(name, "")
        arrays.append(pc.if_else(valid, pc.struct_field(groups, name), fill))
        names.append(name)
    return pa.StructArray.from_arrays(arrays, names=names)


def _months(groups: pa.StructArray) -> pa.Array:
    b = _field(groups, "b")
    if b is not None:
        short = pc.utf8_capitalize(pc.utf8_slice_codeunits(b, 0, 3))
        return pc.add(pc.cast(pc.index_in(short, value_set=pa.array(MONTHS)), pa.int64()), 1)
    return _ints(_field(groups, "m"), 1)


def _hours(groups: pa.StructArray) -> pa.Array:
    hour = _ints(_field(groups, "H"))
    p = _field(groups, "p")
    if p is None:
        return hour
    pm = pc.starts_with(pc.utf8_upper(p), "P")
    twelve = _mod(hour, 12)
    shifted = pc.add(twelve, pc.multiply(pc.cast(pm, pa.int64()), 12))
    return pc.if_else(pc.equal(p, ""), hour, shifted)


def _years(groups: pa.StructArray) -> pa.Array:
    y4 = _field(groups, "Y")
    if y4 is not None:
        return _ints(y4, 2000)
    return pc.add(_ints(_field(groups, "y")), 2000)


def _fractions(groups: pa.StructArray) -> pa.Array:
    """Seconds after the whole second: decimal digits `f`, or milliseconds `k` (skipped when
    no row has them)."""
    out = pa.scalar(0.0)
    f = _field(groups, "f")
    if f is not None and pc.any(pc.not_equal(f, "")).as_py():
        out = pc.cast(pc.binary_join_element_wise("0.", pc.if_else(pc.equal(f, ""), "0", f), ""), pa.float64())
    k = _field(groups, "k")
    if k is not None and pc.any(pc.not_equal(k, "")).as_py():
        millis = pc.divide(pc.cast(_ints(k), pa.float64()), 1000.0)
        out = pc.if_else(pc.equal(k, ""), out, millis)
    return out  # type: ignore[return-value]


def _naive(year: pa.Array, month: pa.Array, day: pa.Array, clock: pa.Array, frac: pa.Array) -> pa.Array:
    days = _days_from_civil(year, month, day)
    seconds = pc.add(pc.multiply(days, 86400), clock)
    return pc.add(pc.cast(seconds, pa.float64()), frac)


def _apply_zone(naive: pa.Array, z: pa.Array | None, zone: Zone) -> pa.Array:
    """UTC epochs from naive epochs: explicit offsets where present, else the zone's offset."""
    hours = pc.cast(pc.floor(pc.divide(naive, 3600.0)), pa.int64())
    uniq = pc.unique(hours)
    offsets = pa.array([zone.offset(h * 3600.0) for h in uniq.to_pylist()], pa.float64())
    zone_off = pc.take(offsets, pc.index_in(hours, value_set=uniq))
    if z is not None:
        enc = pc.dictionary_encode(z)
        table = pa.array([zone_offset_text(v) if v else None for v in enc.dictionary.to_pylist()],
                         pa.float64())
        explicit = pc.take(table, enc.indices)
        zone_off = pc.coalesce(explicit, zone_off)
    return pc.subtract(naive, zone_off)

