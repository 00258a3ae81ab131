"""Keeping a long-running writer's memory small.

pyarrow's default allocator (mimalloc) keeps freed pages for reuse, and glibc's malloc keeps
freed arenas; for a server that parses and merges in bursts, both show as resident memory
that never shrinks. `use_system_allocator()` makes pyarrow use malloc, and `release()` asks
glibc to return free memory to the system (a no-op elsewhere). Measured in docs/benchmarks.md.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import importlib.abc
import sys

import pyarrow as pa

_libc = None


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
    global _libc
    if _libc is None:
        name = ctypes.util.find_library("c")
        _libc = ctypes.CDLL(name) if name else False
    trim = getattr(_libc, "malloc_trim", None) if _libc else None
    if trim is not None:
        trim(0)
