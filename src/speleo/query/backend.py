"""The search backend interface: one search code path over two engines.

A backend owns where an index's events live and how a compiled search (speleo.spl's tree) runs
over them. `EmbeddedBackend` is the home's Parquet buckets read by DuckDB, exactly as
`query.engine` runs them; `query.clickhouse.ClickHouseBackend` is a ClickHouse server or cluster
(clickhouse-connect over HTTP) or the embedded ClickHouse engine chdb. Every method takes and
returns the same shapes on both: event batches in the event schema (storage.schema), search
answers as `engine.SearchResult` with Arrow tables. The server and the CLI only choose one
(`open_backend`); see docs/decisions/0032-clickhouse.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import pyarrow as pa

from speleo.query import engine
from speleo.query.scope import IndexScope


@dataclass(frozen=True)
class Capabilities:
    """What a backend can do (callers ask before offering a feature)."""

    engine: str                    # "duckdb" or "clickhouse"
    text_index: bool = False       # terms answered from an inverted index (ClickHouse `text`)
    term_blooms: bool = False      # per-row-group term Bloom filters (embedded buckets)
    partial_results: bool = False  # execute_incremental gives partial results
    ttl_retention: bool = False    # age retention enforced by the engine (TTL), not by Speleo's thread
    replication: bool = False      # copies of every part on several nodes
    every_command: bool = True     # every compiled command runs (else: some through a fallback)


class SearchBackend(Protocol):
    """See the module docstring."""

    capabilities: Capabilities

    def ensure_index(self, settings) -> None:
        """Create an index's storage when missing (`storage.indexconf.IndexSettings`)."""

    def write(self, index: str, events: pa.Table, token: str) -> int:
        """Store a batch of events of `index`; `token` names the batch so that sending it again
        (after a crash) stores nothing twice. Returns the events stored."""

    def execute(self, compiled, *, limit: int = 100, with_timeline: bool = True,
                scope: IndexScope | None = None) -> "engine.SearchResult":
        """Run a compiled search (`engine.compile_for`); `limit` 0 = every row."""

    def explain(self, compiled, scope: IndexScope | None = None) -> str:
        """What the engine will run for a compiled search (SQL and its plan), as text."""

    def apply_retention(self, settings) -> dict:
        """Apply an index's retention settings; returns what was done."""


class EmbeddedBackend:
    """The home's Parquet buckets and DuckDB (behaviour of query.engine, unchanged)."""

    capabilities = Capabilities(engine="duckdb", term_blooms=True, partial_results=True)

    def __init__(self, home, catalog, store=None) -> None:
        self.home, self.catalog, self.store = home, catalog, store

    def ensure_index(self, settings) -> None:
        from speleo.storage import indexadmin

        if settings.name not in self.catalog.index_names():
            indexadmin.create_index(self.home, self.catalog, settings.name)

    def write(self, index: str, events: pa.Table, token: str) -> int:
        """Journal the events (durable when this returns; sealed into buckets by the sealer).
        The journal's own checkpoints make a replay exact, so `token` is not needed here."""
        import pyarrow.compute as pc

        if self.store is None:
            raise RuntimeError("this embedded backend was opened without the writer's store")
        events = events.set_column(events.schema.get_field_index("index"), "index",
                                   pc.fill_null(events.column("index"), index)) \
            if "index" in events.column_names else events.append_column("index", pa.array([index] * events.num_rows))
        self.store.append(events)
        return events.num_rows

    def execute(self, compiled, *, limit: int = 100, with_timeline: bool = True,
                scope: IndexScope | None = None) -> "engine.SearchResult":
        return engine.execute(self.home, self.catalog, compiled, limit=limit, with_timeline=with_timeline,
                              scope=scope)

    def explain(self, compiled, scope: IndexScope | None = None) -> str:
        p = engine.plan(self.catalog, compiled, scope=scope)
        return f"-- DuckDB over {len(p.buckets)} bucket(s)\n{compiled.sql}"

    def apply_retention(self, settings) -> dict:
        """The embedded store's retention runs in the server's retention thread
        (storage.lifecycle); nothing happens at once."""
        return {"engine": "duckdb", "index": settings.name, "applied": "by the retention thread"}


def open_backend(url: str | None, home=None, catalog=None, store=None):
    """The backend a `--backend` URL names: None or "embedded" = this home's buckets;
    `clickhouse://...` or `chdb:///...` = ClickHouse (storage.clickhouse.client.parse_url).
    Raises InputError for a URL it cannot use."""
    if url in (None, "", "embedded"):
        return EmbeddedBackend(home, catalog, store)
    from speleo.query.clickhouse import ClickHouseBackend

    return ClickHouseBackend.from_url(url)
