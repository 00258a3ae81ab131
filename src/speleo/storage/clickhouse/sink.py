"""Events (the event schema's Arrow tables) into an index's ClickHouse table.

`to_clickhouse(events)` converts a batch to the table's columns (`ddl.COLUMNS`): `_time` and
`_indextime` as microsecond UTC timestamps, missing strings as '', `_fields` (JSON text) as the
map `f` of strings. `ClickHouseSink.write` inserts it with `insert_arrow`, split so that no insert
spans more than `MAX_DAYS_PER_INSERT` day partitions (ClickHouse refuses more than
`max_partitions_per_insert_block` = 100), synchronously (`async_insert = 0`: Speleo batches
already) and with an `insert_deduplication_token` per part derived from the caller's token: a
retried or replayed batch (the journal segment after a kill -9) is ignored by ClickHouse instead
of being indexed twice (research §1.10, §5.4).
"""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.compute as pc

from speleo.storage.clickhouse.ddl import table_name
from speleo.storage.schema import conform

MAX_DAYS_PER_INSERT = 100
TS = pa.timestamp("us", tz="UTC")
FIELDS_TYPE = pa.map_(pa.string(), pa.string())


def _micros(col: pa.ChunkedArray, default: float) -> pa.Array:
    filled = pc.fill_null(col, default)
    return pc.cast(pc.cast(pc.round(pc.multiply(filled, 1e6)), pa.int64()), TS)


def _fields_map(col: pa.ChunkedArray) -> pa.Array:
    """JSON objects as maps of strings (numbers and lists as their JSON text); null or bad → {}."""
    out = []
    for text in col.to_pylist():
        items: list = []
        if text:
            try:
                obj = json.loads(text)
            except ValueError:
                obj = None
            if isinstance(obj, dict):
                # a list or number as its compact JSON text, as DuckDB's json_extract_string gives it
                items = [(str(k), v if isinstance(v, str) else json.dumps(v, separators=(",", ":"), ensure_ascii=False))
                         for k, v in obj.items() if v is not None]
        out.append(items)
    return pa.array(out, FIELDS_TYPE)


def to_clickhouse(events: pa.Table) -> pa.Table:
    """The ClickHouse table's columns for a batch of events (any index: `index` is dropped)."""
    ev = conform(events)
    blank = {name: pc.fill_null(ev.column(name), "") for name in ("host", "source", "sourcetype", "_flags")}
    return pa.table({
        "_time": _micros(ev.column("_time"), 0.0),
        "_indextime": _micros(ev.column("_indextime"), 0.0),
        "host": blank["host"], "source": blank["source"], "sourcetype": blank["sourcetype"],
        "_raw": ev.column("_raw"),
        "linecount": pc.fill_null(ev.column("linecount"), 0),
        "_offset": pc.fill_null(ev.column("_offset"), -1),
        "_flags": blank["_flags"],
        "f": _fields_map(ev.column("_fields")),
    })


def day_groups(times: pa.ChunkedArray, max_days: int = MAX_DAYS_PER_INSERT) -> list[pa.Array]:
    """Row indices of a batch grouped so that each group spans at most `max_days` UTC days, in
    day order (deterministic for the same input: a replay makes the same groups)."""
    days = pc.cast(pc.floor(pc.divide(pc.fill_null(times, 0.0), 86400.0)), pa.int64())
    distinct = sorted(pc.unique(days).to_pylist())
    if len(distinct) <= max_days:
        return [pa.array(range(len(times)), pa.int64())]
    groups = []
    for i in range(0, len(distinct), max_days):
        chunk = pa.array(distinct[i:i + max_days], pa.int64())
        groups.append(pc.indices_nonzero(pc.is_in(days, value_set=chunk)))
    return groups


class ClickHouseSink:
    """Inserts event batches of one index into ClickHouse (see the module docstring)."""

    def __init__(self, client, database: str = "speleo") -> None:
        self.client = client
        self.database = database
        self.inserted_rows = 0

    def write(self, index: str, events: pa.Table, token: str) -> int:
        """Insert `events` (event schema) into `index`'s table; returns the rows sent. `token`
        must be the same whenever the same batch is sent again (e.g. `seg<journal seq>:<index>`).
        Raises what clickhouse-connect raises (the caller keeps the batch and retries)."""
        if events.num_rows == 0:
            return 0
        groups = day_groups(events.column("_time"))
        for n, rows in enumerate(groups):
            part = events if len(groups) == 1 else events.take(rows)
            self.client.insert_arrow(table_name(index), to_clickhouse(part), database=self.database,
                                     settings={"async_insert": 0, "insert_deduplicate": 1,
                                               "insert_deduplication_token": f"{token}:{n}"})
        self.inserted_rows += events.num_rows
        return events.num_rows

