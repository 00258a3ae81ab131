"""Index administration over one home's catalog: create and edit with settings, show buckets
with their sizes measured on disk, delete an index, remove an input.

The CLI (`speleo index ...`, `speleo input remove`), the REST API (`/services/data/indexes`,
`/api/v1/indexes`) and the web call these through `speleo.service.Service`.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from speleo.config import INTERNAL_INDEXES, Home, check_index_name
from speleo.errors import ConflictError, InputError, NotFoundError
from speleo.storage import indexconf, lexicon, lifecycle
from speleo.storage.catalog import Catalog


def create_index(home: Home, catalog: Catalog, name: str, params: dict | None = None,
                 labels: dict | None = None) -> indexconf.IndexSettings:
    """Create index `name` with settings under Splunk's names (see `indexconf.parse_changes`).

    Every setting is checked before the index exists. Raises InputError (bad name, reserved
    name, bad setting) or ConflictError (exists)."""
    if (name or "").startswith("_"):
        raise InputError(f"index names starting with '_' are reserved for Speleo's own indexes ({', '.join(INTERNAL_INDEXES)})")
    check_index_name(name)
    changes = indexconf.parse_changes(params or {}, labels)
    if name in catalog.index_names():
        raise ConflictError(f"index '{name}' already exists (change its settings with 'speleo index edit {name}')")
    indexconf.check_paths(home, catalog, name, changes)
    catalog.ensure_index(name)
    return indexconf.apply(home, catalog, name, changes)


def edit_index(home: Home, catalog: Catalog, name: str, params: dict,
               labels: dict | None = None) -> indexconf.IndexSettings:
    """Change settings of an existing index (applies from the next retention run or merge on;
    no bucket is rewritten). Raises NotFoundError, InputError."""
    indexconf.load(home, catalog, name)
    return indexconf.apply(home, catalog, name, indexconf.parse_changes(params, labels))


def show_index(home: Home, catalog: Catalog, name: str, now: float | None = None) -> dict:
    """One index: settings (Splunk names), buckets by state with their time range and size both
    from the catalog (`size_bytes`) and from the file system (`disk_bytes`), buckets kept only
    by a newer (future-dated) event, and archives. Raises NotFoundError."""
    now = time.time() if now is None else now
    conf = indexconf.load(home, catalog, name)
    buckets = []
    for b in catalog.live_buckets([name]):
        disk = lifecycle.file_bytes(home, b)
        buckets.append({
            "id": b.id, "state": b.state, "path": str(home.root / b.path), "earliest": b.min_time,
            "latest": b.max_time, "events": b.event_count, "raw_bytes": b.raw_bytes, "size_bytes": b.size_bytes,
            "disk_bytes": disk,
            "kept_by_newer_event": b.state != "thawed" and lifecycle.kept_by_future(b, conf, now),
            "future_dated": b.max_time > now,
        })
    by_state: dict[str, dict] = {}
    for b in buckets:
        s = by_state.setdefault(b["state"], {"buckets": 0, "events": 0, "disk_bytes": 0})
        s["buckets"] += 1
        s["events"] += b["events"]
        s["disk_bytes"] += b["disk_bytes"] or 0
    return {
        "name": name,
        "settings": conf.to_splunk(),
        "explicit_settings": sorted(conf.explicit),
        "buckets": buckets,
        "by_state": by_state,
        "events": sum(b["events"] for b in buckets),
        "disk_bytes": sum(b["disk_bytes"] or 0 for b in buckets),
        "catalog_bytes": sum(b["size_bytes"] for b in buckets),
        "missing_files": [b["path"] for b in buckets if b["disk_bytes"] is None],
        "archives": lifecycle.archived(catalog, name),
    }


def users_of_index(catalog: Catalog, name: str) -> list[str]:
    """Inputs and HEC tokens that write into an index, as text for an error message."""
    out = [f"input {r[0]} ({r[1]} {r[2]})" for r in
           catalog.query("SELECT id, kind, path FROM inputs WHERE index_name = ? ORDER BY id", (name,))]
    out += [f"HEC token '{r[0]}'" for r in catalog.query(
        "SELECT name FROM hec_tokens WHERE default_index = ? ORDER BY name", (name,))]
    return out


def delete_index(home: Home, catalog: Catalog, name: str, before_delete=None) -> dict:
    """Delete an index, its buckets and folders (archives are kept: they are outside Speleo's
    care once written). The index leaves searches in one transaction; files go after it.
    `before_delete()` runs once the checks passed, before the catalog forgets the index (the
    ClickHouse backend drops the index's tables there: if that fails, the index stays).

    Refuses `main`, the internal indexes, and an index an input or a HEC token still writes to
    (remove those first). Raises NotFoundError, InputError. The caller holds the writer.
    """
    conf = indexconf.load(home, catalog, name)
    if name == "main" or name in INTERNAL_INDEXES:
        raise InputError(f"index '{name}' cannot be deleted (Speleo needs it)")
    users = users_of_index(catalog, name)
    if users:
        raise InputError(f"index '{name}' is still written by {', '.join(users)}; remove them first "
                         "('speleo input remove ID', 'speleo token delete NAME')")
    if before_delete is not None:
        before_delete()
    rows = catalog.live_buckets([name]) + [b for b in catalog.retired_buckets() if b.index_name == name]
    with catalog.transaction() as con:
        con.execute("DELETE FROM indexes WHERE name = ?", (name,))
        con.execute("UPDATE buckets SET retired_at = 0 WHERE index_name = ? AND retired_at IS NULL", (name,))
    freed = 0
    for b in rows:
        path = home.root / b.path
        if path.exists():
            freed += path.stat().st_size
            path.unlink()
        lexicon.remove(path)
    with catalog.transaction() as con:
        con.execute("DELETE FROM buckets WHERE index_name = ?", (name,))
    for folder in (conf.cold_path, conf.thawed_path, conf.home_path):
        if folder.exists() and not any(p.is_file() for p in folder.rglob("*")):
            shutil.rmtree(folder, ignore_errors=True)
    return {"name": name, "buckets": len(rows), "freed_bytes": freed}


def remove_input(catalog: Catalog, ident: str) -> dict:
    """Remove an input by its id (any kind in the `inputs` table: monitor, fschange, syslog...)
    or a HEC token input by Splunk's stanza name `http://NAME`. The data it indexed stays.
    A running server stops reading it within seconds. Raises NotFoundError, InputError."""
    ident = str(ident).strip()
    if ident.startswith("http://"):
        name = ident[len("http://"):]
        with catalog.transaction() as con:
            gone = con.execute("DELETE FROM hec_tokens WHERE name = ?", (name,)).rowcount
        if not gone:
            raise NotFoundError(f"no HEC token named '{name}' (see 'speleo token list')")
        return {"id": ident, "kind": "http", "name": name}
    if not ident.isdigit():
        raise InputError(f"input id {ident!r} is not a number (see 'speleo status' for ids), "
                         "or 'http://NAME' for a HEC token")
    # ids are SQLite 64-bit integers: a larger number names no input (and would overflow the driver)
    rows = catalog.query("SELECT id, kind, path, index_name FROM inputs WHERE id = ?", (int(ident),)) \
        if int(ident) < 2**63 else []
    if not rows:
        raise NotFoundError(f"no input with id {ident} (see 'speleo status' for ids)")
    with catalog.transaction() as con:
        con.execute("DELETE FROM inputs WHERE id = ?", (int(ident),))
        con.execute("UPDATE checkpoints SET input_id = NULL WHERE input_id = ?", (int(ident),))
    r = rows[0]
    return {"id": r[0], "kind": r[1], "path": r[2], "index": r[3]}


def folder_bytes(folder: Path) -> int:
    """Bytes of the files under a folder, from the file system."""
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) if folder.exists() else 0
