"""The forwarder's disk-backed queue: a folder of append-only segment files.

Each record is `magic "SPQ1" | body length u32 | record id u64 | crc32(body) u32 | body`, the
body being a line of JSON metadata (`n` events or lines, `cp` the file checkpoint [fingerprint,
path, offset] the record brings the file to, or null, and `raw`, the HEC raw endpoint's query
parameters {host, source, sourcetype, index} of a record of raw lines) then the payload, ready
to send: complete lines of a file for `/services/collector/raw` when `raw` is there, else HEC
envelopes (one JSON object a line) for `/services/collector/event`.
`append` writes and fsyncs before it returns, so a queued record survives a crash of the process
or of the machine. Record ids grow by one and never repeat (they continue after the
acknowledged id of the checkpoint store even when the folder was emptied).

Size limit: when the records not yet released take `max_bytes`, `append` blocks until the
sender releases some (backpressure: the monitor stops reading files) — nothing is dropped. A
single record larger than the limit is still accepted into an empty queue.

At open, every segment is scanned: a record cut by a crash (short header, length past the end,
bad CRC) ends its segment, which is truncated there. Records up to the acknowledged id are
skipped, and segments holding only such records are deleted.
"""

from __future__ import annotations

import json
import logging
import os
import struct
import threading
import zlib
from collections import deque
from dataclasses import dataclass
from pathlib import Path

from speleo.forward.state import fsync_dir

log = logging.getLogger("speleo.forward.queue")

HEADER = struct.Struct("<4sIQI")
MAGIC = b"SPQ1"
SUFFIX = ".seg"


class Stopped(Exception):
    """`append` gave up waiting for room because the forwarder is stopping."""


@dataclass
class Entry:
    """A queued record (its payload stays on disk)."""

    id: int
    seg: int
    pos: int                 # offset of the body in the segment file
    length: int              # body length
    events: int
    checkpoint: tuple[str, str, int] | None
    meta_len: int            # bytes of the metadata line, "\n" included
    raw: tuple[tuple[str, str], ...] | None = None  # raw lines: the query parameters; None: envelopes

    @property
    def size(self) -> int:
        return HEADER.size + self.length

    @property
    def payload_bytes(self) -> int:
        return self.length - self.meta_len


class DiskQueue:
    """Append-only, size-limited, crash-safe FIFO of forwarder records. Thread-safe."""

    def __init__(self, folder: Path, max_bytes: int, acked: int = 0, segment_bytes: int | None = None) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.max_bytes = max(1, int(max_bytes))
        self.segment_bytes = segment_bytes or max(64 * 1024, min(16 * 1024 * 1024, self.max_bytes // 4))
        self.cond = threading.Condition()
        self.entries: deque[Entry] = deque()
        self.pending_bytes = 0
        self.pending_events = 0
        self.released = acked
        self.seg_last: dict[int, int] = {}       # segment -> last record id in it
        self._read_fds: dict[int, int] = {}
        self.torn: list[tuple[int, int]] = []    # (segment, offset) truncated at open
        self.waiting = 0                          # appends waiting for room
        next_id = acked + 1
        for seg in self._segments():
            last = self._scan(seg)
            if last is not None:
                next_id = max(next_id, last + 1)
        self.next_id = next_id
        segs = self._segments()
        self.cur_seg = segs[-1] if segs else 1
        self._fd = os.open(self._path(self.cur_seg), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self.cur_size = os.fstat(self._fd).st_size
        fsync_dir(self.folder)
        self._delete_released_segments()

    # -- files ---------------------------------------------------------------------------
    def _path(self, seg: int) -> Path:
        return self.folder / f"{seg:012d}{SUFFIX}"

    def _segments(self) -> list[int]:
        out = []
        for p in self.folder.iterdir():
            if p.suffix == SUFFIX and p.stem.isdigit():
                out.append(int(p.stem))
        return sorted(out)

    def _scan(self, seg: int) -> int | None:
        """Index the records of a segment above the acknowledged id; truncate a torn tail."""
        path = self._path(seg)
        data = path.read_bytes()
        pos, last = 0, None
        while pos < len(data):
            if len(data) - pos < HEADER.size:
                break
            magic, length, rid, crc = HEADER.unpack_from(data, pos)
            body_at = pos + HEADER.size
            if magic != MAGIC or body_at + length > len(data) or zlib.crc32(data[body_at:body_at + length]) != crc:
                break
            nl = data.find(b"\n", body_at, body_at + length)
            try:
                meta = json.loads(data[body_at:nl]) if nl >= 0 else None
            except ValueError:
                meta = None
            if meta is None:
                break
            last = rid
            if rid > self.released:
                cp, raw = meta.get("cp"), meta.get("raw")
                self.entries.append(Entry(rid, seg, body_at, length, int(meta.get("n", 0)),
                                          (cp[0], cp[1], int(cp[2])) if cp else None, nl + 1 - body_at,
                                          _params(raw)))
                self.pending_bytes += HEADER.size + length
                self.pending_events += int(meta.get("n", 0))
            pos = body_at + length
        if pos < len(data):
            log.warning("queue segment %s: record cut at byte %d (of %d), truncated there", path.name, pos, len(data))
            self.torn.append((seg, pos))
            with open(path, "r+b") as f:
                f.truncate(pos)
                f.flush()
                os.fsync(f.fileno())
        if last is not None:
            self.seg_last[seg] = last
        return last

    # -- writing -------------------------------------------------------------------------
    def full(self) -> bool:
        """True when the limit is reached or an append waits for room."""
        with self.cond:
            return self.pending_bytes >= self.max_bytes or self.waiting > 0

    def append(self, payload: bytes, events: int, checkpoint: tuple[str, str, int] | None = None,
               stop: threading.Event | None = None, raw: dict[str, str] | None = None) -> int:
        """Queue a record durably (write + fsync); blocks while the queue is full. Returns its id.

        `raw`: the payload is raw lines for `/services/collector/raw` with these query parameters
        (None: HEC envelopes). Raises `Stopped` when `stop` is set while waiting for room.
        """
        head = {"n": events, "cp": list(checkpoint) if checkpoint else None}
        if raw is not None:
            head["raw"] = raw
        meta = json.dumps(head, separators=(",", ":")).encode() + b"\n"
        body = meta + payload
        size = HEADER.size + len(body)
        with self.cond:
            while self.pending_bytes > 0 and self.pending_bytes + size > self.max_bytes:
                if stop is not None and stop.is_set():
                    raise Stopped()
                self.waiting += 1
                try:
                    self.cond.wait(0.2)
                finally:
                    self.waiting -= 1
            if self.cur_size > 0 and self.cur_size + size > self.segment_bytes:
                self._rotate()
            rid = self.next_id
            record = HEADER.pack(MAGIC, len(body), rid, zlib.crc32(body)) + body
            view = memoryview(record)
            while view:
                view = view[os.write(self._fd, view):]
            os.fsync(self._fd)
            self.entries.append(Entry(rid, self.cur_seg, self.cur_size + HEADER.size, len(body), events,
                                      checkpoint, len(meta), _params(raw)))
            self.cur_size += size
            self.next_id += 1
            self.seg_last[self.cur_seg] = rid
            self.pending_bytes += size
            self.pending_events += events
            self.cond.notify_all()
            return rid

    def _rotate(self) -> None:
        os.close(self._fd)
        self.cur_seg += 1
        self._fd = os.open(self._path(self.cur_seg), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self.cur_size = 0
        fsync_dir(self.folder)

    # -- reading -------------------------------------------------------------------------
    def after(self, after_id: int, max_bytes: int, max_events: int) -> list[Entry]:
        """The records after `after_id`, in order, up to about `max_bytes` of payload or
        `max_events` events (at least one record when there is one)."""
        out: list[Entry] = []
        size = events = 0
        with self.cond:
            for e in self.entries:
                if e.id <= after_id:
                    continue
                if out and (size + e.payload_bytes > max_bytes or events + e.events > max_events):
                    break
                out.append(e)
                size += e.payload_bytes
                events += e.events
        return out

    def last_id(self) -> int:
        """The id of the newest record queued and not released (0 when none)."""
        with self.cond:
            return self.entries[-1].id if self.entries else 0

    def wait_for_more(self, after_id: int, timeout: float) -> bool:
        """Wait until a record after `after_id` exists (or the timeout); True if one does."""
        with self.cond:
            if not (self.entries and self.entries[-1].id > after_id):
                self.cond.wait(timeout)
            return bool(self.entries and self.entries[-1].id > after_id)

    def payload(self, e: Entry) -> bytes:
        with self.cond:
            fd = self._read_fds.get(e.seg)
            if fd is None:
                fd = self._read_fds[e.seg] = os.open(self._path(e.seg), os.O_RDONLY)
            return os.pread(fd, e.payload_bytes, e.pos + e.meta_len)

    def pending_checkpoints(self) -> dict[str, tuple[str, int]]:
        """File checkpoints the queued records bring their files to (the last one per file)."""
        with self.cond:
            return {e.checkpoint[0]: tuple(e.checkpoint[1:]) for e in self.entries if e.checkpoint}

    # -- releasing -----------------------------------------------------------------------
    def release(self, upto: int) -> None:
        """Records up to id `upto` are delivered: forget them, delete segments holding only them."""
        with self.cond:
            while self.entries and self.entries[0].id <= upto:
                e = self.entries.popleft()
                self.pending_bytes -= e.size
                self.pending_events -= e.events
            self.released = max(self.released, upto)
            self._delete_released_segments()
            self.cond.notify_all()

    def _delete_released_segments(self) -> None:
        for seg in self._segments():
            if seg == self.cur_seg:
                continue
            last = self.seg_last.get(seg)
            if last is None or last <= self.released:
                fd = self._read_fds.pop(seg, None)
                if fd is not None:
                    os.close(fd)
                self._path(seg).unlink(missing_ok=True)
                self.seg_last.pop(seg, None)
        if (self.cur_size >= self.segment_bytes // 4 and self.seg_last.get(self.cur_seg, 0) <= self.released
                and not self.entries):
            self._rotate()  # the current segment is all delivered: start a fresh one, delete it
            self._delete_released_segments()

    def stats(self) -> dict:
        with self.cond:
            return {"records": len(self.entries), "bytes": self.pending_bytes, "events": self.pending_events,
                    "max_bytes": self.max_bytes, "segments": len(self.seg_last) or 1,
                    "full": self.pending_bytes >= self.max_bytes or self.waiting > 0}

    def close(self) -> None:
        with self.cond:
            os.close(self._fd)
            for fd in self._read_fds.values():
                os.close(fd)
            self._read_fds.clear()


def _params(raw: dict | None) -> tuple[tuple[str, str], ...] | None:
    """The query parameters of a raw record, comparable and hashable (records with equal ones can
    share a request)."""
    return tuple(sorted((str(k), str(v)) for k, v in raw.items())) if raw is not None else None
