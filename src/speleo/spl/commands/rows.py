"""Row and field commands compiled to SQL: addinfo, filldown, mvcombine, strcat, uniq, replace,
makecontinuous (Splunk Search Reference pages of each command are cited in each docstring)."""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass

from sqlglot import exp

from speleo.spl import ast
from speleo.spl.cursor import Cursor, as_bool
from speleo.spl.functions import mv, num, text
from speleo.spl.nodes import re_escape
from speleo.spl.state import ORD, col, ident, State, tbl
from speleo.spl.tokens import T, Token

VARCHAR_LIST = exp.DataType.build("VARCHAR[]")
# Speleo's storage columns: not Splunk fields, left out where "every field" is compared or shown
STORAGE_COLUMNS = ("_offset", "_flags", "_fields")


def known(state: State) -> list[str]:
    """The fields known when compiling (columns), hidden columns left out."""
    return [c for c in state.columns if not c.startswith("__speleo")]


def matching(state: State, patterns: list[str]) -> list[str]:
    """Known fields matching wildcard patterns, plus plain names not (yet) known, in order."""
    out: list[str] = []
    for p in patterns:
        names = [c for c in known(state) if fnmatch.fnmatchcase(c, p)] if "*" in p else [p]
        out += [n for n in names if n not in out]
    return out


def options(state: State, cmd: ast.ArgsCmd, allowed: set[str]) -> None:
    for key in cmd.options:
        if key not in allowed:
            raise state.fail(f"{cmd.name} {key}= is not supported", cmd)


def assign_many(state: State, values: dict[str, exp.Expression]) -> None:
    """One stage `SELECT * REPLACE (...), new...`: every value reads the fields as they were."""
    if not values:
        return
    state.protect_order(set(values))
    state.wrap()
    src = state.select.args["from_"].this.copy()
    replace = [exp.alias_(v, ident(n)) for n, v in values.items() if n in state.columns]
    new = [exp.alias_(v, ident(n)) for n, v in values.items() if n not in state.columns]
    state.select = exp.select(exp.Star(replace=replace or None), *new).from_(tbl(src))
    state.columns = state.columns + [n for n in values if n not in state.columns]


def _order(state: State, what: str, cmd: ast.Node) -> exp.Order:
    if not state.order:
        raise state.fail(f"{what} needs a defined result order (add a sort)", cmd)
    return exp.Order(expressions=[o.copy() for o in state.order])


def _double(value: float) -> exp.Expression:
    return exp.Cast(this=exp.Literal.string(repr(float(value))), to=exp.DataType.build("DOUBLE"))


# --- addinfo ------------------------------------------------------------------------------------


def compile_addinfo(state: State, cmd: ast.ArgsCmd) -> None:
    """Splunk Search Reference: addinfo. Adds to every result `info_min_time` and
    `info_max_time` (the search's time range in epoch seconds: 0 and +Infinity when a bound
    is not set, as Splunk gives for "All time"), `info_search_time` (when the search ran: the
    compile context's now) and `info_sid` (the search id given by the caller, else the search
    time as text)."""
    options(state, cmd, set())
    earliest, latest = state.time_range
    ctx = state.ctx
    sid = getattr(ctx, "sid", None) or f"{ctx.now:.3f}"
    assign_many(state, {
        "info_min_time": _double(earliest if earliest is not None else 0.0),
        "info_max_time": _double(latest if latest is not None else float("inf")),
        "info_search_time": _double(ctx.now),
        "info_sid": exp.Literal.string(sid),
    })


# --- filldown -----------------------------------------------------------------------------------


def compile_filldown(state: State, cmd: ast.ArgsCmd) -> None:
    """Splunk Search Reference: filldown. A null value of each field takes the last non-null
    value above it (in the current result order); a field with no earlier value stays null.
    Fields may use `*` wildcards; without fields, every field known when compiling (on events,
    the fields created in the search, as fillnull does)."""
    options(state, cmd, set())
    if cmd.args:
        names = matching(state, cmd.args)
    else:
        from speleo.spl.state import BASE_COLUMNS

        names = [c for c in known(state) if not state.events or c not in BASE_COLUMNS]
    if not names:
        return
    state.protect_order(set(names))
    order = _order(state, "filldown", cmd)
    spec = exp.WindowSpec(kind="ROWS", start="UNBOUNDED", start_side="PRECEDING", end="CURRENT ROW")
    values = {}
    for name in names:
        last = exp.IgnoreNulls(this=exp.LastValue(this=state.field(name)))
        values[name] = exp.Window(this=last, order=order.copy(), spec=spec.copy())
    assign_many(state, values)


# --- mvcombine ----------------------------------------------------------------------------------


def compile_mvcombine(state: State, cmd: ast.ArgsCmd) -> None:
    """Splunk Search Reference: mvcombine. Results identical in every other field (the fields
    known when compiling) become one result whose field is a multivalue list of their values
    (in result order, nulls left out; a list value adds its values). Each combined result
    takes the place of its first result. `delim=` only matters for Splunk's single-value
    rendering and is accepted without effect."""
    options(state, cmd, {"delim"})
    name = cmd.args[0]
    if name.startswith("_"):
        raise state.fail(f"mvcombine does not apply to internal fields ({name})", cmd)
    if name not in state.columns:
        assign_many(state, {name: state.field(name)})
    state.protect_order(None)
    state.wrap()
    src = state.select.args["from_"].this.copy()
    value = mv((col(name), "any"))
    parts = _list_ordered(value, state)
    combined = exp.Nullif(this=exp.Anonymous(this="flatten", expressions=[parts]),
                          expression=exp.Cast(this=exp.Array(expressions=[]), to=VARCHAR_LIST.copy()))
    keys = [c for c in state.columns if c != name]
    items = [exp.alias_(combined, ident(c)) if c == name else col(c) for c in state.columns]
    if state.order:
        items.append(exp.alias_(exp.Min(this=col(ORD)), ident(ORD)))
    sel = exp.select(*items).from_(tbl(src))
    if keys:
        sel = sel.group_by(*[col(k) for k in keys], copy=False)
    state.select = sel
    state.transforming = True


def _list_ordered(value: exp.Expression, state: State) -> exp.Expression:
    """list(value ORDER BY the hidden order) FILTER (WHERE value IS NOT NULL)."""
    arg = exp.Order(this=value, expressions=[exp.Ordered(this=col(ORD))]) if state.order else value
    return exp.Filter(this=exp.Anonymous(this="list", expressions=[arg]),
                      expression=exp.Where(this=exp.Not(this=exp.Is(this=value.copy(), expression=exp.null()))))


# --- strcat -------------------------------------------------------------------------------------


@dataclass
class StrcatCmd(ast.Command):
    """`strcat [allrequired=<bool>] (<field> | "<string>")... <dest-field>`: `items` are
    (value, is_literal) pairs."""

    items: list[tuple[str, bool]]
    dest: str
    allrequired: bool = False


def parse_strcat(cur: Cursor, word: Token) -> StrcatCmd:
    """Splunk Search Reference: strcat. Quoted strings are literals, other words field names;
    the last argument is the destination field."""
    from speleo.spl.commands.extra import is_option, read_options

    opts: dict[str, str] = {}
    items: list[tuple[str, bool]] = []
    toks: list[Token] = []
    while not cur.at_end():
        if is_option(cur) and cur.peek().is_word("allrequired"):
            read_options(cur, {"allrequired"}, opts)
            continue
        tok = cur.next()
        if tok.kind not in (T.WORD, T.STRING, T.FIELD):
            raise cur.error("expected a field name or a quoted string", tok)
        toks.append(tok)
    if len(toks) < 2:
        raise cur.error("needs at least one source field or string and a destination field")
    *sources, dest = toks
    if dest.kind is T.STRING and cur.query[dest.start:dest.start + 1] == '"':
        raise cur.error("the destination must be a field name, not a quoted string", dest)
    for tok in sources:
        items.append((tok.value, tok.kind is T.STRING))
    return StrcatCmd(items, dest.value, as_bool(opts.get("allrequired", "false")))


def compile_strcat(state: State, cmd: StrcatCmd) -> None:
    """Splunk Search Reference: strcat. The destination field gets the source fields' values
    and the quoted strings joined with nothing in between. A missing field counts as an empty
    string; with `allrequired=t` the destination is written only when every source field has
    a value (otherwise it keeps what it had). A multivalue field adds its values joined by a
    space."""
    parts: list[exp.Expression] = []
    present: list[exp.Expression] = []
    for value, literal in cmd.items:
        if literal:
            parts.append(exp.Literal.string(value))
            continue
        v = state.field(value)
        joined = exp.Anonymous(this="array_to_string", expressions=[mv((v, "any")), exp.Literal.string(" ")])
        parts.append(exp.Coalesce(this=joined, expressions=[exp.Literal.string("")]))
        present.append(exp.Not(this=exp.Is(this=v.copy(), expression=exp.null())))
    out: exp.Expression = exp.Anonymous(this="concat", expressions=parts) if len(parts) > 1 else \
        exp.Coalesce(this=text(parts[0]), expressions=[exp.Literal.string("")])
    if cmd.allrequired and present:
        out = exp.Case(ifs=[exp.If(this=exp.and_(*present), true=out)], default=text(state.field(cmd.dest)))
    assign_many(state, {cmd.dest: out})


# --- uniq ---------------------------------------------------------------------------------------


def compile_uniq(state: State, cmd: ast.ArgsCmd) -> None:
    """Splunk Search Reference: uniq. Removes a result that is an exact duplicate of the one
    before it (every field known when compiling compared, nulls equal to nulls; Speleo's
    storage columns _offset, _flags, _fields are not compared)."""
    options(state, cmd, set())
    names = [c for c in known(state) if c not in STORAGE_COLUMNS]
    state.protect_order(None)
    order = _order(state, "uniq", cmd)
    if not names:
        return
    row = exp.Anonymous(this="row", expressions=[col(n) for n in names])
    prev = exp.Window(this=exp.Anonymous(this="lag", expressions=[row.copy()]), order=order)
    same = exp.NullSafeEQ(this=prev, expression=row)
    state.wrap()
    state.select = state.select.qualify(exp.Not(this=exp.paren(same)), copy=False)


# --- replace ------------------------------------------------------------------------------------


def _wildcard_rule(old: str, new: str) -> tuple[str, str]:
    """`a*b` WITH `x*` -> (RE2 pattern matching the whole value, RE2 replacement)."""
    pattern = "^(?s:" + "(.*)".join(re_escape(p) for p in old.split("*")) + ")$"
    pieces = new.split("*")
    replacement = pieces[0].replace("\\", "\\\\")
    for i, piece in enumerate(pieces[1:], start=1):
        replacement += f"\\{i}" + piece.replace("\\", "\\\\")
    return pattern, replacement


def compile_replace(state: State, cmd: ast.ReplaceCmd) -> None:
    """Splunk Search Reference: replace. A field value equal to `<old>` (the whole value;
    `*` matches any text) becomes `<new>`; a `*` in `<new>` stands for what the same-numbered
    `*` of `<old>` matched (`<new>` has as many wildcards as `<old>`, or none). Exact values
    listed later win over earlier ones, exact values over wildcard ones, and among wildcard
    values the one with more literal characters wins. `IN` names the fields (wildcards match
    the fields known when compiling); without it, every known field not starting with `_`.
    Values are compared as text; matching is case-sensitive."""
    exact: list[tuple[str, str]] = []
    wild: list[tuple[int, int, str, str]] = []
    for i, (old, new) in enumerate(cmd.pairs):
        if "*" in new and new.count("*") != old.count("*"):
            raise state.fail(f"replace {old!r} with {new!r}: the replacement must have as many wildcards as the "
                             "value, or none", cmd)
        if "*" in old:
            pattern, replacement = _wildcard_rule(old, new)
            wild.append((-len(old.replace("*", "")), -i, pattern, replacement))
        else:
            exact.append((old, new))
    names = matching(state, cmd.fields) if cmd.fields else \
        [c for c in known(state) if not c.startswith("_")]
    values = {}
    for name in names:
        value = text(state.field(name))
        ifs = [exp.If(this=exp.EQ(this=value.copy(), expression=exp.Literal.string(old)),
                      true=exp.Literal.string(new)) for old, new in reversed(exact)]
        for _, _, pattern, replacement in sorted(wild):
            match = exp.Anonymous(this="regexp_full_match", expressions=[value.copy(), exp.Literal.string(pattern)])
            repl = exp.Anonymous(this="regexp_replace", expressions=[value.copy(), exp.Literal.string(pattern),
                                                                    exp.Literal.string(replacement)])
            ifs.append(exp.If(this=match, true=repl))
        if ifs:
            values[name] = exp.Case(ifs=ifs, default=value)
    assign_many(state, values)


# --- makecontinuous -----------------------------------------------------------------------------


def compile_makecontinuous(state: State, cmd: ast.ArgsCmd) -> None:
    """Splunk Search Reference: makecontinuous. `makecontinuous [<field>] span=<span>
    [start=<num>] [end=<num>]` (field default `_time`): each value is put in its span-wide
    bucket (its start), and an empty result (only the field set) is added for every bucket
    between the first and the last (or `start`/`end`) that holds no result. Results come
    out sorted by the field. Spans in seconds, minutes, hours or plain numbers; `bins=` and
    day or month spans are not supported."""
    from speleo.spl.commands.stats import parse_span

    options(state, cmd, {"span", "start", "end", "bins", "minspan"})
    for key in ("bins", "minspan"):
        if key in cmd.options:
            raise state.fail(f"makecontinuous {key}= is not supported (use span=)", cmd)
    if "span" not in cmd.options:
        raise state.fail("makecontinuous needs span=", cmd)
    if len(cmd.args) > 1:
        raise state.fail("makecontinuous takes one field", cmd)
    name = cmd.args[0] if cmd.args else "_time"
    span_text = cmd.options["span"]
    if re.fullmatch(r"\d+(\.\d+)?", span_text):
        span = float(span_text)
    else:
        tok = Token(T.WORD, span_text, cmd.start, cmd.end)
        try:
            n, unit = parse_span(Cursor(state.query, [tok]), tok)
        except Exception:
            raise state.fail(f"invalid span {span_text!r}", cmd) from None
        if unit != "s":
            raise state.fail("makecontinuous with day, week or month spans is not supported", cmd)
        span = float(n)
    if span <= 0:
        raise state.fail("makecontinuous span must be positive", cmd)
    bounds = {}
    for key in ("start", "end"):
        if key in cmd.options:
            try:
                bounds[key] = float(cmd.options[key])
            except ValueError:
                raise state.fail(f"makecontinuous {key} must be a number", cmd) from None
    step = _double(span)
    value = num(state.field(name))
    if bounds:      # values outside [start, end] are dropped
        conds = []
        if "start" in bounds:
            conds.append(exp.GTE(this=value.copy(), expression=_double(bounds["start"])))
        if "end" in bounds:
            conds.append(exp.LTE(this=value.copy(), expression=_double(bounds["end"])))
        state.filter(exp.and_(*conds))
    bucket = exp.Mul(this=exp.Floor(this=exp.Div(this=value, expression=step.copy())), expression=step.copy())
    assign_many(state, {name: bucket})
    x = col(name)
    state.wrap()
    have = state.ctes[-1][0]
    lo = _double(_floor(bounds["start"], span)) if "start" in bounds else exp.Min(this=x.copy())
    hi = _double(bounds["end"]) if "end" in bounds else exp.Max(this=x.copy())
    ends = exp.select(exp.alias_(lo, "lo"), exp.alias_(hi, "hi"))
    if "start" not in bounds or "end" not in bounds:    # min / max over the results
        ends = ends.from_(tbl(have))
    state.ctes.append((f"s{len(state.ctes)}", ends))
    count = exp.Cast(this=exp.Floor(this=exp.Div(this=exp.paren(exp.Sub(this=exp.column("hi"), expression=exp.column("lo"))),
                                                 expression=step.copy())), to=exp.DataType.build("BIGINT"))
    k = exp.Unnest(expressions=[exp.Anonymous(this="generate_series", expressions=[exp.Literal.number(0), count])])
    grid = exp.select(exp.alias_(exp.Add(this=exp.column("lo"), expression=exp.Mul(this=k, expression=step.copy())),
                                 ident(name))).from_(tbl(state.ctes[-1][0])).where(
        exp.Not(this=exp.Is(this=exp.column("lo"), expression=exp.null())), copy=False)
    state.ctes.append((f"s{len(state.ctes)}", grid))
    missing = exp.select(col(name)).from_(tbl(state.ctes[-1][0])).where(
        exp.Not(this=exp.Exists(this=exp.select(exp.Literal.number(1)).from_(tbl(have)).where(
            exp.EQ(this=exp.column(name, table=have, quoted=True), expression=exp.column(
                name, table=state.ctes[-1][0], quoted=True))))), copy=False)
    drop = [col(ORD)] if state.hidden_ord else []
    existing = exp.select(exp.Star(except_=drop or None)).from_(tbl(have))
    union = exp.Union(this=existing, expression=missing, distinct=False, by_name=True)
    state.ctes.append((f"s{len(state.ctes)}", union))
    state.select = exp.select(exp.Star()).from_(tbl(state.ctes[-1][0]))
    state.hidden_ord = False
    from speleo.spl.commands.aggregates import auto_order

    state.set_order(auto_order(name), {name})
    state.events, state.transforming = False, True


def _floor(value: float, span: float) -> float:
    import math

    return math.floor(value / span) * span
