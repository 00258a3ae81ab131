"""Statistical functions shared by stats, eventstats and timechart.

Splunk Search Reference: "Statistical and charting functions". Each entry of
AGGREGATES builds the SQL aggregate from the field expression (or None for a bare
`count`). Names are those Splunk gives the output column: `count`, `dc(user)`...
The per_* functions need the span of a timechart (`agg_sql(..., span=)`); `sparkline`
is parsed here into a `Sparkline` node and compiled by stats (commands/stats.py).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass

from sqlglot import exp

from speleo.errors import SplSyntaxError, SplUnsupportedError
from speleo.spl import ast
from speleo.spl.cursor import Cursor
from speleo.spl.functions import num, shown, text
from speleo.spl.nodes import ExactPercentile, ListAgg, TimeBucket, ValuesAgg
from speleo.spl.state import State, col
from speleo.spl.tokens import T, Token

_PERC = re.compile(r"(exactperc|upperperc|perc|p)(\d+(?:\.\d+)?)$")
ALIASES = {"c": "count", "distinct_count": "dc", "mean": "avg"}


def _not_null(e: exp.Expression) -> exp.Expression:
    return exp.Not(this=exp.Is(this=e, expression=exp.null()))


def _arg_by_time(name: str) -> Callable:
    def build(f: exp.Expression, state: State) -> exp.Expression:
        agg = exp.Anonymous(this=name, expressions=[f, state.field("_time")])
        return exp.Filter(this=agg, expression=exp.Where(this=_not_null(f.copy())))
    return build


def _time_of(name: str) -> Callable:
    """earliest_time(X) / latest_time(X) (Search Reference: Time functions): the _time (epoch
    seconds) of the earliest / latest event that has a value of X."""
    def build(f: exp.Expression, state: State) -> exp.Expression:
        t = num(state.field("_time"))
        agg = exp.Min(this=t) if name == "min" else exp.Max(this=t)
        return exp.Filter(this=agg, expression=exp.Where(this=_not_null(f.copy())))
    return build


def _rate(f: exp.Expression, state: State) -> exp.Expression:
    """rate(X) (Search Reference: Time functions): (latest(X) - earliest(X)) /
    (latest_time(X) - earliest_time(X)); null when the two times are equal or a value is not
    a number."""
    latest, earliest = _arg_by_time("arg_max")(f, state), _arg_by_time("arg_min")(f.copy(), state)
    span = exp.Sub(this=_time_of("max")(f.copy(), state), expression=_time_of("min")(f.copy(), state))
    return exp.Div(this=exp.paren(exp.Sub(this=num(latest), expression=num(earliest))),
                   expression=exp.Nullif(this=exp.paren(span), expression=exp.Literal.number(0)))


# per_second(X) ... per_day(X) (Search Reference: Time functions): sum(X) scaled to one
# second / minute / hour / day of the timechart span.
PER_UNIT = {"per_second": 1, "per_minute": 60, "per_hour": 3600, "per_day": 86400}


def _needs_span(f: exp.Expression, state: State) -> exp.Expression:
    raise AssertionError("per_* functions are built by agg_sql with a span")


# Search Reference, Statistical functions: list(), first() and last() follow the order of the
# results as they arrive at stats; earliest()/latest() follow _time.
STREAM_ORDERED = {"list", "first", "last"}


def _stream(name: str) -> Callable:
    """first(X) / last(X): the first / last value of X in the stream order (State.stream_ord),
    else by _time (newest first, the order events arrive in)."""
    def build(f: exp.Expression, state: State) -> exp.Expression:
        if state.stream_ord is None:
            return _arg_by_time("arg_max" if name == "arg_min" else "arg_min")(f, state)
        agg = exp.Anonymous(this=name, expressions=[f, state.stream_ord.copy()])
        return exp.Filter(this=agg, expression=exp.Where(this=_not_null(f.copy())))
    return build


def _list(f: exp.Expression, state: State) -> exp.Expression:
    """list(): in the stream's order (State.stream_ord) when known; else, events arriving newest
    first, by _time descending (as first()/last() then are). Without an order an engine lists
    in any order: eventstats list() came out oldest first on large data."""
    if state.stream_ord is None:
        if "_time" not in state.columns:
            return ListAgg(this=f)
        return ListAgg(this=f, order=exp.Neg(this=exp.paren(state.field("_time"))))
    return ListAgg(this=f, order=state.stream_ord.copy())


AGGREGATES: dict[str, Callable[[exp.Expression, State], exp.Expression]] = {
    "count": lambda f, s: exp.Count(this=f),
    "dc": lambda f, s: exp.Count(this=exp.Distinct(expressions=[f])),
    "sum": lambda f, s: exp.Sum(this=num(f)),
    "avg": lambda f, s: exp.Avg(this=num(f)),
    "min": lambda f, s: exp.Min(this=num(f)),
    "max": lambda f, s: exp.Max(this=num(f)),
    "range": lambda f, s: exp.Sub(this=exp.Max(this=num(f)), expression=exp.Min(this=num(f.copy()))),
    "stdev": lambda f, s: exp.Stddev(this=num(f)),
    "stdevp": lambda f, s: exp.StddevPop(this=num(f)),
    "var": lambda f, s: exp.Variance(this=num(f)),
    "varp": lambda f, s: exp.VariancePop(this=num(f)),
    "sumsq": lambda f, s: exp.Sum(this=exp.Pow(this=num(f), expression=exp.Literal.number(2))),
    "values": lambda f, s: ValuesAgg(this=shown(f)),
    "list": _list,
    "earliest": _arg_by_time("arg_min"),
    "latest": _arg_by_time("arg_max"),
    "first": _stream("arg_min"),
    "last": _stream("arg_max"),
    "median": lambda f, s: ExactPercentile(this=num(f), quantile=exp.Literal.number(0.5)),
    "mode": lambda f, s: exp.Anonymous(this="mode", expressions=[f]),
    "earliest_time": _time_of("min"),
    "latest_time": _time_of("max"),
    "rate": _rate,
    **{name: _needs_span for name in PER_UNIT},
}


@dataclass
class Sparkline(ast.Agg):
    """`sparkline[(<func>[(<field>)][, <span>])]` (Search Manual: "Add sparklines to search
    results"; Search Reference: "Statistical and charting functions"): `inner` is the
    function computed per time bucket, `span` the bucket size as written (None: automatic)."""

    inner: ast.Agg | None = None
    span: str | None = None


# Functions whose value for an empty sparkline bucket is 0 (others give null).
SPARKLINE_ZERO = {"count", "dc", "sum"}
_SPARK_ARGS = re.compile(r"\s*(\w+)\s*(?:\(\s*([^()\s,]*)\s*\))?\s*(?:,\s*(\S+?))?\s*$")


def parse_aggs(cur: Cursor) -> list[ast.Agg]:
    """Aggregates up to `by` or the end: `func[(field)] [as name]`, commas optional."""
    aggs: list[ast.Agg] = []
    while not cur.at_end() and not cur.peek().is_word("by"):
        if cur.accept(T.COMMA):
            continue
        aggs.append(parse_agg(cur))
    if not aggs:
        raise cur.error("expected a statistical function")
    return aggs


def parse_agg(cur: Cursor) -> ast.Agg:
    tok = cur.next()
    if tok.kind is not T.WORD:
        raise cur.error("expected a statistical function", tok)
    if tok.value.lower() == "sparkline":
        return _parse_sparkline(cur, tok)
    func, param = resolve_func(cur, tok)
    arg, end, expr = None, tok.end, None
    if cur.accept(T.LPAREN):
        if cur.peek().is_word("eval") and cur.peek(1).kind is T.LPAREN:
            expr, arg = _eval_arg(cur)
        else:
            arg = cur.name().value
        end = cur.expect(T.RPAREN, "')'").end
    elif func != "count":
        raise cur.error(f"{tok.value} needs a field: {tok.value}(field)")
    label = tok.value if arg is None else f"{tok.value}({arg})"
    alias = None
    if cur.accept_word("as"):
        name = cur.name("a name after 'as'")
        alias, end = name.value, name.end
        if name.kind is T.WORD and cur.peek().kind is T.LPAREN and cur.peek().start == end:
            # `as aceFlags(inheritance)`: Splunk takes the glued parentheses as part of the name
            depth = 0
            while True:
                tok = cur.next()
                depth += {T.LPAREN: 1, T.RPAREN: -1}.get(tok.kind, 0)
                if tok.kind is T.EOF:
                    raise cur.error("expected ')'", tok)
                if depth == 0:
                    break
            alias, end = cur.query[name.start : tok.end], tok.end
    if expr is not None and alias is None:
        raise cur.error(f"{tok.value}(eval(...)) needs 'as <name>'")
    return ast.Agg(func, arg, param, alias, label, expr, start=tok.start, end=end)


def _parse_sparkline(cur: Cursor, tok) -> Sparkline:
    """`sparkline` (= sparkline(count)), `sparkline(count)`, `sparkline(count, 1h)`,
    `sparkline(avg(x), 5m)` [as name]. The parentheses are read as text: the stats lexer
    keeps `count,1h` in one word."""
    end, inner_text, args_start = tok.end, "count", tok.end
    if cur.peek().kind is T.LPAREN:
        open_ = cur.next()
        close = cur.skip_balanced("sparkline(")
        inner_text, args_start, end = cur.query[open_.end : close.start], open_.end, close.end
    m = _SPARK_ARGS.match(inner_text)
    if not m:
        raise SplSyntaxError("expected sparkline(<function>[(<field>)][, <span>])", cur.query, tok.start, end)
    name_tok = Token(T.WORD, m.group(1), args_start + m.start(1), args_start + m.end(1))
    func, param = resolve_func(cur, name_tok)
    if func in ("values", "list") or func in PER_UNIT:
        raise SplUnsupportedError(f"sparkline({m.group(1)}) is not supported", cur.query, name_tok.start, name_tok.end)
    arg = m.group(2) or None
    if arg is None and func != "count":
        raise SplSyntaxError(f"{m.group(1)} needs a field: {m.group(1)}(field)", cur.query, name_tok.start, name_tok.end)
    span = m.group(3)
    if span is not None:
        from speleo.spl.commands.stats import parse_span

        span_tok = Token(T.WORD, span, args_start + m.start(3), args_start + m.end(3))
        parse_span(Cursor(cur.query, [span_tok]), span_tok)
    inner_label = m.group(1) if arg is None else f"{m.group(1)}({arg})"
    inner = ast.Agg(func, arg, param, None, inner_label, start=name_tok.start, end=name_tok.end)
    label = cur.query[tok.start : end]
    alias = None
    if cur.accept_word("as"):
        name = cur.name("a name after 'as'")
        alias, end = name.value, name.end
    return Sparkline("sparkline", arg, None, alias, label, inner=inner, span=span, start=tok.start, end=end)


def _eval_arg(cur: Cursor) -> tuple[ast.Node, str]:
    """`eval(<expression>)` inside a stats function: re-lexed as an eval expression."""
    from speleo.spl.exprparse import parse_eval_expr
    from speleo.spl.tokens import lex

    word = cur.next()
    open_ = cur.next()
    close = cur.skip_balanced("eval(")
    sub = Cursor(cur.query, lex(cur.query, open_.end, close.start, "expr"), cur.command)
    expr = parse_eval_expr(sub)
    sub.expect_end()
    return expr, cur.query[word.start : close.end]


def resolve_func(cur: Cursor, tok) -> tuple[str, float | None]:
    name = tok.value.lower()
    name = ALIASES.get(name, name)
    if name in AGGREGATES:
        return name, None
    m = _PERC.match(name)
    if m:
        return "perc", float(m.group(2))
    close = difflib.get_close_matches(name, list(AGGREGATES) + ["perc95"], n=1)
    raise SplUnsupportedError(f"statistical function {tok.value!r} is not supported", cur.query,
                              tok.start, tok.end, suggestion=close[0] if close else None)


def agg_name(agg: ast.Agg) -> str:
    return agg.alias or agg.label


def agg_sql(state: State, agg: ast.Agg, span: tuple[int, str] | None = None) -> exp.Expression:
    """The SQL aggregate of one stats function over the current relation; `span` is the
    timechart bucket (count, unit) the per_* functions scale to."""
    if isinstance(agg, Sparkline):
        raise state.fail("sparkline is only supported in stats and in chart without a column split", agg)
    if agg.func in PER_UNIT and span is None:
        raise state.fail(f"{agg.func}() is only supported in timechart (it scales to the span)", agg)
    if agg.arg is None:
        return exp.Count(this=exp.Star())
    if agg.expr is not None:
        from speleo.spl.functions import compile_expr

        value, kind = compile_expr(state, agg.expr)
        if kind == "bool":   # Splunk: a false comparison counts as no value
            value = exp.Case(ifs=[exp.If(this=exp.Coalesce(this=value, expressions=[exp.false()]), true=exp.true())])
        f = value
    else:
        f = state.field(agg.arg)
        if agg.func in ("values", "list") and agg.arg in state.mv and agg.arg in state.columns:
            return _of_lists(agg.func, f, state)
    if agg.func == "perc":
        return ExactPercentile(this=num(f), quantile=exp.Literal.number(repr(agg.param / 100)))
    if agg.func in PER_UNIT:
        return _per_unit(state, f, PER_UNIT[agg.func], span)
    return AGGREGATES[agg.func](f, state)


def _of_lists(func: str, f: exp.Expression, state: State | None = None) -> exp.Expression:
    """values()/list() of a field known to hold lists (State.mv): every value of every list
    (values: distinct and sorted, as text; list: in the stream's order when it is known), not
    the lists as text."""
    if func == "list" and state is not None and state.stream_ord is not None:
        return exp.Anonymous(this="flatten", expressions=[ListAgg(this=f.copy(), order=state.stream_ord.copy())])
    every = exp.Anonymous(this="flatten", expressions=[exp.Filter(
        this=exp.Anonymous(this="list", expressions=[f.copy()]),
        expression=exp.Where(this=exp.Not(this=exp.Is(this=f.copy(), expression=exp.null()))))])
    if func == "list":
        return every
    every = exp.Cast(this=every, to=exp.DataType.build("VARCHAR[]"))
    return exp.Anonymous(this="list_sort", expressions=[exp.Anonymous(this="list_distinct", expressions=[every])])


def near_range(state: State) -> exp.Tuple:
    """The search's (earliest, latest) for TimeBucket's `near`: day buckets in a zone with
    daylight saving time are arithmetic over the zone's transitions in that range (an open
    earliest is NULL, from 1970; an open latest is now). Times outside it are still bucketed
    right, by the general path."""
    lo, hi = state.time_range
    if hi is None:
        hi = state.ctx.now
    return exp.Tuple(expressions=[exp.null() if v is None else exp.Literal.number(repr(float(v))) for v in (lo, hi)])


def _per_unit(state: State, f: exp.Expression, unit: int, span: tuple[int, str]) -> exp.Expression:
    """sum(X) * unit / (seconds of the bucket). Spans in days or months have buckets of
    different lengths (DST, month lengths): each value is divided by the length of its own
    bucket (from the event's _time). One aggregate, so PIVOT accepts it."""
    n, kind = span
    if kind == "s":
        return exp.Div(this=exp.Mul(this=exp.Sum(this=num(f)), expression=exp.Literal.number(unit)),
                       expression=exp.Literal.number(n))
    tz = state.tz_literal()
    start = TimeBucket(this=num(state.field("_time")), seconds=exp.Literal.number(n), unit=exp.Literal.string(kind),
                       tz=tz.copy(), near=near_range(state))
    local = exp.Anonymous(this="timezone", expressions=[tz, exp.Anonymous(this="to_timestamp", expressions=[start])])
    step = exp.Interval(this=exp.Literal.string(str(n)), unit=exp.var("DAY" if kind == "d" else "MONTH"))
    end = exp.Anonymous(this="epoch", expressions=[
        exp.Anonymous(this="timezone", expressions=[tz.copy(), exp.Add(this=local, expression=step)])])
    seconds = exp.Sub(this=exp.Cast(this=end, to=exp.DataType.build("DOUBLE")), expression=start.copy())
    scaled = exp.Div(this=exp.Mul(this=num(f), expression=exp.Literal.number(unit)), expression=exp.paren(seconds))
    return exp.Sum(this=scaled)


def parse_by(cur: Cursor, options: tuple[str, ...] = ()) -> list[str]:
    """`by f1, f2 ...` up to the end, or up to one of `options` written as `<option>=` (stats'
    `dedup_splitvals=` goes after its by-clause, Search Reference: stats)."""
    if not cur.accept_word("by"):
        return []
    fields: list[str] = []
    while not cur.at_end() and not (cur.peek().is_word(*options) and cur.peek(1).kind is T.OP and cur.peek(1).value == "="):
        if cur.accept(T.COMMA):
            continue
        fields.append(cur.name().value)
    if not fields:
        raise cur.error("expected a field after 'by'")
    return fields


def by_filter(state: State, by: list[str]) -> exp.Expression | None:
    """Splunk drops rows whose by-fields are missing."""
    if not by:
        return None
    return exp.and_(*[_not_null(state.field(b)) for b in by])


def auto_order(name: str, desc: bool = False) -> list[exp.Ordered]:
    """Splunk's automatic order: numbers numerically before strings (reversed when
    descending); missing values last either way."""
    c = col(name)
    return [exp.Ordered(this=exp.Is(this=c.copy(), expression=exp.null())),
            exp.Ordered(this=num(c), desc=desc, nulls_first=desc),
            exp.Ordered(this=text(c.copy()), desc=desc, nulls_first=False)]
