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
    """Bucket start of epoch seconds `this` for a span; `unit` s or d/mon; `tz` for days."""

    arg_types = {"this": True, "seconds": True, "unit": True, "tz": False}


class RegexMatch(exp.Expression, exp.Func):
    """RE2 partial match of `expression` (a pattern) in `this`."""

    arg_types = {"this": True, "expression": True}


class RegexExtract(exp.Expression, exp.Func):
    """Capturing group number `group` of the first RE2 match of `expression` in `this`, NULL if none."""

    arg_types = {"this": True, "expression": True, "group": True}


class RegexReplace(exp.Expression, exp.Func):
    """Replace every RE2 match of `expression` in `this` by `replacement`."""

    arg_types = {"this": True, "expression": True, "replacement": True}


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


@lru_cache(maxsize=64)
def fixed_offset(tz: str) -> int | None:
    """Seconds east of UTC of a zone that kept one offset from 1970 to 2100 (UTC, Etc/GMT-3,
    Asia/Kolkata), sampled twice a month; None for a zone with daylight saving time or a
    change of offset, or an unknown name. Day buckets in such a zone are arithmetic on `_time`
    instead of two time zone conversions per event (a month of 51 million events: 7 s)."""
    import datetime as dt
    from zoneinfo import ZoneInfo

    try:
        zone = ZoneInfo(tz)
    except Exception:   # noqa: BLE001 - an unknown or malformed name: the general path says so
        return None
    seen = None
    for year in range(1970, 2101):
        for month in range(1, 13):
            for day in (1, 15):
                off = dt.datetime(year, month, day, tzinfo=zone).utcoffset()
                if seen is None:
                    seen = off
                elif off != seen:
                    return None
    return int(seen.total_seconds()) if seen is not None else None


def _duck_bucket(node: TimeBucket) -> exp.Expression:
    seconds = int(_lit(node.args["seconds"]))
    unit = _lit(node.args["unit"])
    t = node.this
    if unit == "s":
        span = exp.Literal.number(seconds)
        return exp.Mul(this=exp.Floor(this=exp.Div(this=exp.paren(t.copy()), expression=span)), expression=span.copy())
    tz = node.args["tz"]
    off = fixed_offset(tz.this) if unit == "d" and isinstance(tz, exp.Literal) else None
    if off is not None:   # days in a zone of one offset: arithmetic, as time_bucket would (origin 2000-01-03)
        period = seconds * 86400
        local = exp.Sub(this=exp.Add(this=exp.paren(t.copy()), expression=exp.Literal.number(off)),
                        expression=exp.Literal.number(_DAY_ORIGIN))
        start = exp.Mul(this=exp.Floor(this=exp.Div(this=exp.paren(local), expression=exp.Literal.number(period))),
                        expression=exp.Literal.number(period))
        return exp.Cast(this=exp.Add(this=start, expression=exp.Literal.number(_DAY_ORIGIN - off)),
                        to=exp.DataType.build("DOUBLE"))
    interval = exp.Interval(this=exp.Literal.string(str(seconds)), unit=exp.var("DAY" if unit == "d" else "MONTH"))
    local = exp.Anonymous(this="time_bucket", expressions=[interval, _duck_local_ts(t.copy(), tz.copy())])
    back = exp.Anonymous(this="timezone", expressions=[tz.copy(), local])
    return exp.Cast(this=exp.Anonymous(this="epoch", expressions=[back]), to=exp.DataType.build("DOUBLE"))


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


class PcreReplace(exp.Expression, exp.Func):
    """Every match of a pattern RE2 cannot run in `this` replaced by `replacement` (`\\1`: a
    group), as eval replace(). DuckDB: `speleo_pcre_replace` (query/udf.py)."""

    arg_types = {"this": True, "expression": True, "replacement": True}


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
    return exp.Anonymous(this="speleo_pcre_replace", expressions=[node.this.copy(), node.expression.copy(),
                                                                  node.args["replacement"].copy()])


def _duck_pcre_extract(node: PcreExtract) -> exp.Expression:
    return exp.Anonymous(this="speleo_pcre_extract", expressions=[node.this.copy(), node.expression.copy(),
                                                                  node.args["group"].copy()])


def _duck_pcre_match(node: PcreMatch) -> exp.Expression:
    return exp.Anonymous(this="speleo_pcre_match", expressions=[node.this.copy(), node.expression.copy()])


def _duck_regex_match(node: RegexMatch) -> exp.Expression:
    return exp.Anonymous(this="regexp_matches", expressions=[node.this.copy(), node.expression.copy()])


def _duck_regex_extract(node: RegexExtract) -> exp.Expression:
    raw = exp.Anonymous(this="regexp_extract", expressions=[node.this.copy(), node.expression.copy(), node.args["group"].copy()])
    return exp.Nullif(this=raw, expression=exp.Literal.string(""))


def _duck_regex_replace(node: RegexReplace) -> exp.Expression:
    return exp.Anonymous(this="regexp_replace", expressions=[
        node.this.copy(), node.expression.copy(), node.args["replacement"].copy(), exp.Literal.string("g")])


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
        ValuesAgg: _duck_values,
        ListAgg: _duck_list,
        ExactPercentile: _duck_percentile,
        StrfTime: _duck_strftime,
        RegexMatch: _duck_regex_match,
        PcreMatch: _duck_pcre_match,
        PcreExtract: _duck_pcre_extract,
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
