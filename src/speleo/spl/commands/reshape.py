"""Multivalue, template and row-reshaping commands (Splunk Search Reference: mvexpand, makemv,
nomv, foreach, spath, transaction, reverse, delta, accum, trendline, addtotals, addcoltotals,
xyseries, untable, transpose, chart, fieldsummary, extract/kv, metadata, eventcount, cluster)."""

from __future__ import annotations

import copy
import fnmatch
import re
from dataclasses import fields as dc_fields, is_dataclass

from sqlglot import exp

from speleo.spl import ast
from speleo.spl.commands.stats import _assign, _become_table
from speleo.spl.cursor import as_bool
from speleo.spl.functions import mv, num, text
from speleo.spl.state import ORD, col, ident, State, tbl

VARCHAR_LIST = exp.DataType.build("VARCHAR[]")


def _src(state: State) -> exp.Expression:
    state.wrap()
    return state.select.args["from_"].this.copy()


def _known(state: State) -> list[str]:
    return [c for c in state.columns if not c.startswith("__speleo")]


def _opts(state: State, cmd: ast.ArgsCmd, allowed: set[str]) -> None:
    for key in cmd.options:
        if key not in allowed:
            raise state.fail(f"{cmd.name} {key}= is not supported", cmd)


# --- multivalue commands ------------------------------------------------------------------------


def compile_mvexpand(state: State, cmd: ast.ArgsCmd) -> None:
    """Splunk Search Reference: mvexpand. One result per value of the field (the other fields
    copied), in value order; `limit=N` keeps the first N values. A result without the field
    is kept as it is."""
    _opts(state, cmd, {"limit"})
    name = cmd.args[0]
    values = mv((state.field(name), "any"))
    if "limit" in cmd.options:
        values = exp.Anonymous(this="list_slice", expressions=[values, exp.Literal.number(1),
                                                               exp.Literal.number(int(cmd.options["limit"]))])
    # a missing value stays one row (a list holding NULL)
    values = exp.Coalesce(this=exp.Nullif(this=values, expression=exp.Cast(this=exp.Array(expressions=[]),
                                                                             to=VARCHAR_LIST.copy())),
                          expressions=[exp.Cast(this=exp.Array(expressions=[exp.null()]), to=VARCHAR_LIST.copy())])
    state.protect_order(None)
    if not state.hidden_ord:   # results in no order (stats without by): number them as they come
        state.wrap()
        src = state.select.args["from_"].this.copy()
        state.select = exp.select(exp.Star(), exp.alias_(exp.Window(this=exp.RowNumber()), ident(ORD))).from_(src)
        state.order, state.order_cols, state.hidden_ord = [exp.Ordered(this=col(ORD))], {ORD}, True
    src = _src(state)
    lst = "__speleo_mv"
    state.select = exp.select(exp.Star(), exp.alias_(values, ident(lst))).from_(tbl(src))
    state.wrap()
    src = state.select.args["from_"].this.copy()
    unnest = exp.Unnest(expressions=[col(lst)])
    pos = exp.Unnest(expressions=[exp.Anonymous(this="generate_series", expressions=[
        exp.Literal.number(1), exp.Anonymous(this="len", expressions=[col(lst)])])])
    item = exp.alias_(unnest, ident(name))
    star = exp.Star(except_=[col(lst)], replace=[item]) if name in state.columns else exp.Star(except_=[col(lst)])
    extra = [] if name in state.columns else [item]
    state.select = exp.select(star, *extra, exp.alias_(pos, ident("__speleo_i"))).from_(tbl(src))
    state.wrap()
    src = state.select.args["from_"].this.copy()
    rn = exp.Window(this=exp.RowNumber(), order=exp.Order(expressions=[exp.Ordered(this=col(ORD)),
                                                                         exp.Ordered(this=col("__speleo_i"))]))
    state.select = exp.select(exp.Star(except_=[col("__speleo_i")], replace=[exp.alias_(rn, ident(ORD))])).from_(tbl(src))
    state.mv.discard(name)
    if name not in state.columns:
        state.columns = state.columns + [name]


def compile_makemv(state: State, cmd: ast.ArgsCmd) -> None:
    """Splunk Search Reference: makemv. Splits a field into a multivalue field at `delim`
    (default a single space) or keeps every match of `tokenizer`'s first group; empty values are
    dropped unless `allowempty=true`; `setsv` is ignored."""
    from speleo.spl.functions import regex_literal

    _opts(state, cmd, {"delim", "tokenizer", "allowempty", "setsv"})
    name = cmd.args[0]
    value = text(state.field(name))
    if "tokenizer" in cmd.options:
        parts = exp.Anonymous(this="regexp_extract_all", expressions=[value, regex_literal(cmd.options["tokenizer"]),
                                                                      exp.Literal.number(1)])
    else:
        parts = exp.Anonymous(this="string_split", expressions=[value, exp.Literal.string(cmd.options.get("delim", " "))])
    if not as_bool(cmd.options.get("allowempty", "false")):
        v = exp.to_identifier("__v")
        parts = exp.Anonymous(this="list_filter", expressions=[parts, exp.Lambda(
            this=exp.NEQ(this=exp.column("__v"), expression=exp.Literal.string("")), expressions=[v])])
    empty = exp.Cast(this=exp.Array(expressions=[]), to=VARCHAR_LIST.copy())
    _assign(state, name, exp.Nullif(this=parts, expression=empty), mv=True)


def compile_nomv(state: State, cmd: ast.ArgsCmd) -> None:
    """Splunk Search Reference: nomv. The values of a multivalue field joined by newlines."""
    _opts(state, cmd, set())
    name = cmd.args[0]
    _assign(state, name, exp.Anonymous(this="array_to_string", expressions=[mv((state.field(name), "any")),
                                                                             exp.Literal.string("\n")]))


# --- foreach ---------------------------------------------------------------------------------------


def _substitute(node, mapping: dict[str, str]):
    """A deep copy of an AST with placeholder identifiers replaced in every string."""
    if isinstance(node, str):
        for k, v in mapping.items():
            node = node.replace(k, v)
        return node
    if isinstance(node, list):
        return [_substitute(x, mapping) for x in node]
    if isinstance(node, tuple):
        return tuple(_substitute(x, mapping) for x in node)
    if isinstance(node, dict):
        return {k: _substitute(v, mapping) for k, v in node.items()}
    if is_dataclass(node):
        new = copy.copy(node)
        for f in dc_fields(node):
            setattr(new, f.name, _substitute(getattr(node, f.name), mapping))
        return new
    return node


def compile_foreach(state: State, cmd: ast.ForeachCmd) -> None:
    """Splunk Search Reference: foreach (mode=multifield). The subpipeline runs once per field
    matching the wildcard lists, with <<FIELD>>, <<MATCHSTR>> (what the wildcards matched) and
    <<MATCHSEG1>>.. (each wildcard's match) replaced. Wildcards match the fields known when
    compiling (columns); a name without a wildcard is used as it is."""
    from speleo.spl.compiler import compile_commands

    for key in cmd.options:
        if key != "mode" or cmd.options[key].lower() != "multifield":
            raise state.fail(f"foreach {key}={cmd.options[key]} is not supported", cmd)
    if cmd.body is None:
        raise state.fail("foreach needs a subpipeline", cmd)
    if any("*" in p or p not in state.columns for p in cmd.fields):
        refuse_unknown_columns(state, cmd, "foreach over fields it cannot see")
    for pattern in cmd.fields:
        if "*" in pattern:
            rx = re.compile("^" + "(.*)".join(re.escape(p) for p in pattern.split("*")) + "$")
            names = [c for c in _known(state) if rx.match(c)]
        else:
            rx, names = None, [pattern]
        for name in names:
            segs = list(rx.match(name).groups()) if rx else []
            mapping = {f"__{k}__": v for k, v in (("MATCHSTR", "".join(segs)),
                                                   *((f"MATCHSEG{i + 1}", s) for i, s in enumerate(segs)))}
            mapping = {"__FIELD__": name, **mapping}
            body = _substitute(cmd.body, mapping)
            compile_commands(state, body.commands)


# --- spath ---------------------------------------------------------------------------------------------


def spath_jsonpath(path: str) -> tuple[str, bool]:
    """Splunk path `a.b{}.c{1}` -> (JSONPath `$."a"."b"[*]."c"[1]`, has a `{}` wildcard)."""
    out, many = "$", False
    for part in path.split("."):
        m = re.fullmatch(r"([^{}]*)((?:\{\d*\})*)", part)
        if not m:
            raise ValueError(path)
        if m.group(1):
            out += '."' + m.group(1).replace("\\", "\\\\").replace('"', '\\"') + '"'
        for idx in re.findall(r"\{(\d*)\}", m.group(2)):
            if idx == "":
                many = True
                out += "[*]"
            else:
                out += f"[{int(idx) - 1 if int(idx) > 0 else 0}]"
    return out, many


def _json_doc(source: exp.Expression) -> exp.Expression:
    valid = exp.Anonymous(this="json_valid", expressions=[source.copy()])
    return exp.Case(ifs=[exp.If(this=exp.Coalesce(this=valid, expressions=[exp.false()]),
                                true=exp.Cast(this=source, to=exp.DataType.build("JSON")))])


def spath_value(source: exp.Expression, path: str) -> exp.Expression:
    jpath, many = spath_jsonpath(path)
    value = exp.Anonymous(this="json_extract_string", expressions=[_json_doc(source), exp.Literal.string(jpath)])
    if many:   # a list; empty -> null
        return exp.Nullif(this=value, expression=exp.Cast(this=exp.Array(expressions=[]), to=VARCHAR_LIST.copy()))
    return value


def compile_spath(state: State, cmd: ast.SpathCmd) -> None:
    """Splunk Search Reference: spath. `path=` extracts one value (`{}` steps give a multivalue
    list of every array item; `{N}` is the N-th item, 1-based); the output field is the path
    unless `output=`. Without a path every JSON path of the input becomes a field: the fields
    named later in the search are read from the JSON (`a.b`, `a{}.b`) before key=value extraction."""
    source = text(state.field(cmd.input or "_raw"))
    if cmd.path is None:
        if not state.has_raw():
            # results: the fields a later command names are read from the JSON now (their names
            # are only in the data); a field the results already have keeps its value
            for name in sorted(ast.field_names(state.later)):
                if name in state.columns or name.startswith("__speleo"):
                    continue
                try:
                    _assign(state, name, spath_value(source.copy(), name), mv=spath_jsonpath(name)[1])
                except ValueError:
                    continue
            return
        src = source

        def auto(name: str, src=src) -> exp.Expression:
            try:
                return spath_value(src.copy(), name)
            except ValueError:
                return exp.null()
        state.reopen_fields()   # after `fields`: the paths it reads exist again
        prev = state.auto_json
        state.auto_json = auto if prev is None else (lambda n, a=auto, p=prev: exp.Coalesce(this=a(n), expressions=[p(n)]))
        return
    try:
        value = spath_value(source, cmd.path)
    except ValueError:
        raise state.fail(f"invalid spath path {cmd.path!r}", cmd) from None
    _assign(state, cmd.output or cmd.path, value)


# --- reverse, delta, accum, trendline ------------------------------------------------------------------


def compile_reverse(state: State, cmd: ast.ArgsCmd) -> None:
    """Splunk Search Reference: reverse. The results in the opposite order."""
    if not state.order:
        return
    state.protect_order(None)
    state.order = [exp.Ordered(this=col(ORD), desc=True)]


def _prev(state: State, value: exp.Expression, offset: int = 1) -> exp.Expression:
    return exp.Window(this=exp.Anonymous(this="lag", expressions=[value, exp.Literal.number(offset)]),
                      order=exp.Order(expressions=[o.copy() for o in state.order or []]))


def compile_delta(state: State, cmd: ast.ArgsCmd) -> None:
    """Splunk Search Reference: delta. `delta f [as name] [p=N]`: the value minus the value N
    results earlier (in the current order); the first N results get no value. Default name
    `delta(f)`."""
    _opts(state, cmd, {"p"})
    name, alias = _field_as(state, cmd)
    p = int(cmd.options.get("p", "1"))
    state.protect_order({alias})
    v = num(state.field(name))
    _assign(state, alias, exp.Sub(this=v, expression=_prev(state, v.copy(), p)))


def _field_as(state: State, cmd: ast.ArgsCmd) -> tuple[str, str]:
    args = cmd.args
    if len(args) == 3 and args[1] == "as":
        return args[0], args[2]
    if len(args) != 1:
        raise state.fail(f"{cmd.name} takes one field [as name]", cmd)
    return args[0], f"{cmd.name}({args[0]})" if cmd.name == "delta" else args[0]


def compile_accum(state: State, cmd: ast.ArgsCmd) -> None:
    """Splunk Search Reference: accum. The running total of a numeric field (in the current
    order); a result whose value is not a number gets no value and does not add to the total."""
    name, alias = _field_as(state, cmd)
    state.protect_order({alias})
    v = num(state.field(name))
    spec = exp.WindowSpec(kind="ROWS", start="UNBOUNDED", start_side="PRECEDING", end="CURRENT ROW")
    total = exp.Window(this=exp.Sum(this=v), order=exp.Order(expressions=[o.copy() for o in state.order or []]),
                       spec=spec)
    _assign(state, alias, exp.Case(ifs=[exp.If(this=exp.Is(this=v.copy(), expression=exp.null()), true=exp.null())],
                                   default=total))


_TREND = re.compile(r"(sma|ema|wma)(\d+)\(([^)]+)\)(?:\s+as\s+(\S+))?", re.I)


def compile_trendline(state: State, cmd: ast.ArgsCmd) -> None:
    """Splunk Search Reference: trendline. `sma<N>(f)`: mean of the last N values; `wma<N>(f)`:
    weights 1..N, newest heaviest; `ema<N>(f)`: alpha = 2/(N+1), seeded with the first value
    (a running value: computed on the result rows, post step `ema`). The first N-1 results get
    no value (sma, wma). Default name `sma5(f)`."""
    text_ = state.query[cmd.start:cmd.end].split(None, 1)[1] if " " in state.query[cmd.start:cmd.end].strip() else ""
    specs = _TREND.findall(text_)
    if not specs:
        raise state.fail("trendline needs sma<N>(field), ema<N>(field) or wma<N>(field)", cmd)
    running: set[str] = set()   # ema outputs: computed after the SQL, so no later spec here can read them
    for kind, n_text, field, alias in specs:
        n, kind = int(n_text), kind.lower()
        if field in running:
            raise state.fail(f"trendline: {kind}{n_text}({field}) reads an ema of the same command, which is "
                             "computed after it; use a second trendline command", cmd)
        if not 2 <= n <= 10000:
            raise state.fail("trendline period must be between 2 and 10000", cmd)
        name = alias or f"{kind}{n}({field})"
        state.protect_order({name})
        order = exp.Order(expressions=[o.copy() for o in state.order or []])
        v = num(state.field(field))
        rows = exp.WindowSpec(kind="ROWS", start=exp.Literal.number(n - 1), start_side="PRECEDING", end="CURRENT ROW")
        count = exp.Window(this=exp.Count(this=v.copy()), order=order.copy(), spec=rows.copy())
        if kind == "sma":
            value = exp.Window(this=exp.Avg(this=v.copy()), order=order.copy(), spec=rows.copy())
        elif kind == "wma":
            terms = [exp.Mul(this=exp.Literal.number(n - k), expression=exp.Window(
                this=exp.Anonymous(this="lag", expressions=[v.copy(), exp.Literal.number(k)]), order=order.copy()))
                for k in range(n)]
            total = terms[0]
            for t in terms[1:]:
                total = exp.Add(this=total, expression=t)
            value = exp.Div(this=exp.paren(total), expression=exp.Literal.number(n * (n + 1) / 2))
        else:   # ema: a running value, so a step on the result rows (post step `ema`, query/post.py)
            if not state.top_level:
                raise state.fail("trendline ema is not supported in a subsearch", cmd)
            from speleo.spl.commands.opscmds import extract_for_later

            if field not in state.columns:
                _assign(state, field, state.field(field))
            extract_for_later(state)
            running.add(name)
            state.post.append({"kind": "ema", "field": field, "n": n, "name": name,
                               "columns": list(dict.fromkeys([c for c in state.columns if not c.startswith("__speleo")]
                                                             + [name]))})
            continue
        _assign(state, name, exp.Case(ifs=[exp.If(this=exp.LT(this=count, expression=exp.Literal.number(n)),
                                                  true=exp.null())], default=value))


# --- addtotals, addcoltotals ----------------------------------------------------------------------------


def refuse_unknown_columns(state: State, cmd, what: str) -> None:
    """Raise SplUnsupportedError when `what` would read every field (or a wildcard) of a result
    whose columns a SQL PIVOT makes (chart/timechart/xyseries with a split, inside a subsearch or
    append: no post step there to run it over the real columns): it would see none of them and
    answer wrong (Total null, cells not filled)."""
    if state.open_columns and not state.top_level:
        raise state.fail(f"{what} after chart/timechart/xyseries with a split inside a subsearch cannot see the "
                         "series columns (they are known only when it runs): run it in the main search, after "
                         "the append", cmd)


def _numeric_fields(state: State, patterns: list[str], cmd=None) -> list[str]:
    names = _known(state)
    if not patterns or any("*" in p or p not in names for p in patterns):
        refuse_unknown_columns(state, cmd, cmd.name if cmd is not None and getattr(cmd, "name", None) else "this command")
    if patterns:
        return [c for c in names if any(fnmatch.fnmatchcase(c, p) for p in patterns)]
    return [c for c in names if not c.startswith("_")]


def compile_addtotals(state: State, cmd: ast.ArgsCmd) -> None:
    """Splunk Search Reference: addtotals. `row=true` (default): a `Total` field (fieldname=)
    with the sum of the numeric fields of each result (all fields or the listed ones; values
    that are not numbers are skipped). `col=true` adds a final result with each numeric
    column's sum, `labelfield`/`label` (default "Total") naming it."""
    _opts(state, cmd, {"row", "col", "labelfield", "label", "fieldname"})
    fields = _numeric_fields(state, cmd.args, cmd)
    if as_bool(cmd.options.get("row", "true")):
        name = cmd.options.get("fieldname", "Total")
        nums = [num(state.field(f)) for f in fields if f != name]
        total = exp.Anonymous(this="list_sum", expressions=[exp.Array(expressions=nums)]) if nums else exp.null()
        _assign(state, name, total)
    if as_bool(cmd.options.get("col", "false")):
        _coltotals(state, _numeric_fields(state, cmd.args, cmd), cmd.options.get("labelfield"), cmd.options.get("label", "Total"))


def compile_addcoltotals(state: State, cmd: ast.ArgsCmd) -> None:
    """Splunk Search Reference: addcoltotals. A final result with the sum of each numeric field
    (the listed ones, or all); `labelfield=` gets `label` (default "Total")."""
    _opts(state, cmd, {"labelfield", "label"})
    _coltotals(state, _numeric_fields(state, cmd.args, cmd), cmd.options.get("labelfield"),
               cmd.options.get("label", "Total"))


def _coltotals(state: State, fields: list[str], labelfield: str | None, label: str,
               only_with_rows: bool = False) -> None:
    from speleo.spl.commands.combine import append_state

    fields = [f for f in fields if f != labelfield]
    total = State(ctx=state.ctx, query=state.query, select=state.select.copy(), columns=list(state.columns),
                  ctes=list(state.ctes), events=False)
    src = _src(total)
    items = []
    for f in fields:
        s = exp.Sum(this=num(total.field(f)))
        items.append(exp.alias_(s, ident(f)))
    if labelfield:
        items.append(exp.alias_(exp.Literal.string(label), ident(labelfield)))
    total.select = exp.select(*items).from_(tbl(src)) if items else exp.select(exp.null()).from_(tbl(src))
    if only_with_rows:   # no total row under an empty result (pivot COLSUMMARY)
        total.select = total.select.having(exp.GT(this=exp.Count(this=exp.Star()), expression=exp.Literal.number(0)),
                                           copy=False)
    total.columns = fields + ([labelfield] if labelfield else [])
    total.order = None
    total.hidden_ord = False
    if labelfield and labelfield not in state.columns:
        state.columns = state.columns + [labelfield]
    append_state(state, total)


# --- xyseries, untable, transpose, chart ------------------------------------------------------------------


def compile_untable(state: State, cmd: ast.ArgsCmd) -> None:
    """Splunk Search Reference: untable. `untable x name value`: one result per (result, other
    field) with x, the field's name and its value (null values left out). Without any other
    field there is no result (each result gives one per other field). After `chart ... by`,
    `timechart ... by` or `xyseries` the series columns are known only when they have run: the
    command then runs over their result (a "columns" post step), with its real columns. Inside
    a subsearch or append (no post steps there) fields it cannot see are refused, not dropped."""
    x, name_f, value_f = cmd.args
    others = [c for c in _known(state) if c != x]
    if not others and not state.top_level:
        raise state.fail("untable inside a subsearch needs fields besides the x field that are known before "
                         "it runs (after chart/xyseries with a split, run untable in the main search)", cmd)
    state.protect_order(None)
    src = _src(state)
    if not others:
        state.select = exp.select(exp.alias_(exp.null(), ident(x)), exp.alias_(exp.null(), ident(name_f)),
                                  exp.alias_(exp.null(), ident(value_f)), col(ORD)).from_(tbl(src)) \
            .where(exp.false())
        state.columns = [x, name_f, value_f]
        state.events, state.transforming = False, True
        return
    names = exp.Array(expressions=[exp.Literal.string(c) for c in others])
    vals = exp.Array(expressions=[text(col(c)) for c in others])
    sel = exp.select(exp.alias_(col(x), ident(x)) if x in state.columns else exp.alias_(exp.null(), ident(x)),
                     exp.alias_(exp.Unnest(expressions=[names]), ident(name_f)),
                     exp.alias_(exp.Unnest(expressions=[vals]), ident(value_f)),
                     exp.alias_(exp.Unnest(expressions=[exp.Anonymous(this="generate_series", expressions=[
                         exp.Literal.number(1), exp.Literal.number(len(others))])]), ident("__speleo_i")),
                     col(ORD)).from_(tbl(src))
    state.select = sel
    state.filter(exp.Not(this=exp.Is(this=col(value_f), expression=exp.null())))
    state.wrap()
    rn = exp.Window(this=exp.RowNumber(), order=exp.Order(expressions=[exp.Ordered(this=col(ORD)),
                                                                         exp.Ordered(this=col("__speleo_i"))]))
    state.select = exp.select(exp.Star(except_=[col("__speleo_i")], replace=[exp.alias_(rn, ident(ORD))])) \
        .from_(state.select.args["from_"].this.copy())
    state.columns = [x, name_f, value_f]
    state.events, state.transforming = False, True


def compile_xyseries(state: State, cmd: ast.ArgsCmd) -> None:
    """Splunk Search Reference: xyseries. `xyseries x y value`: one result per x value, one
    column per y value holding the value (the first one when several results share x and y),
    x in order of first appearance. Several value fields are not supported."""
    _opts(state, cmd, {"grouped"})
    if len(cmd.args) != 3:
        raise state.fail("xyseries with several data fields is not supported", cmd)
    x, y, v = cmd.args
    _pivot(state, col(x) if x in state.columns else state.field(x), x,
           text(state.field(y)), exp.Anonymous(this="first", expressions=[text(state.field(v))]))
    if state.later and state.top_level:   # its columns exist once the PIVOT ran: later commands run on it
        state.post.append({"kind": "columns"})


def _pivot(state: State, xexpr: exp.Expression, x: str, yexpr: exp.Expression, using: exp.Expression,
           order_first_seen: bool = True) -> None:
    state.protect_order(None)
    src = _src(state)
    first = exp.Window(this=exp.Min(this=col(ORD)), partition_by=[xexpr.copy()])
    star = exp.Star(except_=[col(x)]) if x in state.columns else exp.Star()
    sel = exp.select(exp.alias_(xexpr, ident(x)), exp.alias_(yexpr, ident("__speleo_series")),
                     exp.alias_(first, ident("__speleo_first")), star).from_(tbl(src))
    state.select = sel
    state.filter(exp.Not(this=exp.Is(this=col("__speleo_series"), expression=exp.null())))
    state.wrap()
    using = using.transform(lambda n: n)
    pivot = exp.Pivot(this=state.select.args["from_"].this.copy(), expressions=[col("__speleo_series")],
                      using=[using], group=exp.Group(expressions=[col(x), col("__speleo_first")]))
    state.ctes.append((f"s{len(state.ctes)}", pivot))
    _become_table(state, [x])
    from speleo.spl.commands.stats import open_pivot_columns

    open_pivot_columns(state, [exp.Star(except_=[col("__speleo_first")]), exp.alias_(col("__speleo_first"), ident(ORD))],
                       state.ctes[-1][0])
    state.order, state.order_cols, state.hidden_ord = [exp.Ordered(this=col(ORD))], {ORD}, True


def compile_chart(state: State, cmd: ast.ChartCmd) -> None:
    """Splunk Search Reference: chart (https://help.splunk.com/splunk-enterprise/spl-search-reference/9.4/search-commands/chart).
    `chart <func> over X [by Y]` (or `by X Y`): without a column field it is `stats <func> by X`;
    with one, one row per X value and one column per Y value: the function is computed per
    (X, Y) first (`GROUP BY`, so any stats function works, `rate` and `range` included), then a
    DuckDB PIVOT spreads the values (count/dc: 0 in an empty cell, others null). With a column
    split, `limit=` (default 10; 0: every series) keeps the series with the most events (ties by
    name, as timechart ranks them) and the others become one series named by `otherstr=`
    (default OTHER), computed over their events, or are left out with `useother=false`; events
    without the column field form a series named by `nullstr=` (default NULL) unless
    `usenull=false` (Search Reference: chart, chart-options)."""
    from speleo.spl.commands.aggregates import agg_sql
    from speleo.spl.commands.stats import compile_stats

    for key in cmd.options:
        if key not in ("limit", "useother", "usenull", "cont", "otherstr", "nullstr"):
            raise state.fail(f"chart {key}= is not supported", cmd)
    rows = [cmd.over] if cmd.over else cmd.by[:1]
    cols = cmd.by if cmd.over else cmd.by[1:]
    if len(cols) > 1 or len(rows) > 1 and cols:
        raise state.fail("chart with more than one column field is not supported", cmd)
    if not cols:
        compile_stats(state, ast.StatsCmd("stats", cmd.aggs, rows, start=cmd.start, end=cmd.end),
                      text_minmax=state.top_level)   # min()/max() over text as stats (stats._text_extremes)
        return
    if len(cmd.aggs) != 1:
        raise state.fail("chart with a column field supports one function", cmd)
    x, y = rows[0], cols[0]
    from speleo.spl.commands.stats import each_value_source, per_value_field, split_by_each_value

    split_by_each_value(state, x, keep_missing=False)   # a multivalue X or Y: a row/series per value
    split_by_each_value(state, y, keep_missing=True)
    each = per_value_field(state, cmd.aggs[0])   # a multivalue field: the function reads each value
    opts = _chart_series_options(state, cmd)
    state.filter(exp.Not(this=exp.Is(this=state.field(x), expression=exp.null())))
    state.wrap()
    src = state.select.args["from_"].this.copy()
    if each:
        src = each_value_source(src, each, keep_missing=True)
        state.mv.discard(each)
    using = agg_sql(state, cmd.aggs[0])
    star = exp.Star(except_=[col(x)]) if x in state.columns else exp.Star()
    from speleo.spl.commands.timechart import DROPPED, _limit_series

    # Events of a series left out (usenull=f, useother=f) still make their row: they go to a
    # series named DROPPED, whose column is removed after the PIVOT (as timechart does).
    null_name = opts["nullstr"] if opts["usenull"] else DROPPED
    series_value = exp.Coalesce(this=text(state.field(y)), expressions=[exp.Literal.string(null_name)])
    state.select = exp.select(exp.alias_(state.field(x), ident(x)),
                              exp.alias_(series_value, ident("__speleo_series")), star).from_(tbl(src))
    state.wrap()
    if opts["limit"] > 0:
        if "__speleo_series" not in state.columns:   # so that the ranking replaces it (stats._assign)
            state.columns = state.columns + ["__speleo_series"]
        _limit_series(state, "__speleo_series", opts["limit"], opts)
        state.wrap()
    series, value = col("__speleo_series"), col("__speleo_value")
    from speleo.spl.commands.stats import _text_extremes

    texts = _text_extremes(state, cmd.aggs) if state.top_level else []   # min()/max() over text, as stats
    grouped = exp.select(col(x), series.copy(), exp.alias_(using, ident("__speleo_value")),
                         *[exp.alias_(v, ident(TEXT_CELL)) for _n, _h, v in texts]) \
        .from_(state.select.args["from_"].this.copy()).group_by(col(x), series.copy(), copy=False)
    state.ctes.append((f"s{len(state.ctes)}", grouped))
    if texts:
        _chart_pivot_after(state, x, opts)
        return
    cell: exp.Expression = exp.Anonymous(this="any_value", expressions=[value])
    if cmd.aggs[0].func in ("count", "dc"):
        cell = exp.Coalesce(this=cell, expressions=[exp.Literal.number(0)])
    pivot = exp.Pivot(this=exp.Table(this=exp.to_identifier(state.ctes[-1][0])), expressions=[series],
                      using=[cell], group=exp.Group(expressions=[col(x)]))
    state.ctes.append((f"s{len(state.ctes)}", pivot))
    kept = exp.Lambda(this=exp.NEQ(this=exp.column("__c"), expression=exp.Literal.string(DROPPED)),
                      expressions=[exp.to_identifier("__c")])
    pivot_name = state.ctes[-1][0]
    _become_table(state, [x])
    from speleo.spl.commands.stats import open_pivot_columns

    open_pivot_columns(state, [exp.Anonymous(this="columns", expressions=[kept])], pivot_name)
    from speleo.spl.commands.aggregates import auto_order

    state.set_order(auto_order(x), {x})
    if state.later and state.top_level:   # the series columns exist once the PIVOT ran: later commands run on it
        state.post.append({"kind": "columns"})


TEXT_CELL = "__speleo_textc"   # chart over X by Y: a cell's lexicographic min/max (stats._text_extremes)


def _chart_pivot_after(state: State, x: str, opts: dict) -> None:
    """The main search's `chart min|max(f) over X by Y` of a field that may hold text: the rows
    (X, series, value, text min/max) go through the post steps `text_extremes` (a cell with no
    number takes the text's min/max, and then every cell of the chart holds text, as a stats
    column does: Search Reference, Aggregate functions, max/min: "if the values in the field are
    non-numeric, the maximum value is found using lexicographical ordering") and `chart_pivot`
    (query/post.py: one row per X in Splunk's automatic order, one column per series sorted by
    name, as the SQL PIVOT gives them); the commands after it run on that table."""
    from speleo.spl.commands.timechart import DROPPED

    state.select = exp.select(col(x), col("__speleo_series"), col("__speleo_value"), col(TEXT_CELL)) \
        .from_(tbl(state.ctes[-1][0]))
    state.post.append({"kind": "text_extremes", "pairs": [["__speleo_value", TEXT_CELL]],
                       "columns": [x, "__speleo_series", "__speleo_value"]})
    state.post.append({"kind": "chart_pivot", "key": x, "series": "__speleo_series", "value": "__speleo_value",
                       "dropped": DROPPED, "columns": [x]})
    _become_table(state, [x, "__speleo_series", "__speleo_value", TEXT_CELL])


def _chart_series_options(state: State, cmd: ast.ChartCmd) -> dict:
    """chart's series options with Splunk's defaults: limit=10, useother=true, usenull=true,
    otherstr=OTHER, nullstr=NULL. Raises SplError for a limit that is not a whole number >= 0."""
    o = cmd.options
    raw = o.get("limit", "10")
    digits = raw[3:] if raw.lower().startswith("top") else raw
    try:
        limit = int(digits)
    except ValueError:
        raise state.fail(f"chart limit= takes a whole number of series (or top<N>), not {raw!r}", cmd) from None
    if limit < 0:
        raise state.fail("chart limit= must be 0 (every series) or more", cmd)
    return {"limit": limit, "useother": as_bool(o.get("useother", "true")), "usenull": as_bool(o.get("usenull", "true")),
            "otherstr": o.get("otherstr", "OTHER"), "nullstr": o.get("nullstr", "NULL")}


# --- timewrap -------------------------------------------------------------------------------------------

_WRAP_UNITS = {"s": ("second", 1), "sec": ("second", 1), "secs": ("second", 1), "second": ("second", 1),
               "seconds": ("second", 1), "m": ("minute", 60), "min": ("minute", 60), "mins": ("minute", 60),
               "minute": ("minute", 60), "minutes": ("minute", 60), "h": ("hour", 3600), "hr": ("hour", 3600),
               "hrs": ("hour", 3600), "hour": ("hour", 3600), "hours": ("hour", 3600), "d": ("day", 86400),
               "day": ("day", 86400), "days": ("day", 86400), "w": ("week", 604800), "week": ("week", 604800),
               "weeks": ("week", 604800)}
_WRAP_CALENDAR = ("mon", "month", "months", "q", "qtr", "quarter", "quarters", "y", "yr", "year", "years")


def compile_timewrap(state: State, cmd: ast.ArgsCmd) -> None:
    """Splunk Search Reference: timewrap. `timewrap [<int>]<timescale> [align=end|now]
    [series=relative|short]`: the rows of a timechart are cut into periods of the span counted
    back from the end of the search's time range (`align=end`, the default; `now`: from now), and
    each period becomes its own columns beside the latest period's times: `<series>_latest_day`,
    `<series>_1day_before`, `<series>_2days_before`... (`series=short`: `<series>_s0`, `_s1`...),
    oldest first, one row per time of the latest period. Periods of seconds to weeks are fixed
    lengths (a day is 86,400 s, a week 7 days); months, quarters and years are calendar periods
    counted back from the end in the search's zone (the end's day of the month, or the month's
    last day when it has fewer), and a row keeps its distance from the start of its period (the
    doc does not say how rows of a longer month line up; a row past the latest period's length
    gets a time of its own). `series=exact` and `time_format` are refused. Runs on the result
    (post step `timewrap`, query/post.py)."""
    opts = {k.lower(): v for k, v in cmd.options.items()}
    if not cmd.args:
        raise state.fail("timewrap needs a span such as 1d or 1week", cmd)
    m = re.fullmatch(r"(\d*)\s*([A-Za-z]+)", cmd.args[0])
    if not m or len(cmd.args) > 1:
        raise state.fail(f"timewrap span {' '.join(cmd.args)!r}: write [<int>]<timescale>, such as 1d or 2w", cmd)
    n = int(m.group(1) or 1)
    unit = m.group(2).lower()
    months = None
    if unit in _WRAP_CALENDAR:   # calendar periods: months back from the end, in the search's zone
        name, months = {"m": ("month", 1), "q": ("quarter", 3), "y": ("year", 12)}[unit[0]]
        secs = 0
    elif unit not in _WRAP_UNITS or n < 1:
        raise state.fail(f"timewrap span {cmd.args[0]!r}: the timescale must be s, min, h, d, w, mon, q or y", cmd)
    else:
        name, secs = _WRAP_UNITS[unit]
    if n < 1:
        raise state.fail(f"timewrap span {cmd.args[0]!r}: the count must be at least 1", cmd)
    align = opts.get("align", "end").lower()
    series = opts.get("series", "relative").lower()
    if align not in ("end", "now"):
        raise state.fail("timewrap align must be end or now", cmd)
    if series not in ("relative", "short"):
        raise state.fail("timewrap series must be relative or short (exact and time_format are not supported)", cmd)
    if "_time" not in state.columns:
        raise state.fail("timewrap needs results with _time (after timechart)", cmd)
    if not state.top_level:
        raise state.fail("timewrap is not supported in a subsearch", cmd)
    latest = state.time_range[1]
    end = state.ctx.now if align == "now" or latest is None else float(latest)
    from speleo.spl.state import tz_name

    state.post.append({"kind": "timewrap", "period": n * secs, "n": n, "unit": name, "end": end,
                       "months": n * months if months else None, "tz": tz_name(state.ctx.tz),
                       "series": series, "columns": ["_time"]})
