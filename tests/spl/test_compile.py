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


@pytest.mark.parametrize("tz", ["America/New_York", "Europe/London", "Asia/Beirut", "America/Sao_Paulo",
                                "Australia/Lord_Howe", "Africa/Casablanca", "Asia/Kolkata"])
@pytest.mark.parametrize("near", [None, (1_600_000_000.0, 1_700_000_000.0), (None, 1_000_000_000.0)])
def test_day_buckets_in_a_zone_with_daylight_saving_time_equal_duckdbs_time_bucket(tz, near):
    """Day spans in a zone with transitions are arithmetic over a tree of its transitions
    (spl/nodes.py _day_tree), also around each transition (a second before and after, the
    hour around, the day around), at midnight gaps (Sao Paulo's DST began at midnight) and
    repeated midnights (Beirut's ended at midnight), and before 1970 (the general path).
    The reference is DuckDB's own time_bucket over timezone(), computed per row."""
    import random

    import duckdb
    from sqlglot import exp as _exp

    from speleo.spl.nodes import TimeBucket, render, zone_offsets

    table = zone_offsets(tz)
    assert table is not None
    assert (len(table[1]) > 20) == (tz != "Asia/Kolkata")   # Kolkata: one offset since 1970
    rng = random.Random(tz)
    times = [rng.uniform(-1e9, 5e9) for _ in range(1500)]
    times += [p + d for p, _ in table[1] for d in (-90000, -86400, -3601, -1, -0.5, 0, 0.25, 1, 3600, 86400)]
    con = duckdb.connect()
    con.execute("CREATE TABLE t AS SELECT unnest($1::DOUBLE[]) AS x", [times])
    for days in (1, 2, 7):
        extra = {} if near is None else {"near": _exp.Tuple(expressions=[
            _exp.null() if v is None else _exp.Literal.number(v) for v in near])}
        node = TimeBucket(this=_exp.column("x"), seconds=_exp.Literal.number(days), unit=_exp.Literal.string("d"),
                          tz=_exp.Literal.string(tz), **extra)
        sql = render(node)
        assert "time_bucket" in sql.lower()   # the general path stays for times outside the tree
        wrong = con.execute(f"SELECT x, {sql} AS fast, epoch(timezone('{tz}', time_bucket(INTERVAL '{days} days', "
                            f"timezone('{tz}', to_timestamp(x)))))::DOUBLE AS ref FROM t "
                            "WHERE fast IS DISTINCT FROM ref LIMIT 5").fetchall()
        assert wrong == [], (days, wrong)


@pytest.mark.parametrize("tz", ["America/New_York", "America/Sao_Paulo", "Asia/Beirut", "Australia/Lord_Howe",
                                "UTC", "Asia/Kolkata"])
@pytest.mark.parametrize("near", [(1_600_000_000.0, 1_700_000_000.0), (1_699_000_000.0, 1_700_000_000.0), (None, 1.8e9),
                                  (-100_000_000.0, 200_000_000.0), None])
def test_month_buckets_equal_duckdbs_time_bucket(tz, near):
    """Month spans inside a closed search range are a tree over the month starts (spl/nodes.py
    _month_tree), times outside it take the general path; around every month start (a second
    before and after, the day around) and every transition, for 1, 2 and 3 months, also for an
    open earliest (the tree from 1970, the last two years first). Sao Paulo's
    DST began at midnight (a skipped local midnight), Beirut's ended at midnight. The reference
    is DuckDB's own time_bucket over timezone(), computed per row."""
    import random

    import duckdb
    from sqlglot import exp as _exp

    from speleo.spl.nodes import TimeBucket, month_starts, render, zone_offsets

    rng = random.Random(tz)
    times = [rng.uniform(-2e8, 2e9) for _ in range(1500)]
    times += [p + d for p, _ in zone_offsets(tz)[1] for d in (-86400, -1, 0, 1, 86400)]
    lo, hi = near or (1_600_000_000.0, 1_700_000_000.0)
    times += [x + d for x in month_starts(tz, 1, int(lo or 0), int(hi)) for d in (-86400, -1, -0.5, 0, 0.5, 1, 86400)]
    con = duckdb.connect()
    con.execute("CREATE TABLE t AS SELECT unnest($1::DOUBLE[]) AS x", [times])
    for months in (1, 2, 3):
        extra = {} if near is None else {"near": _exp.Tuple(expressions=[
            _exp.null() if v is None else _exp.Literal.number(v) for v in near])}
        node = TimeBucket(this=_exp.column("x"), seconds=_exp.Literal.number(months), unit=_exp.Literal.string("mon"),
                          tz=_exp.Literal.string(tz), **extra)
        sql = render(node)
        assert ("CASE" in sql) == (near is not None)   # the tree only for a closed range
        wrong = con.execute(f"SELECT x, {sql} AS fast, epoch(timezone('{tz}', time_bucket(INTERVAL '{months} months', "
                            f"timezone('{tz}', to_timestamp(x)))))::DOUBLE AS ref FROM t "
                            "WHERE fast IS DISTINCT FROM ref LIMIT 5").fetchall()
        assert wrong == [], (months, wrong)


def test_zone_offsets_follow_duckdbs_zone_data():
    """New York: EST (-5 h) in January 2024, EDT (-4 h) from 2024-03-10 07:00 UTC (02:00 EST)
    to 2024-11-03 06:00 UTC (02:00 EDT), as the US rules since 2007 say."""
    from speleo.spl.nodes import fixed_offset, zone_offsets

    first, trans = zone_offsets("America/New_York")
    assert first == -5 * 3600
    assert (1710054000, -4 * 3600) in trans and (1730613600, -5 * 3600) in trans
    assert fixed_offset("America/New_York") is None
    assert fixed_offset("Asia/Kolkata") == 19800
    assert zone_offsets("Not/AZone") is None


@pytest.mark.parametrize("tz", ["UTC", "Asia/Kolkata", "America/New_York"])
def test_day_buckets_of_times_no_timestamp_holds_do_not_fail_the_search(tz):
    """NaN, infinities and 1e15 s (far past DuckDB's timestamps) get a number or NaN back, as
    arithmetic gives, instead of failing the search in to_timestamp."""
    import math
    from zoneinfo import ZoneInfo

    from tests.spl.golden._util import ev, run

    for expr in ('tonumber("nan")', 'tonumber("inf")', "1e15", "-1e15"):
        rows = run(f"* | eval t={expr} | bin span=1d t | table t", rows=ev("v=1"), tz=ZoneInfo(tz))
        t = rows[0]["t"]
        assert isinstance(t, float) and (math.isnan(t) or math.isinf(t) or abs(t) > 9e14)
