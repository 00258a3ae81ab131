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
from speleo.spl.tokens import T, Segment, lex, split_pipeline


def parse(query: str, macros: Mapping[str, MacroDef] | None = None) -> ast.Pipeline:
    """Parse an SPL query (macros expanded first); errors are SplSyntaxError /
    SplUnsupportedError with spans in the expanded query."""
    if not isinstance(query, str):
        raise SplSyntaxError("the query must be text", "", 0)
    text = expand_macros(query, macros)
    segments = split_pipeline(text)
    commands: list[ast.Command] = []
    for index, seg in enumerate(segments):
        cmd = _parse_segment(text, seg, index)
        if cmd is not None:
            commands.append(cmd)
    if not commands:
        commands.append(ast.SearchCmd(None, start=0, end=0))
    return ast.Pipeline(commands, start=0, end=len(text))


def _parse_segment(text: str, seg: Segment, index: int) -> ast.Command | None:
    body = text[seg.start : seg.end]
    if not body.strip():
        if index == 0:
            return None
        raise SplSyntaxError("empty command after '|'", text, max(seg.start - 1, 0), seg.start)
    first = lex(text, seg.start, seg.end, "search")[0]
    word = first.value.lower() if first.kind is T.WORD else ""
    if index == 0 and not (word == "search" and first.kind is T.WORD):
        return _run_parser(text, "search", first.start, seg.end, first)
    if first.kind is not T.WORD:
        raise SplSyntaxError("expected a command name", text, first.start, first.end)
    return _run_parser(text, word, first.end, seg.end, first)


def _run_parser(text: str, word: str, start: int, end: int, first) -> ast.Command:
    spec = COMMANDS.get(word)
    if spec is None:
        raise _unknown_command(text, word, first)
    tokens = lex(text, start, end, spec.mode)
    cur = Cursor(text, tokens, word)
    node = spec.parse(cur, first)
    if not cur.at_end():
        raise cur.error("unexpected argument")
    node.start = first.start
    node.end = max(end, first.end)
    return node


def _unknown_command(text: str, word: str, tok) -> SplSyntaxError:
    if word in SPLUNK_COMMANDS:
        return SplUnsupportedError(f"command {word!r} is not supported yet", text, tok.start, tok.end)
    close = difflib.get_close_matches(word, sorted(set(COMMANDS) | SPLUNK_COMMANDS), n=1)
    return SplSyntaxError(f"unknown command {word!r}", text, tok.start, tok.end,
                          suggestion=close[0] if close else None)
