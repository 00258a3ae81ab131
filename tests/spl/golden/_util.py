"""Helpers shared by the golden modules (events are written in each test module)."""

from __future__ import annotations


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
    _CON.register("__events__", events_table(rows))
    rel = _CON.sql(compiled.sql)
    if compiled.post:   # steps on the result, as the engine runs them (query/post.py)
        from speleo.query.post import apply_post

        return apply_post(rel.to_arrow_table(), compiled.post, _CON).to_pylist()
    return [dict(zip(rel.columns, r)) for r in rel.fetchall()]

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
