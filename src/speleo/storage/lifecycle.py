"""Bucket lifecycle: warm → cold → frozen (deleted or archived) → thawed, and the retention policy.

Splunk's model (Splunk indexes.conf.spec, checked with the project's search tool; spec section
3.3 of `../shared/docs/specs/splunk-features.md`):

- **Age** (`frozenTimePeriodInSecs`): a bucket freezes only when *every* event in it is older
  than `now - frozenTimePeriodInSecs`, i.e. on its newest event (`max_time`). One future-dated
  event keeps its bucket (`retention_status` says so).
- **Size** (`maxTotalDataSizeMB`, and a volume's `maxVolumeDataSizeMB` over all its indexes):
  hot + warm + cold buckets (never thawed ones) are frozen in ascending order of their newest
  event (ties: oldest earliest event, then bucket id) until the total fits.
- **Warm count** (`maxWarmDBCount`): the warm buckets whose newest event is oldest roll to
  `coldPath` until at most that many remain (0: every warm bucket rolls). Speleo's own
  `coldCompressionLevel` (default 15) rewrites the file at that zstd level on the way, row
  group for row group, so its term index stays valid (0: copied unchanged, as Splunk moves it).
- **Frozen**: without `coldToFrozenDir` the bucket is deleted; with it, the bucket's Parquet
  file and a `.json` description (with its sha256) are copied to the archive folder or
  S3-compatible store (`storage.archive`) first. Thawed buckets are never frozen automatically.

`plan_retention` is pure (bucket rows + settings + now → actions); `Lifecycle` carries actions
out. Every step is crash-safe: the new file is written (temp name, fsync, rename, fsync of the
folder) before ONE catalog transaction adds its row and retires the old one; the old file goes
after a grace period (`Store.collect_garbage`), and files no catalog row lists are deleted at
recovery (`Store.recover`). So a kill -9 at any point leaves every event in exactly one
searchable bucket; an interrupted archive is redone on the next run (same object name).

Tests inject a crash with `SPELEO_CRASH_AT=<step>` (the process exits at once, as kill -9
would, when it reaches that named step; see `crash_point`).
"""

from __future__ import annotations

import os
import shutil
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

import pyarrow as pa

from speleo.errors import InputError, NotFoundError
from speleo.storage import archive as archives
from speleo.storage import indexconf, lexicon
from speleo.storage.catalog import BucketRow
from speleo.storage.durable import fsync_dir, fsync_file

SEARCHABLE_STATES = ("hot", "warm", "cold", "thawed")
SIZED_STATES = ("hot", "warm", "cold")   # what maxTotalDataSizeMB counts (not thawed)


def crash_point(step: str) -> None:
    """Exit at once (status 137, no cleanup, as kill -9) when `$SPELEO_CRASH_AT` names `step`."""
    if os.environ.get("SPELEO_CRASH_AT") == step:
        os._exit(137)


# -- the policy (pure) --------------------------------------------------------------------

@dataclass(frozen=True)
class Action:
    """One step retention takes: `kind` "freeze" or "to_cold", on one bucket, with the reason
    (`age`, `max_total_size`, `volume_size`, `max_warm_count`)."""

    kind: str
    bucket_id: int
    index: str
    reason: str


def _oldest_first(buckets: Iterable[BucketRow]) -> list[BucketRow]:
    return sorted(buckets, key=lambda b: (b.max_time, b.min_time, b.id))


def plan_retention(buckets: list[BucketRow], settings: dict[str, indexconf.IndexSettings],
                   volumes: dict[str, indexconf.Volume], now: float) -> list[Action]:
    """What retention must do now. `buckets` are live catalog rows (any index), `settings` the
    effective settings by index name, `volumes` the storage volumes by name, `now` epoch seconds.

    Freezes by age first, then by each index's size cap, then by each volume's cap, then rolls
    surplus warm buckets to cold. A bucket appears at most once.
    """
    actions: list[Action] = []
    gone: set[int] = set()

    def freeze(b: BucketRow, reason: str) -> None:
        actions.append(Action("freeze", b.id, b.index_name, reason))
        gone.add(b.id)

    live = [b for b in buckets if b.state in SIZED_STATES and b.index_name in settings]
    for b in live:
        if b.max_time < now - settings[b.index_name].frozen_time_period_secs:
            freeze(b, "age")
    for name, conf in settings.items():
        _trim([b for b in live if b.index_name == name and b.id not in gone], conf.max_total_data_size_bytes,
              lambda b: freeze(b, "max_total_size"))
    for vol in volumes.values():
        if vol.max_size_bytes is None:
            continue
        members = [b for b in live if settings[b.index_name].volume == vol.name and b.id not in gone]
        _trim(members, vol.max_size_bytes, lambda b: freeze(b, "volume_size"))
    for name, conf in settings.items():
        warm = _oldest_first(b for b in live if b.index_name == name and b.state == "warm" and b.id not in gone)
        for b in warm[: max(0, len(warm) - conf.max_warm_db_count)]:
            actions.append(Action("to_cold", b.id, name, "max_warm_count"))
    return actions


def _trim(buckets: list[BucketRow], cap: int, take: Callable[[BucketRow], None]) -> None:
    total = sum(b.size_bytes for b in buckets)
    for b in _oldest_first(buckets):
        if total <= cap:
            return
        take(b)
        total -= b.size_bytes


def kept_by_future(b: BucketRow, conf: indexconf.IndexSettings, now: float) -> bool:
    """True when a bucket's oldest event is past the age limit but a newer (possibly
    future-dated) event keeps the whole bucket (Splunk freezes on the newest event)."""
    limit = now - conf.frozen_time_period_secs
    return b.min_time < limit <= b.max_time


def next_age_due(buckets: list[BucketRow], settings: dict[str, indexconf.IndexSettings]) -> float:
    """The earliest time at which some bucket will be past its index's age limit (inf: none)."""
    due = [b.max_time + settings[b.index_name].frozen_time_period_secs
           for b in buckets if b.state in SIZED_STATES and b.index_name in settings]
    return min(due, default=float("inf"))


# -- carrying actions out -------------------------------------------------------------------

@dataclass
class RunReport:
    """What a retention run did: actions taken, and failures kept for the next run."""

    actions: list[dict] = field(default_factory=list)
    failures: list[dict] = field(default_factory=list)


class Lifecycle:
    """Carries out lifecycle steps for the writer of one home.

    `store` is the writer's `storage.store.Store` (its merge lock keeps merges and lifecycle
    steps apart), `emit(event, fields)` records a lifecycle event (the server and the CLI send
    them to `_internal`), `clock` gives now.
    """

    def __init__(self, store, emit: Callable[[str, dict], None] | None = None, clock=None) -> None:
        self.store = store
        self.home = store.home
        self.catalog = store.catalog
        self.emit = emit or (lambda event, fields: None)
        self.clock = clock

    def locked(self, fn):
        """Run `fn()` with merges and other lifecycle steps kept out (deleting an index)."""
        with self.store._merge_lock:
            return fn()

    def _now(self) -> float:
        return self.clock.time() if self.clock is not None else time.time()

    # -- retention -------------------------------------------------------------------------
    def run_retention(self, now: float | None = None) -> RunReport:
        """Evaluate the policy at `now` (default: the clock) and carry it out. A step that fails
        (an object store refusing) is reported and retried on the next run; the rest go on.

        The plan is made under the store's merge lock; each freeze runs under it too, and a roll
        to cold takes it only for its catalog commit (its rewrite, seconds of CPU, lets seals and
        merges go on). A bucket a merge, a purge or another run retired meanwhile is skipped."""
        now = self._now() if now is None else now
        report = RunReport()
        with self.store._merge_lock:
            settings = indexconf.load_all(self.home, self.catalog)
            plan = plan_retention(self.catalog.live_buckets(), settings, indexconf.volumes(self.catalog), now)
            rows = {b.id: b for b in self.catalog.live_buckets()}
        for act in plan:
            b, conf = rows[act.bucket_id], settings[act.index]
            try:
                if act.kind == "freeze":
                    with self.store._merge_lock:
                        done = self._freeze(b, conf, act.reason) if self._live(b.id) else None
                else:
                    done = self._to_cold(b, conf, act.reason)
                if done is not None:
                    report.actions.append(done)
            except Exception as e:   # noqa: BLE001 (kept and retried: the bucket stays where it is)
                if not self._live(b.id):
                    continue   # retired meanwhile (its file may have gone with it): nothing left to do
                fail = {"bucket": b.id, "idx": b.index_name, "action": act.kind, "reason": act.reason,
                        "error": f"{type(e).__name__}: {e}"}
                report.failures.append(fail)
                self.emit("lifecycle_failed", fail)
        return report

    def _live(self, bucket_id: int) -> bool:
        return bool(self.catalog.query("SELECT 1 FROM buckets WHERE id = ? AND retired_at IS NULL", (bucket_id,)))

    def _to_cold(self, b: BucketRow, conf: indexconf.IndexSettings, reason: str) -> dict | None:
        """Rewrite a warm bucket into `coldPath` at the index's `coldCompressionLevel` (0: copy
        it), with its term index sidecar, then one transaction swaps the catalog rows.

        The rewrite keeps every row group as it is (`rewrite_durably`), so the sidecar's
        per-row-group postings and the catalog's per-row-group Bloom filters stay true: the
        sidecar is carried over with its header naming the new file's size. It runs without the
        merge lock; the commit adds the cold row only while the warm one is still live, else the
        new files are dropped and None is returned (a merge or purge took the bucket meanwhile).
        A crash before the commit leaves files no row lists, deleted at recovery; a failure
        before it (disk full) removes them at once (each retry writes under a new name)."""
        src = self.home.root / b.path
        dest = conf.cold_path / f"cold_{int(b.min_time)}_{int(b.max_time)}_{uuid.uuid4().hex[:12]}.parquet"
        t0 = time.monotonic()
        try:
            if conf.cold_compression_level:
                rewrite_durably(src, dest, conf.cold_compression_level)
            else:
                copy_durably(src, dest)
            carry_sidecar(src, dest)   # else the term index is rebuilt later (Store.build_missing_sidecars)
        except BaseException:
            _drop(dest)
            raise
        secs = time.monotonic() - t0
        crash_point("cold.copied")
        with self.store._merge_lock:
            new_id = self._replace_row(b, "cold", dest)
        if new_id is None:
            _drop(dest)
            return None
        crash_point("cold.committed")
        fields = {"idx": b.index_name, "bucket": b.id, "new_bucket": new_id, "from": b.state, "to": "cold",
                  "reason": reason, "path": str(dest), "size_bytes": b.size_bytes,
                  "cold_size_bytes": dest.stat().st_size, "zstd_level": conf.cold_compression_level,
                  "secs": round(secs, 3)}
        self.emit("rolled", fields)
        return {"action": "rolled", **fields}

    def _replace_row(self, b: BucketRow, state: str, path: Path) -> int | None:
        """Add the row of `path` (a copy of bucket `b` in `state`) and retire `b`'s, in one
        transaction; None (nothing changed) when `b` is no longer live."""
        from speleo.storage.store import catalog_path

        now = self._now()
        with self.catalog.transaction() as con:
            cur = con.execute(
                "INSERT INTO buckets(index_name, state, path, min_time, max_time, event_count, raw_bytes,"
                " size_bytes, bloom, journal_seq, created, profile) SELECT index_name, ?, ?, min_time, max_time,"
                " event_count, raw_bytes, ?, bloom, journal_seq, ?, profile FROM buckets WHERE id = ?"
                " AND retired_at IS NULL",
                (state, catalog_path(self.home, path), path.stat().st_size, now, b.id),
            )
            if cur.rowcount != 1:
                return None
            con.execute("UPDATE buckets SET retired_at = ? WHERE id = ?", (now, b.id))
            return int(cur.lastrowid)

    def _freeze(self, b: BucketRow, conf: indexconf.IndexSettings, reason: str) -> dict:
        fields = {"idx": b.index_name, "bucket": b.id, "from": b.state, "reason": reason,
                  "earliest": b.min_time, "latest": b.max_time, "events": b.event_count, "size_bytes": b.size_bytes}
        if conf.cold_to_frozen_dir:
            target = archives.target_for(conf.cold_to_frozen_dir)
            loc, digest = target.put(self.home.root / b.path, b)
            crash_point("archive.uploaded")
            with self.catalog.transaction() as con:
                con.execute(
                    "INSERT INTO archives(index_name, location, min_time, max_time, event_count, raw_bytes,"
                    " size_bytes, sha256, profile, archived_at, bloom) SELECT ?,?,?,?,?,?,?,?,?,?, bloom FROM buckets"
                    " WHERE id = ? ON CONFLICT(location) DO UPDATE SET archived_at = excluded.archived_at,"
                    " sha256 = excluded.sha256, bloom = excluded.bloom",
                    (b.index_name, loc, b.min_time, b.max_time, b.event_count, b.raw_bytes, b.size_bytes, digest,
                     b.profile, self._now(), b.id),
                )
                con.execute("UPDATE buckets SET retired_at = ? WHERE id = ?", (self._now(), b.id))
            crash_point("archive.committed")
            fields["archive"] = loc
            self.emit("archived", fields)
            return {"action": "archived", **fields}
        event = "deleted"
        if conf.cold_to_frozen_script:
            run_frozen_script(conf.cold_to_frozen_script, self.home.root / b.path)
            fields["script"] = conf.cold_to_frozen_script
            event = "frozen"
        with self.catalog.transaction() as con:
            con.execute("UPDATE buckets SET retired_at = ? WHERE id = ?", (self._now(), b.id))
        self.emit(event, fields)
        return {"action": event, **fields}

    # -- thaw ------------------------------------------------------------------------------
    def thaw(self, index: str, earliest: float | None, latest: float | None) -> list[dict]:
        """Bring the archived buckets of `index` overlapping [earliest, latest) back as
        searchable *thawed* buckets in `thawedPath` (checksum verified, term index rebuilt).
        Archives already thawed are skipped. Raises NotFoundError when nothing archived overlaps."""
        conf = indexconf.load(self.home, self.catalog, index)
        rows = archived(self.catalog, index, earliest, latest)
        if not rows:
            raise NotFoundError(f"index '{index}' has no archived bucket between {_when(earliest)} and {_when(latest)}"
                                " (see 'speleo index show' for its archives)")
        thawed_from = {r[0] for r in self.catalog.query(
            "SELECT archive_id FROM buckets WHERE index_name = ? AND state = 'thawed' AND retired_at IS NULL", (index,))}
        out = []
        with self.store._merge_lock:
            for a in rows:
                if a["id"] in thawed_from:
                    continue
                out.append(self._thaw_one(conf, a))
        return out

    def _thaw_one(self, conf: indexconf.IndexSettings, a: dict) -> dict:
        from speleo.storage import termindex
        from speleo.storage.store import catalog_path

        dest = conf.thawed_path / f"thawed_{int(a['min_time'])}_{int(a['max_time'])}_{uuid.uuid4().hex[:12]}.parquet"
        dest.parent.mkdir(parents=True, exist_ok=True)
        archives.target_for_location(a["location"]).get(a["location"], dest, a["sha256"])
        bloom = self.catalog.query("SELECT bloom FROM archives WHERE id = ?", (a["id"],))[0][0]
        if bloom is None:   # archived from a hot bucket (no term index yet): build one
            bloom = termindex.build_for_file(self.store._duck, dest)
        with self.catalog.transaction() as con:
            cur = con.execute(
                "INSERT INTO buckets(index_name, state, path, min_time, max_time, event_count, raw_bytes, size_bytes,"
                " bloom, archive_id, created, profile) VALUES (?, 'thawed', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (conf.name, catalog_path(self.home, dest), a["min_time"], a["max_time"], a["event_count"],
                 a["raw_bytes"], dest.stat().st_size, bloom, a["id"], self._now(), a["profile"]),
            )
        fields = {"idx": conf.name, "bucket": int(cur.lastrowid), "archive": a["location"], "reason": "thaw",
                  "earliest": a["min_time"], "latest": a["max_time"], "events": a["event_count"]}
        self.emit("thawed", fields)
        return fields

    def unthaw(self, index: str, earliest: float | None = None, latest: float | None = None) -> list[dict]:
        """Let thawed buckets of `index` (overlapping the range; default all) go again: they
        leave searches at once; their files are deleted (the archive keeps its copy)."""
        lo = float("-inf") if earliest is None else earliest
        hi = float("inf") if latest is None else latest
        rows = [b for b in self.catalog.live_buckets([index]) if b.state == "thawed" and b.max_time >= lo and b.min_time < hi]
        now = self._now()
        with self.catalog.transaction() as con:
            con.executemany("UPDATE buckets SET retired_at = ? WHERE id = ?", [(now, b.id) for b in rows])
        out = []
        for b in rows:
            fields = {"idx": index, "bucket": b.id, "reason": "unthaw", "events": b.event_count}
            self.emit("deleted", fields)
            out.append(fields)
        return out


def run_frozen_script(script: str, path: Path, timeout_secs: float = 3600.0) -> None:
    """Splunk's `coldToFrozenScript`: `<interpreter> <script>` with the bucket's file as last
    argument (or in place of `$DIR`); exit 0 means the script has taken the bucket (Speleo then
    deletes it), anything else keeps the bucket for the next run. Raises StorageError."""
    import shlex
    import subprocess

    from speleo.errors import StorageError

    argv = shlex.split(script)
    argv = [str(path) if a == "$DIR" else a for a in argv] if "$DIR" in argv else [*argv, str(path)]
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout_secs)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise StorageError(f"coldToFrozenScript {script!r} could not run on {path.name}: {e}") from e
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or [""]
        raise StorageError(f"coldToFrozenScript {script!r} exited {proc.returncode} on {path.name}: {tail[0][:300]}; "
                           "the bucket is kept and retried")


def archived(catalog, index: str, earliest: float | None = None, latest: float | None = None) -> list[dict]:
    """Archive records of an index overlapping [earliest, latest) (None: unbounded), oldest first."""
    keys = ("id", "location", "min_time", "max_time", "event_count", "raw_bytes", "size_bytes", "sha256", "profile",
            "archived_at")
    rows = catalog.query(f"SELECT {', '.join(keys)} FROM archives WHERE index_name = ? ORDER BY max_time, id", (index,))
    lo = float("-inf") if earliest is None else earliest
    hi = float("inf") if latest is None else latest
    return [d for d in (dict(zip(keys, r)) for r in rows) if d["max_time"] >= lo and d["min_time"] < hi]


def rewrite_durably(src: Path, dest: Path, level: int) -> None:
    """Rewrite the Parquet bucket `src` as `dest` with every column at zstd `level` (the warm
    encodings otherwise: `store.cold_parquet_opts`), one row group at a time and row group for
    row group (same rows in each, same order), durably: temp name, fsync, rename, fsync of the
    folder. Memory: one row group. When the written file's row groups differ from the source's
    anyway (a row group with no rows), the file is copied unchanged instead. Raises StorageError
    naming the file when it cannot be read or written."""
    import pyarrow.parquet as pq

    from speleo.errors import StorageError
    from speleo.storage.store import cold_parquet_opts

    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + ".tmp")
    try:
        pf = pq.ParquetFile(src)
        schema = pf.schema_arrow
        groups = [pf.metadata.row_group(i).num_rows for i in range(pf.metadata.num_row_groups)]
        with pq.ParquetWriter(tmp, schema, **cold_parquet_opts(level, schema.names)) as writer:
            for i in range(len(groups)):
                table = pf.read_row_group(i)
                writer.write_table(table, row_group_size=max(1, table.num_rows))
                if i == len(groups) // 2:
                    crash_point("cold.rewriting")   # tests: a kill -9 in the middle of the rewrite
        md = pq.ParquetFile(tmp).metadata
        same = [md.row_group(i).num_rows for i in range(md.num_row_groups)] == groups
    except (OSError, ValueError, pa.ArrowException) as e:
        tmp.unlink(missing_ok=True)
        hint = "" if isinstance(e, OSError) else ("; set the index's coldCompressionLevel to 0 to copy buckets to "
                                                   "cold unchanged")
        raise StorageError(f"could not rewrite bucket {src.name} into {dest.parent} at zstd level {level}: "
                           f"{e}{hint}") from e
    if not same:
        tmp.unlink(missing_ok=True)
        copy_durably(src, dest)
        return
    fsync_file(tmp)
    os.replace(tmp, dest)
    fsync_dir(dest.parent)


def carry_sidecar(src: Path, dest: Path) -> bool:
    """Give `dest` (a rewrite or copy of bucket `src`, same row groups) the term index sidecar of
    `src`, its header naming `dest`'s size. False when `src` has no sidecar that loads (none, or
    corrupt: `Store.build_missing_sidecars` builds one for `dest` later) or when its row groups
    are not `dest`'s."""
    import pyarrow.parquet as pq

    try:
        lex = lexicon.load(src)
    except lexicon.CorruptSidecar:
        return False
    if lex is None:
        return False
    md = pq.ParquetFile(dest).metadata
    if [md.row_group(i).num_rows for i in range(md.num_row_groups)] != list(lex.header["groups"]):
        return False
    lexicon.write(dest, lexicon.retarget(lex.blob, dest.stat().st_size))
    return True


def _drop(bucket: Path) -> None:
    """Delete a bucket file no catalog row lists yet, its temp file and its sidecar."""
    bucket.unlink(missing_ok=True)
    bucket.with_name(bucket.name + ".tmp").unlink(missing_ok=True)
    lexicon.remove(bucket)


def copy_durably(src: Path, dest: Path) -> None:
    """Copy a file to `dest` (temp name, fsync, rename, fsync of the folder)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + ".tmp")
    shutil.copyfile(src, tmp)
    fsync_file(tmp)
    os.replace(tmp, dest)
    fsync_dir(dest.parent)


def file_bytes(home, b: BucketRow) -> int | None:
    """A bucket's size measured on the file system (None: the file is missing)."""
    try:
        return (home.root / b.path).stat().st_size
    except FileNotFoundError:
        return None


def _when(ts: float | None) -> str:
    if ts is None:
        return "any time"
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def check_range(earliest: float | None, latest: float | None) -> None:
    if earliest is not None and latest is not None and latest <= earliest:
        raise InputError(f"--latest ({_when(latest)}) must come after --earliest ({_when(earliest)})")


class RetentionSchedule:
    """When the server's retention loop must evaluate the policy again (idle cost near zero).

    It re-plans only when the catalog changed (a bucket or a setting: `signature`) or when the
    earliest age deadline (`next_age_due`) has passed; otherwise a check is one small catalog
    query. Splunk re-checks every `rotatePeriodInSecs` (60 s); so does the loop.
    """

    def __init__(self) -> None:
        self.last_signature: tuple | None = None
        self.next_due = float("-inf")

    @staticmethod
    def signature(catalog) -> tuple:
        """A cheap fingerprint of what retention depends on: live buckets and index settings."""
        b = catalog.query("SELECT count(*), coalesce(max(id), 0), coalesce(sum(size_bytes), 0) FROM buckets "
                          "WHERE retired_at IS NULL")[0]
        cols = ", ".join(indexconf.COLUMNS)
        conf = catalog.query(f"SELECT name, {cols} FROM indexes ORDER BY name")
        vols = catalog.query("SELECT name, max_size_bytes FROM storage_volumes ORDER BY name")
        return (tuple(b), hash(tuple(conf)), hash(tuple(vols)))

    def due(self, signature: tuple, now: float) -> bool:
        """True when a run is needed: something changed, or an age deadline passed."""
        return signature != self.last_signature or now >= self.next_due

    def ran(self, signature: tuple, next_due: float) -> None:
        """Record a run: the catalog as it was after it, and the next age deadline."""
        self.last_signature = signature
        self.next_due = next_due


def retention_tick(lc: Lifecycle, schedule: RetentionSchedule, now: float) -> RunReport | None:
    """One pass of the server's retention loop: run when `schedule` says so; None when skipped.
    Failed steps keep the schedule due, so they are retried on the next pass."""
    if not schedule.due(RetentionSchedule.signature(lc.catalog), now):
        return None
    report = lc.run_retention(now)
    settings = indexconf.load_all(lc.home, lc.catalog)
    due = next_age_due(lc.catalog.live_buckets(), settings)
    schedule.ran(RetentionSchedule.signature(lc.catalog), now if report.failures else due)
    return report
