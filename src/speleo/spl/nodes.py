"""Speleo's own sqlglot expression nodes and their per-dialect rendering.

Operations whose meaning differs between engines are nodes of their own (see
PRODUCT.md "Architecture direction"); `render(tree, dialect)` lowers them to plain
sqlglot expressions through the LOWERINGS table, then generates SQL. Adding an
engine means adding one table of lowering functions.
"""

from __future__ import annotations

import re
from functools import lru_cache
from collections.abc import Callable

from sqlglot import exp

_ALNUM = "0-9a-z"


class TermMatch(exp.Expression, exp.Func):
    """A search term over text: whole-token, case-insensitive; `*` is a wildcard.

    Splunk Search Reference: search ("Search terms"). `this` is the text, `expression`
    the term (a string literal), `quoted` TRUE for a phrase.
    """

    arg_types = {"this": True, "expression": True}


class TimeBucket(exp.Expression, exp.Func):
    """Bucket start of epoch seconds `this` for a span; `unit` s or d/mon; `tz` for days;
    `near` an optional (earliest, latest) tuple of the search's range (NULL: open), where day
    buckets in a zone with daylight saving time are computed by arithmetic (`_day_tree`) and
    month buckets by a tree over their starts (`_month_tree`, a closed range only)."""

    arg_types = {"this": True, "seconds": True, "unit": True, "tz": False, "near": False}


class NumText(exp.Expression, exp.Func):
    """`this` as text, a whole double without its ".0" (12.0 -> "12", 2.5 -> "2.5"): Splunk
    prints the numbers eval and stats compute that way (`"a".tonumber("12")` is "a12", and
    `values()` of 5.0 is "5", `eval x=2.5` is "2.5"). Any other type (text, integers, lists)
    is cast as it is. DuckDB: a CASE on typeof(), which DuckDB
    folds when it binds, so text stays a plain cast; ClickHouse: toString, which already prints
    whole floats that way."""

    arg_types = {"this": True}


class RegexMatch(exp.Expression, exp.Func):
    """RE2 partial match of `expression` (a pattern) in `this`. With `pcre` (the computed
    pattern as written), DuckDB runs a value whose pattern uses what RE2 cannot (`PCRE_HINT`)
    in the `regex` package instead (`speleo_pcre_match`); ClickHouse ignores it (RE2 refuses
    such a pattern, as before)."""

    arg_types = {"this": True, "expression": True, "pcre": False}


class RegexExtract(exp.Expression, exp.Func):
    """Capturing group number `group` of the first RE2 match of `expression` in `this`, NULL if none."""

    arg_types = {"this": True, "expression": True, "group": True}


class RegexReplace(exp.Expression, exp.Func):
    """Replace every RE2 match of `expression` in `this` by `replacement`. `pcre`: as
    RegexMatch's (DuckDB: `speleo_pcre_replace_spl`, the replacement in Splunk's syntax)."""

    arg_types = {"this": True, "expression": True, "replacement": True, "pcre": False}


# What a computed pattern's text holds when RE2 cannot run it (functions.pcre_feature, as a
# regular expression over the pattern): back-references, look-around, atomic groups,
# conditionals, branch resets, recursion, possessive quantifiers. A pattern it flags that RE2
# could run (an escaped backslash before a digit) means the same in the `regex` package.
PCRE_HINT = r"\\[1-9gk]|\(\?([=!>(|R&]|<[=!]|P[=>]|[+-]?[0-9])|[*+?}]\+"


class ValuesAgg(exp.Expression, exp.AggFunc):
    """Splunk values(): the sorted distinct non-null values as a list."""

    arg_types = {"this": True}


class ListAgg(exp.Expression, exp.AggFunc):
    """Splunk list(): the non-null values in input order as a list."""

    arg_types = {"this": True, "order": False}


class ExactPercentile(exp.Expression, exp.AggFunc):
    """Interpolated percentile `quantile` (0..1) of the numeric values of `this`."""

    arg_types = {"this": True, "quantile": True}


class StrfTime(exp.Expression, exp.Func):
    """Format epoch seconds `this` with strftime `format` in time zone `tz`."""

    arg_types = {"this": True, "format": True, "tz": True}


def escape_like(text: str) -> str:
    """Escape LIKE metacharacters with backslash (used with ESCAPE '\\')."""
    return re.sub(r"([\\%_])", r"\\\1", text)


def re_escape(text: str) -> str:
    """Escape RE2 metacharacters (only punctuation, never letters or blanks)."""
    return re.sub(r"([\\.^$|?*+()\[\]{}/-])", r"\\\1", text)


def term_regex(term: str) -> str:
    """The exact-check regex of a term: wildcard `*`, bounded by non-alphanumerics."""
    body = ".*".join(re_escape(part) for part in term.lower().split("*"))
    left = "" if term.startswith("*") or not term[:1].isalnum() else f"(?:^|[^{_ALNUM}])"
    right = "" if term.endswith("*") or not term[-1:].isalnum() else f"(?:[^{_ALNUM}]|$)"
    return f"(?i){left}{body}{right}"


def _lit(e: exp.Expression) -> str:
    assert isinstance(e, exp.Literal)
    return e.this


def _duck_term(node: TermMatch) -> exp.Expression:
    term = _lit(node.expression)
    pieces = [p for p in term.split("*") if p]
    if not pieces:
        return exp.true()
    text = node.this
    like = "%" + "%".join(escape_like(p) for p in pieces) + "%"
    prefilter = exp.Escape(this=exp.ILike(this=text.copy(), expression=exp.Literal.string(like)),
                           expression=exp.Literal.string("\\"))
    exact = exp.Anonymous(this="regexp_matches", expressions=[text.copy(), exp.Literal.string(term_regex(term))])
    return exp.and_(prefilter, exact)


def _duck_local_ts(epoch: exp.Expression, tz: exp.Expression) -> exp.Expression:
    return exp.Anonymous(this="timezone", expressions=[tz, exp.Anonymous(this="to_timestamp", expressions=[epoch])])


_DAY_ORIGIN = 946_857_600   # 2000-01-03 00:00:00: DuckDB time_bucket's origin for days


_UTC_NAMES = frozenset({"UTC", "Etc/UTC", "GMT", "Etc/GMT", "Z", "Zulu", "Universal", "Etc/Universal"})
_ZONE_SPAN = (0, 4_102_444_800)   # 1970-01-01 .. 2100-01-01 UTC: where zone offsets are tabled


@lru_cache(maxsize=64)
def zone_offsets(tz: str) -> tuple[int, tuple[tuple[int, int], ...]] | None:
    """A zone's UTC offsets from 1970 to 2100 as DuckDB's ICU time zone data has them:
    `(offset at 1970, ((transition epoch second, offset from then), ...))`, offsets in seconds
    east of UTC; None for a name DuckDB does not know. Read from DuckDB itself (not Python's
    zoneinfo, whose tz database version differs, e.g. Morocco after 2030), so arithmetic on these
    tables gives what `timezone()` gives. Found by sampling every 2 hours, then each changed
    window by minutes and by seconds (about 0.1 s a zone, once per process); two changes within
    six hours that cancel out are not seen (none in the tz database since 1970)."""
    if tz in _UTC_NAMES:
        return 0, ()
    import duckdb

    con = duckdb.connect()
    try:
        off = "epoch(timezone($tz, to_timestamp(t)))::BIGINT - t"
        con.execute(f"SELECT {off} FROM (SELECT 0::BIGINT AS t)", {"tz": tz})
    except duckdb.Error:
        return None

    def changes(starts: list[int], width: int, step: int) -> list[int]:
        """Each window [a, a + width) of `starts`: the first sample of `step` seconds at which
        the offset differs from the one at a (a window's samples start at a)."""
        rows = con.execute(
            f"WITH s AS (SELECT a, a + i * $step AS t FROM unnest($starts::BIGINT[]) u(a), "
            f"range(0, $n + 1) r(i)), o AS (SELECT a, t, {off} AS off FROM s), "
            "f AS (SELECT a, t, off, lag(off) OVER (PARTITION BY a ORDER BY t) AS p FROM o) "
            "SELECT t FROM f WHERE p IS NOT NULL AND off <> p ORDER BY t",
            {"starts": starts, "step": step, "n": width // step, "tz": tz}).fetchall()
        return [r[0] for r in rows]

    lo, hi = _ZONE_SPAN
    coarse = 6 * 3600
    windows = list(range(lo, hi, coarse * 500))
    found = changes(windows, coarse * 500, coarse)          # 6-hour samples: a change in (t - 6h, t]
    found = changes([t - coarse for t in found], coarse, 60)  # then minutes
    found = changes([t - 60 for t in found], 60, 1)           # then seconds
    rows = con.execute(f"SELECT t, {off} FROM unnest($ts::BIGINT[]) u(t) ORDER BY t",
                       {"ts": [lo, *found], "tz": tz}).fetchall()
    con.close()
    return int(rows[0][1]), tuple((int(t), int(o)) for t, o in rows[1:])


def fixed_offset(tz: str) -> int | None:
    """Seconds east of UTC of a zone that kept one offset from 1970 to 2100 (UTC, Etc/GMT-3,
    Asia/Kolkata); None for a zone with daylight saving time or a change of offset, or an
    unknown name (zone_offsets)."""
    table = zone_offsets(tz)
    return table[0] if table is not None and not table[1] else None


def _day_tree(t: exp.Expression, tz: str, period: int,
              near: tuple[float | None, float | None]) -> tuple[exp.Expression, exp.Expression] | None:
    """Start (epoch seconds) of the `period`-second bucket of local days holding `t`, in a zone
    with transitions, by arithmetic: a binary tree of CASEs on `t` over the zone's transitions
    picks the offset, and in each leaf a short CASE picks the offset in force at the bucket's
    local midnight (a wall time a transition skipped takes the offset before it, one it repeated
    the offset after it: ICU's default, UCAL_WALLTIME_LAST, as `timezone()` does). Only the
    transitions near the search's range `near` (earliest, latest; None: 1970 / 2100) are in the
    tree. Returns (condition, start): the caller keeps times where the condition is not true on
    the general path. Equal to DuckDB's `time_bucket` over `timezone()`
    (tests/spl/test_compile.py), at about a tenth of its cost. None when the zone is unknown."""
    table = zone_offsets(tz)
    if table is None:
        return None
    first, trans = table
    points = [p for p, _ in trans]
    offsets = [first] + [o for _, o in trans]
    local_points = [p + o for p, o in trans]   # the offset after transition j holds from local wall time p + o on
    lo = max(_ZONE_SPAN[0], int(near[0]) - 2 * 86400 if near[0] is not None else _ZONE_SPAN[0])
    hi = min(_ZONE_SPAN[1], int(near[1]) + 2 * 86400 if near[1] is not None else _ZONE_SPAN[1])
    if lo >= hi:
        return None
    import bisect

    i0, i1 = bisect.bisect_right(points, lo), bisect.bisect_right(points, hi)   # leaves i0..i1: offsets[i]

    def num(v: float) -> exp.Expression:
        return exp.Literal.number(v) if v >= 0 else exp.Neg(this=exp.Literal.number(-v))

    def leaf(i: int) -> exp.Expression:
        o = offsets[i]

        def start() -> exp.Expression:
            local = exp.Sub(this=exp.Add(this=exp.paren(t.copy()), expression=num(o)), expression=num(_DAY_ORIGIN))
            return exp.Add(this=exp.Mul(this=exp.Floor(this=exp.Div(this=exp.paren(local), expression=num(period))),
                                        expression=num(period)), expression=num(_DAY_ORIGIN))
        # the local midnight lies in (t + o - period, t + o]: the local breakpoints around it
        low = (local_points[i - 1] if i > 0 else _ZONE_SPAN[0]) - period - 2 * 86400
        high = local_points[i] + 2 * 86400 if i < len(local_points) else _ZONE_SPAN[1] + 86400
        near_points = [j for j in range(len(local_points)) if low <= local_points[j] <= high]
        if not near_points:
            return exp.Sub(this=start(), expression=num(o))
        # start >= a local point L  <=>  t + o >= the first bucket start at or after L: a test on t,
        # so the bucket start is computed once
        def at_or_after(point: int) -> int:
            return _DAY_ORIGIN + -((_DAY_ORIGIN - point) // period) * period - o
        back = exp.Case(ifs=[exp.If(this=exp.GTE(this=exp.paren(t.copy()), expression=num(at_or_after(local_points[j]))),
                                    true=num(offsets[j + 1])) for j in reversed(near_points)],
                        default=num(offsets[near_points[0]]))
        return exp.Sub(this=start(), expression=exp.paren(back))

    def tree(a: int, b: int) -> exp.Expression:
        if a == b:
            return leaf(a)
        mid = (a + b + 1) // 2   # leaves a..mid-1 before transition mid-1, mid..b from it
        return exp.Case(ifs=[exp.If(this=exp.LT(this=exp.paren(t.copy()), expression=num(points[mid - 1])),
                                    true=tree(a, mid - 1))], default=tree(mid, b))

    inside = exp.and_(exp.GTE(this=exp.paren(t.copy()), expression=num(lo)),
                      exp.LT(this=exp.paren(t.copy()), expression=num(hi)))
    recent = max(i0, i1 - 7)   # logs are mostly recent: the last leaves (about 4 years) first, a shallower tree
    if recent == i0:
        return inside, tree(i0, i1)
    return inside, exp.Case(ifs=[exp.If(this=exp.GTE(this=exp.paren(t.copy()), expression=num(points[recent - 1])),
                                        true=tree(recent, i1))], default=tree(i0, recent - 1))


MONTH_TREE_MAX = 1200   # month buckets in a search's range computed by a CASE tree at most (100 years of 1 month)


@lru_cache(maxsize=256)
def month_starts(tz: str, months: int, lo: int, hi: int) -> tuple[int, ...] | None:
    """The starts (epoch seconds) of the `months`-month buckets in zone `tz` from the one holding
    `lo` to the first one after `hi`, as DuckDB's `time_bucket` over `timezone()` computes them
    (local midnight on the first of a month, months counted from 2000-01, ICU's rule for a
    midnight a transition skips or repeats): read from DuckDB itself, so a tree over them gives
    what the general path gives. None for an unknown zone or more than MONTH_TREE_MAX buckets."""
    import duckdb

    if hi < lo or (hi - lo) / (months * 28 * 86400) > MONTH_TREE_MAX:
        return None
    con = duckdb.connect()
    try:
        rows = con.execute(
            "SELECT epoch(timezone($tz, b))::BIGINT FROM generate_series("
            "time_bucket(to_months($n), timezone($tz, to_timestamp($lo))), "
            "timezone($tz, to_timestamp($hi)) + to_months($n), to_months($n)) g(b) ORDER BY b",
            {"tz": tz, "n": months, "lo": lo, "hi": hi}).fetchall()
    except duckdb.Error:
        return None
    finally:
        con.close()
    starts = tuple(int(r[0]) for r in rows)
    return starts if len(starts) >= 2 else None


def _month_tree(t: exp.Expression, tz: str, months: int,
                near: tuple[float | None, float | None]) -> tuple[exp.Expression, exp.Expression] | None:
    """(condition, start) of the `months`-month bucket holding `t` in a zone, for times within
    the search's range `near` (an open earliest: from 1970): a binary tree of CASEs over the
    bucket starts (`month_starts`; the last two years first), so no event's time is converted to
    a local timestamp. None when the latest is open or the range too long (the caller keeps the
    general path)."""
    if near[1] is None or not all(abs(v) < 9e12 for v in near if v is not None):
        return None
    lo = int(near[0]) - 86400 if near[0] is not None else _ZONE_SPAN[0]   # all time: from 1970 (before: ICU)
    hi = int(near[1]) + 86400
    starts = month_starts(tz, months, max(lo, -2_208_988_800), min(hi, 32_503_680_000))
    if starts is None:
        return None

    def num(v: int) -> exp.Expression:
        return exp.Literal.number(v) if v >= 0 else exp.Neg(this=exp.Literal.number(-v))

    def tree(a: int, b: int) -> exp.Expression:   # t in [starts[a], starts[b + 1])
        if a == b:
            return num(starts[a])
        mid = (a + b + 1) // 2
        return exp.Case(ifs=[exp.If(this=exp.LT(this=exp.paren(t.copy()), expression=num(starts[mid])),
                                    true=tree(a, mid - 1))], default=tree(mid, b))

    inside = exp.and_(exp.GTE(this=exp.paren(t.copy()), expression=num(starts[0])),
                      exp.LT(this=exp.paren(t.copy()), expression=num(starts[-1])))
    last = len(starts) - 2
    recent = max(0, last - 24)   # logs are mostly recent: the last two years of buckets first, a shallower tree
    if recent == 0:
        return inside, tree(0, last)
    return inside, exp.Case(ifs=[exp.If(this=exp.GTE(this=exp.paren(t.copy()), expression=num(starts[recent])),
                                        true=tree(recent, last))], default=tree(0, recent - 1))


def _duck_bucket(node: TimeBucket) -> exp.Expression:
    seconds = int(_lit(node.args["seconds"]))
    unit = _lit(node.args["unit"])
    t = node.this
    if unit == "s":
        span = exp.Literal.number(seconds)
        return exp.Mul(this=exp.Floor(this=exp.Div(this=exp.paren(t.copy()), expression=span)), expression=span.copy())
    tz = node.args["tz"]
    off = fixed_offset(tz.this) if unit == "d" and isinstance(tz, exp.Literal) else None
    interval = exp.Interval(this=exp.Literal.string(str(seconds)), unit=exp.var("DAY" if unit == "d" else "MONTH"))
    local = exp.Anonymous(this="time_bucket", expressions=[interval, _duck_local_ts(t.copy(), tz.copy())])
    back = exp.Anonymous(this="timezone", expressions=[tz.copy(), local])
    general = exp.Cast(this=exp.Anonymous(this="epoch", expressions=[back]), to=exp.DataType.build("DOUBLE"))
    if off is not None:   # days in a zone of one offset: arithmetic, as time_bucket would (origin 2000-01-03)
        period = seconds * 86400
        local = exp.Sub(this=exp.Add(this=exp.paren(t.copy()), expression=exp.Literal.number(off)),
                        expression=exp.Literal.number(_DAY_ORIGIN))
        start = exp.Mul(this=exp.Floor(this=exp.Div(this=exp.paren(local), expression=exp.Literal.number(period))),
                        expression=exp.Literal.number(period))
        fixed = exp.Cast(this=exp.Add(this=start, expression=exp.Literal.number(_DAY_ORIGIN - off)),
                         to=exp.DataType.build("DOUBLE"))
        if off == 0 and tz.this in _UTC_NAMES:
            return fixed   # one offset at every time
        inside = exp.and_(exp.GTE(this=exp.paren(t.copy()), expression=exp.Literal.number(_ZONE_SPAN[0])),
                          exp.LT(this=exp.paren(t.copy()), expression=exp.Literal.number(_ZONE_SPAN[1])))
        # before 1970 the zone's history (ICU); a time no timestamp holds (NaN, inf, 1e15) stays
        # arithmetic rather than failing the search in to_timestamp
        return exp.Case(ifs=[exp.If(this=inside, true=fixed), exp.If(this=_timestamp_range(t), true=general)],
                        default=fixed.copy())
    if unit == "d" and isinstance(tz, exp.Literal) and not isinstance(t, exp.Literal):
        bounds = _near_bounds(node)
        fast = _day_tree(t, tz.this, seconds * 86400, bounds)
        if fast is not None:   # a zone with daylight saving time: arithmetic where the tree covers, else ICU
            inside, start = fast
            plain = exp.Mul(this=exp.Floor(this=exp.Div(this=exp.paren(t.copy()), expression=exp.Literal.number(
                seconds * 86400))), expression=exp.Literal.number(seconds * 86400))   # NaN, inf: no date, no failure
            return exp.Case(ifs=[exp.If(this=inside, true=exp.Cast(this=start, to=exp.DataType.build("DOUBLE"))),
                                 exp.If(this=_timestamp_range(t), true=general)],
                            default=exp.Cast(this=plain, to=exp.DataType.build("DOUBLE")))
    if unit == "mon" and isinstance(tz, exp.Literal) and not isinstance(t, exp.Literal):
        bounds = _near_bounds(node)
        fast = _month_tree(t, tz.this, seconds, bounds)
        if fast is not None:   # months in the search's range: a tree over their starts, else ICU
            inside, start = fast
            return exp.Case(ifs=[exp.If(this=inside, true=exp.Cast(this=start, to=exp.DataType.build("DOUBLE"))),
                                 exp.If(this=_timestamp_range(t), true=general)],
                            default=exp.null())
    return general


def _near_bounds(node: TimeBucket) -> tuple[float | None, float | None]:
    """TimeBucket's `near` as numbers (None: open, or not a number literal)."""
    near = node.args.get("near")
    if not isinstance(near, exp.Tuple):
        return None, None

    def value(v: exp.Expression) -> float | None:
        if isinstance(v, exp.Neg) and isinstance(v.this, exp.Literal) and not v.this.is_string:
            return -float(v.this.this)
        if isinstance(v, exp.Literal) and not v.is_string:
            return float(v.this)
        return None

    return tuple(value(v) for v in near.expressions[:2]) if len(near.expressions) == 2 else (None, None)


def _timestamp_range(t: exp.Expression) -> exp.Expression:
    """Whether epoch seconds `t` are a time DuckDB's timestamps hold (finite, within about
    +-285,000 years): to_timestamp fails the whole search on anything else."""
    return exp.and_(exp.Anonymous(this="isfinite", expressions=[exp.Cast(this=t.copy(), to=exp.DataType.build("DOUBLE"))]),
                    exp.LT(this=exp.Abs(this=t.copy()), expression=exp.Literal.number("9e12")))


def _duck_num_text(node: NumText) -> exp.Expression:
    x = node.this
    dbl = exp.DataType.build("DOUBLE")
    varchar = exp.DataType.build("VARCHAR")

    def as_double() -> exp.Expression:
        return exp.TryCast(this=x.copy(), to=dbl.copy())
    whole = exp.and_(exp.EQ(this=as_double(), expression=exp.Anonymous(this="trunc", expressions=[as_double()])),
                     exp.LT(this=exp.Abs(this=as_double()), expression=exp.Literal.number("1e15")))
    plain = exp.Cast(this=x.copy(), to=varchar.copy())
    short = exp.Cast(this=exp.Cast(this=as_double(), to=exp.DataType.build("BIGINT")), to=varchar.copy())
    kind = exp.Anonymous(this="typeof", expressions=[x.copy()])
    is_float = exp.or_(exp.In(this=kind, expressions=[exp.Literal.string("DOUBLE"), exp.Literal.string("FLOAT")]),
                       exp.Like(this=kind.copy(), expression=exp.Literal.string("DECIMAL%")))
    return exp.Case(ifs=[exp.If(this=is_float, true=exp.Case(ifs=[exp.If(this=whole, true=short)],
                                                                default=plain.copy()))], default=plain)


def _duck_values(node: ValuesAgg) -> exp.Expression:
    agg = exp.Anonymous(this="list", expressions=[node.this.copy()])
    return exp.Anonymous(this="list_sort", expressions=[exp.Anonymous(this="list_distinct", expressions=[agg])])


def _duck_list(node: ListAgg) -> exp.Expression:
    arg = node.this.copy()
    if node.args.get("order") is not None:
        arg = exp.Order(this=arg, expressions=[exp.Ordered(this=node.args["order"].copy())])
    return exp.Filter(this=exp.Anonymous(this="list", expressions=[arg]),
                      expression=exp.Where(this=exp.Not(this=exp.Is(this=node.this.copy(), expression=exp.null()))))


def _duck_percentile(node: ExactPercentile) -> exp.Expression:
    return exp.Anonymous(this="quantile_cont", expressions=[node.this.copy(), node.args["quantile"].copy()])


def _duck_strftime(node: StrfTime) -> exp.Expression:
    """A literal format is translated variable by variable (spl/timelower.py); a computed one
    goes to DuckDB's strftime as it is."""
    local = _duck_local_ts(node.this.copy(), node.args["tz"].copy())
    fmt, tz = node.args["format"], node.args["tz"]
    if isinstance(fmt, exp.Literal) and fmt.is_string and isinstance(tz, exp.Literal):
        from speleo.spl.timelower import strftime_sql

        return strftime_sql(node.this.copy(), fmt.this, tz.this, local)
    return exp.Anonymous(this="strftime", expressions=[local, fmt.copy()])


class PcreMatch(exp.Expression, exp.Func):
    """A match of a pattern RE2 cannot run (look-around, back-references...): `this` the text,
    `expression` the pattern (a string literal). DuckDB: the Python function
    `speleo_pcre_match` (query/udf.py); ClickHouse: none (the search runs on DuckDB)."""

    arg_types = {"this": True, "expression": True}


class PcreExtract(exp.Expression, exp.Func):
    """Capturing group number `group` of the first match of a pattern RE2 cannot run, NULL when
    there is none or it is empty (as RegexExtract). DuckDB: `speleo_pcre_extract` (query/udf.py)."""

    arg_types = {"this": True, "expression": True, "group": True}


class PcreExtractAll(exp.Expression, exp.Func):
    """Group `group` (a name) of every match of a pattern RE2 cannot run, as a list ("" for a
    match where the group took no part, as regexp_extract_all gives). DuckDB:
    `speleo_pcre_extract_all` (query/udf.py); ClickHouse: none (the search runs on DuckDB)."""

    arg_types = {"this": True, "expression": True, "group": True}


class PcreReplace(exp.Expression, exp.Func):
    """Every match of a pattern RE2 cannot run in `this` replaced by `replacement` (`\\1`: a
    group), as eval replace(); with `occurrence` (a number literal) and `every` (a boolean), as
    rex mode=sed's flags: the occurrence-th match, and every later one when `every`. DuckDB:
    `speleo_pcre_replace` / `speleo_pcre_sed` (query/udf.py)."""

    arg_types = {"this": True, "expression": True, "replacement": True, "occurrence": False, "every": False}


class GeoLookup(exp.Expression, exp.Func):
    """One `iplocation` field of an address: `this` the address as text, `field` and `lang`
    string literals. DuckDB: the Python function `speleo_geoip` (query/udf.py, query/geoip.py);
    ClickHouse: none (the search runs on DuckDB)."""

    arg_types = {"this": True, "field": True, "lang": True}


class XPathValues(exp.Expression, exp.Func):
    """The values an XPath selects in `this` (a list, NULL when none): `path` a string literal.
    DuckDB: the Python function `speleo_xpath` (query/udf.py, query/xpath.py); ClickHouse: none."""

    arg_types = {"this": True, "path": True}


def _duck_xpath(node: XPathValues) -> exp.Expression:
    return exp.Anonymous(this="speleo_xpath", expressions=[node.this.copy(), node.args["path"].copy()])


def _duck_geo(node: GeoLookup) -> exp.Expression:
    return exp.Anonymous(this="speleo_geoip", expressions=[node.this.copy(), node.args["field"].copy(),
                                                           node.args["lang"].copy()])


def _duck_pcre_replace(node: PcreReplace) -> exp.Expression:
    if node.args.get("occurrence") is not None:
        return exp.Anonymous(this="speleo_pcre_sed", expressions=[
            node.this.copy(), node.expression.copy(), node.args["replacement"].copy(),
            node.args["occurrence"].copy(), node.args["every"].copy()])
    return exp.Anonymous(this="speleo_pcre_replace", expressions=[node.this.copy(), node.expression.copy(),
                                                                  node.args["replacement"].copy()])


def _duck_pcre_extract(node: PcreExtract) -> exp.Expression:
    return exp.Anonymous(this="speleo_pcre_extract", expressions=[node.this.copy(), node.expression.copy(),
                                                                  node.args["group"].copy()])


def _duck_pcre_extract_all(node: PcreExtractAll) -> exp.Expression:
    return exp.Anonymous(this="speleo_pcre_extract_all", expressions=[node.this.copy(), node.expression.copy(),
                                                                      node.args["group"].copy()])


def _duck_pcre_match(node: PcreMatch) -> exp.Expression:
    return exp.Anonymous(this="speleo_pcre_match", expressions=[node.this.copy(), node.expression.copy()])


def _pcre_case(node, pcre_call: exp.Expression, re2_call: exp.Expression) -> exp.Expression:
    if node.args.get("pcre") is None:
        return re2_call
    hint = exp.Anonymous(this="regexp_matches", expressions=[node.args["pcre"].copy(), exp.Literal.string(PCRE_HINT)])
    return exp.Case(ifs=[exp.If(this=hint, true=pcre_call)], default=re2_call)


def _duck_regex_match(node: RegexMatch) -> exp.Expression:
    re2 = exp.Anonymous(this="regexp_matches", expressions=[node.this.copy(), node.expression.copy()])
    if node.args.get("pcre") is None:
        return re2
    return _pcre_case(node, exp.Anonymous(this="speleo_pcre_match", expressions=[
        node.this.copy(), node.args["pcre"].copy()]), re2)


def _duck_regex_extract(node: RegexExtract) -> exp.Expression:
    raw = exp.Anonymous(this="regexp_extract", expressions=[node.this.copy(), node.expression.copy(), node.args["group"].copy()])
    return exp.Nullif(this=raw, expression=exp.Literal.string(""))


def _duck_regex_replace(node: RegexReplace) -> exp.Expression:
    re2 = exp.Anonymous(this="regexp_replace", expressions=[
        node.this.copy(), node.expression.copy(), node.args["replacement"].copy(), exp.Literal.string("g")])
    if node.args.get("pcre") is None:
        return re2
    return _pcre_case(node, exp.Anonymous(this="speleo_pcre_replace_spl", expressions=[
        node.this.copy(), node.args["pcre"].copy(), node.args["replacement"].copy()]), re2)


class ImpliedRaw(exp.Expression):
    """What a search-time `field=value` implies of `_raw` (`this`, a cheap text filter), used
    when `ok` (a Boolean literal: the field `name`'s extraction copies its value from `_raw`;
    `spl.commands.search.implied_raw_condition`), else TRUE. `ok` is decided again when the
    extractions are specialized to the buckets a search reads (compiler `_swap_fields`)."""

    arg_types = {"this": True, "name": True, "ok": True, "first": False}   # first: of the first search


def lower_implied(node: ImpliedRaw) -> exp.Expression:
    """ImpliedRaw in any engine: its filter when it applies, else TRUE."""
    return node.this.copy() if node.args["ok"].this else exp.true()


Lowering = Callable[[exp.Expression], exp.Expression]

LOWERINGS: dict[str, dict[type, Lowering]] = {
    "duckdb": {
        TermMatch: _duck_term,
        TimeBucket: _duck_bucket,
        NumText: _duck_num_text,
        ValuesAgg: _duck_values,
        ListAgg: _duck_list,
        ExactPercentile: _duck_percentile,
        StrfTime: _duck_strftime,
        RegexMatch: _duck_regex_match,
        PcreMatch: _duck_pcre_match,
        PcreExtract: _duck_pcre_extract,
        PcreExtractAll: _duck_pcre_extract_all,
        PcreReplace: _duck_pcre_replace,
        GeoLookup: _duck_geo,
        XPathValues: _duck_xpath,
        RegexExtract: _duck_regex_extract,
        RegexReplace: _duck_regex_replace,
        ImpliedRaw: lower_implied,   # unmarked in `lower` before this table (with its AND)
    },
}


def lower(tree: exp.Expression, dialect: str = "duckdb") -> exp.Expression:
    """Replace Speleo nodes by plain sqlglot expressions for `dialect`."""
    from speleo.spl.cse import Extracted

    table = LOWERINGS[dialect]

    def unmark(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.And) and isinstance(node.this, ImpliedRaw) and not node.this.args["ok"].this:
            rest = node.expression   # the condition as it was before its implied filter
            return (rest.this if isinstance(rest, exp.Paren) else rest).copy().transform(unmark)
        if isinstance(node, ImpliedRaw):
            return node.this.copy().transform(unmark) if node.args["ok"].this else exp.true()
        return node.this.copy().transform(unmark) if isinstance(node, Extracted) else node

    def fn(node: exp.Expression) -> exp.Expression:
        if dialect == "duckdb" and isinstance(node, exp.Window) and isinstance(node.this, ValuesAgg):
            # eventstats values(): the window holds the aggregate list(), the sorting and
            # de-duplication apply to its result (list_sort is not a window function)
            win = node.copy()
            win.set("this", exp.Anonymous(this="list", expressions=[node.this.this.copy()]))
            return exp.Anonymous(this="list_sort", expressions=[exp.Anonymous(this="list_distinct", expressions=[win])])
        rule = table.get(type(node))
        return rule(node) if rule else node

    out = tree.copy().transform(unmark, copy=False).transform(fn, copy=False)
    # a rule's output holds its node's arguments as they were: a Speleo node nested inside another
    # (match() over mvfind()'s regex) is left for another pass
    for _ in range(16):
        if not any(type(n) in table for n in out.walk()):
            break
        out = out.transform(fn, copy=False)
    return out


def render(tree: exp.Expression, dialect: str = "duckdb") -> str:
    """SQL text of a tree containing Speleo nodes."""
    return lower(tree, dialect).sql(dialect=dialect, copy=False)   # lower() made a fresh tree


from speleo.spl import chrender as _chrender  # noqa: E402,F401  registers LOWERINGS["clickhouse"]
