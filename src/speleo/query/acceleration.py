"""Data model acceleration: per-bucket summaries that `tstats` reads instead of the events.

Splunk keeps an accelerated data model's summary as tsidx files beside each bucket, built by a
scheduled search and kept in step as buckets roll and age out (Splunk Knowledge Manager Manual:
"Accelerate data models"). Speleo's summary is a Parquet file per bucket and root dataset:

    <home>/summaries/<Model>/<Root>/<bucket id>-<model digest>.parquet

holding one row per event of the root dataset, with the columns of
`spl.commands.datamodel.summary_columns`: `_time`, `index`, `host`, `source`, `sourcetype`,
every field of the root and its descendants as `<Root>.<field>` (calculated fields computed),
and a boolean `__dm.<Child>` per descendant dataset (the event meets the child's constraints).
Any Parquet tool reads it. The model digest (`DataModel.digest`) in the name tells a summary
built from the current definition from an older one; `allow_old_summaries=t` reads either.

A tstats over an accelerated model (compiled with `CompiledSearch.summary` set) reads, per
bucket it plans: the bucket's summary when it has a current one, else the same rows computed
from the bucket's events by the acceleration search (`| datamodel <Model> <Root>
acceleration_search`), unless `summariesonly=t`, which reads summaries only (Search Reference:
tstats). Buckets of an index with `| delete` tombstones are always computed from their events,
which honour them.

The builder (`build`) runs in the server every `acceleration_check_secs` and from `speleo
datamodel summarize`: it summarizes the live buckets with events after the model's
`acceleration.earliest_time` that lack a current summary, removes the summaries of buckets that
no longer exist (merged away, frozen, deleted), of older definitions once the current one is
built, and of models whose acceleration is off. Each file is written beside its place, fsynced
and renamed in: a summary exists whole or not at all.
"""

from __future__ import annotations

import os
import re
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from speleo.config import Home, duckdb_config
from speleo.storage.catalog import BucketRow, Catalog

SUMMARIES = "summaries"
_NAME = re.compile(r"^(\d+)-([0-9a-f]{16})\.parquet$")


def folder(home: Home, model: str | None = None, root: str | None = None) -> Path:
    """`<home>/summaries[/<model>[/<root>]]`."""
    out = home.root / SUMMARIES
    if model is not None:
        out = out / model
    if root is not None:
        out = out / root
    return out


def listing(home: Home, model: str, root: str) -> dict[int, dict[str, Path]]:
    """The summaries of one root dataset: bucket id -> {model digest -> file}."""
    out: dict[int, dict[str, Path]] = {}
    try:
        entries = list(os.scandir(folder(home, model, root)))
    except FileNotFoundError:
        return out
    for e in entries:
        m = _NAME.match(e.name)
        if m:
            out.setdefault(int(m.group(1)), {})[m.group(2)] = Path(e.path)
    return out


def _pick(have: dict[str, Path] | None, digest: str, allow_old: bool, columns: list[str]) -> Path | None:
    """The summary to read: the current one, else (`allow_old`) the newest older one that holds
    every column the search reads (`columns`) (a model that gained a field or a child since: that
    bucket is computed from its events); None: compute the bucket from its events."""
    if not have:
        return None
    if digest in have:
        return have[digest]
    if not allow_old:
        return None
    import pyarrow.parquet as pq

    for path in sorted(have.values(), key=lambda p: p.stat().st_mtime if p.exists() else 0, reverse=True):
        try:
            names = set(pq.read_schema(path).names)
        except Exception:   # noqa: BLE001 - unreadable: not used
            continue
        if set(columns) <= names:
            return path
    return None


def events_relation(con: duckdb.DuckDBPyConnection, home: Home, p):
    """The `__events__` of a tstats over summaries (`p.compiled.summary`, a SummaryUse): the
    summaries of the planned buckets that have a usable one, and the acceleration search's rows
    computed from the events of the others (none with summariesonly=t), as one relation."""
    from speleo.query import engine

    use = p.compiled.summary
    have = listing(home, use.model, use.root)
    tombed = set() if p.deleted is None or p.deleted.num_rows == 0 else \
        set(p.deleted.column("index_name").to_pylist())
    files, raw, tombed_raw = [], [], []
    for b in p.buckets:
        if b.index_name in tombed:       # summary rows carry no event identity: deletes need the events
            tombed_raw.append(b)
            continue
        path = _pick(have.get(b.id), use.digest, use.allow_old, use.needed)
        if path is not None:
            files.append(str(path))
        else:
            raw.append(b)
    if use.summariesonly and tombed_raw:
        p.messages.append(f"summariesonly=t: {len(tombed_raw)} buckets of indexes with deleted events were read "
                          "from their events (deletes are honoured there, not in summaries)")
    p.summarized = (len(files), len(raw) + len(tombed_raw))
    parts = []
    if files:
        con.register("__dm_summaries__", con.read_parquet(files, union_by_name=True))
        parts.append("SELECT * FROM __dm_summaries__")
    raw_read = tombed_raw + ([] if use.summariesonly else raw)
    if raw_read:
        sub = engine.Plan(use.raw, raw_read, deleted=p.deleted)
        compiled = _specialized(use.raw, sub)
        con.register("__dm_raw_events__", engine._events_relation(con, home, sub))
        con.register("__dm_raw__", con.sql(compiled.sql))
        parts.append("SELECT * FROM __dm_raw__")
    if raw and use.summariesonly:
        p.messages.append(f"summariesonly=t: {len(raw)} of {len(p.buckets)} buckets have no summary of "
                          f"{use.model}.{use.root} yet and were not read")
    if not parts:
        import pyarrow as pa

        from speleo.spl.commands.datamodel import MEMBER

        return con.from_arrow(pa.table({c: pa.array([], pa.bool_() if c.startswith(MEMBER) else
                                                     pa.float64() if c == "_time" else pa.string())
                                        for c in use.columns}))
    return con.sql(" UNION ALL BY NAME ".join(parts))


def _specialized(raw, sub):
    """`engine.specialize(raw, sub)`, kept on `raw` (itself kept by raw_search) per set of bucket
    profiles: specializing the large acceleration search costs ~0.3 s."""
    from speleo.query import engine

    key = tuple(sorted({b.profile or "" for b in sub.buckets}))
    with _SPEC_LOCK:
        cache = raw.__dict__.setdefault("_speleo_specialized", {})
        hit = cache.get(key)
    if hit is None:
        hit = engine.specialize(raw, sub)
        with _SPEC_LOCK:
            if len(cache) >= 16:
                cache.clear()
            cache[key] = hit
    sub.compiled, sub.specialized = hit, True
    return hit


# --- building -------------------------------------------------------------------------------

@dataclass
class BuildReport:
    """What one `build` did: summaries written (with their events and bytes), removed, and the
    buckets that failed (bucket path -> error)."""

    built: int = 0
    events: int = 0
    bytes: int = 0
    removed: int = 0
    pending: int = 0
    failed: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0

    def as_dict(self) -> dict:
        return {"built": self.built, "events": self.events, "bytes": self.bytes, "removed": self.removed,
                "pending": self.pending, "failed": dict(self.failed), "seconds": round(self.seconds, 3)}


RETRY_SECS = 300.0   # a bucket or model whose summary failed is tried again after this long
_RETRY: dict[tuple, float] = {}   # (home, model, root, bucket id or None, digest) -> monotonic time to retry
_SPEC_LOCK = threading.Lock()


def earliest_bound(setting, now: float, tz) -> tuple[float, str | None]:
    """(epoch seconds UTC, problem): the start of what a model's summaries cover, from its
    acceleration.earliest_time (-inf when unset, or when it is not a relative time: then the
    problem says so)."""
    from speleo.spl.timemod import parse_relative_time

    if not setting.earliest_time:
        return float("-inf"), None
    try:
        return parse_relative_time(setting.earliest_time, now, tz), None
    except Exception as e:   # noqa: BLE001 - SplSyntaxError and friends: said, then all time
        return float("-inf"), (f"acceleration.earliest_time {setting.earliest_time!r} is not a relative time such "
                                f"as -1mon or -7d@d ({getattr(e, 'message', e)}); all time is summarized")


def wanted_buckets(catalog: Catalog, knowledge, model, now: float, tz) -> list[BucketRow]:
    """The live buckets a model's summaries cover: non-internal indexes, events after its
    acceleration.earliest_time (all time when unset)."""
    lo, _ = earliest_bound(knowledge.acceleration(model.name), now, tz)
    return [b for b in catalog.live_buckets() if not b.index_name.startswith("_") and b.max_time >= lo]


def build(home: Home, catalog: Catalog, *, props=None, knowledge=None, models: list[str] | None = None,
          now: float | None = None, limit: int | None = None, should_stop: Callable[[], bool] | None = None,
          progress: Callable[[int, int, str], None] | None = None, retry: bool = True) -> BuildReport:
    """Bring the summaries of the accelerated models (`models`: only those names) in step with
    the catalog: build the missing ones, newest buckets first (at most `limit` this call), remove
    the stale ones. `props`: the home's props (search-time extractions, as searches use);
    `knowledge`: by default the home's. `progress(done, total, what)` after each bucket.
    A model whose acceleration search does not compile, or a bucket whose summary fails, is
    reported in `failed` (keyed by model or bucket path) and, with `retry` (the server's loop),
    left alone for RETRY_SECS so that it cannot hold the others back; nothing else is touched."""
    from speleo.knowledge import load_cached
    from speleo.query import engine
    from speleo.query.timefmt import local_zone
    from speleo.spl.commands.datamodel import raw_search, summary_columns, summary_digest

    started = time.monotonic()
    report = BuildReport()
    knowledge = knowledge if knowledge is not None else load_cached(home.root)
    now = time.time() if now is None else now
    tz = local_zone(home.settings.default_tz)
    accelerated = [m for m in knowledge.accelerated() if models is None or m.name.lower() in {x.lower() for x in models}]
    report.removed += _remove_unaccelerated(home, knowledge) if models is None or not models else 0
    if not accelerated:
        report.seconds = time.monotonic() - started
        return report
    alive = {b.id for b in catalog.live_buckets()} | {b.id for b in catalog.retired_buckets()}
    todo: list[tuple] = []
    compiled_for: dict[tuple[str, str], object] = {}
    clock = time.monotonic()
    for model in accelerated:
        digest = summary_digest(model, knowledge, props)
        _, problem = earliest_bound(knowledge.acceleration(model.name), now, tz)
        if problem and not retry:   # the server's loop would say it every pass: `speleo datamodel list` shows it
            report.failed[f"datamodels.conf [{model.name}]"] = problem
        buckets = sorted(wanted_buckets(catalog, knowledge, model, now, tz), key=lambda b: b.max_time, reverse=True)
        for root in (d.name for d in model.roots()):
            if not (_PLAIN.match(model.name) and _PLAIN.match(root)):
                report.failed[f"data model {model.name}.{root}"] = (
                    "only models and root datasets named with letters, digits and '_' can be accelerated")
                continue
            have = listing(home, model.name, root)
            report.removed += _remove_gone(have, alive)
            report.removed += _remove_damaged(have, digest, summary_columns(model, root), report)
            missing = [b for b in buckets if digest not in have.get(b.id, {})]
            if not missing:
                continue
            report.pending += len(missing)
            model_key = (str(home.root), model.name, root, None, digest)
            if retry and _RETRY.get(model_key, 0) > clock:
                continue
            try:
                ctx = engine.context_for(tz_name=home.settings.default_tz, props=props, lookups_dir=home.lookups_dir,
                                         knowledge=knowledge)
                compiled_for[(model.name, root)] = raw_search(ctx, model.name, root)
            except Exception as e:   # noqa: BLE001 - a model that does not compile: said, the others go on
                report.failed[f"data model {model.name}.{root}"] = f"{type(e).__name__}: {getattr(e, 'message', e)}"
                _RETRY[model_key] = clock + RETRY_SECS
                continue
            todo += [(model, root, digest, b) for b in missing
                     if not (retry and _RETRY.get((str(home.root), model.name, root, b.id, digest), 0) > clock)]
    todo.sort(key=lambda t: t[3].max_time, reverse=True)
    if limit is not None:
        todo = todo[:limit]
    for i, (model, root, digest, b) in enumerate(todo):
        if should_stop is not None and should_stop():
            break
        try:
            rows, size = _build_one(home, compiled_for[(model.name, root)], model.name, root, digest, b)
        except Exception as e:   # noqa: BLE001 - a bucket merged away meanwhile, a full disk: later
            report.failed[b.path] = f"{type(e).__name__}: {e}"
            _RETRY[(str(home.root), model.name, root, b.id, digest)] = time.monotonic() + RETRY_SECS
        else:
            report.built += 1
            report.events += rows
            report.bytes += size
            report.pending -= 1
            for old_digest, old in listing(home, model.name, root).get(b.id, {}).items():
                if old_digest != digest:
                    old.unlink(missing_ok=True)
                    report.removed += 1
        if progress is not None:
            progress(i + 1, len(todo), f"{model.name}.{root}")
    if len(_RETRY) > 10_000:
        for k in [k for k, t in _RETRY.items() if t <= time.monotonic()]:
            _RETRY.pop(k, None)
    report.seconds = time.monotonic() - started
    return report


def _build_one(home: Home, compiled, model: str, root: str, digest: str, b: BucketRow) -> tuple[int, int]:
    """Write the summary of one bucket; returns (rows, bytes)."""
    from speleo.query import engine, udf

    p = engine.Plan(compiled, [b])
    c = engine.specialize(compiled, p)
    target = folder(home, model, root)
    target.mkdir(parents=True, exist_ok=True)
    final = target / f"{b.id}-{digest}.parquet"
    tmp = target / f".{b.id}-{digest}.{os.getpid()}.tmp"
    con = udf.connect(duckdb_config())
    try:
        con.register("__events__", engine._events_relation(con, home, p))
        con.sql(c.sql).write_parquet(str(tmp), compression="zstd")
        rows = con.execute("SELECT count(*) FROM read_parquet(?)", [str(tmp)]).fetchone()[0]
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    finally:
        con.close()
    fd = os.open(tmp, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, final)
    dfd = os.open(target, os.O_RDONLY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)
    return int(rows), final.stat().st_size


_PLAIN = re.compile(r"^\w+$")
_VERIFIED: dict[tuple, bool] = {}   # (path, size, mtime) of a summary whose footer and columns were checked


def _remove_damaged(have: dict[int, dict[str, Path]], digest: str, columns: list[str], report: BuildReport) -> int:
    """Check each current summary once (its Parquet footer reads, its columns are the summary's,
    its rows number its footer's count): one that does not (truncated on disk, replaced by hand)
    is removed, reported, and built again."""
    import pyarrow.parquet as pq

    removed = 0
    for bucket_id, files in have.items():
        path = files.get(digest)
        if path is None:
            continue
        try:
            st = path.stat()
        except OSError:
            continue
        key = (str(path), st.st_size, st.st_mtime_ns)
        if key in _VERIFIED:
            continue
        try:
            meta = pq.read_metadata(path)
            ok = meta.schema.to_arrow_schema().names == columns
            why = "its columns are not the summary's"
        except Exception as e:   # noqa: BLE001 - truncated, not Parquet
            ok, why = False, f"unreadable ({type(e).__name__}: {e})"
        if ok:
            if len(_VERIFIED) > 100_000:
                _VERIFIED.clear()
            _VERIFIED[key] = True
            continue
        path.unlink(missing_ok=True)
        files.pop(digest, None)
        report.failed[str(path)] = f"summary removed to be built again: {why}"
        removed += 1
    return removed


def _remove_gone(have: dict[int, dict[str, Path]], alive: set[int]) -> int:
    """Remove the summaries of buckets gone from the catalog (merged away and purged, frozen,
    deleted). Leftovers of interrupted writes go in `_remove_unaccelerated`."""
    n = 0
    for bucket_id, files in have.items():
        if bucket_id not in alive:
            for f in files.values():
                f.unlink(missing_ok=True)
                n += 1
    return n


def _remove_unaccelerated(home: Home, knowledge) -> int:
    """Remove the summaries of models whose acceleration is off or that no longer exist (as
    Splunk deletes a model's summaries when its acceleration is disabled)."""
    base = folder(home)
    if not base.is_dir():
        return 0
    on = {m.name for m in knowledge.accelerated()}
    n = 0
    for d in base.iterdir():
        if d.name in on:
            continue
        if d.is_symlink() or not d.is_dir():   # not Speleo's: the link goes, never what it points at
            d.unlink(missing_ok=True)
            continue
        n += sum(1 for _ in d.rglob("*.parquet"))
        shutil.rmtree(d, ignore_errors=True)
    for tmp in base.rglob(".*.tmp"):
        pid = tmp.name.rsplit(".", 2)[-2]
        if not pid.isdigit() or not _alive(int(pid)):
            tmp.unlink(missing_ok=True)
    return n


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def unaccelerated(compiled):
    """`compiled` itself, or, for a tstats compiled over summaries, the same search compiled
    to compute from the events (the ClickHouse backend, whose events are not in buckets here)."""
    if getattr(compiled, "summary", None) is None or compiled.ctx is None:
        return compiled
    import dataclasses

    from speleo import knowledge as kn
    from speleo.spl.compiler import compile_search

    k = compiled.ctx.knowledge if compiled.ctx.knowledge is not None else kn.shipped()
    plain = dataclasses.replace(k, accelerations={}, summaries_off="on ClickHouse tstats computes from the events "
                                "(acceleration summaries are kept by the embedded store)")
    text = getattr(compiled, "query_text", None) or ""
    out = compile_search(text, dataclasses.replace(compiled.ctx, knowledge=plain))
    out.query_text = text
    return out


def status(home: Home, catalog: Catalog | None, knowledge, model, props=None, now: float | None = None) -> dict:
    """A model's acceleration: {accelerated, earliest_time, allow_old_summaries, buckets (that
    summaries cover), summarized (buckets with a current summary of every root), events,
    summarized_events, summary_bytes, complete (0..1 of the events), problem (a bad
    earliest_time, else null)}. `catalog` None: no bucket yet; `props` as for `build` (a summary
    built under other props is not current)."""
    from speleo.query.timefmt import local_zone
    from speleo.spl.commands.datamodel import summary_digest

    setting = knowledge.acceleration(model.name)
    now = time.time() if now is None else now
    tz = local_zone(home.settings.default_tz)
    out = {"accelerated": setting.enabled, "earliest_time": setting.earliest_time,
           "allow_old_summaries": setting.allow_old_summaries, "buckets": 0, "summarized": 0, "events": 0,
           "summarized_events": 0, "summary_bytes": 0, "complete": 0.0,
           "problem": earliest_bound(setting, now, tz)[1] if setting.enabled else None}
    if not setting.enabled:
        return out
    buckets = [] if catalog is None else wanted_buckets(catalog, knowledge, model, now, tz)
    digest = summary_digest(model, knowledge, props)
    per_root = [listing(home, model.name, d.name) for d in model.roots()]
    for b in buckets:
        out["buckets"] += 1
        out["events"] += b.event_count
        files = [have.get(b.id, {}).get(digest) for have in per_root]
        if all(f is not None for f in files):
            out["summarized"] += 1
            out["summarized_events"] += b.event_count
            out["summary_bytes"] += sum(f.stat().st_size for f in files if f.exists())
    out["complete"] = round(out["summarized_events"] / out["events"], 4) if out["events"] else 1.0
    return out
