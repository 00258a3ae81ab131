"""tstats, datamodel, from datamodel: and pivot (Splunk Search Reference: tstats, datamodel,
from, pivot) over the data models of `speleo.datamodels` and the indexed fields.

A data model dataset is its constraint searches (its own and its ancestors', via event types and
tags) compiled into a filter over the events, plus its fields: `<Dataset>.<field>` in tstats and
`datamodel ... search` (`Authentication.user`), read from the event's field of the same name or
computed by the dataset's Eval / Rex calculation. A tstats over an accelerated model reads its
acceleration summaries (`_from_summaries`, speleo.query.acceleration); otherwise it computes from
the events, and `summariesonly=t` finds nothing.
"""

from __future__ import annotations

import re
import threading

from sqlglot import exp

from speleo.errors import NotFoundError, SplUnsupportedError
from speleo.spl import ast
from speleo.spl.commands.knowledge import constraint_condition, knowledge_of
from speleo.spl.commands.rows import assign_many
from speleo.spl.cursor import Cursor, as_bool
from speleo.spl.state import State
from speleo.spl.tokens import T, Token

INDEXED = {"index", "host", "source", "sourcetype", "_time", "_indextime", "splunk_server"}
_ACCEPTED = ("summariesonly", "allow_old_summaries", "local", "include_reduced_buckets", "chunk_size",
             "max_time", "sid")


class Target:
    """A resolved dataset: model, dataset name, and the names its fields go by."""

    def __init__(self, model, dataset: str) -> None:
        self.model, self.dataset = model, dataset
        self.lineage = [d.name for d in model.lineage(dataset)]
        self.fields = model.fields(dataset)

    @property
    def prefix(self) -> str:
        """The name tstats fields carry: the root dataset's (`Processes.process_name`)."""
        return self.lineage[0]


def resolve(state: State, spec: str, nodename: str | None, node: ast.Node) -> Target:
    """`Model`, `Model.Dataset` or `Model.Root.Child` (and `nodename=Root.Child`) -> Target."""
    parts = [p for p in spec.strip().split(".") if p]
    try:
        model = knowledge_of(state).datamodel(parts[0] if parts else spec)
        if nodename:
            dataset = nodename.split(".")[-1]
        elif len(parts) > 1:
            dataset = parts[-1]
        else:
            dataset = model.roots()[0].name
        wanted = {d.lower(): d for d in model.datasets}
        if dataset.lower() not in wanted:
            raise NotFoundError(f"data model {model.name!r} has no dataset {dataset!r} "
                                f"(it has: {', '.join(model.datasets)})")
        return Target(model, wanted[dataset.lower()])
    except NotFoundError as e:
        raise SplUnsupportedError(str(e), state.query, node.start, max(node.end, node.start + 1)) from None


def dataset_filter(state: State, target: Target, node: ast.Node) -> None:
    """Keep the events of the dataset: every constraint of it and its ancestors. A child's
    constraint may read the calculated fields of its ancestors (`action=failure` under a parent
    that computes `action`)."""
    lineage = target.model.lineage(target.dataset)
    for text in lineage[0].constraints:
        state.filter(constraint_condition(state, text, f"data model {target.model.name}.{lineage[0].name} "
                                                      f"constraint {text!r}", node))
    for cond in child_conditions(state, target, node):
        state.filter(cond)


def child_conditions(state: State, target: Target, node: ast.Node) -> list[exp.Expression]:
    """The constraints of the target's lineage below its root, as conditions over the root's
    events (reading the calculated fields of the ancestors, as dataset_filter does)."""
    lineage = target.model.lineage(target.dataset)
    if len(lineage) == 1:
        return []
    parent = Target(target.model, lineage[-2].name)
    calculated = {out: field_value(state, parent, out, node) for d in lineage[:-1]
                  for c in d.calculations for out in c.outputs}
    saved = dict(state.bindings)
    state.bindings.update(calculated)
    try:
        return [constraint_condition(state, text, f"data model {target.model.name}.{d.name} constraint {text!r}", node)
                for d in lineage[1:] for text in d.constraints]
    finally:
        state.bindings.clear()
        state.bindings.update(saved)


def field_value(state: State, target: Target, name: str, node: ast.Node) -> exp.Expression:
    """The value of the dataset's field `name` for each event."""
    calc = target.model.calculation(target.dataset, name)
    if calc is None or calc.kind in ("lookup", "geoip"):
        return state.field(name)
    what = f"data model {target.model.name} calculation of {name!r}"
    if calc.kind == "rex":
        from speleo.spl.functions import group_pattern, regex_literal, text
        from speleo.spl.nodes import RegexExtract

        pattern = regex_literal(calc.expression, state, node)
        index = re.compile(pattern.this).groupindex.get(name)
        if index is None:
            raise SplUnsupportedError(f"{what}: the regex has no group named {name!r}", state.query, node.start,
                                      max(node.end, node.start + 1))
        pattern, index = group_pattern(pattern, index)
        return RegexExtract(this=text(state.field(calc.input_field)), expression=pattern,
                            group=exp.Literal.number(index))
    return _eval_text(state, calc.expression, what, node)


def _eval_text(state: State, text: str, what: str, node: ast.Node) -> exp.Expression:
    from speleo.errors import SplError
    from speleo.spl.exprparse import parse_eval_expr
    from speleo.spl.functions import compile_expr
    from speleo.spl.tokens import lex

    try:
        cur = Cursor(text, lex(text, 0, len(text), "expr"), "eval")
        tree = parse_eval_expr(cur)
        cur.expect_end()
        saved, state.query = state.query, text
        try:
            return compile_expr(state, tree)[0]
        finally:
            state.query = saved
    except SplError as e:
        raise type(e)(f"{what}: {e.message}", state.query, node.start, max(node.end, node.start + 1)) from None


def split_name(target: Target, name: str) -> str | None:
    """`Dataset.field` -> field when Dataset is in the target's lineage; None for a plain name."""
    head, dot, rest = name.partition(".")
    if dot and head.lower() in (n.lower() for n in target.lineage):
        return rest
    return None


def _referenced(cmd: ast.TstatsCmd) -> list[str]:
    from speleo.spl.commands.more import _search_fields

    names = [a.arg for a in cmd.aggs if a.arg] + list(cmd.by)
    names += [n.field for n in _search_fields(cmd.where)]
    return list(dict.fromkeys(names))


def bind_fields(state: State, target: Target, names: list[str], node: ast.Node) -> None:
    """Columns for the `Dataset.field` names (one stage)."""
    values = {}
    for name in names:
        base = split_name(target, name)
        if base is None:
            if "." in name and name.split(".")[0] not in INDEXED and name.split(".")[0] in _all_datasets(state):
                raise SplUnsupportedError(
                    f"{name!r}: {name.split('.')[0]} is not {target.model.name}.{target.dataset} or one of its "
                    f"parents ({'.'.join(target.lineage)})", state.query, node.start, max(node.end, node.start + 1))
            continue
        values[name] = field_value(state, target, base, node)
    assign_many(state, values)


def _all_datasets(state: State) -> set[str]:
    return {d for m in knowledge_of(state).datamodels.values() for d in m.datasets}


def _where_body(cmd: ast.TstatsCmd) -> tuple[ast.Node | None, str | None]:
    """The where clause without its time bounds and `nodename=` (which names the dataset)."""
    items = [] if cmd.where is None else list(cmd.where.items) if isinstance(cmd.where, ast.And) else [cmd.where]
    nodename = None
    body = []
    for n in items:
        if isinstance(n, ast.FieldCmp) and n.field.lower() == "nodename" and n.op == "=":
            nodename = n.value
        elif not isinstance(n, ast.TimeBound):
            body.append(n)
    return (ast.And(body) if len(body) > 1 else body[0] if body else None), nodename


def _option(cmd: ast.TstatsCmd, key: str) -> str | None:
    return cmd.by_options.get(key, cmd.options.get(key))


def compile_tstats(state: State, cmd: ast.TstatsCmd) -> None:
    """Splunk Search Reference: tstats. Over the indexed fields (the where clause is applied by
    compile_pipeline, as a first search) or `from datamodel=<Model>[.<Dataset>]` (`nodename=` in
    the options or the where clause picks a child dataset). `prestats=t` passes the selected
    events, with their `Dataset.field` columns, to the next command (stats, timechart, chart),
    which computes the statistics; `fillnull_value=` stands in for a missing by-field (without
    it, events missing one are left out, as in stats)."""
    from speleo.spl.commands.search import search_condition

    if as_bool(cmd.options.get("append", "false")):
        raise state.fail("tstats append=true is not supported", cmd)
    prestats = as_bool(_option(cmd, "prestats") or "false")
    if cmd.datamodel is None:
        _check_indexed(state, cmd)
    else:
        body, nodename = _where_body(cmd)
        target = resolve(state, cmd.datamodel, cmd.options.get("nodename") or nodename, cmd)
        names = _referenced(cmd)
        if prestats:
            names += [f"{target.prefix}.{f}" for f in target.fields if not f.startswith("_")]
        names = list(dict.fromkeys(names))
        if not _from_summaries(state, cmd, target, names):
            dataset_filter(state, target, cmd)
            bind_fields(state, target, names, cmd)
        if body is not None:
            state.filter(search_condition(state, body))
    if prestats:
        return
    _fill_by(state, cmd)
    _compile_stats(state, cmd)


# --- acceleration summaries (speleo.query.acceleration) -------------------------------------------

SUMMARY_BASE = ("_time", "index", "host", "source", "sourcetype")
MEMBER = "__dm."   # summary column prefix: the event belongs to the child dataset named after it


def subtree(model, root: str) -> list:
    """The datasets under root dataset `root` (itself first), in the model's order."""
    return [d for d in model.datasets.values() if model.lineage(d.name)[0].name == root]


def summary_columns(model, root: str) -> list[str]:
    """The columns of a summary of root dataset `root`: the indexed fields, `<root>.<field>` for
    every field of the root and its descendants, and `__dm.<Child>` (a boolean) for each
    descendant: whether the event meets that child's constraints."""
    cols = list(SUMMARY_BASE)
    for d in subtree(model, root):
        cols += [f"{root}.{f}" for f in model.fields(d.name) if f not in INDEXED and f"{root}.{f}" not in cols]
    return cols + [MEMBER + d.name for d in subtree(model, root)[1:]]


def compile_acceleration_search(state: State, model, root: str, node: ast.Node) -> None:
    """The rows of a summary of `root` (summary_columns): its events, every field of its subtree
    computed, and the membership of each child dataset."""
    target = Target(model, root)
    state.set_order([], set())   # a summary's rows need no order (and keeping one costs a sort)
    dataset_filter(state, target, node)
    values: dict[str, exp.Expression] = {}
    for d in subtree(model, root):
        for f in model.fields(d.name):
            if f not in INDEXED and f"{root}.{f}" not in values:   # as the root computes it (_same_calculations)
                values[f"{root}.{f}"] = field_value(state, target, f, node)
    for d in subtree(model, root)[1:]:
        conds = child_conditions(state, Target(model, d.name), node)
        cond = exp.and_(*conds) if conds else exp.true()
        values[MEMBER + d.name] = exp.Coalesce(this=exp.paren(cond), expressions=[exp.false()])
    assign_many(state, values)
    from speleo.spl.commands.fields import _project
    from speleo.spl.state import col

    _project(state, [(c, col(c)) for c in summary_columns(model, root)])
    state.events = False
    state.transforming = True


def summary_digest(model, knowledge, props) -> str:
    """The fingerprint an acceleration summary is built under (16 hex digits): the model's
    definition, the event types and tags its constraints may read, the field extraction
    (`props`) and Speleo's version. A summary built under another is out of date: a change to
    any of them is summarized again, never mixed with the new answers in one search."""
    import hashlib

    import speleo

    parts = [model.digest(), repr(sorted(knowledge.eventtypes.items())),
             repr(sorted((k, tuple(v)) for k, v in knowledge.tags.items())), repr(props), speleo.__version__]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


class SummaryUse:
    """How a tstats reads a model's acceleration summaries: which model and root, the model's
    definition hash (a summary built from another is not read unless `allow_old`), whether
    only summarized buckets are read (`summariesonly`), the summary's `columns`, and `raw`: the
    compiled acceleration search that gives the same rows from the events of buckets without a
    summary (compiled on first use: a search whose buckets all have one never needs it)."""

    def __init__(self, model: str, root: str, digest: str, summariesonly: bool, allow_old: bool, ctx,
                 columns: list[str]) -> None:
        self.model, self.root, self.digest = model, root, digest
        self.summariesonly, self.allow_old = summariesonly, allow_old
        self.columns = columns
        self.needed = list(columns)   # the columns this search reads (an older summary must hold them)
        self._ctx, self._raw = ctx, None

    @property
    def raw(self):
        """The acceleration search, reading the table `__dm_raw_events__`."""
        if self._raw is None:
            self._raw = raw_search(self._ctx, self.model, self.root, "__dm_raw_events__")
        return self._raw


_PLAIN = re.compile(r"^\w+$")


_RAW_CACHE: dict = {}   # (model, root, knowledge, field extraction, zone, bounds) -> compiled
_RAW_CACHE_MAX = 32
_RAW_LOCK = threading.Lock()   # searches run in threads of the server


def raw_search(ctx, model: str, root: str, table: str = "__events__"):
    """The compiled `| datamodel <model> <root> acceleration_search` (the rows of a summary,
    from events) in compile context `ctx`, reading `table`; names are plain words (checked by
    the caller).
    Compiling it takes seconds for the larger CIM models, so it is kept per model, knowledge,
    field extraction (props), zone and time bounds: an accelerated search over a fresh bucket
    does not pay it each time. Callers must not change what it returns."""
    import dataclasses

    from speleo.spl.compiler import compile_search

    knowledge = knowledge_of_ctx(ctx)
    fs = ctx.field_sql
    key = (model, root, table, knowledge.datamodel(model).digest(), id(knowledge), repr(getattr(fs, "props", None)),
           getattr(fs, "tz_name", None), getattr(getattr(ctx, "tz", None), "key", str(getattr(ctx, "tz", ""))),
           ctx.default_earliest, ctx.default_latest, str(ctx.lookups_dir))
    with _RAW_LOCK:
        hit = _RAW_CACHE.get(key)
    if hit is not None and hit[0] is knowledge:
        return hit[1]
    text = f"| datamodel {model} {root} acceleration_search"
    compiled = compile_search(text, dataclasses.replace(ctx, macros={}))
    compiled.query_text = text
    if table != "__events__":
        compiled = compiled.over(table)
    with _RAW_LOCK:
        while len(_RAW_CACHE) >= _RAW_CACHE_MAX:
            _RAW_CACHE.pop(next(iter(_RAW_CACHE)))
        _RAW_CACHE[key] = (knowledge, compiled)   # the knowledge kept alive: its id cannot be reused meanwhile
    return compiled


def knowledge_of_ctx(ctx):
    k = getattr(ctx, "knowledge", None)
    if k is None:
        from speleo import knowledge

        k = knowledge.shipped()
    return k


def _from_summaries(state: State, cmd: ast.TstatsCmd, target: Target, names: list[str]) -> bool:
    """Compile tstats over the acceleration summaries of its model when the model is
    accelerated and the summary holds every field the search names (Splunk: tstats on an
    accelerated data model reads its tsidx summaries; `summariesonly=t` reads nothing else).
    True when it did. `summariesonly=t` on a model without acceleration finds nothing, as in
    Splunk (Search Reference: tstats, summariesonly), and the search's messages say why."""
    k = knowledge_of(state)
    setting = k.acceleration(target.model.name)
    summariesonly = as_bool(_option(cmd, "summariesonly") or "false")
    off = getattr(k, "summaries_off", "")
    if off:   # ClickHouse, a run of map: computed from the events, whatever the setting
        if summariesonly:
            state.notes.append(f"summariesonly=t: {off}")
        return False
    if not setting.enabled:
        if summariesonly:
            state.filter(exp.false())
            state.notes.append(f"summariesonly=t: data model {target.model.name} is not accelerated, so nothing was "
                               f"read ('speleo datamodel accelerate {target.model.name}' builds its summaries)")
        return False
    root = target.lineage[0]
    cols = summary_columns(target.model, root)
    body, _ = _where_body(cmd)
    from speleo.spl.commands.more import _search_fields

    wanted = set(names) | {n.field for n in _search_fields(body)} | set(cmd.by)
    if (not _PLAIN.match(target.model.name) or not _PLAIN.match(root) or state.bindings
            or not state.top_level or not _self_contained(state, cmd) or any(n not in cols for n in wanted)
            or _reads_raw(body) or not _same_calculations(target, root, wanted)):
        return False
    allow_old = as_bool(_option(cmd, "allow_old_summaries") or ("true" if setting.allow_old_summaries else "false"))
    state.columns = list(cols)
    state.events = False
    state.events_sql = None   # no events to draw a timeline of: summary rows
    if target.dataset != root:
        from speleo.spl.state import col

        state.filter(col(MEMBER + target.dataset))
    props = getattr(state.ctx.field_sql, "props", None)
    state.summary = SummaryUse(target.model.name, root, summary_digest(target.model, k, props), summariesonly,
                               allow_old, state.ctx, cols)
    state.summary.needed = [c for c in cols if c in wanted or c in SUMMARY_BASE or c == MEMBER + target.dataset]
    return True


def _reads_raw(body: ast.Node | None) -> bool:
    """The where clause holds a term (`TERM(x)`, a bare word): it reads `_raw`, which summaries
    do not hold."""
    return ast.contains(body, (ast.Term,))


def _same_calculations(target: Target, root: str, names: set[str]) -> bool:
    """Every `<Root>.<field>` the search names is computed for the target dataset as the summary
    computed it (the root's calculation; a child that calculates a field its own way is read
    from the events, as without acceleration)."""
    for name in names:
        base = split_name(target, name)
        if base is not None and target.model.calculation(target.dataset, base) is not \
                target.model.calculation(root, base):
            return False
    return True


def _self_contained(state: State, cmd: ast.TstatsCmd) -> bool:
    """No subsearch, map or second search reads `__events__` beside the tstats (it would read
    the summary rows instead of events)."""
    later = list(state.later)
    return not ast.has_subsearch(cmd.where) and not any(
        ast.has_subsearch(c) or (isinstance(c, ast.ArgsCmd) and c.name == "map") or isinstance(c, ast.TstatsCmd)
        for c in later)


def _check_indexed(state: State, cmd: ast.TstatsCmd) -> None:
    from speleo.spl.commands.more import _search_fields

    for node in _search_fields(cmd.where):
        if node.field not in INDEXED:
            raise state.fail(f"tstats over the non-indexed field {node.field!r} is not supported: name a data "
                             "model (from datamodel=...) or use stats", node)
    for name in [a.arg for a in cmd.aggs if a.arg] + cmd.by:
        if name not in INDEXED:
            raise state.fail(f"tstats over the non-indexed field {name!r} is not supported: name a data model "
                             "(from datamodel=...) or use stats", cmd)


def _fill_by(state: State, cmd: ast.TstatsCmd) -> None:
    fill = _option(cmd, "fillnull_value")
    if fill is None:
        return
    from speleo.spl.functions import text

    assign_many(state, {b: exp.Coalesce(this=text(state.field(b)), expressions=[exp.Literal.string(fill)])
                        for b in cmd.by if b != "_time"})


def _compile_stats(state: State, cmd: ast.TstatsCmd) -> None:
    from speleo.spl.commands.stats import _assign, bucket_expr, compile_stats, parse_span

    span = _option(cmd, "span")
    if span and "_time" in cmd.by:
        tok = Token(T.WORD, span, cmd.start, cmd.end)
        _assign(state, "_time", bucket_expr(state, state.field("_time"), parse_span(Cursor(state.query, [tok]), tok)))
    compile_stats(state, ast.StatsCmd("stats", cmd.aggs, cmd.by, start=cmd.start, end=cmd.end),
                  text_minmax=state.top_level)   # min()/max() over text as stats (stats._text_extremes)


# --- datamodel / from datamodel: -------------------------------------------------------------

_DM_MODES = ("search", "flat", "acceleration_search")   # acceleration_search: Speleo's summary rows


def parse_datamodel(cur: Cursor, word: Token) -> ast.ArgsCmd:
    """Splunk Search Reference: datamodel. `datamodel [<model>] [<dataset>] [search|flat]
    [summariesonly=<bool>] [allow_old_summaries=<bool>] [strict_fields=<bool>]`."""
    from speleo.spl.commands.extra import read_options

    opts = read_options(cur, {"summariesonly", "allow_old_summaries", "strict_fields"})
    args = []
    while not cur.at_end() and not is_opt(cur):
        args.append(cur.name("a data model or dataset name").value)
    read_options(cur, {"summariesonly", "allow_old_summaries", "strict_fields"}, opts)
    mode = None
    if args and args[-1].lower() in _DM_MODES:
        mode = args.pop().lower()
    if len(args) > 2:
        raise cur.error("expected 'datamodel <model> <dataset> search'")
    return ast.ArgsCmd("datamodel", {"mode": mode or "", **opts}, args)


def is_opt(cur: Cursor) -> bool:
    from speleo.spl.commands.extra import is_option

    return is_option(cur)


def compile_datamodel(state: State, cmd: ast.ArgsCmd) -> None:
    """`datamodel <model> <dataset> search`: the dataset's events with every field as a
    `<Root>.<field>` column, named after the root dataset of its lineage as tstats names them
    (`Authentication.user` for Failed_Authentication; `flat`: the bare field names). Without
    `search`/`flat` Splunk returns the model's JSON description, which Speleo does not produce as
    a search result."""
    mode = cmd.options.get("mode")
    if cmd.args and mode == "acceleration_search":
        target = resolve(state, ".".join(cmd.args), None, cmd)
        compile_acceleration_search(state, target.model, target.lineage[0], cmd)
        return
    if not cmd.args or mode not in ("search", "flat"):
        raise state.fail("datamodel needs a model, a dataset and 'search' or 'flat' (the JSON description of a "
                         "model is 'speleo datamodel show <model>')", cmd)
    spec = ".".join(cmd.args)
    target = resolve(state, spec, None, cmd)
    dataset_filter(state, target, cmd)
    names = [f for f in target.fields if not f.startswith("_") and f not in INDEXED]
    if mode == "search":
        bind_fields(state, target, [f"{target.prefix}.{f}" for f in names], cmd)
    else:
        calculated = [f for f in names if target.model.calculation(target.dataset, f) is not None]
        assign_many(state, {f: field_value(state, target, f, cmd) for f in calculated})


def compile_from(state: State, cmd: ast.ArgsCmd) -> None:
    """Splunk Search Reference: from. `from datamodel:<Model>.<Dataset>`: the dataset's events,
    calculated fields under their own names. Other dataset types are refused with the reason."""
    spec = cmd.options.get("datamodel")
    if spec is None:
        kind = next(iter(cmd.options), "?")
        raise state.fail(f"from {kind}: is not supported: it reads saved searches or lookups; use "
                         "| inputlookup for a lookup file", cmd)
    target = resolve(state, spec, None, cmd)
    dataset_filter(state, target, cmd)
    names = [f for f in target.fields if not f.startswith("_") and f not in INDEXED]
    calculated = [f for f in names if target.model.calculation(target.dataset, f) is not None]
    assign_many(state, {f: field_value(state, target, f, cmd) for f in calculated})


# --- pivot -----------------------------------------------------------------------------------

PIVOT_FILTERS = {"is": "is", "isnot": "isnot", "=": "=", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">=",
                 "contains": "contains", "doesnotcontain": "doesnotcontain", "startswith": "startswith",
                 "endswith": "endswith", "in": "in", "isnull": "isnull", "isnotnull": "isnotnull",
                 "regex": "regex", "match": "regex"}
PIVOT_PERIODS = {"year": "1y", "month": "1mon", "day": "1d", "hour": "1h", "minute": "1m", "second": "1s"}
PIVOT_TOTAL = "ALL"   # the label of ROWSUMMARY's column and COLSUMMARY's row (Speleo's choice, see compile_pivot)


def _pivot_bool(cur: Cursor, what: str) -> bool:
    tok = cur.next()
    if tok.kind in (T.WORD, T.STRING) and tok.value.lower() in ("1", "0", "t", "f", "true", "false"):
        return tok.value.lower() in ("1", "t", "true")
    raise cur.error(f"pivot {what} takes true or false (1 or 0)", tok)


def _pivot_value(cur: Cursor, what: str) -> str:
    tok = cur.next()
    if tok.kind in (T.WORD, T.STRING, T.NUMBER):
        return tok.value
    raise cur.error(f"expected {what}", tok)


def parse_pivot(cur: Cursor, word: Token) -> ast.ArgsCmd:
    """Splunk Search Reference: pivot. `pivot <model> <dataset> <cell-value>... [SPLITROW <field>
    [AS <label>] [PERIOD <period>]]... [SPLITCOL <field>] [FILTER <field> <filter-type>
    <value>]... [LIMIT <field> BY top|bottom <n> <func>(<attribute>)] [SORT <n> [-]<field>]
    [ROWSUMMARY <bool>] [COLSUMMARY <bool>] [SHOWOTHER <bool>] [NUMCOLS <n>]`; a cell value is
    `count(<dataset>)` or `<func>(<field>)`, each with an optional `AS <label>`. Filter types: is,
    isNot, contains, doesNotContain, startsWith, endsWith, in (<v>, ...), isNull, isNotNull, regex,
    and the comparisons = != < <= > >=. RANGE/TRUELABEL/FALSELABEL split options, ROWSORT, TOP
    and BOTTOM are refused. Raises SplSyntaxError naming the token for a malformed element."""
    from speleo.spl.commands.aggregates import parse_agg

    model = cur.name("a data model name").value
    dataset = cur.name("a dataset name").value
    aggs: list[ast.Agg] = []
    rows: list[tuple[str, str]] = []
    periods: dict[str, str] = {}
    extra: dict = {"filters": [], "col": None, "limit": None, "rowsummary": False, "colsummary": False,
                   "showother": True, "numcols": None, "sort": None}
    while not cur.at_end():
        tok = cur.peek()
        up = tok.value.upper() if tok.kind is T.WORD else ""
        if up in ("SPLITROW", "SPLITROWS"):
            cur.next()
            field = cur.name("a field to split rows by").value
            label = field
            while True:
                if cur.accept_word("as"):
                    label = cur.name("a label after AS").value
                elif cur.peek().is_word("period"):
                    if field != "_time":
                        raise cur.unsupported(f"pivot PERIOD splits _time (a timestamp), not {field!r}", cur.peek())
                    cur.next()
                    p_tok = cur.peek()
                    p = _pivot_value(cur, "a period (auto, year, month, day, hour, minute, second)").lower()
                    if p != "auto" and p not in PIVOT_PERIODS:
                        raise cur.error("pivot PERIOD takes auto, year, month, day, hour, minute or second", p_tok)
                    periods[field] = PIVOT_PERIODS.get(p, "auto")
                elif cur.peek().is_word("range", "truelabel", "falselabel", "start", "end", "max", "size"):
                    raise cur.unsupported(f"pivot SPLITROW {cur.peek().value.upper()} is not supported (AS and "
                                          "PERIOD are)", cur.peek())
                else:
                    break
            rows.append((field, label))
        elif up in ("SPLITCOL", "SPLITCOLS"):
            cur.next()
            if extra["col"] is not None:
                raise cur.unsupported("pivot takes one SPLITCOL", tok)
            extra["col"] = cur.name("a field to split columns by").value
            if cur.peek().is_word("range", "period", "truelabel", "falselabel", "start", "end", "max", "size"):
                raise cur.unsupported(f"pivot SPLITCOL {cur.peek().value.upper()} is not supported", cur.peek())
        elif up == "FILTER":
            cur.next()
            field = cur.name("a field to filter on").value
            kind_tok = cur.next()
            kind = PIVOT_FILTERS.get(kind_tok.value.lower()) if kind_tok.kind in (T.WORD, T.OP) else None
            if kind is None:
                raise cur.error("expected a filter type (is, isNot, contains, doesNotContain, startsWith, endsWith, "
                                "in, isNull, isNotNull, regex, =, !=, <, <=, >, >=)", kind_tok)
            values: list[str] = []
            if kind == "in":
                cur.expect(T.LPAREN, "( after in")
                while not cur.accept(T.RPAREN):
                    if cur.accept(T.COMMA):
                        continue
                    if cur.at_end():
                        raise cur.error("expected ) after the values of in")
                    values.append(_pivot_value(cur, "a value"))
                if not values:
                    raise cur.error("FILTER ... in () needs at least one value: in (<value>, ...)", kind_tok)
            elif kind not in ("isnull", "isnotnull"):
                values.append(_pivot_value(cur, f"a value after {kind_tok.value}"))
            extra["filters"].append((field, kind, values))
        elif up == "LIMIT":
            cur.next()
            field = cur.name("the split field to limit").value
            if not cur.accept_word("by"):
                raise cur.error("expected BY after the LIMIT field (LIMIT <field> BY top <n> <func>(<attribute>))")
            order = cur.next()
            if not order.is_word("top", "bottom"):
                raise cur.error("expected top or bottom", order)
            n_tok = cur.next()
            try:
                n = int(n_tok.value)
            except ValueError:
                raise cur.error("expected the number of values to keep", n_tok) from None
            if n < 1:
                raise cur.error("LIMIT keeps at least 1 value", n_tok)
            extra["limit"] = (field, order.value.lower(), n, parse_agg(cur))
        elif up in ("ROWSUMMARY", "COLSUMMARY", "SHOWOTHER"):
            cur.next()
            extra[up.lower()] = _pivot_bool(cur, up)
        elif up == "NUMCOLS":
            cur.next()
            n_tok = cur.next()
            try:
                extra["numcols"] = int(n_tok.value)
            except ValueError:
                raise cur.error("NUMCOLS takes a number of columns", n_tok) from None
            if extra["numcols"] < 0:
                raise cur.error("NUMCOLS takes a number of columns, 0 or more (0: every column)", n_tok)
        elif up == "SORT":
            cur.next()
            n_tok = cur.next()
            if not (n_tok.kind in (T.WORD, T.NUMBER) and n_tok.value.isascii() and n_tok.value.isdigit()):
                raise cur.error("pivot SORT takes the number of rows to keep (0: all) and a field: "
                                "SORT <n> [-]<field>", n_tok)
            key = cur.name("a field or cell label to sort by")
            desc, name = False, key.value
            if key.kind is T.WORD and key.value in ("+", "-"):   # `- "Count of x"`
                desc, name = key.value == "-", cur.name("a field or cell label to sort by").value
            elif key.kind is T.WORD and key.value[:1] in "+-":   # `-host`
                desc, name = key.value[0] == "-", key.value[1:]
            extra["sort"] = (int(n_tok.value), name, desc, key.start, key.end)
        elif up in ("ROWSORT", "TOP", "BOTTOM", "PERIOD", "START", "END", "MAX"):
            raise cur.unsupported(f"pivot {up} is not supported (cells, SPLITROW, SPLITCOL, FILTER, LIMIT, SORT, "
                                  "ROWSUMMARY, COLSUMMARY, SHOWOTHER and NUMCOLS are): order the rows with "
                                  "SORT <n> [-]<field> or | sort after the pivot", tok)
        elif cur.accept(T.COMMA):
            continue
        else:
            aggs.append(parse_agg(cur))
    if not aggs:
        raise cur.error("expected a cell value such as count(<dataset>)")
    node = _pivot_node(model, dataset, aggs, rows)
    node.periods = periods
    node.pivot = extra
    return node


def _pivot_node(model: str, dataset: str, aggs: list[ast.Agg], rows: list[tuple[str, str]]) -> ast.Command:
    node = ast.TstatsCmd("pivot", {}, aggs, f"{model}.{dataset}", None, [f for f, _ in rows], {})
    node.labels = dict(rows)
    return node


def compile_pivot(state: State, cmd: ast.TstatsCmd) -> None:
    """pivot, a wrapper around stats and xyseries (Search Reference: pivot): `count(<dataset>)`
    counts the dataset's events; other functions read the dataset's fields by their bare names.
    FILTERs keep the events that pass every one (the string ones compare as `search` does,
    case-insensitively: `_pivot_filter`; `regex` is RE2/PCRE as `match()`). LIMIT keeps the split values with the n largest (top) or smallest
    (bottom) value of its function over their events (ties by the value's text). SPLITROW fields
    group the rows (renamed to their label; `PERIOD` bins `_time`, `auto` as `bin` chooses);
    SPLITCOL spreads one column per value of its field (with one SPLITROW at most), at most
    NUMCOLS columns (default 100), the rest in OTHER unless SHOWOTHER is false, as `chart` does.
    ROWSUMMARY adds a column with each row's sum of the cells, COLSUMMARY a last row with each
    column's sum; both are labelled `ALL` (Speleo's choice: the Reference does not name them);
    with SPLITCOL they are refused (write addtotals/addcoltotals after it: its columns are known
    only when it has run). SORT orders the rows before the summaries (`_pivot_sort`)."""
    from speleo.spl.commands.aggregates import agg_name
    from speleo.spl.commands.stats import compile_eventstats, compile_stats

    extra = getattr(cmd, "pivot", None) or {"filters": [], "col": None, "limit": None, "rowsummary": False,
                                             "colsummary": False, "showother": True, "numcols": None}
    target = resolve(state, cmd.datamodel, None, cmd)
    dataset_filter(state, target, cmd)

    def plain(a: ast.Agg) -> ast.Agg:
        if a.func == "count" and a.arg and a.arg.lower() in (n.lower() for n in target.lineage):
            return ast.Agg("count", None, a.param, a.alias or f"count({a.arg})", start=a.start, end=a.end)
        return a

    aggs = [plain(a) for a in cmd.aggs]
    limit = extra["limit"]
    col = extra["col"]
    names = [a.arg for a in aggs if a.arg] + list(cmd.by) + ([col] if col else []) \
        + [f for f, _, _ in extra["filters"]] + ([limit[0]] + ([limit[3].arg] if limit[3].arg else []) if limit else [])
    calculated = {n: field_value(state, target, n, cmd) for n in dict.fromkeys(names)
                  if target.model.calculation(target.dataset, n) is not None}
    assign_many(state, calculated)
    from speleo.spl.commands.search import compile_where

    from speleo.spl.commands.search import search_condition

    for field, kind, values in extra["filters"]:
        node = _pivot_filter(field, kind, values)
        if isinstance(node, SEARCH_NODES):   # compared as `search` does: case-insensitive, `*` a wildcard
            state.filter(search_condition(state, node))
        else:
            compile_where(state, ast.WhereCmd(node, start=cmd.start, end=cmd.end))
    if limit is not None:
        _pivot_limit(state, cmd, plain(limit[3]), limit[0], limit[1], limit[2], compile_eventstats)
    for field, span in (getattr(cmd, "periods", None) or {}).items():
        compile_bin_period(state, cmd, field, span)
    labels = {f: label for f, label in getattr(cmd, "labels", {}).items() if f != label}
    _pivot_names_distinct(state, cmd, [agg_name(a) for a in aggs], [labels.get(f, f) for f in cmd.by],
                          extra["rowsummary"])
    if col is not None:
        if extra["rowsummary"] or extra["colsummary"]:
            raise state.fail("pivot ROWSUMMARY and COLSUMMARY go with SPLITROW only: with SPLITCOL, add "
                             f"| addtotals fieldname={PIVOT_TOTAL} or | addcoltotals after the pivot", cmd)
        if len(cmd.by) != 1:
            raise state.fail("pivot SPLITCOL needs exactly one SPLITROW (a row per value, a column per "
                             f"{col} value)", cmd)
        from speleo.spl.commands.reshape import compile_chart

        options = {"limit": str(extra["numcols"] if extra["numcols"] is not None else 100),
                   "useother": "true" if extra["showother"] else "false"}
        compile_chart(state, ast.ChartCmd(options, aggs, cmd.by[0], [col], start=cmd.start, end=cmd.end))
    else:
        compile_stats(state, ast.StatsCmd("stats", aggs, list(cmd.by), start=cmd.start, end=cmd.end))
    if labels:
        from speleo.spl.commands.fields import compile_rename

        compile_rename(state, ast.RenameCmd(list(labels.items()), start=cmd.start, end=cmd.end))
    if extra.get("sort"):
        _pivot_sort(state, cmd, extra["sort"], labels)
    if extra["rowsummary"] or extra["colsummary"]:
        _pivot_summaries(state, cmd, aggs, [labels.get(f, f) for f in cmd.by], extra)


def _pivot_sort(state: State, cmd, sort: tuple, labels: dict) -> None:
    """`SORT <n> [-]<field>`, as Splunk's Pivot editor writes it (`SORT 100 _time`, `SORT 0 host`:
    the Search Reference lists `rowsort [options]` without them): the rows in the automatic order
    of that SPLITROW field (by its label) or cell label, descending with `-`, at most n of them
    (0: all), as `| sort <n> [-]<field>` after the pivot (Search Reference: sort). The summary row
    of COLSUMMARY comes after them."""
    from speleo.spl.commands.order import compile_sort

    n, name, desc, start, end = sort
    name = labels.get(name, name)
    if name not in state.columns and not state.open_columns:
        raise state.fail(f"pivot SORT {name!r}: not a SPLITROW field or cell label of this pivot "
                         f"(its columns: {', '.join(state.columns)})", cmd)
    if state.post:   # the cells are spread after the search runs (chart's min/max over text)
        raise state.fail("pivot SORT with SPLITCOL and min()/max() is not supported: write | sort after the pivot", cmd)
    compile_sort(state, ast.SortCmd([ast.SortKey(name, desc, start=start, end=end)], n or None,
                                     start=cmd.start, end=cmd.end))


INTEGER_CELLS = frozenset({"count", "c", "dc", "distinct_count"})


def _pivot_summaries(state: State, cmd, aggs: list[ast.Agg], rows: list[str], extra: dict) -> None:
    """ROWSUMMARY: a column `ALL` with each row's sum of its cells (addtotals); COLSUMMARY: a last
    row `ALL` with each column's sum (addcoltotals), none under an empty result. Sums of
    count/dc cells are whole numbers (3, not 3.0), and so is `ALL` when every cell is one; a
    cell with decimals (avg) keeps them; cells that are not numbers are left out of the sums."""
    from speleo.spl.commands.aggregates import agg_name
    from speleo.spl.commands.reshape import _coltotals, compile_addtotals
    from speleo.spl.commands.stats import _assign
    from speleo.spl.state import col

    cells = [c for c in state.columns if c not in rows and not c.startswith("_")]
    whole = [agg_name(a) for a in aggs if a.func in INTEGER_CELLS]
    if extra["rowsummary"]:
        compile_addtotals(state, ast.ArgsCmd("addtotals", {"fieldname": PIVOT_TOTAL}, cells,
                                             start=cmd.start, end=cmd.end))
        if cells and set(cells) <= set(whole):
            whole.append(PIVOT_TOTAL)
        cells.append(PIVOT_TOTAL)
    if extra["colsummary"]:
        _coltotals(state, cells, rows[0] if rows else None, PIVOT_TOTAL, only_with_rows=True)
    for name in whole:
        if name in state.columns and (extra["colsummary"] or name == PIVOT_TOTAL):
            _assign(state, name, exp.Cast(this=col(name), to=exp.DataType.build("BIGINT")))


def _pivot_names_distinct(state: State, cmd, cells: list[str], rows: list[str], rowsummary: bool) -> None:
    """Refuse a pivot whose output columns share a name (a SPLITROW label equal to a cell's label,
    two SPLITROWs with one label, a cell or row named like the ROWSUMMARY column): one would
    overwrite the other's values."""
    names = [*cells, *rows] + ([PIVOT_TOTAL] if rowsummary else [])
    seen: set[str] = set()
    for n in names:
        if n in seen:
            raise state.fail(f"pivot: two columns would be named {n!r} (cells, SPLITROW labels"
                             + (f" and the ROWSUMMARY column {PIVOT_TOTAL!r}" if rowsummary else "")
                             + " need distinct names): rename one with AS", cmd)
        seen.add(n)


SEARCH_NODES = (ast.FieldCmp, ast.FieldIn)


def _pivot_filter(field: str, kind: str, values: list[str]) -> ast.Node:
    """One pivot FILTER as a search node (values are literals, never SPL text). The string
    filters (is, isNot, contains, doesNotContain, startsWith, endsWith, in) compare as `search`
    compares `field=value`: case-insensitively (`FILTER user is ROOT` keeps root), a number also
    numerically, a `*` in a value a wildcard; the Pivot Manual's filters are the search's
    field comparisons, and the pivot page (Search Reference: pivot,
    https://help.splunk.com/splunk-cloud-platform/spl-search-reference/10.0.2503/search-commands/pivot)
    calls pivot a wrapper around stats. `isNot` and `doesNotContain` need the field to be there
    (search's `!=`). `regex` (`match()`: case-sensitive unless `(?i)`), isNull/isNotNull and the
    comparisons = != < <= > >= are `where` expressions (numbers as numbers)."""
    if kind in ("is", "isnot"):
        return ast.FieldCmp(field, "=" if kind == "is" else "!=", values[0], quoted=True)
    if kind == "in":
        return ast.FieldIn(field, list(values))
    if kind in ("contains", "doesnotcontain", "startswith", "endswith"):
        pattern = {"contains": "*{}*", "doesnotcontain": "*{}*", "startswith": "{}*", "endswith": "*{}"}[kind]
        return ast.FieldCmp(field, "!=" if kind == "doesnotcontain" else "=", pattern.format(values[0]), quoted=True)
    return _pivot_where(field, kind, values)


def _pivot_where(field: str, kind: str, values: list[str]) -> ast.Node:
    """A pivot FILTER that is a `where` expression: comparisons, isNull, isNotNull, regex."""
    f = ast.Field(field)

    def lit(v: str) -> ast.Node:
        return ast.Num(v) if re.fullmatch(r"-?\d+(\.\d+)?", v) else ast.Str(v)

    if kind in ("=", "!=", "<", "<=", ">", ">="):
        return ast.BinOp(kind, f, lit(values[0]))
    if kind == "isnull":
        return ast.Call("isnull", [f])
    if kind == "isnotnull":
        return ast.Call("isnotnull", [f])
    return ast.Call("match", [f, ast.Str(values[0])])   # regex


def _pivot_limit(state: State, cmd, agg: ast.Agg, field: str, order: str, n: int, compile_eventstats) -> None:
    """Keep the events whose `field` value is among the `n` values with the largest (`top`) or
    smallest (`bottom`) `agg` over their events; ties are broken by the value's text."""
    from speleo.spl.state import col, ident

    key = "__pivot_limit"   # hidden helper columns: stats/chart afterwards keep only splits and cells
    compile_eventstats(state, ast.StatsCmd("eventstats", [ast.Agg(agg.func, agg.arg, agg.param, key)], [field],
                                           start=cmd.start, end=cmd.end))
    state.wrap()
    value = exp.TryCast(this=col(key), to=exp.DataType.build("DOUBLE"))
    rank = exp.Window(this=exp.Anonymous(this="dense_rank", expressions=[]),
                      order=exp.Order(expressions=[exp.Ordered(this=value, desc=order == "top", nulls_first=False),
                                                   exp.Ordered(this=exp.cast(state.field(field), "VARCHAR"))]))
    state.select = state.select.select(exp.alias_(rank, ident("__pivot_rank")), copy=False)
    state.wrap()
    state.filter(exp.and_(exp.LTE(this=col("__pivot_rank"), expression=exp.Literal.number(n)),
                          exp.Not(this=exp.Is(this=state.field(field), expression=exp.null()))))


def compile_bin_period(state: State, cmd, field: str, span: str) -> None:
    """SPLITROW <field> PERIOD <p>: `bin <field> span=<p>` (`auto`: on _time the span timechart
    picks without span=, elsewhere bin's own choice)."""
    from speleo.spl.commands.stats import compile_bin

    if span == "auto" and field == "_time":   # bin's choice is numeric ranges ("1699996000-1699996100")
        from speleo.spl.commands.timechart import _auto_span

        seconds, unit = _auto_span(state)
        span = f"{seconds}{unit}"
    compile_bin(state, ast.BinCmd(field, None if span == "auto" else span, start=cmd.start, end=cmd.end))
