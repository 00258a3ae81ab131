"""A Speleo writer process over ClickHouse (chdb) for the kill -9 tests (tests/clickhouse/test_crash.py).

`write HOME CHDB N`: append N batches of 100 events (offsets i*100..), printing `acked <i>` once each
append returned (journal fsynced: acknowledged), sealing into ClickHouse after every 3rd batch.
`recover HOME CHDB`: recover the journal into ClickHouse, print the JSON list of `_offset`s stored.
"""

from __future__ import annotations

import json
import sys

import pyarrow as pa

from speleo.config import Home
from speleo.query.clickhouse import ClickHouseBackend
from speleo.storage.catalog import Catalog
from speleo.storage.store import Store


def open_store(home: str, chdb: str) -> tuple[Store, ClickHouseBackend]:
    h = Home.resolve(home).ensure()
    store = Store(h, Catalog(h.catalog_path))
    backend = ClickHouseBackend.from_url(f"chdb://{chdb}")
    store.event_sink = backend
    return store, backend


def batch(i: int) -> pa.Table:
    n = 100
    return pa.table({"_time": pa.array([1_700_000_000.0 + i * 100 + k for k in range(n)], pa.float64()),
                     "_raw": [f"event {i * 100 + k}" for k in range(n)], "host": ["h"] * n,
                     "source": ["s"] * n, "sourcetype": ["st"] * n, "index": ["crash"] * n,
                     "_offset": pa.array([i * 100 + k for k in range(n)], pa.int64())})


def main() -> None:
    cmd, home, chdb = sys.argv[1:4]
    store, backend = open_store(home, chdb)
    if cmd == "write":
        for i in range(int(sys.argv[4])):
            store.append(batch(i))
            print(f"acked {i}", flush=True)
            if i % 3 == 2:
                store.seal()
        store.seal()
        print("done", flush=True)
    else:
        store.recover()
        rows = backend.client.query("SELECT _offset FROM speleo.idx_crash ORDER BY _offset").result_rows
        print(json.dumps([r[0] for r in rows]), flush=True)


if __name__ == "__main__":
    main()
