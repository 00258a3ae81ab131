"""Rows of a search as a stream of Arrow tables: the pages after the first, the export of every
row, and the field summaries of the web's search jobs read through here, with memory bounded
by `batch_rows` rather than by the size of the answer.

A search whose every step is SQL streams from DuckDB (`LIMIT`/`OFFSET` over the same ordered
query `engine.execute` runs, so page N here is page N there). A search with post steps
(`cluster`, `outputlookup`, `transpose`, the timechart pivot: `query.post`) needs its whole
result first; it is computed once per call and then sliced.
"""

from __future__ import annotations

from typing import Iterator

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from speleo.config import Home, duckdb_config
from speleo.errors import SpeleoError
from speleo.query import engine, udf
from speleo.query.failures import translate
from speleo.query.post import apply_post, row_wise
from speleo.query.scope import IndexScope
from speleo.storage.catalog import Catalog

BATCH_ROWS = 2000


def tables(home: Home, catalog: Catalog, compiled, *, offset: int = 0, limit: int = 0,
           batch_rows: int = BATCH_ROWS, scope: IndexScope | None = None,
           on_connection=None) -> Iterator[pa.Table]:
    """Yield the rows `offset` .. `offset + limit` (limit 0: to the end) of a compiled search,
    in the order `engine.execute` gives them (events newest first), as tables of at most
    `batch_rows` rows. `on_connection(con, plan)` as for `engine.execute` (a caller keeps the
    connection to interrupt it). Raises what `engine.execute` raises."""
    offset, limit = max(0, int(offset)), max(0, int(limit))
    try:
        compiled, p, con = engine._open(catalog, compiled, on_connection, scope=scope)
        engine.register_sources(con, home, catalog, compiled, p, scope)
        post = getattr(compiled, "post", None)
        if post and not row_wise(post):
            table = apply_post(con.sql(f"SELECT * FROM ({compiled.sql}) AS q").to_arrow_table(), post, con)
            end = table.num_rows if not limit else min(table.num_rows, offset + limit)
            for start in range(offset, end, batch_rows):
                yield table.slice(start, min(batch_rows, end - start))
            return
        sql = f"SELECT * FROM ({compiled.sql}) AS q"
        if limit:
            sql += f" LIMIT {limit}"
        if offset:
            sql += f" OFFSET {offset}"
        reader = con.sql(sql).to_arrow_reader(batch_rows)
        post_con = udf.connect(duckdb_config()) if post else None   # `con` is busy reading
        for batch in reader:
            if batch.num_rows:   # row-by-row post steps (a `table` wildcard): each batch on its own
                part = pa.Table.from_batches([batch])
                yield apply_post(part, post, post_con) if post else part
    except (duckdb.InterruptException, SpeleoError, GeneratorExit):
        raise
    except Exception as e:  # noqa: BLE001 - DuckDB, pyarrow: a Speleo error for the user
        raise translate(e, getattr(compiled, "query_text", "")) from e


def events_as_read(home: Home, catalog: Catalog, compiled, *, batch_rows: int = BATCH_ROWS,
                   scope: IndexScope | None = None, on_connection=None) -> Iterator[pa.Table]:
    """Yield the rows of a search for raw events (`engine.batchable`) newest first while the
    search runs: buckets are read newest first in batches (`engine.bucket_batches`), and after
    each batch the rows newer than every bucket still unread are final and leave at once; the
    others wait for the batches that may hold newer rows. Memory holds one batch's rows plus
    those waiting (the overlap of buckets in time), whatever the size of the answer. The order
    is `engine.execute`'s, rows of equal `_time` possibly in another order. Raises what
    `engine.execute` raises (a ValueError when the search is not `batchable`)."""
    if not engine.batchable(compiled):
        raise ValueError("events_as_read: only searches for raw events through per-event commands")
    try:
        compiled, p, con = engine._open(catalog, compiled, on_connection, scope=scope)
        sql = f"SELECT * FROM ({compiled.sql}) AS q"
        batches = engine.bucket_batches(p.buckets)
        waiting: pa.Table | None = None
        for i, batch in enumerate(batches or [[]]):
            part = engine.Plan(compiled, batch, row_groups=p.row_groups, deleted=p.deleted)
            con.register("__events__", engine._events_relation(con, home, part))
            table = con.sql(sql).to_arrow_table()
            if waiting is not None and waiting.num_rows:
                table = pa.concat_tables([waiting, table], promote_options="permissive") \
                    .sort_by([("_time", "descending")])
            unread = [b.max_time for later in batches[i + 1:] for b in later]
            if unread and "_time" in table.column_names:
                final = pc.fill_null(pc.greater(table["_time"], pa.scalar(float(max(unread)))), False)
                ready, waiting = table.filter(final), table.filter(pc.invert(final))
            elif unread:
                ready, waiting = table.slice(0, 0), table
            else:
                ready, waiting = table, None
            for start in range(0, ready.num_rows, batch_rows):
                yield ready.slice(start, batch_rows)
    except (duckdb.InterruptException, SpeleoError, GeneratorExit):
        raise
    except Exception as e:  # noqa: BLE001 - DuckDB, pyarrow: a Speleo error for the user
        raise translate(e, getattr(compiled, "query_text", "")) from e
