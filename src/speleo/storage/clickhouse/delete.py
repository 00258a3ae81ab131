"""`| delete` on ClickHouse: lightweight DELETE of the events a search selected.

Splunk's `delete` (Search Reference: delete) hides events at once and reclaims no space until
the bucket freezes; ClickHouse's lightweight `DELETE FROM t WHERE ...` has the same contract:
the rows are masked at once (the `_row_exists` column) and removed from disk when their parts
merge. An event is named by the same identity the embedded tombstones use
(`storage.tombstones`): `_time`, `_raw`, `source`, `host`, `_offset`, `_indextime`, within its
index (one table per index). Here the key is the event's `_time` in microseconds plus the MD5
(hex) of those six fields joined by chr(31), times written as integer microseconds; Speleo
computes it in Python from the search's answer and ClickHouse computes the same bytes over the
stored columns, so the match is exact. The keys travel as query parameters
(`{keys:Array(Tuple(Int64, String))}`), never as SQL text.

The table has a projection (`p_min`): a lightweight DELETE needs
`lightweight_mutation_projection_mode = 'rebuild'` (else ClickHouse refuses), set on new tables
by `ddl` and on older ones before the first delete.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import pyarrow as pa

from speleo.storage.clickhouse import ddl

SEP = "\x1f"
# the same text as `event_key` below, computed by ClickHouse over the stored columns
KEY_SQL = ("lower(hex(MD5(concat(toString(toUnixTimestamp64Micro(_time)), '\\x1f', _raw, '\\x1f', source, "
           "'\\x1f', host, '\\x1f', toString(_offset), '\\x1f', toString(toUnixTimestamp64Micro(_indextime))))))")
CHUNK = 20_000   # keys per DELETE statement (bounds the statement's size)


def micros(seconds: float | None) -> int:
    """Epoch seconds as read back by a search (microseconds / 1e6) → the stored microseconds."""
    return 0 if seconds is None else round(seconds * 1_000_000)


def event_key(row: dict) -> tuple[int, str]:
    """(`_time` in µs, MD5 hex) of one event as a search returns it (NULL host/source = '')."""
    t = micros(row["_time"])
    text = SEP.join([str(t), row["_raw"] or "", row["source"] or "", row["host"] or "",
                     str(row["_offset"] if row["_offset"] is not None else -1), str(micros(row["_indextime"]))])
    return t, hashlib.md5(text.encode("utf-8")).hexdigest()


def keys_by_index(events: pa.Table) -> dict[str, list[tuple[int, str]]]:
    """The keys of a search's events (event schema, `index` included), by index, without repeats."""
    found: dict[str, dict[tuple[int, str], None]] = {}
    cols = ["_time", "_raw", "source", "host", "_offset", "_indextime", "index"]
    for row in events.select(cols).to_pylist():
        found.setdefault(row["index"], {})[event_key(row)] = None
    return {index: list(keys) for index, keys in found.items()}


def chunks(keys: list, size: int = CHUNK) -> Iterator[list]:
    for i in range(0, len(keys), size):
        yield keys[i:i + size]


def allow_statement(index: str, topo: ddl.Topology) -> str:
    """Lets lightweight DELETE run on a table with projections (rebuilt at the merge)."""
    name = ddl.table_name(index) + ("_local" if topo.cluster else "")
    on = f" ON CLUSTER '{topo.cluster}'" if topo.cluster else ""
    return (f"ALTER TABLE {ddl.quoted(topo.database, name)}{on} "
            "MODIFY SETTING lightweight_mutation_projection_mode = 'rebuild'")


def delete_statement(index: str, topo: ddl.Topology) -> str:
    """The DELETE of the events whose keys are the parameters `times` (Array(Int64), the
    cheap first test) and `keys` (Array(Tuple(Int64, String))). On a cluster it runs on every
    shard's `_local` table (a Distributed table takes no DELETE)."""
    name = ddl.table_name(index) + ("_local" if topo.cluster else "")
    on = f" ON CLUSTER '{topo.cluster}'" if topo.cluster else ""
    return (f"DELETE FROM {ddl.quoted(topo.database, name)}{on} "
            "WHERE toUnixTimestamp64Micro(_time) IN {times:Array(Int64)} "
            f"AND (toUnixTimestamp64Micro(_time), {KEY_SQL}) IN {{keys:Array(Tuple(Int64, String))}}")
