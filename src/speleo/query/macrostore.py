"""Search macros kept in `<home>/macros.json` (a JSON list of {name, definition, arguments}),
managed by `speleo macro add|list|remove|import` and used by every search of the home.

Splunk Search Reference: "Use search macros in searches" / macros.conf: a macro with N
arguments is named `name(N)`; `$arg$` in its definition is replaced by the argument text.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path

from speleo.errors import InputError, SpeleoError
from speleo.spl.macros import MacroDef, macro_table

_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.:-]*$")
_ARG = re.compile(r"[A-Za-z_][A-Za-z0-9_]*$")


def macros_path(home) -> Path:
    return Path(home.root) / "macros.json"


def read_records(home) -> list[dict]:
    path = macros_path(home)
    if not path.exists():
        return []
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise SpeleoError(f"cannot read {path}: {e}") from e
    if not isinstance(data, list):
        raise SpeleoError(f"{path} must hold a JSON list of macros")
    return data


def write_records(home, records: list[dict]) -> None:
    """Write atomically: a temporary file in the same folder, then os.replace."""
    path = macros_path(home)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".macros.", suffix=".json", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(records, f, indent=1, ensure_ascii=False)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def key_of(name: str, arguments: Iterable[str] | None) -> str:
    args = list(arguments or [])
    return f"{name}({len(args)})" if args and "(" not in name else name


def normalize(record: Mapping) -> dict:
    """Check one record: a macro name, a definition, argument names."""
    name = str(record.get("name") or "").strip()
    base = name.split("(")[0]
    if not _NAME.match(base):
        raise SpeleoError(f"invalid macro name {name!r}")
    definition = record.get("definition")
    if not isinstance(definition, str):
        raise SpeleoError(f"macro {name!r} needs a definition (text)")
    args = record.get("arguments") or []
    if isinstance(args, str):
        args = [a.strip() for a in args.split(",") if a.strip()]
    for a in args:
        if not isinstance(a, str) or not _ARG.match(a):
            raise SpeleoError(f"macro {name!r}: invalid argument name {a!r}")
    return {"name": base, "definition": definition, "arguments": list(args)}


def upsert(home, records: Iterable[Mapping]) -> int:
    """Add or replace macros (same name and argument count); returns how many were written."""
    current = {key_of(r["name"], r.get("arguments")): r for r in read_records(home)}
    n = 0
    for rec in records:
        rec = normalize(rec)
        current[key_of(rec["name"], rec["arguments"])] = rec
        n += 1
    write_records(home, sorted(current.values(), key=lambda r: (r["name"], len(r["arguments"]))))
    return n


def remove(home, name: str) -> int:
    """Remove `name` (every argument count) or `name(N)`; returns how many were removed."""
    records = read_records(home)
    keep = [r for r in records if name not in (r["name"], key_of(r["name"], r.get("arguments")))]
    if len(keep) != len(records):
        write_records(home, keep)
    return len(records) - len(keep)


class MacroTable(dict):
    """A home's macros (name -> MacroDef) that also answers `saved_search(name)`, the text of the
    home's saved search NAME, for `| savedsearch` (spl/savedsearch.py); read from the operations
    database only when a search uses it, through `speleo.hooks.saved_search_source`. `reader`:
    `(SavedSearch) -> bool`, the saved searches the searcher may read (Splunk's sharing: another
    user's private one is not theirs to run); None (the home's owner on the command line): any."""

    def __init__(self, table: dict, home, reader=None) -> None:
        super().__init__(table)
        self.home = home
        self.reader = reader

    def __bool__(self) -> bool:   # kept by `macros or {}` even without macros
        return True

    def saved_search(self, name: str) -> str:
        """Raises NotFoundError (no such saved search) or InputError (several owners have one,
        or no saved searches in this process)."""
        from speleo import hooks

        if hooks.saved_search_source is None:
            raise InputError("saved searches are not available here")
        return hooks.saved_search_source(self.home, name, self.reader)


def load_macros(home, reader=None) -> dict[str, MacroDef]:
    """The macro table of a home, ready for spl.parse / CompileContext(macros=...); `reader` as
    MacroTable's (the server passes its searcher's: `speleo.server.access.saved_reader`)."""
    return MacroTable(macro_table(read_records(home)), home, reader)
