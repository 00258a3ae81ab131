"""The event store of one home: journal in, Parquet buckets out, catalog kept consistent.

Write path (one writer process, holding the home's writer lock):

1. `append(events, checkpoints)` writes one journal record and fsyncs: acknowledged.
2. `seal()` rotates the journal, writes each index's events of the closed segment to an
   immutable Parquet (zstd) *hot* bucket sorted by (`source`, `_time`) (temp file, fsync,
   rename), then in
   ONE catalog transaction inserts the buckets, marks the segment sealed and stores the file
   checkpoints carried by its records; only then is the segment file deleted.
3. `merge_hot()` rewrites small hot buckets of an index into one *warm* bucket; the old
   ones are retired and their files deleted after a grace period (readers may hold them).

Recovery (`recover()`, at start): a segment listed as sealed is deleted; any other segment is
replayed and sealed; a Parquet file the catalog does not list is an orphan of a crash and is
deleted. So every acknowledged event ends in exactly one bucket.
"""

from __future__ import annotations

import os
import re
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from speleo.config import Home
from speleo.storage import profile as bucket_profile
from speleo.storage import lexicon, termindex
from speleo.storage.catalog import Catalog, add_problem
from speleo.storage.merge import merge_sorted, sort_events
from speleo.storage.durable import fsync_dir, fsync_file
from speleo.storage.journal import Journal, Record, read_segment
from speleo.storage.schema import EVENT_SCHEMA, conform

ROW_GROUP_ROWS = 16 * 1024
WARM_TARGET_RAW_BYTES = 256 * 1024 * 1024
PARQUET_OPTS = dict(
    compression="zstd",
    compression_level=3,
    row_group_size=ROW_GROUP_ROWS,
    use_dictionary=["host", "source", "sourcetype", "index", "_flags", "linecount", "_indextime"],
    column_encoding={"_raw": "DELTA_BYTE_ARRAY", "_time": "BYTE_STREAM_SPLIT", "_offset": "DELTA_BINARY_PACKED"},
)
# Warm buckets are written once by a background merge and kept long: `_raw` (most of the bytes)
# at zstd 9 is 4-5% smaller than at 6 for twice the CPU (bench/termindex_bench.py; docs/benchmarks.md).
WARM_PARQUET_OPTS = {k: v for k, v in PARQUET_OPTS.items() if k != "row_group_size"} | {
    "compression_level": {name: 9 if name in ("_raw", "_time", "_offset") else 6 for name in EVENT_SCHEMA.names}}


def cold_parquet_opts(level: int, names: list[str]) -> dict:
    """Writer options of a cold bucket (`storage.lifecycle`): the warm bucket's encodings, every
    column at zstd `level` (the index's `coldCompressionLevel`), for a file whose columns are `names`."""
    opts = {k: v for k, v in WARM_PARQUET_OPTS.items() if k not in ("compression_level", "use_dictionary",
                                                                     "column_encoding")}
    return opts | {
        "compression_level": int(level),
        "use_dictionary": [c for c in WARM_PARQUET_OPTS["use_dictionary"] if c in names],
        "column_encoding": {c: e for c, e in WARM_PARQUET_OPTS["column_encoding"].items() if c in names},
    }


@dataclass
class SealStats:
    """What one seal wrote: buckets, events and bytes."""

    buckets: int = 0
    events: int = 0


class Store:
    """Writer-side access to a home's events. Thread-safe; one instance per writer process."""

    def __init__(self, home: Home, catalog: Catalog) -> None:
        self.home = home
        self.catalog = catalog
        self.journal = Journal(home.journal_dir)
        # never reuse a segment number the catalog already lists as sealed (after a clean stop
        # the journal folder is empty): recovery would take the new segment for an old one
        last_sealed = catalog.query("SELECT coalesce(max(seq), 0) FROM sealed_segments")[0][0]
        self.journal.seq = max(self.journal.seq, int(last_sealed) + 1)
        self._seal_lock = threading.Lock()
        self._merge_lock = threading.Lock()
        self._unsealed: list[tuple[int, list[Record]]] = []
        self._sidecars_checked: set[str] = set()
        self._duck = duckdb.connect()
        self.on_lifecycle = None   # callable(event, fields): bucket lifecycle events (the server sends them to _internal)
        self.ingest_filter = None  # ingest.filters.Filters: drop or route events before they are journaled
        self.event_sink = None     # instead of Parquet buckets: an object with write(index, events, token)
                                   # (query.clickhouse.ClickHouseBackend); see _seal_to_sink

    # -- write path ------------------------------------------------------------
    def append(
        self,
        events: pa.Table,
        checkpoints: dict[str, tuple[str, int]] | None = None,
        problems: list[tuple[str, str, str, int]] | None = None,
        extra: dict | None = None,
    ) -> None:
        """Make events durable (journal + fsync).

        `events` may lack nullable columns; `checkpoints` maps a file identity key to
        (path, byte offset consumed[, identity details: see `speleo.ingest.identity`]); `problems` are (kind, source, reason, count) counters.
        Both are applied to the catalog when the record is sealed, atomically with its events;
        so is `extra` (`{"license_reported": [...]}`: bytes a licence report covered).
        """
        self.journal.append(self.record(events, checkpoints, problems, extra))

    def record(
        self,
        events: pa.Table,
        checkpoints: dict[str, tuple[str, int]] | None = None,
        problems: list[tuple[str, str, str, int]] | None = None,
        extra: dict | None = None,
    ) -> Record:
        """The journal record `append` writes (ingest filters applied, events conformed), for a
        caller that writes it itself (`journal.GroupCommit`)."""
        meta: dict = dict(extra or {})
        if self.ingest_filter is not None and events.num_rows:
            events, dropped = self.ingest_filter.apply(conform(events))
            if dropped:
                from speleo.storage.license import license_day

                day = license_day(time.time(), self.home.settings.default_tz)
                meta["filtered"] = [[day, t, idx, n, b] for t, idx, n, b in dropped]
                problems = list(problems or []) + [("dropped", f"transforms:{t}", f"nullQueue (index {idx})", n)
                                                   for t, idx, n, _ in dropped]
        if checkpoints:
            meta["checkpoints"] = {k: [v[0], int(v[1]), *v[2:]] for k, v in checkpoints.items()}
        if problems:
            meta["problems"] = [list(p) for p in problems]
        return Record(conform(events), meta)

    def seal_if_large(self, limit_bytes: int) -> SealStats:
        """Seal when the current journal segment holds `limit_bytes` or more (bounds memory)."""
        if self.journal.pending_bytes >= limit_bytes:
            return self.seal()
        return SealStats()

    def seal(self) -> SealStats:
        """Turn the current journal segment into hot buckets; returns what was written."""
        with self._seal_lock:
            self._unsealed.extend(self.journal.take_left())   # older than the current segment
            rotated = self.journal.rotate()
            if rotated is not None:
                self._unsealed.append(rotated)
            total = SealStats()
            while self._unsealed:   # a segment whose seal failed (disk full, locked catalog) is retried first
                seq, records = self._unsealed[0]
                stats = self._seal_records(seq, records)
                self._unsealed.pop(0)
                total.buckets += stats.buckets
                total.events += stats.events
            return total

    def _seal_records(self, seq: int, records: list[Record]) -> SealStats:
        tables = [r.events for r in records if r.events.num_rows]
        events = pa.concat_tables(tables) if tables else EVENT_SCHEMA.empty_table()
        if self.event_sink is not None:
            return self._seal_to_sink(seq, records, events)
        written = [self._write_bucket(idx, part) for idx, part in split_by_index(events)]
        now = time.time()
        with self.catalog.transaction() as con:
            for row in written:
                con.execute(
                    "INSERT INTO buckets(index_name, state, path, min_time, max_time, event_count,"
                    " raw_bytes, size_bytes, bloom, profile, journal_seq, created) VALUES "
                    "(?, 'hot', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (*row, seq, now),
                )
            con.execute("INSERT OR REPLACE INTO sealed_segments(seq, sealed_at) VALUES (?, ?)", (seq, now))
            apply_meta(con, records, now)
            record_volume(con, events, self.home.settings.default_tz)
        self.journal.path_of(seq).unlink(missing_ok=True)
        return SealStats(len(written), events.num_rows)

    def _seal_to_sink(self, seq: int, records: list[Record], events: pa.Table) -> SealStats:
        """Seal a segment into `event_sink` (ClickHouse) instead of buckets: each index's events
        are sent with the token `seg<seq>:<index>`, then ONE catalog transaction marks the segment
        sealed with its checkpoints, problems and volume. A crash between the two replays the
        segment with the same tokens, which the sink ignores (nothing stored twice); a sink that
        fails (the cluster unreachable) leaves the segment unsealed in the journal, retried by the
        next seal: nothing acknowledged is lost."""
        from speleo.storage.lifecycle import crash_point

        parts = split_by_index(events)
        for idx, part in parts:
            self.event_sink.write(idx, part, f"seg{seq}:{idx}")
        crash_point("sink-before-commit")
        now = time.time()
        with self.catalog.transaction() as con:
            con.execute("INSERT OR REPLACE INTO sealed_segments(seq, sealed_at) VALUES (?, ?)", (seq, now))
            apply_meta(con, records, now)
            record_volume(con, events, self.home.settings.default_tz)
        self.journal.path_of(seq).unlink(missing_ok=True)
        return SealStats(len(parts), events.num_rows)

    def settings(self, index: str):
        """The index's effective storage settings (`storage.indexconf`), read from the catalog."""
        from speleo.storage import indexconf

        every = indexconf.load_all(self.home, self.catalog)
        return every.get(index) or indexconf.effective(self.home, index, {})

    def _write_bucket(self, index: str, events: pa.Table, state: str = "hot") -> tuple:
        events = sort_events(events)
        folder = self.settings(index).home_path
        folder.mkdir(parents=True, exist_ok=True)
        times = events.column("_time")
        tmin, tmax = pc.min(times).as_py(), pc.max(times).as_py()
        name = f"{state}_{int(tmin)}_{int(tmax)}_{uuid.uuid4().hex[:12]}.parquet"
        path = folder / name
        write_parquet_durably(events, path)
        raw_bytes = int(pc.sum(pc.binary_length(events.column("_raw"))).as_py() or 0)
        return self._describe(index, path, tmin, tmax, events.num_rows, raw_bytes, with_terms=state != "hot",
                              profile=bucket_profile.of_table(events))

    def _describe(self, index: str, path: Path, tmin: float, tmax: float, n: int, raw_bytes: int,
                  with_terms: bool = True, profile: bucket_profile.Profile | None = None) -> tuple:
        """Catalog row of a written bucket. Hot buckets get no term index: they are small and
        short-lived, and building it would slow the ingestion path; the merge into warm
        buckets builds it in the background."""
        bloom = termindex.build_for_file(self._duck, path) if with_terms else None
        rel = catalog_path(self.home, path)
        return (index, rel, tmin, tmax, n, raw_bytes, path.stat().st_size, bloom,
                profile.to_text() if profile is not None else None)

    # -- compaction and cleanup -------------------------------------------------
    def merge_hot(self, min_buckets: int) -> int:
        """Merge an index's small buckets (hot, or warm far below the target size) into warm
        ones once it has `min_buckets` of them (two tiers, as in a log-structured merge).

        Consecutive buckets (by start time) are merged in groups of at most
        `WARM_TARGET_RAW_BYTES` of raw text by a streaming k-way merge on `_time`
        (`storage.merge`), so merging never holds a bucket in memory.
        Returns the number of warm buckets written.
        """
        merged = 0
        with self._merge_lock:   # not the seal lock: seals (and so acknowledgements) go on during a merge
            for index in self.catalog.index_names():
                small = [b for b in self.catalog.live_buckets([index]) if is_small(b)]
                if len(small) < min_buckets:
                    continue
                conf = self.settings(index)
                for group in merge_groups(small, conf.max_data_size_bytes, conf.max_hot_span_secs):
                    if len(group) < 2 and group[0].state != "hot":
                        continue
                    self._merge(index, group)
                    merged += 1
        return merged

    def _merge(self, index: str, rows: list) -> None:
        files = [self.home.root / b.path for b in rows]
        tmin, tmax = min(b.min_time for b in rows), max(b.max_time for b in rows)
        path = self.settings(index).home_path / f"warm_{int(tmin)}_{int(tmax)}_{uuid.uuid4().hex[:12]}.parquet"
        tmp = path.with_name(path.name + ".tmp")
        blocks: list[bytes] = []
        sidecar = lexicon.Builder()

        def on_row_group(g: pa.Table) -> None:
            blocks.append(termindex.block(self._duck, g, digits_only=True))   # the sidecar has the others
            sidecar.add(g)

        merge_sorted(files, tmp, ROW_GROUP_ROWS, WARM_PARQUET_OPTS, on_row_group)
        fsync_file(tmp)
        os.replace(tmp, path)
        fsync_dir(path.parent)
        lexicon.write(path, sidecar.finish(path.stat().st_size))   # before the catalog lists the bucket
        from speleo.storage.lifecycle import crash_point

        crash_point("sidecar.written")
        n, raw = sum(b.event_count for b in rows), sum(b.raw_bytes for b in rows)
        rel = catalog_path(self.home, path)
        profile = bucket_profile.union(bucket_profile.parse(b.profile) for b in rows)
        row = (index, rel, tmin, tmax, n, raw, path.stat().st_size, termindex.assemble(blocks, digits_only=True),
               profile.to_text() if profile is not None else None)
        now = time.time()
        with self.catalog.transaction() as con:
            con.execute(
                "INSERT INTO buckets(index_name, state, path, min_time, max_time, event_count,"
                " raw_bytes, size_bytes, bloom, profile, journal_seq, created) VALUES "
                "(?, 'warm', ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?)",
                (*row, now),
            )
            con.executemany(
                "UPDATE buckets SET retired_at = ? WHERE id = ?", [(now, b.id) for b in rows]
            )
        if self.on_lifecycle is not None:
            self.on_lifecycle("rolled", {"idx": index, "from": "hot", "to": "warm", "buckets": len(rows),
                                         "path": rel, "events": n, "reason": "merge"})

    def collect_garbage(self, grace_secs: float) -> int:
        """Delete the files and rows of buckets retired more than `grace_secs` ago."""
        rows = self.catalog.retired_before(time.time() - grace_secs)
        for b in rows:
            (self.home.root / b.path).unlink(missing_ok=True)
            lexicon.remove(self.home.root / b.path)
        if rows:
            with self.catalog.transaction() as con:
                con.executemany("DELETE FROM buckets WHERE id = ?", [(b.id,) for b in rows])
        return len(rows)

    def build_missing_sidecars(self, limit: int | None = None) -> int:
        """Write the term index sidecar (`storage.lexicon`) of live warm, cold and thawed buckets
        that have none (written before sidecars existed, thawed from an archive, or whose sidecar
        was found corrupt: it is replaced). At most `limit` buckets (None: all). Returns how many."""
        done = 0
        for b in self.catalog.live_buckets():
            if limit is not None and done >= limit:
                break
            path = self.home.root / b.path
            if b.state == "hot" or b.path in self._sidecars_checked or not path.exists():
                continue
            self._sidecars_checked.add(b.path)   # each bucket's sidecar is loaded once per process
            if sidecar_ok(path):
                continue
            with self._merge_lock:   # a merge or purge may retire it meanwhile: then the orphan sweep removes it
                lexicon.write(path, lexicon.build_for_file(path))
            done += 1
        return done

    # -- recovery --------------------------------------------------------------
    def recover(self) -> SealStats:
        """Finish what a crash interrupted; see the module docstring. Returns what was replayed."""
        sealed = {r[0] for r in self.catalog.query("SELECT seq FROM sealed_segments")}
        total = SealStats()
        for path in self.journal.segments():
            seq = int(path.stem)
            if seq in sealed:
                path.unlink(missing_ok=True)
                continue
            records, _ = read_segment(path)
            with self._seal_lock:
                stats = self._seal_records(seq, records)
            total.buckets += stats.buckets
            total.events += stats.events
        from speleo.storage.purge import delete_purged

        delete_purged(self)   # a purge committed just before a crash: its old files go now
        self._remove_orphans()
        return total

    def _remove_orphans(self) -> None:
        """Delete bucket files no catalog row lists (written, or copied to a cold or thawed
        folder, by a step a crash interrupted before its catalog commit)."""
        from speleo.storage import indexconf

        known = self.catalog.all_bucket_paths()
        folders = {self.home.indexes_dir / "*"}
        for conf in indexconf.load_all(self.home, self.catalog).values():
            folders.update({conf.home_path, conf.cold_path, conf.thawed_path})
        for folder in folders:
            for path in folder.parent.glob(f"{folder.name}/*.parquet*"):
                if BUCKET_NAME.match(path.name) and catalog_path(self.home, path) not in known:
                    path.unlink(missing_ok=True)
                side = SIDECAR_NAME.match(path.name)
                if side and (side.group(2) or catalog_path(self.home, path.with_name(side.group(1))) not in known):
                    path.unlink(missing_ok=True)   # a temp file, or the sidecar of a bucket no row lists

    def close(self) -> None:
        self.journal.close()


BUCKET_NAME = re.compile(r"^(hot|warm|cold|thawed|purged)_-?\d+_-?\d+_[0-9a-f]+\.parquet(\.tmp)?$")
SIDECAR_NAME = re.compile(r"^((?:hot|warm|cold|thawed|purged)_-?\d+_-?\d+_[0-9a-f]+\.parquet)\.tidx(\.tmp)?$")


def sidecar_ok(bucket: Path) -> bool:
    """Whether a bucket file has a sidecar that loads (`lexicon.load`)."""
    try:
        return lexicon.load(bucket) is not None
    except lexicon.CorruptSidecar:
        return False


def catalog_path(home: Home, path: Path) -> str:
    """How the catalog names a bucket file: relative to the home when inside it, else absolute
    (a `homePath`, `coldPath` or `thawedPath` on another disk)."""
    try:
        return str(path.relative_to(home.root))
    except ValueError:
        return str(path)


def split_by_index(events: pa.Table) -> list[tuple[str, pa.Table]]:
    """Split an event table by its `index` column, keeping row order."""
    if events.num_rows == 0:
        return []
    names = pc.unique(events.column("index")).to_pylist()
    if len(names) == 1:
        return [(names[0], events)]
    return [(n, events.filter(pc.equal(events.column("index"), n))) for n in names]


def is_small(b) -> bool:
    """Hot buckets, and warm ones far below the target size, are merged again."""
    return b.state == "hot" or (b.state == "warm" and b.raw_bytes < WARM_TARGET_RAW_BYTES // 8)


def merge_groups(hot: list, max_raw_bytes: int, max_span_secs: float = float("inf")) -> list[list]:
    """Consecutive buckets (by start time) in groups of at most `max_raw_bytes` raw text
    (Splunk `maxDataSize`) whose events span at most `max_span_secs` (`maxHotSpanSecs`)."""
    groups: list[list] = [[]]
    size = 0
    for b in sorted(hot, key=lambda b: (b.min_time, b.id)):
        group = groups[-1]
        span = max([b.max_time, *(g.max_time for g in group)]) - min([b.min_time, *(g.min_time for g in group)])
        if group and (size + b.raw_bytes > max_raw_bytes or span > max_span_secs):
            groups.append([])
            size = 0
        groups[-1].append(b)
        size += b.raw_bytes
    return [g for g in groups if g]


def write_parquet_durably(table: pa.Table, path: Path) -> None:
    """Write a Parquet file to a temp name, fsync it, rename it into place, fsync the folder."""
    tmp = path.with_name(path.name + ".tmp")
    pq.write_table(table, tmp, **PARQUET_OPTS)
    fsync_file(tmp)
    os.replace(tmp, path)
    fsync_dir(path.parent)


def apply_meta(con, records: list[Record], now: float) -> None:
    """Apply the checkpoints and problem counters of journal records, in order."""
    for rec in records:
        for fp, (path, offset, *ident) in rec.meta.get("checkpoints", {}).items():
            con.execute(
                "INSERT INTO checkpoints(fingerprint, path, offset, updated, ident) VALUES (?,?,?,?,?) "
                "ON CONFLICT(fingerprint) DO UPDATE SET path=excluded.path, "
                "offset=excluded.offset, updated=excluded.updated, ident=excluded.ident",
                (fp, path, offset, now, ident[0] if ident else None),
            )
        for kind, source, reason, n in rec.meta.get("problems", []):
            add_problem(con, kind, source, reason, n, now)
        for day, transform, idx, n, b in rec.meta.get("filtered", []):
            con.execute(
                "INSERT INTO filtered_volume(day, transform, index_name, events, bytes) VALUES (?,?,?,?,?) "
                "ON CONFLICT(day, transform, index_name) DO UPDATE SET events = events + excluded.events, "
                "bytes = bytes + excluded.bytes", (day, transform, idx, n, b))
        if rec.meta.get("license_reported") or rec.meta.get("license_rollover"):
            from speleo.storage.license import apply_reported, apply_rollover

            apply_reported(con, rec.meta.get("license_reported", []))
            if rec.meta.get("license_rollover"):
                apply_rollover(con, rec.meta["license_rollover"])


def record_volume(con, events: pa.Table, tz_name: str | None = None) -> None:
    """Add the events' raw bytes (UTF-8 length of `_raw`) and counts to the daily volume meter,
    by licence day of `_indextime` in zone `tz_name` (None: the machine's; `storage.license`)."""
    from speleo.storage.license import license_day

    if events.num_rows == 0:
        return
    itime = pc.floor(pc.fill_null(events.column("_indextime"), time.time()))
    seconds = pc.unique(itime).to_pylist()
    days = pa.array([license_day(t, tz_name) for t in seconds])
    rows = _one_origin_volume(events, itime, seconds, days)
    if rows is None:
        day = pc.take(days, pc.index_in(itime, pa.array(seconds)))
        t = pa.table(
            {
                "day": day,
                "index": events.column("index"),
                "sourcetype": pc.fill_null(events.column("sourcetype"), ""),
                "host": pc.fill_null(events.column("host"), ""),
                "source": pc.fill_null(events.column("source"), ""),
                "bytes": pc.binary_length(events.column("_raw")),
            }
        )
        rows = t.group_by(["day", "index", "sourcetype", "host", "source"]).aggregate(
            [("bytes", "sum"), ("bytes", "count")]
        ).to_pylist()
    con.executemany(
        "INSERT INTO volume(day, index_name, sourcetype, host, source, bytes, events) "
        "VALUES (?,?,?,?,?,?,?) ON CONFLICT(day, index_name, sourcetype, host, source) DO UPDATE "
        "SET bytes = bytes + excluded.bytes, events = events + excluded.events",
        [
            (r["day"], r["index"], r["sourcetype"], r["host"], r["source"], r["bytes_sum"] or 0, r["bytes_count"])
            for r in rows
        ],
    )


def _one_origin_volume(events: pa.Table, itime, seconds: list, days: pa.Array) -> list[dict] | None:
    """`record_volume`'s rows when every event has the same index, sourcetype, host and source
    (a file's chunks): sums per second of `_indextime` added up per day, without hashing the
    four text columns of every event (a hash aggregation cost ~1 ms per 25,000 events).
    None when the events have several origins."""
    origin = {}
    for name in ("index", "sourcetype", "host", "source"):
        col = events.column(name)
        first = col[0].as_py()
        if first is None or col.null_count or not pc.all(pc.equal(col, first)).as_py():
            return None
        origin[name] = first
    where = pc.index_in(itime, pa.array(seconds)).to_numpy()
    sizes = pc.binary_length(events.column("_raw")).to_numpy()
    counts = np.bincount(where, minlength=len(seconds))
    sums = np.bincount(where, weights=sizes, minlength=len(seconds))
    per_day: dict[str, list[int]] = {}
    for d, n, b in zip(days.to_pylist(), counts.tolist(), sums.tolist()):
        if n:
            acc = per_day.setdefault(d, [0, 0])
            acc[0] += int(b)
            acc[1] += n
    return [{"day": d, **origin, "bytes_sum": b, "bytes_count": n} for d, (b, n) in per_day.items()]
