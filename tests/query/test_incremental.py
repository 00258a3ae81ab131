"""engine.execute_incremental: a search run bucket batch by bucket batch, newest buckets first,
with partial results after each batch, equals the one-shot `engine.execute`; it stops when told."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections import Counter

import duckdb
import pytest

from speleo.config import Home
from speleo.ingest.oneshot import add_oneshot
from speleo.query import engine
from speleo.service import Service

DAY = 86400
T0 = 1772323200  # 2026-03-01T00:00:00Z
FILES = 9          # one bucket each
PER_FILE = 120


def _line(t: int, i: int, f: int) -> str:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))
    user = ("ann", "bob", "cid", "dan")[i % 4]
    status = (200, 200, 404, 500, 301)[i % 5]
    verb = "GET" if i % 3 else "POST"
    return f"{stamp} file={f} n={i} user={user} status={status} {verb} /page/{i % 7}\n"


@pytest.fixture(scope="module")
def svc(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("incremental")
    service = Service(Home(tmp / "home"))
    w = service.open_writer()
    for f in range(FILES):
        # one file a day; the last two overlap in time, and every file has an event at the
        # same instant (ties across buckets)
        start = T0 + f * DAY if f < FILES - 1 else T0 + (f - 1) * DAY + 3600
        lines = [_line(start + i * 60, i, f) for i in range(PER_FILE)] + [_line(T0 + 3 * DAY + 30, 999, f)]
        path = tmp / f"part{f}.log"
        path.write_text("".join(lines))
        add_oneshot(w.ingestor, path, "main")
    w.close()
    assert len(service.catalog.live_buckets()) == FILES
    return service


def compiled(q: str):
    return engine.compile_for(q, now=T0 + 30 * DAY)


def run_both(svc, q: str, limit: int):
    c = compiled(q)
    one = engine.execute(svc.home, svc.catalog, c, limit=limit)
    parts = []
    inc = engine.execute_incremental(svc.home, svc.catalog, c, limit=limit,
                                     on_partial=lambda r, progress: parts.append((r, progress)))
    return one, inc, parts


def rows_key(table, skip_time=None):
    """Rows as a multiset (the order of events with equal _time is not defined)."""
    return Counter(tuple(sorted((k, repr(v)) for k, v in r.items() if k != "_indextime"))
                   for r in table.to_pylist() if r["_time"] != skip_time)


def times(table):
    return table.column("_time").to_pylist()


QUERIES = [
    "index=main",
    "index=main GET",
    "index=main status=404 OR status=500",
    'index=main | rex "user=(?<who>\\w+)" | eval big=if(n > 60, 1, 0) | where big=1',
    "index=main nosuchword",
    f"index=main earliest={T0 + 3 * DAY} latest={T0 + 6 * DAY}",
]


@pytest.mark.parametrize("q", QUERIES)
@pytest.mark.parametrize("limit", [0, 7, 100])
def test_incremental_equals_one_shot(svc, q, limit):
    one, inc, parts = run_both(svc, q, limit)
    assert engine.batchable(compiled(q))
    assert (inc.kind, inc.total, inc.truncated, inc.span) == (one.kind, one.total, one.truncated, one.span)
    assert inc.timeline == one.timeline
    assert inc.scanned == one.scanned
    assert inc.table.column_names == one.table.column_names
    assert inc.table.num_rows == one.table.num_rows
    assert times(inc.table) == times(one.table)  # newest first, the same instants
    if limit == 0 or not one.truncated:
        assert rows_key(inc.table) == rows_key(one.table)
    else:  # the same events, but which of several equal-time events is cut at the limit may differ
        last = times(one.table)[-1]
        assert rows_key(inc.table, skip_time=last) == rows_key(one.table, skip_time=last)
    # partials: one per batch, the last is the answer
    assert parts, "an event search reports partial results"
    final, progress = parts[-1]
    assert progress["buckets_done"] == progress["buckets"] == one.scanned["buckets_read"]
    assert progress["bytes_done"] == progress["bytes"] == one.scanned["bytes_in_buckets_read"]
    assert final.total == one.total and final.timeline == one.timeline


def test_partials_grow_newest_buckets_first(svc):
    c = compiled("index=main")
    parts = []
    inc = engine.execute_incremental(svc.home, svc.catalog, c, limit=0,
                                     on_partial=lambda r, progress: parts.append((r, progress)))
    buckets = sorted(svc.catalog.live_buckets(), key=lambda b: b.max_time, reverse=True)
    sizes = [1, 2, 4, 2]  # batches of 1, 2, 4... buckets
    assert [p["buckets_done"] for _, p in parts] == [sum(sizes[: i + 1]) for i in range(len(sizes))]
    done = 0
    previous = Counter()
    for (r, progress), size in zip(parts, sizes):
        batch = buckets[done: done + size]
        done += size
        # what a partial holds: exactly the events of the buckets read so far, newest first
        read = {b.path.split("/")[-1] for b in buckets[:done]}
        assert r.total == sum(b.event_count for b in buckets[:done]) == r.table.num_rows
        assert sum(c for _, c in r.timeline) == r.total and r.span == inc.span
        assert times(r.table) == sorted(times(r.table), reverse=True)
        assert max(times(r.table)) == max(b.max_time for b in buckets[:done])
        assert len(read) == done and batch
        # the union of the batches so far: each partial contains the previous one
        now = rows_key(r.table)
        assert not (previous - now)
        previous = now
    assert rows_key(parts[-1][0].table) == rows_key(inc.table)
    assert rows_key(inc.table) == rows_key(engine.execute(svc.home, svc.catalog, c, limit=0).table)
    # the first batch is the newest bucket (by max_time): the overlapping last file
    first = parts[0][0]
    assert {r["source"].rsplit("/", 1)[-1] for r in first.table.to_pylist()} == {f"part{FILES - 1}.log"}


def test_bucket_batches_order_and_sizes(svc):
    buckets = svc.catalog.live_buckets()
    batches = engine.bucket_batches(buckets)
    assert [len(b) for b in batches] == [1, 2, 4, 2]
    flat = [b for batch in batches for b in batch]
    assert [b.max_time for b in flat] == sorted((b.max_time for b in buckets), reverse=True)
    assert engine.bucket_batches([]) == []
    assert [len(b) for b in engine.bucket_batches(buckets, first=3, growth=1)] == [3, 3, 3]


@pytest.mark.parametrize("q", [
    "index=main | stats count by user",
    "index=main | head 5",
    "index=main | sort n",
    "index=main | dedup user",
    "index=main | table _time user",
    "index=main [search index=main n=3 | head 1 | fields user]",
    "index=main | streamstats count",
])
def test_other_searches_run_once_without_partials(svc, q):
    c = compiled(q)
    assert not engine.batchable(c)
    parts = []
    inc = engine.execute_incremental(svc.home, svc.catalog, c, limit=50, on_partial=lambda *a: parts.append(a))
    one = engine.execute(svc.home, svc.catalog, c, limit=50)
    assert parts == []
    assert (inc.kind, inc.total, inc.truncated, inc.timeline) == (one.kind, one.total, one.truncated, one.timeline)
    assert inc.table.column_names == one.table.column_names and inc.table.num_rows == one.table.num_rows


def test_failures_are_search_failed(svc):
    # SQL DuckDB refuses (as a compiler bug would produce): SearchFailed, as from execute
    broken = dataclasses.replace(compiled("index=main"), sql="SELECT * FROM __events__ ORDER BY no_such_column")
    for run in (engine.execute, engine.execute_incremental):
        with pytest.raises(engine.SearchFailed, match="could not run"):
            run(svc.home, svc.catalog, broken, limit=5)


def test_stop_between_batches(svc):
    c = compiled("index=main")
    parts = []
    stop = threading.Event()

    def on_partial(r, progress):
        parts.append(progress["buckets_done"])
        stop.set()   # cancel asked after the first batch: no second batch is read

    with pytest.raises(duckdb.InterruptException):
        engine.execute_incremental(svc.home, svc.catalog, c, limit=10, on_partial=on_partial, should_stop=stop.is_set)
    assert parts == [1]
    # on_partial raising stops it too
    def boom(r, progress):
        raise RuntimeError("enough")

    with pytest.raises(RuntimeError):
        engine.execute_incremental(svc.home, svc.catalog, c, limit=10, on_partial=boom)
    # stopped before anything ran (also for searches run in one go)
    for q in ("index=main", "index=main | stats count"):
        with pytest.raises(duckdb.InterruptException):
            engine.execute_incremental(svc.home, svc.catalog, compiled(q), limit=10, should_stop=lambda: True)


def test_interrupt_mid_batch_stops_at_once(svc):
    # the first batch (one bucket) is quick; the second (two buckets) would count to 10^12
    slow = dataclasses.replace(compiled("index=main"), sql=(
        "SELECT * FROM __events__ WHERE (SELECT count(*) FROM range(CASE WHEN (SELECT count(*) FROM __events__) "
        f"> {PER_FILE + 1} THEN 1000000000000 ELSE 1 END)) > 0 ORDER BY _time DESC"))
    assert engine.batchable(slow)
    cons, parts, stop, asked = [], [], threading.Event(), {}

    def cancel_soon():   # as the web's DELETE does: mark the job cancelled, interrupt its connection
        time.sleep(0.3)
        asked["at"] = time.monotonic()
        stop.set()
        cons[0].interrupt()

    def on_partial(r, progress):
        parts.append((r.total, progress["buckets_done"]))
        threading.Thread(target=cancel_soon, daemon=True).start()

    with pytest.raises(duckdb.InterruptException):
        engine.execute_incremental(svc.home, svc.catalog, slow, limit=10, on_partial=on_partial,
                                   on_connection=lambda con, p: cons.append(con), should_stop=stop.is_set)
    assert time.monotonic() - asked["at"] < 2.0
    assert parts == [(PER_FILE + 1, 1)]   # the first batch was reported, the second never finished
