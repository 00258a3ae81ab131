"""Compiler: ast.Pipeline -> sqlglot tree -> DuckDB SQL (the PRQL / pipe-syntax shape).

The first search becomes `SELECT * FROM __events__ WHERE <time range> AND <terms>`;
each later command is looked up in COMMANDS and extends the State. Time bounds,
index names and required terms are read from the top-level AND of the first search.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field

from sqlglot import exp

from speleo.spl import ast
from speleo.spl.commands import COMMANDS
from speleo.spl.commands.continuation import defer_after_post
from speleo.spl.commands.opscmds import finish_formats
from speleo.spl.commands.search import parse_relative_time_at, search_condition
from speleo.spl.nodes import ImpliedRaw, render
from speleo.spl.parser import parse_expanded
from speleo.spl.cse import INPUTS, Extracted, share_extractions
from speleo.spl.prune import prune_columns
from speleo.spl.rawsub import resolve as resolve_text_subsearches
from speleo.spl.state import BASE_COLUMNS, EVENTS_TABLE, col, CompileContext, State, tbl

__all__ = ["CompileContext", "CompiledSearch", "compile_search", "compile_pipeline"]


@dataclass
class CompiledSearch:
    """See docs: SQL of the pipeline over `__events__` plus what the planner needs."""

    sql: str
    earliest: float | None
    latest: float | None
    indexes: list[str] | None
    required_terms: list[str]
    transforming: bool
    order_by_time_desc: bool
    ast: ast.Pipeline
    post: list = field(default_factory=list)   # steps on the Arrow result (query.post.apply_post)
    ctx: CompileContext | None = None          # what it was compiled with
    tree: exp.Expression | None = None         # `sql` before lowering (Extracted markers kept): see with_fields
    events_tree: exp.Expression | None = None  # `events_sql` before lowering (rendered when first read)
    _events_sql: str | None = field(default=None, repr=False)
    implied_fields: frozenset = frozenset()    # fields whose `=` values `_raw` holds (nodes.ImpliedRaw)
    messages: list = field(default_factory=list)   # for the searcher, found while compiling
    summary: object | None = None              # `__events__` is acceleration summary rows (commands.datamodel.SummaryUse)
    bucket_listing: list | None = None         # dbinspect's index patterns: `__dbinspect__` lists their buckets

    @property
    def events_sql(self) -> str | None:
        """SQL of the search's events before its first transforming command (the timeline
        counts them), or None when the search has no event part. Rendered on first use: a
        transforming search without a timeline never needs it."""
        if self._events_sql is None and self.events_tree is not None:
            self._events_sql = render(self.events_tree)
        return self._events_sql

    def over(self, table: str) -> "CompiledSearch":
        """The same search reading table `table` instead of `__events__` (a search that reads
        its events beside another: query.acceleration)."""
        def rename(node: exp.Expression) -> exp.Expression:
            if isinstance(node, exp.Table) and node.name == EVENTS_TABLE and not node.args.get("db"):
                return exp.Table(this=exp.to_identifier(table))
            return node

        tree = self.tree.transform(rename) if self.tree is not None else None
        events_tree = self.events_tree.transform(rename) if self.events_tree is not None else None
        if tree is None:
            raise ValueError("over() needs the search's tree (call it before with_fields)")
        return dataclasses.replace(self, sql=render(tree), tree=tree, events_tree=events_tree, _events_sql=None)

    def with_fields(self, field_sql) -> "CompiledSearch":
        """The same search with every search-time field extraction built by `field_sql` instead
        (the query layer's extraction specialized to the buckets a search reads). Columns an
        extraction could not read where it stands (a command dropped `sourcetype`) stay NULL."""
        if self.tree is None:
            return self
        tree = _swap_fields(self.tree, field_sql)
        return dataclasses.replace(
            self, sql=render(tree), implied_fields=implied_fields(tree),
            events_tree=_swap_fields(self.events_tree, field_sql) if self.events_tree is not None else None,
            _events_sql=None,
            ctx=dataclasses.replace(self.ctx, field_sql=field_sql) if self.ctx is not None else None,
            tree=None)


def implied_fields(tree: exp.Expression) -> frozenset:
    """The fields of the first search whose values are copies of `_raw` (their `ImpliedRaw`
    filters apply): the term index may look for those values' words. Only the first search's:
    a later `| search` may read a field another way (after `fields - _fields`, `eval _raw=`)."""
    return frozenset(n.args["name"].this for n in tree.find_all(ImpliedRaw)
                     if n.args["ok"].this and n.args.get("first") is not None)


def _swap_fields(tree: exp.Expression, field_sql) -> exp.Expression:
    """A copy of `tree` whose extractions are built by `field_sql`, except those that read a
    `_raw`, `_fields` or `sourcetype` some stage gave a new value (eval, rename, join,
    transaction...): the profile describes the stored events, not those values."""
    tree = tree.copy()
    memo: dict[int, bool] = {}
    todo = {id(node) for node in tree.find_all(Extracted, ImpliedRaw)
            if _sources_stored(node.find_ancestor(exp.Select), memo)}

    def swap(node: exp.Expression) -> exp.Expression:
        if isinstance(node, ImpliedRaw) and id(node) in todo:   # decided again for the new extraction
            from speleo.spl.commands.search import _raw_derived

            ok = _raw_derived(field_sql(node.args["name"].this))
            first = node.args.get("first")
            return ImpliedRaw(this=node.this.copy(), name=node.args["name"].copy(), ok=exp.Boolean(this=ok),
                              first=first.copy() if first is not None else None)
        if not isinstance(node, Extracted) or id(node) not in todo:
            return node
        present = {c.name for c in node.this.find_all(exp.Column) if not c.table}
        fs = field_sql.for_columns(present) if hasattr(field_sql, "for_columns") else field_sql
        fresh = fs(node.args["name"].this).transform(
            lambda n: exp.null() if isinstance(n, exp.Column) and not n.table and n.name not in present else n,
            copy=False)
        return Extracted(this=fresh, name=node.args["name"].copy())

    return tree.transform(swap, copy=False)


def _redefines_inputs(sel: exp.Select) -> bool:
    """Whether `sel` outputs `_raw`, `_fields` or `sourcetype` as anything but the same column."""
    star = next((e for e in sel.expressions if isinstance(e, exp.Star)), None)
    items = [e for e in sel.expressions if isinstance(e, exp.Alias)] + list(star.args.get("replace") or []) \
        if star is not None else [e for e in sel.expressions if isinstance(e, exp.Alias)]
    return any(e.alias in INPUTS and not (isinstance(e.this, exp.Column) and not e.this.table
                                          and e.this.name == e.alias) for e in items)


def _cte_body(table: exp.Table) -> exp.Expression | None:
    """The body of the CTE a table reference names (the nearest WITH in scope), or None."""
    node = table.parent
    while node is not None:
        with_ = node.args.get("with_")
        if isinstance(with_, exp.With):
            for cte in with_.expressions:
                if cte.alias == table.name:
                    return cte.this
        node = node.parent
    return None


def _sources_stored(sel: exp.Select | None, memo: dict[int, bool]) -> bool:
    """Whether every relation `sel` reads carries `_raw`, `_fields` and `sourcetype` as stored
    (unchanged since `__events__`); unknown shapes count as changed."""
    if sel is None:
        return False
    frm = sel.args.get("from_")
    sources = ([frm.this] if frm is not None else []) + [j.this for j in sel.args.get("joins") or []]
    return all(_stored(s, memo) for s in sources)


def _stored(rel: exp.Expression, memo: dict[int, bool]) -> bool:
    key = id(rel)
    if key not in memo:
        memo[key] = False          # a cycle (never generated) counts as changed
        if isinstance(rel, exp.Table):
            if rel.args.get("pivots") or rel.args.get("db"):
                ok = False
            elif rel.name == EVENTS_TABLE:
                ok = True
            else:
                body = _cte_body(rel)
                ok = body is not None and _stored(body, memo)
        elif isinstance(rel, exp.Subquery):
            ok = not rel.args.get("pivots") and _stored(rel.this, memo)
        elif isinstance(rel, exp.Select):
            ok = not _redefines_inputs(rel) and _sources_stored(rel, memo)
        elif isinstance(rel, exp.SetOperation):
            ok = _stored(rel.this, memo) and _stored(rel.expression, memo)
        else:
            ok = False
        memo[key] = ok
    return memo[key]


def compile_search(query: str, ctx: CompileContext) -> CompiledSearch:
    """Parse and compile an SPL query for DuckDB."""
    pipeline, text = parse_expanded(query, ctx.macros)
    pipeline, notes = resolve_text_subsearches(pipeline, text, ctx)   # run first: their text (spl/rawsub.py)
    compiled = compile_pipeline(pipeline, text, ctx)
    compiled.messages += notes
    return compiled


def compile_pipeline(pipeline: ast.Pipeline, text: str, ctx: CompileContext, top_level: bool = True) -> CompiledSearch:
    """`top_level=False`: compiled as a subsearch is (no post step: a timechart pivots in SQL)."""
    state, earliest, latest, top = build_state(pipeline, text, ctx, top_level=top_level)
    finish_formats(state)
    if state.events_sql is None:
        state.events_sql = _events_select(state)
    indexes, terms = _indexes(top), _required_terms(top)
    for sub_earliest, sub_latest, sub_indexes in state.subs:
        # Subsearches read the same buckets: widen the plan to cover them too.
        earliest = None if earliest is None or sub_earliest is None else min(earliest, sub_earliest)
        latest = None if latest is None or sub_latest is None else max(latest, sub_latest)
        indexes = None if indexes is None or sub_indexes is None else list(dict.fromkeys(indexes + sub_indexes))
        terms = []
    tree = _final_tree(state)
    events_tree = share_extractions(state.events_sql.copy()) if state.events_sql is not None else None
    return CompiledSearch(
        sql=render(tree),
        earliest=earliest,
        latest=latest,
        indexes=indexes,
        required_terms=terms,
        transforming=state.transforming,
        order_by_time_desc=not state.transforming and not state.sorted_by_user,
        ast=pipeline,
        post=list(state.post),
        ctx=ctx,
        tree=tree,
        implied_fields=implied_fields(tree),
        events_tree=events_tree,
        messages=list(state.notes),
        summary=state.summary,
        bucket_listing=state.bucket_listing,
    )


def build_state(pipeline: ast.Pipeline, text: str, ctx: CompileContext, top_level: bool = False):
    """Compile a pipeline into a State; returns (state, earliest, latest, top-level search nodes).
    `top_level`: the main search, whose result may go through post steps (not a subsearch)."""
    state = State(ctx=ctx, query=text, top_level=top_level)
    first = pipeline.commands[0]
    rest = pipeline.commands[1:]
    top = _top_level(first.expr) if isinstance(first, ast.SearchCmd) else []
    if isinstance(first, ast.TstatsCmd) and first.kind == "tstats":
        top = _top_level(first.where)      # tstats reads the events its where clause selects
    earliest, latest = _time_range(state, top)
    state.time_range = (earliest, latest)
    state.set_order([exp.Ordered(this=col("_time"), desc=True)], {"_time"})
    _filter_time(state, earliest, latest)
    if isinstance(first, ast.SearchCmd) or (isinstance(first, ast.TstatsCmd) and first.datamodel is None):
        body = [n for n in top if not isinstance(n, ast.TimeBound)]
        if body:
            cond = search_condition(state, ast.And(body) if len(body) > 1 else body[0])
            if top_level:   # the term index evaluates this search's comparisons (implied_fields)
                for n in cond.find_all(ImpliedRaw):
                    n.set("first", exp.true())
            state.filter(cond)
    if not isinstance(first, ast.SearchCmd):
        rest = pipeline.commands
    for i, cmd in enumerate(rest):
        state.later = rest[i + 1:]
        state.leading = i == 0 and not isinstance(first, ast.SearchCmd)
        _compile_command(state, cmd)
    state.later, state.leading = [], False
    if state.open_row:   # the rows' JSON after a PIVOT (stats.open_pivot_columns): read by the commands only
        from speleo.spl.state import ROW_JSON

        state.wrap()
        state.select = exp.select(exp.Star(except_=[col(ROW_JSON)])).from_(state.select.args["from_"].this.copy())
        state.open_row = False
    return state, earliest, latest, top


def compile_sub(state: State, sub: ast.Pipeline) -> State:
    """Compile a subsearch's pipeline (over the same `__events__`); the outer plan is widened."""
    inner, earliest, latest, top = build_state(sub, state.query, state.ctx)
    if inner.post:
        from speleo.spl.rawsub import FILE_WRITERS, SINKS, _post_kinds

        kinds = _post_kinds(inner.post)
        kind = next((k for k in kinds if k in SINKS), kinds[0])
        hint = ("; outputlookup and outputcsv work in a subsearch `[...]` that filters a search Speleo runs (web, "
                "API, speleo search), which runs it first" if kind in FILE_WRITERS else "")
        raise state.fail(f"{kind} inside a subsearch is not supported (it runs on the result after the search)"
                         + hint, sub)
    state.subs.append((earliest, latest, _indexes(top)))
    state.subs.extend(inner.subs)
    return inner


def sub_select(inner: State) -> exp.Select:
    """A self-contained SELECT (its own WITH) of a compiled subsearch, hidden columns included."""
    inner.wrap()
    sel = exp.select(exp.Star()).from_(inner.select.args["from_"].this.copy())
    return _with(inner.ctes, sel)


def compile_commands(state: State, commands: list[ast.Command]) -> None:
    for cmd in commands:
        _compile_command(state, cmd)


def _compile_command(state: State, cmd: ast.Command) -> None:
    name = _command_word(state, cmd)
    spec = COMMANDS[name]
    if defer_after_post(state, cmd):      # after outputlookup, cluster, transpose...: run on their result
        return
    if not spec.streaming and state.events_sql is None:
        state.events_sql = _events_select(state)
    spec.compile(state, cmd)


def _command_word(state: State, cmd: ast.Command) -> str:
    m = re.match(r"\s*\|?\s*(\w+)", state.query[cmd.start :])
    word = m.group(1).lower() if m else "search"
    return word if word in COMMANDS else "search"


def _top_level(expr: ast.Node | None) -> list[ast.Node]:
    """The items of the search's top-level AND; a parenthesized AND inside it is the same AND
    (`(index=a earliest=-1h) x`, the text a subsearch returned)."""
    if expr is None:
        return []
    if not isinstance(expr, ast.And):
        return [expr]
    return [n for item in expr.items for n in _top_level(item)]


def _time_range(state: State, top: list[ast.Node]) -> tuple[float | None, float | None]:
    earliest, latest = state.ctx.default_earliest, state.ctx.default_latest
    for node in top:
        if isinstance(node, ast.TimeBound):
            t = parse_relative_time_at(state, node)
            if node.which == "earliest":
                earliest = t
            else:
                latest = t
    return earliest, latest


def _filter_time(state: State, earliest: float | None, latest: float | None) -> None:
    if earliest is not None:
        state.filter(exp.GTE(this=col("_time"), expression=exp.Literal.number(repr(float(earliest)))))
    if latest is not None:
        state.filter(exp.LT(this=col("_time"), expression=exp.Literal.number(repr(float(latest)))))


def _indexes(top: list[ast.Node]) -> list[str] | None:
    found: list[str] = []
    for node in top:
        items = node.items if isinstance(node, ast.Or) else [node]
        names = [i.value for i in items if isinstance(i, ast.FieldCmp) and i.field == "index" and i.op == "="]
        if len(names) == len(items):
            found += [n for n in names if n not in found]
        elif isinstance(node, ast.FieldIn) and node.field == "index":
            found += [v for v in node.values if v not in found]
    return found or None


def _required_terms(top: list[ast.Node]) -> list[str]:
    """Maximal [0-9a-z] runs of positive top-level terms (the bloom index tokenizes the same way)."""
    out: list[str] = []
    for node in top:
        if isinstance(node, ast.Term):
            parts = [p for p in re.split(r"[^0-9a-z*]+", node.text.lower()) if p and "*" not in p]
            out += [p for p in parts if p not in out]
    return out


def _events_select(state: State) -> exp.Select | None:
    if not state.has_raw():
        return None
    snapshot = State(ctx=state.ctx, query=state.query, select=state.select.copy(),
                     columns=list(state.columns), ctes=list(state.ctes))
    snapshot.wrap()
    cols = [state.field(c) if c not in state.columns else col(c) for c in BASE_COLUMNS]
    sel = exp.select(*[exp.alias_(e, c, quoted=True) for e, c in zip(cols, BASE_COLUMNS)]) \
        .from_(snapshot.select.args["from_"].this.copy())
    return _with(snapshot.ctes, sel)


def _with(ctes: list[tuple[str, exp.Expression]], sel: exp.Select) -> exp.Select:
    for name, body in ctes:
        cte = exp.CTE(this=body.copy(), alias=exp.TableAlias(this=exp.to_identifier(name)))
        with_ = sel.args.get("with_")
        if with_ is None:
            sel.set("with_", exp.With(expressions=[cte]))
        else:
            with_.append("expressions", cte)
    return sel


def _final_tree(state: State) -> exp.Expression:
    return prune_columns(share_extractions(_with(state.ctes, state.ordered_select())))


def _final_sql(state: State) -> str:
    return render(_final_tree(state))
