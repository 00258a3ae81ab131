"""`speleo add oneshot`: index one file (plain or gzip) once.

The file's content is identified by the SHA-256 of its (decompressed) bytes: adding the same
content to the same index twice is refused unless forced. Reading progress is checkpointed
under `oneshot:<sha256>:<index>` like a monitored file, so an interrupted oneshot resumes
where its acknowledged events end instead of indexing them twice.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from speleo.config import check_index_name
from speleo.errors import ConflictError, InputError
from speleo.ingest.pipeline import Ingestor, Origin, default_host, source_name
from speleo.ingest.fileio import Skipped, open_regular
from speleo.ingest.tailing import looks_binary

CHUNK_BYTES = 8 * 1024 * 1024
SEAL_PENDING_BYTES = 48 * 1024 * 1024


@dataclass
class OneshotResult:
    """What a oneshot indexed: events, bytes read, and counts of flagged events per reason."""

    path: str
    index: str
    sourcetype: str
    events: int
    bytes: int
    flagged: dict


def open_content(path: Path):
    """Open a file for reading its content, transparently decompressing gzip."""
    with open(path, "rb") as f:
        magic = f.read(2)
    return gzip.open(path, "rb") if magic == b"\x1f\x8b" else open(path, "rb")


def content_digest(path: Path) -> tuple[str, int]:
    """(SHA-256 hex, size in bytes) of the file's decompressed content."""
    h = hashlib.sha256()
    size = 0
    with open_content(path) as f:
        while block := f.read(1 << 20):
            h.update(block)
            size += len(block)
    return h.hexdigest(), size


def _check(path: Path, forbidden: Path | None) -> Path:
    """The resolved path of a file that may be read once. Raises InputError: missing, not a
    regular file (a FIFO, socket or device is refused without being opened), under Speleo's home
    (`forbidden`, also through a symbolic link), unreadable, or binary."""
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.is_dir():
        raise InputError(f"{path}: a directory (for a directory use 'speleo add monitor')")
    try:
        fd, _ = open_regular(str(path), os.path.realpath(forbidden) if forbidden else None)
        os.close(fd)
    except Skipped as e:
        raise InputError(f"{path}: {e}") from e
    except OSError as e:
        raise InputError(f"{path}: cannot read: {e.strerror or e}") from e
    real = Path(os.path.realpath(path))
    try:
        with open_content(real) as f:
            head = f.read(8192)
    except (OSError, EOFError) as e:
        raise InputError(f"{path}: cannot read: {e}") from e
    if looks_binary(head):
        raise InputError(f"{path}: looks binary (NUL bytes in the first 8 KiB); not indexed")
    return real


def add_oneshot(
    ing: Ingestor,
    path: Path,
    index: str,
    sourcetype: str | None = None,
    host: str | None = None,
    force: bool = False,
    progress: Callable[[int, int], None] | None = None,
    forbidden: Path | None = None,
) -> OneshotResult:
    """Index a file once and return when its events are searchable (sealed).

    Raises InputError (missing, unreadable or binary file) and ConflictError (same content
    already added to this index and `force` is False). `progress(done_bytes, total_bytes)`.
    `forbidden`: a folder never read (Speleo's home), also through links.
    """
    check_index_name(index)
    path = _check(Path(path), forbidden)
    digest, total = content_digest(path)
    seen = ing.catalog.query("SELECT path, added FROM oneshots WHERE sha256 = ? AND index_name = ?", (digest, index))
    if seen and not force:
        prev = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(seen[0][1]))
        raise ConflictError(
            f"{path}: the same content was already added to index '{index}' "
            f"(from {seen[0][0]} at {prev}); use --force to index it again"
        )
    ing.ensure_index(index)
    key = f"oneshot:{digest}:{index}" + (f":{uuid.uuid4().hex}" if force else "")
    start = ing.catalog.checkpoints().get(key, ("", 0))[1]
    with open_content(path) as f:
        head = f.read(8192)
    parser, st_name = ing.parser_for(source_name(path), sourcetype, head)
    origin = Origin(index, source_name(path), st_name, host or default_host(), host_from_event=not host)
    events, flagged = _read_all(ing, parser, origin, path, key, start, total, progress)
    ing.store.seal()
    with ing.catalog.transaction() as con:
        con.execute(
            "INSERT OR REPLACE INTO oneshots(sha256, index_name, path, events, added) VALUES (?,?,?,?,?)",
            (digest, index, str(path), events, time.time()),
        )
    return OneshotResult(str(path), index, st_name, events, total, flagged)


def _read_all(ing, parser, origin, path, key, offset, total, progress):
    events, flagged, carry = 0, {}, b""
    fallback = path.stat().st_mtime
    with open_content(path) as f:
        f.seek(offset)
        while True:
            block = f.read(CHUNK_BYTES)
            final = not block
            data = carry + block
            if not data:
                break
            chunk = parser.parse(data, offset, final, fallback)
            offset += chunk.consumed
            carry = data[chunk.consumed :]
            events += ing.append(chunk, origin, (key, str(path), offset))
            ing.store.seal_if_large(SEAL_PENDING_BYTES)
            for k, n in chunk.flagged.items():
                flagged[k] = flagged.get(k, 0) + n
            if chunk.events.num_rows:
                fallback = chunk.events.column("_time")[-1].as_py()
            if progress:
                progress(offset, total)
            if final:
                break
    return events, flagged
