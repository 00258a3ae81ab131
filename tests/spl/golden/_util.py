"""Helpers shared by the golden modules (events are written in each test module).

With `SPELEO_TEST_ENGINE=clickhouse` every `run` executes on ClickHouse (chdb) instead of
DuckDB: the events are written through the ClickHouse sink into a database of their own and the
search runs through `ClickHouseBackend.execute` (natively, or through its DuckDB fallback for a
construct without a ClickHouse rendering), so the whole golden suite checks both engines against
the same hand-worked answers (issue 17; `make test` runs it both ways: tests/clickhouse/test_suites_on_clickhouse.py).
"""

from __future__ import annotations

import hashlib
import os

from speleo.query import udf
from speleo.spl import ast, compile_search, parse
from tests.spl.conftest import EVENTS, NOW, events_table, make_ctx

_CON = None


def run(query: str, rows=EVENTS, **kw) -> list[dict]:
    """conftest.run on one shared DuckDB connection (the suite runs hundreds of small queries)."""
    global _CON
    if _CON is None:
        _CON = udf.connect()   # with Speleo's functions, as the engine's connections
    compiled = compile_search(query, make_ctx(**kw))
    if os.environ.get("SPELEO_TEST_ENGINE") == "clickhouse":
        return _run_on_clickhouse(compiled, rows)
    _CON.register("__events__", events_table(rows))
    rel = _CON.sql(compiled.sql)
    if compiled.post:   # steps on the result, as the engine runs them (query/post.py)
        from speleo.query.post import apply_post

        return apply_post(rel.to_arrow_table(), compiled.post, _CON).to_pylist()
    return [dict(zip(rel.columns, r)) for r in rel.fetchall()]

_CH: dict = {}


def _run_on_clickhouse(compiled, rows) -> list[dict]:
    """Run a compiled search on chdb over `rows` (written once per distinct set of events)."""
    import tempfile

    from speleo.query.clickhouse import ClickHouseBackend
    from speleo.storage.clickhouse import client as chclient
    from speleo.storage.clickhouse.ddl import IndexLayout, Topology

    if "client" not in _CH:
        import atexit
        import shutil

        folder = tempfile.mkdtemp(prefix="speleo-golden-ch-")
        atexit.register(shutil.rmtree, folder, True)
        _CH["client"] = chclient.connect(chclient.parse_url(f"chdb://{folder}"))
    key = hashlib.sha256(repr(rows).encode()).hexdigest()[:16]
    be = _CH.get(key)
    if be is None:
        be = ClickHouseBackend(_CH["client"], Topology(database=f"g_{key}"), display="chdb")
        be.ensure_index(IndexLayout("main"))
        be.write("main", events_table(rows), key)
        _CH[key] = be
    table = be.execute(compiled, limit=0, with_timeline=False).table
    return [{k: v for k, v in r.items()} for r in table.to_pylist()]


__all__ = ["NOW", "dump", "sql", "run", "rows_of", "offsets", "ev"]


def ev(*events, host="h1", sourcetype="st"):
    """Events newest first: each item is `_raw` (offset = -10 * position) or (offset, _raw[, host[, sourcetype]])."""
    out = []
    for i, e in enumerate(events, start=1):
        if isinstance(e, str):
            e = (-10 * i, e)
        off, raw, *rest = e
        out.append((off, raw, rest[0] if rest else host, rest[1] if len(rest) > 1 else sourcetype))
    return out


def dump(query: str) -> str:
    return ast.dump(parse(query))


def sql(query: str, **kw) -> str:
    return compile_search(query, make_ctx(**kw)).sql


def rows_of(query: str, events, *cols, **kw) -> list[tuple]:
    """Run and keep only `cols` of each row, as tuples (one column: plain values)."""
    rows = run(query, rows=events, **kw)
    if len(cols) == 1:
        return [r[cols[0]] for r in rows]
    return [tuple(r[c] for c in cols) for r in rows]


def offsets(query: str, events, **kw) -> list[int]:
    """The events returned, as their offsets from NOW (in output order)."""
    return [round(r["_time"] - NOW) for r in run(query, rows=events, **kw)]
