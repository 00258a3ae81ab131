"""search and where (Splunk Search Reference: search, where)."""

from __future__ import annotations

import re

from sqlglot import exp

from speleo.spl import ast
from speleo.spl.cursor import Cursor
from speleo.spl.exprparse import CaseFieldCmp, CaseTerm, TermDirective, parse_eval_expr, parse_search_expr
from speleo.spl.functions import compile_condition, num, text
from speleo.spl.nodes import RegexMatch, TermMatch, escape_like, re_escape
from speleo.spl.state import State, col
from speleo.spl.timemod import parse_relative_time
from speleo.spl.tokens import Token

_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def parse_search(cur: Cursor, word: Token) -> ast.SearchCmd:
    """Splunk Search Reference: search. Terms, phrases, field comparisons, booleans."""
    return ast.SearchCmd(parse_search_expr(cur))


def parse_where(cur: Cursor, word: Token) -> ast.WhereCmd:
    """Splunk Search Reference: where. One eval expression used as a filter."""
    if cur.at_end():
        raise cur.error("expected an expression")
    expr = parse_eval_expr(cur)
    cur.expect_end()
    return ast.WhereCmd(expr)


def compile_search(state: State, cmd: ast.SearchCmd) -> None:
    """Filter the relation by a search expression (time bounds of the first search excluded)."""
    if cmd.expr is not None:
        state.filter(search_condition(state, cmd.expr))


def compile_where(state: State, cmd: ast.WhereCmd) -> None:
    state.filter(compile_condition(state, cmd.expr))


# --- search expression -> SQL -----------------------------------------------------------


def search_condition(state: State, node: ast.Node) -> exp.Expression:
    """A never-null boolean for a search expression."""
    if isinstance(node, ast.And):
        return exp.and_(*[exp.paren(search_condition(state, i)) for i in node.items])
    if isinstance(node, ast.Or):
        return exp.or_(*[exp.paren(search_condition(state, i)) for i in node.items])
    if isinstance(node, ast.Not):
        return exp.Not(this=exp.paren(search_condition(state, node.item)))
    if isinstance(node, (TermDirective, CaseTerm)):
        return directive_condition(state, node)
    if isinstance(node, ast.Term):
        return term_condition(state, node.text)
    if isinstance(node, (ast.FieldCmp, ast.FieldIn)):
        from speleo.spl.commands.knowledge import search_node_condition

        known = search_node_condition(state, node)
        if known is not None:
            return known
    if isinstance(node, ast.FieldCmp):
        return _never_null(field_condition(state, node))
    if isinstance(node, ast.FieldIn) and node.field in state.mv:
        return exp.or_(*[_any_value(state, ast.FieldCmp(node.field, "=", v)) for v in node.values] or [exp.false()])
    if isinstance(node, ast.FieldIn):
        return exp.or_(*[_never_null(value_match(state.field(node.field), v)) for v in node.values] or [exp.false()])
    if isinstance(node, ast.TimeBound):
        return time_condition(state, node)
    if isinstance(node, ast.Subsearch):
        from speleo.spl.commands.combine import subsearch_condition

        return subsearch_condition(state, node)
    raise state.fail(f"unsupported search element {type(node).__name__}", node)


def _never_null(e: exp.Expression) -> exp.Expression:
    return exp.Coalesce(this=e, expressions=[exp.false()])


def term_condition(state: State, term: str) -> exp.Expression:
    """A term over _raw; over every column's text when there is no _raw (results)."""
    literal = exp.Literal.string(term)
    if state.has_raw():
        return TermMatch(this=col("_raw"), expression=literal)
    cols = [c for c in state.columns if not c.startswith("__speleo")]
    return exp.or_(*[_never_null(TermMatch(this=text(col(c)), expression=literal.copy())) for c in cols] or [exp.false()])


# Splunk's default major breakers (segmenters.conf MAJOR, without the URL-encoded forms).
_MAJOR = r"\s\[\]<>(){}|!;,'\"*&?+"
_ALNUM_CS = "0-9A-Za-z"


def directive_regex(node: ast.Term) -> str:
    """RE2 pattern of TERM(x) (a whole token between major breakers, case-insensitive) or
    CASE(x) (a term bounded like any term, case-sensitive); `*` is a wildcard in both."""
    term = node.text
    if isinstance(node, TermDirective):
        body = f"[^{_MAJOR}]*".join(re_escape(p) for p in term.split("*"))
        return f"(?i)(?:^|[{_MAJOR}]){body}(?:[{_MAJOR}]|$)"
    body = ".*".join(re_escape(p) for p in term.split("*"))
    left = "" if term.startswith("*") or not term[:1].isalnum() else f"(?:^|[^{_ALNUM_CS}])"
    right = "" if term.endswith("*") or not term[-1:].isalnum() else f"(?:[^{_ALNUM_CS}]|$)"
    return left + body + right


def directive_condition(state: State, node: ast.Term) -> exp.Expression:
    """TERM() / CASE() over _raw (over every column's text on results)."""
    pattern = exp.Literal.string(directive_regex(node))
    if state.has_raw():
        return _never_null(RegexMatch(this=col("_raw"), expression=pattern))
    cols = [c for c in state.columns if not c.startswith("__speleo")]
    return exp.or_(*[_never_null(RegexMatch(this=text(col(c)), expression=pattern.copy())) for c in cols]
                   or [exp.false()])


def time_condition(state: State, node: ast.TimeBound) -> exp.Expression:
    t = parse_relative_time_at(state, node)
    op = exp.GTE if node.which == "earliest" else exp.LT
    return _never_null(op(this=state.field("_time"), expression=exp.Literal.number(repr(t))))


def parse_relative_time_at(state: State, node: ast.TimeBound) -> float:
    """parse_relative_time with the error re-anchored in the query."""
    from speleo.errors import SplSyntaxError

    try:
        return parse_relative_time(node.text, state.ctx.now, state.ctx.tz)
    except SplSyntaxError as err:
        raise SplSyntaxError(err.message, state.query, node.start, node.end) from None


def is_number(value: str) -> bool:
    return bool(_NUMBER.fullmatch(value))


def field_condition(state: State, node: ast.FieldCmp) -> exp.Expression:
    """`field op value` with Splunk semantics (`!=` needs the field to exist). On a multivalue
    field (makemv, split(), mvappend ...) `=` and the comparisons match when any value matches
    and `!=` when the field has values and none of them equals (Search Reference: search,
    "multivalue fields")."""
    if node.field in state.mv and node.value != "*":
        return _any_value(state, node)
    return _single_condition(state, node, state.field(node.field))


def _any_value(state: State, node: ast.FieldCmp) -> exp.Expression:
    lst = state.field(node.field)
    v = exp.column("__sv")
    eq = type(node)(node.field, "=", node.value) if node.op == "!=" else node
    cond = _never_null(_single_condition(state, eq, v))
    hits = exp.Anonymous(this="list_filter", expressions=[lst, exp.Lambda(this=cond, expressions=[exp.to_identifier("__sv")])])
    some = exp.GT(this=exp.Anonymous(this="len", expressions=[hits]), expression=exp.Literal.number(0))
    if node.op != "!=":
        return some
    has = exp.GT(this=exp.Anonymous(this="len", expressions=[lst.copy()]), expression=exp.Literal.number(0))
    return exp.and_(has, exp.Not(this=exp.paren(_never_null(some))))


def _single_condition(state: State, node: ast.FieldCmp, f: exp.Expression) -> exp.Expression:
    if node.op in ("=", "!="):
        match = exp.Not(this=exp.Is(this=f, expression=exp.null())) if node.value == "*" \
            else value_match(f, node.value, case_sensitive=isinstance(node, CaseFieldCmp))
        if node.op == "=":
            return match
        return exp.and_(exp.Not(this=exp.Is(this=f.copy(), expression=exp.null())),
                        exp.Not(this=exp.paren(_never_null(match))))
    cls = {"<": exp.LT, "<=": exp.LTE, ">": exp.GT, ">=": exp.GTE}[node.op]
    if is_number(node.value):
        return cls(this=num(f), expression=exp.Literal.number(node.value))
    return cls(this=text(f), expression=exp.Literal.string(node.value))


def value_match(f: exp.Expression, value: str, case_sensitive: bool = False) -> exp.Expression:
    """Case-insensitive (CASE(): case-sensitive) equality with `*` wildcards; numbers also
    compare numerically."""
    if "*" in value:
        pattern = "%".join(escape_like(p) for p in value.split("*"))
        like = exp.Like if case_sensitive else exp.ILike
        return exp.Escape(this=like(this=text(f), expression=exp.Literal.string(pattern)),
                          expression=exp.Literal.string("\\"))
    if case_sensitive:
        as_str = exp.EQ(this=text(f), expression=exp.Literal.string(value))
    else:
        as_str = exp.EQ(this=exp.Lower(this=text(f)), expression=exp.Literal.string(value.lower()))
    if not is_number(value):
        return as_str
    n = num(f.copy())
    return exp.Case(ifs=[exp.If(this=exp.Not(this=exp.Is(this=n, expression=exp.null())),
                                true=exp.EQ(this=n.copy(), expression=exp.Literal.number(value.lstrip("+"))))],
                    default=as_str)
