"""Walk a tree and record each entry's attributes (one `lstat` per entry; content hashed only
when it may have changed).

Symbolic links are recorded as links (their target is an attribute) and never followed, so a
scan cannot leave the tree or loop. FIFOs, sockets and devices are recorded but never opened
(opening a FIFO blocks). Nothing under Speleo's home is read. Every entry that cannot be
listed, read or hashed is a `Problem`, never an exception: a scan always completes.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
from dataclasses import dataclass, field
from typing import Mapping, NamedTuple

from speleo.alerts.fschange.settings import FsChangeSettings

READ_BYTES = 1024 * 1024
MAX_ENTRIES = 2_000_000   # per input: about 1.4 GB of baseline in memory; past it the rest is not watched
KINDS = {stat.S_IFREG: "file", stat.S_IFDIR: "dir", stat.S_IFLNK: "link", stat.S_IFIFO: "fifo",
         stat.S_IFSOCK: "socket", stat.S_IFCHR: "chardev", stat.S_IFBLK: "blockdev"}


class Entry(NamedTuple):
    """One path's attributes: sizes in bytes, times in nanoseconds since the epoch (UTC),
    `mode` the full `st_mode`, `hash` hex or None (not hashed), `target` a link's target."""

    kind: str
    size: int
    mtime_ns: int
    ctime_ns: int
    mode: int
    uid: int
    gid: int
    inode: int
    dev: int
    hash: str | None = None
    target: str | None = None

    @property
    def isdir(self) -> bool:
        return self.kind == "dir"


class Problem(NamedTuple):
    """An entry the scan could not fully read, and why (for `speleo status`)."""

    path: str
    reason: str


@dataclass
class Scope:
    """A part of the tree to scan: `path` and everything under it (`recursive`) or only its
    direct children."""

    path: str
    recursive: bool = True

    def covers(self, path: str) -> bool:
        if path == self.path:
            return True
        prefix = self.path.rstrip("/") + "/"
        if not path.startswith(prefix):
            return False
        return self.recursive or "/" not in path[len(prefix):]


@dataclass
class ScanResult:
    """What a scan saw: entries by absolute path, problems, and the folders it could not list
    (their previous entries must be kept, not reported as deleted)."""

    entries: dict[str, Entry] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    unlisted: list[str] = field(default_factory=list)
    hashed: int = 0


def display(path: str) -> str:
    """A path as text for events and messages: bytes that are not UTF-8 (kept by Python as
    surrogates) become `\\xff` escapes, as `ls -b` shows them."""
    try:
        path.encode("utf-8")
        return path
    except UnicodeEncodeError:
        return path.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def to_bytes(path: str) -> bytes:
    """The path's exact bytes (the state's key: any file name round-trips)."""
    return path.encode("utf-8", "surrogateescape")


def from_bytes(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")


def kind_of(mode: int) -> str:
    return KINDS.get(stat.S_IFMT(mode), "other")


def entry_from_stat(st: os.stat_result, hash_: str | None = None, target: str | None = None) -> Entry:
    return Entry(kind_of(st.st_mode), st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_mode, st.st_uid,
                 st.st_gid, st.st_ino, st.st_dev, hash_, target)


def same_content_key(a: Entry, b: Entry) -> bool:
    """True when the content cannot have changed without the kernel telling (size, mtime,
    ctime and inode all equal): the old hash is reused instead of reading the file again."""
    return (a.kind, a.size, a.mtime_ns, a.ctime_ns, a.inode, a.dev) == (b.kind, b.size, b.mtime_ns, b.ctime_ns, b.inode, b.dev)


class Scanner:
    """Scans one input's tree. `root` must be absolute; `skip_under` is Speleo's home."""

    def __init__(self, root: str, settings: FsChangeSettings, skip_under: str | None = None,
                 max_entries: int = MAX_ENTRIES) -> None:
        self.max_entries = max_entries
        self.root = root.rstrip("/") or "/"
        self.settings = settings
        self.skip_under = skip_under.rstrip("/") if skip_under else None

    def scan(self, old: Mapping[str, Entry] | None = None, scopes: list[Scope] | None = None) -> ScanResult:
        """Scan the whole tree, or only `scopes` (paths inside the tree). `old` gives the
        previous entries, whose hashes are reused when the content cannot have changed."""
        res = ScanResult()
        old = old or {}
        for scope in scopes or [Scope(self.root, self.settings.recurse)]:
            self._scan_scope(scope, old, res)
        return res

    def _scan_scope(self, scope: Scope, old: Mapping[str, Entry], res: ScanResult) -> None:
        """Record `scope.path` and, for a folder, what lies below it (breadth given by the
        scope and the `recurse` setting), stopping at `max_entries`."""
        top = scope.path
        if top != self.root and not self._scan_top(top, old, res):
            return
        descend = scope.recursive and self.settings.recurse
        stack = [top]
        while stack:
            d = stack.pop()
            if len(res.entries) >= self.max_entries:
                res.problems.append(Problem(self.root, f"more than {self.max_entries:,} entries: the rest of the tree "
                                                       "is not watched (watch smaller folders, or filter some out)"))
                res.unlisted.append(self.root)   # what was not seen is kept, not reported deleted
                return
            if self._is_home(d):
                res.problems.append(Problem(d, "skipped: Speleo's home is never read"))
                continue
            children = self._list(d, res)
            if children is not None:
                self._scan_children(children, old, res, stack if descend else None)

    def _scan_top(self, top: str, old: Mapping[str, Entry], res: ScanResult) -> bool:
        """Record the top of a scope below the root; True when it is a folder to walk."""
        if self._is_home(top) or not self._wanted(top, os.path.basename(top), True):
            return False
        parent = os.path.dirname(top)
        if os.path.realpath(parent) != parent:   # reached through a symbolic link: not in the tree
            return False
        try:
            st = os.lstat(top)
        except FileNotFoundError:
            return False
        except OSError as e:
            res.problems.append(Problem(top, f"cannot stat: {e.strerror}"))
            return False
        self._record(top, st, old, res)
        return stat.S_ISDIR(st.st_mode)

    def _list(self, d: str, res: ScanResult) -> list[os.DirEntry] | None:
        """The entries of folder `d`, or None (a problem noted, `d` kept as unlisted)."""
        try:
            with os.scandir(d) as it:
                return list(it)
        except FileNotFoundError:
            if d == self.root:   # unmounted or removed: keep the baseline, never a flood of deletes
                res.problems.append(Problem(d, "watched folder is missing: nothing compared until it is back"))
                res.unlisted.append(d)
        except OSError as e:
            res.problems.append(Problem(d, f"cannot list folder: {e.strerror}"))
            res.unlisted.append(d)
        return None

    def _scan_children(self, children: list[os.DirEntry], old: Mapping[str, Entry], res: ScanResult,
                       stack: list[str] | None) -> None:
        """Record the entries of one folder; subfolders go on `stack` (None: no descent)."""
        filtered = bool(self.settings.filters)
        wants_hash = self.settings.wants_hash
        S_ISREG = stat.S_ISREG
        entries = res.entries
        for ch in children:
            path = ch.path
            try:
                st = ch.stat(follow_symlinks=False)
            except FileNotFoundError:
                continue
            except OSError as e:
                res.problems.append(Problem(path, f"cannot stat: {e.strerror}"))
                continue
            mode = st.st_mode
            prev = old.get(path)
            # the common case of a rescan: an unchanged regular file, nothing to build or read
            # (ctime moves with every change of the inode: content, mode, owner, links)
            if (prev is not None and prev[3] == st.st_ctime_ns and prev[2] == st.st_mtime_ns
                    and prev[1] == st.st_size and prev[7] == st.st_ino and prev[4] == mode
                    and prev[8] == st.st_dev and prev[5] == st.st_uid and prev[6] == st.st_gid
                    and S_ISREG(mode) and (prev[9] is not None or not wants_hash(st.st_size))
                    and (not filtered or self._wanted(path, ch.name, False))):
                entries[path] = prev
                continue
            is_dir = stat.S_ISDIR(mode)
            if filtered and not self._wanted(path, ch.name, is_dir):
                continue
            if is_dir and self._is_home(path):
                res.problems.append(Problem(path, "skipped: Speleo's home is never read"))
                continue
            self._record(path, st, old, res)
            if is_dir and stack is not None:
                stack.append(path)

    def _wanted(self, path: str, name: str, is_dir: bool) -> bool:
        if not self.settings.filters:
            return True
        rel = os.path.relpath(path, self.root)
        return self.settings.keeps(rel, name, is_dir)

    def _is_home(self, path: str) -> bool:
        h = self.skip_under
        return h is not None and (path == h or path.startswith(h + "/"))

    def _record(self, path: str, st: os.stat_result, old: Mapping[str, Entry], res: ScanResult) -> None:
        kind = kind_of(st.st_mode)
        target = None
        if kind == "link":
            target = self._link_target(path, res)
        elif kind in ("fifo", "socket", "chardev", "blockdev"):
            prev = old.get(path)
            if prev is None or prev.kind != kind:
                res.problems.append(Problem(path, f"{kind}: recorded, content never read"))
        entry = entry_from_stat(st, None, target)
        if kind == "file" and self.settings.wants_hash(st.st_size):
            prev = old.get(path)
            if prev is not None and prev.hash is not None and same_content_key(prev, entry):
                entry = entry._replace(hash=prev.hash)
            else:
                entry = self._hashed(path, entry, res)
        res.entries[path] = entry

    def _link_target(self, path: str, res: ScanResult) -> str | None:
        try:
            target = os.readlink(path)
        except OSError as e:
            res.problems.append(Problem(path, f"cannot read link: {e.strerror}"))
            return None
        try:
            os.stat(path)
        except OSError as e:
            if e.errno == errno.ELOOP:
                res.problems.append(Problem(path, "symlink loop: recorded as a link, never followed"))
        return target

    def _hashed(self, path: str, entry: Entry, res: ScanResult) -> Entry:
        """The entry with its content hash; re-read once if the file moved while being read."""
        for _ in range(2):
            try:
                digest, before, after = hash_file(path)
            except OSError as e:
                res.problems.append(Problem(path, f"unreadable: {e.strerror or e}"))
                return entry
            res.hashed += 1
            if before.st_ino != entry.inode or not stat.S_ISREG(before.st_mode):
                return entry  # replaced between lstat and open: the next scan sees the new one
            if (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns):
                return entry_from_stat(after, digest)
            entry = entry_from_stat(after)
        res.problems.append(Problem(path, "unstable: changed while being hashed; hashed again at the next scan"))
        return entry


def hash_file(path: str) -> tuple[str, os.stat_result, os.stat_result]:
    """SHA-256 of a regular file, with its `fstat` before and after reading.

    Opens with O_NOFOLLOW and O_NONBLOCK (a FIFO swapped in never blocks the scan). Raises OSError
    (unreadable, or not a regular file)."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        before = os.fstat(fd)
        if not stat.S_ISREG(before.st_mode):
            raise OSError(errno.EINVAL, "not a regular file")
        h = hashlib.sha256()
        while True:
            chunk = os.read(fd, READ_BYTES)
            if not chunk:
                break
            h.update(chunk)
        return h.hexdigest(), before, os.fstat(fd)
    finally:
        os.close(fd)
