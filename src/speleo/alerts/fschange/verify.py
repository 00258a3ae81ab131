"""Code-roll verification: do the changes seen (or the tree now) match a release manifest?

`check(observed, manifest, current)` is pure and is what the alert condition calls; the CLI
(`speleo fschange verify`) feeds it either the fs_notification events of the index since a time
(`observed_from_rows`) or a scan of the tree now (`check_tree`).

Statuses, per path (relative to the verified folder):
- `expected`: changed, and listed in the manifest (with the listed content when it has a hash);
- `ok`: not changed, already as the manifest says (its hash matches);
- `unexpected`: changed (or, for a tree check, present) but not in the manifest;
- `missing`: listed but absent, or listed and no change was seen;
- `mismatch`: listed with a hash, present with other content (splunk-features.md 2.5 `changed`);
- `error`: could not be read.
The exit code is a bitmask as AIDE's: 1 unexpected, 2 missing, 4 mismatch, 8 error; 0 = pass.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from typing import Callable, Iterable, Mapping

from speleo.alerts.fschange.manifest import Manifest, load
from speleo.alerts.fschange.scanner import display

FAILURES = {"unexpected": 1, "missing": 2, "mismatch": 4, "error": 8}
STATUS_ORDER = ("unexpected", "missing", "mismatch", "error", "expected", "ok")


@dataclass(frozen=True)
class Observed:
    """The final state of one changed path: whether it exists, its hash (None: not hashed) and
    the last action seen (add, update, delete, renamed)."""

    path: str
    exists: bool
    hash: str | None = None
    action: str = "update"
    kind: str = "file"


@dataclass(frozen=True)
class Item:
    path: str
    status: str
    action: str | None = None
    expected_sha256: str | None = None
    actual_sha256: str | None = None
    detail: str = ""


@dataclass
class Report:
    """The verdict of one verification (JSON with `to_dict`, text with `message`)."""

    root: str
    manifest: str
    items: list[Item] = field(default_factory=list)
    roll_id: str | None = None
    mode: str = "changes"

    def of(self, status: str) -> list[Item]:
        return [i for i in self.items if i.status == status]

    @property
    def exit_code(self) -> int:
        code = 0
        for i in self.items:
            code |= FAILURES.get(i.status, 0)
        return code

    @property
    def ok(self) -> bool:
        return self.exit_code == 0

    def counts(self) -> dict[str, int]:
        return {s: len(self.of(s)) for s in STATUS_ORDER}

    def to_dict(self) -> dict:
        return {"root": self.root, "manifest": self.manifest, "roll_id": self.roll_id, "mode": self.mode,
                "result": "pass" if self.ok else "fail", "exit_code": self.exit_code, "counts": self.counts(),
                "items": [asdict(i) for i in sorted(self.items, key=lambda i: (STATUS_ORDER.index(i.status), i.path))]}

    def message(self) -> str:
        """A person's summary listing every changed path by status (the alert email's body)."""
        c = self.counts()
        head = (f"code roll {'PASSED' if self.ok else 'FAILED'} for {self.root} (manifest {self.manifest}): "
                f"{c['expected']} changed as expected, {c['unexpected']} unexpected, {c['missing']} missing, "
                f"{c['mismatch']} with other content, {c['error']} unreadable, {c['ok']} already as expected")
        lines = [head]
        for status in STATUS_ORDER[:5]:
            for i in sorted(self.of(status), key=lambda i: i.path):
                extra = f" ({i.detail})" if i.detail else ""
                lines.append(f"  {status:<10} {i.path}{extra}")
        return "\n".join(lines)


def check(observed: Iterable[Observed], manifest: Manifest,
          current: Callable[[str], tuple[bool, str | None]] | None = None, root: str = "") -> Report:
    """Compare the changes seen with a manifest (pure: `current(rel) -> (exists, hash)` answers
    for listed paths that did not change; without it they are `missing`)."""
    seen = {o.path: o for o in observed}
    rep = Report(root, manifest.source, roll_id=manifest.roll_id, mode="changes")
    for path, m in manifest.entries.items():
        o = seen.get(path)
        if o is not None:
            rep.items.append(_judge(path, m.sha256, o.exists, o.hash, o.action, changed=True))
        elif current is not None:
            exists, h = current(path)
            if exists and m.sha256 and h == m.sha256:
                rep.items.append(Item(path, "ok", None, m.sha256, h, "not changed; already as listed"))
            else:
                rep.items.append(Item(path, "missing", None, m.sha256, h,
                                      "no change seen" + ("" if exists else "; absent now")))
        else:
            rep.items.append(Item(path, "missing", None, m.sha256, None, "no change seen"))
    for path, o in seen.items():
        if path not in manifest.entries and not manifest.ignored(path):
            rep.items.append(Item(path, "unexpected", o.action, None, o.hash,
                                  "deleted" if not o.exists else ""))
    return rep


def _judge(path: str, want: str | None, exists: bool, have: str | None, action: str | None, changed: bool) -> Item:
    if not exists:
        return Item(path, "missing", action, want, None, "deleted" if changed else "absent")
    if want is None:
        return Item(path, "expected" if changed else "ok", action, None, have)
    if have is None:
        return Item(path, "error", action, want, None, "not hashed (unreadable or over the hash size limit)")
    if have != want:
        return Item(path, "mismatch", action, want, have, "content differs from the manifest")
    return Item(path, "expected" if changed else "ok", action, want, have)


def check_tree(root: str, entries: Mapping[str, object], manifest: Manifest, unreadable: Iterable[str] = ()) -> Report:
    """Compare the tree now (a scan's entries: absolute path → Entry) with the manifest: listed
    paths absent → missing, other content → mismatch; files present but not listed → unexpected."""
    prefix = root.rstrip("/") + "/"
    rel = {display(p[len(prefix):]): e for p, e in entries.items() if p.startswith(prefix)}
    bad = {display(p[len(prefix):]) for p in unreadable if p.startswith(prefix)}
    rep = Report(root, manifest.source, roll_id=manifest.roll_id, mode="tree")
    for path, m in manifest.entries.items():
        e = rel.get(path)
        if path in bad:
            rep.items.append(Item(path, "error", None, m.sha256, None, "unreadable"))
        elif e is None:
            rep.items.append(Item(path, "missing", None, m.sha256, None, "absent"))
        elif m.kind and _kind(e.kind) != m.kind:
            rep.items.append(Item(path, "mismatch", None, m.sha256, e.hash, f"is a {_kind(e.kind)}, listed as a {m.kind}"))
        else:
            rep.items.append(_judge(path, m.sha256, True, e.hash, None, changed=False))
    for path, e in rel.items():
        if e.kind != "dir" and path not in manifest.entries and not manifest.ignored(path):
            rep.items.append(Item(path, "unexpected", None, None, e.hash, "present, not listed"))
    return rep


def _kind(kind: str) -> str:
    return "symlink" if kind == "link" else kind


def observed_from_rows(rows: Iterable[Mapping], root: str) -> list[Observed]:
    """The final state of each path under `root` from fs_notification results (dicts with
    `path`, `action`, `hash`, `old_path`, `type`, `_time`), oldest first or with `_time`."""
    prefix = root.rstrip("/") + "/"
    final: dict[str, tuple[float, int, Observed]] = {}

    def note(path, when, order, obs):
        if not path or not str(path).startswith(prefix):
            return
        key = str(path)[len(prefix):]
        prev = final.get(key)
        if prev is None or (when, order) >= prev[:2]:
            final[key] = (when, order, Observed(key, obs[0], obs[1], obs[2], obs[3]))

    for order, r in enumerate(rows):
        when = float(r.get("_time") or 0)
        action = str(r.get("action") or "update")
        kind = str(r.get("type") or ("dir" if str(r.get("isdir")) == "1" else "file"))
        if action == "delete":
            note(r.get("path"), when, order, (False, None, action, kind))
        else:
            note(r.get("path"), when, order, (True, r.get("hash") or None, action, kind))
        if action == "renamed" and r.get("old_path"):
            note(r.get("old_path"), when, order - 0.5, (False, None, "renamed", kind))
    return [o for _, _, o in final.values() if o.kind != "dir"]


def current_hashes(root: str, hash_file: Callable[[str], str]) -> Callable[[str], tuple[bool, str | None]]:
    """`current(rel) -> (exists, sha256)` over the tree now (for listed paths that did not change)."""
    def current(rel: str) -> tuple[bool, str | None]:
        full = os.path.join(root, rel)
        if not os.path.lexists(full):
            return False, None
        try:
            return True, hash_file(full)
        except OSError:
            return True, None
    return current


@dataclass(frozen=True)
class RollOutcome:
    """An alert condition's decision: `triggered` on any failure, `reason` the report's text
    (it lists every changed path by status, for the alert message), and the `report`."""

    triggered: bool
    reason: str
    report: Report


def roll_condition(rows: Iterable[Mapping], manifest_file: str, root: str,
                   current: Callable[[str], tuple[bool, str | None]] | None = None) -> RollOutcome:
    """The code-roll check as an alert condition over the rows of an fs_notification search.

    Raises ManifestError (bad lines, named) or InputError (unreadable manifest): report it
    in the run record as a condition error."""
    report = check(observed_from_rows(rows, root), load(manifest_file), current, root)
    return RollOutcome(not report.ok, report.message(), report)
