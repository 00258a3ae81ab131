"""`| savedsearch <name> [<key>=<value>]... [nosubstitution=<bool>]` and `| from savedsearch:<name>`
(Splunk Search Reference: savedsearch, from): the saved search's text in place of the command.

Expansion is textual, after macros and before parsing, as macros are: the command must start a
search or a subsearch (it is a generating command), and the rest of the pipeline runs on the
saved search's results. `$key$` in the saved text is replaced by the value given as `key=value`
(unless `nosubstitution=true`); a `$key$` left without a value is an error that names it. A saved
search may itself start with `| savedsearch` (up to MAX_DEPTH levels; a cycle is an error).
The search runs with the time range of the search that calls it (Splunk's savedsearch uses the
saved search's dispatch times only when the caller gives none; Speleo always has a range), and
with the caller's indexes and limits.

The saved searches come from `macros.saved_search(name) -> text` (query.macrostore.MacroTable,
the home's operations database); without one, the command is an error.
"""

from __future__ import annotations

import re

from speleo.errors import SpeleoError, SplSyntaxError, SplUnsupportedError
from speleo.spl.macros import expand_macros

MAX_DEPTH = 10
_START = re.compile(r"\s*\|\s*(savedsearch\b|from\s+savedsearch:)", re.I)
_PAIR = re.compile(r'\s*([A-Za-z_][\w.]*)\s*=\s*("(?:[^"\\]|\\.)*"|[^\s|\]]+)')
_NAME = re.compile(r'\s*("(?:[^"\\]|\\.)*"|[^\s|\]=]+)')
_TOKEN = re.compile(r"\$([A-Za-z_][\w.]*)\$")


def _unquoted(text: str, start: int = 0):
    """(offset, character) of each character of `text` from `start` outside double quotes."""
    quoted, i = False, start
    while i < len(text):
        c = text[i]
        if c == "\\" and quoted:
            i += 2
            continue
        if c == '"':
            quoted = not quoted
        elif not quoted:
            yield i, c
        i += 1


def _starts(text: str) -> list[int]:
    """Offsets where a search or subsearch begins (the start of the text, after each `[`),
    outside quoted strings."""
    return [0] + [i + 1 for i, c in _unquoted(text) if c == "["]


def _command_end(text: str, start: int) -> int:
    """The end of the command starting at `start`: the next `|` or the `]` closing its
    subsearch, outside quotes and nested brackets."""
    depth = 0
    for i, c in _unquoted(text, start):
        if c == "[":
            depth += 1
        elif c == "]":
            if depth == 0:
                return i
            depth -= 1
        elif c == "|" and depth == 0:
            return i
    return len(text)


def _quoted(name: str) -> str:
    return name if re.fullmatch(r"[\w.:-]+", name) else '"' + name.replace('"', '\\"') + '"'


def _unquote(v: str) -> str:
    return re.sub(r"\\(.)", r"\1", v[1:-1]) if len(v) >= 2 and v[0] == v[-1] == '"' else v


def expand_saved_searches(text: str, macros, chain: tuple[str, ...] = ()) -> str:
    """`text` with each `savedsearch` / `from savedsearch:` command that starts a search replaced
    by the saved search's text, itself expanded first (its macros and comments, its own
    `savedsearch` commands). `chain`: the saved searches being expanded around `text` (a name
    seen again in it is a cycle; a search used twice side by side is not). Raises SplSyntaxError
    (bad arguments, no such saved search, a cycle, nesting past MAX_DEPTH, a `$token$` without a
    value)."""
    if "savedsearch" not in text.lower():
        return text
    for begin in reversed(_starts(text)):   # from the end: the offsets before stay valid
        m = _START.match(text, begin)
        if not m:
            continue
        end = _command_end(text, m.end())
        name, values, nosub = _arguments(text, m, end)
        if name in chain:
            raise SplSyntaxError(f"savedsearch {name!r} calls itself ({' -> '.join(chain + (name,))})",
                                 text, m.start(1), end)
        if len(chain) >= MAX_DEPTH:
            raise SplSyntaxError(f"savedsearch nests more than {MAX_DEPTH} levels ({' -> '.join(chain + (name,))})",
                                 text, m.start(1), end)
        body = _saved_text(text, m, name, macros)
        if not nosub:
            missing = sorted({t for t in _TOKEN.findall(body) if t not in values})
            if missing:
                raise SplSyntaxError(f"saved search {name!r} needs a value for ${missing[0]}$: "
                                     f"write | savedsearch {_quoted(name)} {missing[0]}=<value>", text, m.start(1), end)
            body = _TOKEN.sub(lambda t: values[t.group(1)], body)
        body = expand_saved_searches(expand_macros(body, macros).strip(), macros, chain + (name,)).strip()
        if body.startswith("|"):
            replacement = body
        elif re.match(r"search\b", body, re.I):   # a saved text may start with the word search
            replacement = f"| {body}"
        else:
            replacement = f"| search {body}"
        text = text[:m.start(1)].rstrip().rstrip("|") + " " + replacement + " " + text[end:]
    return text


def _arguments(text: str, m: re.Match, end: int) -> tuple[str, dict[str, str], bool]:
    rest = text[m.end():end]
    if m.group(1).lower().startswith("from"):
        name_m = _NAME.match(rest)
        if not name_m:
            raise SplSyntaxError("expected a saved search name after from savedsearch:", text, m.start(1), end)
        if rest[name_m.end():].strip():
            raise SplSyntaxError("from savedsearch:<name> takes nothing more", text, m.start(1), end)
        return _unquote(name_m.group(1)), {}, False
    pairs: dict[str, str] = {}
    name = None
    pos = 0
    while rest[pos:].strip():
        pm = _PAIR.match(rest, pos)
        if pm:
            pairs[pm.group(1)] = _unquote(pm.group(2))
            pos = pm.end()
            continue
        nm = _NAME.match(rest, pos)
        if nm and name is None:
            name = _unquote(nm.group(1))
            pos = nm.end()
            continue
        raise SplSyntaxError(f"savedsearch: unexpected {rest[pos:].strip().split()[0]!r}: write "
                             "| savedsearch <name> [<key>=<value>]...", text, m.end() + pos, end)
    if not name:
        raise SplSyntaxError("savedsearch needs the name of a saved search", text, m.start(1), end)
    nosub = pairs.pop("nosubstitution", "false").lower() in ("t", "true", "1", "yes")
    return name, pairs, nosub


def _saved_text(text: str, m: re.Match, name: str, macros) -> str:
    look = getattr(macros, "saved_search", None)
    if look is None:
        raise SplUnsupportedError("savedsearch: no saved searches here (it runs in a Speleo home)", text,
                                  m.start(1), m.end())
    try:
        return look(name)
    except SpeleoError as e:
        raise SplSyntaxError(f"savedsearch: {e}", text, m.start(1), m.end()) from None
