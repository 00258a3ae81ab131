"""CompiledSearch metadata and SQL text goldens."""

from __future__ import annotations

import pytest

from speleo.spl import compile_search
from tests.spl.conftest import NOW, make_ctx


def test_metadata_of_event_search():
    c = compile_search('index=web* sourcetype=access error "disk full" NOT fatal (a OR b) earliest=-1h', make_ctx())
    assert c.indexes == ["web*"]
    assert c.required_terms == ["error", "disk", "full"]
    assert c.earliest == NOW - 3600 and c.latest is None
    assert not c.transforming and c.order_by_time_desc
    assert c.events_sql is not None


def test_metadata_of_transforming_search():
    c = compile_search("(index=a OR index=b) x | stats count by host", make_ctx(default_earliest=5.0, default_latest=9.0))
    assert c.indexes == ["a", "b"]
    assert c.transforming and not c.order_by_time_desc
    assert (c.earliest, c.latest) == (5.0, 9.0)
    assert "GROUP BY" not in c.events_sql


def test_sql_text_golden():
    c = compile_search("error | head 5", make_ctx())
    assert c.sql == (
        "WITH s0 AS (SELECT * FROM __events__ WHERE \"_raw\" ILIKE '%error%' ESCAPE '\\' AND "
        "REGEXP_MATCHES(\"_raw\", '(?i)(?:^|[^0-9a-z])error(?:[^0-9a-z]|$)')), "
        "s1 AS (SELECT * FROM s0 ORDER BY \"_time\" DESC LIMIT 5) SELECT * FROM s1 ORDER BY \"_time\" DESC")


def test_values_are_never_pasted():
    c = compile_search("user=\"x'; DROP TABLE t; --\"", make_ctx())
    assert "= 'x''; drop table t; --'" in c.sql   # lower-cased literal, quote doubled


@pytest.mark.parametrize("tz", ["UTC", "Asia/Kolkata", "Etc/GMT+7", "Asia/Tokyo"])
@pytest.mark.parametrize("days", [1, 2, 7])
def test_day_buckets_in_a_fixed_offset_zone_equal_duckdbs_time_bucket(tz, days):
    """Day spans in a zone of one offset are computed by arithmetic (spl/nodes.py
    fixed_offset); DuckDB's own time_bucket over the converted timestamps is the reference."""
    import random

    import duckdb
    from sqlglot import exp as _exp

    from speleo.spl.nodes import TimeBucket, fixed_offset, render

    assert fixed_offset(tz) is not None
    rng = random.Random(days)
    times = [rng.uniform(0, 4_000_000_000) for _ in range(2000)] + [946857600.0, 0.0, 86399.999, 86400.0]
    con = duckdb.connect()
    con.execute("CREATE TABLE t (x DOUBLE)")
    con.executemany("INSERT INTO t VALUES (?)", [[x] for x in times])
    node = TimeBucket(this=_exp.column("x"), seconds=_exp.Literal.number(days), unit=_exp.Literal.string("d"),
                      tz=_exp.Literal.string(tz))
    fast = con.execute(f"SELECT {render(node)} FROM t ORDER BY rowid").fetchall()
    ref = con.execute(f"SELECT epoch(timezone('{tz}', time_bucket(INTERVAL '{days} days', "
                      f"timezone('{tz}', to_timestamp(x)))))::DOUBLE FROM t ORDER BY rowid").fetchall()
    assert fast == ref
