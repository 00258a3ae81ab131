"""Partial results, progress and cancel on ClickHouse (issue 17: "partial results, cancel and
progress work the same"): an event search runs over time slices newest first
(`ClickHouseBackend.execute_incremental`); each slice's partial answer holds the newest events and
the running count and timeline; the final answer equals the one-shot `execute`; a cancel stops
between slices; a web search job on ClickHouse shows the slices as its progress. chdb 26.9;
events planted here, expected figures computed from them."""

from __future__ import annotations

import duckdb
import pyarrow as pa
import pytest

from speleo.config import Home
from speleo.query import engine
from speleo.service import Service
from speleo.web.jobs import Jobs
from tests.clickhouse.conftest import backend_on

T0 = 1_700_000_000.0
DAY = 86400
N = 3000   # ten days, one event every 288 s


@pytest.fixture(scope="module")
def ch(ch_client, tmp_path_factory):
    svc = Service(Home(tmp_path_factory.mktemp("chpart") / "home"), backend="chdb://in-this-process")
    svc._backend = backend_on(ch_client, "partial_db")
    svc._backend.client.command("DROP DATABASE IF EXISTS partial_db")
    svc._backend.write("main", pa.table({
        "_time": pa.array([T0 + i * 288 for i in range(N)], pa.float64()),
        "_raw": [f"line {i} {'ERROR' if i % 10 == 0 else 'INFO'} user=u{i % 7}" for i in range(N)],
        "host": [f"h{i % 3}" for i in range(N)], "source": ["app.log"] * N, "sourcetype": ["app"] * N,
        "index": ["main"] * N, "_indextime": pa.array([T0] * N, pa.float64()),
        "_offset": pa.array(range(N), pa.int64()),
    }), "partial-1")
    return svc


def compiled(q: str):
    return engine.compile_for(q, now=T0 + 20 * DAY)


def test_slices_give_growing_partials_and_the_one_shot_answer(ch):
    be = ch.backend
    q = "index=main earliest=0 ERROR"
    seen = []
    final = be.execute_incremental(compiled(q), limit=50, on_partial=lambda r, p: seen.append((r, p)))
    whole = be.execute(compiled(q), limit=50)
    errors = [T0 + i * 288 for i in range(N) if i % 10 == 0]
    assert final.total == whole.total == len(errors)
    assert final.table.column("_time").to_pylist() == whole.table.column("_time").to_pylist() == sorted(errors)[::-1][:50]
    assert final.timeline == whole.timeline and final.span == whole.span and final.truncated
    # seven slices, newest first: counts only grow, the newest event is known from the first slice on
    assert [p["buckets_done"] for _, p in seen] == list(range(1, 8)) and seen[-1][1]["buckets"] == 7
    totals = [r.total for r, _ in seen]
    assert totals == sorted(totals) and 0 < totals[0] < totals[-1] == len(errors)
    assert seen[0][0].table.column("_time")[0].as_py() == max(errors)


def test_a_cancel_stops_between_slices(ch):
    calls = []

    def stop() -> bool:
        return len(calls) >= 2

    with pytest.raises(duckdb.InterruptException):
        ch.backend.execute_incremental(compiled("index=main earliest=0"), limit=10, should_stop=stop,
                                       on_partial=lambda r, p: calls.append(p["buckets_done"]))
    assert calls == [1, 2]


def test_transforming_searches_run_in_one_go(ch):
    seen = []
    r = ch.backend.execute_incremental(compiled("index=main earliest=0 | stats count by host"), limit=10,
                                       on_partial=lambda r, p: seen.append(p))
    assert seen == [] and sorted((x["host"], x["count"]) for x in r.table.to_pylist()) == [("h0", 1000), ("h1", 1000),
                                                                                               ("h2", 1000)]


def test_a_web_job_on_clickhouse_reports_slices_and_ends_with_the_answer(ch):
    jobs = Jobs(ch, persist=False)
    job = jobs.start(1, "index=main earliest=0 u3", None, None, 20, T0 + 20 * DAY)
    assert job.ended.wait(60)
    want = sum(1 for i in range(N) if i % 7 == 3)
    body = job.to_dict()
    assert job.state == "done" and body["result"]["total"] == want
    assert body["progress"]["buckets"] == 7 and body["progress"]["buckets_done"] == 7
    assert body["progress"]["percent"] == 100.0
