"""`speleo --help` loads none of the heavy libraries (issue 16, start-up): they are imported
inside the commands that use them. Checked in a fresh interpreter's sys.modules, not by timing."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("duckdb", "pyarrow", "fastapi", "sqlalchemy", "uvicorn", "starlette", "sqlglot", "numpy", "rich.table")

_PROBE = """
import json, sys
from click.testing import CliRunner
from speleo.cli.main import cli
res = CliRunner().invoke(cli, {args!r})
print(json.dumps({{"exit": res.exit_code, "output": res.output,
                   "loaded": sorted(m for m in sys.modules if m in {heavy!r} or m.split(".")[0] in {heavy!r})}}))
"""


def _loaded_after(args: list[str]) -> dict:
    code = _PROBE.format(args=args, heavy=HEAVY)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def test_help_imports_no_heavy_library():
    res = _loaded_after(["--help"])
    assert res["exit"] == 0
    assert "search" in res["output"] and "serve" in res["output"]   # the commands are still listed
    assert res["loaded"] == []


def test_subcommand_help_imports_no_heavy_library():
    res = _loaded_after(["search", "--help"])
    assert res["exit"] == 0 and "SPL" in res["output"]
    assert res["loaded"] == []
