"""Following files without parsing them: the part of monitor inputs that needs no parser.

Shared by the server's monitor (`speleo.ingest.monitor.Monitor`, which parses what is read)
and the forwarder (`speleo.forward.tail.RawTailer`, which ships complete lines raw). Imports
the standard library only (no pyarrow, no event parser), so that the forwarder stays small.

Identity (`speleo.ingest.identity`, `docs/decisions/0011-file-identity.md`): a file is known by
the hash of its head (256 bytes, per input `head_bytes`), its device/inode and the hash of the
bytes before its checkpoint, so two files with the same head (a banner, a long CSV header) are
two files, while a renamed, copied or compressed rotated file is read on from its checkpoint.
A file shorter than the head gets a provisional key of what it has and keeps it as it grows
(the seek hash, not the key, tells it from other files starting with the same bytes).

Rotation: by rename (the file keeps its inode and is drained), by copytruncate (the identity
moves to the copy next to the file — `name.1`, `name-DATE`, `.gz` — even when only the file is
monitored, and is read on from its checkpoint; the truncated original is new content), into
`.gz` (read decompressed from the checkpoint). Bytes that no copy holds are reported.

Ways in: every file is resolved (all symbolic links) before it is opened, and nothing under
`skip_under` (Speleo's home) is ever read; only regular files are opened, without blocking
(FIFOs, sockets and devices are skipped with a visible reason).

Resources: a file is open only while active (closed after `close_inactive_secs` without
growth, Filebeat's `close_inactive`), at most `max_open_files` at once (the soft descriptor
limit is raised where allowed); changes are noticed through inotify (`speleo.ingest.watch`)
with a full scan every `scan_secs_notified`, or by a scan every `scan_secs` without it. A scan
reads no file's head when its inode and size are as last seen.

`Tailer` does discovery, identity, rotation and reading; a subclass decides what a file is
(`_describe`: its parser and origin) and what the bytes read become (`_emit`). The sink (`ing`)
is used for `checkpoints()`, `count_problem(kind, source, reason)`, `seal_if_large(bytes)` and,
without a fixed list of inputs, `catalog` (the `inputs` table).
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from speleo.ingest.fileio import Skipped, inside, open_content, open_file_budget, open_regular, read_head
from speleo.ingest.identity import (
    SEEK_BYTES, Ident, bytes_before, fingerprint, head_matches, key_base, key_length, seek_hash,
)
from speleo.ingest.rotation import RotatedCopies
from speleo.ingest.watch import ChangeWatcher

log = logging.getLogger("speleo.monitor")

SAMPLE_BYTES = 8192



def looks_binary(sample: bytes) -> bool:
    """True when the head of a file holds NUL bytes (Splunk skips binary files)."""
    return b"\x00" in sample[:SAMPLE_BYTES]


def complete_lines_end(data: bytes) -> int:
    """Length of the complete lines at the start of `data` (0 when none): lines end with "\n",
    "\r\n" or a lone "\r". A "\r" that is the last byte may be the first half of a "\r\n"
    whose "\n" is not read yet, so the line it ends is not complete yet."""
    nl = data.rfind(b"\n")
    cr = data.rfind(b"\r", nl + 1)
    if cr == len(data) - 1:
        cr = data.rfind(b"\r", nl + 1, cr)
    return max(nl, cr) + 1


def sample_lines(sample: bytes) -> list[str]:
    """Up to 20 whole lines from the head of a source (a cut last line is left out): what
    sourcetype detection reads."""
    head = sample[:SAMPLE_BYTES]
    lines = head.decode("utf-8", errors="replace").splitlines()
    if len(lines) > 1 and not head.endswith(b"\n"):
        lines = lines[:-1]
    return lines[:20]


@dataclass(frozen=True)
class MonitorInput:
    """A persistent monitor input (a row of the catalog's `inputs` table). `head_bytes`: the
    head length of its files' identity (None: `Settings.fingerprint_bytes`)."""

    id: int
    path: str
    index: str
    sourcetype: str | None = None
    host: str | None = None
    whitelist: str | None = None
    blacklist: str | None = None
    head_bytes: int | None = None

    def wants(self, path: str) -> bool:
        if self.whitelist and not re.search(self.whitelist, path):
            return False
        return not (self.blacklist and re.search(self.blacklist, path))

    def covers(self, path: str) -> bool:
        """Whether `path` is this input's file or lies in its folder tree."""
        return path == self.path or path.startswith(self.path.rstrip(os.sep) + os.sep)


@dataclass
class Tracked:
    """One followed file (by identity key). `fd` is open only while the file is active (see
    `close_inactive_secs`); `ino` (device, inode), `size` and `mtime_ns` are what was last seen."""

    key: str
    path: str
    inp: MonitorInput
    offset: int
    parser: object
    origin: object           # has `index` and `sourcetype` (the monitor's `Origin`, the forwarder's `Target`)
    fd: int | None = None
    ino: tuple | None = None
    carry: bytes = b""
    last_growth: float = field(default_factory=time.monotonic)
    fallback_time: float = 0.0
    gz: bool = False
    seek: bytes = b""        # the last SEEK_BYTES bytes consumed (the seek hash is of these)
    size: int = 0
    mtime_ns: int = 0
    dirty: bool = True       # may hold bytes not read yet (seen by a scan or notified)
    gone: bool = False       # no longer at `path` (deleted, truncated away, or moved out of view)
    recovered: bool = False  # attached to a rotated copy found next to its file
    unread: int = 0          # bytes seen in the file but not read when it was found truncated

    def dev_ino_differs(self, st) -> bool:
        return self.ino != (st.st_dev, st.st_ino)

    def ident(self, seek: bytes | None = None) -> str | None:
        """The identity details of a checkpoint at the current (or a given) seek bytes."""
        if self.ino is None:
            return None
        return Ident(self.ino[0], self.ino[1], seek_hash(self.seek if seek is None else seek)).text()


class Tailer(RotatedCopies):
    """Follows the files of monitor inputs. `poll()` does one pass (see module doc).

    `skip_under`: a folder never read (Speleo's home), checked on every resolved file path.
    `clock`: monotonic seconds (injectable for tests)."""

    def __init__(self, ingestor, settings, skip_under: Path | None = None,
                 inputs: list[MonitorInput] | None = None, clock=time.monotonic) -> None:
        self.ing = ingestor
        self.fixed_inputs = inputs
        self.settings = settings
        self.clock = clock
        self.skip_under = os.path.realpath(skip_under) if skip_under else None
        self.inputs: list[MonitorInput] = []
        self.tracked: dict[str, Tracked] = {}
        self.by_path: dict[str, str] = {}
        self.by_ino: dict[tuple, str] = {}
        self.static: dict[str, tuple] = {}
        self.reported: set[tuple[str, str]] = set()
        self.skipped: dict[str, str] = {}
        self.pending: dict[str, float] = {}
        self.checkpoints: dict[str, tuple[str, int, str | None]] = {}
        self.families: dict[str, set[str]] = {}
        self.lengths: set[int] = set()
        self.displaced: dict[str, list[str]] = {}   # path -> keys of checkpoints last at that path (at start)
        self._replaced: list[tuple[str, MonitorInput]] = []
        self._load_checkpoints(ingestor.checkpoints())
        self.max_open = open_file_budget(settings)
        self.open_count = 0
        self.watcher: ChangeWatcher | None = None
        self._last_scan = self._last_inputs = -1e18
        self._rr = 0
        self.lock = threading.Lock()

    def _load_checkpoints(self, rows: dict[str, tuple]) -> None:
        """Keep, per device/inode, only the checkpoint written last (then the furthest): older
        rows of the same file (an earlier generation on a reused inode, a key from before a
        restart) would otherwise match its content again. Rows without identity details are
        kept. `displaced` remembers, per path, the identity that was there last."""
        latest: dict[tuple, tuple] = {}
        for k, v in rows.items():
            if k.startswith(("oneshot:", "fschange:")):  # not followed files
                continue
            parsed = Ident.parse(v[2] if len(v) > 2 else None)
            if parsed is None:
                self.checkpoints[k] = (v[0], int(v[1]), None)
                self._remember(k)
                continue
            rank = (v[3] if len(v) > 3 and v[3] else 0.0, int(v[1]), k)
            at = (parsed.dev, parsed.ino)
            latest[at] = max(latest.get(at, rank), rank)
        last_at: dict[str, tuple] = {}
        for rank in latest.values():
            k = rank[2]
            v = rows[k]
            self.checkpoints[k] = (v[0], int(v[1]), v[2])
            self._remember(k)
            last_at[v[0]] = max(last_at.get(v[0], rank), rank)
        self.displaced = {p: [rank[2]] for p, rank in last_at.items()}

    # -- what a subclass decides ---------------------------------------------------------
    def _describe(self, path: str, inp: MonitorInput, head: bytes) -> tuple[object, object]:
        """(parser, origin) of a newly followed file."""
        raise NotImplementedError

    def _emit(self, t: Tracked, data: bytes, final: bool) -> int:
        """Hand `data` (the file's bytes from `t.offset`) on, with `self._checkpoint(t, data, n)`;
        then `self._advance(t, data, n)` by the `n` bytes taken. `final`: no more bytes are
        expected soon. Returns events."""
        raise NotImplementedError

    def _checkpoint(self, t: Tracked, data: bytes, consumed: int) -> tuple[str, str, int, str | None]:
        """The checkpoint after taking `consumed` bytes of `data`: (key, path, offset, ident)."""
        return (t.key, t.path, t.offset + consumed, t.ident((t.seek + data[:consumed])[-SEEK_BYTES:]))

    def _advance(self, t: Tracked, data: bytes, consumed: int) -> None:
        t.seek = (t.seek + data[:consumed])[-SEEK_BYTES:]
        t.offset += consumed
        t.carry = data[consumed:]
        self.checkpoints[t.key] = (t.path, t.offset, t.ident())

    # -- inputs ------------------------------------------------------------------
    def load_inputs(self) -> None:
        if self.fixed_inputs is not None:
            self.inputs = list(self.fixed_inputs)
            return
        rows = self.ing.catalog.query(
            "SELECT id, path, index_name, sourcetype, host, whitelist, blacklist, head_bytes FROM inputs "
            "WHERE kind = 'monitor' AND disabled = 0 ORDER BY id"
        )
        self.inputs = [MonitorInput(r[0], os.path.abspath(r[1]), *r[2:]) for r in rows]

    def candidates(self) -> list[tuple[str, MonitorInput]]:
        out: list[tuple[str, MonitorInput]] = []
        for inp in self.inputs:
            root = inp.path
            if not os.path.isdir(root):
                if os.path.lexists(root):
                    out.append((root, inp))
                continue
            for dirpath, dirnames, filenames in os.walk(root, onerror=self._walk_error(inp)):
                if inside(os.path.realpath(dirpath), self.skip_under):
                    dirnames[:] = []
                    continue
                dirnames.sort()
                for name in sorted(filenames):
                    full = os.path.join(dirpath, name)
                    if inp.wants(full):
                        out.append((full, inp))
        return out

    def input_for(self, path: str) -> MonitorInput | None:
        for inp in self.inputs:
            if inp.covers(path) and inp.wants(path):
                return inp
        return None

    def _walk_error(self, inp: MonitorInput):
        def handler(err: OSError) -> None:
            self.problem("error", getattr(err, "filename", inp.path) or inp.path, f"cannot list: {err.strerror}")

        return handler

    def problem(self, kind: str, source: str, reason: str) -> None:
        """Count a problem once per (source, reason) for this process's lifetime."""
        if (source, reason) in self.reported:
            return
        self.reported.add((source, reason))
        log.warning("%s: %s", source, reason)
        self.ing.count_problem(kind, source, reason)

    def _skip(self, path: str, reason: str, sig: tuple | None = None) -> None:
        self.skipped[path] = reason
        self.problem("dropped", path, reason)
        if sig is not None:
            self.static[path] = sig

    # -- one pass --------------------------------------------------------------------
    def poll(self, scan: bool | None = None) -> int:
        """Discover files (a full scan every `scan_secs`, or `scan_secs_notified` when change
        notification works, or when `scan`), read what is new; returns events written."""
        with self.lock:
            now = self.clock()
            notified = self.watcher is not None and self.watcher.alive
            every = self.settings.scan_secs_notified if notified else self.settings.scan_secs
            changed, removed = self.watcher.drain() if self.watcher is not None else (set(), set())
            if scan is None and notified and now - self._last_inputs >= self.settings.scan_secs:
                self._last_inputs = now
                before = self.inputs
                self.load_inputs()
                if self.inputs != before:     # a new or changed input: look at it now
                    scan = True
            if scan or (scan is None and now - self._last_scan >= every):
                self._last_scan = now
                self.load_inputs()
                self._sync_watcher()
                self._scan()
            else:
                self._on_changes(changed, removed)
                for path in list(self.pending):
                    inp = self.input_for(path)
                    if inp is None or not os.path.lexists(path):
                        del self.pending[path]
                    else:
                        self._discover(path, inp)
            return self._read_round()

    def _sync_watcher(self) -> None:
        if not self.settings.change_notification:
            return
        if self.watcher is None:
            self.watcher = ChangeWatcher()
        self.watcher.sync([i.path for i in self.inputs])

    def _scan(self) -> None:
        seen: set[str] = set()
        for path, inp in self.candidates():
            seen.add(path)
            self._discover(path, inp)
        for path in [p for p in self.by_path if p not in seen]:
            self._lost_path(path)
        self._find_replaced()
        self._prune()

    def _on_changes(self, paths: set[str], removed: set[str]) -> None:
        """Paths the watcher reported: a removed (deleted, renamed) file is lost first, even when
        a new file has its name already; a new or changed file is discovered; a folder (new,
        moved) makes the next poll scan."""
        for path in sorted(removed):
            if path in self.by_path:
                self._lost_path(path)
        for path in sorted(paths | removed):
            if inside(path, self.skip_under):
                continue   # Speleo's own home inside a monitored folder: its writes are not news
            if os.path.isdir(path):
                self._last_scan = self._last_inputs = -1e18
                continue
            inp = self.input_for(path)
            if inp is None:
                continue
            if os.path.lexists(path):
                self._discover(path, inp)
            elif path in self.by_path:
                self._lost_path(path)
        self._find_replaced()

    def _lost_path(self, path: str) -> None:
        """`path` no longer holds the file it did (deleted or renamed out of view)."""
        t = self.tracked.get(self.by_path.get(path, ""))
        if t is None or t.path != path:
            self.by_path.pop(path, None)
            return
        self._mark_gone(t)

    def _mark_gone(self, t: Tracked) -> None:
        """The file of `t` left its path: drain what its open handle holds, else look for its
        rotated copy (a closed idle file renamed out of view, or replaced)."""
        if self.by_path.get(t.path) == t.key:
            del self.by_path[t.path]
        if t.recovered:
            return
        t.gone = True
        if t.fd is None:
            self._recover(t)

    def _read_round(self) -> int:
        """Read new data from the active files, at most `poll_budget_bytes` per round,
        starting where the last round stopped (so that no file starves another)."""
        files = [t for t in self.tracked.values() if t.fd is not None or t.dirty]
        if not files:
            return 0
        self._rr %= len(files)
        budget, events = self.settings.poll_budget_bytes, 0
        for i in range(len(files)):
            t = files[(self._rr + i) % len(files)]
            before = t.offset + len(t.carry)
            events += self._read(t)
            budget -= max(0, t.offset + len(t.carry) - before)
            self.ing.seal_if_large(self.settings.seal_pending_bytes)
            if budget <= 0:
                self._rr = (self._rr + i + 1) % len(files)
                break
        return events

    # -- discovery and identity -----------------------------------------------------------
    def _discover(self, path: str, inp: MonitorInput) -> None:
        try:
            st = os.stat(path)
        except OSError:
            return
        t = self.tracked.get(self.by_path.get(path, ""))
        if (t is not None and t.path == path and t.ino == (st.st_dev, st.st_ino) and not t.gone
                and (t.gz or st.st_size >= t.offset + len(t.carry))):
            if not t.gz and (st.st_size != t.size or st.st_mtime_ns != t.mtime_ns):
                t.dirty = True
            return
        sig = (st.st_ino, st.st_size, st.st_mtime_ns)
        if self.static.get(path) == sig:
            return
        try:
            fd, fst = open_regular(path, self.skip_under)
        except Skipped as e:
            self._skip(path, str(e), sig)
            return
        except OSError as e:
            self.problem("error", path, f"cannot open: {e.strerror or e}")
            return
        self.skipped.pop(path, None)
        try:
            fd = self._identify_and_attach(path, inp, fd, fst, sig)
        finally:
            if fd is not None:
                os.close(fd)

    def _identify_and_attach(self, path: str, inp: MonitorInput, fd: int, st, sig: tuple) -> int | None:
        """Identify the open file at `path` and follow it; returns `fd` when it was not kept."""
        try:
            head, gz = read_head(fd, self._head_length(inp))
        except (OSError, EOFError) as e:
            self.problem("error", path, f"cannot read: {getattr(e, 'strerror', None) or e}")
            return fd
        if not head:
            return fd
        if looks_binary(head):
            self._skip(path, "binary file (NUL bytes in its first bytes), not indexed", sig)
            return fd
        key = self._identify(path, inp, fd, st, head, gz)
        if key is None:
            return fd
        t = self.tracked.get(key)
        if t is None:
            t = self._track(key, path, inp, head, gz, fd)
        fd = self._attach(t, path, fd, st, gz)
        if gz:
            self.static[path] = sig
        for old in self.displaced.pop(path, []):
            if old != key:
                self._replaced.append((old, inp))   # looked for once the scan has seen every file
        return fd

    def _find_replaced(self) -> None:
        """Identities whose path held another file at start and that no file of the scan took
        over: look for their rotated copy next to their path, else report."""
        todo, self._replaced = self._replaced, []
        for key, inp in todo:
            if key not in self.tracked and key in self.checkpoints:
                self._recover_checkpoint(key, inp)

    def _head_length(self, inp: MonitorInput) -> int:
        return inp.head_bytes or self.settings.fingerprint_bytes

    def _identify(self, path: str, inp: MonitorInput, fd: int, st, head: bytes, gz: bool) -> str | None:
        """The identity key of the open file at `path`, or None to decide at a later poll.

        1. A followed file with this device/inode whose head matches (or at the same path): the
           same file (renamed, grown, or rewritten in place: the read notices).
        2. A known identity (followed or checkpoint) with the same head and the same bytes
           before its checkpoint offset: on the same inode, the same file (after a restart);
           while that identity's own file still holds those bytes, undecided for
           `identity_settle_secs` (a copy in progress, then a second file); at the same path on
           another inode, a new generation (deleted and re-created); else the same content
           moved, copied or compressed by a rotation: read on from the checkpoint.
        3. Else a new identity, read from the start.
        """
        ino = (st.st_dev, st.st_ino)
        t = self.tracked.get(self.by_ino.get(ino, ""))
        if t is not None and not t.gone and (head_matches(t.key, head) or path == t.path):
            self.pending.pop(path, None)
            return t.key
        family = self._family_of(head)
        matches = [k for k in family if self._same_content(k, fd, st, head, gz)]
        matches.sort(key=lambda k: (self._ino_of(k) != ino, -key_length(k)))
        now = self.clock()
        if not matches and not gz and self._copy_in_progress(family, fd, st):
            first = self.pending.setdefault(path, now)
            if now - first < self.settings.identity_settle_secs:
                return None
        copy_of = None
        for key in matches:
            if self._ino_of(key) is None:   # a checkpoint from before identity details: as before
                self.pending.pop(path, None)
                return key
            if self._ino_of(key) == ino:
                self.pending.pop(path, None)
                return key
            other = self.tracked.get(key)
            if other is not None and self._live(other):
                first = self.pending.setdefault(path, now)
                if now - first < self.settings.identity_settle_secs:
                    return None
                copy_of = copy_of or other
                continue
            last_path = other.path if other is not None else self.checkpoints[key][0]
            if last_path == path and not gz:
                continue
            self.pending.pop(path, None)
            return key
        self.pending.pop(path, None)
        key = self._new_key(head, inp, ino)
        if copy_of is not None and not gz:
            # A copy of a followed file that stays intact (logrotate's `copy`, a backup): its lines
            # are read from the original; this file is followed from its end, so nothing is twice.
            self.checkpoints[key] = (path, st.st_size, None)
            self._skip(path, f"a copy of {copy_of.path} (same content up to byte {copy_of.offset:,}): "
                       f"its {st.st_size:,} bytes are indexed from there; only lines added later are read")
            self.skipped.pop(path, None)
        return key

    def _copy_in_progress(self, family: list[str], fd: int, st) -> bool:
        """Whether the open file may be a copy of a followed file still being written: same head
        as one whose file is intact, longer, and holds the same last bytes at the same place
        (logrotate's copy before the truncation)."""
        n = min(st.st_size, SEEK_BYTES)
        for key in family:
            t = self.tracked.get(key)
            if t is None or t.offset <= st.st_size or not t.dev_ino_differs(st) or not self._live(t):
                continue
            try:
                theirs = self._pread_path(t, n, st.st_size - n)
            except (OSError, Skipped):
                continue
            if theirs == os.pread(fd, n, st.st_size - n):
                return True
        return False

    def _pread_path(self, t: Tracked, n: int, at: int) -> bytes:
        if t.fd is not None:
            return os.pread(t.fd, n, at)
        fd, _ = open_regular(t.path, self.skip_under)
        try:
            return os.pread(fd, n, at)
        finally:
            os.close(fd)

    def _record(self, key: str) -> tuple[str, int, str | None]:
        t = self.tracked.get(key)
        if t is not None:
            return t.path, t.offset, t.ident()
        return self.checkpoints[key]

    def _ino_of(self, key: str) -> tuple | None:
        ident = Ident.parse(self._record(key)[2])
        return (ident.dev, ident.ino) if ident else None

    def _family_of(self, head: bytes) -> list[str]:
        """Known keys whose head bytes `head` starts with."""
        out: list[str] = []
        for n in sorted(self.lengths, reverse=True):
            if n <= len(head):
                out += self.families.get(fingerprint(head[:n]), ())
        return out

    def _same_content(self, key: str, fd: int, st, head: bytes, gz: bool) -> bool:
        """Whether the open file holds the content of identity `key` up to its offset: same head
        and same seek hash (checkpoints without identity details: same head only)."""
        if not head_matches(key, head):
            return False
        _, offset, ident_text = self._record(key)
        ident = Ident.parse(ident_text)
        if ident is None:
            return key_base(key) == key
        if offset == 0:   # nothing read yet: nothing to read on from, unless it is the very file
            return (ident.dev, ident.ino) == (st.st_dev, st.st_ino)
        if not gz and st.st_size < offset:
            return False
        before = bytes_before(fd, offset, gz)
        return before is not None and seek_hash(before) == ident.seek

    def _live(self, t: Tracked) -> bool:
        """Whether a followed file still holds what was read of it (not truncated, not deleted)."""
        if t.gz or t.ino is None or (t.gone and t.fd is None):
            return False
        try:
            if t.fd is not None:
                st = os.fstat(t.fd)
                if st.st_nlink == 0:
                    return False
                fd, own = t.fd, False
            else:
                fd, st = open_regular(t.path, self.skip_under)
                own = True
        except (OSError, Skipped):
            return False
        try:
            if (st.st_dev, st.st_ino) != t.ino or st.st_size < t.offset:
                return False
            if not head_matches(t.key, os.pread(fd, key_length(t.key), 0)):
                return False
            before = bytes_before(fd, t.offset, False)
            return before is not None and seek_hash(before) == seek_hash(t.seek)
        finally:
            if own:
                os.close(fd)

    def _new_key(self, head: bytes, inp: MonitorInput, ino: tuple) -> str:
        base = fingerprint(head[: self._head_length(inp)])
        key, n = base, 0
        while key in self.tracked or key in self.checkpoints:
            n += 1
            key = f"{base}~{ino[0]}.{ino[1]}" + (f".{n}" if n > 1 else "")
        return key

    def _remember(self, key: str) -> None:
        self.families.setdefault(key_base(key), set()).add(key)
        self.lengths.add(key_length(key))

    def _track(self, key: str, path: str, inp: MonitorInput, head: bytes, gz: bool, fd: int) -> Tracked:
        offset = self.checkpoints[key][1] if key in self.checkpoints else 0
        parser, origin = self._describe(path, inp, head)
        t = Tracked(key, path, inp, offset, parser, origin, gz=gz, fallback_time=os.fstat(fd).st_mtime,
                    last_growth=self.clock())
        if offset:
            t.seek = bytes_before(fd, offset, gz) or b""
        self.tracked[key] = t
        self._remember(key)
        return t

    def _attach(self, t: Tracked, path: str, fd: int, st, gz: bool) -> int | None:
        """Point a followed file at the open file `fd` at `path`; returns `fd` when not kept."""
        ino = (st.st_dev, st.st_ino)
        self.by_path[path] = t.key
        t.gone = False
        t.dirty = True
        if t.fd is not None and t.ino == ino:
            t.path = path
            return fd
        self._close(t)
        if t.ino is not None and self.by_ino.get(t.ino) == t.key:
            del self.by_ino[t.ino]
        self.by_ino[ino] = t.key
        t.ino, t.path, t.gz = ino, path, gz
        if gz:
            return fd
        t.fd = fd
        self.open_count += 1
        self._trim_pool(t)
        return None

    def _reopen(self, t: Tracked) -> bool:
        """Open a followed file again (closed while idle); False when its path holds another file now."""
        try:
            fd, st = open_regular(t.path, self.skip_under)
        except (OSError, Skipped):
            self._mark_gone(t)
            return False
        if (st.st_dev, st.st_ino) != t.ino:
            os.close(fd)
            self._mark_gone(t)
            return False
        t.fd = fd
        self.open_count += 1
        self._trim_pool(t)
        return True

    def _trim_pool(self, keep: Tracked) -> None:
        """Keep at most `max_open` followed files open (`keep` stays): when over, close those idle
        the longest down to 90% of it (so that the sort is not paid at every open)."""
        if self.open_count <= self.max_open:
            return
        open_files = sorted((t for t in self.tracked.values() if t.fd is not None and t is not keep),
                            key=lambda t: (bool(t.carry), t.last_growth))
        for t in open_files[: self.open_count - int(self.max_open * 0.9)]:
            self._close(t)
            t.dirty = True

    def _prune(self, idle_secs: float = 300.0) -> None:
        """Forget files that moved out of view (renamed away, deleted) and stopped growing."""
        now = self.clock()
        for key, t in list(self.tracked.items()):
            current = self.by_path.get(t.path) == key and not t.gone
            limit = 10.0 if t.recovered else idle_secs
            if not current and not t.carry and now - t.last_growth > limit:
                self._close(t)
                del self.tracked[key]
                if t.ino is not None and self.by_ino.get(t.ino) == key:
                    del self.by_ino[t.ino]

    def _close(self, t: Tracked) -> None:
        if t.fd is not None:
            os.close(t.fd)
            t.fd = None
            self.open_count -= 1

    # -- reading ------------------------------------------------------------------------
    def _read(self, t: Tracked) -> int:
        if t.gz:
            return self._read_gz(t) if t.dirty else 0
        if t.fd is None and (t.gone or not self._reopen(t)):
            t.dirty = False
            return 0
        st = os.fstat(t.fd)
        size, now = st.st_size, self.clock()
        pos = t.offset + len(t.carry)
        if size < t.offset or (size > pos and not self._head_unchanged(t)):
            t.unread = max(0, t.size - pos)
            self._on_truncate(t)
            return 0
        t.size, t.mtime_ns = size, st.st_mtime_ns
        if size > pos:
            data = os.pread(t.fd, min(size - pos, self.settings.read_chunk_bytes), pos)
            t.last_growth = now
            return self._emit(t, t.carry + data, final=False)
        if t.carry and now - t.last_growth >= self.settings.pending_event_flush_secs:
            return self._emit(t, t.carry, final=True)
        if not t.carry:
            t.dirty = False
            if now - t.last_growth >= self.settings.close_inactive_secs or t.gone and st.st_nlink == 0:
                self._close(t)
        return 0

    def _head_unchanged(self, t: Tracked) -> bool:
        """Whether the file under the handle still starts with the bytes of its key.

        Size alone cannot tell a file that grew from one truncated and rewritten past the old
        offset before this poll (copytruncate followed by fast writes)."""
        return head_matches(t.key, os.pread(t.fd, key_length(t.key), 0))

    def _on_truncate(self, t: Tracked) -> bool:
        """The file under a handle shrank below its checkpoint, or its head changed: the content
        read so far is gone from it (copytruncate, or truncated and rewritten). The identity moves
        to the rotated copy next to it when there is one (the lines written between the last read
        and the copy are read from there), else the unread bytes seen are reported; the file's
        new content is a new identity, read from the start. Returns False (nothing to read now)."""
        unread, path, inp = t.unread, t.path, t.inp
        self._close(t)
        self.by_path.pop(path, None)
        self.static.pop(path, None)
        if t.ino is not None and self.by_ino.get(t.ino) == t.key:
            del self.by_ino[t.ino]
        t.gone, t.carry = True, b""
        if not self._recover(t) and unread:
            self._report_gap(t, unread)
        self._discover(path, inp)
        return False

    def _read_gz(self, t: Tracked) -> int:
        """Read a compressed (complete) file from its checkpoint, a chunk at a time, so that a
        large rotated `.gz` never sits in memory whole."""
        size, events = self.settings.read_chunk_bytes, 0
        t.dirty, t.carry = False, b""
        try:
            fd, _ = open_regular(t.path, self.skip_under)
        except (OSError, Skipped) as e:
            self.problem("error", t.path, f"cannot open: {e}")
            return 0
        try:
            with open_content(fd) as f:
                f.seek(t.offset)
                block = f.read(size)
                while block:
                    following = f.read(size)
                    events += self._emit(t, t.carry + block, final=not following)
                    self.ing.seal_if_large(self.settings.seal_pending_bytes)
                    block = following
        except (OSError, EOFError) as e:
            self.problem("error", t.path, f"cannot decompress: {e}")
        finally:
            os.close(fd)
        return events

    # -- status -------------------------------------------------------------------------
    def status(self) -> list[dict]:
        """The files followed: path, identity key, bytes read, input, sourcetype, and whether the
        file is open now, gone from its path, or read from a rotated copy. Never waits for a poll."""
        return [
            {"path": t.path, "fingerprint": t.key, "offset": t.offset, "index": t.origin.index,
             "sourcetype": t.origin.sourcetype, "input": t.inp.path, "open": t.fd is not None,
             "gone": t.gone, "rotated_copy": t.recovered}
            for t in list(self.tracked.values())
        ]

    def summary(self) -> dict:
        """Counts for `speleo status`: files followed and open (with the limit), how changes are
        noticed, files skipped (path -> reason) and files whose identity is not decided yet."""
        w = self.watcher
        mode = "inotify" if w is not None and w.alive else "polling" + (f" ({w.error})" if w and w.error else "")
        return {"followed": len(self.tracked), "open": self.open_count, "max_open": self.max_open,
                "change_notification": mode, "skipped": dict(self.skipped), "undecided": sorted(self.pending)}

    def close(self) -> None:
        if self.watcher is not None:
            self.watcher.stop()
        for t in list(self.tracked.values()):
            self._close(t)
