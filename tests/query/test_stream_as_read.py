"""stream.events_as_read: a search for raw events streamed while it runs equals the one-shot
`engine.execute` (every row, newest first, ties in any order), and its first rows leave after
the first bucket is read, not after the last."""

from __future__ import annotations

import pyarrow as pa
import pytest

from speleo.query import engine, stream
from tests.query.test_incremental import FILES, PER_FILE, T0, compiled, rows_key, svc, times  # noqa: F401 (fixture)


@pytest.mark.parametrize("q", ["index=main", "index=main GET", 'index=main | eval big=if(n > 60, 1, 0) | where big=1',
                               "index=main nosuchword"])
def test_streamed_rows_equal_the_whole_answer(svc, q):  # noqa: F811
    c = compiled(q)
    whole = engine.execute(svc.home, svc.catalog, c, limit=0).table
    parts = list(stream.events_as_read(svc.home, svc.catalog, c, batch_rows=50))
    assert all(p.num_rows <= 50 for p in parts)
    got = [r for p in parts for r in p.to_pylist()]
    assert len(got) == whole.num_rows
    t = [r["_time"] for r in got]
    assert t == sorted(t, reverse=True) and t == sorted(times(whole), reverse=True)
    assert rows_key(pa.Table.from_pylist(got) if got else whole) == rows_key(whole)


def test_first_rows_leave_before_the_last_bucket_is_read(svc, monkeypatch):  # noqa: F811
    reads = []
    real = engine._events_relation
    monkeypatch.setattr(engine, "_events_relation", lambda con, home, p: reads.append(len(p.buckets)) or real(con, home, p))
    it = stream.events_as_read(svc.home, svc.catalog, compiled("index=main"))
    first = next(it)
    # the newest bucket (the last file) overlaps the one before it: rows newer than that one's
    # newest event leave after the first read of one bucket
    assert reads == [1] and first.num_rows > 0
    newest = T0 + (FILES - 2) * 86400 + 3600 + (PER_FILE - 1) * 60
    assert first.column("_time")[0].as_py() == newest
    rest = list(it)
    assert sum(reads) == FILES and first.num_rows + sum(p.num_rows for p in rest) == FILES * (PER_FILE + 1)


def test_only_batchable_searches(svc):  # noqa: F811
    with pytest.raises(ValueError):
        next(stream.events_as_read(svc.home, svc.catalog, compiled("index=main | stats count")))


def test_a_table_wildcard_reads_only_the_rows_it_keeps_and_exports_in_batches(svc, monkeypatch):  # noqa: F811
    """`| table us* st*` as the last command: the search's LIMIT runs in SQL before the fields are
    extracted in Python (3 rows extracted for a limit of 3, not every event), and an export
    streams every row batch by batch with the extracted columns."""
    from speleo import sourcetypes

    calls = []
    real = sourcetypes.extract_fields
    monkeypatch.setattr(sourcetypes, "extract_fields", lambda *a, **k: calls.append(1) or real(*a, **k))
    c = compiled("index=main | table n us* st*")
    res = engine.execute(svc.home, svc.catalog, c, limit=3)
    assert res.table.num_rows == 3 and res.truncated and len(calls) <= 4
    assert res.table.column_names == ["n", "user", "status"]
    calls.clear()
    parts = list(stream.tables(svc.home, svc.catalog, c, batch_rows=100))
    assert all(p.num_rows <= 100 for p in parts) and len(parts) > 1
    rows = [r for p in parts for r in p.to_pylist()]
    assert len(rows) == FILES * (PER_FILE + 1) == len(calls)
    users = ("ann", "bob", "cid", "dan")
    assert all(r["user"] == users[int(r["n"]) % 4] and int(r["status"]) == (200, 200, 404, 500, 301)[int(r["n"]) % 5]
               for r in rows)
