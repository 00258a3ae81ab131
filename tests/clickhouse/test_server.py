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


def ttl_of(chdb, index: str) -> str:
    """The TTL clause of an index's table, read from the stopped server's chdb folder."""
    code = ("import clickhouse_connect,sys; c=clickhouse_connect.get_client(interface='chdb', path=sys.argv[1]);"
            "print(c.query(\"SELECT create_table_query FROM system.tables WHERE database = 'speleo' AND name = {n:String}\","
            " parameters={'n': sys.argv[2]}).result_rows[0][0])")
    ddl = subprocess.run([sys.executable, "-c", code, str(chdb), f"idx_{index}"], capture_output=True, text=True,
                         check=True).stdout
    return ddl[ddl.find("TTL"):].split(" SETTINGS")[0] if "TTL" in ddl else ""


class RetentionEverySecond(ServerProc):
    def popen_kwargs(self) -> dict:
        import os
        return {"env": {**os.environ, "SPELEO_RETENTION_CHECK_SECS": "1"}}


def test_the_server_applies_index_retention_to_clickhouse(tmp_path):
    """frozenTimePeriodInSecs reaches the tables: an index made before the server started gets its
    TTL at start, an edit through the running server changes it at once."""
    from tests.conftest import run_cli

    chdb, home = tmp_path / "ch", tmp_path / "home"
    run_cli(home, "index", "create", "app", "--max-age", "40d")            # no server yet
    server = RetentionEverySecond(home, ["--backend", f"chdb://{chdb}"]).start()
    try:
        run_cli(home, "index", "edit", "main", "--max-age", "10d")          # beside the server
        run_cli(home, "index", "edit", "app", "--max-age", "36h")           # rounded up to whole days
        applied = "index=_internal sourcetype=lifecycle event=retention_applied (ttl_days=10 OR ttl_days=2) | stats dc(ttl_days)"
        wait_for(lambda: server.search(applied)["results"][0]["dc(ttl_days)"] == 2, timeout=30)   # both edits applied
        r = server.api("POST", "/services/data/indexes", data={"name": "fresh", "frozenTimePeriodInSecs": "432000"})
        assert r.status_code in (200, 201), r.text                          # the Splunk REST way, 5 days
    finally:
        server.stop()
    assert ttl_of(chdb, "fresh") == "TTL toDateTime(_time) + toIntervalDay(5)"
    assert ttl_of(chdb, "main") == "TTL toDateTime(_time) + toIntervalDay(10)"
    assert ttl_of(chdb, "app") == "TTL toDateTime(_time) + toIntervalDay(2)"


def test_delete_on_clickhouse_hides_the_events_at_once(tmp_path):
    """`| delete` through a chdb-backed server (Splunk's rules: a user with can_delete; `_audit`
    keeps the record); an identical event in another index stays (the identity names the index)."""
    import httpx

    from tests.conftest import run_cli

    log = tmp_path / "app.log"
    log.write_text("\n".join(LINES) + "\n")
    chdb, home = tmp_path / "ch", tmp_path / "home"
    run_cli(home, "user", "add", "carol", "--role", "user", "--role", "can_delete", "--password-stdin",
            input="carol-Pw-12345\n")
    server = ServerProc(home, ["--backend", f"chdb://{chdb}"]).start()
    try:
        for index in ("main", "copy"):
            r = server.api("POST", "/api/v1/inputs/oneshot", json={"path": str(log), "index": index})
            assert r.status_code == 200, r.text
        both = "index=main OR index=copy earliest=0 | stats count by index"
        wait_for(lambda: {r["index"]: r["count"] for r in server.search(both)["results"]} == {"main": 40, "copy": 40})
        doomed = [line for line in LINES if "status=500" in line and "srv=web1" in line]
        r = server.api("POST", "/api/v1/search", json={"search": "index=main status=500 srv=web1 | delete"})
        assert r.status_code == 403, r.text             # the admin token lacks delete_by_keyword (Splunk's default)
        r = httpx.post(server.url + "/api/v1/search", auth=("carol", "carol-Pw-12345"), timeout=60,
                       json={"search": "index=main earliest=0 status=500 srv=web1 | delete", "limit": 0})
        assert r.status_code == 200, r.text
        assert r.json()["results"] == [{"index": "main", "deleted": len(doomed), "errors": 0}]
        assert {r["index"]: r["count"] for r in server.search(both)["results"]} == {"main": 40 - len(doomed), "copy": 40}
        assert server.search("index=main earliest=0 srv=web1 status=500")["events"] == []
        kept = {e["_raw"] for e in server.search("index=copy earliest=0 srv=web1 status=500")["events"]}
        assert kept == set(doomed)                     # the same lines in another index stay
        audit = "index=_audit action=delete | table user deleted_main"     # once the sealer sent it
        wait_for(lambda: server.search(audit)["results"] == [{"user": "carol", "deleted_main": str(len(doomed))}])
    finally:
        server.stop()
