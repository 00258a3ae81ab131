"""Subsearches whose results are search text: run first, their text parsed as search terms.

Splunk Search Manual, "About subsearches" (9.x): the subsearch runs first, as a search job of
its own, and its results become part of the outer search's text. "Change the format of
subsearch results": the `format` command is implicitly applied to the results, a row becoming
`(field1=val1 AND field2=val2)` and the rows joined by OR; fields starting with `_` are left out,
and "if the name of a field is either search or query, the values of fields are rendered
directly in the reformatted search string". Splunk Search Reference: return (`return $field`
gives the value alone, in a `search` field), format. Subsearch limits (limits.conf
`[subsearch]`): at most `maxout` = 10,000 results, `maxtime` = 60 s.

Most subsearches in a search are compiled to SQL (`commands/combine.py` `subsearch_condition`:
EXISTS over the subsearch, no value is pasted into the search). Only a subsearch whose results
have a `search` or `query` field (`return $x`, `eval search=...`, `rename x AS query`) or an
`earliest`/`latest` field (the time range a subsearch picks) needs its results before the outer
search means anything: `resolve` runs it through the caller's `CompileContext.run_subsearch`
(the query layer: `query/subsearches.py`), then puts in its place in the syntax tree what its rows
say, innermost subsearches first. A subsearch that writes a lookup or CSV file (`outputlookup`,
`outputcsv`: steps after the search, query/post.py) runs first too, as the search job of its own
Splunk runs: it writes the file, and its results (those of the commands after `outputlookup`)
filter the outer search through the implicit format. The runner checks the searcher's right to
write the file (edit_lookups) before it runs (query/subsearches.py).

The text of a `search`/`query` value is parsed on its own by the search expression grammar and
nothing else: it can hold terms, phrases, `field=value`, `AND`/`OR`/`NOT`, parentheses,
`earliest=`/`latest=`, but never a command. `|` is an ordinary character of a term there, `[` and
`]` too (no subsearch), backticks are not macros, and the outer search's text is never lexed
again: data cannot add commands to a search someone runs (the rule map follows too). The nodes
it gives carry the subsearch's span, so an error in them points at the subsearch.
"""

from __future__ import annotations

import dataclasses

from speleo.errors import SplError, SplSyntaxError, SplUnsupportedError
from speleo.spl import ast
from speleo.spl.cursor import Cursor
from speleo.spl.tokens import T, Token, _skip_quoted, lex

SUBSEARCH_MAXOUT = 10_000       # limits.conf [subsearch] maxout (as combine.SUBSEARCH_MAXOUT)
MAX_TEXT_VALUES = 1_000         # values a text subsearch may put into its search (each compiles as a term)
MAX_TEXT_BYTES = 256 * 1024     # and bytes of search text
RAW_FIELDS = ("search", "query")   # their values are search text (format's exceptions)
TIME_FIELDS = ("earliest", "latest")   # their values are the time range: `earliest=<value>` in the text
_MASK = {"[": "\ue000", "]": "\ue001"}   # private-use characters: word characters to the search lexer


def resolve(pipeline: ast.Pipeline, text: str, ctx) -> tuple[ast.Pipeline, list[str]]:
    """`pipeline` with every subsearch of a search expression whose results are search text
    replaced by what its results say (run through `ctx.run_subsearch`), and the messages for
    the searcher (results past `maxout` left out). Without `ctx.run_subsearch` the pipeline is
    returned as it is (`subsearch_condition` then refuses such a subsearch)."""
    notes: list[str] = []
    if getattr(ctx, "run_subsearch", None) is None or not ast.contains(pipeline, (ast.Subsearch,)):
        return pipeline, notes
    _walk(pipeline, text, ctx, notes)
    return pipeline, notes


def _walk(node, text: str, ctx, notes: list[str]) -> None:
    """Resolve in place, depth first: a subsearch's own subsearches before the subsearch."""
    if isinstance(node, list):
        for x in node:
            _walk(x, text, ctx, notes)
        return
    if not isinstance(node, ast.Node):
        return
    if isinstance(node, ast.SearchCmd):
        node.expr = _in_expr(node.expr, text, ctx, notes)
        return
    for f in dataclasses.fields(node):
        _walk(getattr(node, f.name), text, ctx, notes)


def _in_expr(node, text: str, ctx, notes: list[str]):
    """A search expression with its text-giving subsearches replaced."""
    if isinstance(node, ast.Subsearch):
        _walk(node.pipeline, text, ctx, notes)
        if writes_file(node, text, ctx):
            return _resolved(node, text, ctx, notes, top_level=True)
        return _resolved(node, text, ctx, notes) if gives_text(node, text, ctx) else node
    if isinstance(node, (ast.And, ast.Or)):
        node.items = [_in_expr(i, text, ctx, notes) for i in node.items]
    elif isinstance(node, ast.Not):
        node.item = _in_expr(node.item, text, ctx, notes)
    return node


def gives_text(sub: ast.Subsearch, text: str, ctx) -> bool:
    """Whether the subsearch's results have a `search`, `query`, `earliest` or `latest` field
    (its results as a filter, after `subsearch_condition`'s reading of a final format/return)."""
    from speleo.spl.commands.returns import as_filter
    from speleo.spl.compiler import build_state

    pipeline, finish = as_filter(sub.pipeline)
    try:
        inner = build_state(pipeline, text, ctx)[0]
        if finish is not None:
            finish(inner)
    except SplError:     # the search's own compile says what is wrong, where
        return False
    names = {c for c in inner.columns if not c.startswith("_")}
    return bool(names & set(RAW_FIELDS + TIME_FIELDS))


FILE_WRITERS = ("outputlookup", "outputcsv")
SINKS = ("collect", "sendemail")   # still refused inside a subsearch


def _post_kinds(steps: list[dict]) -> list[str]:
    """The kinds of post steps, also those kept after another post step (a "pipeline" step's probe)."""
    out: list[str] = []
    for step in steps:
        out.append(step["kind"])
        probe = step.get("probe")
        out += _post_kinds(getattr(probe, "post", None) or [])
    return out


def writes_file(sub: ast.Subsearch, text: str, ctx) -> bool:
    """Whether the subsearch writes a lookup or CSV file (and indexes or mails nothing): such a
    subsearch runs first, as its own search (Splunk Search Manual, "About subsearches")."""
    from speleo.spl.compiler import build_state

    if not any(isinstance(c, ast.ArgsCmd) and c.name in FILE_WRITERS for c in sub.pipeline.commands):
        return False
    try:
        inner = build_state(sub.pipeline, text, ctx, top_level=True)[0]
    except SplError:     # the search's own compile says what is wrong, where
        return False
    kinds = _post_kinds(inner.post)
    return any(k in FILE_WRITERS for k in kinds) and not any(k in SINKS for k in kinds)


def _resolved(sub: ast.Subsearch, text: str, ctx, notes: list[str], top_level: bool = False) -> ast.Node:
    """Run the subsearch (a final `format` is the formatting below, after `maxresults` rows)
    and return the search its rows stand for, placed at the subsearch. `top_level`: compiled as
    a search of its own, with its steps after the search (the runner carries them out)."""
    from speleo.spl.commands.returns import FormatCmd
    from speleo.spl.compiler import compile_pipeline

    pipeline, keep = sub.pipeline, SUBSEARCH_MAXOUT
    last = pipeline.commands[-1]
    if len(pipeline.commands) > 1 and isinstance(last, FormatCmd):
        pipeline = ast.Pipeline(pipeline.commands[:-1], start=pipeline.start, end=pipeline.end)
        keep = min(keep, last.maxresults) if last.maxresults > 0 else keep
    compiled = compile_pipeline(pipeline, text, ctx, top_level=top_level)
    if compiled.post and not top_level:
        raise SplUnsupportedError(f"{compiled.post[0]['kind']} inside a subsearch is not supported (it runs on the "
                                  "result after the search)", text, sub.start, sub.end)
    rows, truncated = ctx.run_subsearch(compiled, SUBSEARCH_MAXOUT)
    if truncated:
        notes.append(f"a subsearch gave more than {SUBSEARCH_MAXOUT:,} results: the first {SUBSEARCH_MAXOUT:,} "
                     "were used (Splunk's subsearch maxout)")
    return at_span(formatted(rows[:keep], text, sub), sub.start, sub.end)


def formatted(rows: list[dict], text: str, sub: ast.Node) -> ast.Node:
    """The search the rows stand for, as the implicit `format` writes it: per row the AND of
    `field="value"` (a multivalue field: its values OR-ed), the `search`/`query` values parsed
    as search text, `earliest`/`latest` as the time range; the rows OR-ed. Fields starting with
    `_` and empty values are left out, so is a row left with nothing, and a row the same as an
    earlier one (the OR is the same without it); no row left: a search matching nothing
    (Splunk's `emptystr` default `NOT ( )`). More than MAX_TEXT_VALUES values or MAX_TEXT_BYTES
    of text is refused (SplUnsupportedError): each value compiles as a term of the search."""
    out, seen = [], set()
    values = size = 0
    for row in rows:
        kept = [(name, value) for name, value in row.items() if not name.startswith("_")]
        key = repr(kept)
        if key in seen:
            continue
        seen.add(key)
        for _name, value in kept:
            for v in (value if isinstance(value, list) else [value]):
                values += 1
                size += len(_cell(v)) if v is not None else 0
        if values > MAX_TEXT_VALUES or size > MAX_TEXT_BYTES:
            raise SplUnsupportedError(
                f"a subsearch whose results are search text gave more than {MAX_TEXT_VALUES:,} values or "
                f"{MAX_TEXT_BYTES // 1024} KB of text to search for (each becomes a term of the search): narrow it, "
                "or match its results with a lookup or a join", text, sub.start, sub.end)
        parts = [p for name, value in kept for p in [_part(name, value, text, sub)] if p is not None]
        if parts:
            out.append(parts[0] if len(parts) == 1 else ast.And(parts))
    if len(out) == 1:
        return out[0]
    return ast.Or(out)          # none: an empty OR, which matches nothing


def _part(name: str, value, text: str, sub: ast.Node) -> ast.Node | None:
    values = [v for v in (value if isinstance(value, list) else [value]) if v is not None and _cell(v) != ""]
    if not values:
        return None
    if name in RAW_FIELDS:
        nodes = [n for n in (search_terms(_cell(v), text, sub) for v in values) if n is not None]
    elif name in TIME_FIELDS:
        nodes = [ast.TimeBound(name, _cell(values[0]))]     # one range: the first value
    else:
        nodes = [ast.FieldCmp(name, "=", _cell(v), True) for v in values]
    if not nodes:
        return None
    return nodes[0] if len(nodes) == 1 else ast.Or(nodes)


def search_terms(value: str, text: str, sub: ast.Node) -> ast.Node | None:
    """`value` parsed as a search expression only (None when blank). `[`/`]` are read as
    characters of a term, `|` already is one in the search grammar, and nothing else of the
    query is lexed: the value can add no command and no subsearch. A value that does not parse
    (a quote or a parenthesis left open) is an error at the subsearch, quoting the value."""
    from speleo.spl.exprparse import parse_search_expr

    if not value.strip():
        return None
    try:
        masked = _masked(value)
        tokens = [Token(t.kind, value[t.start:t.end], t.start, t.end) if t.kind is T.WORD else t
                  for t in lex(masked, 0, len(masked), "search")]
        return parse_search_expr(Cursor(value, tokens, "search"))
    except SplError as e:
        raise SplSyntaxError(f"the search text a subsearch returned does not parse ({e.message}): "
                             f"{value[:200]!r}", text, sub.start, sub.end) from None


def _masked(value: str) -> str:
    """`value` with `[` and `]` outside double-quoted strings replaced by word characters of
    the same length (positions unchanged)."""
    out, i = [], 0
    while i < len(value):
        if value[i] == '"':
            j = _skip_quoted(value, i)
            out.append(value[i:j])
            i = j
            continue
        out.append(_MASK.get(value[i], value[i]))
        i += 1
    return "".join(out)


def at_span(node, start: int, end: int):
    """`node` with every node in it placed at [start, end) (the subsearch it came from)."""
    if isinstance(node, list):
        for x in node:
            at_span(x, start, end)
    elif isinstance(node, ast.Node):
        node.start, node.end = start, end
        for f in dataclasses.fields(node):
            at_span(getattr(node, f.name), start, end)
    return node


def _cell(v) -> str:
    """A result value as search text (whole floats without decimals, booleans as true/false)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)

