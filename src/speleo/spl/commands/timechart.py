"""timechart (Splunk Search Reference: timechart): buckets of `_time`, a series per by-value,
OTHER and NULL series, and the empty buckets of cont=true."""

from __future__ import annotations

import math

from sqlglot import exp

from speleo.spl import ast
from speleo.spl.commands.aggregates import Sparkline, agg_name, parse_aggs
from speleo.spl.commands.stats import (_assign, _become_table, open_pivot_columns, _event_time_aggs, _text_extremes, bucket_expr, compile_stats,
                                      each_value_source, per_value_field, parse_span,
                                      split_by_each_value)
from speleo.spl.cursor import Cursor
from speleo.spl.functions import num, text
from speleo.spl.state import col, ident, State, tbl
from speleo.spl.tokens import T, Token


def parse_timechart(cur: Cursor, word: Token) -> ast.TimechartCmd:
    """Splunk Search Reference: timechart. `timechart [span=] [limit=] [useother=] [usenull=]
    [cont=] [otherstr=] [nullstr=] func(field)... [by f [options]]` (partial= and fixedrange=,
    which only change how a chart is drawn, are accepted and have no effect). The options may
    also follow the by-field (`timechart count by host limit=5`: the Reference's split-by clause
    takes its options after the field)."""
    allowed = {"span", "limit", *TIMECHART_OPTIONS}
    ignored = frozenset({"partial", "fixedrange"})
    opts = cur.options(allowed, ignored=ignored)
    if "span" in opts:
        parse_span(cur, opts["span"])
    aggs = parse_aggs(cur)
    by: list[str] = []
    if cur.accept_word("by"):
        while not cur.at_end() and not (cur.peek(1).kind is T.OP and cur.peek(1).value == "="):
            if not cur.accept(T.COMMA):
                by.append(cur.name().value)
        if not by:
            raise cur.error("expected a field after 'by'")
        after = cur.options(allowed, ignored=ignored)
        if "span" in after:
            parse_span(cur, after["span"])
        opts.update(after)
    if len(by) > 1:
        raise cur.unsupported("timechart accepts a single by-field")
    cur.expect_end()
    limit = cur.integer(opts["limit"], "limit") if "limit" in opts else 10
    span = opts["span"].value if "span" in opts else None
    extra = tuple((k, opts[k].value) for k in TIMECHART_OPTIONS if k in opts)
    for k, v in extra:
        if k in ("useother", "usenull", "cont") and v.lower() not in BOOLS:
            raise cur.error(f"{k}= takes true or false", opts[k])
    return ast.TimechartCmd(span, aggs, by[0] if by else None, limit, options=extra, start=word.start, end=word.end)


TIMECHART_OPTIONS = ("useother", "usenull", "cont", "otherstr", "nullstr", "aligntime")
BOOLS = {"t": True, "true": True, "1": True, "f": False, "false": False, "0": False}


def _align_offset(state: State, cmd: ast.TimechartCmd, span: tuple[int, str]) -> int:
    """Search Reference: timechart aligntime=earliest|latest|<time modifier>: the buckets start at
    that time (plus whole spans) instead of at multiples of the span from the epoch; ignored for
    spans of days or months. Returns the offset in seconds (0 to span-1)."""
    from speleo.spl.commands.search import parse_relative_time_at

    value = dict(cmd.options).get("aligntime")
    if value is None or span[1] != "s":
        return 0
    if value.lower() in ("earliest", "latest"):
        when = state.time_range[0 if value.lower() == "earliest" else 1]
        if when is None:
            when = state.ctx.now if value.lower() == "latest" else 0
    else:
        when = parse_relative_time_at(state, ast.TimeBound("earliest", value, start=cmd.start, end=cmd.end))
    return int(math.floor(when)) % span[0]


def _timechart_opts(cmd: ast.TimechartCmd) -> dict:
    """Splunk's defaults: useother=t usenull=t cont=t otherstr=OTHER nullstr=NULL."""
    given = dict(cmd.options)
    out = {k: BOOLS[given[k].lower()] if k in given else True for k in ("useother", "usenull", "cont")}
    out["otherstr"] = given.get("otherstr", "OTHER")
    out["nullstr"] = given.get("nullstr", "NULL")
    return out


def compile_timechart(state: State, cmd: ast.TimechartCmd) -> None:
    """Bucket _time, aggregate per bucket (and per by-value, pivoted to one column each).

    Splunk Search Reference: timechart. With `by`, series beyond `limit` (ranked by their event
    count) are merged into an OTHER series (`useother=f`: dropped; `otherstr=` names it), and
    events without the by-field form a NULL series (`usenull=f`: left out; `nullstr=` names it).
    With `cont=t` (the default) and a span in seconds, every bucket of the search's time range
    (or, without one, from the first to the last bucket with events) is in the result: counts 0,
    other functions null. The functions see each event's own _time (kept in a hidden column), so
    earliest/latest/earliest_time/latest_time/rate are exact within a bucket;
    per_second/per_minute/per_hour/per_day scale to the span.
    """
    from speleo.spl.cursor import Cursor as _C
    from speleo.spl.tokens import T
    span = parse_span(_C(state.query, []), Token(T.WORD, cmd.span or "1h", cmd.start, cmd.end)) if cmd.span else _auto_span(state)
    for a in cmd.aggs:
        if isinstance(a, Sparkline):
            raise state.fail("sparkline is only supported in stats and in chart without a column split", a)
    opts = _timechart_opts(cmd)
    state.order = None
    align = _align_offset(state, cmd, span)
    bucket = bucket_expr(state, state.field("_time"), span)
    if align:
        bucket = exp.Add(this=bucket_expr(state, exp.Sub(this=num(state.field("_time")), expression=exp.Literal.number(align)),
                                          span), expression=exp.Literal.number(align))
    state.bucket_align = align                                          # type: ignore[attr-defined]
    _assign(state, EVENT_TIME, state.field("_time"))
    if cmd.by is None:
        by_cmd = ast.StatsCmd("stats", cmd.aggs, ["_time"])
        _assign_time_then_stats(state, bucket, by_cmd, span)
        zero = [agg_name(a) for a in cmd.aggs if a.func in ("count", "dc")]
    else:
        _timechart_by(state, cmd, bucket, span, opts)
        zero = None if cmd.aggs[0].func in ("count", "dc") else []
    if opts["cont"] and not (cmd.by is not None and state.top_level):
        _fill_buckets(state, span, zero)


def _pivot_after(state: State, series: str, cmd: ast.TimechartCmd, span: tuple[int, str], opts: dict,
                 text: bool = False) -> None:
    """The main search's `timechart by`: SQL gives one row per (bucket, series), plus one per empty
    bucket (cont=true), and a post step (query/post.py "pivot") makes one column per series. A PIVOT in
    SQL would cost a second pass over the events (DuckDB first finds the pivot's columns). `text`:
    the rows carry min()/max()'s text extreme (TEXT_VALUE), put in first by the step `text_extremes`."""
    src = state.ctes[-1][0]
    extra = [col(TEXT_VALUE)] if text else []
    state.select = exp.select(col("_time"), col(series), col("__speleo_value"), *extra).from_(tbl(src))
    if opts["cont"]:   # the buckets without events: grid rows in no series (the pivot gives them no column)
        grid_rows = exp.select(col("_time"), exp.alias_(exp.Literal.string(DROPPED), ident(series)),
                               exp.alias_(exp.null(), ident("__speleo_value")),
                               *[exp.alias_(exp.Cast(this=exp.null(), to=exp.DataType.build("VARCHAR")), ident(TEXT_VALUE))
                                 for _ in extra]) \
            .from_(_grid(state, span, src).subquery("__speleo_g"))
        state.select = exp.union(state.select, grid_rows, distinct=False)
    if text:
        state.post.append({"kind": "text_extremes", "pairs": [["__speleo_value", TEXT_VALUE]],
                           "columns": ["_time", series, "__speleo_value"]})
    state.post.append({"kind": "pivot", "series": series, "value": "__speleo_value", "dropped": DROPPED,
                       "last": [opts["nullstr"] if opts["usenull"] else None, opts["otherstr"] if opts["useother"] else None],
                       "zero": cmd.aggs[0].func in ("count", "dc"), "columns": ["_time"]})
    _become_table(state, ["_time", series, "__speleo_value"])
    state.set_order([exp.Ordered(this=col("_time"))], {"_time"})


def _calendar_grid(state: State, span: tuple[int, str], found: str) -> exp.Select:
    """`SELECT _time` of every day / month bucket (in the search's zone, DST-aware) from the
    bucket of the search's earliest (else the first bucket found) to the bucket of its latest
    (else the last found), when they are at most MAX_FILLED buckets apart (else the first only)."""
    n, unit = span
    lo, hi = _fill_range(state)
    days = n * (31 if unit == "mon" else 1)
    if lo is not None and hi is not None and (hi - lo) / (days * 86400) <= MAX_FILLED:
        bounds = exp.select(exp.alias_(bucket_expr(state, exp.Literal.number(repr(float(lo))), span), ident("lo")),
                            exp.alias_(bucket_expr(state, exp.Literal.number(repr(float(hi) - 0.001)), span), ident("hi")))
    else:
        bounds = exp.select(exp.alias_(exp.Min(this=col("_time")), ident("lo")),
                            exp.alias_(exp.Max(this=col("_time")), ident("hi"))).from_(tbl(found))
    near = exp.LTE(this=exp.Sub(this=col("hi"), expression=col("lo")), expression=exp.Literal.number(MAX_FILLED * days * 86400))
    last = exp.Case(ifs=[exp.If(this=near, true=col("hi"))], default=col("lo"))
    tz = state.tz_literal()

    step = exp.Interval(this=exp.Literal.string(str(n)), unit=exp.var("MONTH" if unit == "mon" else "DAY"))

    def wall(e: exp.Expression) -> exp.Expression:
        # the bucket start as local wall-clock time, bucketed again: a bucket whose local
        # midnight does not exist (a DST gap at midnight) starts at 01:00, and a series from
        # there would step through 01:00 of every later day instead of their midnights
        local = exp.Anonymous(this="timezone", expressions=[tz.copy(), exp.Anonymous(this="to_timestamp", expressions=[e])])
        return exp.Anonymous(this="time_bucket", expressions=[step.copy(), local])

    series = exp.Anonymous(this="generate_series", expressions=[wall(col("lo")), wall(last), step])
    back = exp.Anonymous(this="epoch", expressions=[exp.Anonymous(this="timezone", expressions=[
        tz.copy(), exp.Anonymous(this="unnest", expressions=[series])])])
    return exp.select(exp.alias_(_as_double(back), ident("_time"))).from_(bounds.subquery("b")) \
        .where(exp.Not(this=exp.Is(this=col("lo"), expression=exp.null())), copy=False)


def _grid(state: State, span: tuple[int, str], found: str) -> exp.Select:
    """`SELECT _time` of every bucket cont=true shows: over the searched range when it is at most
    MAX_FILLED buckets, else from the first to the last bucket in `found` (only the first when
    those are further apart)."""
    if span[1] != "s":
        return _calendar_grid(state, span, found)
    n = span[0]
    lo, hi = _fill_range(state)
    step = exp.Literal.number(n)
    off = getattr(state, "bucket_align", 0)
    if lo is not None and hi is not None and (hi - lo) / n <= MAX_FILLED:
        first = exp.Literal.number(int(math.floor((lo - off) / n) * n + off))
        last = exp.Literal.number(int(math.ceil((hi - off) / n) * n - n + off))
        return exp.select(exp.alias_(_as_double(exp.Anonymous(this="unnest", expressions=[
            exp.Anonymous(this="generate_series", expressions=[first, last, step])])), ident("_time")))
    bigint = exp.DataType.build("BIGINT")
    bounds = exp.select(exp.alias_(exp.Cast(this=exp.Min(this=col("_time")), to=bigint), ident("lo")),
                        exp.alias_(exp.Cast(this=exp.Max(this=col("_time")), to=bigint.copy()), ident("hi"))) \
        .from_(tbl(found))
    near = exp.LTE(this=exp.Sub(this=col("hi"), expression=col("lo")), expression=exp.Literal.number(MAX_FILLED * n))
    last = exp.Case(ifs=[exp.If(this=near, true=col("hi"))], default=col("lo"))
    series = exp.Anonymous(this="generate_series", expressions=[col("lo"), last, step])
    return exp.select(exp.alias_(_as_double(exp.Anonymous(this="unnest", expressions=[series])), ident("_time"))) \
        .from_(bounds.subquery("b"))


def _fill_buckets(state: State, span: tuple[int, str], zero: list[str] | None) -> None:
    """Add the buckets without events (Splunk's cont=true, see `_grid`) to a result with one row
    per `_time` bucket; buckets found outside the grid (a command moved `_time`) stay. The
    columns in `zero` (None: every column but _time) become 0 in added rows."""
    state.wrap()
    found = state.ctes[-1][0]
    grid = _grid(state, span, found)
    found_times = exp.select(exp.alias_(_as_double(col("_time")), ident("_time"))).from_(tbl(found)) \
        .where(exp.Not(this=exp.Is(this=col("_time"), expression=exp.null())), copy=False)
    state.ctes.append((f"s{len(state.ctes)}", exp.union(grid, found_times, distinct=True)))
    g = state.ctes[-1][0]
    t = exp.column("_time", table=g, quoted=True)
    others = exp.Column(this=exp.Star(except_=[col("_time")]), table=ident(found))
    if zero is None:
        values = [exp.Coalesce(this=exp.Anonymous(this="columns", expressions=[others]),
                               expressions=[exp.Literal.number(0)])]
    elif not zero and state.columns == ["_time"]:   # pivoted series: columns known at run time only
        values = [others]
    else:
        values = [exp.alias_(exp.Coalesce(this=exp.column(c, table=found, quoted=True), expressions=[exp.Literal.number(0)]),
                             ident(c)) if c in zero else exp.column(c, table=found, quoted=True)
                  for c in state.columns if c != "_time"]
        # the hidden text min/max of stats' `_text_extremes` (their post step reads them)
        values += [exp.alias_(exp.column(h, table=found, quoted=True), ident(h))
                   for step in state.post if step["kind"] == "text_extremes" for _n, h in step["pairs"]]
    on = exp.EQ(this=t.copy(), expression=exp.column("_time", table=found, quoted=True))
    state.select = exp.select(exp.alias_(t, ident("_time")), *values).from_(tbl(g)) \
        .join(found, on=on, join_type="left", copy=False)
    state.set_order([exp.Ordered(this=col("_time"))], {"_time"})


MAX_FILLED = 10_000   # buckets added by cont=true over the search's time range


def _fill_range(state: State) -> tuple[float | None, float | None]:
    """The searched range cont=true fills: latest defaults to now when earliest is given, as a
    Splunk search's latest does."""
    lo, hi = state.time_range
    if lo is not None and hi is None:
        hi = state.ctx.now
    return lo, hi


def _as_double(e: exp.Expression) -> exp.Expression:
    return exp.Cast(this=e, to=exp.DataType.build("DOUBLE"))


EVENT_TIME = "__speleo_event_time"


def _auto_span(state: State) -> tuple[int, str]:
    """Splunk picks the span from the time range; without one, use 1h for <= 3 days, else 1d."""
    return (3600, "s")


def _assign_time_then_stats(state: State, bucket: exp.Expression, cmd: ast.StatsCmd,
                            span: tuple[int, str] | None = None) -> None:
    _assign(state, "_time", bucket)
    compile_stats(state, cmd, span, event_time=EVENT_TIME, text_minmax=state.top_level)


def _timechart_by(state: State, cmd: ast.TimechartCmd, bucket: exp.Expression,
                  span: tuple[int, str] | None = None, opts: dict | None = None) -> None:
    """Aggregate per (bucket, series), then PIVOT: one column per series; series beyond `limit`
    become OTHER. A missing (bucket, series) is 0 for count and dc, null for the others."""
    if len(cmd.aggs) != 1:
        raise state.fail("timechart by a field supports one function", cmd.aggs[1])
    opts = opts or _timechart_opts(cmd)
    series = "__speleo_series"
    # Events of series left out (usenull=f, useother=f) still count for the time axis: they go to
    # a series named DROPPED, whose column is removed after the PIVOT.
    null_name = opts["nullstr"] if opts["usenull"] else DROPPED
    split_by_each_value(state, cmd.by, keep_missing=True)   # a multivalue by-field: a series per value
    _assign(state, series, exp.Coalesce(this=text(state.field(cmd.by)), expressions=[exp.Literal.string(null_name)]))
    _assign(state, "_time", bucket)
    merge = MERGEABLE.get(cmd.aggs[0].func) if cmd.limit > 0 else None
    if cmd.limit > 0 and merge is None:
        _limit_series(state, series, cmd.limit, opts)
    each = per_value_field(state, cmd.aggs[0])   # a multivalue field: the function reads each value
    if each:
        state.mv.discard(each)
    value = _event_time_aggs(state, cmd.aggs, span, EVENT_TIME)[0]
    # min()/max() over text as stats (stats._text_extremes): the main search's cells with no number
    # take the lexicographic min/max, a post step before the pivot puts it in (`_pivot_after`)
    texts = _text_extremes(state, cmd.aggs) if state.top_level else []
    state.wrap()
    if each:
        src = each_value_source(state.select.args["from_"].this.copy(), each, keep_missing=True)
        state.select = exp.select(exp.Star()).from_(src)
    items = [col("_time"), col(series), exp.alias_(value, ident("__speleo_value"))]
    items += [exp.alias_(v, ident(TEXT_VALUE)) for _n, _h, v in texts]
    if merge is not None:
        items.append(exp.alias_(exp.Count(this=exp.Star()), ident("__speleo_n")))
    grouped = exp.select(*items).from_(state.select.args["from_"].this.copy()) \
        .where(exp.Not(this=exp.Is(this=col("_time"), expression=exp.null())), copy=False) \
        .group_by(col("_time"), col(series), copy=False)   # no bucket for a null _time, as in stats by _time
    state.ctes.append((f"s{len(state.ctes)}", grouped))
    if merge is not None:
        _merge_other(state, series, cmd.limit, merge, opts, count=cmd.aggs[0].func == "count", text=bool(texts))
    if state.top_level:
        _pivot_after(state, series, cmd, span, opts, text=bool(texts))
        return
    using: exp.Expression = exp.Anonymous(this="any_value", expressions=[col("__speleo_value")])
    if cmd.aggs[0].func in ("count", "dc"):
        using = exp.Coalesce(this=using, expressions=[exp.Literal.number(0)])
    pivot = exp.Pivot(this=exp.Table(this=exp.to_identifier(state.ctes[-1][0])), expressions=[col(series)],
                      using=[using], group=exp.Group(expressions=[col("_time")]))
    state.ctes.append((f"s{len(state.ctes)}", pivot))
    kept = exp.Lambda(this=exp.NEQ(this=exp.column("__c"), expression=exp.Literal.string(DROPPED)),
                      expressions=[exp.to_identifier("__c")])
    pivot_name = state.ctes[-1][0]
    _become_table(state, ["_time"])          # the series columns are data, unknown here
    open_pivot_columns(state, [exp.Anonymous(this="columns", expressions=[kept])], pivot_name)
    state.set_order([exp.Ordered(this=col("_time"))], {"_time"})


TEXT_VALUE = "__speleo_textv"   # timechart by: a cell's lexicographic min/max (stats._text_extremes)
DROPPED = "__speleo_dropped"   # the series of events whose series is left out (see _timechart_by)


def _series_rank(total: exp.Expression, series: exp.Expression) -> exp.Expression:
    """Rank of a series by event count (ties by name); the DROPPED series ranks last."""
    dropped = exp.EQ(this=series.copy(), expression=exp.Literal.string(DROPPED))
    return exp.Window(this=exp.Anonymous(this="dense_rank", expressions=[]),
                      order=exp.Order(expressions=[exp.Ordered(this=dropped), exp.Ordered(this=total, desc=True),
                                                   exp.Ordered(this=series.copy())]))


def _series_name(series: exp.Expression, rank: exp.Expression, limit: int, opts: dict) -> exp.Expression:
    """The series' own name within `limit`, else OTHER (otherstr=), or DROPPED with useother=f."""
    other = exp.Literal.string(opts["otherstr"] if opts["useother"] else DROPPED)
    dropped = exp.EQ(this=series.copy(), expression=exp.Literal.string(DROPPED))
    return exp.Case(ifs=[exp.If(this=dropped, true=series.copy()),
                         exp.If(this=exp.LTE(this=rank, expression=exp.Literal.number(limit)), true=series)],
                    default=other)


# Functions whose per-(bucket, series) values combine into OTHER's value without the events:
# the series are ranked and merged after aggregating, over a few rows instead of every event.
MERGEABLE: dict[str, type] = {"count": exp.Sum, "sum": exp.Sum, "min": exp.Min, "max": exp.Max}


def _merge_other(state: State, series: str, limit: int, merge: type, opts: dict, count: bool = False,
                 text: bool = False) -> None:
    """After `SELECT _time, series, value, n ... GROUP BY _time, series` (the last CTE): rank the
    series by event count (sum of n; ties by name), rename those past `limit` OTHER and combine
    the values of a bucket's OTHER rows with `merge` (Splunk's useother)."""
    agg = state.ctes[-1][0]
    rank = _series_rank(exp.Sum(this=col("__speleo_n")), col(series))
    name = _series_name(col(series), rank, limit, opts)
    ranked = exp.select(exp.alias_(col(series), ident("__speleo_key")), exp.alias_(name, ident("__speleo_name"))) \
        .from_(tbl(agg)).group_by(col(series), copy=False)
    state.ctes.append((f"s{len(state.ctes)}", ranked))
    names = state.ctes[-1][0]
    on = exp.EQ(this=exp.column(series, table=agg, quoted=True), expression=exp.column("__speleo_key", table=names, quoted=True))
    value: exp.Expression = merge(this=exp.column("__speleo_value", table=agg, quoted=True))
    if count:   # a sum of counts is a count (DuckDB's SUM of BIGINT is a 128-bit integer)
        value = exp.Cast(this=value, to=exp.DataType.build("BIGINT"))
    extra = [exp.alias_(merge(this=exp.column(TEXT_VALUE, table=agg, quoted=True)), ident(TEXT_VALUE))] if text else []
    merged = exp.select(exp.alias_(exp.column("_time", table=agg, quoted=True), ident("_time")),
                        exp.alias_(exp.column("__speleo_name", table=names, quoted=True), ident(series)),
                        exp.alias_(value, ident("__speleo_value")), *extra) \
        .from_(tbl(agg)).join(names, on=on, copy=False) \
        .group_by(exp.Literal.number(1), exp.Literal.number(2), copy=False)
    state.ctes.append((f"s{len(state.ctes)}", merged))


def _limit_series(state: State, series: str, limit: int, opts: dict) -> None:
    """Rank series by event count; those past `limit` are renamed OTHER, or DROPPED with
    useother=f (Splunk's useother)."""
    total = exp.Window(this=exp.Count(this=exp.Star()), partition_by=[col(series)])
    _assign(state, "__speleo_total", total)
    _assign(state, series, _series_name(col(series), _series_rank(col("__speleo_total"), col(series)), limit, opts))
