"""Lifecycle of indexes on ClickHouse (issue 17: "size caps and archive to Parquet through the same
commands as the embedded store", "tiers as storage policies"): size caps and volume caps drop the
oldest day partitions; with `coldToFrozenDir` a frozen day is first written as Parquet to the
archive and recorded; thaw brings it back into searches, unthaw lets it go; a crash between the
archive and the drop redoes the archive under the same name; the tiers' DDL runs on chdb.
chdb 26.9; events planted here, expected figures computed from them (Splunk indexes.conf.spec:
maxTotalDataSizeMB, maxVolumeDataSizeMB, frozenTimePeriodInSecs, coldToFrozenDir)."""

from __future__ import annotations

import json
import random

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from speleo.config import Home
from speleo.errors import InputError, NotFoundError
from speleo.service import Service
from speleo.storage import lifecycle as embedded_lifecycle
from speleo.storage.clickhouse import client as chclient
from speleo.storage.clickhouse import ddl
from tests.clickhouse.conftest import backend_on

DAY = 86400
NOW = 1_700_000_000.0 - (1_700_000_000.0 % DAY) + 12 * 3600     # noon UTC
PER_DAY = 6000


def day_events(index: str, days: range, seed: int = 1) -> pa.Table:
    """PER_DAY events per day `d` days before NOW (random hex so days are not tiny on disk)."""
    rnd = random.Random(seed)
    times, raws = [], []
    for d in days:
        base = NOW - d * DAY - 11 * 3600           # 01:00 of that day
        for i in range(PER_DAY):
            times.append(base + i * 3.0)
            raws.append(f"day={d} n={i} {rnd.getrandbits(160):040x}")
    n = len(times)
    return pa.table({"_time": pa.array(times, pa.float64()), "_raw": raws, "host": ["h1"] * n,
                     "source": ["/var/log/app.log"] * n, "sourcetype": ["app"] * n, "index": [index] * n,
                     "_indextime": pa.array([NOW] * n, pa.float64()), "_offset": pa.array(range(n), pa.int64())})


def service(tmp_path, client, db: str) -> Service:
    svc = Service(Home(tmp_path / "home"), backend="chdb://in-this-process")
    svc._backend = backend_on(client, db)
    svc._backend.client.command(f"DROP DATABASE IF EXISTS {db}")
    return svc


def count(svc: Service, index: str) -> int:
    r = svc.search(f"index={index} earliest=0 | stats count", now=NOW + DAY, capabilities=None)
    return r.table.to_pylist()[0]["count"]


def days_left(svc: Service, index: str) -> list[str]:
    return sorted({p.partition for p in svc.backend.lifecycle(svc.home, svc.catalog).partitions([index])})


def run(svc: Service, now: float = NOW):
    return svc.with_lifecycle(lambda lc: lc.run_retention(now))


def test_size_cap_drops_the_oldest_days_until_the_index_fits(tmp_path, ch_client):
    svc = service(tmp_path, ch_client, "lc_size")
    svc.create_index("web", {"maxTotalDataSizeMB": 1})
    svc.backend.write("web", day_events("web", range(8)), "size-1")
    parts = svc.backend.lifecycle(svc.home, svc.catalog).partitions(["web"])
    assert len(parts) == 8
    # independently: drop oldest first while the total is over 1 MB
    total, expect_dropped = sum(p.bytes_on_disk for p in parts), []
    for p in sorted(parts, key=lambda p: p.partition):
        if total <= 1 << 20:
            break
        expect_dropped.append(p.partition)
        total -= p.bytes_on_disk
    assert 0 < len(expect_dropped) < 8, [p.bytes_on_disk for p in parts]
    report = run(svc)
    assert report.failures == []
    assert [a["partition"] for a in report.actions] == expect_dropped
    assert {a["reason"] for a in report.actions} == {"max_total_size"} and {a["action"] for a in report.actions} == {"deleted"}
    assert days_left(svc, "web") == sorted(p.partition for p in parts if p.partition not in expect_dropped)
    assert count(svc, "web") == PER_DAY * (8 - len(expect_dropped))
    assert run(svc).actions == []       # nothing more to do


def test_a_volume_cap_counts_every_index_on_it(tmp_path, ch_client):
    from speleo.storage import indexconf

    svc = service(tmp_path, ch_client, "lc_vol")
    indexconf.set_volume(svc.catalog, "small", "1")          # maxVolumeDataSizeMB = 1
    assert indexconf.volumes(svc.catalog)["small"].max_size_bytes == 1 << 20
    svc.create_index("a", {"volume": "small"})
    svc.create_index("b", {"volume": "small"})
    svc.backend.write("a", day_events("a", range(0, 8, 2), seed=2), "vol-a")
    svc.backend.write("b", day_events("b", range(1, 8, 2), seed=3), "vol-b")
    report = run(svc)
    assert report.failures == [] and report.actions
    assert {a["reason"] for a in report.actions} == {"volume_size"}
    left = svc.backend.lifecycle(svc.home, svc.catalog).partitions(["a", "b"])
    assert sum(p.bytes_on_disk for p in left) <= 1 << 20
    gone = {a["partition"] for a in report.actions}
    assert max(gone) < min(p.partition for p in left)      # the oldest days went, across both indexes


def test_age_with_an_archive_writes_parquet_records_it_then_drops_and_thaw_brings_it_back(tmp_path, ch_client):
    svc = service(tmp_path, ch_client, "lc_arch")
    arch = tmp_path / "frozen"
    svc.create_index("arch", {"frozenTimePeriodInSecs": 3 * DAY, "coldToFrozenDir": str(arch)})
    written = day_events("arch", range(6), seed=4)
    svc.backend.write("arch", written, "arch-1")
    # ClickHouse must not drop a day before Speleo archived it: no TTL DELETE on this table
    ddl_text = svc.backend.client.query("SELECT create_table_query FROM system.tables WHERE database = 'lc_arch' "
                                        "AND name = 'idx_arch'").result_rows[0][0]
    assert "DELETE" not in ddl_text
    report = run(svc)
    assert report.failures == []
    # days 0..2 are younger than 3 days at NOW (their newest event, 01:00 + 5 h, is in the day)
    assert sorted(a["partition"] for a in report.actions) == sorted({_day(NOW - d * DAY) for d in (3, 4, 5)})
    assert {a["action"] for a in report.actions} == {"archived"} and {a["reason"] for a in report.actions} == {"age"}
    assert count(svc, "arch") == 3 * PER_DAY
    files = sorted(arch.glob("arch/db_*_ch*.parquet"))
    assert len(files) == 3
    for f in files:                       # any Parquet reader, and the description beside it
        t = pq.read_table(f)
        desc = json.loads(f.with_suffix(".json").read_text())
        d = int(t.column("_raw")[0].as_py().split()[0].split("=")[1])
        mine = [r for r in written.column("_raw").to_pylist() if r.startswith(f"day={d} ")]
        assert sorted(t.column("_raw").to_pylist()) == sorted(mine)
        assert desc["event_count"] == t.num_rows == PER_DAY and desc["index"] == "arch"
        assert set(t.column("index").to_pylist()) == {"arch"} and set(t.column("host").to_pylist()) == {"h1"}
    shown = svc.index("arch", now=NOW)["archives"]
    assert len(shown) == 3 and {a["event_count"] for a in shown} == {PER_DAY}

    # thaw two of the three days back
    lo, hi = NOW - 5 * DAY - 12 * 3600, NOW - 3 * DAY - 12 * 3600      # days 5 and 4
    thawed = svc.with_lifecycle(lambda lc: lc.thaw("arch", lo, hi))
    assert len(thawed) == 2 and sum(t["events"] for t in thawed) == 2 * PER_DAY
    assert count(svc, "arch") == 5 * PER_DAY
    r = svc.search("index=arch earliest=0 day=5 | stats count dc(n) AS n", now=NOW + DAY, capabilities=None)
    assert r.table.to_pylist() == [{"count": PER_DAY, "n": PER_DAY}]
    assert svc.with_lifecycle(lambda lc: lc.thaw("arch", lo, hi)) == []      # already thawed
    # | delete reaches thawed events too (searches read them)
    found = svc.search("index=arch earliest=0 day=5 n=7", now=NOW + DAY, limit=0, capabilities=None).table
    assert found.num_rows == 1
    assert svc.backend.delete_events(found) == {"arch": 1}
    assert count(svc, "arch") == 5 * PER_DAY - 1
    assert run(svc).actions == []                                            # thawed days never freeze again
    assert count(svc, "arch") == 5 * PER_DAY - 1
    # the archive keeps its copy: a delete hides the thawed event, a later thaw brings it back
    gone = svc.with_lifecycle(lambda lc: lc.unthaw("arch", None, None))
    assert len(gone) == 2 and count(svc, "arch") == 3 * PER_DAY
    assert len(svc.with_lifecycle(lambda lc: lc.thaw("arch", lo, hi))) == 2   # and again after an unthaw
    assert count(svc, "arch") == 5 * PER_DAY
    with pytest.raises(NotFoundError, match="no archived day"):
        svc.with_lifecycle(lambda lc: lc.thaw("arch", NOW - 100 * DAY, NOW - 90 * DAY))
    # deleting the index drops its tables (events and thawed events)
    svc.delete_index("arch")
    names = [r[0] for r in svc.backend.client.query("SELECT name FROM system.tables WHERE database = 'lc_arch'").result_rows]
    assert "idx_arch" not in names and "thw_arch" not in names and "idx__internal" in names


def test_a_crash_between_archive_and_drop_is_redone_under_the_same_name(tmp_path, ch_client, monkeypatch):
    from speleo.storage.clickhouse import lifecycle as chlc

    svc = service(tmp_path, ch_client, "lc_crash")
    arch = tmp_path / "frozen"
    svc.create_index("c", {"frozenTimePeriodInSecs": 2 * DAY, "coldToFrozenDir": str(arch)})
    svc.backend.write("c", day_events("c", range(4), seed=5), "crash-1")

    class Crash(Exception):
        pass

    def crash_at(step):
        if step == "ch.archive.uploaded":
            raise Crash(step)

    monkeypatch.setattr(chlc, "crash_point", crash_at)
    report = run(svc)
    # day 3: archived, not recorded; day 2 waits (one staged day of an index at a time)
    assert len(report.failures) == 2 and report.actions == []
    assert "still waiting" in report.failures[1]["error"]
    lc = svc.backend.lifecycle(svc.home, svc.catalog)
    staged = lc.partitions(["c"], staging=True)                   # waiting in the staging table, whole
    assert [p.rows for p in staged] == [PER_DAY] and count(svc, "c") == 3 * PER_DAY
    assert svc.index("c", now=NOW)["archives"] == []
    first = sorted(p.name for p in arch.rglob("*.parquet"))
    assert len(first) == 1
    monkeypatch.setattr(chlc, "crash_point", embedded_lifecycle.crash_point)
    report = run(svc)
    assert report.failures == [] and [a["reason"] for a in report.actions] == ["resumed", "age"]
    names = sorted(p.name for p in arch.rglob("*.parquet"))
    assert len(names) == 2 and first[0] in names                   # the same name, written again
    assert len(svc.index("c", now=NOW)["archives"]) == 2
    assert lc.partitions(["c"], staging=True) == [] and count(svc, "c") == 2 * PER_DAY
    assert run(svc).actions == []


def test_events_written_to_a_day_while_it_is_archived_are_archived_too(tmp_path, ch_client, monkeypatch):
    """The day moves to the staging table atomically, so a late event written to it meanwhile
    lands in a new partition of the index's table, which the next check archives (never
    dropped unarchived)."""
    from speleo.storage.clickhouse import lifecycle as chlc

    svc = service(tmp_path, ch_client, "lc_race")
    arch = tmp_path / "frozen"
    svc.create_index("r", {"frozenTimePeriodInSecs": 2 * DAY, "coldToFrozenDir": str(arch)})
    svc.backend.write("r", day_events("r", range(3, 4), seed=7), "race-1")
    late = day_events("r", range(3, 4), seed=8).slice(0, 500)

    def after_staging(step):
        if step == "ch.archive.staged":
            svc.backend.write("r", late, "race-late")      # a forwarder catching up, mid-archive

    monkeypatch.setattr(chlc, "crash_point", after_staging)
    first = run(svc)
    assert [a["events"] for a in first.actions] == [PER_DAY]
    monkeypatch.setattr(chlc, "crash_point", embedded_lifecycle.crash_point)
    second = run(svc)
    assert [a["events"] for a in second.actions] == [500]
    archived = [pq.read_table(f) for f in sorted(arch.rglob("*.parquet"))]
    assert sum(t.num_rows for t in archived) == PER_DAY + 500
    assert count(svc, "r") == 0


def test_a_frozen_script_is_refused_on_clickhouse_and_the_day_kept(tmp_path, ch_client):
    svc = service(tmp_path, ch_client, "lc_script")
    svc.create_index("s")
    svc.backend.write("s", day_events("s", range(4), seed=6), "script-1")
    from speleo.storage import indexadmin

    # set beside the table (no TTL: ClickHouse's own TTL runs on the wall clock, these events are from 2023)
    indexadmin.edit_index(svc.home, svc.catalog, "s", {"frozenTimePeriodInSecs": 2 * DAY,
                                                       "coldToFrozenScript": "/bin/true"})
    report = run(svc)
    assert report.actions == [] and len(report.failures) == 2
    assert "coldToFrozenScript" in report.failures[0]["error"] and "coldToFrozenDir" in report.failures[0]["error"]
    assert count(svc, "s") == 4 * PER_DAY


def test_tiers_put_tables_under_the_storage_policy_and_move_old_days_to_the_cold_volume(ch_client):
    topo = chclient.parse_url("chdb:///x?database=lc_tiers&storage_policy=default&cold_volume=default"
                              "&cold_after_days=7").topology
    assert (topo.storage_policy, topo.cold_volume, topo.cold_after_days) == ("default", "default", 7)
    layout = ddl.IndexLayout("t", 30 * DAY)
    ch_client.command("DROP DATABASE IF EXISTS lc_tiers")
    for stmt in ddl.create_table(layout, topo):
        ch_client.command(stmt)
    text = ch_client.query("SELECT create_table_query, storage_policy FROM system.tables WHERE database = 'lc_tiers' "
                           "AND name = 'idx_t'").result_rows[0]
    assert "TTL toDateTime(_time) + toIntervalDay(7) TO VOLUME 'default', toDateTime(_time) + toIntervalDay(30)" in text[0]
    assert text[1] == "default"
    for stmt in ddl.modify_ttl(ddl.IndexLayout("t", 10 * DAY, archived=True), topo):
        ch_client.command(stmt)           # an archived index keeps the move, loses the DELETE
    text = ch_client.query("SELECT create_table_query FROM system.tables WHERE database = 'lc_tiers' "
                           "AND name = 'idx_t'").result_rows[0][0]
    assert "TO VOLUME 'default'" in text and "toIntervalDay(10)" not in text
    # the cluster variant parses (ClickHouse's own parser) and carries the policy
    cluster = ddl.Topology(database="lc_tiers", cluster="logs", storage_policy="tiered", cold_volume="cold",
                           cold_after_days=3)
    for stmt in ddl.create_table(layout, cluster) + ddl.create_thaw_table("t", cluster):
        ch_client.query("SELECT formatQuery({q:String})", parameters={"q": stmt})
    assert "storage_policy = 'tiered'" in ddl.create_table(layout, cluster)[1]
    for bad, why in (("storage_policy=x&cold_volume=cold", "cold_after_days"),
                     ("cold_volume=cold&cold_after_days=3", "storage_policy"),
                     ("storage_policy=a-b", "plain identifier"),
                     ("storage_policy=p&cold_volume=c&cold_after_days=0", "at least 1"),
                     ("storage_policy=p&cold_volume=c&cold_after_days=week", "whole number")):
        with pytest.raises(InputError, match=why):
            chclient.parse_url(f"clickhouse://h:8123/db?{bad}")


def _day(t: float) -> str:
    import datetime as dt

    return dt.datetime.fromtimestamp(t, dt.timezone.utc).strftime("%Y-%m-%d")


def test_a_day_whose_events_were_all_deleted_just_goes(tmp_path, ch_client):
    svc = service(tmp_path, ch_client, "lc_gone")
    arch = tmp_path / "frozen"
    svc.create_index("g", {"frozenTimePeriodInSecs": 2 * DAY, "coldToFrozenDir": str(arch)})
    svc.backend.write("g", day_events("g", range(3, 4), seed=9).slice(0, 50), "gone-1")
    found = svc.search("index=g earliest=0", now=NOW + DAY, limit=0, capabilities=None).table
    assert svc.backend.delete_events(found) == {"g": 50}
    report = run(svc)
    assert report.failures == [] and [a["action"] for a in report.actions] == ["deleted"]
    assert list(arch.rglob("*.parquet")) == [] and run(svc).actions == []


def test_index_list_and_show_count_the_clickhouse_days(tmp_path, ch_client):
    svc = service(tmp_path, ch_client, "lc_list")
    svc.create_index("app_local")           # a name ending in _local is an index on one node
    svc.backend.write("app_local", day_events("app_local", range(2), seed=10), "list-1")
    row = next(r for r in svc.indexes() if r["name"] == "app_local")
    assert (row["events"], row["buckets"]) == (2 * PER_DAY, 2) and row["size_bytes"] > 0
    shown = svc.index("app_local", now=NOW)
    assert shown["events"] == 2 * PER_DAY and len(shown["clickhouse_days"]) == 2
    assert count(svc, "app_local") == 2 * PER_DAY


def test_tier_settings_the_server_lacks_are_refused_when_connecting(ch_client):
    topo = lambda **kw: ddl.Topology(database="x", **kw)   # noqa: E731
    chclient.check_tiers(ch_client, topo(storage_policy="default", cold_volume="default", cold_after_days=3))
    with pytest.raises(InputError, match=r"storage_policy=.nope. is not a storage policy .*\(it has: default\)"):
        chclient.check_tiers(ch_client, topo(storage_policy="nope"))
    with pytest.raises(InputError, match="cold_volume='cold' is not a volume of storage policy 'default'"):
        chclient.check_tiers(ch_client, topo(storage_policy="default", cold_volume="cold", cold_after_days=3))
    with pytest.raises(InputError, match="at most 36500"):
        chclient.parse_url("clickhouse://h/db?storage_policy=p&cold_volume=c&cold_after_days=99999999999")


@pytest.mark.parametrize("then", ["another folder", "no archive"])
def test_a_day_archived_before_a_crash_is_never_archived_or_restored_twice(tmp_path, ch_client, monkeypatch, then):
    """A crash after the catalog recorded the archive leaves the day staged; whatever the
    settings become (another coldToFrozenDir, or none), the next run lets it go once: no second
    archive, no copy moved back beside the archive. The index has promoted fields: the staging
    table copies them (MOVE PARTITION needs the same columns)."""
    from speleo.storage.clickhouse import lifecycle as chlc

    svc = service(tmp_path, ch_client, "lc_twice_" + then.replace(" ", "_"))
    first, second = tmp_path / "frozen-a", tmp_path / "frozen-b"
    svc.create_index("t", {"frozenTimePeriodInSecs": 2 * DAY, "coldToFrozenDir": str(first),
                           "promotedFields": "user"})
    svc.backend.write("t", day_events("t", range(3, 4), seed=11), "twice-1")

    def crash_at(step):
        if step == "ch.archive.committed":
            raise RuntimeError(step)

    monkeypatch.setattr(chlc, "crash_point", crash_at)
    assert len(run(svc).failures) == 1
    monkeypatch.setattr(chlc, "crash_point", embedded_lifecycle.crash_point)
    svc.edit_index("t", {"coldToFrozenDir": str(second) if then == "another folder" else ""})
    report = run(svc)
    assert report.failures == []
    assert list(second.rglob("*.parquet")) == [] and len(list(first.rglob("*.parquet"))) == 1
    assert count(svc, "t") == 0 and svc.backend.lifecycle(svc.home, svc.catalog).partitions(["t"], staging=True) == []
    thawed = svc.with_lifecycle(lambda lc: lc.thaw("t", None, None))
    assert sum(t["events"] for t in thawed) == PER_DAY and count(svc, "t") == PER_DAY
