"""stats, eventstats, bin (Splunk Search Reference: stats, eventstats, bin); timechart is in timechart.py."""

from __future__ import annotations

import dataclasses
import re

from sqlglot import exp

from speleo.spl import ast
from speleo.spl.commands.aggregates import (STREAM_ORDERED, near_range,
    SPARKLINE_ZERO, Sparkline, agg_name, agg_sql, auto_order, by_filter, parse_aggs, parse_by,
)
from speleo.spl.cursor import Cursor, as_bool
from speleo.spl.functions import num, text, text_any
from speleo.spl.nodes import TimeBucket
from speleo.spl.state import col, ident, State, tbl
from speleo.spl.tokens import Token

_SPAN = re.compile(r"(\d+(?:\.\d+)?)?(s|sec|secs|second|seconds|m|min|mins|minute|minutes|h|hr|hrs|hour|hours"
                   r"|d|day|days|w|week|weeks|mon|month|months|q|qtr|quarter|quarters|y|yr|year|years)$", re.I)
_SECONDS = {"s": 1, "m": 60, "h": 3600}


def parse_stats(cur: Cursor, word: Token) -> ast.StatsCmd:
    """Splunk Search Reference: stats / eventstats. `func(field) [as name] ... [by f1, f2]`."""
    opts = cur.options({"dedup_splitvals"}, ignored=frozenset({"allnum", "delim", "partitions"}))
    aggs = parse_aggs(cur)
    by = parse_by(cur, options=("dedup_splitvals",))
    opts.update(cur.options({"dedup_splitvals"}))
    cur.expect_end()
    dedup = as_bool(opts["dedup_splitvals"].value) if "dedup_splitvals" in opts else False
    return ast.StatsCmd(word.value.lower(), aggs, by, dedup_splitvals=dedup)


def compile_stats(state: State, cmd: ast.StatsCmd, span: tuple[int, str] | None = None,
                  event_time: str | None = None, text_minmax: bool = False) -> None:
    """GROUP BY the by-fields (rows missing one are dropped), sorted by them. When timechart
    compiles through here, `span` is its bucket (per_* functions need it) and `event_time` the
    column holding each event's own _time. list(), first() and last() follow the order the
    results arrive in (after a sort; newest first for events), pinned in a hidden column."""
    state.stream_ord = None
    if state.order and any(a.func in STREAM_ORDERED for a in cmd.aggs):
        state.protect_order(None)
        key = state.order[0]   # the pinned row number (descending after `reverse`)
        state.stream_ord = exp.Neg(this=key.this.copy()) if key.args.get("desc") else key.this.copy()
    _knowledge_by_fields(state, cmd.by)
    state.order = None
    state.wrap()
    src = state.select.args["from_"].this.copy()
    unnested = [b for b in cmd.by if b in state.mv and b in state.columns]
    src = _each_value(state, src, unnested, cmd.dedup_splitvals)
    state.mv -= set(unnested)   # one value per row from here: `if(c, by_field, null())` is a single value
    sparks = [a for a in cmd.aggs if isinstance(a, Sparkline)]
    plain = [a for a in cmd.aggs if not isinstance(a, Sparkline)]
    cols = [exp.alias_(state.field(b), ident(b)) for b in cmd.by]
    values = _event_time_aggs(state, plain, span, event_time)
    cols += [exp.alias_(v, ident(agg_name(a))) for a, v in zip(plain, values)]
    texts = _text_extremes(state, plain) if text_minmax else []
    cols += [exp.alias_(v, ident(hidden)) for _name, hidden, v in texts]
    if not cols:
        cols = [exp.alias_(exp.Count(this=exp.Star()), ident("__speleo_n"))]
    sel = exp.select(*cols).from_(tbl(src))
    cond = by_filter(state, cmd.by)
    if cond is not None:
        sel = sel.where(cond, copy=False)
    if cmd.by:
        sel = sel.group_by(*[exp.Literal.number(i + 1) for i in range(len(cmd.by))], copy=False)
    if sparks:
        sel = _with_sparklines(state, cmd, sel, src)
    sel = _each_value_aggs(state, cmd, plain, sel, src, span, event_time)
    state.select = sel
    names = list(cmd.by) + [agg_name(a) for a in cmd.aggs]
    _become_table(state, names)
    state.mv = {agg_name(a) for a in plain if a.func in ("values", "list")} - set(cmd.by)
    state.set_order([o for b in cmd.by for o in auto_order(b)], set(cmd.by))
    text_extremes_after(state, texts)


PER_VALUE_SKIP = {"values", "list", "first", "last", "earliest", "latest", "earliest_time", "latest_time", "rate"}
PER_VALUE_ZERO = {"count", "c", "dc", "distinct_count", "estdc"}


def _each_value_aggs(state: State, cmd: ast.StatsCmd, plain: list, sel: exp.Select, src: exp.Expression,
                     span, event_time) -> exp.Select:
    """Functions of a multivalue field count each of its values (Splunk Search Reference, stats:
    `sum`, `count`, `dc`, `avg`, `min`, `max`, percentiles... of a field with the values 1, 2, 3
    in one result are 6, 3, 3, 2, 1, 3): each such function is computed in a grouped query over
    the source with the field unnested (one per multivalue field), LEFT JOINed to the other
    functions' groups by the by-fields (a group none of whose results has a value: 0 for the
    counts, else null). values()/list() already read every value; first/last/earliest/latest
    keep the result's list."""
    mv_aggs = [(i, a) for i, a in enumerate(plain) if per_value_field(state, a) and a.arg not in cmd.by]
    if not mv_aggs:
        return sel
    by_names = list(cmd.by)
    main = f"__speleo_g{len(state.ctes)}"
    state.ctes.append((main, sel))
    out = {n: exp.column(n, table=main, quoted=True) for n in (e.alias_or_name for e in sel.expressions)}
    joined = exp.select().from_(exp.Table(this=exp.to_identifier(main)))
    cond = by_filter(state, cmd.by)
    for k, field in enumerate(dict.fromkeys(a.arg for _, a in mv_aggs)):
        aggs = [a for _, a in mv_aggs if a.arg == field]
        unnested = each_value_source(src, field)
        state.mv.discard(field)
        try:
            values = _event_time_aggs(state, aggs, span, event_time)
            cols = [exp.alias_(state.field(b), ident(b)) for b in cmd.by]
        finally:
            state.mv.add(field)
        cols += [exp.alias_(v, ident(agg_name(a))) for a, v in zip(aggs, values)]
        name = _grouped_cte(state, cols, unnested, cond, len(cmd.by), "__speleo_v")
        on = exp.and_(*[exp.NullSafeEQ(this=exp.column(b, table=main, quoted=True),
                                       expression=exp.column(b, table=name, quoted=True)) for b in by_names]) \
            if by_names else exp.true()
        joined = joined.join(exp.Table(this=exp.to_identifier(name)), on=on, join_type="left", copy=False)
        for a in aggs:
            v: exp.Expression = exp.column(agg_name(a), table=name, quoted=True)
            if a.func in PER_VALUE_ZERO:
                v = exp.Coalesce(this=v, expressions=[exp.Literal.number(0)])
            out[agg_name(a)] = v
    return joined.select(*[exp.alias_(v, ident(n)) for n, v in out.items()], copy=False)


def _grouped_cte(state: State, cols: list, source: exp.Expression, cond, n_by: int, prefix: str) -> str:
    """A CTE `SELECT cols FROM source [WHERE cond] GROUP BY` its first `n_by` columns; its name."""
    side = exp.select(*cols).from_(source)
    if cond is not None:
        side = side.where(cond.copy(), copy=False)
    if n_by:
        side = side.group_by(*[exp.Literal.number(i + 1) for i in range(n_by)], copy=False)
    name = f"{prefix}{len(state.ctes)}"
    state.ctes.append((name, side))
    return name


def per_value_field(state: State, agg) -> str | None:
    """The multivalue field a function reads each value of (see `_each_value_aggs`), or None."""
    if getattr(agg, "arg", None) and agg.expr is None and agg.arg in state.mv and agg.arg in state.columns \
            and agg.func not in PER_VALUE_SKIP:
        return agg.arg
    return None


def each_value_source(src: exp.Expression, field: str, keep_missing: bool = False) -> exp.Expression:
    """`src` with one row per value of the list column `field` (rows without a value left out,
    or with `keep_missing` kept as one row with a null `field`): the source of a grouped function
    of a multivalue field when it is the only function (chart and timechart with a split-by
    field, where a result without a value still makes its row and series: count 0, sum null)."""
    values = _or_one_null(col(field)) if keep_missing else col(field)
    return exp.select(exp.Star(replace=[exp.alias_(exp.Unnest(expressions=[values]), ident(field))])) \
        .from_(tbl(src)).subquery("__speleo_each")


def _or_one_null(values: exp.Expression) -> exp.Expression:
    """A list column, or the one-element list [NULL] when it is null or empty (so UNNEST keeps the row)."""
    empty = exp.EQ(this=exp.Coalesce(this=exp.Anonymous(this="len", expressions=[values.copy()]),
                                     expressions=[exp.Literal.number(0)]), expression=exp.Literal.number(0))
    return exp.Case(ifs=[exp.If(this=empty, true=exp.Array(expressions=[exp.null()]))], default=values.copy())


def text_extremes_over_results(state: State, aggs: list) -> list:
    """`_text_extremes` for eventstats and streamstats over results (after stats, chart...):
    not over events, where the step on the result would take every event through Arrow for
    the rare field holding no number (there min/max of text stay null, docs/spl.md)."""
    return _text_extremes(state, aggs) if state.top_level and not state.has_raw() else []


def text_extremes_after(state: State, texts: list) -> None:
    """The post step that puts the text min/max of `_text_extremes`'s hidden columns where a
    group (stats) or row (eventstats, streamstats) has no number."""
    if texts:
        state.post.append({"kind": "text_extremes", "pairs": [[n, h] for n, h, _v in texts],
                           "columns": [c for c in state.columns]})


NUMERIC_COLUMNS = frozenset({"_time", "_indextime", "linecount", "_offset"})   # stored as numbers


def compile_stats_command(state: State, cmd: ast.StatsCmd) -> None:
    """The `stats` command: compile_stats, with min()/max() over text (`_text_extremes`)."""
    compile_stats(state, cmd, text_minmax=state.top_level)


def _text_extremes(state: State, aggs: list) -> list[tuple[str, str, exp.Expression]]:
    """Splunk Search Reference, Aggregate functions, max()/min(): values are compared as
    numbers when they can be, and "if the values in the field are non-numeric, the maximum
    value is found using lexicographical ordering". The SQL gives min/max of the numbers; for
    each such function a hidden column gives the lexicographic min/max of the values as text,
    which the post step `text_extremes` (query/post.py) uses for the groups with no number at
    all. Returns (result name, hidden column, its aggregate) per min/max."""
    from speleo.spl.functions import compile_expr

    out = []
    for i, a in enumerate(aggs):
        if a.func not in ("min", "max") or a.arg is None:
            continue
        if a.expr is not None:
            f, kind = compile_expr(state, a.expr)
            if kind != "str":
                continue
        elif a.arg in NUMERIC_COLUMNS and a.arg in state.columns:
            continue   # always numbers: no text to order
        else:
            f = state.field(a.arg)
        if a.expr is None and a.arg in state.mv and a.arg in state.columns:   # each value of a multivalue field
            f = exp.Anonymous(this="list_min" if a.func == "min" else "list_max", expressions=[
                exp.Cast(this=f, to=exp.DataType.build("VARCHAR[]"))])
        t = exp.Cast(this=f, to=exp.DataType.build("VARCHAR"))
        agg = exp.Min(this=t) if a.func == "min" else exp.Max(this=t)
        out.append((agg_name(a), f"__speleo_text{i}", agg))
    return out


def _knowledge_by_fields(state: State, by: list[str]) -> None:
    """`eventtype`, `tag`, `tag::<field>` by-fields become list columns first, so each event
    counts once per event type or tag (as any multivalue by-field)."""
    from speleo.spl.commands.knowledge import is_knowledge_field

    for b in by:
        if is_knowledge_field(state, b):
            _assign(state, b, state.field(b), mv=True)


def _each_value(state: State, src: exp.Expression, fields: list[str], dedup: bool = False) -> exp.Expression:
    """stats by a multivalue field: a result counts in the group of each of its values (Search
    Reference: stats, https://help.splunk.com/splunk-enterprise/spl-search-reference/9.2/search-commands/stats,
    whose `dedup_splitvals` option, default false, says whether repeated values of a multivalue
    by-field count once). The source gets one row per value (`SELECT * REPLACE (UNNEST(f) AS f)`,
    nested for several fields: every combination; `list_distinct` first with dedup_splitvals=true).
    Only columns known to hold lists (State.mv) are unnested, so single-valued by-fields compile as
    before; a result with an empty or null list has no value and is left out, as a missing by-field."""
    for i, f in enumerate(fields):
        values: exp.Expression = col(f)
        if dedup:
            values = exp.Anonymous(this="list_distinct", expressions=[values])
        src = exp.select(exp.Star(replace=[exp.alias_(exp.Unnest(expressions=[values]), ident(f))])) \
            .from_(tbl(src)).subquery(f"__speleo_mv{i}")
    return src

def split_by_each_value(state: State, field: str, keep_missing: bool) -> None:
    """chart/timechart split by a multivalue field: a result counts in the row or series of each
    of its values, as `stats ... by` it does (`_each_value`; Search Reference: chart, timechart).
    The current select becomes one row per value of `field` when it is known to hold lists
    (State.mv); `keep_missing` keeps a result without a value as one row with a null `field`
    (the column field's NULL series). Nothing changes for a single-valued field."""
    if field not in state.mv or field not in state.columns:
        return
    state.wrap()
    src = state.select.args["from_"].this.copy()
    values = _or_one_null(col(field)) if keep_missing else col(field)   # no value: one row with null
    src = exp.select(exp.Star(replace=[exp.alias_(exp.Unnest(expressions=[values]), ident(field))])) \
        .from_(tbl(src)).subquery("__speleo_split")
    state.select = exp.select(exp.Star()).from_(src)
    state.mv.discard(field)


# --- sparkline ------------------------------------------------------------------------------

SPARKLINE_MAX = 1000            # at most this many buckets (the most recent ones)
SPARKLINE_BUCKETS = 20          # the automatic span gives at most this many buckets
# Splunk's span thresholds (Search Reference: timechart, "Spans used when minspan is specified").
AUTO_SPANS = (1, 5, 10, 30, 60, 300, 600, 1800, 3600, 86400, 2592000)
_LO, _HI, _SP = "__speleo_lo", "__speleo_hi", "__speleo_sp"


def _q(table: str, name: str) -> exp.Column:
    return exp.Column(this=ident(name), table=exp.to_identifier(table))


def _with_sparklines(state: State, cmd: ast.StatsCmd, main: exp.Select, src: exp.Expression) -> exp.Select:
    """sparkline(<func>, <span>): <func> per time bucket, as a multivalue list with one value per
    bucket from the earliest to the latest _time of the stats input (the same buckets for every
    row, as Splunk draws every sparkline over the search's time range). Empty buckets are "0"
    for count/dc/sum and null for other functions. Values are text, numbers printed as Splunk
    prints them. Without a span, the smallest of AUTO_SPANS that gives at most 20 buckets
    (epoch-aligned); with a span, buckets like timechart's (days and months in the time zone)."""
    t = num(state.field("_time"))
    cond = by_filter(state, cmd.by)
    n = len(state.ctes)
    main_name, rng_name = f"s{n}", f"s{n + 1}"
    state.ctes.append((main_name, main))
    width = exp.Sub(this=exp.Max(this=t.copy()), expression=exp.Min(this=t.copy()))
    ifs = [exp.If(this=exp.LTE(this=width.copy(), expression=exp.Literal.number((SPARKLINE_BUCKETS - 1) * s)),
                  true=exp.Literal.number(s)) for s in AUTO_SPANS]
    days = exp.Mul(this=exp.Cast(this=exp.Ceil(this=exp.Div(this=width.copy(), expression=exp.Literal.number(
        (SPARKLINE_BUCKETS - 1) * 86400))), to=exp.DataType.build("BIGINT")), expression=exp.Literal.number(86400))
    rng = exp.select(exp.alias_(exp.Min(this=t.copy()), ident(_LO)), exp.alias_(exp.Max(this=t.copy()), ident(_HI)),
                     exp.alias_(exp.Case(ifs=ifs, default=days), ident(_SP))).from_(src.copy())
    if cond is not None:
        rng = rng.where(cond.copy(), copy=False)
    state.ctes.append((rng_name, rng))
    out = [_q("m", b) for b in cmd.by]
    joins: list[tuple[str, list[str]]] = []
    for a in cmd.aggs:
        if not isinstance(a, Sparkline):
            out.append(_q("m", agg_name(a)))
            continue
        name = _sparkline_lists(state, cmd, a, src, rng_name)
        joins.append((name, cmd.by))
        out.append(exp.alias_(_sparkline_value(state, a, name), ident(agg_name(a))))
    sel = exp.select(*out).from_(exp.Table(this=exp.to_identifier(main_name), alias=exp.TableAlias(
        this=exp.to_identifier("m"))))
    sel = sel.join(exp.Table(this=exp.to_identifier(rng_name), alias=exp.TableAlias(this=exp.to_identifier("r"))),
                   join_type="cross", copy=False)
    for name, by in joins:
        on = exp.and_(*[exp.EQ(this=_q("m", b), expression=_q(name, b)) for b in by]) if by else exp.true()
        sel = sel.join(exp.Table(this=exp.to_identifier(name)), on=on, join_type="left", copy=False)
    return sel


def _span_of(state: State, a: Sparkline) -> tuple[int, str] | None:
    from speleo.spl.cursor import Cursor as _C
    from speleo.spl.tokens import T

    if a.span is None:
        return None
    tok = Token(T.WORD, a.span, a.start, a.end)
    return parse_span(_C(state.query, [tok]), tok)


def _sparkline_lists(state: State, cmd: ast.StatsCmd, a: Sparkline, src: exp.Expression, rng_name: str) -> str:
    """CTEs: the inner function per (by..., bucket), then per by-group the bucket list and the
    value list (both ordered by bucket). Returns the name of the second CTE."""
    span = _span_of(state, a)
    t = num(state.field("_time"))
    if span is None:
        sp = exp.column(_SP, quoted=True)
        bucket = exp.Mul(this=exp.Floor(this=exp.Div(this=t, expression=sp)), expression=sp.copy())
    else:
        bucket = bucket_expr(state, state.field("_time"), span)
    value = agg_sql(state, a.inner)
    as_num = exp.TryCast(this=value.copy(), to=exp.DataType.build("DOUBLE"))
    whole = exp.and_(exp.EQ(this=exp.Floor(this=as_num.copy()), expression=as_num.copy()),
                     exp.LT(this=exp.Abs(this=as_num.copy()), expression=exp.Literal.number("1e15")))
    shown = exp.Case(ifs=[exp.If(this=whole, true=text(exp.Cast(this=as_num.copy(), to=exp.DataType.build("BIGINT"))))],
                     default=text(value))
    cols = [exp.alias_(state.field(b), ident(b)) for b in cmd.by]
    per_bucket = exp.select(*cols, exp.alias_(exp.Cast(this=bucket, to=exp.DataType.build("DOUBLE")), ident("__b")),
                            exp.alias_(shown, ident("__v"))).from_(src.copy())
    if span is None:
        per_bucket = per_bucket.join(exp.Table(this=exp.to_identifier(rng_name)), join_type="cross", copy=False)
    conds = [exp.Not(this=exp.Is(this=t.copy(), expression=exp.null()))]
    cond = by_filter(state, cmd.by)
    if cond is not None:
        conds.append(cond)
    per_bucket = per_bucket.where(exp.and_(*conds), copy=False)
    per_bucket = per_bucket.group_by(*[exp.Literal.number(i + 1) for i in range(len(cmd.by) + 1)], copy=False)
    first = f"s{len(state.ctes)}"
    state.ctes.append((first, per_bucket))
    b = exp.column("__b", quoted=True)

    def ordered(e: exp.Expression) -> exp.Expression:
        return exp.ArrayAgg(this=exp.Order(this=e, expressions=[exp.Ordered(this=b.copy())]))

    lists = exp.select(*[col(x) for x in cmd.by], exp.alias_(ordered(b.copy()), ident("__k")),
                       exp.alias_(ordered(exp.column("__v", quoted=True)), ident("__vals"))).from_(tbl(first))
    if cmd.by:
        lists = lists.group_by(*[col(x) for x in cmd.by], copy=False)
    name = f"s{len(state.ctes)}"
    state.ctes.append((name, lists))
    return name


def _sparkline_value(state: State, a: Sparkline, lists: str) -> exp.Expression:
    """One value per bucket from the first to the last bucket of the input (`r`: lo, hi, span)."""
    span = _span_of(state, a)
    big = exp.DataType.build("BIGINT")
    lo, hi = _q("r", _LO), _q("r", _HI)
    if span is None or span[1] == "s":
        step = _q("r", _SP) if span is None else exp.Literal.number(span[0])

        def floor_to(e: exp.Expression) -> exp.Expression:
            return exp.Cast(this=exp.Mul(this=exp.Floor(this=exp.Div(this=e, expression=step.copy())),
                                         expression=step.copy()), to=big.copy())

        series = exp.Anonymous(this="generate_series", expressions=[floor_to(lo), floor_to(hi),
                                                                    exp.Cast(this=step.copy(), to=big.copy())])
        starts = exp.Anonymous(this="list_transform", expressions=[series, exp.Lambda(
            this=exp.Cast(this=exp.column("__x"), to=exp.DataType.build("DOUBLE")),
            expressions=[exp.to_identifier("__x")])])
    else:
        tz = state.tz_literal()

        def local(e: exp.Expression) -> exp.Expression:
            return exp.Anonymous(this="timezone", expressions=[
                tz.copy(), exp.Anonymous(this="to_timestamp", expressions=[bucket_expr(state, e, span)])])

        step = exp.Interval(this=exp.Literal.string(str(span[0])), unit=exp.var("DAY" if span[1] == "d" else "MONTH"))
        series = exp.Anonymous(this="generate_series", expressions=[local(lo), local(hi), step])
        epoch = exp.Cast(this=exp.Anonymous(this="epoch", expressions=[
            exp.Anonymous(this="timezone", expressions=[tz.copy(), exp.column("__x")])]), to=exp.DataType.build("DOUBLE"))
        starts = exp.Anonymous(this="list_transform", expressions=[series, exp.Lambda(
            this=epoch, expressions=[exp.to_identifier("__x")])])
    starts = exp.Anonymous(this="list_slice", expressions=[starts, exp.Literal.number(-SPARKLINE_MAX),
                                                           exp.Literal.number(-1)])
    found = exp.Anonymous(this="list_extract", expressions=[
        _q(lists, "__vals"), exp.Anonymous(this="list_position", expressions=[_q(lists, "__k"), exp.column("__x")])])
    fill = exp.Literal.string("0") if a.inner.func in SPARKLINE_ZERO else exp.Cast(this=exp.null(), to=exp.DataType.build("VARCHAR"))
    return exp.Anonymous(this="list_transform", expressions=[starts, exp.Lambda(
        this=exp.Coalesce(this=found, expressions=[fill]), expressions=[exp.to_identifier("__x")])])


def open_pivot_columns(state: State, first: list[exp.Expression], pivot: str) -> None:
    """After a SQL PIVOT (the CTE `pivot`; chart, timechart, xyseries with a split in a subsearch
    or a branch), select `first` (its columns) from it: its series columns are known only when
    it runs (State.open_columns). When later commands follow, each row also gets its JSON
    (ROW_JSON, hidden; State.open_row), from which `State.field` reads a column they name
    (`chart count over host by action | where failure > 5`: a series column, as text, null when
    the data made no such column), as the main search's commands read the real columns after
    the post step "columns"; the column is dropped at the end of the pipeline (compiler.build_state)."""
    from speleo.spl.state import ROW_JSON

    alias = "__speleo_pr"
    src = exp.Table(this=exp.to_identifier(pivot), alias=exp.TableAlias(this=exp.to_identifier(alias)))
    extra = []
    if state.later and not state.top_level:
        extra = [exp.alias_(exp.Anonymous(this="to_json", expressions=[exp.column(alias)]), ident(ROW_JSON))]
    state.select = exp.select(*first, *extra).from_(src)
    state.open_columns = True
    state.open_row = bool(extra)


def _become_table(state: State, names: list[str]) -> None:
    state.columns = _dedupe(names)
    state.open_columns = False
    state.open_row = False
    state.mv = set()
    state.events = False
    state.transforming = True
    state.order, state.order_cols, state.hidden_ord = None, set(), False


def _dedupe(names: list[str]) -> list[str]:
    seen: dict[str, None] = {}
    for n in names:
        seen[n] = None
    return list(seen)


def over_groups(agg: exp.Expression, parts: list[exp.Expression]) -> exp.Expression:
    """`agg` (a stats function's SQL) as window functions over the groups `parts`: the OVER
    goes on each aggregate inside it, as a function of a multivalue field's values() is
    `list_sort(list_distinct(flatten(list(m))))` and DuckDB windows aggregates only."""
    def win(e: exp.Expression) -> exp.Expression:
        return exp.Window(this=e, partition_by=[p.copy() for p in parts])

    def is_agg(e: exp.Expression) -> bool:
        return isinstance(e, exp.Filter) or (isinstance(e, exp.AggFunc) and not isinstance(e.parent, exp.Filter))

    if is_agg(agg):
        return win(agg)
    agg = agg.copy()
    inner = [n for n in agg.find_all(exp.Filter, exp.AggFunc) if is_agg(n)
             and not any(is_agg(a) for a in _ancestors(n, agg))]
    if not inner:
        return win(agg)
    for n in inner:
        n.replace(win(n.copy()))
    return agg


def _ancestors(node: exp.Expression, top: exp.Expression):
    p = node.parent
    while p is not None and p is not top.parent:
        yield p
        if p is top:
            return
        p = p.parent


def _eventstats_each_value(state: State, cmd: ast.StatsCmd, src: exp.Expression, cond) -> None:
    """eventstats of a multivalue field reads each value (as stats, `_each_value_aggs`): per
    multivalue field, its functions grouped by the by-fields over the field unnested, joined back
    to every result by its by-field values (a result missing one gets null, as the window)."""
    mv_aggs = [a for a in cmd.aggs if per_value_field(state, a)]
    if not mv_aggs:
        return
    keys = [f"__speleo_ek{i}" for i in range(len(cmd.by))]
    state.select = state.select.select(*[exp.alias_(state.field(b), ident(k)) for b, k in zip(cmd.by, keys)],
                                       copy=False)
    state.wrap()
    main = state.ctes[-1][0]
    hidden, replace = list(keys), []
    joined = exp.select().from_(exp.Table(this=exp.to_identifier(main)))
    for k, field in enumerate(dict.fromkeys(a.arg for a in mv_aggs)):
        aggs = [a for a in mv_aggs if a.arg == field]
        state.mv.discard(field)   # (a multivalue by-field goes through _eventstats_split instead)
        try:
            side_keys = [exp.alias_(state.field(b), ident(f"__speleo_sk{k}_{i}")) for i, b in enumerate(cmd.by)]
            values = [agg_sql(state, a) for a in aggs]
        finally:
            state.mv.add(field)
        vnames = [f"__speleo_sv{k}_{j}" for j in range(len(aggs))]
        name = _grouped_cte(state, [*side_keys, *[exp.alias_(v, ident(n)) for v, n in zip(values, vnames)]],
                            each_value_source(src.copy(), field), cond, len(cmd.by), "__speleo_es")
        on = exp.and_(*[exp.NullSafeEQ(this=col(key), expression=col(f"__speleo_sk{k}_{i}"))
                        for i, key in enumerate(keys)]) if keys else exp.true()
        joined = joined.join(exp.Table(this=exp.to_identifier(name)), on=on, join_type="left", copy=False)
        hidden += [f"__speleo_sk{k}_{i}" for i in range(len(cmd.by))] + vnames
        for a, n in zip(aggs, vnames):
            v: exp.Expression = col(n)
            if a.func in PER_VALUE_ZERO:   # a result with its by-fields gets 0, one without them null
                present = exp.and_(*[exp.Not(this=exp.Is(this=col(key), expression=exp.null())) for key in keys]) \
                    if keys else exp.true()
                v = exp.Case(ifs=[exp.If(this=present, true=exp.Coalesce(this=v, expressions=[exp.Literal.number(0)]))])
            replace.append(exp.alias_(v, ident(agg_name(a))))
    state.select = joined.select(exp.Star(except_=[col(h) for h in hidden], replace=replace), copy=False)


def _group_value(a, texts: dict) -> exp.Expression:
    """A group's value of function `a` in `_eventstats_split`: min()/max() of a group with no
    number is its lexicographic min/max (`_text_extremes`'s hidden column), as in stats."""
    name = agg_name(a)
    if name in texts:
        return exp.Coalesce(this=text_any(col(name)), expressions=[col(texts[name])])
    return col(name)


def _eventstats_split(state: State, cmd: ast.StatsCmd, src: exp.Expression) -> None:
    """eventstats by a multivalue field: the groups are those of `stats ... by` (a result counts
    in the group of each of its values, `_each_value`; Search Reference, stats). The eventstats
    page (https://help.splunk.com/splunk-enterprise/spl-search-reference/9.4/search-commands/eventstats)
    does not say what a result in several groups gets; Speleo writes on each result, per
    function, the list of its groups' values, one per distinct value of its by-field in the
    order of its values (a result in one group: a one-value list; several multivalue by-fields:
    every combination, nested in the order of the by-clause). values()/list() give the union /
    the concatenation of the groups' lists. So the function columns hold lists (State.mv) after
    an eventstats by a field known to hold lists, as a lookup's outputs do (decision 0045).
    A result missing a by-field, or whose groups' values are all null, gets null.

    Stages: the groups (`G`, as stats computes them, functions of a multivalue field reading each
    value); each result numbered (`__speleo_eid`, hidden) with its by-keys aside; the keys of the
    multivalue by-fields unnested (each distinct value once), LEFT JOINed to `G`; per result
    (a window by its number) the list of the joined values ordered by the value's position in
    its list; one row per result kept."""
    split = [b for b in cmd.by if b in state.mv and b in state.columns]
    keys = [f"__speleo_ek{i}" for i in range(len(cmd.by))]
    gkeys = [f"__speleo_gk{i}" for i in range(len(cmd.by))]
    gvals = [f"__speleo_gv{j}" for j in range(len(cmd.aggs))]
    eid, rn = "__speleo_eid", "__speleo_ern"
    # the functions under hidden names while grouping: an output may be named like a by-field
    # (`eventstats count as g by g`), whose column the grouped select also has
    inner = [dataclasses.replace(a, alias=f"__speleo_ga{j}") for j, a in enumerate(cmd.aggs)]
    # the groups, as stats by the same fields computes them
    cond = by_filter(state, cmd.by)
    state.mv -= set(split)
    try:
        grouped_src = _each_value(state, src.copy(), split, cmd.dedup_splitvals)
        cols = [exp.alias_(state.field(b), ident(b)) for b in cmd.by]
        cols += [exp.alias_(agg_sql(state, a), ident(agg_name(a))) for a in inner]
        texts = {name: hidden for name, hidden, _v in _text_extremes(state, inner)}   # min/max over text
        cols += [exp.alias_(v, ident(hidden)) for _name, hidden, v in _text_extremes(state, inner)]
        sel = exp.select(*cols).from_(tbl(grouped_src))
        if cond is not None:
            sel = sel.where(cond.copy(), copy=False)
        sel = sel.group_by(*[exp.Literal.number(i + 1) for i in range(len(cmd.by))], copy=False)
        sel = _each_value_aggs(state, cmd, inner, sel, grouped_src, None, None)
    finally:
        state.mv |= set(split)
    g = f"__speleo_eg{len(state.ctes)}"
    state.ctes.append((g, exp.select(*[exp.alias_(col(b), ident(k)) for b, k in zip(cmd.by, gkeys)],
                                     *[exp.alias_(_group_value(a, texts), ident(v)) for a, v in zip(inner, gvals)])
                       .from_(exp.Subquery(this=sel, alias=exp.TableAlias(this=exp.to_identifier("__speleo_eg"))))))
    # each result numbered, its by-keys aside (a multivalue one: its distinct values)
    whole = {b: f"__speleo_ew{i}" for i, b in enumerate(cmd.by) if b in split}
    extra = [exp.alias_(exp.Window(this=exp.RowNumber()), ident(eid))]
    for b, k in zip(cmd.by, keys):
        if b in split:
            extra += [exp.alias_(exp.Anonymous(this="list_distinct", expressions=[col(b)]), ident(k)),
                      exp.alias_(col(b), ident(whole[b]))]
        else:
            extra.append(exp.alias_(state.field(b), ident(k)))
    state.select = exp.select(exp.Star(), *extra).from_(tbl(src))
    state.wrap()
    joined: exp.Expression = state.select.args["from_"].this.copy()
    for b, k in zip(cmd.by, keys):
        if b in split:
            joined = each_value_source(joined, k, keep_missing=True)
    on = exp.and_(*[exp.NullSafeEQ(this=col(k), expression=col(gk)) for k, gk in zip(keys, gkeys)])
    sel = exp.select(exp.Star()).from_(joined).join(exp.Table(this=exp.to_identifier(g)), on=on, join_type="left",
                                                    copy=False)
    state.select = sel
    state.wrap()
    src2 = state.select.args["from_"].this.copy()
    order = [exp.Ordered(this=exp.Anonymous(this="list_position", expressions=[col(whole[b]), col(k)]))
             for b, k in zip(cmd.by, keys) if b in split]

    def per_result(agg: exp.Expression) -> exp.Expression:
        return exp.Window(this=agg, partition_by=[col(eid)])
    new = []
    for a, v in zip(cmd.aggs, gvals):
        if a.func in ("values", "list"):
            gathered = exp.Anonymous(this="flatten", expressions=[per_result(exp.ArrayAgg(this=exp.Order(
                this=col(v), expressions=[o.copy() for o in order])))])
            value: exp.Expression = exp.Anonymous(this="list_sort", expressions=[exp.Anonymous(
                this="list_distinct", expressions=[gathered])]) if a.func == "values" else gathered
        else:
            value = per_result(exp.Filter(this=exp.ArrayAgg(this=exp.Order(
                this=text_any(col(v)), expressions=[o.copy() for o in order])), expression=exp.Where(
                this=exp.Not(this=exp.Is(this=col(v), expression=exp.null())))))
        empty = exp.EQ(this=exp.Coalesce(this=exp.Anonymous(this="len", expressions=[value.copy()]),
                                         expressions=[exp.Literal.number(0)]), expression=exp.Literal.number(0))
        new.append(exp.alias_(exp.Case(ifs=[exp.If(this=empty, true=exp.null())], default=value), ident(agg_name(a))))
    names = [agg_name(a) for a in cmd.aggs]
    hidden = [eid, *keys, *gkeys, *gvals, *whole.values()]
    clash = [n for n in names if n in state.columns]
    state.select = exp.select(exp.Star(except_=[col(c) for c in clash]) if clash else exp.Star(), *new,
                              exp.alias_(exp.Window(this=exp.RowNumber(), partition_by=[col(eid)]), ident(rn))) \
        .from_(tbl(src2))
    state.wrap()
    state.select = exp.select(exp.Star(except_=[col(h) for h in hidden + [rn]])) \
        .from_(state.select.args["from_"].this.copy()).where(exp.EQ(this=col(rn), expression=exp.Literal.number(1)))
    state.columns = _dedupe([c for c in state.columns if c not in names] + names)
    state.mv |= set(names)


def compile_eventstats(state: State, cmd: ast.StatsCmd) -> None:
    """Add each aggregate to every row, computed over its by-group (window functions); min()
    and max() over text as in stats (`_text_extremes`)."""
    state.protect_order(set(agg_name(a) for a in cmd.aggs))
    state.wrap()
    src = state.select.args["from_"].this.copy()
    if any(b in state.mv and b in state.columns for b in cmd.by):
        _eventstats_split(state, cmd, src)
        return
    parts = [state.field(b) for b in cmd.by]
    new = []
    cond = by_filter(state, cmd.by)

    def window(agg: exp.Expression) -> exp.Expression:
        win = over_groups(agg, parts)
        return exp.Case(ifs=[exp.If(this=cond.copy(), true=win)]) if cond is not None else win
    for a in cmd.aggs:
        new.append(exp.alias_(window(agg_sql(state, a)), ident(agg_name(a))))
    # min()/max() over text as stats (`_text_extremes`), over results only: the post step decides
    # on the whole result whether a column holds text, which over events would carry every event
    # through Arrow (2.5x slower on 300,000 events, and unbounded in memory); over events they stay
    # numeric (`max(x)` of text values is null), as `streamstats` over events
    texts = _text_extremes(state, cmd.aggs) if state.top_level and not state.has_raw() else []
    new += [exp.alias_(window(v), ident(hidden)) for _name, hidden, v in texts]
    names = [agg_name(a) for a in cmd.aggs]
    keep = [exp.Star(except_=[col(n) for n in names if n in state.columns])] if set(names) & set(state.columns) else [exp.Star()]
    state.select = exp.select(*keep, *new).from_(tbl(src))
    _eventstats_each_value(state, cmd, src, cond)
    state.columns = _dedupe([c for c in state.columns if c not in names] + names)
    text_extremes_after(state, texts)
    for a in cmd.aggs:   # values() and list() are lists (State.mv); any other function a single value
        if a.func in ("values", "list"):
            state.mv.add(agg_name(a))
        else:
            state.mv.discard(agg_name(a))


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
        span = int(n * _SECONDS[letter]), "s"
    elif letter in ("d", "w"):
        span = int(n * (7 if letter == "w" else 1)), "d"
    else:
        span = int(n * {"mon": 1, "q": 3, "y": 12}[letter]), "mon"
    if span[0] < 1:   # a zero span would divide by zero
        raise cur.error("a span must be at least one second (one day, one month for those units)", tok)
    return span


def bucket_expr(state: State, field: exp.Expression, span: tuple[int, str]) -> exp.Expression:
    n, unit = span
    return TimeBucket(this=num(field), seconds=exp.Literal.number(n), unit=exp.Literal.string(unit),
                      tz=state.tz_literal(), near=near_range(state))



_NUMERIC_SPAN = re.compile(r"\d+(?:\.\d+)?|\.\d+")
_LOG_SPAN = re.compile(r"(\d+(?:\.\d+)?)?log(\d+(?:\.\d+)?)?$", re.I)
BIN_DEFAULT_BINS = 100          # Splunk's [discretize] default in limits.conf


def parse_bin(cur: Cursor, word: Token) -> ast.BinCmd:
    """Splunk Search Reference: bin / bucket (https://help.splunk.com/splunk-enterprise/spl-search-reference/9.4/search-commands/bin).
    `bin [span=<span>] [bins=<int>] [start=<num>] [end=<num>] <field> [as <name>]`.

    A span with a timescale (or any span on `_time`) is a time range; a bare number on another
    field is an absolute bin length ("numeric bins"). Without a span, a field other than `_time`
    gets at most `bins` (default 100) numeric bins; `start=`/`end=` only widen the range the
    span is chosen from. Log spans (`log10`), `minspan=`, `aligntime=` and `_time` without a
    span are not supported."""
    allowed = {"span", "bins", "start", "end"}
    opts = cur.options(allowed)
    field = cur.name()
    opts.update(cur.options(allowed))
    alias = cur.name("a name after 'as'").value if cur.accept_word("as") else None
    cur.expect_end()
    span = opts["span"].value if "span" in opts else None
    bins = None
    if "bins" in opts:
        bins = cur.integer(opts["bins"], "bins")
        if bins < 2:
            raise cur.error("bins= must be at least 2", opts["bins"])
    extent = []
    for key in ("start", "end"):
        if key in opts:
            try:
                extent.append((key, float(opts[key].value)))
            except ValueError:
                raise cur.error(f"expected a number for {key}=", opts[key]) from None
    if span is not None:
        if _LOG_SPAN.match(span):
            raise cur.unsupported("bin with a logarithmic span (log-span) is not supported", opts["span"])
        if _NUMERIC_SPAN.fullmatch(span):
            if float(span) <= 0:
                raise cur.error("span= must be greater than 0", opts["span"])
        else:
            parse_span(cur, opts["span"])
    elif field.value == "_time":
        raise cur.unsupported("bin _time without span= is not supported", word)
    return ast.BinCmd(field.value, span, alias, bins=bins, extent=tuple(extent), start=word.start, end=field.end)


def compile_bin(state: State, cmd: ast.BinCmd) -> None:
    from speleo.spl.cursor import Cursor as _C
    from speleo.spl.tokens import T
    if cmd.span is not None and _NUMERIC_SPAN.fullmatch(cmd.span) and cmd.field != "_time":
        target = _numeric_bin(state.field(cmd.field), exp.Literal.number(cmd.span), _decimals(cmd.span))
    elif cmd.span is None:
        target = _numeric_bins(state, cmd)
        _assign(state, cmd.alias or cmd.field, target, drop=[_BIN_K])
        return
    else:
        span_text = cmd.span + "s" if _NUMERIC_SPAN.fullmatch(cmd.span) else cmd.span   # _time span=10: seconds
        span = parse_span(_C(state.query, []), Token(T.WORD, span_text, cmd.start, cmd.end))
        if span[1] == "s" and cmd.field != "_time":
            target = exp.Mul(this=exp.Floor(this=exp.Div(this=num(state.field(cmd.field)),
                                                          expression=exp.Literal.number(span[0]))),
                             expression=exp.Literal.number(span[0]))
        else:
            target = bucket_expr(state, state.field(cmd.field), span)
    _assign(state, cmd.alias or cmd.field, target)


def _decimals(span: str) -> int:
    return len(span.split(".", 1)[1]) if "." in span else 0


def _number_text(e: exp.Expression) -> exp.Expression:
    """A bin bound as text: whole numbers without a decimal part ("10"), others as DuckDB prints
    the double ("2.5")."""
    whole = exp.and_(exp.EQ(this=exp.Floor(this=e.copy()), expression=e.copy()),
                     exp.LT(this=exp.Abs(this=e.copy()), expression=exp.Literal.number("1e15")))
    return exp.Case(ifs=[exp.If(this=whole, true=text(exp.Cast(this=e.copy(), to=exp.DataType.build("BIGINT"))))],
                    default=text(e.copy()))


def _numeric_bin(value: exp.Expression, span: exp.Expression, decimals: exp.Expression | int) -> exp.Expression:
    """Numeric bins: the value becomes the range "<start>-<end>" of its bin, start = the value
    rounded down to a multiple of the span, end = start + span (so 25 with span=10 is "20-30",
    -5 is "-10-0"). Bounds are rounded to `decimals` places (the span's own) against float
    error. A value that is not a number gives null."""
    dec = exp.Literal.number(decimals) if isinstance(decimals, int) else decimals
    k = exp.Floor(this=exp.Div(this=num(value), expression=span.copy()))
    lo = exp.Round(this=exp.Mul(this=k.copy(), expression=span.copy()), decimals=dec.copy())
    hi = exp.Round(this=exp.Mul(this=exp.paren(exp.Add(this=k, expression=exp.Literal.number(1))),
                                expression=span.copy()), decimals=dec.copy())
    return exp.DPipe(this=exp.DPipe(this=_number_text(lo), expression=exp.Literal.string("-")),
                     expression=_number_text(hi))


def _numeric_bins(state: State, cmd: ast.BinCmd) -> exp.Expression:
    """bins=N without a span: the span is the smallest power of ten (..., 0.1, 1, 10, 100, ...)
    giving at most N bins over the field's minimum and maximum (widened by start=/end=), as the
    Search Manual's "Search using time bins and spans" describes
    (https://docs.splunk.com/Documentation/Splunk/8.1.0/Search/Usingbinsandtimespans). With N >= 2,
    10^k or 10^(k+1) fits, k = ceil(log10((max - min) / N)); a single distinct value gets span 1.
    Two stages add the bounds (window aggregates over every row) and then the exponent k in a
    hidden column; the returned expression reads k (the caller's stage drops the column)."""
    x = num(state.field(cmd.field))
    lo: exp.Expression = exp.Window(this=exp.Min(this=x.copy()))
    hi: exp.Expression = exp.Window(this=exp.Max(this=x.copy()))
    for key, value in cmd.extent:
        lit = exp.Literal.number(repr(value))
        lo = exp.Least(this=lo, expressions=[lit]) if key == "start" else lo
        hi = exp.Greatest(this=hi, expressions=[lit]) if key == "end" else hi
    state.wrap()
    state.select = exp.select(exp.Star(), exp.alias_(lo, ident(_BIN_LO)), exp.alias_(hi, ident(_BIN_HI))) \
        .from_(state.select.args["from_"].this.copy())
    lo, hi, n = col(_BIN_LO), col(_BIN_HI), exp.Literal.number(cmd.bins or BIN_DEFAULT_BINS)
    width = exp.paren(exp.Sub(this=hi.copy(), expression=lo.copy()))
    k0 = exp.Case(ifs=[exp.If(this=exp.GT(this=width.copy(), expression=exp.Literal.number(0)), true=exp.Ceil(
        this=exp.Anonymous(this="log10", expressions=[exp.Div(this=width.copy(), expression=n.copy())])))],
        default=exp.Literal.number(0))
    s = exp.Pow(this=exp.Literal.number(10), expression=exp.paren(k0.copy()))
    count = exp.Add(this=exp.Sub(this=exp.Floor(this=exp.Div(this=hi.copy(), expression=s.copy())),
                                 expression=exp.Floor(this=exp.Div(this=lo.copy(), expression=s))),
                    expression=exp.Literal.number(1))
    k = exp.Case(ifs=[exp.If(this=exp.LTE(this=count, expression=n.copy()), true=k0.copy())],
                 default=exp.Add(this=exp.paren(k0), expression=exp.Literal.number(1)))
    state.wrap()
    state.select = exp.select(exp.Star(except_=[col(_BIN_LO), col(_BIN_HI)]), exp.alias_(k, ident(_BIN_K))) \
        .from_(state.select.args["from_"].this.copy())
    kc = col(_BIN_K)
    decimals = exp.Cast(this=exp.Greatest(this=exp.Neg(this=kc.copy()), expressions=[exp.Literal.number(0)]),
                        to=exp.DataType.build("INT"))
    return _numeric_bin(state.field(cmd.field), exp.Pow(this=exp.Literal.number(10), expression=kc), decimals)


_BIN_LO, _BIN_HI, _BIN_K = "__speleo_bin_lo", "__speleo_bin_hi", "__speleo_bin_k"


def _assign(state: State, name: str, value: exp.Expression, drop: list[str] | None = None,
            mv: bool = False) -> None:
    """SELECT *, value AS name (replacing an existing column of that name); `drop`: hidden
    columns of the source left out; `mv`: the value is a list (see State.mv)."""
    if mv:
        state.mv.add(name)
    else:
        state.mv.discard(name)
    state.protect_order({name})
    state.wrap()
    src = state.select.args["from_"].this.copy()
    out = [col(d) for d in drop or []]
    if name in state.columns:
        star = exp.Star(replace=[exp.alias_(value, ident(name))], except_=out or None)
        state.select = exp.select(star).from_(tbl(src))
    else:
        state.select = exp.select(exp.Star(except_=out or None), exp.alias_(value, ident(name))).from_(tbl(src))
        state.columns = state.columns + [name]


def _event_time_aggs(state: State, aggs: list[ast.Agg], span: tuple[int, str] | None,
                     event_time: str | None) -> list[exp.Expression]:
    """agg_sql of each function, reading `_time` from the column `event_time` when given
    (timechart: the event's time rather than its bucket)."""
    if event_time is None:
        return [agg_sql(state, a, span) for a in aggs]
    old = state.bindings.get("_time")
    state.bindings["_time"] = col(event_time)
    try:
        return [agg_sql(state, a, span) for a in aggs]
    finally:
        if old is None:
            state.bindings.pop("_time", None)
        else:
            state.bindings["_time"] = old
