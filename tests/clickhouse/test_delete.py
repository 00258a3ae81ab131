"""`| delete` on ClickHouse (a lightweight DELETE, `ClickHouseBackend.delete_events`) against the embedded
backend (tombstones): the same searches on both leave the same events; the capability check and
the `_audit` event are the same. Expected events are computed from the lines the test wrote."""

from __future__ import annotations

import pyarrow as pa
import pytest

from speleo.config import Home
from speleo.errors import ForbiddenError, InputError
from speleo.service import Service
from tests.clickhouse.conftest import backend_on

T0 = 1_700_000_000.0
NOW = T0 + 1000
N = 30


def batch(index: str) -> pa.Table:
    """Fractional times, a missing host, a repeated line (same _raw, other _offset) and the same
    events in two indexes: the key must tell them apart."""
    return pa.table({
        "_time": pa.array([T0 + i * 0.37 for i in range(N)], pa.float64()),
        "_raw": [f"user={'bob' if i % 3 == 0 else 'amy'} n={i % 25} it's \"q\"" for i in range(N)],
        "host": [None if i % 5 == 0 else f"h{i % 2}" for i in range(N)],
        "source": ["/var/log/app.log"] * N, "sourcetype": ["app"] * N, "index": [index] * N,
        "_indextime": pa.array([T0 + 2.5] * N, pa.float64()),
        "_offset": pa.array([i * 40 for i in range(N)], pa.int64()),
    })


def remaining(svc) -> list[tuple]:
    rows = svc.search("index=main OR index=web earliest=0 | table index _time _raw host", now=NOW, limit=0)
    return sorted((r["index"], r["_time"], r["_raw"], r["host"]) for r in rows.table.to_pylist())


@pytest.fixture
def both(ch_client, tmp_path):
    embedded = Service(Home(tmp_path / "emb"), backend="")
    embedded.catalog.ensure_index("web")
    w = embedded.open_writer()
    for index in ("main", "web"):
        w.store.append(batch(index))
    w.store.seal()
    w.close()
    embedded.writer = None
    ch = Service(Home(tmp_path / "ch"), backend="chdb://in-this-process")
    ch._backend = backend_on(ch_client, "del_diff")     # chdb: one engine per process (conftest)
    ch._backend.client.command("DROP DATABASE IF EXISTS del_diff")
    ch.catalog.ensure_index("web")
    for index in ("main", "web"):
        ch._backend.write(index, batch(index), f"{index}-1")
    return embedded, ch


DELETES = ["index=main user=bob | delete",
           "index=main n=7 OR n=20 | where isnull(host) OR host=\"h1\" | delete",
           "index=main it's | delete"]


def test_the_same_delete_leaves_the_same_events(both):
    embedded, ch = both
    assert remaining(ch) == remaining(embedded)
    before = remaining(embedded)
    bob = {r for r in before if r[0] == "main" and r[2].startswith("user=bob")}
    assert len(bob) == 10
    # i % 3 == 0 is bob (10 of 30); then i = 7 (host h1) and i = 20 (no host); then the other 18
    for q, count in zip(DELETES, (10, 2, 18)):
        for svc in (embedded, ch):
            assert svc.search(q, now=NOW, capabilities=None).table.to_pylist() == \
                [{"index": "main", "deleted": count, "errors": 0}]
        assert remaining(ch) == remaining(embedded)
        # rows are masked at once in the table itself (lightweight DELETE), not only in searches
        stored = ch.backend.client.query("SELECT count() FROM del_diff.idx_main").result_rows[0][0]
        assert stored == len([r for r in remaining(ch) if r[0] == "main"])
        if count == 2:
            left = remaining(ch)
    assert not bob & set(left)
    assert [r for r in left if r[0] == "web"] == [r for r in before if r[0] == "web"]   # other index untouched
    assert len([r for r in left if r[0] == "main"]) == 18 and stored == 0
    be = ch.backend
    be.client.command("OPTIMIZE TABLE del_diff.idx_main FINAL")     # the merge reclaims the space
    assert be.client.query("SELECT sum(rows) FROM system.parts WHERE database = 'del_diff' "
                           "AND table = 'idx_main' AND active").result_rows[0][0] == 0


def test_capability_and_audit_as_on_the_embedded_backend(both):
    _, ch = both
    with pytest.raises(ForbiddenError, match="delete_by_keyword"):
        ch.search(DELETES[0], now=NOW, capabilities=frozenset({"search"}), actor="eve")
    assert len(remaining(ch)) == 2 * N
    ch.search(DELETES[0], now=NOW, capabilities=frozenset({"delete_by_keyword"}), actor="del")
    audit = ch.search("index=_audit earliest=0 action=delete | table user search deleted_main", now=NOW, limit=0)
    assert audit.table.to_pylist() == [{"user": "del", "search": DELETES[0], "deleted_main": "10"}]
    with pytest.raises(InputError, match="_audit"):
        ch.search("index=_audit earliest=0 | delete", now=NOW, capabilities=None)


def test_the_cluster_delete_is_generated_by_the_same_code_and_parses(ch_client):
    """A cluster cannot run here (no Keeper): the statements a cluster's `| delete` sends come
    from `ddl.delete_statements`, whose single-node form the tests above run for real; the
    cluster form is checked by ClickHouse's own parser and for what each shard needs."""
    from speleo.storage.clickhouse import ddl

    topo = ddl.Topology(database="speleo", cluster="logs")
    stmts = ddl.delete_statements("web", "__delete_1_2", topo)
    for group in ("create", "sync", "count", "delete", "drop"):
        for stmt in stmts[group]:
            ch_client.query("SELECT formatQuery({q:String})", parameters={"q": stmt})
    create, delete = stmts["create"][0], stmts["delete"][0]
    # every node holds every key: one Keeper path for the whole cluster (no {shard})
    assert "ON CLUSTER 'logs'" in create and "ReplicatedMergeTree('/clickhouse/speleo/delete/speleo/__delete_1_2'" in create
    assert "{shard}" not in create
    # each shard deletes from its local table; the count reads the Distributed one
    assert delete.startswith("DELETE FROM `speleo`.`idx_web_local` ON CLUSTER 'logs' WHERE")
    assert "`speleo`.`idx_web` WHERE" in stmts["count"][0]
    assert stmts["sync"] == ["SYSTEM SYNC REPLICA ON CLUSTER 'logs' `speleo`.`__delete_1_2`"]
    assert stmts["drop"][0].endswith("ON CLUSTER 'logs' SYNC")
    single = ddl.delete_statements("web", "__delete_1_2")
    assert single["create"][0].endswith("ENGINE = Memory") and single["sync"] == []
    # an index with thawed events: both tables
    both = ddl.delete_statements("web", "__delete_1_2", topo, thawed=True)
    assert [d.split(" ON CLUSTER")[0] for d in both["delete"]] == ["DELETE FROM `speleo`.`idx_web_local`",
                                                                   "DELETE FROM `speleo`.`thw_web_local`"]
    for stmt in both["delete"] + both["count"]:
        ch_client.query("SELECT formatQuery({q:String})", parameters={"q": stmt})
    with pytest.raises(InputError, match="plain identifier"):
        ddl.delete_statements("web", "x; DROP TABLE y")
