"""Walking a regular expression's text: its structural characters, escapes and character
classes skipped (used to find groups without compiling the pattern)."""

from __future__ import annotations

import re
from collections.abc import Iterator


def structural(pattern: str, start: int = 0) -> Iterator[int]:
    """Offsets of the characters of `pattern` from `start` that are neither escaped (`\\(`, a
    braced escape as `\\p{Greek}` whole) nor inside a character class (`[(]`, `[]()]`); the
    class's opening `[` is included."""
    i, in_class = start, False
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            # an escape with a braced argument (\x{263A}, \p{Greek}, \P{L}, \N{...}) is one unit
            if pattern[i + 1:i + 2] in ("x", "p", "P", "N") and pattern[i + 2:i + 3] == "{":
                close = pattern.find("}", i + 3)
                i = close + 1 if close != -1 else i + 2
                continue
            i += 2
            continue
        if in_class:
            in_class = c != "]"
        else:
            yield i
            if c == "[":   # a `]` first in the class (after an optional `^`) is literal: `[]()]`
                in_class = True
                i += 2 if pattern[i + 1:i + 3] == "^]" else 1 if pattern[i + 1:i + 2] == "]" else 0
        i += 1


_NAMED = re.compile(r"\(\?(?:P?<([A-Za-z_][A-Za-z0-9_]*)>|'([A-Za-z_][A-Za-z0-9_]*)')")


def only_group(pattern: str, keep: int) -> str:
    """`pattern` with every capturing group but the `keep`-th (1-based, in the order groups
    open) made non-capturing, so that group is group 1; what the pattern matches is unchanged
    (for patterns without back-references, which name groups by number). RE2, as DuckDB runs
    it, extracts groups 0 to 9 only: a later group is read as group 1 of this pattern."""
    out, last, n = [], 0, 0
    for i in structural(pattern):
        if pattern[i] != "(":
            continue
        m = _NAMED.match(pattern, i)
        if m is None and pattern.startswith("(?", i):
            continue   # non-capturing, look-around, flags
        n += 1
        out += [pattern[last:i], "(" if n == keep else "(?:"]
        last = m.end() if m else i + 1
    if keep > n:
        raise ValueError(f"the pattern has {n} capturing groups, not {keep}")
    return "".join(out) + pattern[last:]
