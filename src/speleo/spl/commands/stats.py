"""stats, eventstats, timechart, bin (Splunk Search Reference: stats, eventstats, timechart, bin)."""

from __future__ import annotations

import re

from sqlglot import exp

from speleo.spl import ast
from speleo.spl.commands.aggregates import (
    agg_name, agg_sql, auto_order, by_filter, parse_aggs, parse_by,
)
from speleo.spl.cursor import Cursor
from speleo.spl.functions import num, text
from speleo.spl.nodes import TimeBucket
from speleo.spl.state import State, col, ident
from speleo.spl.tokens import Token

_SPAN = re.compile(r"(\d+(?:\.\d+)?)?(s|sec|secs|second|seconds|m|min|mins|minute|minutes|h|hr|hrs|hour|hours"
                   r"|d|day|days|w|week|weeks|mon|month|months|q|qtr|quarter|quarters|y|yr|year|years)$", re.I)
_SECONDS = {"s": 1, "m": 60, "h": 3600}


def parse_stats(cur: Cursor, word: Token) -> ast.StatsCmd:
    """Splunk Search Reference: stats / eventstats. `func(field) [as name] ... [by f1, f2]`."""
    cur.options(set(), ignored=frozenset({"allnum", "delim", "partitions", "dedup_splitvals"}))
    aggs = parse_aggs(cur)
    by = parse_by(cur)
    cur.expect_end()
    return ast.StatsCmd(word.value.lower(), aggs, by)


def compile_stats(state: State, cmd: ast.StatsCmd) -> None:
    """GROUP BY the by-fields (rows missing one are dropped), sorted by them."""
    state.order = None
    state.wrap()
    src = state.select.args["from_"].this.copy()
    cols = [exp.alias_(state.field(b), ident(b)) for b in cmd.by]
    cols += [exp.alias_(agg_sql(state, a), ident(agg_name(a))) for a in cmd.aggs]
    sel = exp.select(*cols).from_(src)
    cond = by_filter(state, cmd.by)
    if cond is not None:
        sel = sel.where(cond, copy=False)
    if cmd.by:
        sel = sel.group_by(*[exp.Literal.number(i + 1) for i in range(len(cmd.by))], copy=False)
    state.select = sel
    names = list(cmd.by) + [agg_name(a) for a in cmd.aggs]
    _become_table(state, names)
    state.set_order([o for b in cmd.by for o in auto_order(b)], set(cmd.by))


def _become_table(state: State, names: list[str]) -> None:
    state.columns = _dedupe(names)
    state.events = False
    state.transforming = True
    state.order, state.order_cols, state.hidden_ord = None, set(), False


def _dedupe(names: list[str]) -> list[str]:
    seen: dict[str, None] = {}
    for n in names:
        seen[n] = None
    return list(seen)


def compile_eventstats(state: State, cmd: ast.StatsCmd) -> None:
    """Add each aggregate to every row, computed over its by-group (window functions)."""
    state.protect_order(set(agg_name(a) for a in cmd.aggs))
    state.wrap()
    src = state.select.args["from_"].this.copy()
    parts = [state.field(b) for b in cmd.by]
    new = []
    for a in cmd.aggs:
        win = exp.Window(this=agg_sql(state, a), partition_by=[p.copy() for p in parts])
        cond = by_filter(state, cmd.by)
        if cond is not None:
            win = exp.Case(ifs=[exp.If(this=cond, true=win)])
        new.append(exp.alias_(win, ident(agg_name(a))))
    names = [agg_name(a) for a in cmd.aggs]
    keep = [exp.Star(except_=[col(n) for n in names if n in state.columns])] if set(names) & set(state.columns) else [exp.Star()]
    state.select = exp.select(*keep, *new).from_(src)
    state.columns = _dedupe([c for c in state.columns if c not in names] + names)


# --- bin ----------------------------------------------------------------------------------


def parse_span(cur: Cursor, tok: Token) -> tuple[int, str]:
    """A span like 1h, 30m, 1d, 1mon -> (count, unit in s|d|mon)."""
    m = _SPAN.match(tok.value)
    if not m:
        raise cur.error("expected a span such as 5m, 1h or 1d", tok)
    n = float(m.group(1) or 1)
    unit = m.group(2).lower()
    letter = unit[0] if unit not in ("mon", "month", "months") else "mon"
    if letter in _SECONDS:
        return int(n * _SECONDS[letter]), "s"
    if letter in ("d", "w"):
        return int(n * (7 if letter == "w" else 1)), "d"
    return int(n * {"mon": 1, "q": 3, "y": 12}[letter]), "mon"


def bucket_expr(state: State, field: exp.Expression, span: tuple[int, str]) -> exp.Expression:
    n, unit = span
    return TimeBucket(this=num(field), seconds=exp.Literal.number(n), unit=exp.Literal.string(unit),
                      tz=state.tz_literal())


def parse_bin(cur: Cursor, word: Token) -> ast.BinCmd:
    """Splunk Search Reference: bin / bucket. `bin [span=<span>] <field> [as <name>]`."""
    opts = cur.options({"span"})
    field = cur.name()
    opts.update(cur.options({"span"}))
    alias = cur.name("a name after 'as'").value if cur.accept_word("as") else None
    if "span" not in opts:
        raise cur.unsupported("bin without span= is not supported", word)
    parse_span(cur, opts["span"])
    cur.expect_end()
    return ast.BinCmd(field.value, opts["span"].value, alias, start=word.start, end=field.end)


def compile_bin(state: State, cmd: ast.BinCmd) -> None:
    from speleo.spl.cursor import Cursor as _C
    from speleo.spl.tokens import T
    span = parse_span(_C(state.query, []), Token(T.WORD, cmd.span, cmd.start, cmd.end))
    if span[1] == "s" and cmd.field != "_time":
        target = exp.Mul(this=exp.Floor(this=exp.Div(this=num(state.field(cmd.field)),
                                                      expression=exp.Literal.number(span[0]))),
                         expression=exp.Literal.number(span[0]))
    else:
        target = bucket_expr(state, state.field(cmd.field), span)
    _assign(state, cmd.alias or cmd.field, target)


def _assign(state: State, name: str, value: exp.Expression) -> None:
    """SELECT *, value AS name (replacing an existing column of that name)."""
    state.protect_order({name})
    state.wrap()
    src = state.select.args["from_"].this.copy()
    if name in state.columns:
        star = exp.Star(replace=[exp.alias_(value, ident(name))])
        state.select = exp.select(star).from_(src)
    else:
        state.select = exp.select(exp.Star(), exp.alias_(value, ident(name))).from_(src)
        state.columns = state.columns + [name]


# --- timechart ------------------------------------------------------------------------------


def parse_timechart(cur: Cursor, word: Token) -> ast.TimechartCmd:
    """Splunk Search Reference: timechart. `timechart [span=] [limit=] func(field)... [by f]`."""
    opts = cur.options({"span", "limit"}, ignored=frozenset({"useother", "usenull", "cont", "partial", "fixedrange"}))
    if "span" in opts:
        parse_span(cur, opts["span"])
    aggs = parse_aggs(cur)
    by = parse_by(cur)
    if len(by) > 1:
        raise cur.unsupported("timechart accepts a single by-field")
    cur.expect_end()
    limit = cur.integer(opts["limit"], "limit") if "limit" in opts else 10
    span = opts["span"].value if "span" in opts else None
    return ast.TimechartCmd(span, aggs, by[0] if by else None, limit, start=word.start, end=word.end)


def compile_timechart(state: State, cmd: ast.TimechartCmd) -> None:
    """Bucket _time, aggregate per bucket (and per by-value, pivoted to one column each).

    Empty buckets are not generated yet; with `by`, series beyond `limit` (ranked by
    their event count) are merged into an OTHER series.
    """
    from speleo.spl.cursor import Cursor as _C
    from speleo.spl.tokens import T
    span = parse_span(_C(state.query, []), Token(T.WORD, cmd.span or "1h", cmd.start, cmd.end)) if cmd.span else _auto_span(state)
    state.order = None
    bucket = bucket_expr(state, state.field("_time"), span)
    if cmd.by is None:
        by_cmd = ast.StatsCmd("stats", cmd.aggs, ["_time"])
        _assign_time_then_stats(state, bucket, by_cmd)
        return
    _timechart_by(state, cmd, bucket)


def _auto_span(state: State) -> tuple[int, str]:
    """Splunk picks the span from the time range; without one, use 1h for <= 3 days, else 1d."""
    return (3600, "s")


def _assign_time_then_stats(state: State, bucket: exp.Expression, cmd: ast.StatsCmd) -> None:
    _assign(state, "_time", bucket)
    compile_stats(state, cmd)


def _timechart_by(state: State, cmd: ast.TimechartCmd, bucket: exp.Expression) -> None:
    """PIVOT over the events: one column per series; series beyond `limit` become OTHER."""
    if len(cmd.aggs) != 1:
        raise state.fail("timechart by a field supports one function", cmd.aggs[1])
    series = "__speleo_series"
    state.filter(exp.Not(this=exp.Is(this=state.field(cmd.by), expression=exp.null())))
    _assign(state, series, text(state.field(cmd.by)))
    _assign(state, "_time", bucket)
    if cmd.limit > 0:
        _limit_series(state, series, cmd.limit)
    using = agg_sql(state, cmd.aggs[0])
    state.wrap()
    pivot = exp.Pivot(this=state.select.args["from_"].this.copy(), expressions=[col(series)],
                      using=[using], group=exp.Group(expressions=[col("_time")]))
    state.ctes.append((f"s{len(state.ctes)}", pivot))
    state.select = exp.select("*").from_(state.ctes[-1][0])
    _become_table(state, ["_time"])          # the series columns are data, unknown here
    state.set_order([exp.Ordered(this=col("_time"))], {"_time"})


def _limit_series(state: State, series: str, limit: int) -> None:
    """Rank series by event count; those past `limit` are renamed OTHER (Splunk's useother)."""
    total = exp.Window(this=exp.Count(this=exp.Star()), partition_by=[col(series)])
    _assign(state, "__speleo_total", total)
    rank = exp.Window(this=exp.Anonymous(this="dense_rank", expressions=[]),
                      order=exp.Order(expressions=[exp.Ordered(this=col("__speleo_total"), desc=True),
                                                   exp.Ordered(this=col(series))]))
    name = exp.Case(ifs=[exp.If(this=exp.LTE(this=rank, expression=exp.Literal.number(limit)),
                                true=col(series))], default=exp.Literal.string("OTHER"))
    _assign(state, series, name)
