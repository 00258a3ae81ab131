"""Search macro expansion (Splunk Search Reference: "Use search macros in searches").

A macro call is `` `name` `` or `` `name(arg1, arg2)` ``; a macro with arguments is
looked up as ``name(N)`` (as in macros.conf) or by its plain name when its argument
count matches, and ``$arg$`` in its definition is replaced by the argument text.
Expansion is textual and recursive (depth-limited), as in Splunk.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from speleo.errors import SplSyntaxError

MAX_DEPTH = 20
_COMMENT = re.compile(r"```.*?```", re.S)
_CALL = re.compile(r"`([^`(]+?)\s*(?:\((.*?)\))?\s*`", re.S)


@dataclass(frozen=True)
class MacroDef:
    """One macro: its definition text and its argument names (empty when none)."""

    name: str
    definition: str
    args: tuple[str, ...] = field(default=())


def macro_table(records: Iterable[Mapping]) -> dict[str, MacroDef]:
    """Build a lookup table from records with name, definition and arguments keys."""
    table: dict[str, MacroDef] = {}
    for rec in records:
        args = tuple(rec.get("arguments") or ())
        name = str(rec["name"])
        key = f"{name}({len(args)})" if args and "(" not in name else name
        table[key] = MacroDef(name.split("(")[0], str(rec.get("definition") or ""), args)
    return table


def expand_macros(query: str, macros: Mapping[str, MacroDef] | None) -> str:
    """Expand every macro call; an unknown macro is a syntax error at its position.

    Triple-backtick comments (```...```) are removed first, as Splunk does."""
    query = strip_comments(query)
    for _ in range(MAX_DEPTH):
        if "`" not in _mask_quoted(query):
            return query
        query = strip_comments(_expand_once(query, macros or {}))
    if "`" in _mask_quoted(query):
        raise SplSyntaxError("macro expansion is too deep (recursive macro?)", query, _mask_quoted(query).index("`"))
    return query


def _mask_quoted(query: str) -> str:
    """The query with every backtick inside a double-quoted string replaced by NUL (same length):
    Splunk does not expand a macro written inside a quoted string (`eval s="`x`"` keeps it)."""
    out, quoted, i = list(query), False, 0
    while i < len(query):
        ch = query[i]
        if quoted and ch == "\\":
            i += 2
            continue
        if ch == '"':
            quoted = not quoted
        elif ch == "`" and quoted:
            out[i] = "\0"
        i += 1
    return "".join(out)


def strip_comments(query: str) -> str:
    """Blank out ```comments``` (kept as spaces so positions do not move)."""
    return _COMMENT.sub(lambda m: " " * len(m.group(0)), query)


def _expand_once(query: str, macros: Mapping[str, MacroDef]) -> str:
    out, pos = [], 0
    masked = _mask_quoted(query)
    for m in _CALL.finditer(masked):
        out.append(query[pos : m.start()])
        out.append(_expand_call(query, m, macros))
        pos = m.end()
    if pos == 0 and "`" in masked:
        i = masked.index("`")
        raise SplSyntaxError("unterminated macro call '`'", query, i, len(query))
    out.append(query[pos:])
    return "".join(out)


def _expand_call(query: str, m: re.Match, macros: Mapping[str, MacroDef]) -> str:
    name = m.group(1).strip()
    args = _split_args(m.group(2).replace("\0", "`")) if m.group(2) is not None else []
    macro = macros.get(f"{name}({len(args)})") if args else macros.get(name)
    if macro is None and args:
        macro = macros.get(name)
    if macro is None or len(macro.args) != len(args):
        raise SplSyntaxError(f"unknown search macro {name!r}", query, m.start(), m.end())
    text = macro.definition
    for arg_name, value in zip(macro.args, args):
        text = text.replace(f"${arg_name}$", value)
    return text


def _split_args(text: str) -> list[str]:
    """Split macro arguments at top-level commas; surrounding quotes are removed."""
    parts, depth, cur, quote = [], 0, [], False
    for ch in text:
        if ch == '"':
            quote = not quote
        elif not quote and ch in "([":
            depth += 1
        elif not quote and ch in ")]":
            depth -= 1
        elif ch == "," and depth == 0 and not quote:
            parts.append("".join(cur))
            cur = []
            continue
        cur.append(ch)
    parts.append("".join(cur))
    return [_unquote(p.strip()) for p in parts]


def _unquote(text: str) -> str:
    if len(text) >= 2 and text[0] == text[-1] == '"':
        return text[1:-1]
    return text
