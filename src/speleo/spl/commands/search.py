"""search and where (Splunk Search Reference: search, where)."""

from __future__ import annotations

import re

from sqlglot import exp

from speleo.spl import ast
from speleo.spl.cursor import Cursor
from speleo.spl.exprparse import CaseFieldCmp, CaseTerm, TermDirective, parse_eval_expr, parse_search_expr
from speleo.spl.functions import compile_condition, num, text
from speleo.spl.nodes import ImpliedRaw, RegexMatch, TermMatch, escape_like, re_escape
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
        return exp.and_(*[exp.paren(search_condition(state, i), copy=False) for i in node.items], copy=False)
    if isinstance(node, ast.Or):   # an empty OR (a text-giving subsearch without results) matches nothing
        return exp.or_(*[exp.paren(search_condition(state, i), copy=False) for i in node.items], copy=False) \
            if node.items else exp.false()
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
        return _with_implied(state, node, [node.value], _never_null(field_condition(state, node)))
    if isinstance(node, ast.FieldIn) and node.field in state.mv:
        return exp.or_(*[_any_value(state, ast.FieldCmp(node.field, "=", v)) for v in node.values] or [exp.false()],
                       copy=False)
    if isinstance(node, ast.FieldIn):
        cond = exp.or_(*[_never_null(value_match(state.field(node.field), v)) for v in node.values] or [exp.false()],
                       copy=False)
        return _with_implied(state, node, list(node.values), cond)
    if isinstance(node, ast.TimeBound):
        return time_condition(state, node)
    if isinstance(node, ast.Subsearch):
        from speleo.spl.commands.combine import subsearch_condition

        return subsearch_condition(state, node)
    raise state.fail(f"unsupported search element {type(node).__name__}", node)


# A value whose text an extraction copies from `_raw` as it is written there: letters, digits and
# a few punctuation marks no JSON writer escapes (not `/`: JSON may write `\/`). Never a number:
# `n=500` compares numerically, and DuckDB reads `1_000`, `5e2` and `499.99999999999999` as
# numbers equal to 1000 and 500 without their text holding those digits.
_IMPLIED_TEXT = re.compile(r"[A-Za-z0-9_.:@-]*[A-Za-z_.:@-][A-Za-z0-9_.:@-]*")


_COPYING = (exp.Coalesce, exp.Case, exp.If, exp.Nullif, exp.RegexpExtract, exp.Contains, exp.StartsWith,
            exp.And, exp.Not, exp.Is, exp.EQ, exp.Literal, exp.Null, exp.Identifier, exp.Column, exp.Anonymous)
_COPYING_CALLS = {"json_extract_string", "json_valid"}


_LITERAL_ARGS = {(exp.RegexpExtract, "expression"), (exp.RegexpExtract, "group"), (exp.Contains, "expression"),
                 (exp.StartsWith, "expression"), (exp.Nullif, "expression"), (exp.EQ, "expression")}


def _argument_literal(node: exp.Literal) -> bool:
    """A literal that is a pattern, a group number, a needle, a JSON path or a sourcetype name,
    never a value the extraction could give."""
    parent = node.parent
    if (type(parent), node.arg_key) in _LITERAL_ARGS:
        return True
    return isinstance(parent, exp.Anonymous) and parent.name.lower() == "json_extract_string" \
        and node.arg_key == "expressions" and node.index == 1


def _raw_derived(expr: exp.Expression) -> bool:
    """Whether an extraction's value is a piece of `_raw` as written: regex groups, key=value
    pairs and JSON values of `_raw`, chosen by `sourcetype` (only these node kinds, so anything
    new counts as not copied). Not: indexed fields (`_fields`), extractions from `source`,
    value tables (CIM `action` = `success` for "Accepted"), date_* fields."""
    for node in expr.walk():
        if not isinstance(node, _COPYING) or (isinstance(node, exp.Anonymous) and node.name.lower() not in _COPYING_CALLS):
            return False
        if isinstance(node, exp.Literal) and not _argument_literal(node):
            return False   # a constant could be a value (`coalesce(x, 'unknown')`): not a copy
        if isinstance(node, exp.Column) and node.name != "_raw":
            parent = node.parent
            if not (node.name == "sourcetype" and isinstance(parent, exp.EQ) and parent.arg_key == "this"
                    and isinstance(parent.parent, exp.If) and parent.parent.arg_key == "ifs"):
                return False
    return True


def implied_values(values: list[str]) -> bool:
    """Whether every value is written in `_raw` as it is compared: its literal runs (between
    `*`) are text `_IMPLIED_TEXT` allows, never a number (compared as a number); digits next to
    a wildcard compare as text."""
    for value in values:
        if "*" not in value:
            if is_number(value) or not _IMPLIED_TEXT.fullmatch(value):
                return False
            continue
        runs = [r for r in value.split("*") if r]
        if not runs or any(not (_IMPLIED_TEXT.fullmatch(r) or r.isdigit()) for r in runs):
            return False
    return True


def implied_raw_condition(state: State, node: ast.FieldCmp | ast.FieldIn,
                          values: list[str]) -> ImpliedRaw | None:
    """What `field=value` (or `field IN (...)`) implies of `_raw` when `field` is extracted from
    it at search time: `_raw` holds the value's text (each literal run of a wildcard value),
    case-insensitively. It is a cheap filter run before the extraction's regexes, never a
    change of the answer. None when the field is a column, multivalue, or a value could be
    written another way (`5.0` for `5`); an `ImpliedRaw` node that renders TRUE when the
    extraction is not a copy of `_raw` (calculated, indexed: `_raw_derived`).

    Splunk fields.conf INDEXED_VALUE (default true): "the value is in the raw text of the
    event"; Splunk assumes it of every search-time field, Speleo only of fields it can see are
    copied from `_raw`, and of integers only where `_implied_integer` says; events holding a
    `\\u` JSON escape are left to the comparison."""
    if not state.has_raw() or state.auto_json is not None or node.field in state.mv \
            or node.field in state.bindings or node.field in state.columns:
        return None
    if isinstance(node, ast.FieldCmp) and (node.op != "=" or node.value == "*"):
        return None
    from speleo.spl.cse import Extracted

    f = state.field(node.field)
    if not isinstance(f, Extracted):
        return None
    if not implied_values(values):
        return _implied_integer(state, node, values, f)
    alternatives = []
    for value in values:
        runs = [r for r in value.split("*") if r]
        needs = []
        for r in runs:
            if not any(c.isalpha() for c in r):
                needs.append(exp.func("contains", col("_raw"), exp.Literal.string(r)))
            else:
                needs.append(exp.Escape(this=exp.ILike(this=col("_raw"), expression=exp.Literal.string(
                    "%" + escape_like(r) + "%")), expression=exp.Literal.string("\\")))
        alternatives.append(exp.and_(*needs) if len(needs) > 1 else needs[0])
    # a JSON string may spell any character as \\uXXXX: such events are left to the comparison
    alternatives.append(exp.func("contains", col("_raw"), exp.Literal.string("\\u")))
    hint = exp.or_(*alternatives)
    return ImpliedRaw(this=_never_null(hint), name=exp.Literal.string(node.field),
                      ok=exp.Boolean(this=_raw_derived(f.this)))


_INTEGER = re.compile(r"[1-9][0-9]{0,14}|0")


def _implied_integer(state: State, node, values: list[str], f) -> ImpliedRaw | None:
    """`status=500` (integers only, compared as numbers): in events of a sourcetype whose own
    regex gives the field as digits only (`(?<status>\\d{3})` in access_combined), a value equal
    to 500 is written `500` (or `0500`), unless key=value or JSON gives the field instead, which
    needs `status=` in the text or a text starting with `{`. Events of other sourcetypes (where
    `1_000`, `5e2` or a long decimal could equal the number) are left to the comparison."""
    digits_only = getattr(state.ctx.field_sql, "digits_only_sourcetypes", None)
    if digits_only is None or "sourcetype" not in state.columns or not values \
            or not all(_INTEGER.fullmatch(v) for v in values):
        return None
    sts = sorted(digits_only(node.field))
    if not sts:
        return None
    raw = col("_raw")
    written = [exp.func("contains", raw, exp.Literal.string(v)) for v in values]
    other_ways = [exp.func("contains", raw.copy(), exp.Literal.string(node.field + "=")),
                  exp.func("starts_with", raw.copy(), exp.Literal.string("{"))]
    mine = exp.In(this=col("sourcetype"), expressions=[exp.Literal.string(st) for st in sts])
    hint = exp.Case(ifs=[exp.If(this=_never_null(mine), true=exp.or_(*written, *other_ways))], default=exp.true())
    return ImpliedRaw(this=_never_null(hint), name=exp.Literal.string(node.field),
                      ok=exp.Boolean(this=_raw_derived(f.this)))


def _with_implied(state: State, node, values: list[str], cond: exp.Expression) -> exp.Expression:
    hint = implied_raw_condition(state, node, values)
    return cond if hint is None else exp.and_(hint, exp.paren(cond))


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


_CIDR = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}/\d{1,2}")


def _network(value: str):
    """The IPv4 network a search value in CIDR notation names (`10.9.165.0/24`), else None."""
    import ipaddress

    if not _CIDR.fullmatch(value):
        return None
    try:
        return ipaddress.IPv4Network(value, strict=False)
    except ValueError:
        return None


def value_match(f: exp.Expression, value: str, case_sensitive: bool = False) -> exp.Expression:
    """Case-insensitive (CASE(): case-sensitive) equality with `*` wildcards; numbers also
    compare numerically. A value in IPv4 CIDR notation matches the addresses inside that
    network, or the same text (Search Reference: search, "CIDR matching": `src="10.9.165.0/24"`)."""
    net = _network(value)
    if net is not None:
        from speleo.spl.functions import in_network

        same = exp.EQ(this=text(f.copy()), expression=exp.Literal.string(value))
        return exp.or_(in_network(text(f), net), exp.Coalesce(this=same, expressions=[exp.false()]))
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
