"""The ClickHouse layout and insert path on chdb: DDL applies and holds what the research asks,
the cluster variant parses (it cannot run here), events round-trip exactly, a re-sent batch is not
stored twice, backfills spanning more than 100 days are split, retention is a TTL that drops whole
parts, and the hour-bucket predicate prunes granules."""

from __future__ import annotations

import json
import re
from datetime import timezone

import pyarrow as pa
import pytest

from speleo.errors import InputError
from speleo.spl import CompileContext, compile_search
from speleo.storage.clickhouse import client as chclient
from speleo.storage.clickhouse import ddl
from speleo.storage.clickhouse.sink import day_groups
from tests.clickhouse.conftest import backend_on
from tests.spl.conftest import field_sql

DAY = 86400.0
T0 = 1_700_000_000.123456          # microseconds kept


def events(times, raws=None, index="web", **cols) -> pa.Table:
    n = len(times)
    base = {
        "_time": pa.array(times, pa.float64()), "_raw": raws or [f"event {i} status=200" for i in range(n)],
        "host": ["h1"] * n, "source": ["/var/log/x"] * n, "sourcetype": ["app"] * n, "index": [index] * n,
        "_indextime": pa.array([T0] * n, pa.float64()), "linecount": pa.array([1] * n, pa.int32()),
        "_offset": pa.array(range(n), pa.int64()), "_flags": pa.nulls(n, pa.string()),
        "_fields": pa.nulls(n, pa.string()),
    }
    base.update(cols)
    return pa.table(base)


@pytest.fixture(scope="module")
def be(ch_client):
    b = backend_on(ch_client, "store_t")
    b.client.command("DROP DATABASE IF EXISTS store_t")
    return b


def ctx(now: float = T0 + 1) -> CompileContext:
    return CompileContext(now=now, tz=timezone.utc, field_sql=field_sql)


def count(be, index: str) -> int:
    return be.client.query(f"SELECT count() FROM store_t.`idx_{index}`").result_rows[0][0]


def test_ddl_creates_the_measured_layout(be):
    be.ensure_index(ddl.IndexLayout("layout", retention_secs=40 * DAY + 1))
    be.ensure_index(ddl.IndexLayout("layout"))          # idempotent
    text = be.client.query("SHOW CREATE TABLE store_t.`idx_layout`").result_rows[0][0]
    for part in ("TYPE text(tokenizer = splitByNonAlpha)", "PROJECTION p_min", "toIntervalDay(41)",
                 "map_serialization_version = 'with_buckets'", "ttl_only_drop_parts = 1",
                 "ORDER BY (toStartOfHour(_time), sourcetype, host, source, _time)", "PARTITION BY toDate(_time)",
                 "non_replicated_deduplication_window", "lightweight_mutation_projection_mode = 'rebuild'"):
        assert part in text, part
    assert "Nullable(" not in text
    assert be.indexes() == ["layout"]


def test_cluster_ddl_parses_but_needs_a_cluster(be):
    topo = ddl.Topology(database="speleo", cluster="logs3x2")
    stmts = ddl.create_table(ddl.IndexLayout("my-app", 7 * DAY), topo)
    assert len(stmts) == 3
    for stmt in stmts:       # ClickHouse's own parser: the statement is well formed
        formatted = be.client.query("SELECT formatQuery({q:String})", parameters={"q": stmt}).result_rows[0][0]
        assert "ON CLUSTER logs3x2" in formatted
    assert "ReplicatedMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')" in stmts[1]
    assert "ENGINE = Distributed('logs3x2', 'speleo', 'idx_my-app_local', rand())" in stmts[2]
    assert "non_replicated_deduplication_window" not in stmts[1]
    for stmt in ddl.modify_ttl(ddl.IndexLayout("my-app", 3 * DAY), topo) + ddl.drop_table("my-app", topo):
        be.client.query("SELECT formatQuery({q:String})", parameters={"q": stmt})
    with pytest.raises(Exception, match="(?i)cluster|replicated|zookeeper|keeper"):
        be.client.command(stmts[1])        # chdb has no Keeper: untested here (docs/scale-out.md)


def test_bad_names_and_urls_are_refused():
    with pytest.raises(InputError, match="index name"):
        ddl.table_name("Bad`name")
    with pytest.raises(InputError, match="identifier"):
        ddl.Topology(cluster="a b")
    with pytest.raises(InputError, match="scheme"):
        chclient.parse_url("mysql://x")
    url = chclient.parse_url("clickhouse://speleo:s3cret@ch1.example:9000/logs?cluster=c3&secure=1")
    assert (url.host, url.port, url.username, url.password, url.topology.database, url.topology.cluster) == \
        ("ch1.example", 9000, "speleo", "s3cret", "logs", "c3")
    assert "s3cret" not in url.display and "s3cret" not in repr(url)


def test_round_trip_keeps_every_column(be):
    be.ensure_index(ddl.IndexLayout("rt"))
    fields = [json.dumps({"severity": 3, "facility": "auth"}), None, json.dumps({"k": "v"})]
    batch = events([T0, T0 - 1.5, T0 - 3600.000001], raws=["a b", "c d", "e f"], index="rt",
                   _fields=pa.array(fields, pa.string()), host=["h1", None, "h3"])
    be.write("rt", batch, "rt-1")
    got = be.execute(compile_search("index=rt", ctx()), limit=0).table.to_pylist()
    assert [r["_time"] for r in got] == [T0, T0 - 1.5, T0 - 3600.000001]
    assert [r["host"] for r in got] == ["h1", None, "h3"]
    assert [r["index"] for r in got] == ["rt"] * 3
    assert [json.loads(r["_fields"]) if r["_fields"] else None for r in got] == \
        [{"severity": "3", "facility": "auth"}, None, {"k": "v"}]
    assert [r["_offset"] for r in got] == [0, 1, 2]


def test_a_resent_batch_is_stored_once(be):
    be.ensure_index(ddl.IndexLayout("dedup"))
    batch = events([T0 - i for i in range(50)], index="dedup")
    be.write("dedup", batch, "seg7:dedup")
    be.write("dedup", batch, "seg7:dedup")      # a retry after a timeout, or a replay after kill -9
    assert count(be, "dedup") == 50
    be.write("dedup", batch, "seg8:dedup")      # another batch with equal rows is new data
    assert count(be, "dedup") == 100


def test_a_backfill_over_many_days_is_split_by_partition(be):
    be.ensure_index(ddl.IndexLayout("backfill"))
    times = [T0 - d * DAY for d in range(250)]   # 250 day partitions: > max_partitions_per_insert_block
    assert [len(g) for g in day_groups(pa.chunked_array([times]))] == [100, 100, 50]
    be.write("backfill", events(times, index="backfill"), "bf")
    assert count(be, "backfill") == 250


def test_retention_is_a_ttl_dropping_whole_parts(be):
    layout = ddl.IndexLayout("ret")
    be.ensure_index(layout)
    now_ch = be.client.query("SELECT toUnixTimestamp(now())").result_rows[0][0]
    old = [now_ch - 40 * DAY - i for i in range(5)]
    new = [now_ch - 60 - i for i in range(3)]
    be.write("ret", events(old + new, index="ret"), "ret-1")
    assert count(be, "ret") == 8
    report = be.apply_retention(ddl.IndexLayout("ret", retention_secs=30 * DAY))
    assert report["ttl_days"] == 30
    be.client.command("OPTIMIZE TABLE store_t.`idx_ret` FINAL")
    assert count(be, "ret") == 3
    mutations = be.client.query("SELECT count() FROM system.mutations WHERE database = 'store_t'").result_rows[0][0]
    assert mutations == 0                      # whole parts dropped, no row rewrite


def test_the_hour_bucket_predicate_prunes_granules(be):
    be.ensure_index(ddl.IndexLayout("prune"))
    times = [T0 - i for i in range(86_400)]    # one event a second for a day: ~11 granules of 8192
    be.write("prune", events(times, raws=["e"] * len(times), index="prune"), "prune-1")
    compiled = compile_search("index=prune earliest=-1h | stats count", ctx(T0))
    assert be.execute(compiled).table.to_pylist() == [{"count": sum(1 for t in times if t >= T0 - 3600)}]
    plan = be.explain(compiled)
    assert "toStartOfHour(t._time) >=" in plan
    key = plan[plan.index("PrimaryKey"):]
    read, total = map(int, re.search(r"Granules: (\d+)/(\d+)", key).groups())
    assert total >= 10 and read <= 2              # an hour of a day: the primary key pruned


def test_a_shorter_retention_drops_the_days_already_past_it(be):
    """A TTL changed later applies to parts written later; the days already stored that the new,
    shorter limit puts out of reach are dropped at once (review finding), the others stay."""
    be.ensure_index(ddl.IndexLayout("shorter", retention_secs=90 * DAY))
    now_ch = be.client.query("SELECT toUnixTimestamp(now())").result_rows[0][0]
    old = [now_ch - 60 * DAY - i for i in range(4)]           # inside 90 days, outside 30
    recent = [now_ch - 2 * DAY - i for i in range(3)]
    be.write("shorter", events(old + recent, index="shorter"), "shorter-1")
    be.apply_retention(ddl.IndexLayout("shorter", retention_secs=90 * DAY))
    assert count(be, "shorter") == 7                          # nothing past 90 days
    report = be.apply_retention(ddl.IndexLayout("shorter", retention_secs=30 * DAY))
    assert report["ttl_days"] == 30 and report["partitions_dropped"] >= 1
    assert count(be, "shorter") == 3                          # at once, without a merge


def test_partition_names_never_reach_sql_unchecked():
    with pytest.raises(InputError):
        ddl.drop_partitions("web", ["2026-01-01'; DROP TABLE x; --"])


def test_inserts_wait_while_clickhouse_has_too_many_unmerged_parts(be):
    """Back-pressure (issue 17: "back-pressure from the number of active parts"): with merges
    stopped, each batch adds a part; at the threshold a write waits, then refuses with SinkBusy
    (the journal keeps the segment); once merged, the same batch goes in, once."""
    from speleo.query.clickhouse import SinkBusy

    be.ensure_index(ddl.IndexLayout("bp"))
    be.client.command("SYSTEM STOP MERGES `store_t`.`idx_bp`")
    be.max_active_parts, be.busy_wait_secs, be.parts_check_secs = 4, 0.6, 0.0
    try:
        for i in range(4):
            be.write("bp", events([T0 + i], index="bp"), f"bp-{i}")
        assert be.active_parts("bp") == 4
        late = events([T0 + 10], index="bp")
        with pytest.raises(SinkBusy, match="4 unmerged parts .* index 'bp'"):
            be.write("bp", late, "bp-late")
        assert count(be, "bp") == 4                       # nothing half-written
        be.client.command("SYSTEM START MERGES `store_t`.`idx_bp`")
        be.client.command("OPTIMIZE TABLE `store_t`.`idx_bp` FINAL")
        assert be.active_parts("bp") == 1
        be.write("bp", late, "bp-late")                   # the sealer's retry
        be.write("bp", late, "bp-late")                   # and a replay of it: ignored
        assert count(be, "bp") == 5
    finally:
        be.client.command("SYSTEM START MERGES `store_t`.`idx_bp`")
        be.max_active_parts, be.busy_wait_secs, be.parts_check_secs = 600, 5.0, 5.0
