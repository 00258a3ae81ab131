"""Journal, buckets, recovery and the term index: durability and exactly-once at the storage layer."""

from __future__ import annotations

import time

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from speleo.config import Home
from speleo.storage import termindex
from speleo.storage.catalog import Catalog
from speleo.storage.journal import HEAD, read_segment
from speleo.storage.store import Store


def events(n: int, start: float = 1000.0, index: str = "main", word: str = "alpha") -> pa.Table:
    return pa.table(
        {
            "_time": [start + i for i in range(n)],
            "_raw": [f"event {i} {word}" for i in range(n)],
            "index": [index] * n,
            "_indextime": [time.time()] * n,
        }
    )


@pytest.fixture
def home(tmp_path):
    return Home(tmp_path / "home").ensure()


def open_store(home):
    cat = Catalog(home.catalog_path)
    cat.ensure_index("main")
    cat.ensure_index("web")
    return Store(home, cat), cat


def all_raw(home, cat) -> list[str]:
    out = []
    for b in cat.live_buckets():
        out += pq.read_table(home.root / b.path).column("_raw").to_pylist()
    return out


def test_seal_writes_one_sorted_bucket_per_index_and_checkpoints(home):
    store, cat = open_store(home)
    store.append(events(3, start=50.0), {"fp": ("/a", 123)})
    store.append(events(2, index="web"))
    store.append(events(2, start=10.0))
    stats = store.seal()
    assert (stats.buckets, stats.events) == (2, 7)
    main = cat.live_buckets(["main"])[0]
    times = pq.read_table(home.root / main.path).column("_time").to_pylist()
    assert times == sorted(times) and (main.min_time, main.max_time) == (10.0, 52.0)
    assert cat.checkpoints() == {"fp": ("/a", 123)}
    assert list(home.journal_dir.glob("*.wal")) == []


def test_unsealed_journal_is_replayed_once_after_a_crash(home):
    store, cat = open_store(home)
    store.append(events(5), {"fp": ("/a", 10)})
    store.append(events(4, word="beta"), {"fp": ("/a", 20)})
    # the process dies here: no seal. A new writer recovers.
    store2, cat2 = open_store(home)
    assert store2.recover().events == 9
    assert len(all_raw(home, cat2)) == 9
    assert cat2.checkpoints()["fp"] == ("/a", 20)
    # a second recovery finds nothing to do
    store3, cat3 = open_store(home)
    assert store3.recover().events == 0
    assert len(all_raw(home, cat3)) == 9


def test_torn_tail_record_is_ignored(home):
    store, cat = open_store(home)
    store.append(events(3))
    store.append(events(2, word="beta"))
    seg = store.journal.segments()[-1]
    data = seg.read_bytes()
    seg.write_bytes(data[:-7])  # the last record was being written when power went
    records, valid = read_segment(seg)
    assert [r.events.num_rows for r in records] == [3]
    assert valid < len(data) - 7 and valid > HEAD.size
    store2, cat2 = open_store(home)
    store2.recover()
    assert sorted(all_raw(home, cat2)) == sorted(f"event {i} alpha" for i in range(3))


def test_segment_already_sealed_is_not_indexed_twice(home):
    store, cat = open_store(home)
    store.append(events(4))
    seq = store.journal.seq
    seg = store.journal.path_of(seq)
    saved = seg.read_bytes()
    store.seal()
    seg.write_bytes(saved)  # crash after the catalog commit, before the segment was deleted
    store2, cat2 = open_store(home)
    store2.recover()
    assert len(all_raw(home, cat2)) == 4
    assert not seg.exists()


def test_orphan_bucket_file_is_removed(home):
    store, cat = open_store(home)
    store.append(events(2))
    store.seal()
    orphan = home.index_dir("main") / "hot_1_2_deadbeef.parquet"
    pq.write_table(events(1), orphan)  # written, but the crash came before the catalog knew it
    store2, _ = open_store(home)
    store2.recover()
    assert not orphan.exists()


def test_merge_hot_into_warm_keeps_every_event_and_retires_the_old(home):
    store, cat = open_store(home)
    for i in range(5):
        store.append(events(3, start=100.0 * i, word=f"w{i}"))
        store.seal()
    assert store.merge_hot(min_buckets=5) == 1
    live = cat.live_buckets(["main"])
    assert [b.state for b in live] == ["warm"] and live[0].event_count == 15
    assert len(cat.retired_buckets()) == 5
    assert store.collect_garbage(grace_secs=0) == 5
    assert sorted(all_raw(home, cat)) == sorted(f"event {j} w{i}" for i in range(5) for j in range(3))


def test_volume_meter_counts_bytes_and_events_per_source(home):
    store, cat = open_store(home)
    t = events(3).append_column("source", pa.array(["/x"] * 3))
    store.append(t)
    store.seal()
    rows = cat.query("SELECT index_name, source, bytes, events FROM volume")
    assert rows == [("main", "/x", sum(len(f"event {i} alpha") for i in range(3)), 3)]


def bloom_of(tmp_path, texts, rows_per_group=None):
    path = tmp_path / "b.parquet"
    pq.write_table(pa.table({"_raw": texts}), path, row_group_size=rows_per_group or max(1, len(texts)))
    return termindex.build_for_file(duckdb.connect(), path)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.text(min_size=1, max_size=40), min_size=1, max_size=30))
def test_bloom_has_no_false_negatives(tmp_path_factory, texts):
    con = duckdb.connect()
    blob = bloom_of(tmp_path_factory.mktemp("b"), texts, rows_per_group=4)
    for i, text in enumerate(texts):
        for tok in termindex.term_tokens(text):
            groups = termindex.matching_row_groups(blob, termindex.token_hashes(con, [tok]))
            assert i // 4 in groups


def test_bloom_rejects_absent_terms_mostly(tmp_path):
    con = duckdb.connect()
    blob = bloom_of(tmp_path, [f"user{i} logged in from host{i}" for i in range(2000)])
    absent = [f"zzz{i}" for i in range(500)]
    false_pos = sum(termindex.might_contain(blob, termindex.token_hashes(con, [a])) for a in absent)
    assert false_pos < 25  # ~1% expected at 10 bits per token, k=4


def test_bloom_points_at_the_row_groups_that_hold_a_term(tmp_path):
    con = duckdb.connect()
    texts = [f"line {i} ordinary" for i in range(100)]
    texts[37] = "line 37 needle here"
    texts[81] = "NEEDLE again"
    blob = bloom_of(tmp_path, texts, rows_per_group=10)
    assert termindex.matching_row_groups(blob, termindex.token_hashes(con, ["needle"])) == [3, 8]
    assert termindex.matching_row_groups(blob, termindex.token_hashes(con, ["ordinary"])) == list(range(10))
    assert termindex.matching_row_groups(blob, termindex.token_hashes(con, ["needle", "37"])) == [3]


def test_streaming_merge_orders_by_source_then_time_and_keeps_every_row(tmp_path):
    import random

    from speleo.storage.merge import merge_sorted, sort_events
    from speleo.storage.schema import conform

    rng = random.Random(3)
    paths, rows = [], []
    for k in range(5):
        n = rng.randint(1, 400)
        t = pa.table({
            "_time": [rng.uniform(0, 1000) for _ in range(n)],
            "_raw": [f"r{k}-{i}" for i in range(n)],
            "source": [rng.choice(["/a", "/b", None]) for _ in range(n)],
            "index": ["main"] * n,
        })
        rows += list(zip([s or "" for s in t.column("source").to_pylist()], t.column("_time").to_pylist(), t.column("_raw").to_pylist()))
        path = tmp_path / f"in{k}.parquet"
        pq.write_table(sort_events(conform(t)), path, row_group_size=37)
        paths.append(path)
    seen_groups = []
    n = merge_sorted(paths, tmp_path / "out.parquet", 50, {"compression": "zstd"}, seen_groups.append)
    out = pq.read_table(tmp_path / "out.parquet")
    got = list(zip([s or "" for s in out.column("source").to_pylist()], out.column("_time").to_pylist(), out.column("_raw").to_pylist()))
    assert n == len(rows) == len(got) and sum(g.num_rows for g in seen_groups) == n
    assert [(s, t) for s, t, _ in got] == sorted((s, t) for s, t, _ in rows)
    assert sorted(r for _, _, r in got) == sorted(r for _, _, r in rows)
    assert pq.ParquetFile(tmp_path / "out.parquet").metadata.row_group(0).num_rows == 50


def test_sort_events_of_one_source_is_stable_on_time():
    """One source: rows in _time order, rows of equal _time in their order of arrival; an
    already ordered table comes back as it was; several sources (a missing one as "") first."""
    from speleo.storage.merge import sort_events

    t = pa.table({"_time": [3.0, 1.0, 2.0, 1.0], "_raw": ["a", "b", "c", "d"], "source": ["/s"] * 4})
    assert sort_events(t).column("_raw").to_pylist() == ["b", "d", "c", "a"]
    ordered = pa.table({"_time": [1.0, 1.0, 2.0], "_raw": ["x", "y", "z"], "source": ["/s"] * 3})
    assert sort_events(ordered).column("_raw").to_pylist() == ["x", "y", "z"]
    mixed = pa.table({"_time": [1.0, 0.0, 2.0, 0.5], "_raw": ["p", "q", "r", "s"], "source": ["/b", "/a", None, "/b"]})
    assert sort_events(mixed).column("_raw").to_pylist() == ["r", "q", "s", "p"]


def test_sort_events_of_one_source_with_a_null_time_still_sorts():
    """The already-in-order check compares neighbours; with a null _time two of its pairs are
    null and `all` skips them, so [5, null, 3, 4] passed as ordered and was not sorted. Sorted by
    _time with nulls last (as the several-source sort puts them): 3, 4, 5, null."""
    from speleo.storage.merge import sort_events

    t = pa.table({"_time": pa.array([5.0, None, 3.0, 4.0]), "_raw": ["a", "b", "c", "d"], "source": ["/s"] * 4})
    assert sort_events(t).column("_raw").to_pylist() == ["c", "d", "a", "b"]


def test_journal_segment_holds_the_encoded_records_back_to_back(home):
    """A record is written in pieces (no joined copy): the segment's bytes are still exactly
    encode(record) of each record in turn, and pending_bytes counts them."""
    from speleo.storage.journal import Journal, Record, encode
    from speleo.storage.schema import conform

    journal = Journal(home.root / "j")
    recs = [Record(conform(events(3)), {"checkpoints": {"k": ["/f", 10]}}), Record(conform(events(2, word="beta")), {})]
    for r in recs:
        journal.append(r)
    journal.close()
    expected = b"".join(encode(r) for r in recs)
    assert journal.path_of(journal.seq).read_bytes() == expected and journal.pending_bytes == len(expected)
    back, valid = read_segment(journal.path_of(journal.seq))
    assert valid == len(expected) and [b.meta for b in back] == [r.meta for r in recs]
    assert all(b.events.equals(r.events) for b, r in zip(back, recs))


def test_segment_numbers_are_not_reused_after_a_clean_stop(home):
    """After a clean stop the journal folder is empty; a new segment must not take a number the
    catalog lists as sealed, or recovery would delete it unread."""
    store, cat = open_store(home)
    store.append(events(3))
    store.seal()
    store.close()
    store2, _ = open_store(home)
    store2.append(events(5, word="beta"))   # acknowledged, then the process dies before a seal
    store3, cat3 = open_store(home)
    assert store3.recover().events == 5
    assert sorted(all_raw(home, cat3)) == sorted([f"event {i} alpha" for i in range(3)] + [f"event {i} beta" for i in range(5)])


def test_a_failed_seal_is_retried(home, monkeypatch):
    store, cat = open_store(home)
    store.append(events(4))
    calls = {"n": 0}
    real = store._write_bucket

    def flaky(*a, **kw):
        calls["n"] += 1
        if calls["n"] == 1:
            raise OSError(28, "No space left on device")
        return real(*a, **kw)

    monkeypatch.setattr(store, "_write_bucket", flaky)
    with pytest.raises(OSError):
        store.seal()
    store.append(events(2, start=50.0, word="beta"))
    store.seal()
    assert len(all_raw(home, cat)) == 6


def test_journal_record_body_is_the_arrow_ipc_stream_pyarrow_writes():
    """encode() assembles the IPC stream itself (schema message once, batches, end marker): the
    bytes must be those of pyarrow's own stream writer, for one batch, several and none."""
    import io

    from speleo.storage.journal import Record, encode
    from speleo.storage.schema import EVENT_SCHEMA

    t = pa.Table.from_pydict({
        "_time": [1.5, 2.0], "_raw": ["a", "b\nc é"], "host": ["h", None], "source": ["s", "s"],
        "sourcetype": ["x", "x"], "index": ["main", "main"], "_indextime": [1.0, 1.0],
        "linecount": pa.array([1, 2], pa.int32()), "_offset": [-1, 7], "_flags": ["", "invalid_utf8"],
        "_fields": [None, '{"a":1}']}, schema=EVENT_SCHEMA)
    for table in (t, pa.concat_tables([t, t.slice(1)]), t.slice(0, 0)):
        sink = io.BytesIO()
        with pa.ipc.new_stream(sink, EVENT_SCHEMA) as writer:
            writer.write_table(table)
        blob = encode(Record(table, {"k": 1}))
        assert blob.endswith(sink.getvalue())
        assert pa.ipc.open_stream(blob[-len(sink.getvalue()):]).read_all().equals(table)


def test_a_segment_left_by_a_failed_write_is_sealed_once(home):
    # a write that fails and cannot be cut (test_group_commit._FullDisk) leaves its segment with
    # the 3 events before it; the next 2 go to a new segment. The seal takes both segments (no
    # journal file left) and a restart replays nothing: 5 events, not 8
    from tests.storage.test_group_commit import _FullDisk

    store, cat = open_store(home)
    store.append(events(3))
    store.journal._file = _FullDisk(store.journal._file)
    with pytest.raises(OSError):
        store.append(events(4, word="lost"))
    store.append(events(2, word="beta"))
    assert store.seal().events == 5
    assert list(home.journal_dir.glob("*.wal")) == []
    store2, cat2 = open_store(home)
    assert store2.recover().events == 0
    assert sorted(all_raw(home, cat2)) == sorted([f"event {i} alpha" for i in range(3)] + [f"event {i} beta" for i in range(2)])
