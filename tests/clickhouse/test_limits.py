"""Per-role search limits on ClickHouse (issue 17: `max_execution_time`, memory and rows read set on
every query): the settings each limit gives, and ClickHouse itself stopping a search at the rows
and memory limits, reported as the role's limit (chdb 26.9). Events planted here."""

from __future__ import annotations

import pyarrow as pa
import pytest

from speleo.config import Home
from speleo.query.clickhouse import limit_settings
from speleo.query.scope import IndexScope, SearchLimitError, SearchLimits
from speleo.service import Service
from tests.clickhouse.conftest import backend_on

T0 = 1_700_000_000.0
N = 20_000


@pytest.fixture(scope="module")
def ch(ch_client, tmp_path_factory):
    svc = Service(Home(tmp_path_factory.mktemp("chlim") / "home"), backend="chdb://in-this-process")
    svc._backend = backend_on(ch_client, "limits_db")
    svc._backend.client.command("DROP DATABASE IF EXISTS limits_db")
    svc._backend.write("main", pa.table({
        "_time": pa.array([T0 + i for i in range(N)], pa.float64()),
        "_raw": [f"line {i} user=u{i % 97}" for i in range(N)],
        "host": [f"h{i % 3}" for i in range(N)], "source": ["app.log"] * N, "sourcetype": ["app"] * N,
        "index": ["main"] * N, "_indextime": pa.array([T0] * N, pa.float64()),
        "_offset": pa.array(range(N), pa.int64()),
    }), "limits-1")
    return svc


def scoped(**limits) -> IndexScope:
    return IndexScope(("*",), ("*",), SearchLimits(**limits))


def test_each_limit_becomes_a_query_setting():
    assert limit_settings(SearchLimits()) == {}
    assert limit_settings(SearchLimits(max_time_secs=2.5, max_rows_read=1000, max_memory_bytes=64 << 20)) == {
        "max_execution_time": 3, "timeout_overflow_mode": "throw", "max_rows_to_read": 1000,
        "read_overflow_mode": "throw", "max_memory_usage": 64 << 20}


def test_clickhouse_stops_a_search_at_the_roles_rows_limit(ch):
    q = "index=main earliest=0 | stats count"
    assert ch.search(q, now=T0 + N, capabilities=None, scope=scoped(max_rows_read=N)).table.to_pylist() == \
        [{"count": N}]
    with pytest.raises(SearchLimitError, match=r"ClickHouse stopped the search .*srchMaxRowsRead: 1,000 events"):
        ch.search(q, now=T0 + N, capabilities=None, scope=scoped(max_rows_read=1000))
    # without limits (the API token) the server's own settings only
    assert ch.search(q, now=T0 + N, capabilities=None).table.to_pylist() == [{"count": N}]


def test_clickhouse_stops_a_search_at_the_roles_memory_limit(ch):
    q = "index=main earliest=0 | eval k=_raw . _raw . _raw | stats count by k | stats count"
    assert ch.search(q, now=T0 + N, capabilities=None).table.to_pylist() == [{"count": N}]
    with pytest.raises(SearchLimitError, match="srchMaxMemory"):
        ch.search(q, now=T0 + N, capabilities=None, scope=scoped(max_memory_bytes=1 << 20))
