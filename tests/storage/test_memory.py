"""storage.memory.tune_malloc: glibc's malloc keeps at most the given number of arenas, however
many threads allocate at once, and large blocks keep pages of their own after one was freed.
Counted from glibc's own report (malloc_info) in a fresh interpreter, so that neither the arenas
the test process made nor a setting changed there count."""

from __future__ import annotations

import ctypes.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux") or not ctypes.util.find_library("c"),
                                reason="glibc malloc only")

LIBC = r"""
import ctypes, sys
from speleo.storage import memory
libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = [ctypes.c_void_p]
"""
# glibc's XML report of its arenas and mappings, written to the file named by the last argument
REPORT = r"""
libc.fopen.restype = ctypes.c_void_p
libc.fopen.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
libc.malloc_info.argtypes = [ctypes.c_int, ctypes.c_void_p]
libc.fclose.argtypes = [ctypes.c_void_p]
fp = libc.fopen(sys.argv[-1].encode(), b"w")
libc.malloc_info(0, fp)
libc.fclose(fp)
"""


def _malloc_info(tmp_path: Path, name: str, script: str, arg: str) -> str:
    """Run LIBC + script + REPORT in a fresh interpreter without MALLOC_* variables; the report."""
    out = tmp_path / f"{name}.xml"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    subprocess.run([sys.executable, "-c", LIBC + script + REPORT, arg, str(out)], check=True, env=env, timeout=60)
    return out.read_text()


THREADS = r"""
import threading
limit = int(sys.argv[1])
if limit:
    assert memory.tune_malloc(arenas=limit, mmap_threshold=0) == {"arenas": True, "mmap_threshold": False}
start, end = threading.Barrier(8), threading.Barrier(8)
def work():
    start.wait()
    blocks = [libc.malloc(2048) for _ in range(500)]   # all 8 threads alive and allocating
    end.wait()
    for b in blocks:
        libc.free(b)
threads = [threading.Thread(target=work) for _ in range(8)]
for t in threads: t.start()
for t in threads: t.join()
"""


def _arenas(tmp_path: Path, limit: int) -> int:
    return _malloc_info(tmp_path, f"arenas-{limit}", THREADS, str(limit)).count("<heap nr=")


def test_arenas_are_capped_whatever_the_threads(tmp_path):
    # 8 threads allocating at the same time: glibc alone gives each its own arena (up to 8 per
    # core; 10 here with the main arena and one made while importing), capped they share
    assert _arenas(tmp_path, 0) > 4
    assert _arenas(tmp_path, 2) == 2
    assert _arenas(tmp_path, 4) == 4


LARGE = r"""
if sys.argv[1] == "1":
    assert memory.tune_malloc(arenas=0, mmap_threshold=1 << 20) == {"arenas": False, "mmap_threshold": True}
libc.free(libc.malloc(4 << 20))       # glibc's own threshold rises to 4 MiB here
block = libc.malloc(3 << 20)          # ... so this one comes from the heap, unless fixed
"""


def _mmapped_blocks(tmp_path: Path, fixed: bool) -> int:
    report = _malloc_info(tmp_path, f"mmap-{fixed}", LARGE, "1" if fixed else "0")
    # the process-wide summary after the last </heap>: <total type="mmap" count="N" size="..."/>
    tail = report.rsplit("</heap>", 1)[-1]
    return int(re.search(r'<total type="mmap" count="(\d+)"', tail).group(1))


def test_large_blocks_keep_pages_of_their_own(tmp_path):
    # without the fixed threshold the 3 MiB block follows a freed 4 MiB one into the heap; with
    # it, it is one mapped block more than the imports made
    assert _mmapped_blocks(tmp_path, fixed=True) == _mmapped_blocks(tmp_path, fixed=False) + 1


def _tuned(script: str, env: dict | None = None) -> str:
    """What `script` (which calls tune_malloc) prints, run in a fresh interpreter."""
    out = subprocess.run([sys.executable, "-c", "from speleo.storage import memory; " + script], check=True,
                         capture_output=True, text=True, timeout=60, env={**os.environ, **(env or {})})
    return out.stdout.strip()


def test_bad_values_change_nothing():
    assert _tuned("print(memory.tune_malloc(arenas=0, mmap_threshold=0))") == \
        "{'arenas': False, 'mmap_threshold': False}"
    # unreadable settings: the defaults, not an error
    assert _tuned("print(memory.tune_malloc())", {"SPELEO_MALLOC_ARENAS": "lots",
                                                   "SPELEO_MALLOC_MMAP_THRESHOLD": ""}) == \
        "{'arenas': True, 'mmap_threshold': True}"


def test_values_past_a_c_int_are_refused_not_wrapped():
    # mallopt takes a C int: 2**32 + 1 MiB passed as such would arrive as 1 MiB (and 2**32 + 2
    # arenas as 2), which glibc accepts; such values are refused
    assert _tuned("print(memory.tune_malloc(arenas=(1 << 32) + 2, mmap_threshold=(1 << 32) + (1 << 20)))") == \
        "{'arenas': False, 'mmap_threshold': False}"
