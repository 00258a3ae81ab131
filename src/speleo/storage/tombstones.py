"""Deleted events (`| delete`): tombstones the query engine honours, by event identity.

Splunk's `delete` (Search Reference: delete) hides events from every later search at once;
the data stays on disk and no space is reclaimed until the bucket freezes. Speleo records a
tombstone per event: (index, `_time`, key), the key being the MD5 of the event's identity
(`_time`, `_raw`, `source`, `host`, `_offset`, `_indextime`) computed by DuckDB. An identity
key, rather than a (bucket, row) pair, survives every rewrite of a bucket (merge into warm,
roll to cold, archive and thaw) without bookkeeping; see docs/decisions/0017-lifecycle-delete-by-identity.md.

The engine drops the rows whose index, `_time` and key match a tombstone (the `_time` test
first, so the key is computed only for rows at a deleted event's instant). The index is part of
the match: an event copied into another index (`| collect`, a second input) is a different
event there, and deleting one copy leaves the other.
"""

from __future__ import annotations

import time

import duckdb
import pyarrow as pa

KEY_SQL = ("md5(concat_ws(chr(31), CAST(_time AS VARCHAR), coalesce(_raw, ''), coalesce(source, ''), "
           "coalesce(host, ''), CAST(coalesce(_offset, -1) AS VARCHAR), CAST(coalesce(_indextime, 0) AS VARCHAR)))")

def keys_of(events: pa.Table) -> pa.Table:
    """(index, _time, key) of each event of a table in the event schema (DuckDB computes the key)."""
    con = duckdb.connect()
    con.register("ev", events)
    return con.sql(f'SELECT "index" AS index_name, _time AS event_time, {KEY_SQL} AS key FROM ev').to_arrow_table()


def add(catalog, events: pa.Table, actor: str) -> dict[str, int]:
    """Record tombstones for the events of `events` (event schema); returns new ones per index."""
    keys = keys_of(events).to_pylist()
    now = time.time()
    counts: dict[str, int] = {}
    with catalog.transaction() as con:
        for k in keys:
            cur = con.execute("INSERT OR IGNORE INTO deleted_events(index_name, event_time, key, deleted_at, actor) "
                              "VALUES (?, ?, ?, ?, ?)", (k["index_name"], k["event_time"], k["key"], now, actor))
            counts[k["index_name"]] = counts.get(k["index_name"], 0) + cur.rowcount
    return counts


def load(catalog, indexes: set[str]) -> pa.Table | None:
    """Tombstones (index_name, event_time, key) of some indexes, or None when there are none
    (the common case)."""
    if not indexes:
        return None
    marks = ",".join("?" * len(indexes))
    rows = catalog.query(f"SELECT index_name, event_time, key FROM deleted_events WHERE index_name IN ({marks})",
                         sorted(indexes))
    if not rows:
        return None
    return pa.table({"index_name": [r[0] for r in rows], "event_time": [r[1] for r in rows],
                     "key": [r[2] for r in rows]})


def hide(con: duckdb.DuckDBPyConnection, rel, tombs: pa.Table):
    """`rel` (event columns, `index` included) without the rows a tombstone of their index names."""
    con.register("__deleted__", tombs)
    return rel.filter(f"_time NOT IN (SELECT event_time FROM __deleted__) OR "
                      f"(\"index\" || chr(30) || {KEY_SQL}) NOT IN (SELECT index_name || chr(30) || key FROM __deleted__)")


def forget(catalog, index: str, keys: list[str]) -> None:
    """Drop tombstones whose events no longer exist (after a purge rewrote their buckets)."""
    with catalog.transaction() as con:
        con.executemany("DELETE FROM deleted_events WHERE index_name = ? AND key = ?", [(index, k) for k in keys])
