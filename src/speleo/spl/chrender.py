"""ClickHouse rendering of compiled searches: Speleo's nodes lowered for ClickHouse, and the few
portable sqlglot nodes whose ClickHouse meaning differs from DuckDB's rewritten.

Not a transpiler from DuckDB SQL (research ../shared/docs/specs/clickhouse.md §2.2: 15 of 47 typical
queries failed that way and 3 answered differently). The compiler's tree is lowered node by node;
only constructs listed here are rendered, and anything else raises `RenderUnsupported` naming it,
so a search never runs on ClickHouse with a meaning nobody checked (query.clickhouse then runs it
on DuckDB over the events ClickHouse selected, or refuses it naming the engine).

Meanings kept equal to DuckDB's (each a decision of docs/decisions/0032-clickhouse.md):
- a term: `hasToken(lower(text), term)` for a term of letters and digits (the `text` index on
  `lower(_raw)` answers it), else a case-insensitive LIKE pre-filter plus the same RE2 regex as
  DuckDB's (`match`);
- TRY_CAST(x AS DOUBLE) → `toFloat64OrNull(toString(x))` (CAST to Nullable raises on 'abc');
- CAST(x AS TEXT) → `toString(x)` (CAST to String raises on NULL); string length, substring and
  case in characters (`lengthUTF8`, `substringUTF8`, `upperUTF8`, `lowerUTF8`);
- exact percentiles `quantileExactInclusive` (DuckDB's `quantile_cont`; ClickHouse's `median` is
  approximate); values() `arraySort(groupUniqArray(x))`; list() `groupArray(x)`;
- query settings (query.clickhouse.SEARCH_SETTINGS) give NULL for aggregates over no rows and for
  outer-join misses, as DuckDB does.
"""

from __future__ import annotations

import contextvars
import re

from sqlglot import exp

from speleo.spl.nodes import (LOWERINGS, ExactPercentile, GeoLookup, XPathValues, ImpliedRaw, ListAgg, NumText, PcreExtract,
                              PcreExtractAll,
                              PcreMatch, PcreReplace,
                              RegexExtract,
                              RegexMatch,
                              RegexReplace,
                              StrfTime, TermMatch, TimeBucket, ValuesAgg, escape_like, lower_implied, term_regex)

DIALECT = "clickhouse"


class RenderUnsupported(Exception):
    """A construct of a compiled search without a ClickHouse rendering (`construct` names it)."""

    def __init__(self, construct: str) -> None:
        super().__init__(f"{construct} has no ClickHouse rendering")
        self.construct = construct


def _fn(name: str, *args: exp.Expression) -> exp.Anonymous:
    return exp.Anonymous(this=name, expressions=list(args))


def _lit(e: exp.Expression) -> str:
    if not isinstance(e, exp.Literal):
        raise RenderUnsupported(f"a computed argument of {type(e.parent).__name__}")
    return e.this


def _term(node: TermMatch) -> exp.Expression:
    term = _lit(node.expression)
    pieces = [p for p in term.split("*") if p]
    if not pieces:
        return exp.true()
    text = node.this
    if re.fullmatch(r"[0-9a-z]+", term.lower()):
        return _fn("hasToken", _fn("lower", text.copy()), exp.Literal.string(term.lower()))
    like = "%" + "%".join(escape_like(p.lower()) for p in pieces) + "%"
    prefilter = _fn("like", _fn("lower", text.copy()), exp.Literal.string(like))
    return exp.and_(prefilter, _fn("match", text.copy(), exp.Literal.string(term_regex(term))))


def _bucket(node: TimeBucket) -> exp.Expression:
    seconds = int(_lit(node.args["seconds"]))
    unit = _lit(node.args["unit"])
    t = node.this
    if unit == "s":
        span = exp.Literal.number(seconds)
        return exp.Mul(this=exp.Floor(this=exp.Div(this=exp.paren(t.copy()), expression=span)), expression=span.copy())
    if unit == "d" and seconds == 1:
        # local midnight of the event's day in the search's zone, as epoch seconds
        local = _fn("toDateTime", _fn("toInt64", exp.Floor(this=t.copy())), node.args["tz"].copy())
        return _fn("toFloat64", _fn("toUnixTimestamp", _fn("toStartOfDay", local)))
    raise RenderUnsupported(f"a time bucket of {seconds} {'days' if unit == 'd' else 'months'}")


def _values(node: ValuesAgg) -> exp.Expression:
    return _fn("arraySort", _fn("groupUniqArray", _fn("toString", node.this.copy())))


def _tuple_lambda(i: int) -> exp.Lambda:
    t = exp.to_identifier("__t")
    return exp.Lambda(this=_fn("tupleElement", t.copy(), exp.Literal.number(i)), expressions=[t])


def _list(node: ListAgg) -> exp.Expression:
    """list(): the non-null values in the stream's order. ClickHouse aggregates in any order
    (several threads), so with a stream ordinal the pairs (ordinal, value) are gathered and
    sorted: `arrayMap(t -> t.2, arraySort(t -> t.1, groupArrayIf((ord, x), x IS NOT NULL)))`."""
    order = node.args.get("order")
    if order is None:
        return _fn("groupArray", node.this.copy())
    pairs = _fn("groupArrayIf", exp.Tuple(expressions=[order.copy(), node.this.copy()]),
                exp.Not(this=exp.Is(this=node.this.copy(), expression=exp.Null())))
    return _fn("arrayMap", _tuple_lambda(2), _fn("arraySort", _tuple_lambda(1), pairs))


_AGGREGATES = {"groupuniqarray", "grouparray", "grouparrayif"}


def _window_inside(node: exp.Window) -> exp.Expression:
    """`arraySort(groupUniqArray(x)) OVER w` (values() or list() in eventstats/streamstats) is not
    ClickHouse: the window goes on the aggregate inside, `arraySort(groupUniqArray(x) OVER w)`."""
    outer = node.this
    if not (isinstance(outer, exp.Anonymous) and outer.name.lower() in ("arraysort", "arraymap")):
        return node
    new = outer.copy()
    cur = new
    while isinstance(cur, exp.Anonymous) and cur.name.lower() not in _AGGREGATES:
        args = [a for a in cur.expressions if not isinstance(a, exp.Lambda)]
        if not args:
            return node
        cur = args[-1]
    if not (isinstance(cur, exp.Anonymous) and cur.name.lower() in _AGGREGATES):
        return node
    win = node.copy()
    win.set("this", cur.copy())
    cur.replace(win)
    return new


def _round(x: exp.Expression, decimals: exp.Expression | None) -> exp.Expression:
    """DuckDB's round(): halves away from zero, `round(v * 10^d) / 10^d` in floating point, the
    value itself when that overflows. ClickHouse's round() rounds halves to even on floats
    (round(2.5) = 2; DuckDB and Splunk's eval give 3)."""
    p = _fn("pow", exp.Literal.number(10), decimals.copy()) if decimals is not None else exp.Literal.number(1)
    y = exp.Mul(this=_fn("toFloat64", x.copy()), expression=p.copy())
    whole = _fn("trunc", y.copy())
    # trunc(y) + sign(y) * (|y - trunc(y)| >= 0.5): no `+ 0.5` (0.49999999999999994 + 0.5 is 1.0)
    rounded = exp.Div(this=exp.paren(exp.Add(this=whole, expression=exp.Mul(
        this=_fn("sign", y.copy()),
        expression=_fn("toFloat64", exp.GTE(this=_fn("abs", exp.Sub(this=y.copy(), expression=whole.copy())),
                                              expression=exp.Literal.number(0.5)))))),
        expression=p.copy())
    return exp.If(this=_fn("isFinite", y.copy()), true=rounded, false=_fn("toFloat64", x.copy()))


def _percentile(node: ExactPercentile) -> exp.Expression:
    q = node.args["quantile"]
    _lit(q)
    return exp.ParameterizedAgg(this="quantileExactInclusive", expressions=[q.copy()], params=[node.this.copy()])


# strftime variables (as spl/timefmt.py hands them to DuckDB) -> ClickHouse formatDateTime's
# (ClickHouse docs, formatDateTime: %i is the minute, %W the weekday name, %M the month name
# with formatdatetime_parsedatetime_m_is_month_name = 1, set in the search settings)
_CH_DATE_CODES = {"a": "%a", "A": "%W", "b": "%b", "B": "%M", "d": "%d", "H": "%H", "I": "%I", "j": "%j",
                  "m": "%m", "M": "%i", "p": "%p", "S": "%S", "y": "%y", "Y": "%Y", "u": "%u", "w": "%w",
                  "G": "%G", "V": "%V", "f": "%f", "%": "%%"}
_CH_ZONE = re.compile(r"UTC|[A-Za-z][A-Za-z0-9_+\-]*(?:/[A-Za-z0-9_+\-]+){0,2}")


def _strftime(node: StrfTime) -> exp.Expression:
    """strftime(epoch, literal format) in the search's zone: the same pieces as DuckDB's
    rendering (spl/timefmt.strftime_pieces), each as ClickHouse computes it. A computed format,
    a zone given as an offset, and week numbers (%U, %W) have no rendering."""
    from speleo.spl.timefmt import strftime_pieces, zone_abbreviations

    fmt, tz = node.args["format"], node.args["tz"]
    if not (isinstance(fmt, exp.Literal) and fmt.is_string and isinstance(tz, exp.Literal)):
        raise RenderUnsupported("strftime with a computed format")
    zone = tz.this
    if not _CH_ZONE.fullmatch(zone):
        raise RenderUnsupported(f"strftime in the time zone {zone!r}")
    epoch = node.this
    local = _fn("toDateTime64", epoch.copy(), exp.Literal.number(6), exp.Literal.string(zone))

    def num_text(e: exp.Expression) -> exp.Expression:
        return _fn("toString", e)

    parts: list[exp.Expression] = []
    for kind, value in strftime_pieces(fmt.this):
        if kind == "duck":
            out, i = [], 0
            while i < len(value):
                ch = value[i]
                if ch != "%":
                    out.append(ch)
                    i += 1
                    continue
                code = value[i + 1] if i + 1 < len(value) else ""
                if code not in _CH_DATE_CODES:
                    raise RenderUnsupported(f"the time format variable %{code}")
                out.append(_CH_DATE_CODES[code])
                i += 2
            parts.append(_fn("formatDateTime", local.copy(), exp.Literal.string("".join(out))))
        elif kind == "pad":
            inner = {"%-d": _fn("toDayOfMonth", local.copy()), "%-H": _fn("toHour", local.copy()),
                     "%-I": exp.Add(this=exp.Mod(this=exp.paren(exp.Add(this=_fn("toHour", local.copy()),
                                                                         expression=exp.Literal.number(11))),
                                                 expression=exp.Literal.number(12)),
                                    expression=exp.Literal.number(1))}.get(value)
            if inner is None:
                raise RenderUnsupported(f"the time format piece {value}")
            parts.append(_fn("leftPad", num_text(inner), exp.Literal.number(2), exp.Literal.string(" ")))
        elif kind == "subsec":
            digits = int(value)
            whole = exp.Floor(this=epoch.copy())
            us = _fn("min2", _fn("toInt64", _round(exp.Mul(this=exp.paren(exp.Sub(this=epoch.copy(), expression=whole)),
                                                            expression=exp.Literal.number(1_000_000)), None)),
                     exp.Literal.number(999_999))
            scaled = {3: _fn("intDiv", us, exp.Literal.number(1000)), 6: us,
                      9: exp.Mul(this=us, expression=exp.Literal.number(1000))}[digits]
            parts.append(_fn("leftPad", num_text(scaled), exp.Literal.number(digits), exp.Literal.string("0")))
        elif kind == "epoch":
            parts.append(num_text(_fn("toInt64", exp.Floor(this=epoch.copy()))))
        elif kind == "offset":
            parts.append(_fn("formatDateTime", local.copy(), exp.Literal.string("%z")))
        elif kind == "zone":
            off = _fn("timeZoneOffset", local.copy())
            ifs = [exp.If(this=exp.EQ(this=off.copy(), expression=exp.Literal.number(o)), true=exp.Literal.string(n))
                   for o, n in zone_abbreviations(zone).items()]
            text = _fn("formatDateTime", local.copy(), exp.Literal.string("%z"))
            parts.append(exp.Case(ifs=ifs, default=text) if ifs else text)
        elif kind == "century":
            parts.append(num_text(_fn("intDiv", _fn("toYear", local.copy()), exp.Literal.number(100))))
        else:   # isoyear2
            parts.append(_fn("rightUTF8", _fn("formatDateTime", local.copy(), exp.Literal.string("%G")),
                             exp.Literal.number(2)))
    if not parts:
        return exp.If(this=exp.Is(this=epoch.copy(), expression=exp.Null()), true=exp.Null(), false=exp.Literal.string(""))
    out = parts[0]
    for p in parts[1:]:
        out = exp.DPipe(this=out, expression=p)      # NULL epoch -> NULL text, as DuckDB's ||
    return out


def _regex_match(node: RegexMatch) -> exp.Expression:
    return _fn("match", node.this.copy(), node.expression.copy())


def _regex_extract(node: RegexExtract) -> exp.Expression:
    return exp.Nullif(this=_fn("regexpExtract", node.this.copy(), node.expression.copy(), node.args["group"].copy()),
                      expression=exp.Literal.string(""))


def _regex_replace(node: RegexReplace) -> exp.Expression:
    return _fn("replaceRegexpAll", node.this.copy(), node.expression.copy(), node.args["replacement"].copy())


def _no_pcre(node: PcreMatch) -> exp.Expression:
    raise RenderUnsupported("a regular expression ClickHouse's RE2 cannot run (look-around, back-references)")


def _no_geo(node: GeoLookup) -> exp.Expression:
    raise RenderUnsupported("iplocation (a GeoIP lookup in Python)")


def _no_xpath(node: XPathValues) -> exp.Expression:
    raise RenderUnsupported("xpath (XML parsed in Python)")


LOWERINGS[DIALECT] = {
    ImpliedRaw: lower_implied,
    NumText: lambda node: exp.Cast(this=node.this.copy(), to=exp.DataType.build("VARCHAR")),   # toString: 12.0 -> '12'

    GeoLookup: _no_geo,
    XPathValues: _no_xpath,
    PcreMatch: _no_pcre,
    PcreExtract: _no_pcre,
    PcreExtractAll: _no_pcre,
    PcreReplace: _no_pcre,
    TermMatch: _term,
    TimeBucket: _bucket,
    ValuesAgg: _values,
    ListAgg: _list,
    ExactPercentile: _percentile,
    StrfTime: _strftime,
    RegexMatch: _regex_match,
    RegexExtract: _regex_extract,
    RegexReplace: _regex_replace,
}

# DuckDB functions the commands name directly (exp.Anonymous) → ClickHouse function of the same meaning.
_RENAMED = {
    "regexp_matches": "match", "regexp_extract": "regexpExtract", "json_valid": "isValidJSON",
    "strpos": "position", "any_value": "any", "arg_min": "argMin", "arg_max": "argMax",
    "pi": "pi", "abs": "abs", "dense_rank": "dense_rank",
    "replace": "replaceAll",     # DuckDB replace(): every occurrence of a literal string
    "isfinite": "isFinite",      # ClickHouse function names are case-sensitive
}
# Functions this module itself emits (already ClickHouse's).
_OWN = {"hastoken", "lower", "like", "match", "totostring", "tostring", "tofloat64ornull", "tofloat64",
        "toint64", "todatetime", "round", "arrayjoin", "range", "tounixtimestamp", "tostartofday", "arraysort", "groupuniqarray", "grouparray",
        "regexpextract", "replaceregexpall", "isvalidjson", "position", "any", "argmin", "argmax", "pi", "abs",
        "lengthutf8", "substringutf8", "upperutf8", "lowerutf8", "jsonextractstring", "jsonextractraw", "jsontype",
        "jsonhas", "startswith", "indexof", "arrayelement", "isnull", "assumenotnull", "mapcontains", "empty",
        "grouparrayif", "arraymap", "tupleelement", "pow", "sign", "isfinite", "trunc", "laginframe", "tonullable",
        "trimboth", "trimleft", "trimright", "replaceall", "log10", "todatetime64", "formatdatetime", "leftpad",
        "todayofmonth", "tohour", "intdiv", "min2", "timezoneoffset", "toyear", "rightutf8"}

_SAFE = (
    exp.Select, exp.From, exp.Where, exp.Group, exp.Order, exp.Ordered, exp.Limit, exp.With, exp.CTE,
    exp.TableAlias, exp.Table, exp.Identifier, exp.Column, exp.Star, exp.Alias, exp.Literal, exp.Boolean,
    exp.Null, exp.Paren, exp.And, exp.Or, exp.Not, exp.Is, exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE,
    exp.Add, exp.Sub, exp.Mul, exp.Div, exp.Mod, exp.Neg, exp.Case, exp.If, exp.Coalesce, exp.Nullif,
    exp.Count, exp.Sum, exp.Avg, exp.Min, exp.Max, exp.Distinct, exp.Window, exp.RowNumber, exp.Subquery,
    exp.Join, exp.Union, exp.DPipe, exp.Round, exp.Floor, exp.Ceil, exp.Abs, exp.Anonymous, exp.DataType,
    exp.ParameterizedAgg, exp.In, exp.Between, exp.Having, exp.Sqrt, exp.Exp, exp.Ln, exp.Pow, exp.Var,
    exp.Tuple, exp.Offset, exp.Like, exp.ILike, exp.JSONExtractScalar, exp.JSONPath, exp.JSONPathRoot, exp.JSONPathKey,
    exp.Array,   # a list of literals (the translation tables of mapped extractions): ClickHouse's [..]
    exp.Lambda,  # list()'s pair sort (`_list`)
    exp.Qualify,  # dedup (ClickHouse >= 24.4 has QUALIFY)
    exp.Filter,   # `agg(x) FILTER (WHERE ...)`: ClickHouse has the same clause
    exp.WindowSpec,  # ROWS BETWEEN ... frames (streamstats window=N), the same in ClickHouse
)


def _fixup(node: exp.Expression) -> exp.Expression:
    """Rewrite one portable node whose ClickHouse meaning differs (see the module docstring)."""
    if isinstance(node, exp.TryCast):
        if node.to.is_type("double", "float", "decimal"):
            return _fn("toFloat64OrNull", _fn("toString", node.this.copy()))
        if node.to.is_type("text", "varchar"):
            return _fn("toString", node.this.copy())
        raise RenderUnsupported(f"TRY_CAST to {node.to.sql()}")
    if isinstance(node, exp.Cast):
        if node.to.is_type("text", "varchar"):
            return _fn("toString", node.this.copy())
        if node.to.is_type("bigint", "int"):   # DuckDB rounds to the nearest integer
            if isinstance(node.this, exp.Literal):
                return node.this.copy()
            return _fn("toInt64", _round(node.this, None))
        if node.to.is_type("double"):
            return _fn("toFloat64", node.this.copy())
        raise RenderUnsupported(f"CAST to {node.to.sql()}")
    if isinstance(node, exp.Table) and isinstance(node.this, exp.Anonymous) and node.this.name.lower() == "range":
        # DuckDB's table function range(n) (makeresults count=n): column `range`, 0 to n-1
        rows = exp.select(exp.alias_(exp.column("number"), "range")).from_(
            exp.Table(this=_fn("numbers", *[e.copy() for e in node.this.expressions])))
        return exp.Subquery(this=rows)
    if isinstance(node, exp.Escape):      # ClickHouse's LIKE escapes with backslash, always
        if not (isinstance(node.expression, exp.Literal) and node.expression.this == "\\"):
            raise RenderUnsupported("LIKE with an escape character other than backslash")
        return node.this.copy()
    if isinstance(node, exp.Contains):   # DuckDB contains(): a substring test
        return exp.GT(this=_fn("position", node.this.copy(), node.expression.copy()), expression=exp.Literal.number(0))
    if isinstance(node, exp.StartsWith):
        return _fn("startsWith", node.this.copy(), node.expression.copy())
    if isinstance(node, exp.Round):
        return _round(node.this, node.args.get("decimals"))
    if isinstance(node, exp.Window):
        return _window_inside(node)
    if isinstance(node, exp.Is) and isinstance(node.expression, exp.Null) and isinstance(node.this, exp.Column) \
            and node.this.name == "_fields" and not node.this.table and _PROMOTED.get() is not None \
            and _reads_events(node):   # `_fields IS NULL` of the events: their map is empty
        return _fn("empty", exp.column(FIELD_MAP, quoted=True))
    if isinstance(node, exp.RegexpExtract):   # both give '' without a match; DuckDB's group defaults to 0
        group = node.args.get("group")
        return _fn("regexpExtract", node.this.copy(), node.expression.copy(),
                   group.copy() if group is not None else exp.Literal.number(0))
    if isinstance(node, exp.Length):
        return _fn("lengthUTF8", node.this.copy())
    if isinstance(node, exp.Substring):
        args = [node.this.copy(), node.args["start"].copy()]
        if node.args.get("length") is not None:
            args.append(node.args["length"].copy())
        return _fn("substringUTF8", *args)
    if isinstance(node, exp.Upper):
        return _fn("upperUTF8", node.this.copy())
    if isinstance(node, exp.Lower):
        return _fn("lowerUTF8", node.this.copy())
    if isinstance(node, exp.Anonymous):
        name = node.name.lower()
        if name == "regexp_replace" and len(node.expressions) == 4:
            return _fn("replaceRegexpAll", *[e.copy() for e in node.expressions[:3]])
        if name == "unnest" and len(node.expressions) == 1:
            return _fn("arrayJoin", node.expressions[0].copy())
        if name == "generate_series" and len(node.expressions) == 3:   # inclusive, integers
            lo, hi, step = (e.copy() for e in node.expressions)
            return _fn("range", _fn("toInt64", lo), _fn("toInt64", exp.Add(this=hi, expression=step.copy())),
                       _fn("toInt64", step))
        if name == "json_extract_string" and len(node.expressions) == 2:
            return _json_extract_string(node.expressions[0], node.expressions[1])
        if name == "starts_with" and len(node.expressions) == 2:
            return _fn("startsWith", *[e.copy() for e in node.expressions])
        if name == "contains" and len(node.expressions) == 2:   # DuckDB: substring test
            return exp.GT(this=_fn("position", *[e.copy() for e in node.expressions]), expression=exp.Literal.number(0))
        if name == "list_position" and len(node.expressions) == 2:   # 1-based, NULL when absent
            return exp.Nullif(this=_fn("indexOf", *[e.copy() for e in node.expressions]), expression=exp.Literal.number(0))
        if name == "list_element" and len(node.expressions) == 2:
            arr, i = (e.copy() for e in node.expressions)
            return exp.If(this=_fn("isNull", i.copy()), true=exp.Null(),
                          false=_fn("arrayElement", arr, _fn("assumeNotNull", i)))
        if name == "lag" and 1 <= len(node.expressions) <= 3 and isinstance(node.parent, exp.Window):
            # DuckDB lag() is NULL before the first row; lagInFrame's default is the type's zero
            args = [e.copy() for e in node.expressions]
            return _fn("lagInFrame", _fn("toNullable", args[0]), args[1] if len(args) > 1 else exp.Literal.number(1),
                       args[2] if len(args) > 2 else exp.Null())
        if name in ("trim", "ltrim", "rtrim") and len(node.expressions) == 1:   # spaces only, as DuckDB's
            return _fn({"trim": "trimBoth", "ltrim": "trimLeft", "rtrim": "trimRight"}[name], node.expressions[0].copy())
        if name in _RENAMED:
            return _fn(_RENAMED[name], *[e.copy() for e in node.expressions])
        if name not in _OWN:
            raise RenderUnsupported(f"the function {node.name}")
    return node


_JSON_KEY = re.compile(r'\."((?:[^"\\]|\\.)*)"')


FIELD_MAP = "__speleo_f"
"""The column of `__events__` that holds an event's indexed fields as ClickHouse's map (the
table's `f`), beside `_fields` (the same as JSON text). query.clickhouse provides it."""

_PROMOTED: contextvars.ContextVar = contextvars.ContextVar("speleo_ch_promoted", default=None)


def promoted_column(field: str) -> str:
    """The `__events__` column of a promoted indexed field (query.clickhouse provides it; names
    starting `__speleo` are Speleo's, never a user's field)."""
    return "__speleo_fp_" + field


def _reads_events(node: exp.Expression) -> bool:
    """True when `node` sits in a SELECT whose rows carry `__events__`'s own columns (the map
    `__speleo_f` and the promoted columns): it reads `__events__`, or a subquery or CTE that keeps
    every column of it (`SELECT *, ...` all the way down, no join, `_fields` not given a new
    value). A CTE name is looked up in the nearest WITH that defines it (a subsearch has its own
    `s0`, `s1`...)."""
    sel = node.find_ancestor(exp.Select)
    return sel is not None and _source_carries(sel, 0)


def _cte_named(at: exp.Expression, name: str) -> exp.Expression | None:
    """The body of the CTE `name` visible at `at`: in the nearest enclosing WITH defining it."""
    cur = at
    while cur is not None:
        w = cur.args.get("with_") if isinstance(cur, exp.Select) else None
        if w is not None:
            for c in w.expressions:
                if c.alias == name:
                    return c.this
        cur = cur.parent
    return None


def _source_carries(sel: exp.Select, depth: int) -> bool:
    src = sel.args.get("from_")
    if depth > 50 or not isinstance(src, exp.From) or sel.args.get("joins"):
        return False
    inner = src.this
    if isinstance(inner, exp.Table):
        if inner.name == "__events__" and not inner.db:
            return True
        inner = _cte_named(inner, inner.name)
    elif isinstance(inner, exp.Subquery):
        inner = inner.this
    return isinstance(inner, exp.Select) and any(isinstance(e, exp.Star) for e in inner.expressions) \
        and not _redefines_fields(inner) and _source_carries(inner, depth + 1)


def _redefines_fields(sel: exp.Select) -> bool:
    """True when a stage gives `_fields` a new value (`eval _fields=...`: `* REPLACE (... AS
    _fields)` or an alias): the map `__speleo_f` no longer describes it."""
    for e in sel.expressions:
        if isinstance(e, exp.Alias) and e.alias == "_fields":
            return True
        if isinstance(e, exp.Star) and any(isinstance(r, exp.Alias) and r.alias == "_fields"
                                           for r in (e.args.get("replace") or [])):
            return True
    return False


def _indexed_field(doc: exp.Expression, keys: list[str]) -> exp.Expression | None:
    """An indexed field read from the map (or its promoted column) instead of the JSON text: the
    same value (the map's values are the strings `_fields` holds), without encoding every event's
    map as JSON and parsing it back. None when `doc` is not `_fields` of `__events__`."""
    if len(keys) != 1 or not (isinstance(doc, exp.Column) and doc.name == "_fields" and not doc.table) \
            or _PROMOTED.get() is None or not _reads_events(doc):
        return None
    key = keys[0]
    if key in _PROMOTED.get():
        return exp.column(promoted_column(key), quoted=True)
    m = exp.column(FIELD_MAP, quoted=True)
    return exp.If(this=_fn("mapContains", m, exp.Literal.string(key)),
                  true=_fn("arrayElement", m.copy(), exp.Literal.string(key)), false=exp.Null())


def _json_extract_string(doc: exp.Expression, path: exp.Expression) -> exp.Expression:
    """DuckDB `json_extract_string(doc, '$."a"."b"')` (speleo.query.fields.json_path): the value as
    text (a string's text, another value's JSON text), NULL when the key is missing or null.
    ClickHouse: JSONExtractString for strings (JSONExtractString gives '' for other types),
    JSONExtractRaw for numbers, booleans, arrays and objects; an indexed field of the events
    themselves is read from their map or promoted column (`_indexed_field`)."""
    text = path.this if isinstance(path, exp.Literal) and path.is_string else None
    keys = _JSON_KEY.findall(text[1:]) if text and text.startswith("$") else []
    if not keys or "".join(f'."{k}"' for k in keys) != text[1:]:
        raise RenderUnsupported(f"the JSON path {text!r}")
    args = [exp.Literal.string(re.sub(r"\\(.)", r"\1", k)) for k in keys]
    direct = _indexed_field(doc, [a.this for a in args])
    if direct is not None:
        return direct

    def call(fn: str) -> exp.Expression:
        return _fn(fn, doc.copy(), *[a.copy() for a in args])

    kind = call("JSONType")
    value = exp.Case(ifs=[
        exp.If(this=exp.EQ(this=kind.copy(), expression=exp.Literal.string("String")), true=call("JSONExtractString")),
        exp.If(this=exp.EQ(this=kind, expression=exp.Literal.string("Null")), true=exp.Null()),
    ], default=call("JSONExtractRaw"))
    return exp.If(this=call("JSONHas"), true=value, false=exp.Null())


def check(tree: exp.Expression) -> None:
    """Raise RenderUnsupported for the first node of `tree` outside the rendered subset."""
    for node in tree.walk():
        if not isinstance(node, _SAFE):
            raise RenderUnsupported(_describe(node))
        if isinstance(node, exp.Window) and node.args.get("spec") is not None:
            spec = node.args["spec"]
            if str(spec.args.get("kind", "")).upper() != "ROWS":   # RANGE frames: offsets typed differently
                raise RenderUnsupported("a window frame by RANGE")
        if isinstance(node, exp.Union) and node.args.get("by_name"):
            raise RenderUnsupported("UNION BY NAME (append, appendpipe, addcoltotals)")


def _describe(node: exp.Expression) -> str:
    return f"the SQL construct {node.key.upper()}"


def lower_for_clickhouse(tree: exp.Expression, promoted: frozenset[str] | None = None) -> exp.Expression:
    """The tree with Speleo's nodes lowered and differing nodes rewritten for ClickHouse; raises
    RenderUnsupported naming the first construct without a ClickHouse rendering. `promoted`:
    when given, `__events__` has the map `__speleo_f` and a column per promoted field (their names:
    `promoted_column`), and indexed fields are read from them."""
    token = _PROMOTED.set(promoted)
    try:
        return _lower(tree)
    finally:
        _PROMOTED.reset(token)


def _lower(tree: exp.Expression) -> exp.Expression:
    from speleo.spl.cse import Extracted

    table = LOWERINGS[DIALECT]

    def one(node: exp.Expression) -> exp.Expression:
        if isinstance(node, Extracted):
            return node.this
        rule = table.get(type(node))
        return _fixup(rule(node) if rule else node)

    lowered = _post_order(tree.copy(), one)
    check(lowered)
    return lowered


def _post_order(root: exp.Expression, fn) -> exp.Expression:
    """Apply `fn` to every node, children before their parent (sqlglot's `transform` does not
    descend into the nodes it replaced); returns the new root."""
    for node in reversed(list(root.dfs())):
        new = fn(node)
        if new is not node:
            if node is root:
                root = new
            else:
                node.replace(new)
    return root


def render_clickhouse(tree: exp.Expression) -> str:
    """ClickHouse SQL of a compiled tree (see lower_for_clickhouse)."""
    return lower_for_clickhouse(tree).sql(dialect=DIALECT, copy=False)
