"""The same SPL on both engines gives the same table: a subset of the SPL golden suite (search terms,
field=value, stats, timechart, eval, where, sort, head, table/fields) on DuckDB (the reference: the
golden tests check its answers against hand-computed values) and on ClickHouse (chdb 26.9) over the
same events, stored through the ClickHouse sink. Each of these runs natively on ClickHouse (no
fallback message); constructs without a ClickHouse rendering run through the DuckDB fallback.

Documented difference (docs/decisions/0032-clickhouse.md): an empty `_flags` reads back as NULL
(the layout has no Nullable columns), so `_flags` is left out of the comparison."""

from __future__ import annotations

import math

import pytest

from speleo.spl import compile_search
from speleo.storage.clickhouse.ddl import IndexLayout
from tests.clickhouse.conftest import backend_on
from tests.spl.conftest import EVENTS as BASIC, events_table, make_ctx
from tests.spl.golden import test_search_terms, test_stats
from tests.spl.golden._util import run

SETS = {"basic": BASIC, "terms": test_search_terms.EVENTS, "stats": test_stats.EVENTS}

QUERIES = [
    # search terms, wildcards, phrases, booleans, field=value
    ("terms", "login"), ("terms", "LOGIN"), ("terms", "log*"), ("terms", "*out"), ("terms", "error"),
    ("terms", '"login ok"'), ("terms", "login ok"), ("terms", "login OR logout"), ("terms", "login NOT ok"),
    ("terms", "127.0.0.1"), ("terms", "user=alice"), ("terms", "status>300"), ("terms", "status!=200"),
    ("terms", "* | search NOT status=*"), ("terms", "user=a*"), ("terms", "host=h1 login"),
    # stats
    ("stats", "* | stats count"), ("stats", "* | stats count(user) count(bytes) dc(user) dc(status)"),
    ("stats", "* | stats sum(bytes) avg(bytes) min(bytes) max(bytes) max(status) min(status)"),
    ("stats", "* | stats count avg(bytes) by host"), ("stats", "* | stats dc(user) by host, sourcetype"),
    ("stats", "* | stats median(bytes) values(user)"), ("stats", "user=nobody | stats sum(bytes) count"),
    ("basic", "* | stats count by sourcetype | sort - count, sourcetype"),   # ties (3, 3) ordered
    # timechart
    ("basic", "* | timechart span=1h count"), ("basic", "* | timechart span=1h avg(bytes) by host"),
    ("basic", "* | timechart span=10m count by sourcetype"),
    # eval, where, sort, head, table, fields
    ("basic", "* | eval kb=bytes/1024, u=upper(user), n=len(user), s=substr(user,1,3) | table _time kb u n s"),
    ("basic", '* | eval big=if(bytes>500, "yes", "no"), c=user."@".host | fields big c host'),
    ("basic", "* | eval r=round(bytes/3, 2), a=abs(0-bytes) | where r > 5 | table r a"),
    ("basic", '* | where status>=400 AND user!="carol" | table user status'),
    ("basic", "* | sort - bytes | head 3 | table host bytes"),
    ("basic", "* | sort host, -_time | fields host _time"),
    ("basic", "* | head 2"),
    ("basic", "error OR GET | fields - _raw"),
    ("basic", "* | stats count by host | where count > 1"),
    # makeresults: DuckDB's range(n) table function is numbers(n) on ClickHouse
    ("basic", "| makeresults count=3 | streamstats count as n | table n"),
]


@pytest.fixture(scope="module")
def engines(ch_client):
    out = {}
    for name, rows in SETS.items():
        be = backend_on(ch_client, f"gold_{name}")
        be.client.command(f"DROP DATABASE IF EXISTS gold_{name}")
        be.ensure_index(IndexLayout("main"))
        be.write("main", events_table(rows), f"{name}-1")
        out[name] = be
    return out


def _normal(rows: list[dict]) -> list[dict]:
    out = []
    for r in rows:
        r = {k: v for k, v in r.items() if k != "_flags"}
        out.append({k: round(v, 9) if isinstance(v, float) and not math.isnan(v) else v for k, v in r.items()})
    return out


@pytest.mark.parametrize("events, query", QUERIES)
def test_same_table_on_both_engines(engines, events, query):
    want = run(query, rows=SETS[events])
    result = engines[events].execute(compile_search(query, make_ctx()), limit=0)
    assert result.messages == []                 # ran on ClickHouse, not through the fallback
    assert _normal(result.table.to_pylist()) == _normal(want)


def test_hand_computed_answers_on_clickhouse(engines):
    """Independent of DuckDB: values computed from the events test_stats writes."""
    be = engines["stats"]
    row = be.execute(compile_search("* | stats count sum(bytes) dc(user) max(bytes)", make_ctx())).table.to_pylist()
    assert row == [{"count": 7, "sum(bytes)": 2158.0, "dc(user)": 4, "max(bytes)": 2000.0}]
    terms = be_terms = engines["terms"]
    got = be_terms.execute(compile_search("login", make_ctx()), limit=0)
    assert [r["_raw"].split()[0] for r in got.table.to_pylist()] == ["login", "login", "127.0.0.1", "failed-login"]
    assert got.total == 4 and sum(c for _, c in got.timeline) == 4
    assert terms.execute(compile_search("login", make_ctx()), limit=2).truncated


def test_fallback_runs_on_duckdb_and_says_so(engines):
    # the week of the year (%U) is one of the few time format variables ClickHouse has not
    query = '* | eval y=strftime(_time, "%Y week %U") | stats count by y'
    result = engines["basic"].execute(compile_search(query, make_ctx()), limit=0)
    assert result.table.to_pylist() == run(query)
    assert len(result.messages) == 1 and "%U" in result.messages[0] and "DuckDB ran" in result.messages[0]


def test_a_pcre_pattern_runs_through_the_fallback(engines):
    # RE2 (ClickHouse's engine too) refuses look-ahead: the DuckDB fallback runs it with the
    # `regex` package, with the same answer as the embedded engine
    query = '* | regex _raw="log(?=in)" | stats count'
    result = engines["basic"].execute(compile_search(query, make_ctx()), limit=0)
    assert result.table.to_pylist() == run(query)
    assert len(result.messages) == 1 and "RE2 cannot run" in result.messages[0]


def test_fallback_beyond_its_cap_names_the_engine(engines):
    from speleo.query.clickhouse import ClickHouseUnsupported

    be = engines["basic"]
    be.fallback_max_events = 3
    try:
        with pytest.raises(ClickHouseUnsupported, match="no ClickHouse rendering.*more than the 3"):
            be.execute(compile_search('* | eval y=strftime(_time, "%U")', make_ctx()))
    finally:
        be.fallback_max_events = 1_000_000
