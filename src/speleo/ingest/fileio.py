"""Opening followed files safely: regular files only, never blocking, never inside the home.

Standard library only (the forwarder uses it).

- `open_regular(path, forbidden)` resolves the path (every symbolic link, not only the input's
  root), refuses anything under `forbidden` (Speleo's home: its API token, web secret, data),
  opens without following a last link, without blocking (`O_NONBLOCK`: a FIFO never hangs the
  reader) and checks the opened descriptor is a regular file. Raises `Skipped` with the reason.
- `read_head(fd, n)`: the first `n` bytes of the content, decompressed for gzip.
- `raise_open_file_limit()` lifts the soft descriptor limit to the hard one (capped), and
  `open_file_budget(settings)` says how many followed files may be open at once.
"""

from __future__ import annotations

import gzip
import os
import stat
from contextlib import contextmanager

_KINDS = ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISDIR, "a directory"))


class Skipped(Exception):
    """A file that is not read, with the reason (counted and shown in `speleo status`)."""


def kind_of(mode: int) -> str | None:
    """What a non-regular file is ("a FIFO", "a socket", ...), or None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    for test, name in _KINDS:
        if test(mode):
            return name
    return "not a regular file"


def inside(path: str, folder: str | None) -> bool:
    """Whether `path` (resolved) is `folder` or under it."""
    return bool(folder) and (path == folder or path.startswith(folder.rstrip(os.sep) + os.sep))


def open_regular(path: str, forbidden: str | None) -> tuple[int, os.stat_result]:
    """Open a file for reading (see module doc); returns (fd, fstat). Raises Skipped or OSError."""
    real = os.path.realpath(path)
    if inside(real, forbidden):
        raise Skipped(f"skipped: resolves to {real}, inside Speleo's home, which is never an input")
    st = os.stat(real)
    kind = kind_of(st.st_mode)
    if kind:
        raise Skipped(f"skipped: {kind}, not a regular file (only regular files are read)")
    fd = os.open(real, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_NOCTTY | getattr(os, "O_CLOEXEC", 0))
    try:
        fst = os.fstat(fd)
        kind = kind_of(fst.st_mode)
        if kind:
            raise Skipped(f"skipped: {kind}, not a regular file (only regular files are read)")
        opened = _fd_path(fd)
        if opened and inside(opened, forbidden):   # a link swapped in between: check what was opened
            raise Skipped(f"skipped: resolves to {opened}, inside Speleo's home, which is never an input")
    except BaseException:
        os.close(fd)
        raise
    return fd, fst


def _fd_path(fd: int) -> str | None:
    try:
        return os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return None


def is_gzip(fd: int) -> bool:
    return os.pread(fd, 2, 0) == b"\x1f\x8b"


def read_head(fd: int, n: int) -> tuple[bytes, bool]:
    """The first `n` bytes of the content of an open file (decompressed for gzip), and whether
    it is gzip. Raises OSError / EOFError for a damaged gzip."""
    if not is_gzip(fd):
        return os.pread(fd, n, 0), False
    with open_content(fd) as f:
        return f.read(n), True


@contextmanager
def open_content(fd: int):
    """A binary stream of the (decompressed) content of an open file, from its start (a context
    manager); the caller's fd stays open."""
    raw = os.fdopen(os.dup(fd), "rb")
    try:
        raw.seek(0)
        if is_gzip(fd):
            with gzip.GzipFile(fileobj=raw, mode="rb") as g:
                yield g
        else:
            yield raw
    finally:
        raw.close()


def raise_open_file_limit(cap: int = 65536) -> int:
    """Raise the soft RLIMIT_NOFILE to the hard limit (at most `cap`); returns the soft limit."""
    try:
        import resource

        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        want = min(hard if hard != resource.RLIM_INFINITY else cap, cap)
        if want > soft:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
            soft = want
        return soft
    except (ImportError, ValueError, OSError):
        return 1024


def open_file_budget(settings) -> int:
    """Followed files open at once: `max_open_files`, else a quarter of the descriptor limit
    (the rest is for the journal, buckets, sockets and DuckDB), between 16 and 4096."""
    configured = getattr(settings, "max_open_files", 0)
    if configured > 0:
        return configured
    return max(16, min(4096, raise_open_file_limit() // 4))
