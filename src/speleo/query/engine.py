"""Runs a search: SPL → compiled SQL → buckets chosen → DuckDB → result with a timeline.

Bucket choice (the plan): the indexes the search names (default: every index whose name does
not start with `_`), the buckets whose [min_time, max_time] overlaps the search's time range,
and, when the search has required terms, the buckets whose Bloom term index may hold every one
of their tokens. The rest are skipped and counted in `SearchResult.scanned`. A searcher's
`speleo.query.scope.IndexScope` (its roles' allowed and default indexes), when given, keeps
only the buckets of indexes it may read; a named index it may not read is reported in
`SearchResult.messages`.

`execute` runs a search in one go; `execute_incremental` (the web's search jobs) runs a search for
raw events over its buckets in batches, newest buckets first, with partial results after each.
"""

from __future__ import annotations

import contextvars
import dataclasses
import fnmatch
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

import duckdb
import numpy as np
import pyarrow as pa

from speleo import spl
from speleo.config import Home, duckdb_config
from speleo.errors import SpeleoError
from speleo.query.failures import SearchFailed, translate  # noqa: F401 (SearchFailed: re-exported)
from speleo.query.fields import FieldSql, field_sql_for
from speleo.query import indexed, udf
from speleo.query.post import apply_post, collect_messages, row_wise
from speleo.query.scope import IndexScope, SearchLimitError, matches as scope_matches
from speleo.spl.state import tz_name as tz_name_of
from speleo.query.timefmt import local_zone
from speleo.storage import profile as bucket_profile
from speleo.storage import lexicon, termindex, tombstones
from speleo.storage.catalog import BucketRow, Catalog
from speleo.storage.schema import EVENT_SCHEMA, conform
from speleo.storage.store import ROW_GROUP_ROWS

TIMELINE_SPANS = (
    1, 5, 10, 30, 60, 300, 600, 1800, 3600, 3 * 3600, 12 * 3600, 86400, 7 * 86400, 30 * 86400,
    365 * 86400,
)
TIMELINE_MAX_BINS = 150
PARTIAL_READ_MAX_SHARE = 0.3  # above this share of a bucket's row groups, DuckDB's own scan is faster


@dataclass
class Plan:
    """What a search will read: the compiled search and the buckets kept and skipped."""

    compiled: object
    buckets: list[BucketRow]
    row_groups: dict[int, list[int]] = field(default_factory=dict)  # bucket id -> row groups to read (absent = all)
    skipped_row_groups: int = 0
    skipped_time: int = 0
    skipped_terms: int = 0
    skipped_index: int = 0
    messages: list[str] = field(default_factory=list)
    deleted: pa.Table | None = None   # tombstones of `| delete` in the indexes read (storage.tombstones)
    indexed: dict = field(default_factory=dict)   # bucket id -> query.indexed.Rows (buckets with a term index sidecar)
    specialized: bool = False                     # `specialize` ran: `compiled` is its answer
    summarized: tuple | None = None               # tstats over summaries: (buckets read from one, buckets computed)


@dataclass
class SearchResult:
    """The answer to a search.

    `kind` is "events" (raw events, newest first) or "results" (a table from a transforming
    command). `table` holds at most `limit` rows; `truncated` says whether more existed.
    `total` counts every matching event (events) or every result row (results).
    `timeline` is a list of (bin start epoch s, count) over the whole range, `span` its bin width (s).
    """

    kind: str
    table: pa.Table
    truncated: bool
    total: int
    timeline: list[tuple[float, int]] = field(default_factory=list)
    span: int | None = None
    earliest: float | None = None
    latest: float | None = None
    scanned: dict = field(default_factory=dict)
    elapsed_secs: float = 0.0
    messages: list[str] = field(default_factory=list)


def compile_for(
    query: str,
    *,
    now: float | None = None,
    earliest: float | None = None,
    latest: float | None = None,
    macros: Mapping | None = None,
    tz_name: str | None = None,
    props=None,
    lookups_dir=None,
    knowledge=None,
    run_subsearch=None,
):
    """Compile SPL with the query layer's field extraction (and props.toml's). Raises SplError;
    anything else a compile raises becomes a Speleo error (`query.failures.translate`).
    `knowledge`: event types, tags and data models (`speleo.knowledge`); by default the home's
    that holds `lookups_dir`, else the shipped ones. `run_subsearch`: runs a subsearch whose
    results are search text before the search compiles (`query.subsearches.runner`; None:
    such a subsearch is refused)."""
    ctx = context_for(now=now, earliest=earliest, latest=latest, macros=macros, tz_name=tz_name, props=props,
                      lookups_dir=lookups_dir, knowledge=knowledge)
    if run_subsearch is not None:
        ctx = dataclasses.replace(ctx, run_subsearch=run_subsearch)
    try:
        compiled = spl.compile_search(query, ctx)
    except SpeleoError:
        raise
    except Exception as e:  # noqa: BLE001 - sqlglot or a bug of the compiler
        raise translate(e, query) from e
    compiled.query_text = query
    return compiled


def context_for(*, now: float | None = None, earliest: float | None = None, latest: float | None = None,
                macros: Mapping | None = None, tz_name: str | None = None, props=None,
                lookups_dir=None, knowledge=None) -> "spl.CompileContext":
    """The compile context of a search (as `compile_for` makes it): the time zone, the field
    extraction of props, macros, the default range (epoch seconds), the lookups folder and the
    knowledge objects (event types, tags, data models; by default the home's that holds
    `lookups_dir`)."""
    tz = local_zone(tz_name)
    if knowledge is None and lookups_dir is not None:
        from speleo.knowledge import load_cached

        knowledge = load_cached(Path(lookups_dir).parent)
    return spl.CompileContext(now=time.time() if now is None else now, tz=tz,
                              field_sql=field_sql_for(props, tz_name_of(tz)), macros=macros or {},
                              default_earliest=earliest, default_latest=latest, lookups_dir=lookups_dir,
                              knowledge=knowledge)


def specialize(compiled, p: "Plan"):
    """The search with its field extractions specialized to the buckets `p` reads, when that
    makes it cheaper: only the branches (sourcetype regexes, indexed fields, JSON) that the
    events of those buckets can take (their `storage.profile`). Returns `compiled` itself when
    the search extracts no field, or a bucket has no profile. Sets `p.compiled`; once `plan`
    specialized it (for the term index, which needs `implied_fields`), returns that."""
    if p.specialized:
        return p.compiled
    p.specialized = True
    fs = getattr(getattr(compiled, "ctx", None), "field_sql", None)
    if not isinstance(fs, FieldSql) or not fs.used or fs.profile is not None or not p.buckets:
        return compiled
    prof = bucket_profile.union(bucket_profile.parse(b.profile) for b in p.buckets)
    if prof is None:
        return compiled
    p.compiled = compiled.with_fields(fs.specialized(prof))
    return p.compiled


def _index_wanted(name: str, patterns: list[str] | None) -> bool:
    """Index `name` is one the search names (`patterns`; None: the non-internal ones). As in
    Splunk, `index=*` does not reach the internal indexes: only a pattern starting with `_`
    does (scope.matches)."""
    if patterns is None:
        return not name.startswith("_")
    return any(scope_matches(name, p) for p in patterns)


def plan(catalog: Catalog, compiled, honour_deletes: bool = True, scope: IndexScope | None = None) -> Plan:
    """Choose the buckets a compiled search reads (within `scope` when given: the searcher's
    indexes) and the `| delete` tombstones to honour, unless `honour_deletes` is False: a purge
    must find deleted events too."""
    every = catalog.live_buckets()
    if scope is None:
        by_index = [b for b in every if _index_wanted(b.index_name, compiled.indexes)]
    elif compiled.indexes is None:
        by_index = [b for b in every if scope.wanted_by_default(b.index_name)]
    else:
        by_index = [b for b in every if _index_wanted(b.index_name, compiled.indexes) and scope.permits(b.index_name)]
    p = Plan(compiled, [], skipped_index=len(every) - len(by_index))
    if scope is not None:
        p.messages = [f"index '{n}' was not searched: your roles may not search it (srchIndexesAllowed)"
                      for n in scope.refused(compiled.indexes)]
    lo = compiled.earliest if compiled.earliest is not None else float("-inf")
    hi = compiled.latest if compiled.latest is not None else float("inf")
    in_time = [b for b in by_index if b.max_time >= lo and b.min_time < hi]
    p.skipped_time = len(by_index) - len(in_time)
    tokens = sorted({t for term in compiled.required_terms for t in termindex.term_tokens(term)})
    if tokens and in_time:
        blooms = catalog.blooms([b.id for b in in_time])
        if all(blob is None or blob[:4] == termindex.MAGIC_DIGITS for blob in blooms.values()):
            tokens = [t for t in tokens if termindex.DIGIT_TOKEN.fullmatch(t)]   # the only ones those filters hold
        if tokens:
            hashes = termindex.token_hashes(duckdb.connect(config=duckdb_config()), tokens)
            in_time = _prune_by_terms(p, in_time, blooms, hashes, tokens)
    p.buckets = in_time
    p.messages += list(getattr(compiled, "messages", None) or [])
    if getattr(compiled, "summary", None) is None:   # summary rows: no term index applies
        _answer_from_sidecars(catalog, specialize(compiled, p), p, in_time)
    p.deleted = tombstones.load(catalog, {b.index_name for b in in_time}) if honour_deletes else None
    return p


def _answer_from_sidecars(catalog: Catalog, compiled, p: Plan, buckets: list[BucketRow]) -> None:
    """Evaluate the first search over the term index sidecars of the buckets that have one
    (`query.indexed`) into `p.indexed`. A bucket left without a row to read stays in the plan
    (the timeline's span is that of the plan's buckets, as without sidecars) and is not opened.
    A corrupt sidecar is counted as a problem (once per process) and the bucket read without it."""
    expr = indexed.search_expr(compiled)
    if expr is None or not buckets:
        return
    root = catalog.path.parent
    ev = indexed.Evaluator(compiled)

    def corrupt(path, why: str) -> None:
        catalog.count_problem("error", str(path), f"term index sidecar ignored: {why}")

    for b in buckets:
        lex = indexed.CACHE.get(root / b.path, corrupt)
        if lex is None or lex.rows != b.event_count:
            continue
        try:
            rows = ev.rows(lex, expr)
        except lexicon.CorruptSidecar as e:   # found reading postings: this bucket is read without it
            indexed.CACHE.mark_bad(root / b.path)
            corrupt(lexicon.sidecar_path(root / b.path), str(e))
            continue
        groups = p.row_groups.pop(b.id, None)
        if groups is not None:   # the Bloom filter's row groups: no match outside them
            inside = np.zeros(lex.rows, dtype=bool)
            for g in groups:
                inside[lex.starts[g]: lex.starts[g + 1]] = True
            rows = indexed.Rows(rows.exact & inside, rows.maybe & inside)
        p.indexed[b.id] = rows


def _prune_by_terms(p: Plan, buckets: list[BucketRow], blooms: dict, hashes, tokens: list[str]) -> list[BucketRow]:
    kept = []
    for b in buckets:
        groups = termindex.matching_row_groups(blooms.get(b.id), hashes, tokens)
        if groups is None:
            kept.append(b)
            continue
        total = termindex.block_count(blooms.get(b.id))
        p.skipped_row_groups += total - len(groups)
        if groups:
            kept.append(b)
            if len(groups) <= total * PARTIAL_READ_MAX_SHARE:
                p.row_groups[b.id] = groups
    p.skipped_terms = len(buckets) - len(kept)
    return kept


DUCK_TYPES = {"string": "VARCHAR", "double": "DOUBLE", "int32": "INTEGER", "int64": "BIGINT"}


def _conform(rel):
    """Give a relation exactly the event schema's columns, in order: buckets written before a
    column existed read it as NULL (storage formats change from a date onward, no rewrite)."""
    names = rel.columns
    if names == [f.name for f in EVENT_SCHEMA]:
        return rel          # the current layout: nothing to add (and one bind less)
    have = set(names)
    cols = [
        duckdb.ColumnExpression(f.name) if f.name in have
        else duckdb.ConstantExpression(None).cast(duckdb.sqltype(DUCK_TYPES[str(f.type)])).alias(f.name)
        for f in EVENT_SCHEMA
    ]
    return rel.select(*cols)


def _events_relation(con: duckdb.DuckDBPyConnection, home: Home, p: Plan):
    """The `__events__` relation: whole buckets, plus the chosen row groups of partially
    matching buckets. Both are read by DuckDB, so only the columns a search uses are decoded;
    a filter on `file_row_number` makes DuckDB skip the row groups outside the ranges. A tstats
    over an accelerated data model reads summary rows instead (query.acceleration)."""
    if getattr(p.compiled, "summary", None) is not None:
        from speleo.query import acceleration

        return acceleration.events_relation(con, home, p)
    rows = {b.id: indexed.rows_to_read(p.indexed[b.id]) for b in p.buckets if b.id in p.indexed}
    whole = [str(home.root / b.path) for b in p.buckets
             if b.id not in p.row_groups and rows.get(b.id, indexed.ALL) is indexed.ALL]
    rels = [_conform(con.read_parquet(whole, union_by_name=True))] if whole else []
    rels += [_row_groups_relation(con, home.root / b.path, p.row_groups[b.id]) for b in p.buckets if b.id in p.row_groups]
    rels += [_conform(indexed.rows_relation(con, home.root / b.path, r)) for b in p.buckets
             if (r := rows.get(b.id, indexed.ALL)) is not indexed.ALL and len(r)]
    if not rels:
        return con.from_arrow(EVENT_SCHEMA.empty_table())
    rel = rels[0]
    for other in rels[1:]:
        rel = rel.union(other)
    return rel if p.deleted is None else tombstones.hide(con, rel, p.deleted)


def _row_groups_relation(con: duckdb.DuckDBPyConnection, path, groups: list[int]):
    """The rows of some row groups of one Parquet bucket, as a relation in the event schema."""
    rel = indexed.row_groups_scan(con, path, groups)
    return _conform(rel.select(*[duckdb.ColumnExpression(c) for c in rel.columns if c != "file_row_number"]))


def _pick_span(lo: float, hi: float) -> int:
    width = max(hi - lo, 1.0)
    for span in TIMELINE_SPANS:
        if width / span <= TIMELINE_MAX_BINS:
            return span
    return TIMELINE_SPANS[-1]


def _timeline_span(compiled, p: Plan) -> int | None:
    """The timeline's bin width for a plan (from its buckets' time range), None without buckets."""
    if not p.buckets:
        return None
    lo = max(min(b.min_time for b in p.buckets), compiled.earliest or float("-inf"))
    hi = min(max(b.max_time for b in p.buckets), compiled.latest or float("inf"))
    return _pick_span(lo, hi)


def _timeline_counts(con, compiled, span: int) -> list[tuple[float | None, int]]:
    """(bin start, events) per bin; bin None counts the events whose _time a command made null."""
    rows = con.execute(
        f"SELECT floor(_time / ?) * ? AS t, count(*) FROM ({compiled.events_sql}) AS q "
        "GROUP BY 1 ORDER BY 1",
        [span, span],
    ).fetchall()
    return [(None if t is None else float(t), int(c)) for t, c in rows]


def _timeline(con, compiled, p: Plan) -> tuple[int, list[tuple[float, int]], int | None]:
    span = _timeline_span(compiled, p)
    if span is None:
        return 0, [], None
    counts = _timeline_counts(con, compiled, span)
    return sum(c for _, c in counts), [(t, c) for t, c in counts if t is not None], span


def execute(home: Home, catalog: Catalog, compiled, limit: int = 100, with_timeline: bool = True,
            on_connection=None, honour_deletes: bool = True, scope: IndexScope | None = None) -> SearchResult:
    """Run a compiled search. `limit` 0 means no limit.

    `on_connection(con, plan)`, when given, is called with the DuckDB connection before any query
    runs (the web's search jobs keep it to report `query_progress()` and to `interrupt()` it).
    `scope`: the indexes the searcher may read (None: any; see `plan`).
    Raises SearchFailed when DuckDB refuses the query, any failure as a Speleo error
    (`query.failures`); an interrupt passes through as is.
    """
    try:
        with _deadline(scope):
            return _execute(home, catalog, compiled, limit, with_timeline, _theirs(on_connection), honour_deletes,
                            scope)
    except _CallerRaised as e:
        raise e.original from None
    except (duckdb.InterruptException, SpeleoError):
        raise
    except Exception as e:  # noqa: BLE001 - DuckDB, pyarrow, a bug: a Speleo error for the user
        raise translate(e, getattr(compiled, "query_text", "")) from e


class _CallerRaised(Exception):
    """An exception of a caller's callback (a cancelled web job): passed through untranslated."""

    def __init__(self, original: BaseException) -> None:
        self.original = original


def _theirs(callback):
    """`callback` with its exceptions wrapped in _CallerRaised (None stays None)."""
    if callback is None:
        return None

    def call(*args):
        try:
            return callback(*args)
        except Exception as e:
            raise _CallerRaised(e) from e
    return call


def _open(catalog: Catalog, compiled, on_connection, honour_deletes: bool = True, scope: IndexScope | None = None,
          connect: bool = True):
    """Plan a search, specialize it to its buckets and open its DuckDB connection (handed to
    `on_connection`); returns (compiled, plan, connection). `connect=False`: no connection
    (None) unless `on_connection` wants one. Applies the scope's limits (`SearchLimits`): raises
    SearchLimitError when the plan holds more events than `max_rows_read`; the connection gets
    `max_memory_bytes` as its memory limit and is interrupted after `max_time_secs` (see
    `_deadline`)."""
    p = plan(catalog, compiled, honour_deletes, scope)
    limits = scope.limits if scope is not None else None
    if limits is not None and limits.max_rows_read:
        rows = planned_rows(p)
        if rows > limits.max_rows_read:
            raise SearchLimitError(
                f"this search would read {rows:,} events; your roles allow {limits.max_rows_read:,} per search "
                "(srchMaxRowsRead): narrow the time range, name an index, or add terms")
    compiled = specialize(compiled, p)
    config = duckdb_config()
    if limits is not None and limits.max_memory_bytes:
        config["memory_limit"] = f"{max(16, limits.max_memory_bytes // 1024 ** 2)}MiB"
    con = udf.connect(config) if connect or on_connection is not None else None
    watch = _DEADLINE.get()
    if watch is not None and con is not None:
        watch.watch(con)
    if on_connection is not None:
        on_connection(con, p)
    return compiled, p, con


def planned_rows(p: Plan) -> int:
    """Events a plan reads at most: per bucket those its term index sidecar leaves to read, else
    its events in the row groups the Bloom filters keep (rows spread evenly over its groups)."""
    total = 0
    for b in p.buckets:
        rows = p.indexed.get(b.id)
        if rows is not None:
            total += int(np.count_nonzero(rows.exact | rows.maybe))
            continue
        groups = p.row_groups.get(b.id)
        if groups is not None:   # row groups of ROW_GROUP_ROWS rows (the last one shorter)
            total += min(b.event_count, len(groups) * ROW_GROUP_ROWS)
        else:
            total += b.event_count
    return total


class _Deadline:
    """Interrupts the DuckDB connections of one search after `secs` seconds (the searcher's
    `srchMaxTime`); `fired` tells the interrupt from a cancel."""

    def __init__(self, secs: float) -> None:
        self.secs = secs
        self.fired = False
        self.cons: list = []
        self.lock = threading.Lock()
        self.timer = threading.Timer(secs, self._fire)
        self.timer.daemon = True
        self.timer.start()

    def watch(self, con) -> None:
        with self.lock:
            self.cons.append(con)
            fired = self.fired
        if fired:
            udf.interrupt(con)

    def _fire(self) -> None:
        with self.lock:
            self.fired = True
            cons = list(self.cons)
        for con in cons:
            try:
                udf.interrupt(con)
            except Exception:  # noqa: BLE001 - a connection closing
                pass

    def check(self) -> None:
        if self.fired:
            raise self.error()

    def error(self) -> SearchLimitError:
        return SearchLimitError(f"the search was stopped after {self.secs:g} s, the longest your roles allow "
                                "(srchMaxTime): narrow the time range or the indexes, or ask an admin")


_DEADLINE: contextvars.ContextVar[_Deadline | None] = contextvars.ContextVar("speleo_search_deadline", default=None)


class _deadline:
    """`with _deadline(scope):` runs a search under the scope's `max_time_secs` (nothing without
    one): its connections are interrupted when the time is up, and the interrupt leaves as
    SearchLimitError."""

    def __init__(self, scope: IndexScope | None) -> None:
        secs = scope.limits.max_time_secs if scope is not None else 0
        self.memory = scope.limits.max_memory_bytes if scope is not None else 0
        self.watch = _Deadline(secs) if secs else None

    def __enter__(self):
        self.token = _DEADLINE.set(self.watch) if self.watch is not None else None
        return self.watch

    def __exit__(self, kind, err, tb) -> bool:
        if self.memory and kind is not None and issubclass(kind, duckdb.OutOfMemoryException):
            if self.watch is not None:
                self.watch.timer.cancel()
                _DEADLINE.reset(self.token)
            raise SearchLimitError(f"the search needed more memory than the {self.memory / 1024 ** 2:,.0f} MB your "
                                   "roles allow one search (srchMaxMemory): narrow the time range, or group by "
                                   "fewer values") from None
        if self.watch is None:
            return False
        self.watch.timer.cancel()
        _DEADLINE.reset(self.token)
        if self.watch.fired and kind is not None and not issubclass(kind, SearchLimitError):
            raise self.watch.error() from None
        return False


def _execute(home: Home, catalog: Catalog, compiled, limit: int, with_timeline: bool, on_connection,
             honour_deletes: bool = True, scope: IndexScope | None = None) -> SearchResult:
    started = time.monotonic()
    count_only = indexed.count_only(compiled)
    compiled, p, con = _open(catalog, compiled, on_connection, honour_deletes, scope, connect=not count_only)
    if count_only:
        counted, con = _count_from_sidecars(home, compiled, p, con, with_timeline)
        if counted is not None:
            table, timeline, span = counted
            return SearchResult(kind="results", table=table, truncated=False, total=table.num_rows, timeline=timeline,
                                span=span, earliest=compiled.earliest, latest=compiled.latest, scanned=_scanned(p),
                                elapsed_secs=time.monotonic() - started, messages=list(p.messages))
    register_sources(con, home, catalog, compiled, p, scope)
    limit = int(limit)
    post = getattr(compiled, "post", None)
    sql = f"SELECT * FROM ({compiled.sql}) AS q"
    if limit > 0 and (not post or row_wise(post)):   # row-by-row steps: only the rows kept are read
        sql += f" LIMIT {limit + 1}"
    table = con.sql(sql).to_arrow_table()
    if post:   # steps on the whole result (outputlookup, cluster), then the limit
        with collect_messages() as said:
            table = apply_post(table, post, con)
        p.messages.extend(said)
        total_post = table.num_rows
    truncated = limit > 0 and table.num_rows > limit
    if truncated:
        table = table.slice(0, limit)
    total, timeline, span = (0, [], None)
    if (with_timeline or not compiled.transforming) and compiled.events_sql:
        total, timeline, span = _timeline(con, compiled, p)
    kind = "results" if compiled.transforming else "events"
    if post:
        total = total_post
    elif kind == "results" or not compiled.events_sql:
        total = table.num_rows if not truncated else con.execute(f"SELECT count(*) FROM ({compiled.sql}) AS q").fetchall()[0][0]
    return SearchResult(
        kind=kind,
        table=table,
        truncated=truncated,
        total=int(total),
        timeline=timeline,
        span=span,
        earliest=compiled.earliest,
        latest=compiled.latest,
        scanned=_scanned(p),
        elapsed_secs=time.monotonic() - started,
        messages=list(p.messages),
    )


def register_sources(con, home: Home, catalog: Catalog, compiled, p: Plan, scope: IndexScope | None = None) -> None:
    """Register what the search's SQL reads on `con`: `__events__` (the plan's events, or
    acceleration summary rows) and, for dbinspect, `__dbinspect__`."""
    con.register("__events__", _events_relation(con, home, p))
    if getattr(compiled, "bucket_listing", None) is not None:
        con.register("__dbinspect__", bucket_listing(home, catalog, compiled, scope))


def bucket_listing(home: Home, catalog: Catalog, compiled, scope: IndexScope | None = None) -> pa.Table:
    """dbinspect's rows (spl/commands/opscmds.py): the live buckets of the indexes its patterns
    name (none: the searcher's default indexes, as a search without `index=`) that the searcher
    may read (`scope`), holding events in the search's time range. `path` is relative to the
    home (the home's own path is not shown to searchers)."""
    import socket

    from speleo.spl.commands.opscmds import DBINSPECT_COLUMNS
    from speleo.storage import license

    lo = compiled.earliest if compiled.earliest is not None else float("-inf")
    hi = compiled.latest if compiled.latest is not None else float("inf")
    guid, server = license.home_id(catalog), socket.gethostname()
    rows = []
    patterns = compiled.bucket_listing or None   # [] = no index named: the searcher's default indexes
    for b in catalog.live_buckets():
        if scope is not None and not scope.permits(b.index_name):
            continue
        if patterns is None and scope is not None:
            if not scope.wanted_by_default(b.index_name):
                continue
        elif not _index_wanted(b.index_name, patterns):
            continue
        if b.max_time < lo or b.min_time >= hi:
            continue
        path = home.root / b.path
        try:
            mtime = path.stat().st_mtime
        except OSError:
            mtime = None
        prof = bucket_profile.parse(b.profile)
        rows.append({
            "bucketId": f"{b.index_name}~{b.id}~{guid}", "endEpoch": b.max_time, "eventCount": b.event_count,
            "guId": guid, "hostCount": None, "id": b.id, "index": b.index_name,
            "modTime": time.strftime("%m/%d/%Y:%H:%M:%S", time.gmtime(mtime)) if mtime is not None else None,
            "path": b.path, "rawSize": b.raw_bytes, "sizeOnDiskMB": round(b.size_bytes / 1024 ** 2, 6),
            "sourceCount": None, "sourceTypeCount": len(prof.sourcetypes) if prof is not None else None,
            "splunk_server": server, "startEpoch": b.min_time, "state": b.state,
            "tsidxState": "full" if lexicon.sidecar_path(path).exists() else "none"})
    types = {"endEpoch": pa.float64(), "startEpoch": pa.float64(), "eventCount": pa.int64(), "id": pa.int64(),
             "rawSize": pa.int64(), "sizeOnDiskMB": pa.float64(), "hostCount": pa.int64(), "sourceCount": pa.int64(),
             "sourceTypeCount": pa.int64()}
    return pa.table({c: pa.array([r[c] for r in rows], types.get(c, pa.string())) for c in DBINSPECT_COLUMNS})


def _count_from_sidecars(home: Home, compiled, p: Plan, con, with_timeline: bool):
    """`search ... | stats count` (`indexed.count_only`): the rows the sidecars call exact are
    counted (and binned for the timeline) without reading `_raw`; the search's SQL counts the
    rest (undecided rows, buckets without a sidecar) and the two are added. Returns (table,
    timeline, span) or None when it does not apply (no sidecar, `| delete` tombstones), and the
    DuckDB connection (`con`, or one opened when the SQL had something to count).
    """
    if not p.indexed or (p.deleted is not None and p.deleted.num_rows):
        return None, con or udf.connect(duckdb_config())
    lo = compiled.earliest if compiled.earliest is not None else float("-inf")
    hi = compiled.latest if compiled.latest is not None else float("inf")
    span = _timeline_span(compiled, p) if with_timeline and compiled.events_sql else None
    exact, bins, rest = 0, {}, {}
    for b in p.buckets:
        rows = p.indexed.get(b.id)
        if rows is None:
            continue
        n = int(np.count_nonzero(rows.exact))
        if n and (span is not None or not (b.min_time >= lo and b.max_time < hi)):
            t = indexed.times_of(home.root / b.path, np.flatnonzero(rows.exact))
            t = t[(t >= lo) & (t < hi)]   # as the SQL's `_time >= earliest AND _time < latest`
            n = len(t)
            if span is not None:
                for k, c in zip(*indexed.bin_counts(t, span)):
                    bins[k] = bins.get(k, 0) + c
        exact += n
        rest[b.id] = indexed.Rows(np.zeros_like(rows.exact), rows.maybe, strict=True)
    if con is None and all(b.id in rest and not rest[b.id].maybe.any() for b in p.buckets):
        # nothing left for the SQL: `count(*)` of no row would add 0 (a BIGINT named as `stats` names it)
        agg = compiled.ast.commands[1].aggs[0]
        table = pa.table({agg.alias or "count": pa.array([exact], pa.int64())})
        return (table, sorted(bins.items()) if span is not None else [], span), None
    con = con or udf.connect(duckdb_config())
    con.register("__events__", _events_relation(con, home, dataclasses.replace(p, indexed={**p.indexed, **rest})))
    table = con.sql(f"SELECT * FROM ({compiled.sql}) AS q").to_arrow_table()
    if table.num_rows != 1 or table.num_columns != 1 or not pa.types.is_integer(table.schema[0].type):
        return None, con
    total = pa.array([int(table.column(0)[0].as_py() or 0) + exact], table.schema[0].type)
    table = pa.table({table.column_names[0]: total})
    if span is None:
        return (table, [], None), con
    for k, c in _timeline_counts(con, compiled, span):
        if k is not None:
            bins[k] = bins.get(k, 0) + c
    return (table, sorted(bins.items()), span), con


def _scanned(p: Plan) -> dict:
    out = {} if p.summarized is None else {"buckets_from_summaries": p.summarized[0],
                                           "buckets_summarized_at_search": p.summarized[1]}
    return out | {
        "buckets_read": len(p.buckets),
        "buckets_skipped_by_time": p.skipped_time,
        "buckets_skipped_by_terms": p.skipped_terms,
        "buckets_skipped_by_index": p.skipped_index,
        "row_groups_skipped_by_terms": p.skipped_row_groups,
        "row_groups_read_partially": sum(len(g) for g in p.row_groups.values()),
        "events_in_buckets_read": sum(b.event_count for b in p.buckets),
        "bytes_in_buckets_read": sum(b.size_bytes for b in p.buckets),
        "buckets_with_term_index": len(p.indexed),
        "buckets_skipped_by_term_index": sum(1 for r in p.indexed.values() if not r.read.any()),
        "rows_decided_by_term_index": int(sum(np.count_nonzero(r.exact) for r in p.indexed.values())),
        "rows_checked_after_term_index": int(sum(np.count_nonzero(r.maybe) for r in p.indexed.values())),
    }


# -- incremental execution (the web's search jobs: partial results as buckets are read) ------

# Commands that keep each event on its own (filters, per-event fields): a search made only of
# these gives, over a set of buckets, the union of what it gives over each part of the set.
_PER_EVENT_COMMANDS = (
    spl.ast.SearchCmd, spl.ast.WhereCmd, spl.ast.EvalCmd, spl.ast.RexCmd, spl.ast.FillnullCmd,
    spl.ast.ConvertCmd, spl.ast.SpathCmd, spl.ast.LookupCmd, spl.ast.RegexCmd,
)


def batchable(compiled) -> bool:
    """True when a compiled search can run bucket batch by bucket batch: raw events newest
    first, through per-event commands only, without subsearches (which read all buckets) or
    post steps."""
    pipeline = getattr(compiled, "ast", None)
    if pipeline is None or compiled.transforming or not compiled.order_by_time_desc or not compiled.events_sql:
        return False
    if getattr(compiled, "post", None):
        return False
    cmds = pipeline.commands
    return all(type(c) in _PER_EVENT_COMMANDS for c in cmds) and not any(spl.ast.has_subsearch(c) for c in cmds)


def bucket_batches(buckets: list[BucketRow], first: int = 1, growth: int = 2) -> list[list[BucketRow]]:
    """Buckets newest first (by max_time), in batches of `first`, then `growth` times more
    each time (1, 2, 4, 8... buckets): the first results come from a small read."""
    order = sorted(buckets, key=lambda b: (b.max_time, b.min_time, b.id), reverse=True)
    out, i, size = [], 0, max(1, first)
    while i < len(order):
        out.append(order[i:i + size])
        i += size
        size *= max(1, growth)
    return out


def execute_incremental(home: Home, catalog: Catalog, compiled, limit: int = 100, on_partial=None,
                        on_connection=None, *, should_stop=None, with_timeline: bool = True,
                        scope: IndexScope | None = None) -> SearchResult:
    """Run a compiled search like `execute`, reporting partial results while it runs.

    A search for raw events made of per-event commands only (see `batchable`) is planned once,
    then run over the planned buckets in batches, newest buckets first (`bucket_batches`). After
    each batch `on_partial(partial, progress)` gets a `SearchResult` of what was found so far
    (the newest `limit` events, the running count and timeline, with the whole search's span)
    and `progress` = {buckets_done, buckets, bytes_done, bytes}; after the last batch the
    partial equals the answer, which is also returned. Any other search runs as `execute` runs
    it (no partials). The answer equals `execute`'s, events of equal `_time` possibly in
    another order.

    `on_connection(con, plan)` as for `execute` (once, with the whole plan). `should_stop()` is
    asked before and after every query: True stops the search with `duckdb.InterruptException`,
    as an interrupt of the connection does (an interrupt between two queries would be lost).
    `scope` as for `execute`. Raises SearchFailed when DuckDB refuses the query, any failure as a Speleo error; what the
    callbacks raise passes through as is.
    """
    try:
        with _deadline(scope):
            if not batchable(compiled):
                if should_stop is not None and should_stop():
                    raise duckdb.InterruptException("the search was cancelled")
                return _execute(home, catalog, compiled, limit, with_timeline, _theirs(on_connection), scope=scope)
            return _execute_batches(home, catalog, compiled, int(limit), _theirs(on_partial), _theirs(on_connection),
                                    should_stop, scope)
    except _CallerRaised as e:
        raise e.original from None
    except (duckdb.InterruptException, SpeleoError):
        raise
    except Exception as e:  # noqa: BLE001 - DuckDB, pyarrow, a bug: a Speleo error for the user
        raise translate(e, getattr(compiled, "query_text", "")) from e


def _execute_batches(home: Home, catalog: Catalog, compiled, limit: int, on_partial, on_connection,
                     should_stop, scope: IndexScope | None = None) -> SearchResult:
    started = time.monotonic()
    compiled, p, con = _open(catalog, compiled, on_connection, scope=scope)

    watch = _DEADLINE.get()

    def check() -> None:
        if should_stop is not None and should_stop():
            raise duckdb.InterruptException("the search was cancelled")
        if watch is not None:
            watch.check()   # an interrupt between two queries would be lost

    span = _timeline_span(compiled, p)
    sql = f"SELECT * FROM ({compiled.sql}) AS q" + (f" LIMIT {limit + 1}" if limit > 0 else "")
    kept: pa.Table | None = None
    counts: dict[float, int] = {}
    progress = {"buckets_done": 0, "buckets": len(p.buckets), "bytes_done": 0,
                "bytes": sum(b.size_bytes for b in p.buckets)}
    result = None
    for batch in bucket_batches(p.buckets) or [[]]:   # no bucket: one empty run, for the columns
        part = Plan(compiled, batch, row_groups=p.row_groups, deleted=p.deleted, indexed=p.indexed)
        check()
        con.register("__events__", _events_relation(con, home, part))
        check()
        table = con.sql(sql).to_arrow_table()
        check()
        if kept is not None:
            # stable: among equal times, the rows of newer buckets (found first) stay first
            table = pa.concat_tables([kept, table], promote_options="permissive")
            table = table.sort_by([("_time", "descending")])   # nulls last, as DuckDB puts them
        kept = table.slice(0, limit + 1) if limit > 0 else table
        if span is not None and batch:
            for t, c in _timeline_counts(con, compiled, span):
                counts[t] = counts.get(t, 0) + c
            check()
        progress["buckets_done"] += len(batch)
        progress["bytes_done"] += sum(b.size_bytes for b in batch)
        truncated = limit > 0 and kept.num_rows > limit
        timeline = sorted((t, c) for t, c in counts.items() if t is not None)
        result = SearchResult(
            kind="events",
            table=kept.slice(0, limit) if truncated else kept,
            truncated=truncated,
            total=sum(counts.values()),
            timeline=timeline,
            span=span,
            earliest=compiled.earliest,
            latest=compiled.latest,
            scanned=_scanned(p),
            elapsed_secs=time.monotonic() - started,
            messages=list(p.messages),
        )
        if on_partial is not None:
            on_partial(result, dict(progress))
    result.elapsed_secs = time.monotonic() - started
    return result
