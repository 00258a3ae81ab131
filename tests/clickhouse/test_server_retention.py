"""Retention applied by a real `speleo serve --backend chdb://...`: an index edit through the API
sets the table's TTL, and events older than it go away at the next merge (OPTIMIZE ... FINAL)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import datetime, timezone

import pytest

from tests.conftest import ServerProc, run_cli, wait_for

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


class QuickRetention(ServerProc):
    """A server that checks index settings twice a second (`retention_check_secs`)."""

    def popen_kwargs(self) -> dict:
        import os

        return {"env": {**os.environ, "SPELEO_RETENTION_CHECK_SECS": "0.5"}}


def applied(server, index: str) -> list:
    q = f"index=_internal earliest=0 event=retention_applied idx={index} | table idx ttl_days"
    return server.search(q)["results"]


def test_index_edit_sets_ttl_and_old_events_go(tmp_path):
    now = time.time()
    old = [f"{stamp(now - 10 * DAY + m * 60)} old event {m}" for m in range(5)]
    new = [f"{stamp(now - 3600 + m * 60)} new event {m}" for m in range(5)]
    log = tmp_path / "app.log"
    log.write_text("\n".join(old + new) + "\n")
    chdb, home = tmp_path / "ch", tmp_path / "home"
    server = QuickRetention(home, ["--backend", f"chdb://{chdb}", "--monitor", str(log)]).start()
    try:
        q = "index=main earliest=0 | stats count"
        wait_for(lambda: server.search(q)["results"] == [{"count": 10}], timeout=30)
        r = server.api("PATCH", "/api/v1/indexes/main", json={"frozenTimePeriodInSecs": 3 * DAY})
        assert r.status_code == 200, r.text
        wait_for(lambda: {"idx": "main", "ttl_days": "none"} in applied(server, "main"), timeout=20)  # at start
        wait_for(lambda: {"idx": "main", "ttl_days": "3"} in applied(server, "main"), timeout=20)
        # an edit by the CLI (the catalog, not the server) is applied at the next check
        run_cli(home, "index", "edit", "main", "--max-age", "5d")
        wait_for(lambda: {"idx": "main", "ttl_days": "5"} in applied(server, "main"), timeout=20)
    finally:
        server.stop()
    seen = inspect(chdb)
    assert "TTL toDateTime(_time) + toIntervalDay(5)" in seen["ddl"], seen["ddl"]
    assert seen["raw"] == new


def test_sync_retention_creates_and_changes_only_what_changed(ch_client):
    """What the server's retention loop calls at start and on every check."""
    from types import SimpleNamespace

    from tests.clickhouse.conftest import backend_on

    b = backend_on(ch_client, "ret_sync")
    every = {"a": SimpleNamespace(name="a", frozen_time_period_secs=2 * DAY),
             "b": SimpleNamespace(name="b", frozen_time_period_secs=float("inf"))}
    assert [d["ttl_days"] for d in b.sync_retention(every)] == [2, None]
    assert b.sync_retention(every) == []                      # nothing changed: no ALTER
    every["a"] = SimpleNamespace(name="a", frozen_time_period_secs=DAY + 1)   # still 2 whole days
    assert b.sync_retention(every) == []
    every["a"] = SimpleNamespace(name="a", frozen_time_period_secs=4 * DAY + 1)
    assert b.sync_retention(every) == [{"engine": "clickhouse", "index": "a", "ttl_days": 5}]
    ddl = ch_client.query("SELECT create_table_query FROM system.tables WHERE database = 'ret_sync' "
                          "ORDER BY name").result_rows
    assert "toIntervalDay(5)" in ddl[0][0] and " TTL " not in ddl[1][0]
