"""Streaming k-way merge of sorted Parquet buckets into one, with bounded memory.

Buckets are sorted by (`source`, `_time`) — see `sort_events` — so that a row group holds
consecutive events of one source: its `_raw` compresses like the original file, `_offset` is
increasing, and its `_time` statistics stay narrow enough for DuckDB to skip row groups.

The merge holds one row group per input: it emits every buffered row whose key is at most
the smallest "last key" among the inputs' buffers (no later row of any input can sort before
it), sorts that batch, and refills the inputs it emptied. Memory is about (inputs + 2) row
groups, whatever the buckets' sizes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterator

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from speleo.storage.schema import EVENT_SCHEMA, conform

KEY = "__sort_source"


def sort_events(events: pa.Table) -> pa.Table:
    """Sort events by (source, _time), a missing source sorting as "". The sort is stable:
    events of equal keys keep their order."""
    source, times = events.column("source"), events.column("_time")
    if events.num_rows > 1 and source.null_count == 0:
        ends = pc.min_max(source)
        if ends["min"] == ends["max"]:   # one source (a file's chunk): the order of _time alone
            # a null _time (the schema forbids it) makes a pair null, which `all` would skip
            if times.null_count == 0 and pc.all(pc.less_equal(times[:-1], times[1:])).as_py():
                return events                 # already in order (most files)
            return events.sort_by([("_time", "ascending")])
    keyed = events.append_column(KEY, pc.fill_null(source, ""))
    return keyed.sort_by([(KEY, "ascending"), ("_time", "ascending")]).drop_columns([KEY])


def _row_groups(path: Path) -> Iterator[pa.Table]:
    pf = pq.ParquetFile(path)
    for i in range(pf.num_row_groups):
        t = conform(pf.read_row_group(i))
        if t.num_rows:
            yield t


class _Input:
    def __init__(self, path: Path) -> None:
        self.groups = _row_groups(path)
        self.buf: pa.Table | None = next(self.groups, None)

    def last_key(self) -> tuple[str, float]:
        src = self.buf.column("source")[-1].as_py() or ""
        return src, self.buf.column("_time")[-1].as_py()

    def take_until(self, bound: tuple[str, float]) -> pa.Table:
        """Remove and return the buffered rows with key <= bound; refill when emptied."""
        src = pc.fill_null(self.buf.column("source"), "")
        times = self.buf.column("_time")
        before = pc.or_(pc.less(src, bound[0]), pc.and_(pc.equal(src, bound[0]), pc.less_equal(times, bound[1])))
        n = int(pc.sum(pc.cast(before, pa.int64())).as_py() or 0)
        out, self.buf = self.buf.slice(0, n), self.buf.slice(n)
        if self.buf.num_rows == 0:
            self.buf = next(self.groups, None)
        return out


def merge_sorted(
    paths: list[Path], out: Path, rows_per_group: int, writer_opts: dict,
    on_row_group: Callable[[pa.Table], None] | None = None,
) -> int:
    """Merge sorted buckets into `out` (row groups of `rows_per_group`); returns rows written.

    `on_row_group(table)` sees every row group as it is written (e.g. to build its term index).
    """
    inputs = [i for i in (_Input(p) for p in paths) if i.buf is not None]
    pending: list[pa.Table] = []
    pending_rows = written = 0
    with pq.ParquetWriter(out, EVENT_SCHEMA, **writer_opts) as writer:

        def flush(final: bool) -> None:
            nonlocal pending, pending_rows, written
            table = pa.concat_tables(pending) if pending else EVENT_SCHEMA.empty_table()
            while table.num_rows >= rows_per_group or (final and table.num_rows):
                group = table.slice(0, rows_per_group)
                writer.write_table(group, row_group_size=rows_per_group)
                if on_row_group:
                    on_row_group(group)
                written += group.num_rows
                table = table.slice(rows_per_group)
            pending, pending_rows = ([table] if table.num_rows else []), table.num_rows

        while inputs:
            bound = min(i.last_key() for i in inputs)
            batch = sort_events(pa.concat_tables([i.take_until(bound) for i in inputs]))
            inputs = [i for i in inputs if i.buf is not None]
            pending.append(batch)
            pending_rows += batch.num_rows
            if pending_rows >= rows_per_group:
                flush(final=False)
        flush(final=True)
    return written
