"""top and rare (Splunk Search Reference: top, rare)."""

from __future__ import annotations

from sqlglot import exp

from speleo.spl import ast
from speleo.spl.commands.aggregates import by_filter, parse_by
from speleo.spl.cursor import Cursor, as_bool
from speleo.spl.functions import text
from speleo.spl.state import ORD, col, ident, State, tbl
from speleo.spl.tokens import Token, is_digits


def parse_top(cur: Cursor, word: Token) -> ast.TopCmd:
    """`top [N] [limit=N] [countfield=] [percentfield=] [showcount=] [showperc=] [useother=]
    [otherstr=] f... [by g...]`; the options are also accepted after the fields (common usage)."""
    allowed = {"limit", "countfield", "percentfield", "showcount", "showperc", "useother", "otherstr"}
    count_tok = cur.next() if is_digits(cur.peek().value) and cur.peek().kind.name == "WORD" else None
    fields, opts = cur.fields_and_options(allowed, "by")
    if not fields:
        raise cur.error("expected a field")
    by = parse_by(cur)
    opts.update(cur.options(allowed))
    cur.expect_end()
    limit = cur.integer(opts["limit"], "limit") if "limit" in opts else 10
    if count_tok is not None:
        limit = int(count_tok.value)
    get = lambda k, d: opts[k].value if k in opts else d  # noqa: E731
    node = ast.TopCmd(fields, by, limit, word.value.lower() == "rare", get("countfield", "count"),
                      get("percentfield", "percent"), as_bool(get("showcount", "t")), as_bool(get("showperc", "t")))
    # not fields of ast.TopCmd (kept off the dump): the row for the values past the limit
    node.useother = as_bool(get("useother", "f"))               # type: ignore[attr-defined]
    node.otherstr = get("otherstr", "OTHER")                    # type: ignore[attr-defined]
    return node


def compile_top(state: State, cmd: ast.TopCmd) -> None:
    """Count each value combination (per by-group), keep the N most (rare: least) common,
    with `percent` = 100 * count / rows having all the fields in the group."""
    state.wrap()
    src = state.select.args["from_"].this.copy()
    keys = cmd.by + cmd.fields
    cnt = exp.Count(this=exp.Star())
    cols = [exp.alias_(state.field(k), ident(k)) for k in keys] + [exp.alias_(cnt, ident("__speleo_c"))]
    sel = exp.select(*cols).from_(tbl(src)).where(by_filter(state, keys), copy=False) \
        .group_by(*[exp.Literal.number(i + 1) for i in range(len(keys))], copy=False)
    state.select = sel
    state.wrap()
    src = state.select.args["from_"].this.copy()
    part = [col(b) for b in cmd.by]
    total = exp.Window(this=exp.Sum(this=col("__speleo_c")), partition_by=part)
    order = [exp.Ordered(this=col("__speleo_c"), desc=not cmd.rare)] + [exp.Ordered(this=col(f)) for f in cmd.fields]
    rank = exp.Window(this=exp.RowNumber(), partition_by=[p.copy() for p in part], order=exp.Order(expressions=order))
    state.select = exp.select(*[col(k) for k in keys], col("__speleo_c"), exp.alias_(total, ident("__speleo_t")),
                              exp.alias_(rank, ident(ORD))).from_(tbl(src))
    state.wrap()
    ranked = state.select.args["from_"].this.copy()
    useother = getattr(cmd, "useother", False) and cmd.limit > 0

    def output(keys_out: list[exp.Expression], count: exp.Expression, t: exp.Expression,
               ordv: exp.Expression) -> list[exp.Expression]:
        out = list(keys_out)
        if cmd.showcount:
            out.append(exp.alias_(count, ident(cmd.countfield)))
        if cmd.showperc:
            pct = exp.Div(this=exp.Mul(this=exp.Literal.number(100.0), expression=count.copy()), expression=t)
            out.append(exp.alias_(exp.Cast(this=pct, to=exp.DataType.build("DOUBLE")), ident(cmd.percentfield)))
        return out + [exp.alias_(ordv, ident(ORD))]

    key_cols = [exp.alias_(text(col(k)) if useother and k in cmd.fields else col(k), ident(k)) for k in keys]
    sel = exp.select(*output(key_cols, col("__speleo_c"), col("__speleo_t"), col(ORD))).from_(tbl(ranked))
    if cmd.limit > 0:
        sel = sel.where(exp.LTE(this=col(ORD), expression=exp.Literal.number(cmd.limit)), copy=False)
    if useother:
        # Splunk Search Reference: top, useother/otherstr: one more row per group for the values
        # past the limit, its fields set to otherstr (default "OTHER"); the count stays an integer
        other_keys = [exp.alias_(col(b), ident(b)) for b in cmd.by] + \
            [exp.alias_(exp.Literal.string(getattr(cmd, "otherstr", "OTHER")), ident(f)) for f in cmd.fields]
        other = exp.select(*output(other_keys, exp.Cast(this=exp.Sum(this=col("__speleo_c")),
                                                                to=exp.DataType.build("BIGINT")),
                                   exp.Anonymous(this="any_value", expressions=[col("__speleo_t")]),
                                   exp.Literal.number(cmd.limit + 1))).from_(ranked.copy()) \
            .where(exp.GT(this=col(ORD), expression=exp.Literal.number(cmd.limit)), copy=False)
        if cmd.by:
            other = other.group_by(*[col(b) for b in cmd.by], copy=False)
        other = other.having(exp.GT(this=exp.Count(this=exp.Star()), expression=exp.Literal.number(0)), copy=False)
        state.ctes.append((f"s{len(state.ctes)}", exp.Union(this=sel, expression=other, distinct=False)))
        state.select = exp.select(exp.Star()).from_(tbl(state.ctes[-1][0]))
    else:
        state.select = sel
    state.columns = keys + ([cmd.countfield] if cmd.showcount else []) + ([cmd.percentfield] if cmd.showperc else [])
    state.events, state.transforming = False, True
    state.order = [exp.Ordered(this=col(b)) for b in cmd.by] + [exp.Ordered(this=col(ORD))]
    state.order_cols, state.hidden_ord = set(cmd.by) | {ORD}, True
