"""Compilers of commands parsed in commands/extra.py that run on DuckDB:
convert, regex, makeresults, streamstats (others: rows.py,
extracts.py, continuation.py; spath is in reshape.py)."""

from __future__ import annotations

import fnmatch

from sqlglot import exp

from speleo.errors import SplError
from speleo.spl import ast
from speleo.spl.commands.stats import _assign
from speleo.spl.functions import match_node, num, text, time_parse
from speleo.spl.nodes import RegexExtract, RegexMatch, StrfTime
from speleo.spl.state import col, ident, State, tbl
from speleo.spl.cursor import as_bool

INDEXED = {"index", "host", "source", "sourcetype", "_time", "_indextime", "splunk_server"}


# --- tstats -----------------------------------------------------------------------------------


def _search_fields(node: ast.Node | None) -> list[ast.Node]:
    if node is None:
        return []
    if isinstance(node, (ast.And, ast.Or)):
        return [f for i in node.items for f in _search_fields(i)]
    if isinstance(node, ast.Not):
        return _search_fields(node.item)
    if isinstance(node, (ast.FieldCmp, ast.FieldIn)):
        return [node]
    return []


# --- convert ----------------------------------------------------------------------------------

DEFAULT_TIMEFORMAT = "%m/%d/%Y %H:%M:%S"
_NUMBER_PREFIX = r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)"
_DURATION = r"^\s*(?:(\d+)\+)?(\d+):(\d+):(\d+(?:\.\d+)?)\s*$"


def _group(value: exp.Expression, pattern: str, n: int) -> exp.Expression:
    return RegexExtract(this=value.copy(), expression=exp.Literal.string(pattern), group=exp.Literal.number(n))


def convert_value(state: State, func: str, value: exp.Expression, timeformat: str, item: ast.Node) -> exp.Expression:
    """One convert function on one field value (Splunk Search Reference: convert)."""
    s = text(value)
    if func == "ctime":            # epoch -> text; a value that is not a number is left as it is
        formatted = StrfTime(this=num(value.copy()), format=exp.Literal.string(timeformat), tz=state.tz_literal())
        return exp.Coalesce(this=formatted, expressions=[s])
    if func == "mktime":           # text in timeformat -> epoch (null when it does not parse)
        return time_parse(s, timeformat, exp.Literal.string(timeformat), state.tz_literal())
    if func == "num":              # a number, else removed
        return num(s)
    if func == "rmcomma":
        return num(exp.Anonymous(this="replace", expressions=[s, exp.Literal.string(","), exp.Literal.string("")]))
    if func == "rmunit":           # the leading number of "10kb", "3.5 sec"
        return num(_group(s, _NUMBER_PREFIX, 1))
    if func == "dur2sec":          # [D+]HH:MM:SS -> seconds
        parts = [exp.Coalesce(this=num(_group(s, _DURATION, i)), expressions=[exp.Literal.number(0)])
                 for i in range(1, 5)]
        total = exp.Add(this=exp.Add(this=exp.Add(
            this=exp.Mul(this=parts[0], expression=exp.Literal.number(86400)),
            expression=exp.Mul(this=parts[1], expression=exp.Literal.number(3600))),
            expression=exp.Mul(this=parts[2], expression=exp.Literal.number(60))), expression=parts[3])
        ok = RegexMatch(this=s.copy(), expression=exp.Literal.string(_DURATION))
        return exp.Case(ifs=[exp.If(this=ok, true=total)])
    if func == "none":
        return value
    raise state.fail(f"convert {func}() is not supported", item)


def compile_convert(state: State, cmd: ast.ConvertCmd) -> None:
    """Splunk Search Reference: convert. Without `as` the original field is replaced."""
    timeformat = cmd.timeformat or DEFAULT_TIMEFORMAT
    for item in cmd.items:
        if item.func == "auto":
            raise state.fail("convert auto() is not supported (its all-or-nothing rule needs every value)", item)
        names = [c for c in state.columns if fnmatch.fnmatchcase(c, item.field) and not c.startswith("__speleo")] \
            if "*" in item.field else [item.field]
        if "*" in item.field and item.alias:
            raise state.fail("convert with a wildcard field and 'as' is not supported", item)
        for name in names:
            _assign(state, item.alias or name, convert_value(state, item.func, state.field(name), timeformat, item))


# --- regex ----------------------------------------------------------------------------------------


def compile_regex(state: State, cmd: ast.RegexCmd) -> None:
    """Splunk Search Reference: regex. Keep results whose field matches (`!=`: does not match);
    a result without the field is kept by `!=` and dropped by `=`."""
    m = match_node(text(state.field(cmd.field)), cmd.regex, state, cmd)   # RE2, or the PCRE fallback
    cond = exp.Coalesce(this=m, expressions=[exp.false()])
    state.filter(exp.Not(this=exp.paren(cond)) if cmd.negate else cond)


# --- makeresults -------------------------------------------------------------------------------------


def compile_makeresults(state: State, cmd: ast.ArgsCmd) -> None:
    """Splunk Search Reference: makeresults. `count` results (default 1) with only `_time` = now."""
    unknown = set(cmd.options) - {"count"}
    if unknown:
        raise state.fail(f"makeresults {sorted(unknown)[0]}= is not supported", cmd)
    try:
        count = int(cmd.options.get("count", "1"))
    except ValueError:
        raise state.fail("makeresults count must be an integer", cmd) from None
    if count < 0:
        raise state.fail("makeresults count must not be negative", cmd)
    now = exp.Cast(this=exp.Literal.number(repr(float(state.ctx.now))), to=exp.DataType.build("DOUBLE"))
    # the results keep their generation order (a hidden row number), for filldown, streamstats...
    state.start_generated(count, now)


# --- streamstats ---------------------------------------------------------------------------------------

_WINDOW_AGGS = {"count", "dc", "sum", "avg", "min", "max", "stdev", "stdevp", "var", "varp",
                "first", "last", "earliest", "latest", "range"}


def _reset_condition(state: State, cmd: ast.StreamstatsCmd, key: str) -> exp.Expression | None:
    """reset_before / reset_after: an eval condition, quoted, in parentheses or not."""
    from speleo.spl.cursor import Cursor
    from speleo.spl.exprparse import parse_eval_expr
    from speleo.spl.functions import compile_condition
    from speleo.spl.tokens import lex

    source = cmd.options.get(key)
    if source is None:
        return None
    try:
        sub = Cursor(source, lex(source, 0, len(source), "expr"), "streamstats")
        expr = parse_eval_expr(sub)
        sub.expect_end()
    except SplError as e:
        raise state.fail(f"streamstats {key}=: {e.message}", cmd) from None
    return exp.Coalesce(this=compile_condition(state, expr), expressions=[exp.false()])


def _reset_segments(state: State, cmd: ast.StreamstatsCmd) -> bool | None:
    """Number the runs the resets cut the stream into (Search Reference: streamstats,
    reset_on_change: a change of the by-fields' values from one result to the next;
    reset_before: before a result matching the condition; reset_after: after it), in the hidden
    column __speleo_rseg; None when no reset is set."""
    order = exp.Order(expressions=[o.copy() for o in state.order])
    starts: list[exp.Expression] = []
    if as_bool(cmd.options.get("reset_on_change", "false")) and cmd.by:
        changed = [exp.NEQ(this=text(state.field(b)), expression=exp.Window(
            this=exp.Anonymous(this="lag", expressions=[text(state.field(b))]), order=order.copy())) for b in cmd.by]
        starts.append(exp.Coalesce(this=exp.or_(*changed), expressions=[exp.false()]))
    before = _reset_condition(state, cmd, "reset_before")
    if before is not None:
        starts.append(before)
    after = _reset_condition(state, cmd, "reset_after")
    if after is not None:
        starts.append(exp.Coalesce(this=exp.Window(this=exp.Anonymous(this="lag", expressions=[after]),
                                                   order=order.copy()), expressions=[exp.false()]))
    if not starts:
        return None
    mark = exp.Case(ifs=[exp.If(this=exp.or_(*[exp.paren(x) for x in starts]), true=exp.Literal.number(1))],
                    default=exp.Literal.number(0))
    src = state.select.args["from_"].this.copy()
    state.select = exp.select(exp.Star(), exp.alias_(mark, ident("__speleo_rmark"))).from_(tbl(src))
    state.wrap()
    src = state.select.args["from_"].this.copy()
    running = exp.WindowSpec(kind="ROWS", start="UNBOUNDED", start_side="PRECEDING", end="CURRENT ROW")
    seg = exp.Window(this=exp.Sum(this=col("__speleo_rmark")), order=order.copy(), spec=running)
    state.select = exp.select(exp.Star(), exp.alias_(seg, ident("__speleo_rseg"))).from_(tbl(src))
    state.wrap()
    return True


def _running(state: State, a: ast.Agg, window, agg_sql) -> exp.Expression:
    """One streamstats function over its window (`window(agg)` wraps an aggregate in the OVER
    clause). first()/last(): the first / last value present in the window, in the order the
    results stream (FIRST_VALUE / LAST_VALUE ignoring nulls: `streamstats current=f last(_time)`
    is the previous result's time); earliest()/latest(): the value at the smallest / largest
    _time; range(): max - min, each over the window."""
    if a.func in ("first", "last"):
        if a.expr is not None:
            raise state.fail(f"streamstats {a.func}(eval(...)) is not supported: eval the value first", a)
        f = state.field(a.arg)
        cls = exp.FirstValue if a.func == "first" else exp.LastValue
        return window(exp.IgnoreNulls(this=cls(this=f)))
    agg = agg_sql(state, a)
    if a.func == "range" and isinstance(agg, exp.Sub):
        return exp.Sub(this=window(agg.this), expression=window(agg.expression))
    return window(agg)


def compile_streamstats(state: State, cmd: ast.StreamstatsCmd) -> None:
    """Splunk Search Reference: streamstats. Running statistics over the results in their
    current order (events: newest first): `current=t` includes the result itself, `window=N`
    keeps the last N results, `by` keeps one running total per group (a result missing a
    by-field gets no value). `time_window=5m` keeps the results whose `_time` is within that
    duration of the current one, on the side already seen: the results must be in `_time` order
    (the events' own newest-first order, or `sort _time`), as Splunk requires; the window's far
    end is included. global=t with window and by, and time_window with window or current=f, are
    not supported."""
    from speleo.spl.commands.aggregates import agg_name, agg_sql, by_filter
    from speleo.spl.commands.events import _seconds

    for key in cmd.options:
        if key not in ("current", "window", "global", "reset_on_change", "reset_before", "reset_after", "time_window"):
            raise state.fail(f"streamstats {key}= is not supported", cmd)
    time_window = _seconds(state, cmd.options["time_window"], cmd) if "time_window" in cmd.options else None
    if time_window is not None:
        if time_window <= 0:
            raise state.fail("streamstats time_window must be a positive duration (30s, 5m, 1h)", cmd)
        if "window" in cmd.options or not as_bool(cmd.options.get("current", "true")):
            raise state.fail("streamstats time_window with window= or current=f is not supported", cmd)
        # the order keys read `_time` alone (`sort _time` sorts by a few expressions of it)
        keys = [o for o in state.order if not isinstance(o.this, exp.Is)]
        if not keys or {c.name for o in state.order for c in o.find_all(exp.Column)} != {"_time"} \
                or "_time" not in state.columns:
            raise state.fail("streamstats time_window needs the results in _time order (events as they come, "
                             "or | sort _time)", cmd)
        time_desc = bool(keys[0].args.get("desc"))
    current = as_bool(cmd.options.get("current", "true"))
    try:
        window = int(cmd.options.get("window", "0"))
    except ValueError:
        raise state.fail("streamstats window must be an integer", cmd) from None
    if window < 0:
        raise state.fail("streamstats window must not be negative", cmd)
    if window and cmd.by and as_bool(cmd.options.get("global", "true")):
        raise state.fail("streamstats window with by and global=true is not supported (use global=false)", cmd)
    for a in cmd.aggs:
        if a.func not in _WINDOW_AGGS:
            raise state.fail(f"streamstats function {a.label!r} is not supported", a)
    if not state.order:
        raise state.fail("streamstats needs a defined result order (add a sort)", cmd)
    names = [agg_name(a) for a in cmd.aggs]
    state.protect_order(set(names) | set(cmd.by))
    state.wrap()
    src = state.select.args["from_"].this.copy()
    if window:
        start = exp.Literal.number(window - 1 if current else window)
    else:
        start = "UNBOUNDED"
    order = [o.copy() for o in state.order]
    if time_window is not None:   # RANGE over _time alone: the results within the duration already seen
        spec = exp.WindowSpec(kind="RANGE", start=exp.Literal.number(time_window), start_side="PRECEDING",
                              end="CURRENT ROW")
        order = [exp.Ordered(this=exp.cast(col("_time"), "DOUBLE"), desc=time_desc)]
    elif current:
        spec = exp.WindowSpec(kind="ROWS", start=start, start_side="PRECEDING", end="CURRENT ROW")
    else:
        spec = exp.WindowSpec(kind="ROWS", start=start, start_side="PRECEDING",
                              end=exp.Literal.number(1), end_side="PRECEDING")
    parts = [state.field(b) for b in cmd.by]
    segment = _reset_segments(state, cmd)
    if segment is not None:
        src = state.select.args["from_"].this.copy()
        parts.append(col("__speleo_rseg"))
    cond = by_filter(state, cmd.by)
    new = []

    def window(agg: exp.Expression) -> exp.Expression:
        win = exp.Window(this=agg, partition_by=[p.copy() for p in parts],
                         order=exp.Order(expressions=[o.copy() for o in order]), spec=spec.copy())
        return exp.Case(ifs=[exp.If(this=cond.copy(), true=win)]) if cond is not None else win
    from speleo.spl.commands.stats import per_value_field, text_extremes_after, text_extremes_over_results

    per_value = [a for a in cmd.aggs if per_value_field(state, a)]
    for a in cmd.aggs:
        if a not in per_value:
            new.append(exp.alias_(_running(state, a, window, agg_sql), ident(agg_name(a))))

    texts = text_extremes_over_results(state, cmd.aggs)   # min()/max() over text, as stats
    new += [exp.alias_(window(v), ident(hidden)) for _name, hidden, v in texts]
    segment_cols = ["__speleo_rmark", "__speleo_rseg"] if segment else []
    later_names = {agg_name(a) for a in per_value}   # replaced by _streamstats_each_value
    clash = [n for n in names if n in state.columns and n not in later_names] + ([] if per_value else segment_cols)
    keep = [exp.Star(except_=[col(n) for n in clash])] if clash else [exp.Star()]
    inputs: dict[str, str] = {}
    keys = [f"__speleo_spk{i}" for i in range(len(parts))]
    if per_value:   # what the later stages read, as the results came in (an output may be named like it)
        inputs = {f: f"__speleo_sv{i}" for i, f in enumerate(dict.fromkeys(a.arg for a in per_value))}
        new += [exp.alias_(col(f), ident(h)) for f, h in inputs.items()]
        new += [exp.alias_(p.copy(), ident(k)) for p, k in zip(parts, keys)]
        if cond is not None:
            new.append(exp.alias_(cond.copy(), ident("__speleo_scond")))
    state.select = exp.select(*keep, *new).from_(tbl(src))
    if per_value:
        _streamstats_each_value(state, per_value, inputs, keys, order, spec, cond is not None,
                                time_window is not None, segment_cols)
    lists = {agg_name(a) for a in cmd.aggs if a.func in ("first", "last", "earliest", "latest")
             and a.expr is None and a.arg in state.mv and a.arg in state.columns}   # they keep the list
    state.columns = [c for c in state.columns if c not in names] + list(dict.fromkeys(names))
    state.mv = (state.mv - set(names)) | lists
    text_extremes_after(state, texts)


def _streamstats_each_value(state: State, aggs: list, inputs: dict[str, str], keys: list[str], order: list,
                            spec: exp.WindowSpec, has_cond: bool, by_time: bool, drop: list[str]) -> None:
    """streamstats functions of a multivalue field read each of its values, as stats does
    (Search Reference: stats, "a multivalue field's values"; streamstats computes the same
    functions over a window of results: Search Reference, streamstats,
    https://help.splunk.com/splunk-enterprise/spl-search-reference/9.4/search-commands/streamstats).
    The current select (compile_streamstats) holds, hidden, each field's list as the results came
    in (`inputs`: field -> column), the partition keys (`keys`) and the by-filter
    (`__speleo_scond`, when `has_cond`): every stage reads those, not the field or by-field
    itself, which an output of the same command may have replaced (`sum(b) as a count(a)`).
    Per multivalue field, three stages: each result gets its position in its partition
    (`row_number`, hidden); the field's input list is unnested (a result without a value keeps
    one row with null); each function runs over a RANGE frame on the position (`window=N` = the
    N results up to this one, whatever their number of values; `time_window` keeps its RANGE on
    `_time`); one row per result is kept again. The partition is the by-fields' whole values (a
    multivalue by-field partitions by its list). ROWS frames over the values would count values,
    not results, hence RANGE (on ClickHouse such a search runs on DuckDB: chrender renders ROWS
    frames only)."""
    from speleo.spl.commands.aggregates import agg_name, agg_sql
    from speleo.spl.commands.stats import each_value_source

    pos, rn = "__speleo_spos", "__speleo_srn"
    lo = spec.args.get("start")
    if spec.args.get("kind") == "ROWS":   # the same results, counted by position
        spec = exp.WindowSpec(kind="RANGE", start=lo.copy() if isinstance(lo, exp.Expression) else lo,
                              start_side="PRECEDING", end=spec.args.get("end") if isinstance(
                                  spec.args.get("end"), str) else spec.args["end"].copy(),
                              end_side=spec.args.get("end_side"))
    fields = list(inputs)
    for field in fields:
        mine = [a for a in aggs if a.arg == field]
        held = inputs[field]
        state.wrap()
        src = state.select.args["from_"].this.copy()
        numbered = exp.Window(this=exp.RowNumber(), partition_by=[col(k) for k in keys],
                              order=exp.Order(expressions=[o.copy() for o in order]))
        state.select = exp.select(exp.Star(), exp.alias_(numbered, ident(pos))).from_(tbl(src))
        state.wrap()
        unnested = each_value_source(state.select.args["from_"].this.copy(), held, keep_missing=True)
        frame_order = [o.copy() for o in order] if by_time else [exp.Ordered(this=col(pos))]

        def window(agg: exp.Expression) -> exp.Expression:
            win = exp.Window(this=agg, partition_by=[col(k) for k in keys],
                             order=exp.Order(expressions=[o.copy() for o in frame_order]), spec=spec.copy())
            return exp.Case(ifs=[exp.If(this=col("__speleo_scond"), true=win)]) if has_cond else win
        bound = state.bindings.get(field)
        state.bindings[field] = col(held)   # the functions read one input value per row
        state.mv.discard(field)
        try:
            values = [exp.alias_(_running(state, a, window, agg_sql), ident(agg_name(a))) for a in mine]
        finally:
            state.mv.add(field)
            if bound is None:
                state.bindings.pop(field, None)
            else:
                state.bindings[field] = bound
        clash = [agg_name(a) for a in mine if agg_name(a) in state.columns]
        star = exp.Star(except_=[col(c) for c in clash]) if clash else exp.Star()
        state.select = exp.select(star, *values).from_(unnested)
        state.wrap()
        src = state.select.args["from_"].this.copy()
        first = exp.Window(this=exp.RowNumber(), partition_by=[col(k) for k in keys] + [col(pos)])
        state.select = exp.select(exp.Star(), exp.alias_(first, ident(rn))).from_(tbl(src))
        state.wrap()
        hidden = [pos, rn, held] + ([*keys, *(["__speleo_scond"] if has_cond else []), *drop]
                                    if field == fields[-1] else [])   # read by every field's stages
        state.select = exp.select(exp.Star(except_=[col(h) for h in hidden])) \
            .from_(state.select.args["from_"].this.copy()).where(exp.EQ(this=col(rn), expression=exp.Literal.number(1)))
