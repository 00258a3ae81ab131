"""Searches on ClickHouse: the compiled tree rendered for ClickHouse over per-index tables.

`__events__` (the relation every compiled search reads) becomes a CTE: for each index the search
may read (its `index=` names, else every index not starting with `_`; within the searcher's
`IndexScope`), the index's table projected to the event schema (epoch-second floats, '' read as
NULL, the map `f` as `_fields` JSON), restricted to the search's time range twice, on `_time` and
on `toStartOfHour(_time)` (the primary key's first column: without it ClickHouse does not prune,
research §1.2), and to the search's required terms with `hasToken(lower(_raw), ...)` (the `text`
index); several indexes are a UNION ALL.

A search with a construct that has no ClickHouse rendering (`spl.chrender.RenderUnsupported`) runs
as the embedded engine runs it, on DuckDB, over the events ClickHouse selected (at most
`fallback_max_events`; more is refused with an error naming ClickHouse and the construct).
The result says so in `messages`.

Every query of a search carries the searcher's limits (`limit_settings`): `max_execution_time`
is what remains of the role's `srchMaxTime` since the search began, so a search of several
queries (the slices below) stops at the role's time in all, not per query. Every query has its
own `query_id`; on a ClickHouse server a cancelled search sends `KILL QUERY WHERE query_id = ...`
(from a second connection, within `KILL_POLL_SECS`) and the running query stops there (chdb runs
one query at a time in this process: there the cancel takes effect between two queries).

Partial results (`execute_incremental`, the web's search jobs): a search of raw events through
per-event commands (`engine.batchable`) runs over time slices of its range, newest first (the
newest 1/64 of the range, then 1/64, 1/32 ... 1/2: `SLICES`), each slice one query for its rows
(until the row limit is reached) and one for its timeline counts over the whole range's bin width,
so a slice's partial result has the newest events found so far and the running count and
timeline, and a cancel takes effect between two slices (also on chdb, which runs one query at a
time). The final answer equals `execute`'s.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import threading
import uuid
import fnmatch
import math
import os
import re
import time
import types

import duckdb
import pyarrow as pa
from sqlglot import exp

from speleo.errors import SpeleoError
from speleo.query import engine, udf
from speleo.query.backend import Capabilities
from speleo.query.post import apply_post
from speleo.query.scope import IndexScope, SearchLimitError
from speleo.spl.chrender import DIALECT, FIELD_MAP, RenderUnsupported, lower_for_clickhouse, promoted_column
from speleo.storage.clickhouse import client as chclient
from speleo.storage.clickhouse import ddl
from speleo.storage.clickhouse.sink import ClickHouseSink

SEARCH_SETTINGS = {
    "join_use_nulls": 1,                      # an outer-join miss is NULL, as in DuckDB
    "aggregate_functions_null_for_empty": 1,  # sum() over no rows is NULL, as in DuckDB
    "max_execution_time": 300,                # seconds (a role's limit when set: issue 17)
    "enable_positional_arguments": 1,         # GROUP BY 1
    # 26.9 types the top-K filter of `ORDER BY _time LIMIT n` by the table's DateTime64 column
    # although `__events__` redefines `_time` as epoch seconds (TYPE_MISMATCH): off
    "use_top_k_dynamic_filtering": 0,
    "enable_materialized_cte": 1,             # `WITH x AS MATERIALIZED`: see _materialize_shared_aggregates
    # a name in WHERE or GROUP BY means the column read, as in DuckDB, not an alias the same SELECT
    # defines (`SELECT 2 AS ord ... WHERE ord > 1` compared the constant: top useother summed everything)
    "prefer_column_name_to_alias": 1,
    "formatdatetime_parsedatetime_m_is_month_name": 1,   # %M is the month's name (spl.chrender._strftime)
}
FALLBACK_MAX_EVENTS = 1_000_000
MAX_ACTIVE_PARTS = 600        # per partition: below ClickHouse's parts_to_delay_insert (1,000)
BUSY_WAIT_SECS = 5.0
PARTS_CHECK_SECS = 5.0        # after a check far below the threshold, the next one


class SinkBusy(SpeleoError):
    """ClickHouse has too many unmerged parts to take more inserts now (back-pressure)."""

    status = 503
    code = "clickhouse_busy"


class ClickHouseUnsupported(SpeleoError):
    """A search ClickHouse cannot run as compiled and the fallback may not take."""

    status = 400
    code = "clickhouse_unsupported"


class ClickHouseBackend:
    """The search backend on ClickHouse (query.backend.SearchBackend)."""

    def __init__(self, client, topology: ddl.Topology = ddl.Topology(), *,
                 fallback_max_events: int = FALLBACK_MAX_EVENTS, display: str = "ClickHouse",
                 kill_client=None) -> None:
        self.client = client
        # () -> a client for `KILL QUERY` beside the running query (None on chdb: see `_watch`)
        self.kill_client = kill_client
        self.topology = topology
        self.fallback_max_events = fallback_max_events
        self.display = display
        self.sink = ClickHouseSink(client, topology.database)
        self.max_active_parts = MAX_ACTIVE_PARTS      # back-pressure threshold (`write`)
        self.busy_wait_secs = BUSY_WAIT_SECS
        self.parts_check_secs = PARTS_CHECK_SECS
        self._parts_ok_until: dict[str, float] = {}   # index -> no parts check before (time.monotonic)
        self._ready: set[str] = set()       # indexes whose table exists (ensure_index ran)
        self.capabilities = Capabilities(engine="clickhouse", text_index=True, ttl_retention=True,
                                         replication=topology.cluster is not None, every_command=False)

    @classmethod
    def from_url(cls, url: str) -> "ClickHouseBackend":
        """Connect to a `clickhouse://` or `chdb://` URL and check the engine's version."""
        parsed = chclient.parse_url(url)
        client = chclient.connect(parsed)
        if not os.environ.get("SPELEO_CLICKHOUSE_ANY_VERSION"):
            chclient.check_version(client)
        chclient.check_tiers(client, parsed.topology)
        killer = None
        if parsed.kind == "clickhouse":
            lock, held = threading.Lock(), []

            def killer():
                with lock:
                    if not held:
                        held.append(chclient.connect(parsed))
                    return held[0]
        return cls(client, parsed.topology, display=parsed.display, kill_client=killer)

    # -- storage -----------------------------------------------------------------
    def ensure_index(self, settings) -> None:
        """Create the index's table if missing; put it under the backend's storage policy when it
        was made under another (ClickHouse refuses a policy lacking the table's disks: the
        error says so)."""
        layout = settings if isinstance(settings, ddl.IndexLayout) else ddl.IndexLayout.from_settings(settings)
        for stmt in ddl.create_table(layout, self.topology):
            self.client.command(stmt)
        if self.topology.storage_policy:
            table = ddl.table_name(layout.name) + ("_local" if self.topology.cluster else "")
            rows = self.client.query("SELECT storage_policy FROM system.tables WHERE database = {db:String} AND "
                                     "name = {t:String}", parameters={"db": self.topology.database, "t": table}).result_rows
            if rows and rows[0][0] != self.topology.storage_policy:
                on = f" ON CLUSTER '{self.topology.cluster}'" if self.topology.cluster else ""
                self.client.command(f"ALTER TABLE {ddl.quoted(self.topology.database, table)}{on} MODIFY SETTING "
                                    f"storage_policy = '{self.topology.storage_policy}'")
        if layout.promoted:
            have = self._promoted_columns([layout.name]).get(layout.name, set())
            for stmt in ddl.promote_fields(layout.name, [f for f in layout.promoted if f not in have], self.topology):
                self.client.command(stmt, settings={"mutations_sync": 0, "alter_sync": 1})
        self._ready.add(layout.name)

    def write(self, index: str, events: pa.Table, token: str) -> int:
        """Insert a batch (storage.clickhouse.sink), creating the index's table the first time
        (without an age limit: `apply_retention` sets it from the index's settings). Back-pressure
        (research §5.4): while a partition of the table has `max_active_parts` active parts or
        more (ClickHouse has not merged them yet), wait for its merges, up to `busy_wait_secs`;
        then raise SinkBusy: the segment stays in the journal (nothing acknowledged is lost) and
        the sealer sends it again later. ClickHouse itself slows inserts from 1,000 parts in a
        partition and refuses them from 3,000 (parts_to_delay_insert, parts_to_throw_insert)."""
        if index not in self._ready:
            self.ensure_index(ddl.IndexLayout(index))
        if time.monotonic() < self._parts_ok_until.get(index, 0.0):
            return self.sink.write(index, events, token)
        deadline = time.monotonic() + self.busy_wait_secs
        while (parts := self.active_parts(index)) >= self.max_active_parts:
            if time.monotonic() >= deadline:
                raise SinkBusy(f"ClickHouse has {parts} unmerged parts in a partition of index '{index}' (Speleo "
                               f"waits below {self.max_active_parts}): the events wait in the journal and are sent "
                               "when its merges catch up; see system.merges on the server")
            time.sleep(0.5)
        if parts < self.max_active_parts // 2:   # far from the threshold: look again in a while
            self._parts_ok_until[index] = time.monotonic() + self.parts_check_secs
        return self.sink.write(index, events, token)

    def active_parts(self, index: str) -> int:
        """The most active parts any partition of the index's table has (system.parts)."""
        from speleo.storage.clickhouse.lifecycle import parts_source

        table = ddl.table_name(index) + ("_local" if self.topology.cluster else "")
        rows = self.client.query(f"SELECT max(n) FROM (SELECT count() AS n FROM {parts_source(self.topology)} WHERE "
                                 "database = {db:String} AND table = {t:String} AND active GROUP BY partition)",
                                 parameters={"db": self.topology.database, "t": table}).result_rows
        return int(rows[0][0] or 0) if rows else 0

    def apply_retention(self, settings) -> dict:
        """Set the index's TTL from its age limit (rounded up to whole days); ClickHouse drops
        whole day partitions past it in its merges (`ttl_only_drop_parts`)."""
        layout = settings if isinstance(settings, ddl.IndexLayout) else ddl.IndexLayout.from_settings(settings)
        if not ddl.ttl_rules(layout, self.topology) and not self._has_ttl(layout.name):
            return {"engine": "clickhouse", "index": layout.name, "ttl_days": None}
        for stmt in ddl.modify_ttl(layout, self.topology):
            self.client.command(stmt, settings={"materialize_ttl_after_modify": 0})
        # an archived index freezes through storage.clickhouse.lifecycle (archive, then drop)
        dropped = self._drop_expired_days(layout) if layout.retention_days is not None and not layout.archived else []
        return {"engine": "clickhouse", "index": layout.name,
                "ttl_days": None if layout.archived else layout.retention_days,
                "partitions_dropped": len(dropped)}

    def _drop_expired_days(self, layout) -> list[str]:
        """The day partitions every event of which is past the new age limit, dropped at once.
        A TTL changed with `materialize_ttl_after_modify = 0` applies to parts written later:
        the parts already there keep the expiry of the old TTL, so a shorter limit would leave old
        events searchable (as Splunk freezes a bucket whose newest event is past the limit, the
        day goes whole). Returns the partitions dropped."""
        table = ddl.table_name(layout.name) + ("_local" if self.topology.cluster else "")
        rows = self.client.query("SELECT DISTINCT partition FROM system.parts WHERE database = {db:String} "
                                 "AND table = {t:String} AND active",
                                 parameters={"db": self.topology.database, "t": table}).result_rows
        today = time.time() / 86400.0
        old = []
        for (p,) in rows:
            try:
                day = (dt.date.fromisoformat(str(p)) - dt.date(1970, 1, 1)).days
            except ValueError:
                continue
            if day + 1 + layout.retention_days <= today:     # its newest possible event is past the limit
                old.append(str(p))
        for stmt in ddl.drop_partitions(layout.name, sorted(old), self.topology):
            self.client.command(stmt)
        return old

    def delete_events(self, events: pa.Table) -> dict[str, int]:
        """`| delete` on ClickHouse (Splunk Search Reference: delete): hide `events` (event columns,
        `index` included, as a search returned them) at once with ClickHouse's lightweight DELETE,
        matched by their identity (ddl.IDENTITY: `_time`, `_raw`, source, host, `_offset`,
        `_indextime`, in the index's table: a copy in another index stays). The rows' values
        travel as an Arrow insert into a scratch table, never as SQL text (ddl.delete_statements:
        a Memory table on one node; on a cluster a table replicated to every node, so each
        shard's DELETE finds every key). Space is reclaimed by later merges, as Splunk reclaims it
        when the bucket freezes. Returns the events deleted per index (the rows the table held)."""
        from speleo.storage.clickhouse.sink import to_clickhouse

        counts: dict[str, int] = {}
        indexes = events.column("index").to_pylist()
        for name in sorted(set(indexes)):
            rows = pa.array([i for i, n in enumerate(indexes) if n == name], pa.int64())
            keys = to_clickhouse(events.take(rows)).select(list(ddl.IDENTITY))
            scratch = f"__delete_{os.getpid()}_{time.monotonic_ns()}"
            thawed = self.has_table(ddl.thaw_table_name(name) + ("_local" if self.topology.cluster else ""))
            stmts = ddl.delete_statements(name, scratch, self.topology, thawed=thawed)
            for stmt in ddl.allow_delete(name, self.topology):
                self.client.command(stmt)   # (thawed tables have no projection: nothing to allow)
            for stmt in stmts["create"]:
                self.client.command(stmt)
            try:
                self.client.insert_arrow(scratch, keys, database=self.topology.database,
                                         settings={"insert_quorum": "auto"} if self.topology.cluster else None)
                for stmt in stmts["sync"]:
                    self.client.command(stmt)
                found = sum(int(self.client.query(q).result_rows[0][0]) for q in stmts["count"])
                for stmt in stmts["delete"]:
                    self.client.command(stmt, settings={"lightweight_deletes_sync": 2})
            finally:
                for stmt in stmts["drop"]:
                    self.client.command(stmt)
            counts[name] = found
        return counts

    def _has_ttl(self, index: str) -> bool:
        table = ddl.table_name(index) + ("_local" if self.topology.cluster else "")
        rows = self.client.query("SELECT create_table_query FROM system.tables WHERE database = {db:String} "
                                 "AND name = {t:String}", parameters={"db": self.topology.database, "t": table}).result_rows
        return bool(rows) and " TTL " in rows[0][0]      # the table's TTL clause (one line in system.tables)

    def _tables(self) -> set[str]:
        """The tables of the database; read once per search (the search's `_SearchState`)."""
        state = _SEARCH.get()
        if state is not None and state.tables is not None:
            return state.tables
        rows = self.client.query("SELECT name FROM system.tables WHERE database = {db:String}",
                                 parameters={"db": self.topology.database}).result_rows
        tables = {name for (name,) in rows}
        if state is not None:
            state.tables = tables
        return tables

    def indexes(self) -> list[str]:
        """The Speleo indexes that have a table in the database."""
        cluster = self.topology.cluster is not None
        return sorted(i for name in self._tables() if (i := ddl.index_of_table(name, cluster)) is not None)

    def has_table(self, table: str) -> bool:
        return table in self._tables()

    def drop_index(self, index: str) -> None:
        """Drop an index's tables (its events and its thawed events) from ClickHouse."""
        for stmt in ddl.drop_table(index, self.topology):
            self.client.command(stmt)
        self._ready.discard(index)

    def lifecycle(self, home, catalog, emit=None, clock=None):
        """Retention, archives and thaw on ClickHouse (storage.clickhouse.lifecycle)."""
        from speleo.storage.clickhouse.lifecycle import ClickHouseLifecycle

        return ClickHouseLifecycle(self, home, catalog, emit, clock)

    def partition_events_sql(self, index: str, *, staging: bool = False) -> str:
        """SQL of one day of an index's table (or its staging table) as events (the `{p:String}`
        parameter: YYYY-MM-DD)."""
        return self._one_index(types.SimpleNamespace(earliest=None, latest=None, required_terms=()), index,
                               extra="toDate(t._time) = toDate({p:String})", staging=staging)

    def stream_events(self, sql: str, parameters: dict):
        """Arrow tables of the event schema (storage.schema), a block at a time (bounded memory
        over HTTP; chdb answers in one block)."""
        with self.client.query_arrow_stream(sql, parameters=parameters, settings=SEARCH_SETTINGS) as stream:
            for batch in stream:
                table = batch if isinstance(batch, pa.Table) else pa.Table.from_batches([batch])
                yield _to_event_schema(_as_duckdb_types(table))

    # -- search ------------------------------------------------------------------
    def searched_indexes(self, compiled, scope: IndexScope | None = None) -> tuple[list[str], list[str]]:
        """(indexes the search reads, messages about named indexes the scope refuses)."""
        names = self.indexes()
        patterns = compiled.indexes
        if patterns is None:
            chosen = [n for n in names if (scope.wanted_by_default(n) if scope else not n.startswith("_"))]
        else:
            chosen = [n for n in names if any(fnmatch.fnmatchcase(n, p.lower()) for p in patterns)
                      and (scope is None or scope.permits(n))]
        msgs = [] if scope is None else [
            f"index '{n}' was not searched: your roles may not search it (srchIndexesAllowed)"
            for n in scope.refused(patterns)]
        return chosen, msgs

    def events_source(self, compiled, indexes: list[str]) -> "_Source":
        """SQL of `__events__` over `indexes` (see the module docstring), with the map of indexed
        fields `__speleo_f` and a column `__speleo_fp_<field>` for every field promoted in one of the indexes
        (`_Source.promoted`; an index without that column gives the map's value)."""
        if not indexes:
            return _Source("SELECT * FROM (SELECT 0.0 AS _time, '' AS _raw, NULL::Nullable(String) AS host, "
                           "NULL::Nullable(String) AS source, NULL::Nullable(String) AS sourcetype, '' AS index, "
                           "NULL::Nullable(Float64) AS _indextime, NULL::Nullable(Int32) AS linecount, "
                           "NULL::Nullable(Int64) AS _offset, NULL::Nullable(String) AS _flags, "
                           f"NULL::Nullable(String) AS _fields, map() :: Map(String, String) AS {FIELD_MAP}) WHERE 0",
                           frozenset())
        tables = self._tables()
        have = self._promoted_columns(indexes)
        promoted = frozenset(f for cols in have.values() for f in cols)
        parts = []
        for name in indexes:
            parts.append(self._one_index(compiled, name, promoted=(promoted, have.get(name, set()))))
            if ddl.thaw_table_name(name) in tables:     # its thawed archives (storage.clickhouse.lifecycle)
                parts.append(self._one_index(compiled, name, thawed=True, promoted=(promoted, set())))
        return _Source(" UNION ALL ".join(parts), promoted)

    def _promoted_columns(self, indexes: list[str]) -> dict[str, set[str]]:
        """The promoted fields each index's table has a column for (ddl.promote_fields); read once
        per search."""
        state = _SEARCH.get()
        key = tuple(indexes)
        if state is not None and key in state.promoted:
            return state.promoted[key]
        out = self._read_promoted_columns(indexes)
        if state is not None:
            state.promoted[key] = out
        return out

    def _read_promoted_columns(self, indexes: list[str]) -> dict[str, set[str]]:
        local = "_local" if self.topology.cluster else ""
        tables = {ddl.table_name(i) + local: i for i in indexes}
        rows = self.client.query("SELECT table, name FROM system.columns WHERE database = {db:String} AND "
                                 "table IN {t:Array(String)} AND startsWith(name, {p:String})",
                                 parameters={"db": self.topology.database, "t": sorted(tables),
                                             "p": ddl.PROMOTED_PREFIX}).result_rows
        out: dict[str, set[str]] = {}
        for table, col in rows:
            out.setdefault(tables[table], set()).add(col[len(ddl.PROMOTED_PREFIX):])
        return out

    def _one_index(self, compiled, index: str, *, thawed: bool = False, extra: str | None = None,
                   promoted: tuple[frozenset, set] = (frozenset(), set()), staging: bool = False) -> str:
        # every column qualified with the table alias `t`: the SELECT's aliases (`_time` as epoch
        # seconds) would otherwise shadow the stored columns in the WHERE clause
        conds = []
        if compiled.earliest is not None:
            t0 = f"fromUnixTimestamp64Micro(toInt64({_micros(compiled.earliest)}), 'UTC')"
            conds += [f"t._time >= {t0}", f"toStartOfHour(t._time) >= toStartOfHour({t0})"]
        if compiled.latest is not None:
            t1 = f"fromUnixTimestamp64Micro(toInt64({_micros(compiled.latest)}), 'UTC')"
            conds += [f"t._time < {t1}", f"toStartOfHour(t._time) <= toStartOfHour({t1})"]
        conds += [f"hasToken(lower(t._raw), {_quote(term)})" for term in compiled.required_terms]
        conds += [extra] if extra else []
        where = f" WHERE {' AND '.join(conds)}" if conds else ""
        table = ddl.quoted(self.topology.database, ddl.thaw_table_name(index) if thawed else
                           ddl.staging_table_name(index) if staging else ddl.table_name(index))
        return ("SELECT toFloat64(toUnixTimestamp64Micro(t._time)) / 1e6 AS _time, t._raw AS _raw, "
                "nullIf(t.host, '') AS host, nullIf(t.source, '') AS source, "
                f"nullIf(t.sourcetype, '') AS sourcetype, {_quote(index)} AS index, "
                "toFloat64(toUnixTimestamp64Micro(t._indextime)) / 1e6 AS _indextime, "
                "t.linecount AS linecount, t._offset AS _offset, nullIf(t._flags, '') AS _flags, "
                f"if(empty(t.f), NULL, toJSONString(t.f)) AS _fields, t.f AS {FIELD_MAP}"
                + "".join(f", t.`{ddl.PROMOTED_PREFIX}{k}` AS `{promoted_column(k)}`" if k in promoted[1] else
                          f", if(mapContains(t.f, {_quote(k)}), t.f[{_quote(k)}], NULL) AS `{promoted_column(k)}`"
                          for k in sorted(promoted[0]))
                + f" FROM {table} AS t{where}")

    def render(self, tree: exp.Expression, source: str) -> str:
        """ClickHouse SQL of a compiled tree reading `source` as `__events__` (raises RenderUnsupported)."""
        lowered = lower_for_clickhouse(tree, getattr(source, "promoted", None))
        _rename_stages(lowered)
        # the source is this module's own SQL, kept verbatim (a Var renders as its text): parsing it
        # with sqlglot would rewrite toStartOfHour as dateTrunc, another function to the planner
        cte = exp.CTE(this=exp.Var(this=source), alias=exp.TableAlias(this=exp.to_identifier("__events__")))
        with_ = lowered.args.get("with_")
        if with_ is None:
            lowered.set("with_", exp.With(expressions=[cte]))
        else:
            _materialize_shared_aggregates(lowered, with_)
            with_.set("expressions", [cte, *with_.expressions])
        return lowered.sql(dialect=DIALECT, copy=False)

    def explain(self, compiled, scope: IndexScope | None = None) -> str:
        indexes, _ = self.searched_indexes(compiled, scope)
        source = self.events_source(compiled, indexes)
        try:
            sql = self.render(compiled.tree, source)
        except RenderUnsupported as e:
            return f"-- {e}: DuckDB runs the search over these events from {self.display}\n{source}"
        plan = self.client.query(f"EXPLAIN indexes = 1 {sql}", settings=SEARCH_SETTINGS).result_rows
        return sql + "\n-- plan\n" + "\n".join(r[0] for r in plan)

    def execute(self, compiled, *, limit: int = 100, with_timeline: bool = True,
                scope: IndexScope | None = None) -> "engine.SearchResult":
        """Run a compiled search on ClickHouse (see the module docstring). Raises
        ClickHouseUnsupported, or SearchFailed when ClickHouse refuses the query."""
        from speleo.query.acceleration import unaccelerated

        started = time.monotonic()
        compiled = unaccelerated(compiled)   # summaries are of this home's buckets, not ClickHouse's
        if getattr(compiled, "bucket_listing", None) is not None:
            from speleo.errors import InputError

            raise InputError("dbinspect lists the buckets of the embedded store; on ClickHouse the events are in "
                             "day partitions: see 'speleo index show <index>'")
        token = _SEARCH.set(_SEARCH.get() or _SearchState.begin(scope))
        try:
            indexes, messages = self.searched_indexes(compiled, scope)
            source = self.events_source(compiled, indexes)
            try:
                if any(step.get("kind") == "map" for step in getattr(compiled, "post", None) or []):
                    raise RenderUnsupported("map (its searches run per result, over the events, on DuckDB)")
                sql = self.render(compiled.tree, source)
                events_sql = self.render(compiled.events_tree, source) if compiled.events_tree is not None else None
            except RenderUnsupported as e:
                result = self._fallback(compiled, source, e, limit, with_timeline)
            else:
                result = self._run(compiled, sql, events_sql, limit, with_timeline, source)
        finally:
            _SEARCH.reset(token)
        result.messages = messages + result.messages
        result.scanned = {"engine": "clickhouse", "indexes": indexes}
        result.elapsed_secs = time.monotonic() - started
        return result

    def execute_incremental(self, compiled, *, limit: int = 100, on_partial=None, should_stop=None,
                            scope: IndexScope | None = None) -> "engine.SearchResult":
        """Run a compiled search reporting partial results (see the module docstring):
        `on_partial(result, progress)` after each slice, progress = {buckets_done, buckets: the
        slices, bytes_done, bytes: 0}; `should_stop()` asked before each query (True: stops with
        `duckdb.InterruptException`, as the embedded engine does). A search that cannot be sliced
        runs as `execute` runs it. Raises as `execute` does."""
        def check() -> None:
            if should_stop is not None and should_stop():
                raise duckdb.InterruptException("the search was cancelled")

        check()
        token = _SEARCH.set(_SearchState.begin(scope, should_stop))
        try:
            if on_partial is None or not engine.batchable(compiled) or compiled.events_tree is None:
                return self.execute(compiled, limit=limit, scope=scope)
            started = time.monotonic()
            indexes, messages = self.searched_indexes(compiled, scope)
            full = self.events_source(compiled, indexes)
            try:
                events_sql = self.render(compiled.events_tree, full)
                self.render(compiled.tree, full)
            except RenderUnsupported:
                return self.execute(compiled, limit=limit, scope=scope)
            result = self._sliced(compiled, indexes, events_sql, int(limit), on_partial, check)
        finally:
            _SEARCH.reset(token)
        result.messages = messages + result.messages
        result.scanned = {"engine": "clickhouse", "indexes": indexes}
        result.elapsed_secs = time.monotonic() - started
        return result

    def _sliced(self, compiled, indexes: list[str], events_sql: str, limit: int, on_partial, check):
        lo, hi = compiled.earliest, compiled.latest
        check()
        bounds = self._query(f"SELECT min(_time) AS lo, max(_time) AS hi FROM ({events_sql}) AS e").to_pylist()[0]
        if bounds["lo"] is None:   # nothing to read: the plain run gives the empty answer
            source = self.events_source(compiled, indexes)
            return self._run(compiled, self.render(compiled.tree, source), events_sql, limit, True, source)
        if lo is None or hi is None:   # the timeline's bins as `_timeline` picks them
            span = engine._pick_span(bounds["lo"] if lo is None else max(lo, bounds["lo"]),
                                     bounds["hi"] if hi is None else min(hi, bounds["hi"]))
        else:
            span = engine._pick_span(lo, hi)
        # the slices cover the events' own extent (a second of margin: their bounds are whole microseconds)
        lo = bounds["lo"] - 1.0 if lo is None else max(lo, bounds["lo"] - 1.0)
        hi = bounds["hi"] + 1.0 if hi is None else min(hi, bounds["hi"] + 1.0)
        edges = [hi - (hi - lo) * f for f in SLICES]
        edges[-1] = lo
        slices = list(zip([hi, *edges[:-1]], edges))          # (newer end, older start), newest first
        kept: pa.Table | None = None
        counts: dict[float, int] = {}
        progress = {"buckets_done": 0, "buckets": len(slices), "bytes_done": 0, "bytes": 0}
        result = None
        for end, start in slices:
            part = types.SimpleNamespace(earliest=start, latest=end, required_terms=compiled.required_terms)
            source = self.events_source(part, indexes)
            want = limit + 1 - (kept.num_rows if kept is not None else 0) if limit > 0 else 0
            if limit <= 0 or want > 0:
                check()
                sql = self.render(compiled.tree, source)
                rows = self._query(f"SELECT {_visible(source)} FROM ({sql}) AS q" + (f" LIMIT {want}" if limit > 0 else ""))
                kept = rows if kept is None else pa.concat_tables([kept, rows], promote_options="permissive")
            check()
            slice_events = self.render(compiled.events_tree, source)
            for r in self._query(f"SELECT floor(_time / {span}) * {span} AS t, count() AS n FROM ({slice_events}) "
                                 "AS e GROUP BY t").to_pylist():
                counts[r["t"]] = counts.get(r["t"], 0) + int(r["n"])
            progress["buckets_done"] += 1
            truncated = limit > 0 and kept.num_rows > limit
            result = engine.SearchResult(
                kind="events", table=kept.slice(0, limit) if truncated else kept, truncated=truncated,
                total=sum(counts.values()), timeline=sorted((t, c) for t, c in counts.items() if t is not None),
                span=span, earliest=compiled.earliest, latest=compiled.latest)
            on_partial(result, dict(progress))
        return result

    def _query(self, sql: str) -> pa.Table:
        state = _SEARCH.get()
        limits = state.limits if state is not None else None
        settings = dict(SEARCH_SETTINGS)
        if limits is not None:
            settings.update(limit_settings(limits, state.remaining_secs()))
        if state is not None and state.stop_requested():
            raise duckdb.InterruptException("the search was cancelled")
        query_id = settings["query_id"] = f"speleo-{uuid.uuid4().hex}"
        watcher = self._watch(query_id, state.should_stop) if state is not None and state.should_stop else None
        try:
            table = self.client.query_arrow(sql, settings=settings)
        except Exception as e:  # noqa: BLE001 - the driver's errors: a Speleo error naming the engine
            if watcher is not None and watcher.killed.is_set():
                raise duckdb.InterruptException("the search was cancelled (KILL QUERY sent to ClickHouse)") from e
            if limits is not None:
                _raise_if_limit(e, limits)
            raise engine.SearchFailed(f"{self.display} refused the search: {_first_line(e)}") from e
        finally:
            if watcher is not None:
                watcher.done.set()
        if watcher is not None and watcher.killed.is_set():
            raise duckdb.InterruptException("the search was cancelled (KILL QUERY sent to ClickHouse)")
        return _as_duckdb_types(table)

    def _watch(self, query_id: str, should_stop) -> "_Watcher | None":
        """While query `query_id` runs, ask `should_stop()` every KILL_POLL_SECS and, when it says
        stop, send `KILL QUERY` for it from a second connection (`kill_client`). None on chdb (one
        query at a time in this process: nothing could run the KILL) and without a way to connect."""
        if self.kill_client is None:
            return None
        w = _Watcher()

        def run() -> None:
            while not w.done.wait(KILL_POLL_SECS):
                try:
                    stop = should_stop()
                except Exception:  # noqa: BLE001 - a broken callback must not kill the search
                    stop = False
                if stop:
                    w.killed.set()
                    try:
                        if self.topology.cluster:   # behind a load balancer: the node that runs it, and its shards
                            assert re.fullmatch(r"speleo-[0-9a-f]{32}", query_id)
                            self.kill_client().command(f"KILL QUERY ON CLUSTER '{self.topology.cluster}' WHERE "
                                                       f"initial_query_id = '{query_id}' ASYNC")
                        else:
                            self.kill_client().command(
                                "KILL QUERY WHERE query_id = {qid:String} ASYNC", parameters={"qid": query_id})
                    except Exception as e:  # noqa: BLE001 - the query may have just ended
                        w.error = f"{type(e).__name__}: {e}"
                    return

        threading.Thread(target=run, name=f"ch-kill-{query_id[-8:]}", daemon=True).start()
        return w

    def _run(self, compiled, sql: str, events_sql: str | None, limit: int, with_timeline: bool, source=None):
        post = getattr(compiled, "post", None)
        query = f"SELECT {_visible(source)} FROM ({sql}) AS q" + (f" LIMIT {limit + 1}" if limit > 0 and not post else "")
        table = self._query(query)
        con = None
        if post:
            con = udf.connect()
            table = apply_post(table, post, con)
        truncated = limit > 0 and table.num_rows > limit
        if truncated:
            table = table.slice(0, limit)
        total, timeline, span = 0, [], None
        if (with_timeline or not compiled.transforming) and events_sql:
            total, timeline, span = self._timeline(compiled, events_sql)
        kind = "results" if compiled.transforming else "events"
        if post or kind == "results" or not events_sql:
            total = table.num_rows if not truncated or post else \
                self._query(f"SELECT count() AS n FROM ({sql}) AS q").column(0)[0].as_py()
        return engine.SearchResult(kind=kind, table=table, truncated=truncated, total=int(total), timeline=timeline,
                                   span=span, earliest=compiled.earliest, latest=compiled.latest)

    def _timeline(self, compiled, events_sql: str):
        lo, hi = compiled.earliest, compiled.latest
        if lo is None or hi is None:
            bounds = self._query(f"SELECT min(_time) AS lo, max(_time) AS hi FROM ({events_sql}) AS e").to_pylist()[0]
            if bounds["lo"] is None:
                return 0, [], None
            lo = bounds["lo"] if lo is None else max(lo, bounds["lo"])
            hi = bounds["hi"] if hi is None else min(hi, bounds["hi"])
        span = engine._pick_span(lo, hi)
        rows = self._query(f"SELECT floor(_time / {span}) * {span} AS t, count() AS n FROM ({events_sql}) AS e "
                           "GROUP BY t ORDER BY t").to_pylist()
        counts = [(r["t"], int(r["n"])) for r in rows]
        return sum(c for _, c in counts), [(t, c) for t, c in counts if t is not None], span

    def _fallback(self, compiled, source: str, why: RenderUnsupported, limit: int, with_timeline: bool):
        """Run the compiled DuckDB SQL over the events ClickHouse selects (bounded)."""
        cap = self.fallback_max_events
        events = self._query(f"SELECT {_visible(source)} FROM ({source}) AS e LIMIT {cap + 1}")
        if events.num_rows > cap:
            raise ClickHouseUnsupported(
                f"this search needs {why.construct}, which has no ClickHouse rendering, and its events are more "
                f"than the {cap:,} Speleo may copy out of {self.display} to run it on DuckDB: narrow the time "
                "range or the terms")
        events = _to_event_schema(events)
        con = udf.connect()
        con.register("__events__", events)
        post = getattr(compiled, "post", None)
        sql = f"SELECT * FROM ({compiled.sql}) AS q" + (f" LIMIT {limit + 1}" if limit > 0 and not post else "")
        table = con.sql(sql).to_arrow_table()
        if post:
            table = apply_post(table, post, con)
        truncated = limit > 0 and table.num_rows > limit
        table = table.slice(0, limit) if truncated else table
        kind = "results" if compiled.transforming else "events"
        total, timeline, span = 0, [], None
        if (with_timeline or not compiled.transforming) and compiled.events_sql and events.num_rows:
            times = [t for t in events.column("_time").to_pylist() if t is not None]
            span = engine._pick_span(min(times), max(times))
            counts = engine._timeline_counts(con, compiled, span)
            total, timeline = sum(c for _, c in counts), [(t, c) for t, c in counts if t is not None]
        if post or kind == "results" or not compiled.events_sql:
            total = table.num_rows if not truncated or post else \
                con.execute(f"SELECT count(*) FROM ({compiled.sql}) AS q").fetchall()[0][0]
        msg = (f"{why} yet: DuckDB ran this search over the {events.num_rows:,} events {self.display} "
               "selected by time range and terms")
        return engine.SearchResult(kind=kind, table=table, truncated=truncated, total=int(total), timeline=timeline,
                                   span=span, earliest=compiled.earliest, latest=compiled.latest, messages=[msg])


# Shares of a search's range read one after the other, newest first (`execute_incremental`); cumulative
SLICES = (1 / 64, 2 / 64, 4 / 64, 8 / 64, 16 / 64, 32 / 64, 1.0)
KILL_POLL_SECS = 0.2
"""How often a running query asks whether its search was cancelled (seconds)."""


def _rename_stages(tree: exp.Expression) -> None:
    """Give the compiler's stage names (CTEs `s0`, `s1`... and the subqueries aliased like them)
    names of their own per WITH (`__speleo_s0`, a subsearch's `__speleo_1_s0`...): ClickHouse
    resolves an identifier that names both a column and a table expression as the table (a
    field `s2` beside a stage `s2`), and a subsearch's own `s2` clashed with the outer query's
    ("Unknown table expression identifier"), where DuckDB scopes both as SQL says."""
    withs = list(tree.find_all(exp.With))
    if not withs:
        return
    scopes: dict[int, dict[str, str]] = {}
    for k, w in enumerate(withs):
        prefix = "__speleo_" if k == 0 else f"__speleo_{k}_"
        scopes[id(w)] = {c.alias: prefix + c.alias for c in w.expressions}

    def resolve(node: exp.Expression, name: str) -> str | None:
        cur = node.parent
        while cur is not None:
            w = cur.args.get("with_") if isinstance(cur, exp.Select) else None
            if w is not None and name in scopes.get(id(w), {}):
                return scopes[id(w)][name]
            cur = cur.parent
        return None

    for node in list(tree.walk()):
        if isinstance(node, exp.Table) and not node.db:
            new = resolve(node, node.name)
        elif isinstance(node, exp.TableAlias):
            new = resolve(node, node.name)
        elif isinstance(node, exp.Column) and node.table and not node.args.get("db"):
            new = resolve(node, node.table)
            if new is not None:
                node.set("table", exp.to_identifier(new))
            continue
        else:
            continue
        if new is not None:
            node.set("this", exp.to_identifier(new))


def _materialize_shared_aggregates(tree: exp.Expression, with_: exp.With) -> None:
    """Mark `AS MATERIALIZED` the CTEs that aggregate (GROUP BY) and are read more than once.
    ClickHouse otherwise inlines a CTE at every reference, so the aggregate of a timechart with
    its filled bins (read by the bin range, the bin list and the join) ran three times over the
    events; materialized, it runs once and its (aggregated, small) rows are reused
    (`enable_materialized_cte`, SEARCH_SETTINGS). CTEs of events are left inline: copying every
    event into memory would cost more than reading them again."""
    names = {c.alias for c in with_.expressions}
    uses: dict[str, int] = {}
    for t in tree.find_all(exp.Table):
        if t.name in names and not t.db:
            uses[t.name] = uses.get(t.name, 0) + 1
    for c in with_.expressions:
        if uses.get(c.alias, 0) >= 2 and isinstance(c.this, exp.Select) and c.this.args.get("group") is not None:
            c.set("materialized", True)


class _Source(str):
    """The SQL of `__events__`, knowing the promoted fields it has a column for."""

    promoted: frozenset

    def __new__(cls, sql: str, promoted: frozenset) -> "_Source":
        obj = super().__new__(cls, sql)
        obj.promoted = promoted
        return obj


def _visible(source) -> str:
    """The select list that leaves `__events__`'s own columns (the field map and promoted
    columns) out of a result."""
    hidden = [FIELD_MAP, *(promoted_column(k) for k in sorted(getattr(source, "promoted", ())))]
    return "* EXCEPT (" + ", ".join(f"`{h}`" for h in hidden) + ")"


class _SearchState:
    """What every query of one search shares: the searcher's limits (query.scope.SearchLimits,
    None without any), when the search began (time.monotonic) and its cancel callback."""

    def __init__(self, limits, should_stop=None) -> None:
        self.limits = limits
        self.started = time.monotonic()
        self.should_stop = should_stop
        self.tables: set[str] | None = None          # the database's tables, read once per search
        self.promoted: dict[tuple, dict] = {}        # promoted field columns by searched indexes

    @classmethod
    def begin(cls, scope, should_stop=None) -> "_SearchState":
        return cls(scope.limits if scope is not None and scope.limits.any() else None, should_stop)

    def remaining_secs(self) -> float | None:
        """Seconds left of the role's `srchMaxTime` (None without one)."""
        if self.limits is None or not self.limits.max_time_secs:
            return None
        return self.limits.max_time_secs - (time.monotonic() - self.started)

    def stop_requested(self) -> bool:
        return bool(self.should_stop is not None and self.should_stop())


class _Watcher:
    def __init__(self) -> None:
        self.done = threading.Event()
        self.killed = threading.Event()
        self.error: str | None = None


# The search running in this context (`_SearchState`), for every query it sends.
_SEARCH: contextvars.ContextVar = contextvars.ContextVar("speleo_clickhouse_search", default=None)
# ClickHouse error codes of the limits set (ErrorCodes.cpp) -> the role's setting that caused it
_LIMIT_CODES = {159: "srchMaxTime", 158: "srchMaxRowsRead", 241: "srchMaxMemory"}


def limit_settings(limits, remaining_secs: float | None = None) -> dict:
    """ClickHouse query settings for a searcher's limits (issue 17: set on every query):
    `max_execution_time` (whole seconds, at least 1: what `remaining_secs` says is left of the
    role's `srchMaxTime` when given, else all of it; the server's 300 s when the role sets none),
    `max_rows_to_read` and `max_memory_usage` (per query), each failing the query
    (`*_overflow_mode` throw) when exceeded. Raises SearchLimitError when no time is left."""
    out: dict = {}
    if limits.max_time_secs:
        left = limits.max_time_secs if remaining_secs is None else remaining_secs
        if left <= 0:
            raise SearchLimitError(f"the search ran out of the time your roles allow (srchMaxTime: "
                                   f"{limits.max_time_secs:g} s): narrow the time range or the indexes, or ask an admin")
        out["max_execution_time"] = max(1, math.ceil(left))
        out["timeout_overflow_mode"] = "throw"
    if limits.max_rows_read:
        out["max_rows_to_read"] = int(limits.max_rows_read)
        out["read_overflow_mode"] = "throw"
    if limits.max_memory_bytes:
        out["max_memory_usage"] = int(limits.max_memory_bytes)
    return out


def _raise_if_limit(e: Exception, limits) -> None:
    """Raise SearchLimitError when ClickHouse stopped the query for one of the searcher's limits."""
    text = str(e)
    m = re.search(r"\bCode:\s*(\d+)", text) or re.search(r"\(([A-Z_]+)\)", text)
    code = None
    if m and m.group(1).isdigit():
        code = int(m.group(1))
    elif m:
        code = {"TIMEOUT_EXCEEDED": 159, "TOO_MANY_ROWS": 158, "MEMORY_LIMIT_EXCEEDED": 241}.get(m.group(1))
    name = _LIMIT_CODES.get(code)
    if name is None:
        return
    figure = {"srchMaxTime": f"{limits.max_time_secs:g} s", "srchMaxRowsRead": f"{limits.max_rows_read:,} events",
              "srchMaxMemory": f"{limits.max_memory_bytes:,} bytes"}[name]
    raise SearchLimitError(f"ClickHouse stopped the search at the limit your roles set ({name}: {figure}): narrow "
                           "the time range or the indexes, or ask an admin") from e


def _micros(t: float) -> int:
    """Epoch seconds as whole microseconds (the tables' DateTime64(6) unit); clamped to the range."""
    if math.isinf(t):
        return -(2 ** 62) if t < 0 else 2 ** 62
    return int(round(t * 1e6))


def _quote(text: str) -> str:
    """A ClickHouse string literal (backslash and quote escaped): only for names and terms the
    compiler validated; user values reach SQL only through sqlglot's literals."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _first_line(e: Exception) -> str:
    return str(e).strip().splitlines()[0][:500] if str(e).strip() else type(e).__name__


def _as_duckdb_types(table: pa.Table) -> pa.Table:
    """Unsigned counts (ClickHouse's count() is UInt64) as int64, and dictionary/large strings as
    plain strings, so result tables have the embedded engine's Arrow types."""
    cols, fields = [], []
    for f, c in zip(table.schema, table.columns):
        t = f.type
        if pa.types.is_unsigned_integer(t):
            t = pa.int64()
        elif pa.types.is_dictionary(t):
            t = t.value_type
        if pa.types.is_large_string(t):
            t = pa.string()
        if pa.types.is_large_binary(t) or pa.types.is_binary(t):
            t = pa.string()
        cols.append(c.cast(t) if t != f.type else c)
        fields.append(pa.field(f.name, t))
    return pa.Table.from_arrays(cols, schema=pa.schema(fields))


def _to_event_schema(table: pa.Table) -> pa.Table:
    from speleo.storage.schema import conform

    return conform(table)
