"""format and return: results as search text in a `search` field (Splunk Search Reference: format,
return), and how a subsearch ending with them filters the outer search."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlglot import exp

from speleo.spl import ast
from speleo.spl.commands.order import compile_head
from speleo.spl.cursor import Cursor
from speleo.spl.functions import text
from speleo.spl.state import State, ident, tbl
from speleo.spl.tokens import T, Token, is_digits


@dataclass
class ReturnCmd(ast.Command):
    """`return [N] f | alias=f | $f ...`: `items` are (alias, field, value_only)."""

    count: int = 1
    items: list = field(default_factory=list)


@dataclass
class FormatCmd(ast.Command):
    maxresults: int = 0
    emptystr: str = "NOT ( )"


def parse_return(cur: Cursor, word: Token) -> ReturnCmd:
    """Splunk Search Reference: return. `return [<count>] [<alias>=<field>...] [<field>...]
    [$<field>...]` (count default 1)."""
    count = 1
    if cur.peek().kind is T.WORD and is_digits(cur.peek().value):
        count = int(cur.next().value)
    items = []
    while not cur.at_end():
        if cur.accept(T.COMMA):
            continue
        tok = cur.next()
        if tok.kind is not T.WORD:
            raise cur.error("expected a field, alias=field or $field", tok)
        if cur.peek().kind is T.OP and cur.peek().value == "=":
            cur.next()
            items.append((tok.value, cur.name().value, False))
        elif tok.value.startswith("$") and len(tok.value) > 1:
            items.append((None, tok.value[1:], True))
        else:
            items.append((tok.value, tok.value, False))
    if not items:
        raise cur.error("return needs at least one field")
    return ReturnCmd(count=count, items=items, start=word.start, end=cur.peek().start)


def parse_format(cur: Cursor, word: Token) -> FormatCmd:
    """Splunk Search Reference: format. `format [maxresults=N] [emptystr=S]` (the row and column
    prefix/separator/end arguments are not supported)."""
    opts = cur.options({"maxresults", "emptystr"}, ignored=frozenset({"mvsep"}))
    if not cur.at_end():
        raise cur.unsupported("format's row and column prefix/separator arguments are not supported", cur.peek())
    node = FormatCmd(start=word.start, end=word.end)
    if "maxresults" in opts:
        node.maxresults = cur.integer(opts["maxresults"], "maxresults")
    if "emptystr" in opts:
        node.emptystr = opts["emptystr"].value
    return node


def _quoted(name: str, value: exp.Expression) -> exp.Expression:
    """`name="value"` with `\\` and `"` escaped in the value (null when the value is)."""
    escaped = exp.Anonymous(this="replace", expressions=[
        exp.Anonymous(this="replace", expressions=[text(value), exp.Literal.string("\\"), exp.Literal.string("\\\\")]),
        exp.Literal.string('"'), exp.Literal.string('\\"')])
    return exp.DPipe(this=exp.DPipe(this=exp.Literal.string(f'{name}="'), expression=escaped),
                     expression=exp.Literal.string('"'))


def _agg_in_order(state: State, row: exp.Expression, sep: str) -> exp.Expression:
    state.protect_order(None)
    sep_arg: exp.Expression = exp.Literal.string(sep)
    if state.order:
        key = state.order[0]
        sep_arg = exp.Order(this=sep_arg, expressions=[exp.Ordered(this=key.this.copy(), desc=key.args.get("desc"))])
    return exp.Anonymous(this="string_agg", expressions=[row, sep_arg])


def _become_search(state: State, value: exp.Expression) -> None:
    state.wrap()
    src = state.select.args["from_"].this.copy()
    state.select = exp.select(exp.alias_(value, ident("search"))).from_(tbl(src))
    state.columns, state.mv = ["search"], set()
    state.order, state.order_cols, state.hidden_ord = None, set(), False
    state.events = False
    state.transforming = True


def compile_return(state: State, cmd: ReturnCmd) -> None:
    """One result whose `search` field is the first `count` results as search text: `f="v"`
    (`alias="v"`; `$f`: the value alone), the fields of one result separated by blanks; with a
    count above 1 each result in parentheses, joined by OR: `(user="a") OR (user="b")`."""
    compile_head(state, ast.HeadCmd(cmd.count, start=cmd.start, end=cmd.end))
    parts = [text(state.field(f)) if dollar else _quoted(alias, state.field(f)) for alias, f, dollar in cmd.items]
    row = exp.Anonymous(this="concat_ws", expressions=[exp.Literal.string(" "), *parts])
    if cmd.count > 1:
        row = exp.DPipe(this=exp.DPipe(this=exp.Literal.string("("), expression=row), expression=exp.Literal.string(")"))
    _become_search(state, exp.Coalesce(this=_agg_in_order(state, row, " OR "), expressions=[exp.Literal.string("")]))


def compile_format(state: State, cmd: FormatCmd) -> None:
    """One result whose `search` field is `( ( f1="v1" AND f2="v2" ) OR ( ... ) )` over the fields
    known when compiling (those starting with `_` left out, a missing value left out of its
    row; the values of a `search` or `query` field written as they are, Search Manual "Change
    the format of subsearch results"); `emptystr` (default `NOT ( )`) when there are no results."""
    names = [c for c in state.columns if not c.startswith("_")]
    if cmd.maxresults > 0:
        compile_head(state, ast.HeadCmd(cmd.maxresults, start=cmd.start, end=cmd.end))
    parts = [text(state.field(n)) if n in ("search", "query") else _quoted(n, state.field(n)) for n in names]
    inner = exp.Anonymous(this="concat_ws", expressions=[exp.Literal.string(" AND "), *parts]) if parts \
        else exp.Literal.string("")
    row = exp.DPipe(this=exp.DPipe(this=exp.Literal.string("( "), expression=inner), expression=exp.Literal.string(" )"))
    rows = _agg_in_order(state, row, " OR ")
    whole = exp.DPipe(this=exp.DPipe(this=exp.Literal.string("( "), expression=rows), expression=exp.Literal.string(" )"))
    _become_search(state, exp.Coalesce(this=whole, expressions=[exp.Literal.string(cmd.emptystr)]))


def as_filter(pipeline: ast.Pipeline):
    """A subsearch used as a filter that ends with `format` or `return`: the same filter as the
    rows before it (format) or their first N results renamed to the aliases (return), so the
    outer search compares fields rather than re-reading search text. Returns (the pipeline
    without that command, a function finishing the compiled State). `return $f` (bare values)
    is left as it is (the caller refuses its `search` field)."""
    from speleo.spl.commands.evalcmd import compile_eval
    from speleo.spl.commands.fields import compile_table

    cmds = list(pipeline.commands)
    last = cmds[-1] if len(cmds) > 1 else None
    head = None
    if isinstance(last, FormatCmd):
        head = last.maxresults if last.maxresults > 0 else None

        def finish(state: State) -> None:
            if head is not None:
                compile_head(state, ast.HeadCmd(head, start=last.start, end=last.end))
    elif isinstance(last, ReturnCmd) and not any(d for _a, _f, d in last.items):
        aliases = [a for a, _f, _d in last.items]
        tmp = [f"__speleo_r{i}" for i in range(len(aliases))]

        def finish(state: State) -> None:
            compile_head(state, ast.HeadCmd(last.count, start=last.start, end=last.end))
            compile_eval(state, ast.EvalCmd([(t, ast.Field(f)) for t, (_a, f, _d) in zip(tmp, last.items)]))
            compile_eval(state, ast.EvalCmd([(a, ast.Field(t)) for a, t in zip(aliases, tmp)]))
            compile_table(state, ast.TableCmd(list(dict.fromkeys(aliases))))
    else:
        return pipeline, None
    return ast.Pipeline(cmds[:-1], start=pipeline.start, end=pipeline.end), finish
