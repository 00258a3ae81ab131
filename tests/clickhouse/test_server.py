"""A real `speleo serve --backend chdb://...`: a monitored file's events are sealed into ClickHouse
and the search API answers from there (the home has no bucket); kill -9 and restart keep them once."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import ServerProc, wait_for

pytest.importorskip("chdb")

LINES = [f"2024-03-01T10:{m:02d}:00Z srv=web{m % 3} status={200 + (m % 2) * 300} took={m}" for m in range(40)]


def count_in(chdb) -> int:
    code = ("import clickhouse_connect,sys; c=clickhouse_connect.get_client(interface='chdb', path=sys.argv[1]);"
            "print(c.query('SELECT count() FROM speleo.idx_main').result_rows[0][0])")
    return int(subprocess.run([sys.executable, "-c", code, str(chdb)], capture_output=True, text=True,
                              check=True).stdout)


def test_serve_on_clickhouse(tmp_path):
    log = tmp_path / "app.log"
    log.write_text("\n".join(LINES) + "\n")
    chdb = tmp_path / "ch"
    home = tmp_path / "home"
    server = ServerProc(home, ["--backend", f"chdb://{chdb}", "--monitor", str(log)]).start()
    try:
        q = "index=main earliest=0 | stats count"
        wait_for(lambda: server.search(q)["results"] == [{"count": len(LINES)}], timeout=30)
        by = server.search("index=main earliest=0 status=500 | stats count by srv")["results"]
        want = {}
        for m in range(40):
            if m % 2:
                want[f"web{m % 3}"] = want.get(f"web{m % 3}", 0) + 1
        assert {r["srv"]: r["count"] for r in by} == want
        assert not list((home / "indexes").rglob("*.parquet"))      # nothing went to buckets
        server.kill9()
        server.start()                                               # recovery replays nothing twice
        assert server.search(q)["results"] == [{"count": len(LINES)}]
    finally:
        server.stop()
    assert count_in(chdb) == len(LINES)
