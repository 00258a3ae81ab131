"""Indexed fields (`_fields`) are searchable, and buckets written before the column existed still read."""

from __future__ import annotations

import json
import time

import pyarrow as pa
import pyarrow.parquet as pq

from speleo.config import Home
from speleo.service import Service


def test_indexed_fields_win_and_old_buckets_without_the_column_still_read(tmp_path):
    svc = Service(Home(tmp_path / "home"))
    w = svc.open_writer()
    now = time.time()
    w.store.append(pa.table({
        "_time": [now - 2, now - 1],
        "_raw": ["deploy done env=staging", "deploy done"],
        "index": ["main", "main"],
        "_fields": [json.dumps({"env": "prod", "team.name": "ops"}), None],
    }))
    w.store.seal()
    # a bucket from before `_fields` existed: write it by hand without the column
    old = pa.table({"_time": [now - 3], "_raw": ["deploy old env=qa"], "index": ["main"]})
    path = svc.home.index_dir("main") / "hot_1_2_oldformat.parquet"
    pq.write_table(old, path)
    with svc.catalog.transaction() as con:
        con.execute(
            "INSERT INTO buckets(index_name, state, path, min_time, max_time, event_count, raw_bytes, size_bytes,"
            " created) VALUES ('main', 'hot', ?, ?, ?, 1, 17, ?, ?)",
            (str(path.relative_to(svc.home.root)), now - 3, now - 3, path.stat().st_size, now),
        )
    w.close()
    rows = svc.search("deploy | table env team.name", limit=0).table.to_pylist()
    assert sorted((r["env"] or "", r["team.name"] or "") for r in rows) == [("", ""), ("prod", "ops"), ("qa", "")]
    assert svc.search("env=prod", limit=0).total == 1
