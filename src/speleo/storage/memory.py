"""Keeping a long-running writer's memory small.

pyarrow's default allocator (mimalloc) keeps freed pages for reuse, and glibc's malloc keeps
freed arenas; for a server that parses and merges in bursts, both show as resident memory
that never shrinks. `use_system_allocator()` makes pyarrow use malloc, `tune_malloc()` caps
how many heaps glibc keeps for the server's threads and gives large blocks pages of their own,
and `release()` asks glibc to return free memory to the system (both no-ops elsewhere).
Measured in docs/benchmarks.md.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import importlib.abc
import os
import sys

import pyarrow as pa

_libc = None
M_ARENA_MAX = -8          # glibc malloc.h: mallopt parameters
M_MMAP_THRESHOLD = -3
DEFAULT_ARENAS = 2
DEFAULT_MMAP_THRESHOLD = 1024 * 1024
C_INT_MAX = 2**31 - 1   # mallopt's value is a C int


def _load_libc():
    global _libc
    if _libc is None:
        name = ctypes.util.find_library("c")
        try:
            _libc = ctypes.CDLL(name) if name else False
        except OSError:
            _libc = False
    return _libc


def _setting(name: str, default: int) -> int:
    try:
        return int(os.environ.get(name, default))
    except ValueError:
        return default


def tune_malloc(arenas: int | None = None, mmap_threshold: int | None = None) -> dict[str, bool]:
    """Cap glibc malloc's arenas and fix its mmap threshold; call before the threads start.

    - `arenas` (default $SPELEO_MALLOC_ARENAS, else 2): glibc gives each new thread that
      allocates an arena of its own, up to 8 per core, and keeps each arena's freed memory; the
      server's parse, journal, sealer and HTTP threads each grew one (arenas made before the
      call stay). Same as the environment variable MALLOC_ARENA_MAX.
    - `mmap_threshold` in bytes (default $SPELEO_MALLOC_MMAP_THRESHOLD, else 1 MiB): blocks of
      that size or more (Arrow buffers, Parquet pages) get pages of their own, returned to the
      system when freed. glibc's default threshold starts at 128 KiB but rises to the size of
      the largest such block freed (up to 32 MiB), after which those buffers come from the heap
      and what they leave there stays resident. Same as MALLOC_MMAP_THRESHOLD_.
    Measured (docs/benchmarks.md, 2026-12-06): the server following 300 MB of logs peaked at
    427-443 MB RSS (arenas 2 and 1 MiB) and 475-481 MB (arenas only) against 551-558 MB
    without either, at the same ingestion rate. A value below 1 leaves glibc's default; one
    past a C int (2**31 - 1) is refused.
    Returns which of the two glibc accepted ({"arenas": bool, "mmap_threshold": bool}); all
    False without glibc's mallopt. Raises nothing."""
    arenas = _setting("SPELEO_MALLOC_ARENAS", DEFAULT_ARENAS) if arenas is None else arenas
    mmap_threshold = (_setting("SPELEO_MALLOC_MMAP_THRESHOLD", DEFAULT_MMAP_THRESHOLD)
                      if mmap_threshold is None else mmap_threshold)
    libc = _load_libc()
    mallopt = getattr(libc, "mallopt", None) if libc else None
    done = {"arenas": False, "mmap_threshold": False}
    if mallopt is None:
        return done
    if 1 <= arenas <= C_INT_MAX:   # ctypes.c_int wraps larger values silently (2**32 + 2 -> 2)
        done["arenas"] = bool(mallopt(ctypes.c_int(M_ARENA_MAX), ctypes.c_int(arenas)))
    if 1 <= mmap_threshold <= C_INT_MAX:
        done["mmap_threshold"] = bool(mallopt(ctypes.c_int(M_MMAP_THRESHOLD), ctypes.c_int(mmap_threshold)))
    return done


def use_system_allocator() -> None:
    """Route pyarrow allocations through malloc (call once, before any data is read)."""
    pa.set_memory_pool(pa.system_memory_pool())


class _NoPandas(importlib.abc.MetaPathFinder):
    """Refuses `import pandas` (see `keep_pandas_out`)."""

    def find_spec(self, name, path=None, target=None):
        if name == "pandas" or name.startswith("pandas."):
            raise ModuleNotFoundError(f"No module named {name!r} (kept out of the Speleo server: "
                                      "docs/decisions/0031-startup-memory.md)", name=name)
        return None


def keep_pandas_out() -> bool:
    """Make `import pandas` fail in this process, so that pyarrow never loads it.

    pyarrow imports pandas, when it is installed, the first time `pa.array()` is given a
    Python list (pyarrow/array.pxi `_is_array_like` asks its pandas shim whether the object is
    a pandas Series). Speleo never uses pandas, but it is installed beside chdb, and loading it
    cost the server 33 MB of its idle RSS. pyarrow and clickhouse-connect catch the
    ImportError and run without their pandas integration. Returns False (and does nothing)
    when pandas is already loaded. Called by `speleo serve` only: a library user's process
    keeps pandas."""
    if "pandas" in sys.modules:
        return False
    if not any(isinstance(f, _NoPandas) for f in sys.meta_path):
        sys.meta_path.insert(0, _NoPandas())
    return True


def release() -> None:
    """Return freed heap memory to the operating system (glibc `malloc_trim`)."""
    libc = _load_libc()
    trim = getattr(libc, "malloc_trim", None) if libc else None
    if trim is not None:
        trim(0)
