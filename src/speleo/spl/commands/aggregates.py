"""Statistical functions shared by stats, eventstats and timechart.

Splunk Search Reference: "Statistical and charting functions". Each entry of
AGGREGATES builds the SQL aggregate from the field expression (or None for a bare
`count`). Names are those Splunk gives the output column: `count`, `dc(user)`...
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable

from sqlglot import exp

from speleo.errors import SplUnsupportedError
from speleo.spl import ast
from speleo.spl.cursor import Cursor
from speleo.spl.functions import num, text
from speleo.spl.nodes import ExactPercentile, ListAgg, ValuesAgg
from speleo.spl.state import State, col
from speleo.spl.tokens import T

_PERC = re.compile(r"(exactperc|upperperc|perc|p)(\d+(?:\.\d+)?)$")
ALIASES = {"c": "count", "distinct_count": "dc", "mean": "avg"}


def _not_null(e: exp.Expression) -> exp.Expression:
    return exp.Not(this=exp.Is(this=e, expression=exp.null()))


def _arg_by_time(name: str) -> Callable:
    def build(f: exp.Expression, state: State) -> exp.Expression:
        agg = exp.Anonymous(this=name, expressions=[f, state.field("_time")])
        return exp.Filter(this=agg, expression=exp.Where(this=_not_null(f.copy())))
    return build


AGGREGATES: dict[str, Callable[[exp.Expression, State], exp.Expression]] = {
    "count": lambda f, s: exp.Count(this=f),
    "dc": lambda f, s: exp.Count(this=exp.Distinct(expressions=[f])),
    "sum": lambda f, s: exp.Sum(this=num(f)),
    "avg": lambda f, s: exp.Avg(this=num(f)),
    "min": lambda f, s: exp.Min(this=num(f)),
    "max": lambda f, s: exp.Max(this=num(f)),
    "range": lambda f, s: exp.Sub(this=exp.Max(this=num(f)), expression=exp.Min(this=num(f.copy()))),
    "stdev": lambda f, s: exp.Stddev(this=num(f)),
    "stdevp": lambda f, s: exp.StddevPop(this=num(f)),
    "var": lambda f, s: exp.Variance(this=num(f)),
    "varp": lambda f, s: exp.VariancePop(this=num(f)),
    "sumsq": lambda f, s: exp.Sum(this=exp.Pow(this=num(f), expression=exp.Literal.number(2))),
    "values": lambda f, s: ValuesAgg(this=text(f)),
    "list": lambda f, s: ListAgg(this=f),
    "earliest": _arg_by_time("arg_min"),
    "latest": _arg_by_time("arg_max"),
    "first": _arg_by_time("arg_max"),
    "last": _arg_by_time("arg_min"),
    "median": lambda f, s: ExactPercentile(this=num(f), quantile=exp.Literal.number(0.5)),
    "mode": lambda f, s: exp.Anonymous(this="mode", expressions=[f]),
}


def parse_aggs(cur: Cursor) -> list[ast.Agg]:
    """Aggregates up to `by` or the end: `func[(field)] [as name]`, commas optional."""
    aggs: list[ast.Agg] = []
    while not cur.at_end() and not cur.peek().is_word("by"):
        if cur.accept(T.COMMA):
            continue
        aggs.append(parse_agg(cur))
    if not aggs:
        raise cur.error("expected a statistical function")
    return aggs


def parse_agg(cur: Cursor) -> ast.Agg:
    tok = cur.next()
    if tok.kind is not T.WORD:
        raise cur.error("expected a statistical function", tok)
    func, param = resolve_func(cur, tok)
    arg, end, expr = None, tok.end, None
    if cur.accept(T.LPAREN):
        if cur.peek().is_word("eval") and cur.peek(1).kind is T.LPAREN:
            expr, arg = _eval_arg(cur)
        else:
            arg = cur.name().value
        end = cur.expect(T.RPAREN, "')'").end
    elif func != "count":
        raise cur.error(f"{tok.value} needs a field: {tok.value}(field)")
    label = tok.value if arg is None else f"{tok.value}({arg})"
    alias = None
    if cur.accept_word("as"):
        name = cur.name("a name after 'as'")
        alias, end = name.value, name.end
        if name.kind is T.WORD and cur.peek().kind is T.LPAREN and cur.peek().start == end:
            # `as aceFlags(inheritance)`: Splunk takes the glued parentheses as part of the name
            depth = 0
            while True:
                tok = cur.next()
                depth += {T.LPAREN: 1, T.RPAREN: -1}.get(tok.kind, 0)
                if tok.kind is T.EOF:
                    raise cur.error("expected ')'", tok)
                if depth == 0:
                    break
            alias, end = cur.query[name.start : tok.end], tok.end
    if expr is not None and alias is None:
        raise cur.error(f"{tok.value}(eval(...)) needs 'as <name>'")
    return ast.Agg(func, arg, param, alias, label, expr, start=tok.start, end=end)


def _eval_arg(cur: Cursor) -> tuple[ast.Node, str]:
    """`eval(<expression>)` inside a stats function: re-lexed as an eval expression."""
    from speleo.spl.exprparse import parse_eval_expr
    from speleo.spl.tokens import lex

    word = cur.next()
    open_ = cur.next()
    depth, j = 1, cur.i
    while depth and cur.tokens[j].kind is not T.EOF:
        depth += {T.LPAREN: 1, T.RPAREN: -1}.get(cur.tokens[j].kind, 0)
        j += 1
    if depth:
        raise cur.error("expected ')' closing eval(")
    close = cur.tokens[j - 1]
    sub = Cursor(cur.query, lex(cur.query, open_.end, close.start, "expr"), cur.command)
    expr = parse_eval_expr(sub)
    sub.expect_end()
    cur.i = j
    return expr, cur.query[word.start : close.end]


def resolve_func(cur: Cursor, tok) -> tuple[str, float | None]:
    name = tok.value.lower()
    name = ALIASES.get(name, name)
    if name in AGGREGATES:
        return name, None
    m = _PERC.match(name)
    if m:
        return "perc", float(m.group(2))
    close = difflib.get_close_matches(name, list(AGGREGATES) + ["perc95"], n=1)
    raise SplUnsupportedError(f"statistical function {tok.value!r} is not supported", cur.query,
                              tok.start, tok.end, suggestion=close[0] if close else None)


def agg_name(agg: ast.Agg) -> str:
    return agg.alias or agg.label


def agg_sql(state: State, agg: ast.Agg) -> exp.Expression:
    """The SQL aggregate of one stats function over the current relation."""
    if agg.arg is None:
        return exp.Count(this=exp.Star())
    if agg.expr is not None:
        from speleo.spl.functions import compile_expr

        value, kind = compile_expr(state, agg.expr)
        if kind == "bool":   # Splunk: a false comparison counts as no value
            value = exp.Case(ifs=[exp.If(this=exp.Coalesce(this=value, expressions=[exp.false()]), true=exp.true())])
        f = value
    else:
        f = state.field(agg.arg)
    if agg.func == "perc":
        return ExactPercentile(this=num(f), quantile=exp.Literal.number(repr(agg.param / 100)))
    return AGGREGATES[agg.func](f, state)


def parse_by(cur: Cursor) -> list[str]:
    if not cur.accept_word("by"):
        return []
    fields = [t.value for t in cur.field_list(stop=())]
    if not fields:
        raise cur.error("expected a field after 'by'")
    return fields


def by_filter(state: State, by: list[str]) -> exp.Expression | None:
    """Splunk drops rows whose by-fields are missing."""
    if not by:
        return None
    return exp.and_(*[_not_null(state.field(b)) for b in by])


def auto_order(name: str, desc: bool = False) -> list[exp.Ordered]:
    """Splunk's automatic order: numbers numerically before strings (reversed when
    descending); missing values last either way."""
    c = col(name)
    return [exp.Ordered(this=exp.Is(this=c.copy(), expression=exp.null())),
            exp.Ordered(this=num(c), desc=desc, nulls_first=desc),
            exp.Ordered(this=text(c.copy()), desc=desc, nulls_first=False)]
