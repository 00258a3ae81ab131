"""Retention, archives and thaw of indexes stored on ClickHouse, by the embedded store's rules.

The unit is a day partition of an index's table (`PARTITION BY toDate(_time)`), as the bucket is on
the embedded store, and the same pure policy decides (`storage.lifecycle.plan_retention`, Splunk
indexes.conf.spec): a day freezes by **age** when its newest event is past
`frozenTimePeriodInSecs`; by **size** when the index's active parts are over
`maxTotalDataSizeMB` (oldest day first); by **volume** when the indexes of a `[volume:X]` are over
its `maxVolumeDataSizeMB`. Sizes are ClickHouse's `bytes_on_disk` of the active parts (compressed,
text index included); times are the parts' `min_time`/`max_time` (whole seconds: the newest is
taken as `max_time + 1`, so a day is never frozen early).

Frozen means:
- without `coldToFrozenDir`: `DROP PARTITION` (the table's `TTL ... DELETE` does the same for age
  in ClickHouse's own merges; this check makes it happen within `retention_check_secs` and adds
  the size caps, which ClickHouse has no setting for);
- with `coldToFrozenDir` (a folder or `s3://`): the day partition first moves, atomically, to the
  index's staging table `stg_<index>` (`MOVE PARTITION ... TO TABLE`, a fresh copy of the
  index's table structure, promoted columns included): events written to that day afterwards
  start a new partition, frozen at a later check, never dropped unarchived. The staged events are
  written as one Parquet file of the event schema (any Parquet reader opens it), put in the
  archive beside its JSON description exactly as the embedded store's buckets are
  (`storage.archive`, name `<index>/db_<latest>_<earliest>_ch<YYYYMMDD>_<fingerprint>.parquet`,
  the fingerprint an order-free hash of the staged events' identities), recorded in the
  catalog's `archives`, and only then dropped from the staging table. A crash at any step leaves
  the day in the staging table (out of searches, as a freezing bucket is about to be); the next
  check finishes it first, and archives it only if no archive of that name is recorded yet
  (whatever its folder), so nothing is archived twice. While a day of an index is staged, no
  other day of it is staged. Such an index's table has no `TTL ... DELETE` (ddl.ttl_rules):
  ClickHouse would drop the day before Speleo could archive it;
- `coldToFrozenScript` runs a program on bucket files and has no meaning for a ClickHouse table:
  the step fails (kept, reported, retried) with a message saying to use `coldToFrozenDir`.

Thaw (`speleo index thaw`): an archived day is read back (checksum verified) and inserted into
the index's thawed table `thw_<index>` (ddl.create_thaw_table) as its partition `_archive = <the
archive's catalog id>`; searches of the index read that table too; nothing freezes it again
(Splunk: thawed buckets are exempt). A partial thaw (a crash mid-insert) is found by its row
count and redone. Unthaw drops the archive partitions of the range.

Tiers are the table's storage policy, not a Speleo step (ddl.Topology, docs/scale-out.md):
ClickHouse moves parts between the policy's volumes itself.
"""

from __future__ import annotations

import re
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from speleo.errors import NotFoundError, StorageError
from speleo.storage import archive as archives
from speleo.storage import indexconf
from speleo.storage.catalog import BucketRow
from speleo.storage.clickhouse import ddl
from speleo.storage.lifecycle import RunReport, _when, archived, crash_point, plan_retention

_LOCK = threading.Lock()    # one lifecycle step at a time in this process (server loop, API, CLI)


@dataclass
class DayPartition:
    """One day partition of an index's table (`system.parts`, active parts summed)."""

    index: str
    partition: str          # YYYY-MM-DD
    min_time: float         # epoch seconds UTC (whole seconds, as system.parts has them)
    max_time: float
    rows: int
    bytes_on_disk: int


class ClickHouseLifecycle:
    """Lifecycle steps on the ClickHouse backend, with the interface of storage.lifecycle.Lifecycle
    (`run_retention`, `thaw`, `unthaw`, `locked`). `backend` is the query.clickhouse backend
    (its client, topology and `partition_events_sql`), `emit(event, fields)` records a lifecycle
    event (the server sends them to `_internal`), `clock` gives now (epoch seconds)."""

    def __init__(self, backend, home, catalog, emit: Callable[[str, dict], None] | None = None, clock=None) -> None:
        self.backend = backend
        self.client = backend.client
        self.topo: ddl.Topology = backend.topology
        self.home = home
        self.catalog = catalog
        self.emit = emit or (lambda event, fields: None)
        self.clock = clock

    def _now(self) -> float:
        return self.clock.time() if self.clock is not None else time.time()

    def locked(self, fn):
        with _LOCK:
            return fn()

    # -- what is stored ------------------------------------------------------------------------
    def partitions(self, indexes: list[str] | None = None, *, staging: bool = False) -> list[DayPartition]:
        """The day partitions of the indexes' tables (None: every index), or of their staging
        tables, oldest first; days whose parts hold no rows (emptied by the TTL, removed by
        ClickHouse later) are left out. On a cluster, over one replica of every shard."""
        local = "_local" if self.topo.cluster else ""
        name_of = ddl.staging_table_name if staging else ddl.table_name
        names = {name_of(i) + local: i for i in (indexes if indexes is not None else self.backend.indexes())}
        if not names:
            return []
        rows = self.client.query(
            "SELECT table, partition, toUnixTimestamp(min(min_time)), toUnixTimestamp(max(max_time)), sum(rows), "
            f"sum(bytes_on_disk) FROM {parts_source(self.topo)} WHERE database = {{db:String}} AND active "
            "AND table IN {t:Array(String)} GROUP BY table, partition HAVING sum(rows) > 0 ORDER BY partition",
            parameters={"db": self.topo.database, "t": sorted(names)}).result_rows
        out = []
        for table, part, lo, hi, n, size in rows:
            if re.fullmatch(r"\d{4}-\d{2}-\d{2}", str(part)):
                out.append(DayPartition(names[table], str(part), float(lo), float(hi), int(n), int(size)))
        return out

    # -- retention -----------------------------------------------------------------------------
    def run_retention(self, now: float | None = None) -> RunReport:
        """Evaluate the policy at `now` (default: the clock) over every index's day partitions and
        carry it out (see the module docstring). A step that fails is reported, emitted as
        `lifecycle_failed` and retried at the next run; the others go on."""
        now = self._now() if now is None else now
        report = RunReport()
        with _LOCK:
            settings = indexconf.load_all(self.home, self.catalog)
            names = [i for i in self.backend.indexes() if i in settings]
            self._finish_staged(names, settings, report)
            parts = self.partitions(names)
            rows = [BucketRow(id=n, index_name=p.index, state="warm", path=p.partition, min_time=p.min_time,
                              max_time=p.max_time + 1.0, event_count=p.rows, raw_bytes=0, size_bytes=p.bytes_on_disk,
                              bloom=None, journal_seq=None) for n, p in enumerate(parts)]
            for act in plan_retention(rows, settings, indexconf.volumes(self.catalog), now):
                if act.kind != "freeze":      # warm -> cold: the storage policy's business on ClickHouse
                    continue
                p, conf = parts[act.bucket_id], settings[act.index]
                try:
                    report.actions.append(self._freeze(p, conf, act.reason))
                except Exception as e:   # noqa: BLE001 - kept and retried: the day stays in the table
                    fail = {"idx": p.index, "partition": p.partition, "action": "freeze", "reason": act.reason,
                            "error": f"{type(e).__name__}: {e}"}
                    report.failures.append(fail)
                    self.emit("lifecycle_failed", fail)
        return report

    def _freeze(self, p: DayPartition, conf: indexconf.IndexSettings, reason: str) -> dict:
        fields = {"idx": p.index, "partition": p.partition, "reason": reason, "earliest": p.min_time,
                  "latest": p.max_time, "events": p.rows, "size_bytes": p.bytes_on_disk, "engine": "clickhouse"}
        if conf.cold_to_frozen_dir:
            self._fresh_staging(p.index)
            for stmt in ddl.move_partition_to_staging(p.index, p.partition, self.topo):
                self.client.command(stmt)
            crash_point("ch.archive.staged")
            loc, n = self._archive_staged(p.index, p.partition, conf)
            fields.update(archive=loc, events=n)
            event = "archived" if loc is not None else "deleted"
            self.emit(event, fields)
            return {"action": event, **fields}
        if conf.cold_to_frozen_script:
            raise StorageError(f"index '{p.index}': coldToFrozenScript runs a program on bucket files, which a "
                               "ClickHouse table does not have; set coldToFrozenDir (a folder or s3://) to keep "
                               "frozen days, or clear the script to let them go")
        self._drop(p)
        self.emit("deleted", fields)
        return {"action": "deleted", **fields}

    def _drop(self, p: DayPartition) -> None:
        for stmt in ddl.drop_partitions(p.index, [p.partition], self.topo):
            self.client.command(stmt)

    def _fresh_staging(self, index: str) -> None:
        """An empty staging table with the index table's structure as it is now (`CREATE TABLE
        ... AS`: its columns, promoted ones included, indexes, projection, partitioning, storage
        policy; `MOVE PARTITION` needs them identical), without TTL. Raises StorageError while
        an earlier day of the index is still staged (its archive has not finished)."""
        local = "_local" if self.topo.cluster else ""
        stg = ddl.staging_table_name(index) + local
        if self.partitions([index], staging=True):
            raise StorageError(f"index '{index}': a day is still waiting in {stg} for its archive; "
                               "it is finished first, then the next day goes")
        for stmt in ddl.drop_staging(index, self.topo):   # IF EXISTS
            self.client.command(stmt)
        for stmt in ddl.create_staging_like(index, self.topo):
            self.client.command(stmt)
        ddl_text = self.client.query("SELECT create_table_query FROM system.tables WHERE database = {db:String} "
                                     "AND name = {t:String}", parameters={"db": self.topo.database, "t": stg}).result_rows
        if ddl_text and " TTL " in ddl_text[0][0]:
            on = f" ON CLUSTER '{self.topo.cluster}'" if self.topo.cluster else ""
            self.client.command(f"ALTER TABLE {ddl.quoted(self.topo.database, stg)}{on} REMOVE TTL")

    def _archived_name(self, index: str, name: str) -> str | None:
        """The location of an archive of `index` recorded under object name `name`, in any folder."""
        for a in archived(self.catalog, index):
            if a["location"].endswith(f"_{name}.parquet"):
                return a["location"]
        return None

    def _finish_staged(self, names: list[str], settings: dict, report: RunReport) -> None:
        """Days left in a staging table by an interrupted archive: archived now (or moved back
        into the index's table when its `coldToFrozenDir` was removed meanwhile)."""
        for p in self.partitions(names, staging=True):     # (a missing staging table has no parts)
            conf = settings[p.index]
            try:
                if conf.cold_to_frozen_dir:
                    loc, n = self._archive_staged(p.index, p.partition, conf)
                    fields = {"idx": p.index, "partition": p.partition, "reason": "resumed", "events": n,
                              "archive": loc, "engine": "clickhouse"}
                    self.emit("archived", fields)
                    report.actions.append({"action": "archived", **fields})
                elif self._archived_name(p.index, self._staged_name(p.index, p.partition)[0]) is not None:
                    for stmt in ddl.drop_partitions(p.index, [p.partition], self.topo, staging=True):
                        self.client.command(stmt)     # archived before a crash: it goes, as it would have
                else:
                    local = "_local" if self.topo.cluster else ""
                    on = f" ON CLUSTER '{self.topo.cluster}'" if self.topo.cluster else ""
                    self.client.command(
                        f"ALTER TABLE {ddl.quoted(self.topo.database, ddl.staging_table_name(p.index) + local)}{on} "
                        f"MOVE PARTITION '{p.partition}' TO TABLE {ddl.quoted(self.topo.database, ddl.table_name(p.index) + local)}")
            except Exception as e:   # noqa: BLE001 - kept in the staging table, retried at the next run
                fail = {"idx": p.index, "partition": p.partition, "action": "archive", "reason": "resumed",
                        "error": f"{type(e).__name__}: {e}"}
                report.failures.append(fail)
                self.emit("lifecycle_failed", fail)

    def _archive_staged(self, index: str, partition: str, conf: indexconf.IndexSettings) -> tuple[str | None, int]:
        """Archive the day `partition` of the index's staging table, record it, then drop it from
        the staging table. Returns (location, events); (None, 0) when no event of it was left
        to archive (all hidden by `| delete`)."""
        name, n = self._staged_name(index, partition)
        loc = None
        if n:    # a day whose every event `| delete` hid has nothing to archive: it just goes
            # archived already (a crash after the catalog row, then maybe another folder): not twice
            loc = self._archived_name(index, name) or self._archive(index, partition, conf, name)
        crash_point("ch.archive.committed")
        for stmt in ddl.drop_partitions(index, [partition], self.topo, staging=True):
            self.client.command(stmt)
        return loc, int(n)

    def _staged_name(self, index: str, partition: str) -> tuple[str, int]:
        """(the archive object name of the staged day: `ch<YYYYMMDD>_<fingerprint>`, its events)."""
        stg = ddl.quoted(self.topo.database, ddl.staging_table_name(index))
        fp, n = self.client.query(
            f"SELECT toString(groupBitXor(cityHash64({', '.join(ddl.IDENTITY)}))), count() "
            f"FROM {stg} WHERE toDate(_time) = toDate({{p:String}})", parameters={"p": partition}).result_rows[0]
        return f"ch{partition.replace('-', '')}_{int(fp):016x}", int(n)

    def _archive(self, index: str, partition: str, conf: indexconf.IndexSettings, name: str) -> str:
        """Write the staged day as Parquet, put it in the archive as `name` and record it;
        returns its location."""
        import pyarrow.compute as pc
        import pyarrow.parquet as pq

        sql = self.backend.partition_events_sql(index, staging=True)
        with tempfile.TemporaryDirectory(prefix="speleo-ch-archive-") as tmp:
            path = Path(tmp) / "day.parquet"
            writer = None
            n = raw = 0
            lo, hi = float("inf"), float("-inf")
            try:
                for batch in self.backend.stream_events(sql, {"p": partition}):
                    if batch.num_rows == 0:
                        continue
                    if writer is None:
                        writer = pq.ParquetWriter(path, batch.schema, compression="zstd")
                    writer.write_table(batch)
                    n += batch.num_rows
                    raw += int(pc.sum(pc.binary_length(batch.column("_raw"))).as_py() or 0)
                    mm = pc.min_max(batch.column("_time")).as_py()
                    lo, hi = min(lo, mm["min"]), max(hi, mm["max"])
            finally:
                if writer is not None:
                    writer.close()
            if writer is None:
                raise StorageError(f"index '{index}': day {partition} read back no events to archive; "
                                   "kept, retried at the next check")
            crash_point("ch.archive.written")
            row = BucketRow(id=name, index_name=index, state="frozen", path="", min_time=lo, max_time=hi,   # type: ignore[arg-type]
                            event_count=n, raw_bytes=raw, size_bytes=path.stat().st_size, bloom=None, journal_seq=None,
                            profile=None)
            loc, digest = archives.target_for(conf.cold_to_frozen_dir).put(path, row)
            crash_point("ch.archive.uploaded")
            with self.catalog.transaction() as con:
                con.execute(
                    "INSERT INTO archives(index_name, location, min_time, max_time, event_count, raw_bytes,"
                    " size_bytes, sha256, profile, archived_at, bloom) VALUES (?,?,?,?,?,?,?,?,NULL,?,NULL)"
                    " ON CONFLICT(location) DO UPDATE SET archived_at = excluded.archived_at, sha256 = excluded.sha256,"
                    " min_time = excluded.min_time, max_time = excluded.max_time, event_count = excluded.event_count,"
                    " raw_bytes = excluded.raw_bytes, size_bytes = excluded.size_bytes",
                    (index, loc, lo, hi, n, raw, row.size_bytes, digest, self._now()))
        return loc

    # -- thaw ----------------------------------------------------------------------------------
    def _thawed_counts(self, index: str) -> dict[int, int]:
        table = ddl.thaw_table_name(index)
        if not self.backend.has_table(table):
            return {}
        rows = self.client.query(f"SELECT _archive, count() FROM {ddl.quoted(self.topo.database, table)} GROUP BY _archive"
                                 ).result_rows
        return {int(a): int(c) for a, c in rows}

    def thaw(self, index: str, earliest: float | None, latest: float | None) -> list[dict]:
        """Bring the archived days of `index` overlapping [earliest, latest) back into its thawed
        table (checksum verified). Days already thawed are skipped; a partly thawed one is
        redone. Raises NotFoundError when nothing archived overlaps, StorageError for a damaged
        or missing archive."""
        import pyarrow.parquet as pq

        from speleo.storage.clickhouse.sink import to_clickhouse

        indexconf.load(self.home, self.catalog, index)     # NotFoundError for an unknown index
        rows = archived(self.catalog, index, earliest, latest)
        if not rows:
            raise NotFoundError(f"index '{index}' has no archived day between {_when(earliest)} and {_when(latest)}"
                                " (see 'speleo index show' for its archives)")
        out = []
        with _LOCK:
            for stmt in ddl.create_thaw_table(index, self.topo):
                self.client.command(stmt)
            have = self._thawed_counts(index)
            for a in rows:
                if have.get(a["id"]) == a["event_count"]:
                    continue
                if a["id"] in have:       # a thaw interrupted mid-insert: start the day again
                    for stmt in ddl.drop_partitions(index, [str(a["id"])], self.topo, thawed=True):
                        self.client.command(stmt)
                with tempfile.TemporaryDirectory(prefix="speleo-ch-thaw-") as tmp:
                    dest = Path(tmp) / "day.parquet"
                    archives.target_for_location(a["location"]).get(a["location"], dest, a["sha256"])
                    pf = pq.ParquetFile(dest)
                    for i in range(pf.num_row_groups):
                        part = to_clickhouse(pf.read_row_group(i))
                        part = part.append_column("_archive", _filled(part.num_rows, a["id"]))
                        self.client.insert_arrow(ddl.thaw_table_name(index), part, database=self.topo.database,
                                                 settings={"async_insert": 0, "insert_deduplicate": 0})
                        crash_point("ch.thaw.inserted")
                fields = {"idx": index, "archive": a["location"], "reason": "thaw", "earliest": a["min_time"],
                          "latest": a["max_time"], "events": a["event_count"], "engine": "clickhouse"}
                self.emit("thawed", fields)
                out.append(fields)
        return out

    def unthaw(self, index: str, earliest: float | None = None, latest: float | None = None) -> list[dict]:
        """Let the thawed days of `index` overlapping the range (default: all) go: they leave
        searches at once (their archive keeps its copy)."""
        out = []
        with _LOCK:
            have = self._thawed_counts(index)
            for a in archived(self.catalog, index, earliest, latest):
                if a["id"] in have:
                    for stmt in ddl.drop_partitions(index, [str(a["id"])], self.topo, thawed=True):
                        self.client.command(stmt)
                    fields = {"idx": index, "archive": a["location"], "reason": "unthaw", "events": have[a["id"]]}
                    self.emit("deleted", fields)
                    out.append(fields)
        return out


def parts_source(topo: ddl.Topology) -> str:
    """`system.parts` of this node, or on a cluster of one replica of every shard (the
    `cluster` table function), so sizes and part counts are the whole table's."""
    return f"cluster('{topo.cluster}', system.parts)" if topo.cluster else "system.parts"


def _filled(n: int, value: int):
    import pyarrow as pa

    return pa.array([value] * n, pa.uint64())

