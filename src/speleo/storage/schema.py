"""The event schema shared by the journal, the buckets and the query engine."""

from __future__ import annotations

import pyarrow as pa

EVENT_SCHEMA = pa.schema(
    [
        pa.field("_time", pa.float64(), nullable=False),
        pa.field("_raw", pa.string(), nullable=False),
        pa.field("host", pa.string()),
        pa.field("source", pa.string()),
        pa.field("sourcetype", pa.string()),
        pa.field("index", pa.string(), nullable=False),
        pa.field("_indextime", pa.float64()),
        pa.field("linecount", pa.int32()),
        pa.field("_offset", pa.int64()),
        pa.field("_flags", pa.string()),
        pa.field("_fields", pa.string()),
    ]
)
"""`_fields`: indexed fields as a JSON object of strings (HEC `fields`, syslog facility and
severity), or null. Search-time extraction looks there first (`query.fields`)."""

BASE_COLUMNS = tuple(EVENT_SCHEMA.names)

PARSED_COLUMNS = ("_time", "_raw", "linecount", "_offset", "_flags")


def conform(table: pa.Table) -> pa.Table:
    """Return `table` with exactly the event schema's columns, in order and types.

    Raises KeyError naming a missing required column.
    """
    if table.schema.equals(EVENT_SCHEMA):   # already conforming (journal replay, HEC, syslog)
        return table
    cols = []
    names = set(table.column_names)
    for field in EVENT_SCHEMA:
        if field.name in names:
            col = table.column(field.name)
            cols.append(col if col.type == field.type else col.cast(field.type))   # a cast is ~6 us even when a no-op
        elif field.nullable:
            cols.append(pa.nulls(table.num_rows, field.type))
        else:
            raise KeyError(f"event table lacks required column {field.name}")
    return pa.Table.from_arrays(cols, schema=EVENT_SCHEMA)


def with_origin(
    parsed: pa.Table, *, index: str, host: str, source: str, sourcetype: str, indextime: float
) -> pa.Table:
    """Add the metadata columns to a parsed chunk (from `ingest.breaking`) and conform it."""
    n = parsed.num_rows
    extra = {   # pa.repeat: a Python list of n copies cost 0.1 s per million events
        "host": pa.repeat(pa.scalar(host, pa.string()), n),
        "source": pa.repeat(pa.scalar(source, pa.string()), n),
        "sourcetype": pa.repeat(pa.scalar(sourcetype, pa.string()), n),
        "index": pa.repeat(pa.scalar(index, pa.string()), n),
        "_indextime": pa.repeat(pa.scalar(indextime, pa.float64()), n),
    }
    for name, arr in extra.items():
        parsed = parsed.append_column(name, arr)
    return conform(parsed)
