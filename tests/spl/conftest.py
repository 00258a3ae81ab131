"""Shared helpers: a tiny events table in DuckDB and a key=value field extractor."""

from __future__ import annotations

import re
from datetime import timezone

import pyarrow as pa
import pytest
from sqlglot import exp

from speleo.query import udf
from speleo.spl import CompileContext, compile_search

NOW = 1_700_000_000.0          # 2023-11-14 22:13:20 UTC

EVENTS = [
    # (_time offset from NOW, _raw, host, sourcetype)
    (-10, "ERROR: disk full status=500 user=alice bytes=100", "web1", "app"),
    (-20, "GET /index.html status=200 user=bob bytes=2000", "web1", "access"),
    (-30, "GET /missing status=404 user=alice bytes=50", "web2", "access"),
    (-40, "errors happened status=503 user=carol bytes=7", "web2", "app"),
    (-50, "login failed for user=dave status=401", "db1", "auth"),
    (-4000, "GET /a status=200 user=bob bytes=300 path=/a", "web1", "access"),
    (-90000, "old event status=200 user=erin bytes=10", "db1", "app"),
]


def field_sql(name: str) -> exp.Expression:
    """regexp_extract(_raw, '(?:^|[\\s,;])' || name || '=([^\\s,;]+)', 1), NULL when empty."""
    pattern = exp.DPipe(this=exp.DPipe(this=exp.Literal.string(r"(?:^|[\s,;])"),
                                       expression=exp.Literal.string(re.escape(name))),
                        expression=exp.Literal.string(r"=([^\s,;]+)"))
    extract = exp.Anonymous(this="regexp_extract",
                            expressions=[exp.column("_raw", quoted=True), pattern, exp.Literal.number(1)])
    return exp.Nullif(this=extract, expression=exp.Literal.string(""))


def events_table(rows=EVENTS) -> pa.Table:
    n = len(rows)
    return pa.table({
        "_time": pa.array([NOW + r[0] for r in rows], pa.float64()),
        "_raw": [r[1] for r in rows],
        "host": [r[2] for r in rows],
        "source": ["/var/log/" + r[3] for r in rows],
        "sourcetype": [r[3] for r in rows],
        "index": ["main"] * n,
        "_indextime": pa.array([NOW] * n, pa.float64()),
        "linecount": pa.array([1] * n, pa.int32()),
        "_offset": pa.array(list(range(n)), pa.int64()),
        "_flags": [""] * n,
        "_fields": pa.array([None] * n, pa.string()),
    })


def make_ctx(**kw) -> CompileContext:
    return CompileContext(now=NOW, tz=kw.pop("tz", timezone.utc), field_sql=field_sql, **kw)


def run(query: str, rows=EVENTS, **kw) -> list[dict]:
    """Compile and execute; returns rows as dicts without the hidden columns."""
    compiled = compile_search(query, make_ctx(**kw))
    con = udf.connect()   # with Speleo's functions, as the engine's connections
    con.register("__events__", events_table(rows))
    rel = con.sql(compiled.sql)
    if compiled.post:   # steps on the result, as the engine runs them (query/post.py)
        from speleo.query.post import apply_post

        return apply_post(rel.to_arrow_table(), compiled.post, con).to_pylist()
    names = rel.columns
    return [dict(zip(names, r)) for r in rel.fetchall()]


@pytest.fixture
def ctx() -> CompileContext:
    return make_ctx()
