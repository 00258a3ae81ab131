"""The first search of a pipeline answered from the buckets' term index sidecars (`storage.lexicon`).

For a bucket with a sidecar, the search expression of the pipeline's first `search` is evaluated
over the lexicon into two masks over the bucket's rows (`Rows`): `exact`, the rows that certainly
match, and `maybe`, the rows only the search's own SQL can decide. Other rows certainly do not
match and are never read. The search's SQL still runs over every row read, so what the index
cannot decide costs time, never a wrong answer (docs/decisions/0035-term-index.md):

- a term that is one token holding a letter (`failed`, `item7`, `fail*`, `*ail`, `*ai*`) is exact;
- other terms (`10.0.0.1`, `fa*ed`, `"failed password"`, `TERM(x)`, `CASE(x)`) give candidates: the
  rows holding a token for each of their letter-holding runs;
- `host`, `source`, `sourcetype` and `index` comparisons are exact: their SQL runs over the
  bucket's distinct (index, host, source, sourcetype) combinations;
- a search-time field copied from `_raw` (`user=root`, `compiled.implied_fields`) gives
  candidates: the rows holding its value's letter-holding runs, as for the term `*root*`
  (Splunk fields.conf INDEXED_VALUE);
- `AND`, `OR`, `NOT` combine the masks (three-valued); anything else (a calculated field, a
  digit-only term, a nested time bound) is "maybe" on every row.

`count_only(compiled)` recognises `search ... | stats count`, which `engine` answers from the
masks' cardinalities (the `_time` column is read only to cut a bucket at the range's edges).
"""

from __future__ import annotations

import os
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from speleo.spl.state import EVENTS_TABLE, State
from speleo.spl import ast
from speleo.storage import lexicon

META_FIELDS = set(lexicon.META_COLUMNS)
_RUN = re.compile(r"[0-9a-z]+")
_READS_EVENTS = re.compile(rf'\b(?:FROM|JOIN)\s+"?{EVENTS_TABLE}\b', re.IGNORECASE)
_JSON_ESCAPE = re.compile(r"u[0-9a-f]{4}")
_ONE_TOKEN = re.compile(r"\*?[0-9a-z]*[a-z][0-9a-z]*\*?")
CACHE_BYTES = int(float(os.environ.get("SPELEO_TERM_INDEX_CACHE_MB", "64")) * 1e6)


@dataclass
class Rows:
    """What the index says of a bucket's rows (boolean masks of equal length)."""

    exact: np.ndarray
    maybe: np.ndarray
    strict: bool = False     # read exactly `read` (never the whole bucket instead): rows are counted apart

    @property
    def read(self) -> np.ndarray:
        return self.exact | self.maybe


# -- which searches ----------------------------------------------------------------------------


def search_expr(compiled) -> ast.Node | None:
    """The filter of the pipeline's first search without its time bounds (`ast.And` of them),
    or None when the index cannot restrict the rows: no leading search, or another reader of
    the events (a subsearch, `tstats append=t`...: the SQL names `__events__` more than once;
    map's runs after the search), which reads the same events with its own filter."""
    pipeline = getattr(compiled, "ast", None)
    if pipeline is None or not pipeline.commands or not isinstance(pipeline.commands[0], ast.SearchCmd):
        return None
    if any(ast.has_subsearch(c) for c in pipeline.commands) or len(_READS_EVENTS.findall(getattr(compiled, "sql", ""))) != 1:
        return None
    if any(step.get("kind") == "map" for step in getattr(compiled, "post", None) or []):
        return None   # map's runs read the events after the search, with their own filters
    expr = pipeline.commands[0].expr
    if expr is None:
        return None
    items = list(expr.items) if isinstance(expr, ast.And) else [expr]
    body = [n for n in items if not isinstance(n, ast.TimeBound)]
    if not body:
        return None
    return body[0] if len(body) == 1 else ast.And(items=body)


def count_only(compiled) -> bool:
    """`search <expr> | stats count [as name]` and nothing else."""
    pipeline = getattr(compiled, "ast", None)
    if pipeline is None or len(pipeline.commands) != 2 or getattr(compiled, "post", None):
        return False
    stats = pipeline.commands[1]
    if not isinstance(stats, ast.StatsCmd) or stats.kind != "stats" or stats.by or len(stats.aggs) != 1:
        return False
    agg = stats.aggs[0]
    return agg.func == "count" and agg.arg is None and agg.expr is None and not stats.dedup_splitvals


# -- evaluating an expression over one bucket's lexicon -----------------------------------------


class Evaluator:
    """Evaluates a search expression over lexicons; one per search (it caches the SQL of the
    field comparisons)."""

    def __init__(self, compiled) -> None:
        self.compiled = compiled
        self._sql: dict[int, str | None] = {}
        self._con = None

    def rows(self, lex: lexicon.Lexicon, node: ast.Node) -> Rows:
        self.lex = lex
        self.unsafe = lex.unsafe_mask()
        self._meta = None
        exact, maybe = self._eval(node)
        return Rows(exact, maybe)

    def _all(self) -> np.ndarray:
        return np.ones(self.lex.rows, dtype=bool)

    def _none(self) -> np.ndarray:
        return np.zeros(self.lex.rows, dtype=bool)

    def _eval(self, node) -> tuple[np.ndarray, np.ndarray]:
        if isinstance(node, ast.And):
            exact, possible = self._all(), self._all()
            for item in node.items:
                e, m = self._eval(item)
                exact &= e
                possible &= e | m
            return exact, possible & ~exact
        if isinstance(node, ast.Or):
            exact, possible = self._none(), self._none()
            for item in node.items:
                e, m = self._eval(item)
                exact |= e
                possible |= e | m
            return exact, possible & ~exact
        if isinstance(node, ast.Not):
            e, m = self._eval(node.item)
            return ~(e | m), m
        if isinstance(node, ast.Term):
            return self._term(node)
        if isinstance(node, (ast.FieldCmp, ast.FieldIn)) and node.field in META_FIELDS:
            return self._meta_field(node)
        if isinstance(node, (ast.FieldCmp, ast.FieldIn)) and node.field in getattr(self.compiled, "implied_fields", ()):
            return self._implied(node)
        return self._none(), self._all()

    def _implied(self, node) -> tuple[np.ndarray, np.ndarray]:
        """`field=value` of a field copied from `_raw` (compiler `implied_fields`): the rows
        holding the value's words where they may stand, as for the term `*value*` (an
        extraction may start or end inside a token). Candidates only ("maybe")."""
        from speleo.spl.commands.search import implied_values

        values = [node.value] if isinstance(node, ast.FieldCmp) else list(node.values)
        if (isinstance(node, ast.FieldCmp) and node.op != "=") or not implied_values(values):
            return self._none(), self._all()
        # a JSON string may spell a letter as \\uXXXX (token `u0072...`): those rows stay candidates
        cand = self.lex.rows_mask(self.lex.ids_where(lambda t: _JSON_ESCAPE.match(t) is not None))
        for value in values:
            low = value.lower()
            masks = [self.lex.rows_mask(ids) for ids in self._constraints("*" + low + "*")] if low.isascii() else []
            if not masks:
                return self._none(), self._all()
            one = masks[0]
            for m in masks[1:]:
                one &= m
            cand |= one
        return self._none(), cand | self.unsafe

    # terms
    def _term(self, node: ast.Term) -> tuple[np.ndarray, np.ndarray]:
        text = node.text
        if not text.isascii():
            return self._none(), self._all()
        low = text.lower()
        if not low.strip("*"):
            if type(node) is ast.Term:           # `*`: every event
                return self._all(), self._none()
            return self._none(), self._all()
        masks = [self.lex.rows_mask(ids) for ids in self._constraints(low)]
        if not masks:
            return self._none(), self._all()
        cand = masks[0]
        for m in masks[1:]:
            cand &= m
        if type(node) is ast.Term and _ONE_TOKEN.fullmatch(low):
            return cand & ~self.unsafe, self.unsafe.copy()
        return self._none(), cand | self.unsafe

    def _constraints(self, low: str) -> list[list[int]]:
        """Per letter-holding run of the term, the lexicon ids of the tokens that may hold it
        where it matches (see `spl.nodes.term_regex`: a term is bounded by non-[0-9a-z] where it
        starts or ends with one; `*` is any text)."""
        segments = low.split("*")
        out = []
        for si, seg in enumerate(segments):
            for m in _RUN.finditer(seg):
                run = m.group()
                if not lexicon.covered(run):
                    continue
                left = m.start() > 0 or si == 0
                right = m.end() < len(seg) or si == len(segments) - 1
                if left and right:
                    out.append(self.lex.ids_exact(run))
                elif left:
                    out.append(self.lex.ids_prefix(run))
                elif right:
                    out.append(self.lex.ids_where(lambda t, r=run: t.endswith(r)))
                else:
                    out.append(self.lex.ids_where(lambda t, r=run: r in t))
        return out

    # host, source, sourcetype, index
    def _meta_field(self, node) -> tuple[np.ndarray, np.ndarray]:
        sql = self._condition_sql(node)
        if sql is None:
            return self._none(), self._all()
        if self._meta is None:
            self._meta = self.lex.meta_table()
        table, per_row = self._meta
        try:
            con = self._connection()
            con.register("__speleo_meta__", table)
            hits = con.execute(f"SELECT coalesce(({sql}), false) FROM __speleo_meta__").fetchall()
            con.unregister("__speleo_meta__")
        except Exception:  # noqa: BLE001 - the index cannot decide: the SQL over the rows will
            return self._none(), self._all()
        ok = np.asarray([bool(h[0]) for h in hits] + [False], dtype=bool)
        return ok[per_row] if len(per_row) else self._none(), self._none()

    def _condition_sql(self, node) -> str | None:
        key = id(node)
        if key not in self._sql:
            from speleo.spl.commands.search import search_condition
            from speleo.spl.nodes import render

            try:
                ctx = getattr(self.compiled, "ctx", None)
                state = State(ctx=ctx, query=getattr(self.compiled, "query_text", "") or "")
                self._sql[key] = render(search_condition(state, node))
            except Exception:  # noqa: BLE001 - not decidable here
                self._sql[key] = None
        return self._sql[key]

    def _connection(self):
        if self._con is None:
            import duckdb

            from speleo.config import duckdb_config

            self._con = duckdb.connect(config=duckdb_config())
        return self._con


# -- the sidecars of buckets, cached -----------------------------------------------------------


class SidecarCache:
    """Loaded sidecars by (path, size, mtime), least recently used first out, at most
    `max_bytes` of sidecar bytes. A corrupt sidecar is reported once to `on_corrupt(path, why)`
    and ignored (the bucket is searched without it)."""

    def __init__(self, max_bytes: int = CACHE_BYTES) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict = OrderedDict()
        self._bytes = 0
        self._bad: set = set()
        self._lock = threading.Lock()

    def get(self, bucket: Path, on_corrupt=None) -> lexicon.Lexicon | None:
        side = lexicon.sidecar_path(bucket)
        try:
            st = side.stat()
        except OSError:
            return None
        key = (str(side), st.st_size, st.st_mtime_ns)
        with self._lock:
            if key in self._bad:
                return None
            lex = self._items.get(key)
            if lex is not None:
                self._items.move_to_end(key)
                return lex
        try:
            lex = lexicon.load(bucket)
        except (lexicon.CorruptSidecar, OSError) as e:
            with self._lock:
                self._bad.add(key)
            if on_corrupt is not None:
                on_corrupt(side, str(e))
            return None
        if lex is None:
            return None
        with self._lock:
            self._items[key] = lex
            self._bytes += len(lex.blob)
            while self._bytes > self.max_bytes and len(self._items) > 1:
                _, old = self._items.popitem(last=False)
                self._bytes -= len(old.blob)
        return lex


    def mark_bad(self, bucket: Path) -> None:
        """Never use this bucket's current sidecar again (found corrupt after it loaded)."""
        side = str(lexicon.sidecar_path(bucket))
        with self._lock:
            for key in [k for k in self._items if k[0] == side]:
                self._bytes -= len(self._items.pop(key).blob)
                self._bad.add(key)


CACHE = SidecarCache()


# -- reading the rows an answer leaves ----------------------------------------------------------

ALL = object()   # read the whole bucket
WHOLE_SHARE = 0.5  # above this share of a bucket's rows, a plain scan is cheaper than picking rows


def rows_to_read(rows: Rows):
    """The sorted row numbers to read of a bucket, or ALL (a plain scan)."""
    mask = rows.read
    n = int(np.count_nonzero(mask))
    if n == len(mask) or (n > len(mask) * WHOLE_SHARE and not rows.strict):
        return ALL
    return np.flatnonzero(mask)


def bin_counts(times: np.ndarray, span: float) -> tuple[list[float], list[int]]:
    """Timeline bins of some `_time` values: (bin starts, counts), the bin start computed as the
    SQL does (`floor(_time / span) * span`, in doubles)."""
    if not len(times):
        return [], []
    k = np.floor(times / span)
    base = k.min()
    counts = np.bincount((k - base).astype(np.int64))
    nz = np.flatnonzero(counts)
    return [float((base + j) * span) for j in nz.tolist()], counts[nz].tolist()


def rows_relation(con, path: Path, rows: np.ndarray):
    """A DuckDB relation of some rows (sorted numbers) of one Parquet bucket, in its columns:
    the row groups holding none are skipped, the others joined with the row numbers."""
    import duckdb
    import pyarrow as pa

    starts = _group_starts(path)
    groups = np.searchsorted(starts, rows, side="right") - 1
    rel = row_groups_scan(con, path, sorted(set(groups.tolist())), starts)
    picked = con.from_arrow(pa.table({"__speleo_row": pa.array(rows, pa.int64())}))
    rel = rel.join(picked, "file_row_number = __speleo_row", how="semi")
    return rel.select(*[duckdb.ColumnExpression(c) for c in rel.columns if c not in ("file_row_number", "__speleo_row")])


def times_of(path: Path, rows: np.ndarray) -> np.ndarray:
    """`_time` of some rows (sorted numbers) of a bucket, reading only the row groups holding them."""
    import pyarrow.parquet as pq

    pf = pq.ParquetFile(path)
    starts = np.cumsum([0] + [pf.metadata.row_group(i).num_rows for i in range(pf.metadata.num_row_groups)])
    groups = np.unique(np.searchsorted(starts, rows, side="right") - 1)
    if len(groups) > len(starts) // 2:
        return pf.read(columns=["_time"]).column("_time").to_numpy()[rows]
    t = pf.read_row_groups(groups.tolist(), columns=["_time"]).column("_time").to_numpy()
    sizes = starts[groups + 1] - starts[groups]
    first_in_read = np.concatenate([[0], np.cumsum(sizes)[:-1]])    # where each group starts in `t`
    g = np.searchsorted(starts, rows, side="right") - 1
    return t[first_in_read[np.searchsorted(groups, g)] + rows - starts[g]]


def _group_starts(path: Path) -> np.ndarray:
    import pyarrow.parquet as pq

    md = pq.ParquetFile(path).metadata
    return np.cumsum([0] + [md.row_group(i).num_rows for i in range(md.num_row_groups)])


def row_groups_scan(con, path: Path, groups: list[int], starts: np.ndarray | None = None):
    """`read_parquet(path)` with its `file_row_number`, filtered to some row groups: the filter
    on the row number makes DuckDB skip the others."""
    import duckdb

    starts = _group_starts(path) if starts is None else starts
    row = duckdb.ColumnExpression("file_row_number")
    cond = None
    for lo, hi in group_runs(groups):
        part = (row >= duckdb.ConstantExpression(int(starts[lo]))) & (row < duckdb.ConstantExpression(int(starts[hi + 1])))
        cond = part if cond is None else (cond | part)
    return con.read_parquet(str(path), file_row_number=True).filter(cond)


def group_runs(groups: list[int]) -> list[tuple[int, int]]:
    """Row group numbers as sorted inclusive runs: [1, 2, 3, 7] -> [(1, 3), (7, 7)]."""
    runs: list[tuple[int, int]] = []
    for g in sorted(groups):
        if runs and g == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], g)
        else:
            runs.append((g, g))
    return runs
