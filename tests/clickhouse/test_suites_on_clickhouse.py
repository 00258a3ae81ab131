"""The whole SPL golden suite and the real-data query tests, run again on ClickHouse (issue 17:
"the whole SPL golden suite and the real-data query tests run on both engines in CI ... and give
the same tables"). They run in a pytest of their own with `SPELEO_TEST_ENGINE=clickhouse`
(tests/spl/golden/_util.py, tests/query/test_real_data.py): chdb binds one data folder per
process, and the answers they check are the hand-worked ones the DuckDB run checks."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("chdb")
ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("suite, at_least", [("tests/spl/golden", 560), ("tests/query/test_real_data.py", 15)])
def test_the_suite_passes_on_clickhouse(suite, at_least):
    env = {**os.environ, "SPELEO_TEST_ENGINE": "clickhouse"}
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist", suite],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    tail = proc.stdout[-3000:]
    assert proc.returncode == 0, tail
    passed = int(re.search(r"(\d+) passed", tail).group(1))
    assert "failed" not in tail.splitlines()[-1] and "error" not in tail.splitlines()[-1] and passed >= at_least, tail
