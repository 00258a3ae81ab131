"""Writing events that alert actions produce (log event, summary index, `| collect`) into a
user index through the home's journal: durable when `write_events` returns, like any input.

Fields given with an event are stored as indexed fields (`_fields`), so
`index=summary search_name="x"` matches without extraction.
"""

from __future__ import annotations

import json
import socket
import time

import pyarrow as pa

from speleo.config import check_index_name


def write_events(store, catalog, index: str, sourcetype: str, source: str, host: str | None,
                 events: list[dict]) -> int:
    """Journal events (dicts with `_time` epoch s, `_raw`, and optional `fields`) into `index`
    (created if missing). Raises InputError for an invalid index name."""
    if not events:
        return 0
    catalog.ensure_index(check_index_name(index))
    n = len(events)
    now = time.time()
    host = host or socket.gethostname()
    table = pa.table({
        "_time": pa.array([float(e.get("_time") or now) for e in events], pa.float64()),
        "_raw": pa.array([str(e.get("_raw", "")) for e in events], pa.string()),
        "host": pa.array([str(e.get("host") or host) for e in events], pa.string()),
        "source": pa.array([source] * n, pa.string()),
        "sourcetype": pa.array([sourcetype] * n, pa.string()),
        "index": pa.array([index] * n, pa.string()),
        "_indextime": pa.array([now] * n, pa.float64()),
        "linecount": pa.array([str(e.get("_raw", "")).count("\n") + 1 for e in events], pa.int32()),
        "_offset": pa.array([-1] * n, pa.int64()),
        "_flags": pa.array([""] * n, pa.string()),
        "_fields": pa.array([json.dumps(e["fields"], default=str) if e.get("fields") else None for e in events],
                            pa.string()),
    })
    store.append(table)
    return n
