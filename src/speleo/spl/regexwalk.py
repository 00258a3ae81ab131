"""Walking a regular expression's text: its structural characters, escapes and character
classes skipped (used to find groups without compiling the pattern)."""

from __future__ import annotations

from collections.abc import Iterator


def structural(pattern: str, start: int = 0) -> Iterator[int]:
    """Offsets of the characters of `pattern` from `start` that are neither escaped (`\\(`) nor
    inside a character class (`[(]`, `[]()]`); the class's opening `[` is included."""
    i, in_class = start, False
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
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
