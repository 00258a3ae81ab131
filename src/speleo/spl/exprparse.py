"""Parsers for the two expression languages of SPL.

* Search expressions (Splunk Search Reference: search): implicit AND, `OR` binds
  tighter than AND, `NOT`, parentheses, terms, phrases, `field op value`,
  `field IN (...)`, `earliest=` / `latest=`. Boolean operators are upper-case only.
* Eval expressions (Splunk Search Reference: eval, where): the usual precedence
  OR < XOR < AND < NOT < comparison < + - . < * / % < unary minus.
"""

from __future__ import annotations

from dataclasses import dataclass

from speleo.spl import ast
from speleo.spl.cursor import Cursor
from speleo.spl.tokens import T, Token


# Search directives (Search Manual: "Use CASE() and TERM() to match phrases"). They are
# subclasses of the plain nodes, so code that only needs "a term" / "a field comparison"
# (required terms, index names) treats them as such.


@dataclass
class TermDirective(ast.Term):
    """`TERM(x)`: x as one token of the event, bounded by major breakers (minor breakers
    such as `.` `=` `-` `:` `/` inside it are part of the token). Case-insensitive."""


@dataclass
class CaseTerm(ast.Term):
    """`CASE(x)`: a case-sensitive term."""


@dataclass
class CaseFieldCmp(ast.FieldCmp):
    """`field=CASE(value)` / `field!=CASE(value)`: a case-sensitive value."""

_CMP_OPS = {"=", "==", "!=", "<", "<=", ">", ">="}
_TIME_WORDS = {"earliest", "latest"}


# --- search expressions ----------------------------------------------------------


def parse_search_expr(cur: Cursor) -> ast.Node | None:
    """The whole argument of a `search` command (None when empty)."""
    if cur.at_end():
        return None
    node = _search_and(cur)
    if not cur.at_end():
        raise cur.error("unexpected token in search")
    return node


def _search_and(cur: Cursor) -> ast.Node:
    first = cur.peek()
    items = [_search_or(cur)]
    while not cur.at_end() and cur.peek().kind is not T.RPAREN:
        if cur.accept(T.WORD, "AND"):
            pass
        items.append(_search_or(cur))
    return items[0] if len(items) == 1 else ast.And(items, start=first.start, end=items[-1].end)


def _search_or(cur: Cursor) -> ast.Node:
    items = [_search_unary(cur)]
    while cur.accept(T.WORD, "OR"):
        items.append(_search_unary(cur))
    if len(items) == 1:
        return items[0]
    return ast.Or(items, start=items[0].start, end=items[-1].end)


def _search_unary(cur: Cursor) -> ast.Node:
    tok = cur.peek()
    if cur.accept(T.WORD, "NOT"):
        item = _search_unary(cur)
        return ast.Not(item, start=tok.start, end=item.end)
    return _search_primary(cur)


def _search_primary(cur: Cursor) -> ast.Node:
    tok = cur.peek()
    if cur.accept(T.LPAREN):
        node = _search_and(cur)
        close = cur.expect(T.RPAREN, "')'")
        node.start, node.end = tok.start, close.end
        return node
    if tok.kind is T.STRING:
        cur.next()
        return _after_name(cur, tok) or ast.Term(tok.value, True, start=tok.start, end=tok.end)
    if tok.kind is T.SUBSEARCH:
        from speleo.spl.parser import parse_subsearch

        cur.next()
        return parse_subsearch(cur.query, tok)
    if tok.kind is not T.WORD or tok.value in ("AND", "OR"):
        raise cur.error("expected a search term")
    cur.next()
    return _after_name(cur, tok) or _word_term(cur, tok)


def _word_term(cur: Cursor, tok: Token) -> ast.Node:
    if cur.peek().kind is T.LPAREN and tok.value.upper() in ("TERM", "CASE"):
        inner, close = _directive_arg(cur)
        cls = TermDirective if tok.value.upper() == "TERM" else CaseTerm
        return cls(inner.value, inner.kind is T.STRING, start=tok.start, end=close.end)
    return ast.Term(tok.value, False, start=tok.start, end=tok.end)


def _directive_arg(cur: Cursor) -> tuple[Token, Token]:
    """`( word-or-string )` after TERM / CASE; a term with operators in it, such as
    `TERM(key=value)` or `TERM(a<b)`, is taken as written up to the `)`."""
    cur.next()
    inner = cur.peek()
    if inner.kind not in (T.WORD, T.STRING, T.OP):
        raise cur.error("expected a term inside the parentheses")
    cur.next()
    if inner.kind is not T.STRING:
        end = inner.end
        while cur.peek().kind in (T.WORD, T.OP) and cur.peek().start == end:   # adjacent: one term
            end = cur.next().end
        if end != inner.end:
            inner = Token(T.WORD, cur.query[inner.start:end], inner.start, end)
    return inner, cur.expect(T.RPAREN, "')'")


def _after_name(cur: Cursor, name: Token) -> ast.Node | None:
    """`name op value` or `name IN (...)` when the next tokens say so."""
    nxt = cur.peek()
    if nxt.kind is T.OP and nxt.value in _CMP_OPS:
        cur.next()
        val = cur.peek()
        if val.kind not in (T.WORD, T.STRING):
            raise cur.error(f"expected a value after {nxt.value!r}")
        cur.next()
        op = "=" if nxt.value == "==" else nxt.value
        if name.kind is T.WORD and name.value.lower() in _TIME_WORDS and op == "=":
            return ast.TimeBound(name.value.lower(), val.value, start=name.start, end=val.end)
        if val.kind is T.WORD and val.value.upper() in ("CASE", "TERM") and cur.peek().kind is T.LPAREN:
            # field=CASE(value): case-sensitive; field=TERM(value): the value as one token (a field
            # value is compared whole anyway, so TERM changes nothing there).
            inner, close = _directive_arg(cur)
            cls = CaseFieldCmp if val.value.upper() == "CASE" else ast.FieldCmp
            return cls(name.value, op, inner.value, inner.kind is T.STRING, start=name.start, end=close.end)
        return ast.FieldCmp(
            name.value, op, val.value, val.kind is T.STRING, start=name.start, end=val.end
        )
    if nxt.is_word("in") and cur.peek(1).kind is T.LPAREN:
        return _field_in(cur, name)
    return None


def _field_in(cur: Cursor, name: Token) -> ast.Node:
    cur.next()
    cur.next()
    values: list[str] = []
    while not cur.accept(T.RPAREN):
        if cur.accept(T.COMMA):
            continue
        val = cur.peek()
        if val.kind not in (T.WORD, T.STRING):
            raise cur.error("expected a value in IN (...)")
        values.append(cur.next().value)
    return ast.FieldIn(name.value, values, start=name.start, end=cur.tokens[cur.i - 1].end)


# --- eval expressions ----------------------------------------------------------------

_BINARY_LEVELS: list[tuple[str, ...]] = [
    ("OR",),
    ("XOR",),
    ("AND",),
]
_CMP_LEVEL = ("=", "==", "!=", "<", "<=", ">", ">=", "LIKE")
_ADD_LEVEL = ("+", "-", ".")
_MUL_LEVEL = ("*", "/", "%")


def parse_eval_expr(cur: Cursor) -> ast.Node:
    """One eval expression (stops at a comma, a ')' or the end)."""
    return _bool_level(cur, 0)


def _bool_level(cur: Cursor, level: int) -> ast.Node:
    if level == len(_BINARY_LEVELS):
        return _not_level(cur)
    left = _bool_level(cur, level + 1)
    while (tok := cur.peek()).kind is T.WORD and tok.value.upper() in _BINARY_LEVELS[level]:
        cur.next()
        right = _bool_level(cur, level + 1)
        left = ast.BinOp(tok.value.upper(), left, right, start=left.start, end=right.end)
    return left


def _not_level(cur: Cursor) -> ast.Node:
    tok = cur.peek()
    # NOT x, NOT (x) and !(x) (Search Reference: where / eval, Boolean operators)
    if (tok.kind is T.WORD and tok.value.upper() == "NOT") or (tok.kind is T.OP and tok.value == "!"):
        cur.next()
        operand = _not_level(cur)
        return ast.UnOp("NOT", operand, start=tok.start, end=operand.end)
    return _cmp_level(cur)


def _binary_op(cur: Cursor, ops: tuple[str, ...]) -> Token | None:
    tok = cur.peek()
    if tok.kind is T.OP and tok.value in ops:
        return cur.next()
    if tok.kind is T.WORD and tok.value.upper() in ops:
        return cur.next()
    return None


def _cmp_level(cur: Cursor) -> ast.Node:
    left = _add_level(cur)
    if cur.peek().kind is T.WORD and cur.peek().value.upper() == "IN" and cur.peek(1).kind is T.LPAREN:
        # `x IN (v1, v2)` (Splunk Search Reference: where, eval "in" function) = in(x, v1, v2)
        cur.next()
        cur.next()
        values = [parse_eval_expr(cur)]
        while cur.accept(T.COMMA):
            values.append(parse_eval_expr(cur))
        close = cur.expect(T.RPAREN, "',' or ')'")
        return ast.Call("in", [left, *values], start=left.start, end=close.end)
    while op := _binary_op(cur, _CMP_LEVEL):
        right = _add_level(cur)
        name = "=" if op.value == "==" else op.value.upper()
        left = ast.BinOp(name, left, right, start=left.start, end=right.end)
    return left


def _add_level(cur: Cursor) -> ast.Node:
    left = _mul_level(cur)
    while op := _binary_op(cur, _ADD_LEVEL):
        right = _mul_level(cur)
        left = ast.BinOp(op.value, left, right, start=left.start, end=right.end)
    return left


def _mul_level(cur: Cursor) -> ast.Node:
    left = _unary(cur)
    while op := _binary_op(cur, _MUL_LEVEL):
        right = _unary(cur)
        left = ast.BinOp(op.value, left, right, start=left.start, end=right.end)
    return left


def _unary(cur: Cursor) -> ast.Node:
    tok = cur.peek()
    if tok.kind is T.OP and tok.value in "-+" and len(tok.value) == 1:
        cur.next()
        operand = _unary(cur)
        if tok.value == "+":
            return operand
        return ast.UnOp("-", operand, start=tok.start, end=operand.end)
    return _eval_primary(cur)


def _eval_primary(cur: Cursor) -> ast.Node:
    tok = cur.peek()
    if tok.kind not in (T.NUMBER, T.STRING, T.FIELD, T.LPAREN, T.WORD):
        raise cur.error("expected an expression")
    cur.next()
    if tok.kind is T.NUMBER:
        return ast.Num(tok.value, start=tok.start, end=tok.end)
    if tok.kind is T.STRING:
        return ast.Str(tok.value, start=tok.start, end=tok.end)
    if tok.kind is T.FIELD:
        return ast.Field(tok.value, start=tok.start, end=tok.end)
    if tok.kind is T.LPAREN:
        node = parse_eval_expr(cur)
        cur.expect(T.RPAREN, "')'")
        return node
    if tok.kind is T.WORD:
        if cur.peek().kind is T.LPAREN:
            return _call(cur, tok)
    return ast.Field(tok.value, start=tok.start, end=tok.end)


def _call(cur: Cursor, name: Token) -> ast.Node:
    cur.next()
    args: list[ast.Node] = []
    if not cur.accept(T.RPAREN):
        args.append(parse_eval_expr(cur))
        while cur.accept(T.COMMA):
            args.append(parse_eval_expr(cur))
        cur.expect(T.RPAREN, "',' or ')'")
    end = cur.tokens[cur.i - 1].end
    return ast.Call(name.value.lower(), args, start=name.start, end=end)
