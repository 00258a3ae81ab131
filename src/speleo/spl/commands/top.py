"""top and rare (Splunk Search Reference: top, rare)."""

from __future__ import annotations

from sqlglot import exp

from speleo.spl import ast
from speleo.spl.commands.aggregates import by_filter, parse_by
from speleo.spl.cursor import Cursor, as_bool
from speleo.spl.state import ORD, State, col, ident
from speleo.spl.tokens import Token


def parse_top(cur: Cursor, word: Token) -> ast.TopCmd:
    """`top [N] [limit=N] [countfield=] [percentfield=] [showcount=] [showperc=] f... [by g...]`."""
    allowed = {"limit", "countfield", "percentfield", "showcount", "showperc"}
    count_tok = cur.next() if cur.peek().value.isdigit() and cur.peek().kind.name == "WORD" else None
    opts = cur.options(allowed, ignored=frozenset({"otherstr", "useother"}))
    fields = [t.value for t in cur.field_list()]
    if not fields:
        raise cur.error("expected a field")
    by = parse_by(cur)
    cur.expect_end()
    limit = cur.integer(opts["limit"], "limit") if "limit" in opts else 10
    if count_tok is not None:
        limit = int(count_tok.value)
    get = lambda k, d: opts[k].value if k in opts else d  # noqa: E731
    return ast.TopCmd(fields, by, limit, word.value.lower() == "rare", get("countfield", "count"),
                      get("percentfield", "percent"), as_bool(get("showcount", "t")), as_bool(get("showperc", "t")))


def compile_top(state: State, cmd: ast.TopCmd) -> None:
    """Count each value combination (per by-group), keep the N most (rare: least) common,
    with `percent` = 100 * count / rows having all the fields in the group."""
    state.wrap()
    src = state.select.args["from_"].this.copy()
    keys = cmd.by + cmd.fields
    cnt = exp.Count(this=exp.Star())
    cols = [exp.alias_(state.field(k), ident(k)) for k in keys] + [exp.alias_(cnt, ident("__speleo_c"))]
    sel = exp.select(*cols).from_(src).where(by_filter(state, keys), copy=False) \
        .group_by(*[exp.Literal.number(i + 1) for i in range(len(keys))], copy=False)
    state.select = sel
    state.wrap()
    src = state.select.args["from_"].this.copy()
    part = [col(b) for b in cmd.by]
    total = exp.Window(this=exp.Sum(this=col("__speleo_c")), partition_by=part)
    order = [exp.Ordered(this=col("__speleo_c"), desc=not cmd.rare)] + [exp.Ordered(this=col(f)) for f in cmd.fields]
    rank = exp.Window(this=exp.RowNumber(), partition_by=[p.copy() for p in part], order=exp.Order(expressions=order))
    out = [col(k) for k in keys]
    if cmd.showcount:
        out.append(exp.alias_(col("__speleo_c"), ident(cmd.countfield)))
    if cmd.showperc:
        pct = exp.Div(this=exp.Mul(this=exp.Literal.number(100.0), expression=col("__speleo_c")), expression=total)
        out.append(exp.alias_(exp.Cast(this=pct, to=exp.DataType.build("DOUBLE")), ident(cmd.percentfield)))
    out.append(exp.alias_(rank, ident(ORD)))
    state.select = exp.select(*out).from_(src)
    if cmd.limit > 0:
        state.filter(exp.LTE(this=col(ORD), expression=exp.Literal.number(cmd.limit)))
    state.columns = keys + ([cmd.countfield] if cmd.showcount else []) + ([cmd.percentfield] if cmd.showperc else [])
    state.events, state.transforming = False, True
    state.order = [exp.Ordered(this=col(b)) for b in cmd.by] + [exp.Ordered(this=col(ORD))]
    state.order_cols, state.hidden_ord = set(cmd.by) | {ORD}, True
