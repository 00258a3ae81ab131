"""strftime() rendered for ClickHouse (formatDateTime and computed pieces) gives DuckDB's text for
every Splunk time format variable Speleo renders, in three zones (UTC, one with daylight saving
time, one with a half-hour offset), at instants around a DST change, midnight, noon and with
sub-seconds. DuckDB's rendering is the reference its golden tests check against the Search
Reference ("Date and time format variables"). chdb 26.9."""

from __future__ import annotations

from datetime import timezone
from zoneinfo import ZoneInfo

import pyarrow as pa
import pytest

from speleo.query import udf
from speleo.spl import CompileContext, compile_search
from speleo.storage.clickhouse.ddl import IndexLayout
from tests.clickhouse.conftest import backend_on
from tests.spl.conftest import field_sql

TIMES = [1_699_999_999.0, 1_700_000_000.123456, 1_710_054_000.5, 1_710_057_600.0, 1_704_067_199.999,
         1_704_067_200.0, 1_688_212_800.25, 946_684_800.0, 1_720_000_000.987654]
FORMATS = ["%Y-%m-%d %H:%M:%S", "%F %T", "%a %A %b %B %d %e %j", "%I:%M %p", "%k|%l|%e", "%y %C %g %G %V %u %w",
           "%s", "%3Q %6N %9N %Q %N", "%z %Z", "%+", "%c", "%D %R %r %x %X", "%m/%d/%Y %H:%M:%S.%3N %z",
           "100%% at %H", "plain text", "%h %n%t%%"]
ZONES = ["UTC", "America/New_York", "Asia/Kolkata"]


@pytest.fixture(scope="module")
def be(ch_client):
    b = backend_on(ch_client, "strftime_db")
    b.client.command("DROP DATABASE IF EXISTS strftime_db")
    b.ensure_index(IndexLayout("main"))
    n = len(TIMES)
    b.write("main", pa.table({
        "_time": pa.array(TIMES, pa.float64()), "_raw": [f"e{i}" for i in range(n)], "host": ["h"] * n,
        "source": ["s"] * n, "sourcetype": ["st"] * n, "index": ["main"] * n,
        "_indextime": pa.array([TIMES[0]] * n, pa.float64()), "_offset": pa.array(range(n), pa.int64()),
    }), "strftime-1")
    return b


@pytest.mark.parametrize("zone", ZONES)
@pytest.mark.parametrize("fmt", FORMATS)
def test_strftime_is_the_same_on_both_engines(be, fmt, zone):
    tz = timezone.utc if zone == "UTC" else ZoneInfo(zone)
    ctx = CompileContext(now=2_000_000_000.0, tz=tz, field_sql=field_sql)
    q = f'index=main earliest=0 | eval s=strftime(_time, "{fmt}") | sort _time | table _time s'
    compiled = compile_search(q, ctx)
    events = be._query(f"SELECT * FROM ({be.events_source(compiled, ['main'])}) AS e")
    con = udf.connect()
    from speleo.storage.schema import conform

    con.register("__events__", conform(events))
    want = [dict(zip(("_time", "s"), r)) for r in con.sql(compiled.sql).fetchall()]
    got = be.execute(compiled, limit=0)
    assert got.messages == []                       # rendered for ClickHouse, no fallback
    assert [(r["_time"], r["s"]) for r in got.table.to_pylist()] == [(r["_time"], r["s"]) for r in want]
