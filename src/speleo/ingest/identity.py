"""File identity for followed files: which known file (and checkpoint) a file on disk is.

Standard library only (the forwarder uses it). See `docs/decisions/0011-file-identity.md`.

A file's identity has three parts, each kept in its checkpoint:

- the **head**: SHA-256 of its first `head_bytes` bytes (decompressed for `.gz`; 256 by default,
  per input `head_bytes`, Splunk inputs.conf.spec: `initCrcLength`). It is the key of the
  checkpoint, `"<length>:<hash>"`, so checkpoints written before the other parts existed still
  match. A file shorter than the head length has a provisional key of what it has, kept as it
  grows (so that no stale row of the same file is left behind).
- the **device and inode** of the file last read (`dev.ino`).
- the **seek hash**: SHA-256 of the `SEEK_BYTES` bytes just before the checkpoint offset (Splunk
  keeps a CRC at the seek address for the same purpose).

Two files with the same head (a banner, a CSV header longer than the head) are one file only
when the bytes before the checkpoint are the same too; when they are, the inode and the path
decide between "the same file, moved or copied by a rotation" and "a new generation of the file"
(see `Tailer._identify`). A second file with a head already in use gets the key
`"<length>:<hash>~<dev>.<ino>"` (and `.<n>` on a further clash): keys stay unique.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import re
from dataclasses import dataclass

from speleo.ingest.fileio import open_content

SEEK_BYTES = 256


def fingerprint(head: bytes) -> str:
    """The key part of a head: `"<length>:<first 32 hex digits of SHA-256>"`."""
    return f"{len(head)}:{hashlib.sha256(head).hexdigest()[:32]}"


def seek_hash(before: bytes) -> str:
    """Hash of the bytes just before a checkpoint offset (at most `SEEK_BYTES`)."""
    return hashlib.sha256(before[-SEEK_BYTES:]).hexdigest()[:16]


def key_base(key: str) -> str:
    """The head part of a key (`"256:abc~2049.77"` -> `"256:abc"`)."""
    return key.split("~", 1)[0]


def key_length(key: str) -> int:
    """Bytes of head a key hashes."""
    return int(key.split(":", 1)[0])


def head_matches(key: str, head: bytes) -> bool:
    """Whether `head` (a file's first bytes) starts with the bytes that `key` hashes."""
    n = key_length(key)
    return len(head) >= n and fingerprint(head[:n]) == key_base(key)


@dataclass(frozen=True)
class Ident:
    """The identity details of a checkpoint: device, inode, seek hash (`"dev.ino.seek"`)."""

    dev: int
    ino: int
    seek: str

    def text(self) -> str:
        return f"{self.dev}.{self.ino}.{self.seek}"

    @staticmethod
    def parse(text: str | None) -> "Ident | None":
        if not text:
            return None
        try:
            dev, ino, seek = text.split(".", 2)
            return Ident(int(dev), int(ino), seek)
        except ValueError:
            return None


def bytes_before(fd: int, offset: int, gz: bool) -> bytes | None:
    """The `SEEK_BYTES` bytes of an open file's content before `offset` (decompressed for
    gzip), or None when the content is shorter than `offset` or cannot be read."""
    start = max(0, offset - SEEK_BYTES)
    try:
        if gz:
            with open_content(fd) as f:
                f.seek(start)
                data = f.read(offset - start)
        else:
            data = os.pread(fd, offset - start, start)
    except (OSError, EOFError, gzip.BadGzipFile):
        return None
    return data if len(data) == offset - start else None


# Names a rotation gives to a file next to it: app.log.1, app.log.1.gz, app.log-20261101,
# app.log-20261101.gz, app.log.old, and (logrotate's `extension`) app-20261101.log(.gz).
_SUFFIX = r"(?:\.\d{1,3}|[-_.]\d{8}(?:[-_T]?\d{2,6})*|\.old)(?:\.gz)?|\.gz"


def rotated_siblings(path: str, limit: int = 8) -> list[str]:
    """Files next to `path` named as a rotation names its copies, newest first (at most `limit`)."""
    folder, name = os.path.split(path)
    stem, ext = os.path.splitext(name)
    patterns = [re.compile(re.escape(name) + "(?:" + _SUFFIX + ")$")]
    if ext:
        patterns.append(re.compile(re.escape(stem) + r"[-_.]\d{8}(?:[-_T]?\d{2,6})*" + re.escape(ext) + r"(?:\.gz)?$"))
    found = []
    try:
        with os.scandir(folder or ".") as it:
            for entry in it:
                if entry.name != name and any(p.match(entry.name) for p in patterns):
                    try:
                        if entry.is_file(follow_symlinks=False):
                            found.append((entry.stat().st_mtime, entry.path))
                    except OSError:
                        continue
    except OSError:
        return []
    return [p for _, p in sorted(found, reverse=True)[:limit]]
