"""SPL parser: query text -> ast.Pipeline (Splunk Search Reference: "Search command primer").

The first stage is an implicit `search` unless the query starts with `|`. Each
stage starts with a command word looked up in the COMMANDS table, whose entry
parses the stage's arguments.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping

from speleo.errors import SplSyntaxError, SplUnsupportedError
from speleo.spl import ast
from speleo.spl.commands import COMMANDS, SPLUNK_COMMANDS
from speleo.spl.cursor import Cursor
from speleo.spl.macros import MacroDef, expand_macros
from speleo.spl.savedsearch import expand_saved_searches
from speleo.spl.tokens import T, Segment, lex, split_pipeline


def parse(query: str, macros: Mapping[str, MacroDef] | None = None) -> ast.Pipeline:
    """Parse an SPL query (macros expanded first); errors are SplSyntaxError /
    SplUnsupportedError with spans in the expanded query."""
    if not isinstance(query, str):
        raise SplSyntaxError("the query must be text", "", 0)
    return parse_expanded(query, macros)[0]


def parse_expanded(query: str, macros: Mapping[str, MacroDef] | None = None) -> tuple[ast.Pipeline, str]:
    """`parse`, also returning the text the pipeline's positions refer to: the query with its
    macros and `| savedsearch` commands expanded (spl/savedsearch.py)."""
    if not isinstance(query, str):
        raise SplSyntaxError("the query must be text", "", 0)
    text = expand_saved_searches(expand_macros(query, macros), macros)
    return parse_range(text, 0, len(text)), text


def parse_range(text: str, start: int, end: int, leading_pipe: bool = False) -> ast.Pipeline:
    """Parse text[start:end] as a pipeline (a subsearch body); positions stay in `text`.
    `leading_pipe`: the first stage is a command, not an implicit search (appendpipe, foreach)."""
    commands: list[ast.Command] = []
    for index, seg in enumerate(split_pipeline(text, start, end)):
        cmd = _parse_segment(text, seg, index, leading_pipe, not commands)
        if cmd is not None:
            commands.append(cmd)
    if not commands:
        commands.append(ast.SearchCmd(None, start=start, end=start))
    return ast.Pipeline(commands, start=start, end=end)


def parse_subsearch(text: str, tok, leading_pipe: bool = False) -> ast.Subsearch:
    """A `[ ... ]` token (T.SUBSEARCH) -> ast.Subsearch with positions in the whole query."""
    pipeline = parse_range(text, tok.start + 1, tok.end - 1, leading_pipe)
    return ast.Subsearch(pipeline, start=tok.start, end=tok.end)


def _parse_segment(text: str, seg: Segment, index: int, leading_pipe: bool = False,
                   first_stage: bool = False) -> ast.Command | None:
    body = text[seg.start : seg.end]
    if not body.strip():
        if index == 0:
            return None
        raise SplSyntaxError("empty command after '|'", text, max(seg.start - 1, 0), seg.start)
    first = lex(text, seg.start, seg.end, "search")[0]
    word = first.value.lower() if first.kind is T.WORD else ""
    if index == 0 and not leading_pipe and not (word == "search" and first.kind is T.WORD):
        return _run_parser(text, "search", first.start, seg.end, first)
    if first.kind is not T.WORD:
        raise SplSyntaxError("expected a command name", text, first.start, first.end)
    return _run_parser(text, word, first.end, seg.end, first, first_stage)


GENERATING = frozenset({"tstats", "mstats", "inputlookup", "inputcsv", "makeresults", "multisearch", "metadata",
                        "eventcount", "datamodel", "from", "pivot", "dbinspect", "rest",
                        "loadjob"})


def _run_parser(text: str, word: str, start: int, end: int, first, first_stage: bool = False) -> ast.Command:
    spec = COMMANDS.get(word)
    if spec is None:
        raise _unknown_command(text, word, first)
    tokens = lex(text, start, end, spec.mode)
    if word != "search":  # search terms are text: a long run of digits is a term there
        _check_integers(text, word, tokens)
    cur = Cursor(text, tokens, word)
    node = spec.parse(cur, first)
    if word in GENERATING and not first_stage and str(getattr(node, "options", {}).get("append", "")).lower() \
            not in ("t", "true", "1"):
        raise SplSyntaxError(f"{word} is a generating command: it must be the first command "
                             "(after '|') unless append=true", text, first.start, first.end)
    if not cur.at_end():
        raise cur.error("unexpected argument")
    node.start = first.start
    node.end = max(end, first.end)
    return node


MAX_INTEGER = 2**63 - 1   # the engine's integers are 64-bit (DuckDB BIGINT)


def _check_integers(text: str, word: str, tokens) -> None:
    """An integer argument (head 20, top limit=5, eval x=3) past 64 bits cannot run: refuse it
    here, with its position, rather than let the engine fail on it."""
    for tok in tokens:
        if tok.kind in (T.WORD, T.NUMBER) and tok.value.isascii() and tok.value.isdigit() and int(tok.value) > MAX_INTEGER:
            raise SplSyntaxError(f"{word}: the number {tok.value} is too large (at most {MAX_INTEGER:,}); "
                                 "write a smaller one", text, tok.start, tok.end)


def _unknown_command(text: str, word: str, tok) -> SplSyntaxError:
    if word in SPLUNK_COMMANDS:
        return SplUnsupportedError(f"command {word!r} is not supported yet", text, tok.start, tok.end)
    close = difflib.get_close_matches(word, sorted(set(COMMANDS) | SPLUNK_COMMANDS), n=1)
    return SplSyntaxError(f"unknown command {word!r}", text, tok.start, tok.end,
                          suggestion=close[0] if close else None)
