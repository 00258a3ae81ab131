"""eval, rex (extraction mode), fillnull's parser (Splunk Search Reference: eval, rex, fillnull;
fillnull compiles in events.py, rex mode=sed in extracts.py)."""

from __future__ import annotations

import re

from sqlglot import exp

from speleo.spl import ast
from speleo.spl.commands.stats import _assign
from speleo.spl.cursor import Cursor
from speleo.spl.exprparse import parse_eval_expr
from speleo.spl.functions import compile_expr, group_pattern, mv, pcre_pattern, regex_literal, text
from speleo.spl.nodes import PcreExtract, PcreExtractAll, RegexExtract
from speleo.spl.state import State
from speleo.spl.tokens import T, Token

_GROUP = re.compile(r"\(\?P?<([A-Za-z_][A-Za-z0-9_]*)>")


def parse_eval(cur: Cursor, word: Token) -> ast.EvalCmd:
    """Splunk Search Reference: eval. `eval a=expr, b=expr`."""
    pairs: list[tuple[str, ast.Node]] = []
    while not cur.at_end():
        name = cur.peek()
        if name.kind not in (T.WORD, T.FIELD, T.STRING):
            raise cur.error("expected a field name to assign")
        cur.next()
        cur.expect(T.OP, "'='", "=")
        pairs.append((name.value, parse_eval_expr(cur)))
        if not cur.accept(T.COMMA):
            break
    cur.expect_end()
    if not pairs:
        raise cur.error("expected 'field=expression'")
    return ast.EvalCmd(pairs)


def compile_eval(state: State, cmd: ast.EvalCmd) -> None:
    """Each assignment sees the fields assigned before it (one stage per assignment). As in
    Splunk (Search Reference: eval, "The result of an eval expression cannot be a Boolean"), an
    expression whose value is true/false is an error: wrap it in if(...) or tostring(...)."""
    for name, expr in cmd.assignments:
        value, kind = compile_expr(state, expr)
        if kind == "bool":
            raise state.fail(f"eval {name}=...: the result of an eval expression cannot be a Boolean; use "
                             "if(<condition>, <value>, <value>) or tostring(<condition>)", expr)
        _assign(state, name, value, mv=kind == "mv")


def parse_rex(cur: Cursor, word: Token) -> ast.RexCmd:
    """Splunk Search Reference: rex. `rex [field=F] "(?<name>regex)"` (extraction mode)."""
    opts = cur.options({"field", "mode", "max_match"}, ignored=frozenset({"offset_field"}))
    tok = cur.expect(T.STRING, "a quoted regular expression")
    opts.update(cur.options({"field", "mode", "max_match"}, ignored=frozenset({"offset_field"})))
    cur.expect_end()
    if "mode" in opts:
        raise cur.unsupported("rex mode=sed is not supported", opts["mode"])
    if not _GROUP.search(tok.value):
        raise cur.error("rex needs at least one named group (?<name>...)", tok)
    field = opts["field"].value if "field" in opts else "_raw"
    max_match = cur.integer(opts["max_match"], "max_match") if "max_match" in opts else 1
    return ast.RexCmd(field, tok.value, max_match, start=word.start, end=tok.end)


def compile_rex(state: State, cmd: ast.RexCmd) -> None:
    """Each named group becomes a field; where the regex does not match, the field keeps the
    value it had (Splunk sets fields only from a match)."""
    if cmd.max_match != 1:
        _compile_rex_multi(state, cmd)
        return
    source = text(state.field(cmd.field))
    pcre = pcre_pattern(cmd.regex, state, cmd)   # look-around, back-references: the regex package
    pattern = pcre if pcre is not None else regex_literal(cmd.regex, state, cmd)
    node = PcreExtract if pcre is not None else RegexExtract
    groups = capture_groups(cmd.regex)
    for name in dict.fromkeys(g for g in groups if g):
        # the PCRE path looks the group up by name in the regex package (which numbers groups
        # its own way: branch resets, comments); RE2 by the number capture_groups counts
        if pcre is not None:
            this_pattern, group = pattern, exp.Literal.string(name)
        else:
            this_pattern, number = group_pattern(pattern, groups.index(name) + 1)
            group = exp.Literal.number(number)
        value = node(this=source.copy(), expression=this_pattern.copy(), group=group)
        was_list = name in state.mv and name in state.columns
        _assign(state, name, _or_previous(state, name, value), mv=was_list)


def _or_previous(state: State, name: str, value: exp.Expression) -> exp.Expression:
    """The extracted value, else the field's value before rex (when the field exists). A field
    that held lists (values() of a stats) keeps its list where nothing matched; a match gives
    the one value, as a one-value list (the column's type)."""
    if name not in state.columns and not state.has_raw():
        return value
    if name in state.mv and name in state.columns:
        return exp.Coalesce(this=mv((value, "str")), expressions=[state.field(name)])
    return exp.Coalesce(this=value, expressions=[state.field(name)])


def capture_groups(pattern: str) -> list[str | None]:
    """Names (None when unnamed) of the capturing groups of a regex, in order."""
    from speleo.spl.regexwalk import structural

    out: list[str | None] = []
    for i in structural(pattern):
        if pattern[i] == "(":
            m = _GROUP.match(pattern, i)
            if m:
                out.append(m.group(1))
            elif not pattern.startswith("(?", i):
                out.append(None)
    return out


def parse_fillnull(cur: Cursor, word: Token) -> ast.FillnullCmd:
    """Splunk Search Reference: fillnull. `fillnull [value=V] [f1 f2 ...]` (default 0); `value=`
    may also follow the field list (`fillnull f1 f2 value=X`), as real searches write it."""
    fields, opts = cur.fields_and_options({"value"}, "")
    return ast.FillnullCmd(opts["value"].value if "value" in opts else "0", fields)


def _compile_rex_multi(state: State, cmd: ast.RexCmd) -> None:
    """rex max_match=N (0 = no limit): each named group becomes a multivalue field (a list of
    every match, at most N), null when nothing matches."""
    if cmd.max_match < 0:
        raise state.fail("rex max_match must not be negative", cmd)
    source = text(state.field(cmd.field))
    pcre = pcre_pattern(cmd.regex, state, cmd)   # look-around, back-references: the regex package
    pattern = pcre if pcre is not None else regex_literal(cmd.regex, state, cmd)
    groups = capture_groups(cmd.regex)
    empty = exp.Cast(this=exp.Array(expressions=[]), to=exp.DataType.build("VARCHAR[]"))
    for name in dict.fromkeys(g for g in groups if g):
        index = groups.index(name) + 1
        if pcre is not None:
            value = PcreExtractAll(this=source.copy(), expression=pattern.copy(), group=exp.Literal.string(name))
        else:
            value = exp.Anonymous(this="regexp_extract_all", expressions=[source.copy(), pattern.copy(),
                                                                         exp.Literal.number(index)])
        if cmd.max_match > 1:
            value = exp.Anonymous(this="list_slice", expressions=[value, exp.Literal.number(1),
                                                                  exp.Literal.number(cmd.max_match)])
        _assign(state, name, exp.Nullif(this=value, expression=empty.copy()), mv=True)
