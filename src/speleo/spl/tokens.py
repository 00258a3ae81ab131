"""SPL tokenizer: splits a query into pipeline segments and lexes each segment.

SPL is lexed in two modes. *Search mode* (search terms and most command arguments)
treats any run of characters other than blanks, parentheses, quotes, commas and
comparison operators as one word, so `-24h`, `10.0.0.0/8` and `fail*` stay whole.
*Expression mode* (eval and where) lexes numbers, identifiers and operators, so
`a-b` is a subtraction. Splunk Search Reference: "About the search language".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from speleo.errors import SplSyntaxError


class T(str, Enum):
    """Token kinds."""

    WORD = "WORD"        # a bare word (search mode) or an identifier (expression mode)
    STRING = "STRING"    # a double-quoted string, unescaped
    FIELD = "FIELD"      # a single-quoted field name (expression mode)
    NUMBER = "NUMBER"    # expression mode only
    OP = "OP"            # = == != < <= > >= + - * / % .
    LPAREN = "("
    RPAREN = ")"
    COMMA = ","
    SUBSEARCH = "["      # a whole [ ... ] subsearch, value = inner text
    EOF = "EOF"


@dataclass(frozen=True)
class Token:
    """One token with its 0-based character span in the (macro-expanded) query."""

    kind: T
    value: str
    start: int
    end: int

    def is_word(self, *words: str) -> bool:
        """True for an unquoted word equal (case-insensitively) to one of `words`."""
        return self.kind is T.WORD and self.value.lower() in words


@dataclass(frozen=True)
class Segment:
    """The text of one pipeline stage: query[start:end]."""

    start: int
    end: int


_SEARCH_OPS = ("!=", "<=", ">=", "==", "=", "<", ">")
_EXPR_OPS = ("!=", "<=", ">=", "==", "=", "<", ">", "+", "-", "*", "/", "%", ".", "!")
_SEARCH_STOP = set(" \t\r\n()\",=<>[]")
_NUMBER = re.compile(r"(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_IDENT = re.compile(r"[A-Za-z_@$][A-Za-z0-9_.:@$]*|[A-Za-z0-9_]+")


def is_digits(text: str) -> bool:
    """True for a non-empty run of ASCII digits 0-9 only. `str.isdigit()` also accepts '²' or
    Arabic-Indic digits, which `int()` then rejects or reads as numbers SPL does not know."""
    return text.isascii() and text.isdigit()


def split_pipeline(query: str, begin: int = 0, stop: int | None = None) -> list[Segment]:
    """Split query[begin:stop] at top-level `|` (outside quotes, brackets and parentheses)."""
    stop = len(query) if stop is None else stop
    segments, depth, start, i = [], 0, begin, begin
    while i < stop:
        ch = query[i]
        if ch == '"' or (ch == "'" and _opens_field_quote(query, i)):
            i = _skip_quoted(query, i)
            continue
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth = max(0, depth - 1)
        elif ch == "|" and depth == 0:
            segments.append(Segment(start, i))
            start = i + 1
        i += 1
    segments.append(Segment(start, stop))
    return segments


def _opens_field_quote(text: str, i: int) -> bool:
    """A `'` opens a quoted field name only at a token start and when it is closed (`don't` is a word)."""
    if i > 0 and (text[i - 1].isalnum() or text[i - 1] == "_"):
        return False
    return text.find("'", i + 1) != -1


def _skip_quoted(text: str, i: int) -> int:
    """Index just past the quoted string opening at `i` (backslash escapes honoured)."""
    quote, j = text[i], i + 1
    while j < len(text):
        if text[j] == "\\":
            j += 2
            continue
        if text[j] == quote:
            return j + 1
        j += 1
    raise SplSyntaxError("unterminated quoted string", text, i, len(text))


def _unescape(body: str) -> str:
    """Splunk string escapes: backslash before a quote or a backslash drops the backslash."""
    return re.sub(r'\\(["\\\'])', r"\1", body)


def _lex_bracket(text: str, i: int) -> int:
    """Index just past the `]` closing the subsearch opening at `i`."""
    depth, j = 0, i
    while j < len(text):
        ch = text[j]
        if ch == '"':
            j = _skip_quoted(text, j)
            continue
        depth += ch == "["
        depth -= ch == "]"
        j += 1
        if depth == 0:
            return j
    raise SplSyntaxError("unterminated subsearch '['", text, i, len(text))


def lex(query: str, start: int, end: int, mode: str = "search") -> list[Token]:
    """Lex query[start:end] in "search" or "expr" mode; ends with an EOF token."""
    tokens: list[Token] = []
    i = start
    while i < end:
        ch = query[i]
        if ch.isspace():
            i += 1
            continue
        tok = _lex_one(query, i, end, mode)
        tokens.append(tok)
        i = tok.end
    tokens.append(Token(T.EOF, "", end, end))
    return tokens


def _lex_one(query: str, i: int, end: int, mode: str) -> Token:
    ch = query[i]
    simple = {"(": T.LPAREN, ")": T.RPAREN, ",": T.COMMA}
    if ch in simple:
        return Token(simple[ch], ch, i, i + 1)
    if ch == '"':
        j = min(_skip_quoted(query, i), end)
        return Token(T.STRING, _unescape(query[i + 1 : j - 1]), i, j)
    if ch == "[":
        j = _lex_bracket(query, i)
        return Token(T.SUBSEARCH, query[i + 1 : j - 1], i, j)
    if mode == "expr":
        return _lex_expr(query, i, end)
    return _lex_search(query, i, end)


def _lex_search(query: str, i: int, end: int) -> Token:
    for op in _SEARCH_OPS:
        if query.startswith(op, i):
            return Token(T.OP, op, i, i + len(op))
    j = i
    while j < end and query[j] not in _SEARCH_STOP:
        if query[j] == "!" and query.startswith("!=", j):
            break
        j += 1
    if j == i:
        raise SplSyntaxError(f"unexpected character {query[i]!r}", query, i, i + 1)
    return Token(T.WORD, query[i:j], i, j)


def _lex_expr(query: str, i: int, end: int) -> Token:
    ch = query[i]
    if ch == "'":
        j = min(_skip_quoted(query, i), end)
        return Token(T.FIELD, _unescape(query[i + 1 : j - 1]), i, j)
    m = _NUMBER.match(query, i, end)
    if m and not (ch == "." and not m.group(0)[1:2].isdigit()):
        ident = _IDENT.match(query, i, end)
        if not ident or ident.end() <= m.end():
            return Token(T.NUMBER, m.group(0), i, m.end())
    m = _IDENT.match(query, i, end)
    if m:
        return Token(T.WORD, m.group(0).rstrip("."), i, i + len(m.group(0).rstrip(".")))
    for op in _EXPR_OPS:
        if query.startswith(op, i):
            return Token(T.OP, op, i, i + len(op))
    raise SplSyntaxError(f"unexpected character {ch!r}", query, i, i + 1)
