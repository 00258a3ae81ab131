"""Walking a regular expression's text: its structural characters, escapes and character
classes skipped (used to find groups without compiling the pattern)."""

from __future__ import annotations

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
