"""Copy an embedded home's events into another backend (`speleo migrate --to clickhouse://...`).

Every live bucket (hot, warm, cold, thawed) of the chosen indexes is read in the event schema,
less the events `| delete` hid (tombstones), and written with the token `bucket:<id>:<path>`: a
copy interrupted and run again sends the same batches with the same tokens, which ClickHouse ignores
(within its deduplication window: the last 10,000 inserts of a table on one node). The index's
retention (`frozenTimePeriodInSecs`) becomes the table's TTL. The caller holds the home's writer
lock (no server running): buckets merged during a copy would be copied twice.
"""

from __future__ import annotations

from collections.abc import Callable

import duckdb
import pyarrow as pa

from speleo.query.engine import _conform
from speleo.storage import indexconf, tombstones
from speleo.storage.catalog import BucketRow
from speleo.storage.schema import conform

BATCH_ROWS = 65_536


def bucket_events(con: duckdb.DuckDBPyConnection, home, b: BucketRow, deleted: pa.Table | None) -> pa.Table:
    """A bucket's events in the event schema, without those `| delete` hid."""
    rel = _conform(con.read_parquet(str(home.root / b.path)))
    if deleted is not None:
        rel = tombstones.hide(con, rel, deleted)
    return conform(rel.to_arrow_table())


def migrate(home, catalog, backend, indexes: list[str] | None = None,
            progress: Callable[[dict], None] | None = None) -> dict:
    """Copy the buckets of `indexes` (None: every index) into `backend`. Returns
    {"indexes": {name: {"buckets", "events"}}, "buckets", "events"}; `progress(row)` after each bucket."""
    settings = indexconf.load_all(home, catalog)
    buckets = catalog.live_buckets(indexes)
    con = duckdb.connect()
    report: dict = {"indexes": {}, "buckets": 0, "events": 0}
    for name in sorted({b.index_name for b in buckets}):
        backend.ensure_index(settings.get(name) or indexconf.effective(home, name, {}))
        backend.apply_retention(settings.get(name) or indexconf.effective(home, name, {}))
        deleted = tombstones.load(catalog, {name})
        per = report["indexes"].setdefault(name, {"buckets": 0, "events": 0})
        for b in sorted((b for b in buckets if b.index_name == name), key=lambda b: b.id):
            events = bucket_events(con, home, b, deleted)
            for start in range(0, events.num_rows, BATCH_ROWS):
                part = events.slice(start, BATCH_ROWS)
                _write_when_ready(backend, name, part, f"bucket:{b.id}:{b.path}:{start}")
            per["buckets"] += 1
            per["events"] += events.num_rows
            if progress is not None:
                progress({"index": name, "bucket": b.path, "events": events.num_rows})
    report["buckets"] = sum(v["buckets"] for v in report["indexes"].values())
    report["events"] = sum(v["events"] for v in report["indexes"].values())
    return report


def _write_when_ready(backend, index: str, part, token: str, attempts: int = 60) -> None:
    """Write a batch, waiting while ClickHouse merges (SinkBusy: back-pressure) up to `attempts`
    times the backend's own wait; a copy of many buckets outpaces the merges."""
    from speleo.query.clickhouse import SinkBusy

    for attempt in range(attempts):
        try:
            backend.write(index, part, token)
            return
        except SinkBusy:
            if attempt == attempts - 1:
                raise
