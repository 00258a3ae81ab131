"""table, fields, rename (Splunk Search Reference: table, fields, rename)."""

from __future__ import annotations

import fnmatch

from sqlglot import exp

from speleo.spl import ast
from speleo.spl.cursor import Cursor
from speleo.spl.state import col, ident, State, tbl
from speleo.spl.tokens import T, Token


def parse_table(cur: Cursor, word: Token) -> ast.TableCmd:
    """Splunk Search Reference: table. `table f1, f2 f*`."""
    fields = [t.value for t in cur.field_list(stop=())]
    if not fields:
        raise cur.error("expected field names")
    return ast.TableCmd(fields)


def parse_fields(cur: Cursor, word: Token) -> ast.FieldsCmd:
    """Splunk Search Reference: fields. `fields [+|-] f1, f2`."""
    remove = False
    tok = cur.peek()
    if tok.kind is T.WORD and tok.value in ("+", "-"):
        remove = cur.next().value == "-"
    elif tok.kind is T.WORD and tok.value[:1] in "+-" and len(tok.value) > 1:
        remove = tok.value[0] == "-"
        cur.tokens[cur.i] = Token(T.WORD, tok.value[1:], tok.start + 1, tok.end)
    fields = [t.value for t in cur.field_list(stop=())]
    if not fields:
        raise cur.error("expected field names")
    return ast.FieldsCmd(remove, fields)


def parse_rename(cur: Cursor, word: Token) -> ast.RenameCmd:
    """Splunk Search Reference: rename. `rename a as b, c as "d e"`."""
    pairs = []
    while not cur.at_end():
        if cur.accept(T.COMMA):
            continue
        old = cur.name()
        if not cur.accept_word("as"):
            raise cur.error("expected 'as'")
        new = cur.name("a new field name")
        if new.value.count("*") > old.value.count("*") or old.value.count("*") > 1:
            raise cur.unsupported("rename with more than one '*' (or more in the new name) is not supported", new)
        pairs.append((old.value, new.value))
    if not pairs:
        raise cur.error("expected 'field as newname'")
    return ast.RenameCmd(pairs)


# Internal fields a `table` wildcard does not match unless it starts with `_` (`table _*`):
# Speleo's storage columns and `_indextime` (Splunk: internal fields other than _time and _raw
# are not shown unless named). `_time` and `_raw` are matched as before; `fields *` keeps them
# (the event view reads them).
WILDCARD_HIDDEN = frozenset({"_offset", "_flags", "_fields", "_indextime"})


def wildcard_matches(pattern: str, name: str) -> bool:
    """Whether a `fields` wildcard matches a field: an internal field (leading `_`: `_time`,
    `_raw`...) only for a pattern that starts with `_` (Splunk Search Reference: fields, "To
    specify the wildcard pattern for internal fields, use _*"; the fields command keeps `_raw`
    and `_time` unless they are named), so `fields - *` removes every other field."""
    return fnmatch.fnmatchcase(name, pattern) and (not name.startswith("_") or pattern.startswith("_"))


def _expand(state: State, patterns: list[str], table: bool = False, internal: bool = True) -> list[str]:
    """Field names and wildcard patterns -> names. A pattern matches the known columns and, on
    events, the fields a later command names (`fields st* | stats count by status`: `status` is
    extracted at search time, so it is not a column yet; Splunk Search Reference: fields,
    "wildcards match any field"). `internal=False`: a wildcard matches internal fields only when
    it starts with `_` (`wildcard_matches`)."""
    later = [n for n in ast.field_names(state.later) if not n.startswith("__speleo")] \
        if state.has_raw() and state.later else []
    out: list[str] = []
    for p in patterns:
        if "*" in p:
            match = fnmatch.fnmatchcase if internal else (lambda c, p: wildcard_matches(p, c))
            names = [c for c in state.columns if match(c, p) and not c.startswith("__speleo")
                     and (not table or c not in WILDCARD_HIDDEN or p.startswith("_"))]
            names += [n for n in sorted(set(later)) if n not in state.columns and match(n, p)]
        else:
            names = [p]
        out += [n for n in names if n not in out]
    return out


def _project(state: State, items: list[tuple[str, exp.Expression]]) -> None:
    state.protect_order(None)
    state.wrap()
    src = state.select.args["from_"].this.copy()
    cols = [exp.alias_(e, ident(n)) for n, e in items] + [col(h) for h in state.keep_list()]
    state.select = exp.select(*cols).from_(tbl(src)) if cols else exp.select(exp.null()).from_(tbl(src))
    lists = {c for c in state.mv if c in state.columns}
    state.mv = {n for n, e in items if isinstance(e, exp.Column) and not e.table and e.name in lists}
    state.columns = [n for n, _ in items]
    state.open_columns = state.open_row = False   # the columns are the ones named (a PIVOT's others are gone)


def extracted_first(state: State, patterns: list[str], cmd: ast.Command) -> bool:
    """Wildcards over events: the fields they match are known only once the events are read
    (search-time extractions: automatic key=value, JSON, the sourcetype's regexes), so the events'
    matching fields are added after DuckDB ran (post step `extracted`, query/post.py) and `cmd` is
    compiled over that table (continuation.py). Only for the last command of a search: the steps
    then work row by row, so the search's row limit applies in SQL first and exports stream in
    batches (query/engine.py, query/stream.py); earlier in a search the wildcards match the known
    fields. Splunk Search Reference: table ("wildcards match any field of the results"). True
    when the command was kept for then."""
    if state.post or state.later or state.fields_kept or not state.has_raw() or not any("*" in p for p in patterns):
        return False   # not the last command: later ones would need every event in Python (known fields only)
    from speleo.spl.commands.continuation import defer_after_post

    named = [p for p in patterns if "*" not in p and p not in state.columns]
    state.post.append({"kind": "extracted", "patterns": list(patterns), "row_wise": True,
                       "removed": sorted(state.fields_removed),
                       "columns": list(dict.fromkeys([*[c for c in state.columns if not c.startswith("__speleo")],
                                                      *named]))})
    defer_after_post(state, cmd)
    state.post[-1]["row_wise"] = True   # the kept `table` maps each row to one row: a LIMIT may come first
    return True


def compile_table(state: State, cmd: ast.TableCmd) -> None:
    """Only the named fields, in that order; the result is a table. Wildcards also match the
    fields extracted at search time (`extracted_first`)."""
    if extracted_first(state, cmd.fields, cmd):
        return
    names = _expand(state, cmd.fields, table=True)
    _project(state, [(n, state.field(n)) for n in names])
    state.events = False
    state.transforming = True


def compile_fields(state: State, cmd: ast.FieldsCmd) -> None:
    """Keep (or remove) fields; `fields a` keeps _time and _raw on events, as Splunk does;
    `fields *` (`fields + *`) keeps every field, also those extracted at search time later."""
    if not cmd.remove and "*" in cmd.fields:
        return
    names = _expand(state, cmd.fields, internal=not cmd.remove)
    if cmd.remove:
        keep = [c for c in state.columns if c not in names]
        if "_raw" in names and state.has_raw():
            # Splunk extracts search-time fields before `fields - _raw` drops the text: the
            # fields a later command names are extracted first
            later = sorted(n for n in ast.field_names(state.later) if n not in state.columns
                           and n not in names and not n.startswith("__speleo"))
            keep += later
    else:
        keep = names + [c for c in ("_time", "_raw") if state.events and c in state.columns and c not in names]
    _project(state, [(n, state.field(n)) for n in keep])
    if not cmd.remove and state.events:
        state.events = "_raw" in keep
    if cmd.remove:
        state.fields_removed |= {n for n in names if n not in keep}
        state.fields_removed |= {p for p in cmd.fields if "*" in p}   # search-time fields named later, too
    else:
        state.fields_kept = True


def _expand_rename(state: State, pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """`a.* as *`: the wildcard matches known columns; the new name takes what `*` matched."""
    out: list[tuple[str, str]] = []
    for old, new in pairs:
        if "*" not in old:
            out.append((old, new))
            continue
        head, tail = old.split("*")
        for c in state.columns:
            if c.startswith(head) and c.endswith(tail) and len(c) >= len(head) + len(tail) \
                    and not c.startswith("__speleo"):
                part = c[len(head) : len(c) - len(tail)]
                out.append((c, new.replace("*", part)))
    return out


def compile_rename(state: State, cmd: ast.RenameCmd) -> None:
    """Rename fields, left to right (`rename a as b, b as c` ends with c); a renamed extracted
    field becomes a column, a field renamed onto an existing one replaces it. A wildcard pattern
    (`rename All_Traffic.* as *`) renames the matching columns (not search-time fields)."""
    pairs = _expand_rename(state, cmd.pairs)
    if not pairs:
        return
    items: list[tuple[str, exp.Expression]] = [(c, col(c)) for c in state.columns]
    gone: set[str] = set()              # columns renamed away by an earlier pair
    for old, new in pairs:
        current = dict(items)
        if old in current:
            value = current[old]
        elif old in gone:
            value = exp.null()
        else:
            value = state.field(old)
        if old == new:
            continue
        if old in current:
            items = [(new, value) if n == old else (n, e) for n, e in items if n != new]
        else:
            items = [(n, e) for n, e in items if n != new] + [(new, value)]
        gone.add(old)
    _project(state, items)
    if "_raw" not in dict(items):
        state.events = False
