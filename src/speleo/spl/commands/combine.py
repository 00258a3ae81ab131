"""Commands that combine the results with a subsearch: append, appendcols, appendpipe, join,
union, multisearch, and subsearches `[...]` used as a search filter (Splunk Search Reference:
append, appendcols, appendpipe, join, union, multisearch, "About subsearches").

A subsearch compiles into its own self-contained SELECT over the same `__events__`
(`compiler.compile_sub`; the planner then reads the buckets of both); no value of a
subsearch is pasted into SQL text — filters are EXISTS over the subsearch's SQL.
"""

from __future__ import annotations

from sqlglot import exp

from speleo.spl import ast
from speleo.spl.cursor import Cursor, as_bool
from speleo.spl.functions import mv, text
from speleo.spl.nodes import RegexMatch
from speleo.spl.state import BASE_COLUMNS, ORD, OUTER, col, ident, State, tbl
from speleo.spl.tokens import T, Token

SUBSEARCH_MAXOUT = 10000       # limits.conf [subsearch] maxout


def _compile_sub(state: State, pipeline: ast.Pipeline) -> State:
    from speleo.spl.compiler import compile_sub

    return compile_sub(state, pipeline)


def _sub_select(inner: State) -> exp.Select:
    from speleo.spl.compiler import sub_select

    return sub_select(inner)


def _visible(columns: list[str]) -> list[str]:
    return [c for c in columns if not c.startswith("__speleo")]


def _positioned(st: State, part: int) -> exp.Select:
    """A self-contained SELECT of a state's rows with `__speleo_part` and `__speleo_pos` (its order)."""
    st.wrap()
    src = st.select.args["from_"].this.copy()
    order = exp.Order(expressions=[o.copy() for o in st.order]) if st.order else None
    rn = exp.Window(this=exp.RowNumber(), order=order)
    star = exp.Star(except_=[col(ORD)]) if st.hidden_ord else exp.Star()
    sel = exp.select(star, exp.alias_(exp.Literal.number(part), ident("__speleo_part")),
                     exp.alias_(rn, ident("__speleo_pos"))).from_(tbl(src))
    for name, body in st.ctes:
        sel = sel.with_(name, as_=body.copy(), copy=False)
    return exp.select(exp.Star()).from_(exp.Subquery(this=sel, alias=exp.TableAlias(this=ident(f"__speleo_p{part}"))))


def _restart(state: State, relation: exp.Expression, columns: list[str], events: bool, transforming: bool,
             order_keys: list[str]) -> None:
    """Make `relation` the state's only input, ordered by `order_keys` (pinned in the hidden ORD)."""
    rn = exp.Window(this=exp.RowNumber(), order=exp.Order(expressions=[exp.Ordered(this=col(k)) for k in order_keys]))
    sel = exp.select(exp.Star(except_=[col(k) for k in order_keys]), exp.alias_(rn, ident(ORD))) \
        .from_(exp.Subquery(this=relation, alias=exp.TableAlias(this=ident("__speleo_u"))))
    state.ctes = []
    state.select = sel
    state.columns = columns
    state.events, state.transforming = events, transforming
    state.order, state.order_cols, state.hidden_ord = [exp.Ordered(this=col(ORD))], {ORD}, True


def append_state(state: State, other: State) -> None:
    """The current results, then the other state's results (columns by name). A column holding
    lists on one side and single values on the other becomes lists on both (a single value as a
    one-value list), so the union has one type and each value stays what it was. A field one
    side holds as a column and the other extracts at search time (events) is extracted on that
    side first: after the union the name reads the column (`index=web | append [| inputlookup
    t] | table status` gave the events no status)."""
    from speleo.spl.commands.stats import _assign

    for st, peer in ((state, other), (other, state)):
        if st.has_raw():
            for c in [c for c in _visible(peer.columns) if c not in st.columns and c not in BASE_COLUMNS]:
                _assign(st, c, st.field(c))
    for st, peer in ((state, other), (other, state)):
        for c in sorted((peer.mv & set(peer.columns) & set(st.columns)) - st.mv):
            _assign(st, c, mv((col(c), "any")), mv=True)
    union = exp.Union(this=_positioned(state, 0), expression=_positioned(other, 1), distinct=False, by_name=True)
    columns = state.columns + [c for c in other.columns if c not in state.columns]
    lists = {c for c in state.mv | other.mv if (c not in state.columns or c in state.mv)
             and (c not in other.columns or c in other.mv)}       # a list on every side that has the column
    open_columns = state.open_columns or other.open_columns
    _restart(state, union, columns, state.events and other.events,
             state.transforming or other.transforming, ["__speleo_part", "__speleo_pos"])
    state.mv = lists
    state.open_columns = open_columns
    if open_columns and state.later and state.top_level:
        # a side's columns came from a SQL PIVOT (chart/timechart/xyseries by in a subsearch):
        # the later commands run over the result, with its real columns (as after chart)
        state.post.append({"kind": "columns"})


def compile_append(state: State, cmd: ast.AppendCmd) -> None:
    """Splunk Search Reference: append / appendpipe / appendcols.

    append: the subsearch's results after the current results. appendpipe: the subpipeline
    run over the current results, appended to them. appendcols: the subsearch's first result's
    fields are added to the first result, and so on (`override=false`: the current value wins
    when both have the field); extra subsearch results become rows of their own."""
    for key in cmd.options:
        if key not in ("extendtimerange", "maxtime", "maxout", "timeout", "override", "run_in_preview"):
            raise state.fail(f"{cmd.kind} {key}= is not supported", cmd)
    if cmd.kind == "appendpipe":
        _appendpipe(state, cmd)
        return
    inner = _compile_sub(state, cmd.subsearch.pipeline)
    if "maxout" in cmd.options:
        inner.wrap()
        inner.select = inner.select.order_by(*[o.copy() for o in inner.order or []], copy=False) \
            .limit(int(cmd.options["maxout"]), copy=False)
    if cmd.kind == "append":
        append_state(state, inner)
        return
    _appendcols(state, inner, as_bool(cmd.options.get("override", "false")))


def _appendpipe(state: State, cmd: ast.AppendCmd) -> None:
    """Splunk Search Reference: appendpipe (https://help.splunk.com/splunk-enterprise/spl-search-reference/9.4/search-commands/appendpipe):
    the subpipeline runs over the current results and its results are appended. The branch
    starts from a copy of the state (its time range too: addinfo and timechart's cont=true
    inside see the search's range). A command that runs on the Arrow result after DuckDB
    (outputlookup, cluster, transpose, fromjson / xmlkv on results) cannot run on the branch's
    rows only, so it is refused inside appendpipe; `appendpipe [| map search=...]` alone, as
    detection content writes it, runs as map's post step with its results appended."""
    from speleo.spl.compiler import compile_commands

    cmds = cmd.subsearch.pipeline.commands
    if cmds and isinstance(cmds[0], ast.ArgsCmd) and cmds[0].name == "map":
        # `appendpipe [| map search=... | ...]`: the runs' results, through the commands after
        # map in the brackets, after the current ones (a post step)
        from speleo.spl.commands.mapcmd import compile_map

        compile_map(state, cmds[0], append=True, then=list(cmds[1:]))
        return
    branch = State(ctx=state.ctx, query=state.query, select=state.select.copy(), columns=list(state.columns),
                   ctes=list(state.ctes), order=[o.copy() for o in state.order] if state.order else None,
                   order_cols=set(state.order_cols), hidden_ord=state.hidden_ord, events=state.events,
                   transforming=state.transforming, events_sql=state.events_sql, auto_json=state.auto_json,
                   time_range=state.time_range, mv=set(state.mv))
    for i, sub in enumerate(cmds):
        branch.later = cmds[i + 1:]   # chart ... by in the branch: the later ones read its series (open_row)
        compile_commands(branch, [sub])
        if branch.post:
            kind = branch.post[0]["kind"]
            raise state.fail(f"{kind} inside appendpipe is not supported (it runs on the whole result after "
                             "the search, not on the appendpipe's rows)", sub)
    branch.later = []
    if branch.open_row:   # the rows' JSON is for the branch's commands only
        from speleo.spl.state import ROW_JSON

        branch.wrap()
        branch.select = exp.select(exp.Star(except_=[col(ROW_JSON)])).from_(branch.select.args["from_"].this.copy())
        branch.open_row = False
    state.subs.extend(branch.subs)
    append_state(state, branch)


def _appendcols(state: State, inner: State, override: bool) -> None:
    """A field the events extract at search time is extracted before the join, so that with
    override=false the event's own value wins (it was replaced by the subsearch's); both sides
    of such a field compare as text (an extracted value is text)."""
    from speleo.spl.commands.stats import _assign

    extracted = set()
    if state.has_raw():
        for c in [c for c in _visible(inner.columns) if c not in state.columns and c not in BASE_COLUMNS]:
            _assign(state, c, state.field(c))
            extracted.add(c)
    left = _positioned(state, 0)
    right = _positioned(inner, 1)
    lcols, rcols = _visible(state.columns), _visible(inner.columns)
    items = []
    for c in lcols:
        lv, rv = exp.column(c, table="__speleo_l", quoted=True), exp.column(c, table="__speleo_r", quoted=True)
        if c in extracted:
            lv, rv = text(lv), text(rv)
        if c in rcols:
            items.append(exp.alias_(exp.Coalesce(this=rv, expressions=[lv]) if override
                                    else exp.Coalesce(this=lv, expressions=[rv]), ident(c)))
        else:
            items.append(exp.alias_(lv, ident(c)))
    items += [exp.alias_(exp.column(c, table="__speleo_r", quoted=True), ident(c)) for c in rcols if c not in lcols]
    pos = exp.Coalesce(this=exp.column("__speleo_pos", table="__speleo_l", quoted=True),
                       expressions=[exp.column("__speleo_pos", table="__speleo_r", quoted=True)])
    items.append(exp.alias_(pos, ident("__speleo_p2")))
    sel = exp.select(*items).from_(exp.Subquery(this=left, alias=exp.TableAlias(this=ident("__speleo_l"))))
    on = exp.EQ(this=exp.column("__speleo_pos", table="__speleo_l", quoted=True),
                expression=exp.column("__speleo_pos", table="__speleo_r", quoted=True))
    sel.append("joins", exp.Join(this=exp.Subquery(this=right, alias=exp.TableAlias(this=ident("__speleo_r"))),
                                 on=on, side="FULL", kind="OUTER"))
    columns = lcols + [c for c in rcols if c not in lcols]
    _restart(state, sel, columns, state.has_raw(), True, ["__speleo_p2"])


# --- join ---------------------------------------------------------------------------------------


def compile_join(state: State, cmd: ast.JoinCmd) -> None:
    """Splunk Search Reference: join. Each result is joined with the subsearch results whose join
    fields have the same values (exact, case-sensitive); `type=inner` (default) drops results
    without a match, `type=left`/`outer` keeps them; `max=1` (default) takes the first matching
    subsearch result (0: all); `overwrite=true` (default): the subsearch's values replace the
    result's. Without field names the join uses every field both sides have."""
    for key in cmd.options:
        if key not in ("type", "max", "overwrite"):
            raise state.fail(f"join {key}= is not supported", cmd)
    kind = cmd.options.get("type", "inner").lower()
    if kind not in ("inner", "left", "outer"):
        raise state.fail(f"join type={kind} is not supported (inner, left, outer)", cmd)
    try:
        max_ = int(cmd.options.get("max", "1"))
    except ValueError:
        raise state.fail("join max must be an integer", cmd) from None
    overwrite = as_bool(cmd.options.get("overwrite", "true"))
    inner = _compile_sub(state, cmd.subsearch.pipeline)
    sub_cols = _visible(inner.columns)
    keys = cmd.fields or [c for c in _visible(state.columns) if c in sub_cols]
    if not keys:
        raise state.fail("join without fields needs fields that both sides have", cmd)
    values = [c for c in sub_cols if c not in keys and not (c in BASE_COLUMNS and inner.has_raw()
                                                                  and c not in ("_time", "_raw"))]
    if inner.has_raw():
        values = [c for c in values if c not in ("_time", "_raw")]
    body = _sub_select(inner)
    order = exp.Order(expressions=[o.copy() for o in inner.order]) if inner.order else None
    kexprs = [text(inner.field(k)) for k in keys]
    rn = exp.Window(this=exp.RowNumber(), partition_by=[k.copy() for k in kexprs], order=order)
    proj = [exp.alias_(k, ident(f"__speleo_jk{i}")) for i, k in enumerate(kexprs)]
    proj += [exp.alias_(col(c), ident(f"__speleo_jv{i}")) for i, c in enumerate(values)]
    side = exp.select(*proj).from_(exp.Subquery(this=body, alias=exp.TableAlias(this=ident("__speleo_js")))) \
        .where(exp.and_(*[exp.Not(this=exp.Is(this=k.copy(), expression=exp.null())) for k in kexprs]), copy=False)
    if max_ > 0:
        side = side.qualify(exp.LTE(this=rn, expression=exp.Literal.number(max_)), copy=False)
    state.protect_order(set(values))
    state.wrap()
    src = state.select.args["from_"].this.copy()
    on = exp.and_(*[exp.EQ(this=text(state.field(k)), expression=col(f"__speleo_jk{i}"))
                    for i, k in enumerate(keys)])
    replace, new = [], []
    for i, c in enumerate(values):
        v = col(f"__speleo_jv{i}")
        own_list = c in state.mv and c in state.columns
        lists = c in inner.mv or own_list
        if lists:   # a list on either side: both as lists (a single value as a one-value list)
            v = mv((v, "mv" if c in inner.mv else "any"))
            state.mv.add(c)
        else:
            state.mv.discard(c)
        if c in state.columns:
            own = mv((col(c), "mv" if own_list else "any")) if lists else col(c)
            pair = [v, own] if overwrite else [own, v]
            replace.append(exp.alias_(exp.Coalesce(this=pair[0], expressions=[pair[1]]), ident(c)))
        elif state.has_raw():
            # the result's own value is a field extracted from its _raw (text): with overwrite the
            # subsearch's value (of any type) wins as it is; without, the event's text comes
            # first and the subsearch's value is its fallback, as text
            own = mv((state.field(c), "str")) if lists else state.field(c)
            item = v if overwrite else exp.Coalesce(this=own, expressions=[v if lists else text(v)])
            new.append(exp.alias_(item, ident(c)))
        else:
            new.append(exp.alias_(v, ident(c)))
    drop = [col(f"__speleo_jk{i}") for i in range(len(keys))] + [col(f"__speleo_jv{i}") for i in range(len(values))]
    sel = exp.select(exp.Star(except_=drop, replace=replace or None), *new).from_(tbl(src))
    sel.append("joins", exp.Join(this=exp.Subquery(this=side, alias=exp.TableAlias(this=ident("__speleo_j"))),
                                 on=on, side="LEFT" if kind != "inner" else None,
                                 kind="INNER" if kind == "inner" else None))
    state.select = sel
    state.columns = state.columns + [c for c in values if c not in state.columns]


# --- subsearch as a filter ------------------------------------------------------------------------------


def _outer(e: exp.Expression) -> exp.Expression:
    """A column of the search, referenced from inside the EXISTS: qualified with OUTER (which
    `State.filter` replaces by the name of the relation the filter reads), else DuckDB binds
    names such as `user` or `current_date` to its own functions before looking outside."""
    if isinstance(e, exp.Column) and not e.table:
        return exp.Column(this=e.this.copy(), table=exp.to_identifier(OUTER))
    return e


def subsearch_condition(state: State, node: ast.Subsearch) -> exp.Expression:
    """`[ search ... ]` inside a search: Splunk formats the subsearch's results as
    `(f1=v1 AND f2=v2) OR (...)` (fields starting with `_` left out, a missing field left out of
    its row's AND, at most 10,000 rows). Compiled as EXISTS over the subsearch's SQL with the
    search's case-insensitive `field=value` comparison."""
    from speleo.spl.commands.returns import as_filter

    pipeline, finish = as_filter(node.pipeline)
    inner = _compile_sub(state, pipeline)
    if finish is not None:
        finish(inner)
    names = [c for c in _visible(inner.columns) if not c.startswith("_")]
    if inner.has_raw() and {"host", "source", "sourcetype"} <= set(inner.columns):
        raise state.fail("a subsearch used as a filter must end with fields, table, stats or another command "
                         "that names its fields (whole events are not supported)", node)
    for special in ("search", "query"):
        if special in names:
            raise state.fail(f"a subsearch returning a {special!r} field (search text) runs before the search, "
                             "when the search runs; it cannot be compiled alone (spl/rawsub.py)", node)
    if not names:
        return exp.false()
    body = _sub_select(inner)
    if inner.order:
        body = body.order_by(*[o.copy() for o in inner.order], copy=False)
    proj = [exp.alias_(col(c), ident(f"__speleo_q{i}")) for i, c in enumerate(names)]
    rows = exp.select(*proj).from_(exp.Subquery(this=body, alias=exp.TableAlias(this=ident("__speleo_ss")))) \
        .limit(SUBSEARCH_MAXOUT, copy=False)
    q = [col(f"__speleo_q{i}") for i in range(len(names))]
    if len(names) == 1:
        return _one_field_filter(state, names[0], rows)
    some = exp.or_(*[exp.Not(this=exp.Is(this=x.copy(), expression=exp.null())) for x in q])
    tests = []
    for name, x in zip(names, q):
        tests.append(exp.paren(exp.or_(exp.Is(this=x.copy(), expression=exp.null()),
                                       _value_test(text(_outer(state.field(name))), text(x.copy())))))
    cond = exp.and_(exp.paren(some), *tests)
    probe = exp.select(exp.Literal.number(1)).from_(
        exp.Subquery(this=rows, alias=exp.TableAlias(this=ident("__speleo_sq")))).where(cond, copy=False)
    return exp.Exists(this=probe)


def _one_field_filter(state: State, name: str, rows: exp.Select) -> exp.Expression:
    """A subsearch giving one field: its plain values as `lower(field) IN (...)` (a hash lookup,
    the field read once per event), the wildcard and CIDR values through an EXISTS over those
    rows only. Same answers as `_value_test` over every row."""
    from speleo.spl.functions import _CIDR_TEXT

    x = col("__speleo_q0")
    f = text(_outer(state.field(name)))
    special = exp.or_(exp.Anonymous(this="contains", expressions=[text(x.copy()), exp.Literal.string("*")]),
                      RegexMatch(this=text(x.copy()), expression=exp.Literal.string(_CIDR_TEXT)))
    src = exp.Subquery(this=rows, alias=exp.TableAlias(this=ident("__speleo_sq")))
    plain = exp.select(exp.Lower(this=text(x.copy()))).from_(src.copy()) \
        .where(exp.Not(this=exp.Is(this=x.copy(), expression=exp.null())), copy=False)
    inside = exp.In(this=exp.Lower(this=f.copy()), query=exp.Subquery(this=plain))
    probe = exp.select(exp.Literal.number(1)).from_(src).where(
        exp.and_(exp.Coalesce(this=special, expressions=[exp.false()]), _value_test(f, text(x.copy()))), copy=False)
    return exp.or_(exp.Coalesce(this=inside, expressions=[exp.false()]), exp.Exists(this=probe))


def _value_test(f: exp.Expression, x: exp.Expression) -> exp.Expression:
    """Never-null: the field text `f` matches the subsearch's value `x` as `field=x` in a search
    does: case-insensitive equality; `*` in x a wildcard; x in IPv4 CIDR notation the addresses
    inside that network (Search Reference: search). x is data, never SQL text."""
    from speleo.spl.functions import in_network_value

    lf, lx = exp.Lower(this=f.copy()), exp.Lower(this=x.copy())
    eq = exp.EQ(this=lf.copy(), expression=lx.copy())
    pattern: exp.Expression = lx
    for a, b in (("\\", "\\\\"), ("%", "\\%"), ("_", "\\_"), ("*", "%")):
        pattern = exp.Anonymous(this="replace", expressions=[pattern, exp.Literal.string(a), exp.Literal.string(b)])
    like = exp.Escape(this=exp.Like(this=lf.copy(), expression=pattern), expression=exp.Literal.string("\\"))
    wild = exp.Case(ifs=[exp.If(this=exp.Anonymous(this="contains", expressions=[x.copy(), exp.Literal.string("*")]),
                                true=like)])
    return exp.or_(exp.Coalesce(this=eq, expressions=[exp.false()]), exp.Coalesce(this=wild, expressions=[exp.false()]),
                   in_network_value(f, x))


# --- union / multisearch ----------------------------------------------------------------------------------


def parse_union(cur: Cursor, word: Token) -> ast.AppendCmd:
    """Splunk Search Reference: union / multisearch. `union [maxtime=] [maxout=] [timeout=] <subsearch>...`,
    `multisearch <subsearch> <subsearch>...`. Datasets named without brackets are not supported."""
    from speleo.spl.commands.extra import read_options, subsearch

    kind = word.value.lower()
    opts = read_options(cur, {"maxtime", "maxout", "timeout"} if kind == "union" else set())
    subs = []
    while not cur.at_end():
        if cur.peek().kind is not T.SUBSEARCH:
            raise cur.unsupported(f"{kind} over named datasets is not supported (use [search ...])", cur.peek())
        subs.append(subsearch(cur))
    if not subs:
        raise cur.error("expected a subsearch '[ ... ]'")
    node = ast.AppendCmd(kind, opts, subs[0])
    node.more = subs[1:]            # type: ignore[attr-defined]
    return node


def compile_union(state: State, cmd: ast.AppendCmd) -> None:
    """Splunk Search Reference: union, multisearch. The results of every subsearch (and of the
    search so far when union is not the first command), columns by name. When every side is
    events they are merged newest first (as multisearch interleaves by time); otherwise one
    dataset after another."""
    subs = [cmd.subsearch] + list(getattr(cmd, "more", []))
    first = _is_first(state, cmd)
    states = [] if first else [state]
    states += [_compile_sub(state, s.pipeline) for s in subs]
    parts = [_positioned(st, i) for i, st in enumerate(states)]
    union = parts[0]
    for p in parts[1:]:
        union = exp.Union(this=union, expression=p, distinct=False, by_name=True)
    columns: list[str] = []
    for st in states:
        columns += [c for c in st.columns if c not in columns]
    events = all(st.has_raw() for st in states)
    transforming = any(st.transforming for st in states)
    if events:
        relation = exp.select(exp.Star(), exp.alias_(exp.Neg(this=col("_time")), ident("__speleo_nt"))) \
            .from_(exp.Subquery(this=union, alias=exp.TableAlias(this=ident("__speleo_x"))))
        _restart(state, relation, columns, True, transforming, ["__speleo_nt", "__speleo_part", "__speleo_pos"])
    else:
        _restart(state, union, columns, False, True, ["__speleo_part", "__speleo_pos"])
    state.events_sql = None


def _is_first(state: State, cmd: ast.Command) -> bool:
    return state.query[: cmd.start].strip() in ("", "|")
