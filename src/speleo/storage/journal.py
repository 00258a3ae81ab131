"""Write-ahead journal: what it has fsynced is acknowledged and survives `kill -9` and power loss.

A journal is a folder of segment files `<seq>.wal` (seq zero-padded, increasing). Each append
writes one record and fsyncs:

    magic b"SPJ1" | u32 header length | u64 body length | u32 CRC-32 of header+body | header | body

The header is JSON (checkpoints, problems); the body an Arrow IPC stream of events in
`EVENT_SCHEMA`. A torn record at the tail (crash mid-write) fails its length or CRC check; it was
never acknowledged, so reading stops there. Segments are sealed into buckets by `storage.store`.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import struct
import threading
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from speleo.storage.durable import fsync_dir
from speleo.storage.schema import EVENT_SCHEMA

MAGIC = b"SPJ1"
HEAD = struct.Struct("<4sIQI")


@dataclass
class Record:
    """One journal record: events plus the checkpoints and problem counters that go with them."""

    events: pa.Table
    meta: dict = field(default_factory=dict)


_SCHEMA_MESSAGE = EVENT_SCHEMA.serialize().to_pybytes()
_END_OF_STREAM = b"\xff\xff\xff\xff\x00\x00\x00\x00"   # Arrow IPC: continuation marker, length 0


def encode(record: Record) -> bytes:
    """Serialise a record into its on-disk bytes: a JSON header and an Arrow IPC stream.

    The stream is the schema message (made once), the record batches and the end-of-stream
    marker: the bytes `pa.ipc.new_stream` writes, without its writer's set-up (15 us a record,
    a tenth of a HEC request's CPU)."""
    return b"".join(encode_parts(record))


def encode_parts(record: Record) -> list:
    """`encode`'s bytes as pieces (bytes and Arrow buffers) to be written one after the other:
    a large record is not copied into one `bytes` (three copies of 10 MB for a chunk of a file)."""
    header = json.dumps(record.meta, separators=(",", ":")).encode()
    events = record.events
    if events.num_rows and events.schema.equals(EVENT_SCHEMA):
        body = [_SCHEMA_MESSAGE, *(b.serialize() for b in events.to_batches()), _END_OF_STREAM]
    else:   # empty, or another schema (the writer then raises)
        sink = io.BytesIO()
        with pa.ipc.new_stream(sink, EVENT_SCHEMA) as writer:
            writer.write_table(events)
        body = [sink.getvalue()]
    crc = zlib.crc32(header)
    for piece in body:
        crc = zlib.crc32(piece, crc)
    return [HEAD.pack(MAGIC, len(header), sum(len(piece) for piece in body), crc), header, *body]


def read_segment(path: Path) -> tuple[list[Record], int]:
    """Read every intact record of a segment.

    Returns (records, valid_bytes); reading stops at the first torn or corrupt record.
    """
    data = path.read_bytes()
    records: list[Record] = []
    pos = 0
    while pos + HEAD.size <= len(data):
        magic, hlen, blen, crc = HEAD.unpack_from(data, pos)
        start, end = pos + HEAD.size, pos + HEAD.size + hlen + blen
        if magic != MAGIC or end > len(data):
            break
        header, body = data[start : start + hlen], data[start + hlen : end]
        if zlib.crc32(body, zlib.crc32(header)) != crc:
            break
        table = pa.ipc.open_stream(body).read_all()
        records.append(Record(table, json.loads(header)))
        pos = end
    return records, pos


class Journal:
    """Appends records to the current segment; `rotate()` starts a new one.

    Thread-safe. Only the process holding the home's writer lock may open a Journal.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        existing = self.segments()
        self.seq = (int(existing[-1].stem) + 1) if existing else 1
        self._lock = threading.Lock()
        self._file = None
        self.pending: list[Record] = []
        self.pending_bytes = 0
        self.left: list[tuple[int, list[Record]]] = []   # segments left by `_undo`, with their records

    def segments(self) -> list[Path]:
        """Segment files on disk, oldest first."""
        return sorted(self.folder.glob("*.wal"), key=lambda p: int(p.stem))

    def path_of(self, seq: int) -> Path:
        return self.folder / f"{seq:012d}.wal"

    def append(self, record: Record) -> None:
        """Write and fsync one record; when this returns, the record is durable."""
        self._append_pieces([(encode_parts(record), record)])

    def append_encoded(self, group: list[tuple[bytes, Record]]) -> None:
        """Write records already encoded (`encode`), one after the other, and fsync once: when
        this returns, all of them are durable. Raises the OSError of the write or the fsync,
        after cutting the segment back to where the group started (none of them is kept)."""
        self._append_pieces([([blob], record) for blob, record in group])

    def _append_pieces(self, group: list[tuple[list, Record]]) -> None:
        """`append_encoded` for records as pieces (`encode_parts`)."""
        with self._lock:
            if self._file is None:
                self._file = open(self.path_of(self.seq), "ab")
                fsync_dir(self.folder)
            start = self._file.tell()
            try:
                for pieces, _ in group:
                    for piece in pieces:
                        self._file.write(piece)
                self._file.flush()
                os.fsync(self._file.fileno())
            except OSError:
                self._undo(start)
                raise
            for pieces, record in group:
                self.pending.append(record)
                self.pending_bytes += sum(len(piece) for piece in pieces)

    def _undo(self, start: int) -> None:
        """Cut a record whose write or fsync failed, so that later records stay readable."""
        try:
            self._file.seek(start)
            self._file.truncate(start)
            self._file.flush()
            os.fsync(self._file.fileno())
        except OSError:
            try:
                self._file.close()   # flushes what is still buffered: on a full disk it raises again
            except OSError:
                pass
            finally:   # never keep a closed file: every later append would fail on it
                self._file = None
                # leave the damaged segment (recovery reads up to the tear) and start a new one; its
                # records are sealed under its own number (`take_left`), else the new segment's seal
                # would leave its file unsealed and a restart would replay them a second time
                if self.pending:
                    self.left.append((self.seq, self.pending))
                    self.pending = []
                self.seq += 1


    def take_left(self) -> list[tuple[int, list[Record]]]:
        """The (seq, records) of segments left after a write that could not be undone, oldest
        first, each to be sealed (and its file removed) like a rotated one; [] when none."""
        with self._lock:
            left, self.left = self.left, []
            return left

    def rotate(self) -> tuple[int, list[Record]] | None:
        """Close the current segment and return (seq, its records); None when it is empty."""
        with self._lock:
            if self._file is None:
                return None
            self._file.close()
            self._file = None
            seq, records = self.seq, self.pending
            self.seq += 1
            self.pending = []
            self.pending_bytes = 0
            return seq, records

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None


class GroupCommit:
    """Journal appends for asyncio tasks, written by one thread with one fsync per group.

    `await append(record)` returns once the fsync that covers the record has returned
    (acknowledged = durable, as with `Journal.append`) and raises that write's OSError when it
    failed (the whole group is then cut from the segment). A group is what was submitted while
    the previous one was being written, at most `max_group_bytes` (one record at least), so
    concurrent requests share an fsync instead of taking a worker thread each. Each event loop
    is woken once per group, not once per record. `close()` ends the thread after what was
    submitted is written.
    """

    def __init__(self, journal: Journal, max_group_bytes: int = 64 * 1024 * 1024) -> None:
        self.journal = journal
        self.max_group_bytes = max_group_bytes
        self._cond = threading.Condition()
        self._queue: list[tuple[bytes, Record, object, object]] = []
        self._thread: threading.Thread | None = None
        self._closed = False

    async def append(self, record: Record) -> None:
        blob = encode(record)
        loop = asyncio.get_running_loop()
        done = loop.create_future()
        with self._cond:
            if self._closed:
                raise OSError("the journal is closing")
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="speleo-journal-commit", daemon=True)
                self._thread.start()
            self._queue.append((blob, record, done, loop))
            self._cond.notify()
        await done

    def close(self, timeout: float = 10.0) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify()
            thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def _take(self) -> list | None:
        with self._cond:
            while not self._queue:
                if self._closed:
                    return None
                self._cond.wait()
            size, n = 0, 0
            for blob, *_ in self._queue:
                if n and size + len(blob) > self.max_group_bytes:
                    break
                size += len(blob)
                n += 1
            group, self._queue = self._queue[:n], self._queue[n:]
            return group

    def _run(self) -> None:
        while (group := self._take()) is not None:
            error: BaseException | None = None
            try:
                self.journal.append_encoded([(blob, record) for blob, record, _, _ in group])
            except Exception as e:   # OSError from the disk; anything else is reported the same way
                error = e
            by_loop: dict = {}
            for _, _, done, loop in group:
                by_loop.setdefault(loop, []).append(done)
            for loop, futures in by_loop.items():
                try:
                    loop.call_soon_threadsafe(_settle, futures, error)
                except RuntimeError:   # that loop is closed: nobody waits any more
                    pass


def _settle(futures: list, error: BaseException | None) -> None:
    for f in futures:
        if not f.done():
            if error is None:
                f.set_result(None)
            else:
                f.set_exception(error)
