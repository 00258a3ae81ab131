"""Walking a regular expression's text: its structural characters, escapes and character
classes skipped (used to find groups without compiling the pattern)."""

from __future__ import annotations

from collections.abc import Iterator


def structural(pattern: str, start: int = 0) -> Iterator[int]:
    """Offsets of the characters of `pattern` from `start` that are neither escaped (`\\(`) nor
    inside a character class (`[(]`); the class's opening `[` is included."""
    i, in_class = start, False
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            i += 2
            continue
        if in_class:
            in_class = c != "]"
        else:
            if c == "[":
                in_class = True
            yield i
        i += 1
