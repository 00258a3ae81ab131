"""Cancel and the role's time limit on ClickHouse (issue 17: "cancel (`KILL QUERY`)", "per-role
limits (`max_execution_time` ...) set on every query").

chdb runs one query at a time in a process, so `KILL QUERY` cannot reach a running query there:
the kill path is tested with a stand-in client that holds a query until it is killed, as a
ClickHouse server's HTTP interface does (the query's id comes with the query; `KILL QUERY WHERE
query_id = ...` from a second connection ends it with code 394, QUERY_WAS_CANCELLED). The time
limit is checked on chdb: a search of several queries gives each what is left of the role's
`srchMaxTime`, not all of it again."""

from __future__ import annotations

import threading
import time

import duckdb
import pyarrow as pa
import pytest

from speleo.query import clickhouse as chq
from speleo.query import engine
from speleo.query.scope import IndexScope, SearchLimitError, SearchLimits
from speleo.storage.clickhouse.ddl import Topology
from tests.clickhouse.conftest import backend_on

T0 = 1_700_000_000.0
DAY = 86400


class _Rows:
    def __init__(self, rows):
        self.result_rows = rows


class HoldingClient:
    """Answers the catalogue queries, and holds every search query until `KILL QUERY` names its
    id (then fails it as ClickHouse does) or `hold_secs` pass (then answers with no rows)."""

    def __init__(self, hold_secs: float = 20.0, then_fail: bool = False) -> None:
        self.hold_secs = hold_secs
        self.then_fail = then_fail
        self.running: dict[str, threading.Event] = {}
        self.query_settings: list[dict] = []
        self.kills: list[dict] = []
        self.lock = threading.Lock()

    def query(self, sql, parameters=None, settings=None):
        if "system.columns" in sql:         # no promoted field columns
            return _Rows([])
        assert "system.tables" in sql
        return _Rows([("idx_main",)])

    def query_arrow(self, sql, settings=None):
        qid = settings["query_id"]
        killed = threading.Event()
        with self.lock:
            self.query_settings.append(dict(settings))
            self.running[qid] = killed
        if killed.wait(self.hold_secs):
            raise RuntimeError(f"Code: 394. DB::Exception: Query was cancelled. (QUERY_WAS_CANCELLED) query_id {qid}")
        if self.then_fail:
            raise RuntimeError("Code: 60. DB::Exception: Unknown table (UNKNOWN_TABLE)")
        return pa.table({"_time": pa.array([], pa.float64()), "_raw": pa.array([], pa.string())})

    def command(self, sql, parameters=None, settings=None):
        self.kills.append({"sql": sql, "parameters": parameters})
        qid = parameters["qid"] if parameters else sql.split("initial_query_id = '")[-1].split("'")[0]
        if sql.startswith("KILL QUERY"):
            with self.lock:
                ev = self.running.get(qid)
            if ev is not None:
                ev.set()


def test_a_cancel_sends_kill_query_for_the_running_query_and_stops_the_search():
    client = HoldingClient()
    be = chq.ClickHouseBackend(client, Topology(database="speleo"), display="stand-in", kill_client=lambda: client)
    asked = threading.Event()
    cancel_at = time.monotonic() + 0.5

    def should_stop() -> bool:
        asked.set()
        return time.monotonic() >= cancel_at

    compiled = engine.compile_for("index=main error | stats count by host", now=T0)
    started = time.monotonic()
    with pytest.raises(duckdb.InterruptException, match="KILL QUERY"):
        be.execute_incremental(compiled, limit=10, on_partial=lambda r, p: None, should_stop=should_stop)
    # the query was stopped by its KILL, not released by the stand-in's 20 s hold
    assert time.monotonic() - started < client.hold_secs / 2
    assert asked.is_set()
    assert len(client.query_settings) == 1
    qid = client.query_settings[0]["query_id"]
    assert qid.startswith("speleo-") and len(qid) > 20
    # the id travels as a bound parameter, never as SQL text; ASYNC: the KILL does not wait
    assert client.kills == [{"sql": "KILL QUERY WHERE query_id = {qid:String} ASYNC", "parameters": {"qid": qid}}]


def test_on_a_cluster_the_kill_goes_to_every_node_for_the_initial_query():
    client = HoldingClient()
    be = chq.ClickHouseBackend(client, Topology(database="speleo", cluster="logs"), display="stand-in",
                               kill_client=lambda: client)
    stop_at = time.monotonic() + 0.3
    compiled = engine.compile_for("index=main | stats count", now=T0)
    with pytest.raises(duckdb.InterruptException):
        be.execute_incremental(compiled, limit=10, on_partial=lambda r, p: None,
                               should_stop=lambda: time.monotonic() >= stop_at)
    qid = client.query_settings[0]["query_id"]
    assert client.kills[0]["sql"] == f"KILL QUERY ON CLUSTER 'logs' WHERE initial_query_id = '{qid}' ASYNC"


def test_a_search_nobody_cancels_sends_no_kill():
    client = HoldingClient(hold_secs=0.6, then_fail=True)
    be = chq.ClickHouseBackend(client, Topology(database="speleo"), display="stand-in", kill_client=lambda: client)
    compiled = engine.compile_for("index=main error | stats count by host", now=T0)
    # the server's own error is the search's error, not a cancel
    with pytest.raises(engine.SearchFailed, match="stand-in refused the search: Code: 60"):
        be.execute_incremental(compiled, limit=10, on_partial=lambda r, p: None, should_stop=lambda: False)
    assert client.kills == [] and len(client.query_settings) == 1


def test_a_search_cancelled_before_its_query_sends_none():
    client = HoldingClient(hold_secs=0.1)
    be = chq.ClickHouseBackend(client, Topology(database="speleo"), display="stand-in", kill_client=lambda: client)
    compiled = engine.compile_for("index=main | stats count", now=T0)
    with pytest.raises(duckdb.InterruptException):
        be.execute_incremental(compiled, limit=10, on_partial=lambda r, p: None, should_stop=lambda: True)
    assert client.query_settings == [] and client.kills == []


def test_the_time_left_not_the_whole_limit_goes_with_each_query():
    limits = SearchLimits(max_time_secs=10)
    assert chq.limit_settings(limits)["max_execution_time"] == 10
    assert chq.limit_settings(limits, 6.2)["max_execution_time"] == 7    # whole seconds, rounded up
    assert chq.limit_settings(limits, 0.01)["max_execution_time"] == 1
    with pytest.raises(SearchLimitError, match=r"srchMaxTime: 10 s"):
        chq.limit_settings(limits, -0.5)
    state = chq._SearchState(limits)
    state.started -= 7.5
    assert 2.0 < state.remaining_secs() <= 2.5
    assert chq._SearchState(SearchLimits(max_rows_read=5)).remaining_secs() is None


class Recording:
    """The real chdb client, noting the settings of every search query."""

    def __init__(self, client) -> None:
        self._client = client
        self.settings: list[dict] = []

    def query_arrow(self, sql, settings=None):
        self.settings.append(dict(settings or {}))
        time.sleep(0.3)      # each query costs time, as on a loaded server
        return self._client.query_arrow(sql, settings=settings)

    def __getattr__(self, name):
        return getattr(self._client, name)


def error_lines(n: int) -> pa.Table:
    """`n` events "line <i> ERROR", 1,000 s apart from T0, on one host and source."""
    return pa.table({
        "_time": pa.array([T0 + i * 1000 for i in range(n)], pa.float64()),
        "_raw": [f"line {i} ERROR" for i in range(n)], "host": ["h"] * n, "source": ["a.log"] * n,
        "sourcetype": ["app"] * n, "index": ["main"] * n, "_indextime": pa.array([T0] * n, pa.float64()),
        "_offset": pa.array(range(n), pa.int64()),
    })


def test_a_sliced_search_on_chdb_spends_one_time_budget(ch_client):
    be = backend_on(ch_client, "cancel_db")
    be.client.command("DROP DATABASE IF EXISTS cancel_db")
    n = 500
    be.write("main", error_lines(n), "cancel-1")
    rec = Recording(ch_client)
    be.client = rec
    scope = IndexScope(("*",), ("*",), SearchLimits(max_time_secs=3))
    compiled = engine.compile_for("index=main earliest=0 ERROR", now=T0 + 10 * DAY)
    with pytest.raises(SearchLimitError, match="srchMaxTime: 3 s"):
        be.execute_incremental(compiled, limit=1000, on_partial=lambda r, p: None, scope=scope)
    budgets = [s["max_execution_time"] for s in rec.settings]
    # 0.3 s a query at least: the budget shrinks from 3 s and the search stops once it is spent
    assert budgets[0] == 3 and budgets[-1] == 1 and budgets == sorted(budgets, reverse=True)
    assert len(budgets) <= 11
    # every query had its own id
    assert len({s["query_id"] for s in rec.settings}) == len(rec.settings)
    # without the limit the same search ends, with every ERROR line
    be.client = ch_client
    assert be.execute_incremental(compiled, limit=1000, on_partial=lambda r, p: None).total == n


class CountingCatalogue:
    """The real chdb client, counting the queries of ClickHouse's catalogue."""

    def __init__(self, client) -> None:
        self._client = client
        self.catalogue = 0

    def query(self, sql, *a, **kw):
        if "system.tables" in sql or "system.columns" in sql:
            self.catalogue += 1
        return self._client.query(sql, *a, **kw)

    def __getattr__(self, name):
        return getattr(self._client, name)


def test_a_search_reads_the_catalogue_once_however_many_slices(ch_client):
    be = backend_on(ch_client, "catalogue_db")
    be.client.command("DROP DATABASE IF EXISTS catalogue_db")
    n = 300
    be.write("main", error_lines(n), "catalogue-1")
    counting = CountingCatalogue(ch_client)
    be.client = counting
    compiled = engine.compile_for("index=main earliest=0 ERROR", now=T0 + 10 * DAY)
    slices = []
    result = be.execute_incremental(compiled, limit=1000, on_partial=lambda r, p: slices.append(p))
    assert result.total == n and len(slices) == 7
    assert counting.catalogue == 2            # the tables, then the promoted columns: once for 7 slices
    counting.catalogue = 0
    be.execute(compiled, limit=10)
    assert counting.catalogue == 2
