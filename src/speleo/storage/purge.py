"""Purge: rewrite buckets without some events, so that their bytes are gone from disk.

For leaked secrets and personal data (`speleo index purge NAME --search SPL`). Unlike
`| delete` (tombstones, Splunk's semantics), the events are physically removed:

1. each bucket holding a matching event is rewritten without those events to a new file in
   the same folder (temp name, fsync, rename, fsync of the folder);
2. ONE catalog transaction adds the new buckets and retires the old ones with `retired_at = 0`
   (purged: deleted at once, no grace period for readers);
3. the old files are deleted; `Store.recover` finishes step 3 after a crash, and deletes the new
   files of a crash before step 2 (orphans), so a kill -9 at any point leaves either the old
   buckets or the new ones, never both, and loses no other event.

Events are matched by identity (`storage.tombstones.KEY_SQL`), so an event equal in every
field to a purged one (same time, text, source, host, offset and index time) goes too.
Archived copies (`coldToFrozenDir`) are outside the home and are not rewritten; the purge
records a tombstone per purged event (its `_time` and MD5 identity key, never its text) in the
same transaction, so a later thaw of an archive does not bring the events back into searches.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from speleo.storage import profile as bucket_profile
from speleo.storage import lexicon, termindex, tombstones
from speleo.storage.catalog import BucketRow
from speleo.storage.lifecycle import crash_point


def purge_events(store, index: str, found: pa.Table) -> dict:
    """Remove the events of `found` (event schema, from a search of `index`) from its buckets.
    The caller holds the writer. Returns {buckets_rewritten, events_removed, bytes_before, bytes_after}."""
    from speleo.storage.store import PARQUET_OPTS, catalog_path

    keys = tombstones.keys_of(found)
    times = set(keys.column("event_time").to_pylist())
    con = duckdb.connect()
    con.register("purged", keys)
    report = {"buckets_rewritten": 0, "events_removed": 0, "bytes_before": 0, "bytes_after": 0}
    with store._merge_lock:
        affected = [b for b in store.catalog.live_buckets([index]) if any(b.min_time <= t <= b.max_time for t in times)]
        new_rows, old = [], []
        for b in affected:
            path = store.home.root / b.path
            kept = con.sql(f"SELECT * FROM read_parquet(?) WHERE {tombstones.KEY_SQL} NOT IN (SELECT key FROM purged)",
                           params=[str(path)]).to_arrow_table()
            if kept.num_rows == b.event_count:
                continue
            old.append(b)
            report["events_removed"] += b.event_count - kept.num_rows
            report["bytes_before"] += b.size_bytes
            if kept.num_rows:
                new_rows.append(_write(store, b, kept, path.parent, PARQUET_OPTS, catalog_path))
                report["bytes_after"] += new_rows[-1][7]
        crash_point("purge.written")
        with store.catalog.transaction() as tx:
            for row in new_rows:
                tx.execute("INSERT INTO buckets(index_name, state, path, min_time, max_time, event_count, raw_bytes,"
                           " size_bytes, bloom, profile, journal_seq, created) VALUES (?,?,?,?,?,?,?,?,?,?,NULL,?)", row)
            tx.executemany("UPDATE buckets SET retired_at = 0 WHERE id = ?", [(b.id,) for b in old])
            # archives keep their copy: a tombstone (time + MD5 identity, no text) hides it after a thaw
            tx.executemany("INSERT OR IGNORE INTO deleted_events(index_name, event_time, key, deleted_at, actor)"
                           " VALUES (?, ?, ?, ?, 'purge')",
                           [(k["index_name"], k["event_time"], k["key"], time.time()) for k in keys.to_pylist()])
        crash_point("purge.committed")
        delete_purged(store)
    report["buckets_rewritten"] = len(old)
    return report


def _write(store, b: BucketRow, kept: pa.Table, folder: Path, opts: dict, catalog_path) -> tuple:
    from speleo.storage.store import write_parquet_durably

    tmin, tmax = pc.min(kept.column("_time")).as_py(), pc.max(kept.column("_time")).as_py()
    path = folder / f"purged_{int(tmin)}_{int(tmax)}_{uuid.uuid4().hex[:12]}.parquet"
    write_parquet_durably(kept, path)
    raw = int(pc.sum(pc.binary_length(kept.column("_raw"))).as_py() or 0)
    bloom = termindex.build_for_file(store._duck, path) if b.bloom is not None or b.state != "hot" else None
    if b.state != "hot":
        lexicon.write(path, lexicon.build_for_file(path))
    prof = bucket_profile.of_table(kept)
    return (b.index_name, b.state, catalog_path(store.home, path), tmin, tmax, kept.num_rows, raw,
            path.stat().st_size, bloom, prof.to_text() if prof is not None else None, time.time())


def delete_purged(store) -> int:
    """Delete the files and rows of purged buckets (`retired_at = 0`); returns how many."""
    rows = [BucketRow(*r) for r in store.catalog.query(
        "SELECT id, index_name, state, path, min_time, max_time, event_count, raw_bytes, size_bytes, NULL, "
        "journal_seq, profile FROM buckets WHERE retired_at = 0")]
    for b in rows:
        (store.home.root / b.path).unlink(missing_ok=True)
        lexicon.remove(store.home.root / b.path)   # it lists the purged words too
    if rows:
        from speleo.storage.durable import fsync_dir

        for folder in {(store.home.root / b.path).parent for b in rows}:
            if folder.exists():
                fsync_dir(folder)
        with store.catalog.transaction() as tx:
            tx.executemany("DELETE FROM buckets WHERE id = ?", [(b.id,) for b in rows])
    return len(rows)


def matches_in(path: Path, needle: str) -> int:
    """How many `_raw` values of a Parquet file contain `needle` (tests and checks)."""
    table = pq.read_table(path, columns=["_raw"])
    return int(pc.sum(pc.match_substring(table.column("_raw"), needle)).as_py() or 0)
