"""Keeping a long-running writer's memory small.

pyarrow's default allocator (mimalloc) keeps freed pages for reuse, and glibc's malloc keeps
freed arenas; for a server that parses and merges in bursts, both show as resident memory
that never shrinks. `use_system_allocator()` makes pyarrow use malloc, and `release()` asks
glibc to return free memory to the system (a no-op elsewhere). Measured in docs/benchmarks.md.
"""

from __future__ import annotations

import ctypes
import ctypes.util

import pyarrow as pa

_libc = None


def use_system_allocator() -> None:
    """Route pyarrow allocations through malloc (call once, before any data is read)."""
    pa.set_memory_pool(pa.system_memory_pool())


def release() -> None:
    """Return freed heap memory to the operating system (glibc `malloc_trim`)."""
    global _libc
    if _libc is None:
        name = ctypes.util.find_library("c")
        _libc = ctypes.CDLL(name) if name else False
    trim = getattr(_libc, "malloc_trim", None) if _libc else None
    if trim is not None:
        trim(0)
