"""sort, head, tail (Splunk Search Reference: sort, head, tail; dedup is in commands/events.py)."""

from __future__ import annotations

from sqlglot import exp

from speleo.spl import ast
from speleo.spl.cursor import Cursor
from speleo.spl.functions import num, text
from speleo.spl.nodes import RegexExtract
from speleo.spl.state import State
from speleo.spl.tokens import T, Token, is_digits

SORT_DEFAULT_LIMIT = 10000


def parse_sort(cur: Cursor, word: Token) -> ast.SortCmd:
    """Splunk Search Reference: sort. `sort [N] [limit=N] [+|-]field ... [desc]`."""
    limit: int | None = SORT_DEFAULT_LIMIT
    opts = cur.options({"limit"})
    if "limit" in opts:
        limit = cur.integer(opts["limit"], "limit")
    if cur.peek().kind is T.WORD and is_digits(cur.peek().value):
        limit = int(cur.next().value)
    keys = []
    while not cur.at_end() and not cur.peek().is_word("desc", "d"):
        if cur.accept(T.COMMA):
            continue
        keys.append(_sort_key(cur))
    if not keys:
        raise cur.error("expected a field to sort by")
    if cur.accept_word("desc", "d"):
        for k in keys:
            k.descending = not k.descending
    cur.expect_end()
    return ast.SortCmd(keys, limit or None)


def _sort_key(cur: Cursor) -> ast.SortKey:
    tok = cur.next()
    desc, name = False, tok.value
    if tok.kind is T.WORD and name in ("+", "-"):
        desc, tok = name == "-", cur.name()
        name = tok.value
    elif tok.kind is T.WORD and name[:1] in "+-":
        desc, name = name[0] == "-", name[1:]
    mode = "auto"
    if name.lower() in ("num", "str", "ip", "auto") and cur.peek().kind is T.LPAREN:
        mode = name.lower()
        cur.next()
        name = cur.name().value
        cur.expect(T.RPAREN, "')'")
    if not name:
        raise cur.error("expected a field to sort by", tok)
    return ast.SortKey(name, desc, mode, start=tok.start, end=tok.end)


_LEADING_NUMBER = r"^\s*([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)"


def sort_number(f: exp.Expression) -> exp.Expression:
    """The number a value sorts by in `auto` mode: the value itself when it is a number, else the
    number it starts with ("If the string starts with a number, the string is sorted numerically
    based on that number alone"), else NULL (sorted as a string, after the numbers)."""
    lead = RegexExtract(this=text(f.copy()), expression=exp.Literal.string(_LEADING_NUMBER),
                        group=exp.Literal.number(1))
    return exp.Coalesce(this=num(f), expressions=[num(lead)])


def _key_order(state: State, key: ast.SortKey) -> list[exp.Ordered]:
    f = state.field(key.field)
    missing = exp.Ordered(this=exp.Is(this=f.copy(), expression=exp.null()))
    if key.mode == "num":
        return [missing, exp.Ordered(this=num(f), desc=key.descending, nulls_first=key.descending)]
    if key.mode == "str":
        return [missing, exp.Ordered(this=text(f), desc=key.descending, nulls_first=key.descending)]
    return [missing, exp.Ordered(this=sort_number(f), desc=key.descending, nulls_first=key.descending),
            exp.Ordered(this=text(f.copy()), desc=key.descending, nulls_first=False)]


def compile_sort(state: State, cmd: ast.SortCmd) -> None:
    """Order by the keys (numbers numerically); keep the first `limit` rows. Ties keep the order
    they had (the earlier order's keys follow the sort keys): Splunk's sort is stable, and an
    engine's sort need not be (ClickHouse's is not; `dedup ... sortby` keeps the first of each
    group in that order)."""
    keys = [o for k in cmd.keys for o in _key_order(state, k)]
    prior = set(state.order_cols) if state.order else set()   # a later eval of a tie-breaker pins the order
    keys += [o.copy() for o in state.order or []]
    state.wrap()
    if cmd.limit:
        state.select = state.select.order_by(*keys, copy=False).limit(cmd.limit, copy=False)
    state.set_order([k.copy() for k in keys], {k.field for k in cmd.keys} | prior)
    state.sorted_by_user = True


def parse_head(cur: Cursor, word: Token) -> ast.HeadCmd:
    """Splunk Search Reference: head / tail. `head [N] | head limit=N` (default 10);
    `head (<eval-expression>) [limit=N] [null=<bool>] [keeplast=<bool>]`: the results while the
    expression is true (`null`: how a null value counts, default false; `keeplast`: also the
    first result that stopped it); `limit` bounds both forms."""
    from speleo.spl.cursor import as_bool
    from speleo.spl.exprparse import parse_eval_expr
    from speleo.spl.tokens import lex

    tail = word.value.lower() == "tail"
    opts = cur.options({"limit", "null", "keeplast"})
    count = cur.integer(opts["limit"], "limit") if "limit" in opts else None
    expr = None
    if not cur.at_end():
        tok = cur.next()
        if tok.kind is T.LPAREN and not tail:
            close = cur.skip_balanced(f"{word.value} (")
            sub = Cursor(cur.query, lex(cur.query, tok.end, close.start, "expr"), cur.command)
            expr = parse_eval_expr(sub)
            sub.expect_end()
        elif tok.kind is T.LPAREN or not is_digits(tok.value):
            raise cur.error(f"{word.value}: expected a number of results" +
                            ("" if tail else " or a (<eval expression>)"), tok)
        else:
            count = int(tok.value)
        opts.update(cur.options({"limit", "null", "keeplast"}))
        if "limit" in opts:
            count = cur.integer(opts["limit"], "limit")
    cur.expect_end()
    node = ast.HeadCmd(10 if count is None and expr is None else count, tail)
    if expr is not None:
        node.expr = expr                                                    # type: ignore[attr-defined]
        node.null = as_bool(opts["null"].value) if "null" in opts else False  # type: ignore[attr-defined]
        node.keeplast = as_bool(opts["keeplast"].value) if "keeplast" in opts else False  # type: ignore[attr-defined]
    return node


def _compile_head_while(state: State, cmd: ast.HeadCmd) -> None:
    """head (<expr>): keep rows, in the current order, until the first whose expression is false
    (or null unless null=true); keeplast=true keeps that row too."""
    from speleo.spl.functions import compile_expr
    from speleo.spl.state import col, ident, tbl

    state.protect_order(None)
    key = state.order[0] if state.order else None
    value, kind = compile_expr(state, cmd.expr)
    if kind != "bool":
        raise state.fail("head (<expression>) needs a condition (a comparison or a function giving true/false)",
                         cmd.expr)
    ok = exp.Coalesce(this=value, expressions=[exp.Boolean(this=cmd.null)])
    stop = exp.Case(ifs=[exp.If(this=ok, true=exp.Literal.number(0))], default=exp.Literal.number(1))
    running = exp.WindowSpec(kind="ROWS", start="UNBOUNDED", start_side="PRECEDING", end="CURRENT ROW")
    order = exp.Order(expressions=[key.copy()]) if key is not None else None
    stops = exp.Window(this=exp.Sum(this=stop.copy()), order=order, spec=running)
    state.wrap()
    src = state.select.args["from_"].this.copy()
    state.select = exp.select(exp.Star(), exp.alias_(stops, ident("__speleo_stops")),
                              exp.alias_(stop, ident("__speleo_stop"))).from_(tbl(src))
    keep = exp.EQ(this=col("__speleo_stops"), expression=exp.Literal.number(0))
    if cmd.keeplast:
        keep = exp.or_(keep, exp.and_(exp.EQ(this=col("__speleo_stops"), expression=exp.Literal.number(1)),
                                      exp.EQ(this=col("__speleo_stop"), expression=exp.Literal.number(1))))
    state.wrap()
    src = state.select.args["from_"].this.copy()
    cols = [c for c in state.columns] + state.keep_list()
    state.select = exp.select(*[col(c) for c in dict.fromkeys(cols)]).from_(tbl(src)).where(keep, copy=False)


def compile_head(state: State, cmd: ast.HeadCmd) -> None:
    """The first N rows in the current order (tail: the last N, last first)."""
    if getattr(cmd, "expr", None) is not None:
        _compile_head_while(state, cmd)
        if cmd.count is None:
            return
    order = [o.copy() for o in (state.order or [])]
    if cmd.tail:
        order = [_reverse(o) for o in order]
    state.wrap()
    if order:
        state.select = state.select.order_by(*order, copy=False)
    state.select = state.select.limit(cmd.count, copy=False)
    if state.order is not None:
        state.order = order


def _reverse(o: exp.Ordered) -> exp.Ordered:
    desc = not o.args.get("desc")
    return exp.Ordered(this=o.this.copy(), desc=desc, nulls_first=desc)
