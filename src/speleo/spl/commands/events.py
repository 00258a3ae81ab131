"""transaction, dedup (sortby, keepempty, consecutive), fillnull on events, fieldsummary,
extract/kv, metadata, eventcount, cluster (Splunk Search Reference pages of each command)."""

from __future__ import annotations

import re

from sqlglot import exp

from speleo.spl import ast
from speleo.spl.commands.search import search_condition
from speleo.spl.commands.stats import _assign, _become_table, parse_span
from speleo.spl.cursor import Cursor, as_bool
from speleo.spl.functions import compile_condition, num, text
from speleo.spl.nodes import ValuesAgg
from speleo.spl.state import BASE_COLUMNS, ORD, col, ident, State, tbl
from speleo.spl.tokens import T, Token, is_digits

_SEARCH_NODES = (ast.Term, ast.FieldCmp, ast.FieldIn, ast.And, ast.Or, ast.Not, ast.TimeBound)


def _seconds(state: State, value: str, node: ast.Node) -> float:
    """A duration like 30s, 5m, 1h, 2d (plain number = seconds)."""
    if re.fullmatch(r"\d+(\.\d+)?", value):
        return float(value)
    tok = Token(T.WORD, value, node.start, node.end)
    try:
        n, unit = parse_span(Cursor(state.query, [tok]), tok)
    except Exception:
        raise state.fail(f"invalid duration {value!r}", node) from None
    if unit != "s" and unit != "d":
        raise state.fail(f"duration {value!r} in months is not supported", node)
    return float(n if unit == "s" else n * 86400)


def _filter_expr(state: State, node: ast.Node) -> exp.Expression:
    if isinstance(node, _SEARCH_NODES):
        return search_condition(state, node)
    return compile_condition(state, node)


# --- transaction ----------------------------------------------------------------------------------


def compile_transaction(state: State, cmd: ast.TransactionCmd) -> None:
    """Splunk Search Reference: transaction. Events with the same values of the fields (events
    missing one are left out) are grouped, in time order, into transactions; a new transaction
    starts when the gap from the previous event is over `maxpause`, when the transaction would
    last over `maxspan` (measured from its first event), at an event matching `startswith`, or
    after an event matching `endswith`. Each transaction is one event: `_time` of its first event,
    `duration` (last - first `_time`), `eventcount`, `_raw` the events' raw text joined by
    newlines in time order, the fields, host/source/sourcetype/index of the first event, other
    known fields as multivalue lists of distinct values. Newest transaction first. With
    `startswith`, a transaction whose first event does not match it is evicted: left out unless
    `keepevicted=true`."""
    allowed = {"maxspan", "maxpause", "keepevicted", "mvlist", "maxopentxn", "maxopenevents", "connected"}
    for key in cmd.options:
        if key not in allowed:
            raise state.fail(f"transaction {key}= is not supported", cmd)
    if as_bool(cmd.options.get("mvlist", "false")):
        raise state.fail("transaction mvlist=true is not supported", cmd)
    keepevicted = as_bool(cmd.options.get("keepevicted", "false"))
    maxpause = _seconds(state, cmd.options["maxpause"], cmd) if "maxpause" in cmd.options else None
    maxspan = _seconds(state, cmd.options["maxspan"], cmd) if "maxspan" in cmd.options else None
    events = state.has_raw()
    if not events and "_time" not in state.columns:
        raise state.fail("transaction needs events, or results with _time (as tstats ... by _time gives)", cmd)
    present = set(state.columns) | (set(BASE_COLUMNS) if events else set())
    lists = set(state.mv)
    keys = [f"__speleo_k{i}" for i in range(len(cmd.fields))]
    others = [c for c in state.columns if c not in BASE_COLUMNS and not c.startswith("__speleo")
              and c not in cmd.fields]
    # search-time fields a later command reads are merged too (Splunk merges every field)
    others += sorted(n for n in ast.field_names(state.later) if n not in others and n not in cmd.fields
                     and n not in BASE_COLUMNS and n not in ("duration", "eventcount", "closed_txn"))
    extracted = [exp.alias_(state.field(o), ident(o)) for o in others if o not in state.columns]
    # stage 1: key values, start/end marks, time
    src_cols = [exp.alias_(state.field(f), ident(k)) for f, k in zip(cmd.fields, keys)]
    sw = _filter_expr(state, cmd.startswith) if cmd.startswith is not None else exp.false()
    ew = _filter_expr(state, cmd.endswith) if cmd.endswith is not None else exp.false()
    extra = [exp.alias_(state.field(f), ident(f)) for f in cmd.fields if f not in state.columns]
    # Events of equal _time keep their order in the results (pinned in a hidden column), unless
    # that order is by time alone: then ties have no order to keep, and the pin (a sort of every
    # event) is skipped.
    if state.order_cols != {"_time"}:
        state.protect_order(None)
    tiebreak = [exp.Ordered(this=col(ORD), desc=True)] if state.hidden_ord else []
    src = _sel_src(state)
    state.select = exp.select(exp.Star(), *extra, *extracted, *src_cols, exp.alias_(sw, ident("__speleo_sw")),
                              exp.alias_(ew, ident("__speleo_ew"))).from_(tbl(src))
    if keys:
        state.filter(exp.and_(*[exp.Not(this=exp.Is(this=col(k), expression=exp.null())) for k in keys]))
    part = [col(k) for k in keys]
    asc = exp.Order(expressions=[exp.Ordered(this=col("_time")), *[t.copy() for t in tiebreak]])
    # stage 2: breaks (pause, startswith, previous endswith)
    prev_t = exp.Window(this=exp.Anonymous(this="lag", expressions=[col("_time")]), partition_by=part, order=asc)
    prev_e = exp.Window(this=exp.Anonymous(this="lag", expressions=[col("__speleo_ew")]),
                        partition_by=[p.copy() for p in part], order=asc.copy())
    brk = [exp.Is(this=prev_t.copy(), expression=exp.null()), col("__speleo_sw"),
           exp.Coalesce(this=prev_e, expressions=[exp.false()])]
    if maxpause is not None:
        brk.append(exp.GT(this=exp.Sub(this=col("_time"), expression=prev_t.copy()),
                          expression=exp.Literal.number(repr(maxpause))))
    src = _sel_src(state)
    state.select = exp.select(exp.Star(), exp.alias_(exp.Cast(this=exp.or_(*[exp.paren(b) for b in brk]),
                                                              to=exp.DataType.build("INT")),
                                                     ident("__speleo_b"))).from_(tbl(src))
    src = _sel_src(state)
    running = exp.WindowSpec(kind="ROWS", start="UNBOUNDED", start_side="PRECEDING", end="CURRENT ROW")
    seg = exp.Window(this=exp.Sum(this=col("__speleo_b")), partition_by=[p.copy() for p in part], order=asc.copy(),
                     spec=running)
    state.select = exp.select(exp.Star(), exp.alias_(seg, ident("__speleo_seg"))).from_(tbl(src))
    group = [p.copy() for p in part] + [col("__speleo_seg")]
    if maxspan is not None:
        _split_maxspan(state, group, asc, maxspan)
        group = group + [col("__speleo_span")]
    # stage 3: one row per transaction
    src = _sel_src(state)
    first = lambda e: exp.Anonymous(this="arg_min", expressions=[e, col("_time")])  # noqa: E731
    raw = exp.Anonymous(this="array_to_string", expressions=[exp.Anonymous(this="list", expressions=[exp.Order(
        this=col("_raw"), expressions=[exp.Ordered(this=col("_time")), *[t.copy() for t in tiebreak]])]),
        exp.Literal.string("\n")])

    def have(c: str, e: exp.Expression) -> exp.Expression:   # results (after tstats) lack the event columns
        return e if c in present else exp.null()
    items = [exp.alias_(exp.Min(this=col("_time")), ident("_time")), exp.alias_(have("_raw", raw), ident("_raw"))]
    for c in ("host", "source", "sourcetype", "index", "_flags"):
        items.append(exp.alias_(have(c, first(col(c))), ident(c)))
    items += [exp.alias_(have("_indextime", exp.Max(this=col("_indextime"))), ident("_indextime")),
              exp.alias_(have("linecount", exp.Sum(this=col("linecount"))), ident("linecount")),
              exp.alias_(have("_offset", exp.Min(this=col("_offset"))), ident("_offset"))]
    items += [exp.alias_(exp.Anonymous(this="first", expressions=[col(f if f in state.columns else k)]), ident(f))
              for f, k in zip(cmd.fields, keys)]
    # mvlist=false (the default): each field's distinct values, sorted; none: no field
    def merged(o: str) -> exp.Expression:   # a field that holds lists (values() of tstats): their values
        if o in lists:
            from speleo.spl.commands.aggregates import _of_lists

            return _of_lists("values", col(o))
        return ValuesAgg(this=text(col(o)))
    items += [exp.alias_(exp.Nullif(this=merged(o), expression=exp.Cast(
        this=exp.Array(expressions=[]), to=exp.DataType.build("VARCHAR[]"))), ident(o)) for o in others]
    items += [exp.alias_(exp.Sub(this=exp.Max(this=col("_time")), expression=exp.Min(this=col("_time"))),
                         ident("duration")),
              exp.alias_(exp.Count(this=exp.Star()), ident("eventcount"))]
    if keepevicted:
        # closed_txn: 1 for a transaction that met its closing conditions (its first event matches
        # startswith, its last endswith), 0 for an evicted one (Search Reference: transaction)
        opened = exp.Anonymous(this="arg_min", expressions=[col("__speleo_sw"), col("_time")])
        ended = exp.Anonymous(this="arg_max", expressions=[col("__speleo_ew"), col("_time")])
        conds = ([exp.Coalesce(this=opened, expressions=[exp.false()])] if cmd.startswith is not None else []) + \
            ([exp.Coalesce(this=ended, expressions=[exp.false()])] if cmd.endswith is not None else [])
        closed = exp.Cast(this=exp.and_(*conds) if conds else exp.true(), to=exp.DataType.build("INT"))
        items.append(exp.alias_(closed, ident("closed_txn")))
    state.select = exp.select(*items).from_(tbl(src)).group_by(*group, copy=False)
    if cmd.startswith is not None and not keepevicted:
        # a transaction whose first event does not match startswith never opened: it is evicted,
        # and evicted transactions are only output with keepevicted=true
        opened = exp.Anonymous(this="arg_min", expressions=[col("__speleo_sw"), col("_time")])
        state.select = state.select.having(exp.Coalesce(this=opened, expressions=[exp.false()]), copy=False)
    # every base column but _fields (indexed fields are per event; a transaction has none)
    state.columns = [c for c in BASE_COLUMNS if c != "_fields"] + list(cmd.fields) + others + ["duration", "eventcount"]
    state.mv |= set(others)
    if keepevicted:
        state.columns.append("closed_txn")
    state.hidden_ord = False
    state.set_order([exp.Ordered(this=col("_time"), desc=True)], {"_time"})
    state.events = True


def _sel_src(state: State) -> exp.Expression:
    state.wrap()
    return state.select.args["from_"].this.copy()


def _split_maxspan(state: State, group: list[exp.Expression], asc: exp.Order, maxspan: float) -> None:
    """Greedy maxspan split inside each segment: a transaction starts at the first event more
    than maxspan after the current transaction's first event. The starts are found by a
    recursive CTE over each segment's sorted time list (one step per transaction)."""
    rn = exp.Window(this=exp.RowNumber(), partition_by=[g.copy() for g in group], order=asc.copy())
    gid = exp.Window(this=exp.Anonymous(this="dense_rank", expressions=[]),
                     order=exp.Order(expressions=[exp.Ordered(this=g.copy()) for g in group]))
    src = _sel_src(state)
    state.select = exp.select(exp.Star(), exp.alias_(rn, ident("__speleo_rn")),
                              exp.alias_(gid, ident("__speleo_gid"))).from_(tbl(src))
    state.wrap()
    events = state.ctes[-1][0]
    lists = exp.select(col("__speleo_gid"), exp.alias_(exp.Anonymous(this="list", expressions=[exp.Order(
        this=col("_time"), expressions=[exp.Ordered(this=col("__speleo_rn"))])]), ident("__speleo_ts"))) \
        .from_(tbl(events)).group_by(col("__speleo_gid"), copy=False)
    state.ctes.append((f"s{len(state.ctes)}", lists))
    lname = state.ctes[-1][0]
    v = exp.to_identifier("__v")
    step_next = exp.Add(this=exp.Anonymous(this="len", expressions=[exp.Anonymous(this="list_filter", expressions=[
        exp.column("__speleo_ts", table="g", quoted=True),
        exp.Lambda(this=exp.LTE(this=exp.column("__v"), expression=exp.Add(
            this=exp.column("__speleo_st", table="r", quoted=True), expression=exp.Literal.number(repr(maxspan)))),
            expressions=[v])])]), expression=exp.Literal.number(1))
    base = exp.select(col("__speleo_gid"), exp.alias_(exp.Literal.number(1), ident("__speleo_idx")),
                      exp.alias_(exp.Anonymous(this="list_extract", expressions=[col("__speleo_ts"),
                                                                                exp.Literal.number(1)]),
                                 ident("__speleo_st"))).from_(tbl(lname))
    nxt = exp.select(exp.column("__speleo_gid", table="r", quoted=True), exp.alias_(step_next, ident("__speleo_idx")),
                     exp.alias_(exp.Anonymous(this="list_extract", expressions=[
                         exp.column("__speleo_ts", table="g", quoted=True), step_next.copy()]), ident("__speleo_st"))) \
        .from_(exp.Table(this=ident("__speleo_rec"), alias=exp.TableAlias(this=ident("r"))))
    nxt = nxt.join(exp.Table(this=ident(lname), alias=exp.TableAlias(this=ident("g"))),
                   on=exp.EQ(this=exp.column("__speleo_gid", table="g", quoted=True),
                             expression=exp.column("__speleo_gid", table="r", quoted=True)), copy=False)
    nxt = nxt.where(exp.LTE(this=step_next.copy(), expression=exp.Anonymous(this="len", expressions=[
        exp.column("__speleo_ts", table="g", quoted=True)])), copy=False)
    rec = exp.Union(this=base, expression=nxt, distinct=False)
    starts = exp.select(exp.Star()).from_("__speleo_rec").with_("__speleo_rec", as_=rec, recursive=True, copy=False)
    state.ctes.append((f"s{len(state.ctes)}", starts))
    sname = state.ctes[-1][0]
    mark = exp.Case(ifs=[exp.If(this=exp.Not(this=exp.Is(this=exp.column("__speleo_idx", table="st", quoted=True),
                                                         expression=exp.null())), true=exp.Literal.number(1))],
                    default=exp.Literal.number(0))
    sel = exp.select(exp.Star(except_=[exp.column("__speleo_idx", table="st", quoted=True),
                                       exp.column("__speleo_st", table="st", quoted=True),
                                       exp.column("__speleo_gid", table="st", quoted=True)]),
                     exp.alias_(mark, ident("__speleo_m"))).from_(exp.Table(this=ident(events),
                                                                           alias=exp.TableAlias(this=ident("e"))))
    sel = sel.join(exp.Table(this=ident(sname), alias=exp.TableAlias(this=ident("st"))),
                   on=exp.and_(exp.EQ(this=exp.column("__speleo_gid", table="st", quoted=True),
                                      expression=exp.column("__speleo_gid", table="e", quoted=True)),
                               exp.EQ(this=exp.column("__speleo_idx", table="st", quoted=True),
                                      expression=exp.column("__speleo_rn", table="e", quoted=True))),
                   join_type="LEFT", copy=False)
    state.select = sel
    src = _sel_src(state)
    running = exp.WindowSpec(kind="ROWS", start="UNBOUNDED", start_side="PRECEDING", end="CURRENT ROW")
    span = exp.Window(this=exp.Sum(this=col("__speleo_m")), partition_by=[col("__speleo_gid")],
                      order=exp.Order(expressions=[exp.Ordered(this=col("__speleo_rn"))]), spec=running)
    state.select = exp.select(exp.Star(), exp.alias_(span, ident("__speleo_span"))).from_(tbl(src))


# --- dedup ---------------------------------------------------------------------------------------


def parse_dedup(cur: Cursor, word: Token) -> ast.DedupCmd:
    """Splunk Search Reference: dedup. `dedup [N] f1 f2 [keepevents=] [keepempty=] [consecutive=]
    [sortby [+|-]f ...]`."""
    from speleo.spl.commands.order import _sort_key

    count = 1
    if cur.peek().kind is T.WORD and is_digits(cur.peek().value):
        count = int(cur.next().value)
    allowed = {"consecutive", "keepevents", "keepempty"}
    # the documented place of the options is after the field list; accept them anywhere before sortby
    fields, opts = cur.fields_and_options(allowed, "sortby")
    keys = []
    if cur.accept_word("sortby"):
        while not cur.at_end():
            if cur.accept(T.COMMA):
                continue
            keys.append(_sort_key(cur))
        if not keys:
            raise cur.error("expected a field after sortby")
    if not fields:
        raise cur.error("expected field names")
    node = ast.DedupCmd(fields, count)
    node.options = {k: v.value for k, v in opts.items()}      # type: ignore[attr-defined]
    node.sortby = keys                                         # type: ignore[attr-defined]
    return node


def compile_dedup(state: State, cmd: ast.DedupCmd) -> None:
    """Splunk Search Reference: dedup. Keeps the first N results (in the current order) of each
    combination of the fields' values; results missing a field are dropped (`keepempty=true`
    keeps them); `keepevents=true` keeps the duplicates but removes the fields from them;
    `consecutive=true` removes only runs of duplicates next to each other; `sortby` sorts the
    results first, so the first of each combination in that order is kept and the output stays
    in that order."""
    from speleo.spl.commands.order import compile_sort

    opts = getattr(cmd, "options", {})
    keepempty = as_bool(opts.get("keepempty", "false"))
    keepevents = as_bool(opts.get("keepevents", "false"))
    consecutive = as_bool(opts.get("consecutive", "false"))
    keys = getattr(cmd, "sortby", [])
    if keys:   # the Reference's sortby orders the results first, then the first of each group is kept
        compile_sort(state, ast.SortCmd(keys, None, start=cmd.start, end=cmd.end))
    parts = [state.field(f) for f in cmd.fields]
    present = exp.and_(*[exp.Not(this=exp.Is(this=p.copy(), expression=exp.null())) for p in parts])
    order = exp.Order(expressions=[o.copy() for o in state.order or []]) if state.order else None
    if consecutive:
        state.protect_order(None)
        order = exp.Order(expressions=[exp.Ordered(this=col(ORD))])
        same = exp.and_(*[exp.EQ(this=exp.Window(this=exp.Anonymous(this="lag", expressions=[text(p.copy())]),
                                                  order=order.copy()), expression=text(p.copy())) for p in parts])
        dup = exp.Coalesce(this=exp.and_(present.copy(), exp.paren(same)), expressions=[exp.false()])
        state.wrap()
        state.select = state.select.qualify(exp.Not(this=exp.paren(dup)), copy=False)
    else:
        rn = exp.Window(this=exp.RowNumber(), partition_by=parts, order=order)
        keep = exp.LTE(this=rn, expression=exp.Literal.number(cmd.count))
        if keepempty:
            keep = exp.or_(exp.Not(this=exp.paren(present.copy())), keep)
        if keepevents:
            state.protect_order(set(cmd.fields))
            state.wrap()
            src = state.select.args["from_"].this.copy()
            blank = [exp.alias_(exp.Case(ifs=[exp.If(this=keep.copy(), true=state.field(f))]), ident(f))
                     for f in cmd.fields]
            replace = [b for b, f in zip(blank, cmd.fields) if f in state.columns]
            new = [b for b, f in zip(blank, cmd.fields) if f not in state.columns]
            state.select = exp.select(exp.Star(replace=replace or None), *new).from_(tbl(src))
            state.columns = state.columns + [f for f in cmd.fields if f not in state.columns]
        else:
            if not keepempty:
                state.filter(present)
            state.wrap()
            state.select = state.select.qualify(keep, copy=False)


# --- fillnull ---------------------------------------------------------------------------------------------


def compile_fillnull(state: State, cmd: ast.FillnullCmd) -> None:
    """Splunk Search Reference: fillnull. Replaces null values by `value` (default 0) in the
    listed fields, or in every field when none is listed (on events: every field known when
    compiling — columns and fields created earlier in the search). A multivalue field with values
    is left as it is (it was printed as one text `[a, b]`, no longer multivalue)."""
    if not cmd.fields or any(f not in state.columns for f in cmd.fields):
        from speleo.spl.commands.reshape import refuse_unknown_columns

        refuse_unknown_columns(state, cmd, "fillnull")
    names = cmd.fields or [c for c in state.columns if not c.startswith("__speleo")
                           and (not state.events or c not in BASE_COLUMNS)]
    whole = re.fullmatch(r"-?\d+", cmd.value) is not None
    for name in names:
        field = state.field(name)
        if name in state.mv:
            # a multivalue field keeps its values (it is not null); a null one gets the value alone
            value = exp.Coalesce(this=field, expressions=[exp.Array(expressions=[exp.Literal.string(cmd.value)])])
            _assign(state, name, value, mv=True)
            continue
        if whole:
            # an untyped literal takes the column's type: counts stay numbers, text stays text
            value = exp.Coalesce(this=field, expressions=[exp.Literal.string(cmd.value)])
        else:
            value = exp.Coalesce(this=text(field), expressions=[exp.Literal.string(cmd.value)])
        _assign(state, name, value)


# --- fieldsummary -------------------------------------------------------------------------------------------


def compile_fieldsummary(state: State, cmd: ast.ArgsCmd) -> None:
    """Splunk Search Reference: fieldsummary. One row per field known when compiling (or those
    listed): field, count (results with a value), distinct_count, is_exact (1), max, mean, min,
    numeric_count, stdev, values (up to `maxvals`, default 100, most common first, as
    `value (count)` text is not produced: a list of the distinct values)."""
    allowed = {"maxvals"}
    for key in cmd.options:
        if key not in allowed:
            raise state.fail(f"fieldsummary {key}= is not supported", cmd)
    names = [c for c in state.columns if not c.startswith("__speleo")]
    if cmd.args:
        import fnmatch
        names = [c for c in names if any(fnmatch.fnmatchcase(c, p) for p in cmd.args)] + \
            [a for a in cmd.args if "*" not in a and a not in names]
    maxvals = int(cmd.options.get("maxvals", "100"))
    state.wrap()
    src = state.select.args["from_"].this.copy()
    rows = []
    for n in names:
        f = state.field(n)
        t = text(f.copy())
        vals = exp.Anonymous(this="list_slice", expressions=[ValuesAgg(this=t.copy()), exp.Literal.number(1),
                                                             exp.Literal.number(maxvals)])
        rows.append(exp.select(
            exp.alias_(exp.Literal.string(n), ident("field")),
            exp.alias_(exp.Count(this=f.copy()), ident("count")),
            exp.alias_(exp.Count(this=exp.Distinct(expressions=[t.copy()])), ident("distinct_count")),
            exp.alias_(exp.Literal.number(1), ident("is_exact")),
            exp.alias_(exp.Max(this=num(f.copy())), ident("max")),
            exp.alias_(exp.Avg(this=num(f.copy())), ident("mean")),
            exp.alias_(exp.Min(this=num(f.copy())), ident("min")),
            exp.alias_(exp.Count(this=num(f.copy())), ident("numeric_count")),
            exp.alias_(exp.Stddev(this=num(f.copy())), ident("stdev")),
            exp.alias_(vals, ident("values")),
            exp.alias_(exp.Literal.number(len(rows)), ident(ORD))).from_(src.copy()))
    if not rows:
        raise state.fail("fieldsummary found no fields", cmd)
    union = rows[0]
    for r in rows[1:]:
        union = exp.Union(this=union, expression=r, distinct=False)
    state.ctes.append((f"s{len(state.ctes)}", union))
    state.select = exp.select(exp.Star()).from_(tbl(state.ctes[-1][0]))
    _become_table(state, ["field", "count", "distinct_count", "is_exact", "max", "mean", "min", "numeric_count",
                          "stdev", "values"])
    state.order, state.order_cols, state.hidden_ord = [exp.Ordered(this=col(ORD))], {ORD}, True


# --- extract / kv ----------------------------------------------------------------------------------------------


def compile_extract(state: State, cmd: ast.ArgsCmd) -> None:
    """Splunk Search Reference: extract / kv. Search-time key=value extraction of `_raw` is
    what Speleo does for every field, so `extract` / `kv` with no arguments (or only
    `reload=`, `limit=`, `maxchars=`) leaves the events as they are."""
    for key in cmd.options:
        if key not in ("reload", "limit", "maxchars", "pairdelim", "kvdelim"):
            raise state.fail(f"{cmd.name} {key}= is not supported", cmd)
    if cmd.args:
        raise state.fail(f"{cmd.name} with transforms.conf stanza names is not supported", cmd)
    state.reopen_fields()   # after `fields`: what it extracts exists again
    if "pairdelim" in cmd.options or "kvdelim" in cmd.options:
        from speleo.spl.commands.extracts import extract_with_delimiters

        extract_with_delimiters(state, cmd)


# --- metadata / eventcount ------------------------------------------------------------------------------------


def parse_metadata(cur: Cursor, word: Token) -> ast.ArgsCmd:
    """Splunk Search Reference: metadata. `| metadata type=hosts|sources|sourcetypes [index=<name>]...`;
    eventcount: `| eventcount [index=<name>]... [summarize=] [report_size=] [list_vix=]`."""
    from speleo.spl.commands.extra import is_option

    name = word.value.lower()
    opts: dict[str, str] = {}
    indexes: list[str] = []
    while not cur.at_end():
        if not is_option(cur):
            raise cur.error("expected key=value")
        key = cur.next()
        cur.next()
        val = cur.next()
        if key.value.lower() == "index":
            indexes.append(val.value)
        else:
            opts[key.value.lower()] = val.value
    if name == "metadata" and opts.get("type", "").lower() not in ("hosts", "sources", "sourcetypes"):
        raise cur.error("metadata needs type=hosts, sources or sourcetypes")
    return ast.ArgsCmd(name, opts, indexes)


def compile_metadata(state: State, cmd: ast.ArgsCmd) -> None:
    """Splunk Search Reference: metadata. One row per host (source, sourcetype) of the events in
    the time range: firstTime, lastTime, recentTime (latest _indextime), totalCount, type, and the
    value under its field name (host, source, sourcetype). Rows sorted by the value."""
    for key in cmd.options:
        if key not in ("type", "splunk_server", "splunk_server_group", "datatype"):
            raise state.fail(f"metadata {key}= is not supported", cmd)
    kind = cmd.options["type"].lower()
    field = {"hosts": "host", "sources": "source", "sourcetypes": "sourcetype"}[kind]
    _index_filter(state, cmd.args)
    state.wrap()
    src = state.select.args["from_"].this.copy()
    state.select = exp.select(
        exp.alias_(col(field), ident(field)),
        exp.alias_(exp.Min(this=col("_time")), ident("firstTime")),
        exp.alias_(exp.Max(this=col("_time")), ident("lastTime")),
        exp.alias_(exp.Max(this=col("_indextime")), ident("recentTime")),
        exp.alias_(exp.Count(this=exp.Star()), ident("totalCount")),
        exp.alias_(exp.Literal.string(kind), ident("type"))).from_(tbl(src)).group_by(col(field), copy=False)
    _become_table(state, [field, "firstTime", "lastTime", "recentTime", "totalCount", "type"])
    state.set_order([exp.Ordered(this=col(field))], {field})


def _index_filter(state: State, indexes: list[str]) -> None:
    from speleo.spl.commands.search import value_match

    if indexes:
        state.filter(exp.or_(*[exp.Coalesce(this=value_match(col("index"), i), expressions=[exp.false()])
                               for i in indexes]))
    else:      # Splunk's default: the non-internal indexes
        state.filter(exp.Not(this=exp.Like(this=col("index"), expression=exp.Literal.string("\\_%"),
                                           escape=exp.Literal.string("\\"))))


def compile_eventcount(state: State, cmd: ast.ArgsCmd) -> None:
    """Splunk Search Reference: eventcount. The number of events of the indexes (`index=`, wildcards
    allowed; default the non-internal ones): `summarize=true` (default) one `count` row;
    `summarize=false` one row per index with `count` and `index`. Speleo counts the events of the
    search's time range."""
    for key in cmd.options:
        if key not in ("summarize", "report_size", "list_vix"):
            raise state.fail(f"eventcount {key}= is not supported", cmd)
    if as_bool(cmd.options.get("report_size", "false")):
        raise state.fail("eventcount report_size=true is not supported", cmd)
    _index_filter(state, cmd.args)
    state.wrap()
    src = state.select.args["from_"].this.copy()
    if as_bool(cmd.options.get("summarize", "true")):
        state.select = exp.select(exp.alias_(exp.Count(this=exp.Star()), ident("count"))).from_(tbl(src))
        _become_table(state, ["count"])
    else:
        state.select = exp.select(exp.alias_(exp.Count(this=exp.Star()), ident("count")),
                                  exp.alias_(col("index"), ident("index"))).from_(tbl(src)) \
            .group_by(col("index"), copy=False)
        _become_table(state, ["count", "index"])
        state.set_order([exp.Ordered(this=col("index"))], {"index"})


# --- cluster --------------------------------------------------------------------------------------------------


def compile_cluster(state: State, cmd: ast.ArgsCmd) -> None:
    """Splunk Search Reference: cluster. Log-pattern clustering cannot be SQL: the results (and
    the field, default `_raw`) go through drain3 after DuckDB ran the search (a post step, see
    query/post.py). `t=` similarity threshold (default 0.8), `showcount=` (default false),
    `countfield=`, `labelfield=`, `field=`, `labelonly=` (default false: one result per cluster).
    Speleo's own `showtemplate=true` adds `cluster_template`, drain3's template of each result's
    cluster (`<*>` for a variable token): the text of a problem's `pattern` signature."""
    for key in cmd.options:
        if key not in ("t", "showcount", "countfield", "labelfield", "field", "labelonly", "match", "delims",
                       "showtemplate"):
            raise state.fail(f"cluster {key}= is not supported", cmd)
    if cmd.options.get("match", "termlist") != "termlist" or "delims" in cmd.options:
        raise state.fail("cluster match= / delims= are not supported (drain3 tokenizes by whitespace)", cmd)
    t = float(cmd.options.get("t", "0.8"))
    if not 0.0 < t <= 1.0:
        raise state.fail("cluster t must be in (0, 1]", cmd)
    field = cmd.options.get("field", "_raw")
    if field not in state.columns:
        _assign(state, field, state.field(field))
    step = {"kind": "cluster", "t": t, "field": field, "showcount": as_bool(cmd.options.get("showcount", "false")),
            "countfield": cmd.options.get("countfield", "cluster_count"),
            "labelfield": cmd.options.get("labelfield", "cluster_label"),
            "labelonly": as_bool(cmd.options.get("labelonly", "false")),
            "showtemplate": as_bool(cmd.options.get("showtemplate", "false"))}
    if state.post and state.post[-1]["kind"] != "cluster":
        raise state.fail("cluster after outputlookup is not supported", cmd)
    state.post.append(step)
    # the post step runs on the final result: nothing may follow that changes rows
    state.cluster_pending = True      # type: ignore[attr-defined]


# --- outlier ------------------------------------------------------------------------------------------------


def compile_outlier(state: State, cmd: ast.ArgsCmd) -> None:
    """Splunk Search Reference: outlier. Per field, values above Q3 + param * IQR (and, with
    `uselower=true`, below Q1 - param * IQR) are outliers: `action=transform` (`tf`, the default)
    truncates them to that threshold (`mark=true` writes "000" before the value),
    `action=remove` (`rm`) drops the results holding one. `param` defaults to 2.5. Without a
    field list, every field not starting with `_`; values that are not numbers are left alone.
    The quartiles are exact interpolated percentiles of the field's numbers over the whole
    result (as `perc`; Splunk does not document its method). Runs after DuckDB, on the result
    (post step `outlier`, query/post.py): the commands after it run on its table."""
    action = cmd.options.get("action", "transform").lower()
    if action not in ("transform", "tf", "remove", "rm"):
        raise state.fail(f"outlier action={cmd.options['action']}: use transform (tf) or remove (rm)", cmd)
    if cmd.options.get("type", "iqr").lower() != "iqr":
        raise state.fail("outlier type= only takes iqr", cmd)
    try:
        param = float(cmd.options.get("param", "2.5"))
    except ValueError:
        raise state.fail(f"outlier param={cmd.options['param']!r} is not a number", cmd) from None
    if not param >= 0 or param == float("inf"):
        raise state.fail("outlier param must be a number of 0 or more", cmd)
    if not state.top_level:
        raise state.fail("outlier is not supported in a subsearch", cmd)
    names = list(cmd.args)
    for name in names:
        if name not in state.columns:
            _assign(state, name, state.field(name))
    from speleo.spl.commands.opscmds import extract_for_later

    extract_for_later(state)
    state.post.append({"kind": "outlier", "fields": names, "param": param,
                       "remove": action in ("remove", "rm"),
                       "uselower": as_bool(cmd.options.get("uselower", "false")),
                       "mark": as_bool(cmd.options.get("mark", "false")),
                       "columns": [c for c in state.columns if not c.startswith("__speleo")]})
