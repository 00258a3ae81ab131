"""DuckDB's buffer pool and threads come from a setting (issue 16, memory), not DuckDB's
default of 80 % of the machine's memory."""

from __future__ import annotations

import json
import os
import subprocess
import sys

_PROBE = """
import json
import duckdb
from speleo.config import duckdb_config
con = duckdb.connect(config=duckdb_config())
mem, threads = con.sql("select current_setting('memory_limit'), current_setting('threads')").fetchall()[0]
print(json.dumps([mem, threads]))
"""


def _settings(env: dict) -> list:
    out = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True, check=True,
                         env={**os.environ, **env}).stdout
    return json.loads(out)


def test_memory_limit_and_threads_follow_the_settings():
    mem, threads = _settings({"SPELEO_DUCKDB_MEMORY_MB": "100", "SPELEO_DUCKDB_THREADS": "1"})
    assert mem == "95.3 MiB"   # 100 MB (10^6 bytes) as DuckDB shows it, in MiB
    assert threads == 1


def test_default_threads_are_the_cores():
    _, threads = _settings({"SPELEO_DUCKDB_THREADS": "0"})
    assert threads == (os.cpu_count() or 1)
