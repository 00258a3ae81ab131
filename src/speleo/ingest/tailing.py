"""Following files without parsing them: the part of monitor inputs that needs no parser.

Shared by the server's monitor (`speleo.ingest.monitor.Monitor`, which parses what is read)
and the forwarder (`speleo.forward.tail.RawTailer`, which ships complete lines raw). Imports
the standard library only (no pyarrow, no event parser), so that the forwarder stays small.

A file is identified by a fingerprint of its first `fingerprint_bytes` bytes (decompressed for
`.gz`), never by path or inode, so a renamed, copied or compressed rotated file is recognised
and read on from its checkpoint. A file shorter than the fingerprint length gets a
provisional fingerprint of what it has; when it grows and its head still starts with those
bytes, the checkpoint moves to the full fingerprint.

Rotation: by rename (the open handle is drained, the renamed file keeps its fingerprint), by
copytruncate (the copy carries the fingerprint and is read on from the checkpoint; the truncated
original is new content), into `.gz` (read decompressed from the checkpoint). A file whose size
falls below its checkpoint was truncated and is read again from the start.

`Tailer` does discovery, identity, rotation and reading; a subclass decides what a file is
(`_describe`: its parser and origin) and what the bytes read become (`_emit`). The sink (`ing`)
is used for `checkpoints()`, `count_problem(kind, source, reason)`, `seal_if_large(bytes)` and,
without a fixed list of inputs, `catalog` (the `inputs` table).
"""

from __future__ import annotations

import gzip
import hashlib
import logging
import os
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

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
    """A persistent monitor input (a row of the catalog's `inputs` table)."""

    id: int
    path: str
    index: str
    sourcetype: str | None = None
    host: str | None = None
    whitelist: str | None = None
    blacklist: str | None = None

    def wants(self, path: str) -> bool:
        if self.whitelist and not re.search(self.whitelist, path):
            return False
        return not (self.blacklist and re.search(self.blacklist, path))


@dataclass
class Tracked:
    """One followed file (by fingerprint key)."""

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


def is_gz(path: str) -> bool:
    with open(path, "rb") as f:
        return f.read(2) == b"\x1f\x8b"


def read_head(path: str, n: int) -> tuple[bytes, bool]:
    """The first `n` bytes of a file's content (decompressed for gzip) and whether it is gzip."""
    gz = is_gz(path)
    opener = gzip.open if gz else open
    with opener(path, "rb") as f:
        return f.read(n), gz


def fingerprint(head: bytes) -> str:
    return f"{len(head)}:{hashlib.sha256(head).hexdigest()[:32]}"


class Tailer:
    """Follows the files of monitor inputs. `poll()` does one pass (see module doc)."""

    def __init__(self, ingestor, settings, skip_under: Path | None = None,
                 inputs: list[MonitorInput] | None = None) -> None:
        self.ing = ingestor
        self.fixed_inputs = inputs
        self.settings = settings
        self.skip_under = str(skip_under) if skip_under else None
        self.inputs: list[MonitorInput] = []
        self.tracked: dict[str, Tracked] = {}
        self.by_path: dict[str, str] = {}
        self.static: dict[str, tuple] = {}
        self.reported: set[tuple[str, str]] = set()
        self.checkpoints = dict(ingestor.checkpoints())
        self._last_scan = 0.0
        self.lock = threading.Lock()

    # -- what a subclass decides ---------------------------------------------------------
    def _describe(self, path: str, inp: MonitorInput, head: bytes) -> tuple[object, object]:
        """(parser, origin) of a newly followed file."""
        raise NotImplementedError

    def _emit(self, t: Tracked, data: bytes, final: bool) -> int:
        """Hand `data` (the file's bytes from `t.offset`) on; advance `t.offset` by what was taken
        and keep the rest in `t.carry`. `final`: no more bytes are expected soon. Returns events."""
        raise NotImplementedError

    # -- inputs ------------------------------------------------------------------
    def load_inputs(self) -> None:
        if self.fixed_inputs is not None:
            self.inputs = list(self.fixed_inputs)
            return
        rows = self.ing.catalog.query(
            "SELECT id, path, index_name, sourcetype, host, whitelist, blacklist FROM inputs "
            "WHERE kind = 'monitor' AND disabled = 0 ORDER BY id"
        )
        self.inputs = [MonitorInput(*r) for r in rows]

    def candidates(self) -> list[tuple[str, MonitorInput]]:
        out: list[tuple[str, MonitorInput]] = []
        for inp in self.inputs:
            root = inp.path
            if os.path.isfile(root):
                out.append((root, inp))
                continue
            for dirpath, dirnames, filenames in os.walk(root, onerror=self._walk_error(inp)):
                if self.skip_under and dirpath.startswith(self.skip_under):
                    dirnames[:] = []
                    continue
                dirnames.sort()
                for name in sorted(filenames):
                    full = os.path.join(dirpath, name)
                    if inp.wants(full):
                        out.append((full, inp))
        return out

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

    # -- one pass --------------------------------------------------------------------
    def poll(self, scan: bool | None = None) -> int:
        """Discover files (every 2 s, or when `scan`), read what is new; returns events written."""
        with self.lock:
            now = time.monotonic()
            if scan or (scan is None and now - self._last_scan >= 2.0):
                self._last_scan = now
                self.load_inputs()
                for path, inp in self.candidates():
                    self._discover(path, inp)
                self._prune()
            return self._read_round()

    def _read_round(self) -> int:
        """Read new data from the followed files, at most `poll_budget_bytes` per round,
        starting where the last round stopped (so that no file starves another)."""
        files = list(self.tracked.values())
        if not files:
            return 0
        self._rr = getattr(self, "_rr", 0) % len(files)
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

    def _discover(self, path: str, inp: MonitorInput) -> None:
        try:
            st = os.stat(path)
        except OSError:
            return
        sig = (st.st_ino, st.st_size, st.st_mtime_ns)
        if self.static.get(path) == sig:
            return
        try:
            head, gz = read_head(path, self.settings.fingerprint_bytes)
        except (OSError, EOFError) as e:
            self.problem("error", path, f"cannot read: {getattr(e, 'strerror', None) or e}")
            return
        if not head:
            return
        if looks_binary(head):
            self.problem("dropped", path, "binary file (NUL bytes in its first bytes), not indexed")
            self.static[path] = sig
            return
        key = self._key_for(path, head)
        t = self.tracked.get(key)
        if t is None:
            t = self._track(key, path, inp, head, gz)
        self._attach(t, path, st, gz)
        if gz:
            self.static[path] = sig

    def _key_for(self, path: str, head: bytes) -> str:
        key = fingerprint(head)
        if key in self.tracked or key in self.checkpoints:
            return key
        for old, cp_path in self._provisional(path):
            n = int(old.split(":", 1)[0])
            if n < len(head) and fingerprint(head[:n]) == old:
                offset = self.checkpoints.pop(old)[1] if old in self.checkpoints else 0
                t = self.tracked.pop(old, None)
                if t is not None:
                    t.key = key
                    self.tracked[key] = t
                    offset = t.offset
                self.checkpoints[key] = (path, offset)
                return key
        return key

    def _provisional(self, path: str) -> list[tuple[str, str]]:
        full = self.settings.fingerprint_bytes
        out = [(k, t.path) for k, t in self.tracked.items() if t.path == path and int(k.split(":")[0]) < full]
        out += [(k, p) for k, (p, _) in self.checkpoints.items() if p == path and not k.startswith("oneshot:") and int(k.split(":")[0]) < full]
        return out

    def _track(self, key: str, path: str, inp: MonitorInput, head: bytes, gz: bool) -> Tracked:
        offset = self.checkpoints.get(key, ("", 0))[1]
        parser, origin = self._describe(path, inp, head)
        t = Tracked(key, path, inp, offset, parser, origin, gz=gz, fallback_time=os.path.getmtime(path))
        self.tracked[key] = t
        return t

    def _attach(self, t: Tracked, path: str, st: os.stat_result, gz: bool) -> None:
        """Point a tracked file at `path` when its current handle is gone or truncated."""
        self.by_path[path] = t.key
        if gz:
            t.gz, t.path = True, path
            return
        ino = (st.st_dev, st.st_ino)
        if t.fd is not None and t.ino == ino:
            t.path = path
            return
        if t.fd is not None and not self._handle_stale(t):
            return
        self._close(t)
        try:
            t.fd = os.open(path, os.O_RDONLY)
        except OSError as e:
            self.problem("error", path, f"cannot open: {e.strerror}")
            return
        t.ino, t.path, t.gz = ino, path, False

    def _handle_stale(self, t: Tracked) -> bool:
        try:
            size = os.fstat(t.fd).st_size
        except OSError:
            return True
        return size < t.offset + len(t.carry) or (size == t.offset + len(t.carry) and not os.path.exists(t.path))

    def _prune(self, idle_secs: float = 300.0) -> None:
        """Forget files that moved out of view (renamed away, deleted) and stopped growing."""
        now = time.monotonic()
        for key, t in list(self.tracked.items()):
            current = self.by_path.get(t.path) == key and os.path.exists(t.path)
            if not current and not t.carry and now - t.last_growth > idle_secs:
                self._close(t)
                del self.tracked[key]

    @staticmethod
    def _close(t: Tracked) -> None:
        if t.fd is not None:
            os.close(t.fd)
            t.fd = None

    # -- reading ------------------------------------------------------------------------
    def _read(self, t: Tracked) -> int:
        if t.gz:
            return self._read_gz(t)
        if t.fd is None:
            return 0
        size = os.fstat(t.fd).st_size
        pos = t.offset + len(t.carry)
        if size < t.offset or (size > pos and not self._head_unchanged(t)):
            if not self._on_truncate(t):
                return 0
            pos = 0
        if size > pos:
            data = os.pread(t.fd, min(size - pos, self.settings.read_chunk_bytes), pos)
            t.last_growth = time.monotonic()
            return self._emit(t, t.carry + data, final=False)
        if t.carry and time.monotonic() - t.last_growth >= self.settings.pending_event_flush_secs:
            return self._emit(t, t.carry, final=True)
        return 0

    def _head_unchanged(self, t: Tracked) -> bool:
        """Whether the file under the handle still starts with the bytes of its fingerprint.

        Size alone cannot tell a file that grew from one truncated and rewritten past the old
        offset before this poll (copytruncate followed by fast writes)."""
        length = int(t.key.split(":", 1)[0])
        return fingerprint(os.pread(t.fd, length, 0)) == t.key

    def _on_truncate(self, t: Tracked) -> bool:
        """The file under a handle shrank below its checkpoint, or its head changed. Returns True
        to read it again from 0.

        Same head: the file was truncated and rewritten, read again from the start. Another
        head: new content (copytruncate); the handle moves to a new fingerprint and the old
        one keeps its checkpoint, for the copy to be read on from it.
        """
        head = os.pread(t.fd, self.settings.fingerprint_bytes, 0)
        if head and fingerprint(head) == t.key:
            log.info("%s: truncated, reading again from the start", t.path)
            t.offset, t.carry = 0, b""
            return True
        self._close(t)
        self.by_path.pop(t.path, None)
        self.static.pop(t.path, None)
        if head:
            self._discover(t.path, t.inp)
        return False

    def _read_gz(self, t: Tracked) -> int:
        """Read a compressed (complete) file from its checkpoint, a chunk at a time, so that a
        large rotated `.gz` never sits in memory whole."""
        size, events = self.settings.read_chunk_bytes, 0
        t.gz, t.carry = False, b""
        try:
            with gzip.open(t.path, "rb") as f:
                f.seek(t.offset)
                block = f.read(size)
                while block:
                    following = f.read(size)
                    events += self._emit(t, t.carry + block, final=not following)
                    self.ing.seal_if_large(self.settings.seal_pending_bytes)
                    block = following
        except (OSError, EOFError) as e:
            self.problem("error", t.path, f"cannot decompress: {e}")
        return events

    def status(self) -> list[dict]:
        """The files followed: path, fingerprint, bytes read, input and sourcetype."""
        with self.lock:
            return [
                {"path": t.path, "fingerprint": t.key, "offset": t.offset, "index": t.origin.index,
                 "sourcetype": t.origin.sourcetype, "input": t.inp.path}
                for t in self.tracked.values()
            ]

    def close(self) -> None:
        for t in self.tracked.values():
            self._close(t)
