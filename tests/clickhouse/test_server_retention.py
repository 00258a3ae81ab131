"""Retention applied by a real `speleo serve --backend chdb://...`: an index edit through the API
sets the table's TTL, and events older than it go away at the next merge (OPTIMIZE ... FINAL)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import datetime, timezone

import pytest

from tests.conftest import ServerProc, wait_for

pytest.importorskip("chdb")

DAY = 86400


def stamp(t: float) -> str:
    return datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def inspect(chdb) -> dict:
    """The table's DDL, then its events after a final merge, read by another process."""
    code = ("import clickhouse_connect,sys,json; c=clickhouse_connect.get_client(interface='chdb', path=sys.argv[1]);"
            "ddl=c.query(\"SELECT create_table_query FROM system.tables WHERE database='speleo' AND name='idx_main'\").result_rows[0][0];"
            "c.command('OPTIMIZE TABLE speleo.idx_main FINAL');"
            "raw=[r[0] for r in c.query('SELECT _raw FROM speleo.idx_main ORDER BY _time').result_rows];"
            "print(json.dumps({'ddl': ddl, 'raw': raw}))")
    return json.loads(subprocess.run([sys.executable, "-c", code, str(chdb)], capture_output=True, text=True,
                                     check=True).stdout)


def test_index_edit_sets_ttl_and_old_events_go(tmp_path):
    now = time.time()
    old = [f"{stamp(now - 10 * DAY + m * 60)} old event {m}" for m in range(5)]
    new = [f"{stamp(now - 3600 + m * 60)} new event {m}" for m in range(5)]
    log = tmp_path / "app.log"
    log.write_text("\n".join(old + new) + "\n")
    chdb, home = tmp_path / "ch", tmp_path / "home"
    server = ServerProc(home, ["--backend", f"chdb://{chdb}", "--monitor", str(log)]).start()
    try:
        q = "index=main earliest=0 | stats count"
        wait_for(lambda: server.search(q)["results"] == [{"count": 10}], timeout=30)
        r = server.api("PATCH", "/api/v1/indexes/main", json={"frozenTimePeriodInSecs": 3 * DAY})
        assert r.status_code == 200, r.text                 # the TTL is set before the answer
    finally:
        server.stop()
    seen = inspect(chdb)
    assert "TTL toDateTime(_time) + toIntervalDay(3)" in seen["ddl"], seen["ddl"]
    assert seen["raw"] == new



def test_archive_and_thaw_through_a_real_server_and_the_cli(tmp_path):
    """`speleo serve --backend chdb://...`: an index given coldToFrozenDir through the API; the
    retention run (CLI, through the server) archives the days past the age limit as Parquet and
    drops them; `speleo
    index thaw` (CLI, through the server) brings one back into searches; `speleo index unthaw`
    lets it go; the archive files are read here with pyarrow alone."""
    import pyarrow.parquet as pq

    now = time.time()
    old = [f"{stamp(now - 10 * DAY + m * 60)} old event {m}" for m in range(5)]
    mid = [f"{stamp(now - 6 * DAY + m * 60)} mid event {m}" for m in range(4)]
    new = [f"{stamp(now - 3600 + m * 60)} new event {m}" for m in range(3)]
    log = tmp_path / "app.log"
    log.write_text("\n".join(old + mid + new) + "\n")
    chdb, home, frozen = tmp_path / "ch", tmp_path / "home", tmp_path / "frozen"
    server = ServerProc(home, ["--backend", f"chdb://{chdb}", "--monitor", str(log)]).start()
    try:
        q = "index=main earliest=0 | stats count"
        wait_for(lambda: server.search(q)["results"] == [{"count": 12}], timeout=30)
        r = server.api("PATCH", "/api/v1/indexes/main", json={"frozenTimePeriodInSecs": 3 * DAY,
                                                               "coldToFrozenDir": str(frozen)})
        assert r.status_code == 200, r.text
        cli = [sys.executable, "-m", "speleo.cli.main", "--home", str(home)]
        out = subprocess.run(cli + ["index", "retention", "run"], capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        lines = [line for line in out.stdout.splitlines() if line.startswith("archived: day ")]
        assert len(lines) == 2 and all("of index 'main' (age)" in line for line in lines), out.stdout
        assert server.search(q)["results"] == [{"count": 3}]
        files = sorted(frozen.glob("main/*.parquet"))
        assert [sorted(pq.read_table(f).column("_raw").to_pylist()) for f in files] == [sorted(old), sorted(mid)]
        r = server.api("POST", "/api/v1/retention/run", json={})
        assert r.status_code == 200 and r.json() == {"actions": [], "failures": []}, r.text
        out = subprocess.run(cli + ["index", "thaw", "main", "--earliest", stamp(now - 7 * DAY),
                                    "--latest", stamp(now - 5 * DAY)], capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        assert "thawed 1" in out.stdout and "4 events" in out.stdout
        raws = server.search("index=main earliest=0 | sort _time | table _raw")["results"]
        assert [r["_raw"] for r in raws] == mid + new
        out = subprocess.run(cli + ["index", "unthaw", "main"], capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        assert server.search(q)["results"] == [{"count": 3}]
        show = server.api("GET", "/api/v1/indexes/main").json()
        assert len(show["archives"]) == 2
    finally:
        server.stop()
