"""sort, head, tail (Splunk Search Reference: sort, head, tail; dedup is in commands/events.py)."""

from __future__ import annotations

from sqlglot import exp

from speleo.spl import ast
from speleo.spl.cursor import Cursor
from speleo.spl.functions import num, text
from speleo.spl.nodes import RegexExtract
from speleo.spl.state import State
from speleo.spl.tokens import T, Token

SORT_DEFAULT_LIMIT = 10000


def parse_sort(cur: Cursor, word: Token) -> ast.SortCmd:
    """Splunk Search Reference: sort. `sort [N] [limit=N] [+|-]field ... [desc]`."""
    limit: int | None = SORT_DEFAULT_LIMIT
    opts = cur.options({"limit"})
    if "limit" in opts:
        limit = cur.integer(opts["limit"], "limit")
    if cur.peek().kind is T.WORD and cur.peek().value.isdigit():
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
    """Order by the keys (numbers numerically); keep the first `limit` rows."""
    keys = [o for k in cmd.keys for o in _key_order(state, k)]
    state.wrap()
    if cmd.limit:
        state.select = state.select.order_by(*keys, copy=False).limit(cmd.limit, copy=False)
    state.set_order([k.copy() for k in keys], {k.field for k in cmd.keys})
    state.sorted_by_user = True


def parse_head(cur: Cursor, word: Token) -> ast.HeadCmd:
    """Splunk Search Reference: head / tail. `head [N] | head limit=N` (default 10)."""
    opts = cur.options({"limit"}, ignored=frozenset({"null", "keeplast"}))
    count = cur.integer(opts["limit"], "limit") if "limit" in opts else 10
    if not cur.at_end():
        tok = cur.next()
        if tok.kind is T.LPAREN or not tok.value.isdigit():
            raise cur.unsupported(f"{word.value} with an expression is not supported", tok)
        count = int(tok.value)
    cur.expect_end()
    return ast.HeadCmd(count, word.value.lower() == "tail")


def compile_head(state: State, cmd: ast.HeadCmd) -> None:
    """The first N rows in the current order (tail: the last N, last first)."""
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
