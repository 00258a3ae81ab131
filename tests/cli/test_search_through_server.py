"""`speleo search` goes through a running server (no search engine loaded in the CLI) and gives
the same output as a local search; it never gets more rights than a local search."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import run_cli, speleo_cmd


def _lines(n: int) -> str:
    return "".join(f"2026-03-01T10:{i // 60:02d}:{i % 60:02d}Z srv=web{i % 3} status={500 if i % 4 == 0 else 200} "
                   f"{'error' if i % 4 == 0 else 'ok'} request {i}\n" for i in range(n))


def test_search_through_a_running_server(tmp_path, server_factory):
    home = tmp_path / "home"
    log = tmp_path / "app.log"
    log.write_text(_lines(120))
    run_cli(home, "add", "oneshot", str(log), "--index", "main")
    queries = ["error | stats count by srv", "error | head 5", "* | stats count"]
    local = {q: run_cli(home, "search", q, "--output", "jsonl").stdout for q in queries}
    # expected from the lines written: every 4th of 120 lines is an error, hosts web0..web2 in turn
    by_host = {f"web{h}": sum(1 for i in range(0, 120, 4) if i % 3 == h) for h in range(3)}
    assert {r["srv"]: int(r["count"]) for r in map(json.loads, local[queries[0]].splitlines())} == by_host

    server = server_factory(home)
    server.start()
    for q in queries:
        assert run_cli(home, "search", q, "--output", "jsonl").stdout == local[q], q

    # the CLI loads no search engine on this path (what makes it start fast)
    probe = subprocess.run([sys.executable, "-X", "importtime", *speleo_cmd(home, "search", "* | stats count", "-o", "csv")[1:]],
                           capture_output=True, text=True, timeout=120)
    assert probe.returncode == 0, probe.stderr[-2000:]
    loaded = {line.split("|")[-1].strip() for line in probe.stderr.splitlines() if line.startswith("import time:")}
    assert "duckdb" not in loaded and "pyarrow" not in loaded and "speleo.spl" not in loaded
    assert probe.stdout.strip().splitlines()[-1].split()[-1] == "120"

    # the same rights as a local search: no delete without --allow-delete, errors keep their position
    bad = run_cli(home, "search", "error | delete", check=False)
    assert bad.returncode == 1 and "--allow-delete" in bad.stderr
    assert run_cli(home, "search", "error | stats count", "--output", "csv").stdout.splitlines()[-1] == "30"
    syntax = run_cli(home, "search", "error | nosuchcommand x", check=False)
    assert syntax.returncode == 2 and "column 9" in syntax.stderr and "^^^" in syntax.stderr
