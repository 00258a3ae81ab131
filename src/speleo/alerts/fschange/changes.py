"""Compare two scans of a tree: which paths were added, updated, deleted or renamed, and which
attributes changed.

Attributes compared (Splunk "Monitor changes to your file system": modification time, user id,
group id, mode, optional SHA-256; plus size and a link's target, as Auditbeat and AIDE do):
`content` (only when both hashes exist), `mtime` and `size` (not for folders: a folder's
mtime moves with every file added to it, which its children's events already say), `mode`,
`uid`, `gid`, `target`. A change of type (file → folder) is a delete and an add.

Renames: a deleted and an added path with the same (device, inode) and type are one `renamed`
change; else a deleted and an added non-empty file with the same hash, when that hash is unique
on both sides.
"""

from __future__ import annotations

import stat
from dataclasses import dataclass, field
from typing import Callable, Iterable, Mapping

from speleo.alerts.fschange.scanner import Entry

ACTIONS = ("add", "update", "delete", "renamed")


@dataclass
class Change:
    """One change: `action` (add, update, delete, renamed), the path, its entry now (the old
    one for a delete), the previous entry, the previous path of a rename, and `changed`."""

    action: str
    path: str
    entry: Entry
    old: Entry | None = None
    old_path: str | None = None
    changed: list[str] = field(default_factory=list)


def changed_attributes(old: Entry, new: Entry) -> list[str]:
    """The names of the monitored attributes that differ, in a fixed order."""
    out = []
    if old.hash is not None and new.hash is not None and old.hash != new.hash:
        out.append("content")
    if old.kind != "dir":
        if old.mtime_ns != new.mtime_ns:
            out.append("mtime")
        if old.size != new.size:
            out.append("size")
    if stat.S_IMODE(old.mode) != stat.S_IMODE(new.mode):
        out.append("mode")
    if old.uid != new.uid:
        out.append("uid")
    if old.gid != new.gid:
        out.append("gid")
    if old.target != new.target:
        out.append("target")
    return out


@dataclass
class Diff:
    """The changes to emit, and the state to store: `puts` (new or refreshed entries, also those
    whose differences emit nothing, such as a folder's mtime) and `deletes`."""

    changes: list[Change] = field(default_factory=list)
    puts: dict[str, Entry] = field(default_factory=dict)
    deletes: list[str] = field(default_factory=list)


def diff(old: Mapping[str, Entry], new: Mapping[str, Entry], in_scope: Callable[[str], bool] | None = None,
         keep: Iterable[str] = ()) -> Diff:
    """Changes from `old` to `new`. Only old paths for which `in_scope` is true can be deleted
    (a partial scan); old paths under a folder in `keep` (one that could not be listed) stay."""
    out = Diff()
    kept = tuple(k.rstrip("/") + "/" for k in keep)
    added: dict[str, Entry] = {}
    deleted: dict[str, Entry] = {}
    for path, entry in new.items():
        prev = old.get(path)
        if prev is None:
            added[path] = entry
        elif prev.kind != entry.kind:
            deleted[path] = prev
            added[path] = entry
        elif prev != entry:
            out.puts[path] = entry
            what = changed_attributes(prev, entry)
            if what:
                out.changes.append(Change("update", path, entry, prev, None, what))
    for path, prev in old.items():
        if path in new or (in_scope is not None and not in_scope(path)):
            continue
        if kept and path.startswith(kept):
            continue
        deleted[path] = prev
    for old_path, new_path in pair_renames(deleted, added):
        prev, entry = deleted.pop(old_path), added.pop(new_path)
        out.changes.append(Change("renamed", new_path, entry, prev, old_path, changed_attributes(prev, entry)))
        out.puts[new_path] = entry
        out.deletes.append(old_path)
    for path, prev in deleted.items():
        out.changes.append(Change("delete", path, prev, prev))
        out.deletes.append(path)
    for path, entry in added.items():
        out.changes.append(Change("add", path, entry))
        out.puts[path] = entry
    out.changes.sort(key=lambda c: (c.path, ACTIONS.index(c.action)))
    return out


def pair_renames(deleted: Mapping[str, Entry], added: Mapping[str, Entry]) -> list[tuple[str, str]]:
    """(old path, new path) pairs: same inode and type first, then a unique equal hash."""
    pairs: list[tuple[str, str]] = []
    by_inode = _unique({p: (e.dev, e.inode, e.kind) for p, e in added.items()})
    used_new: set[str] = set()
    for p, e in deleted.items():
        q = by_inode.get((e.dev, e.inode, e.kind))
        if q is not None and q not in used_new:
            pairs.append((p, q))
            used_new.add(q)
    used_old = {p for p, _ in pairs}
    rest_old = {p: e.hash for p, e in deleted.items() if p not in used_old and e.kind == "file" and e.size and e.hash}
    rest_new = {p: e.hash for p, e in added.items() if p not in used_new and e.kind == "file" and e.size and e.hash}
    old_by_hash, new_by_hash = _unique(rest_old), _unique(rest_new)
    for h, p in old_by_hash.items():
        if h in new_by_hash:
            pairs.append((p, new_by_hash[h]))
    return pairs


def _unique(keys: Mapping[str, object]) -> dict[object, str]:
    """key → path for the keys that only one path has."""
    seen: dict[object, str | None] = {}
    for path, key in keys.items():
        seen[key] = None if key in seen else path
    return {k: p for k, p in seen.items() if p is not None}
