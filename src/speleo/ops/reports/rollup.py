"""Hourly rollups of per-bucket event counts for the reports (decision 0033).

`Rollup.bucket_counts(search, spl, start, end, span)` answers the same dict as
`speleo.ops.slo.service.bucket_counts` (bucket start -> event count, epoch seconds UTC) but reads
complete UTC hours from the `report_rollups` table of the operations database and searches only
the hours that are not summarised, or whose summary is stale, in one search per run of hours.

Staleness: each summarised hour stores a fingerprint of the storage that answered it (the caller's
`fingerprint(hour_starts) -> {hour start: str or None}`, e.g. the ids of the live buckets overlapping the hour).
Late data sealed into a new bucket, a merge, or retention removing a bucket changes the fingerprint,
and the hour is recomputed from events: the figures stay exact. Hours that are not complete at
`now` (and any hour whose fingerprint is None: events still unsealed) are never stored.
`span` must divide 3600.

Bounds: a summary read is marked used (`used_at`, at most once a day per row); `prune` deletes
the summaries nobody read for `UNUSED_SECS` (90 days: a quarterly report keeps its own), and the
server runs it every hour. A pruned hour is only searched again when someone asks for it.
"""

from __future__ import annotations

import hashlib
import json

from sqlalchemy import Float, String, Text, delete, func, or_, select, update
from sqlalchemy.orm import Mapped, mapped_column

from speleo.errors import InputError
from speleo.ops.db import Base

HOUR = 3600
UNUSED_SECS = 90 * 86400   # a summary nobody read for this long is pruned
USED_EVERY = 86400         # a summary read is marked used at most this often (a write per day, not per read)


class RollupRow(Base):
    """One summarised hour of one query: `counts` is JSON {bucket offset seconds: count}."""

    __tablename__ = "report_rollups"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    hour: Mapped[float] = mapped_column(Float, primary_key=True)
    fingerprint: Mapped[str] = mapped_column(Text, nullable=False)
    counts: Mapped[str] = mapped_column(Text, nullable=False)
    summarised_at: Mapped[float] = mapped_column(Float, nullable=False)
    used_at: Mapped[float | None] = mapped_column(Float, nullable=True)   # last read (None: not since written)


def query_key(spl: str, span: int, scope: str = "") -> str:
    """The summary key: the query, its span and the searcher's scope (a user limited to some
    indexes must never read the counts another user's search produced)."""
    return hashlib.sha256(f"{int(span)}\0{scope}\0{spl}".encode()).hexdigest()


class Rollup:
    """Summaries in `db` (speleo.ops.db.Database); `fingerprint(hours)` names the storage state
    of each hour [h, h + 3600) (None: not summarisable yet); `now()` the clock (epoch seconds); `scope` names
    what the searcher may read (part of the key)."""

    def __init__(self, db, fingerprint, now, scope: str = "") -> None:
        self.db, self.fingerprint, self.now, self.scope = db, fingerprint, now, scope
        self.searched_hours = 0   # hours answered from events by the last call (for tests/bench)

    def bucket_counts(self, search, spl: str, start: float, end: float, span: int) -> dict[float, int]:
        if span <= 0 or HOUR % int(span):
            raise InputError(f"rollup span {span}: give a bucket width that divides 3600 seconds")
        key = query_key(spl, span, self.scope)
        first = -(-start // HOUR) * HOUR            # first whole hour inside [start, end)
        last = min(end, self.now()) // HOUR * HOUR   # complete hours end here
        out: dict[float, int] = {}
        if last <= first:
            return self._search(search, spl, start, end, span)
        # the partial edges always come from events
        out.update(self._search(search, spl, start, first, span))
        out.update(self._search(search, spl, last, end, span))
        hours = [first + i * HOUR for i in range(int((last - first) // HOUR))]
        prints = self.fingerprint(hours)
        with self.db.session() as s:
            stored = {r.hour: r for r in s.scalars(select(RollupRow).where(
                RollupRow.key == key, RollupRow.hour >= first, RollupRow.hour < last))}
            todo = []
            for h in hours:
                r = stored.get(h)
                if r is not None and prints[h] is not None and r.fingerprint == prints[h]:
                    out.update({h + float(o): int(c) for o, c in json.loads(r.counts).items()})
                else:
                    todo.append(h)
            self.searched_hours = len(todo)
            self._mark_used(s, key, first, last)
            fresh = {}
            for lo, hi in _runs(todo):
                fresh.update(self._search(search, spl, lo, hi, span))
            out.update(fresh)
            for h in todo:
                if prints[h] is None:
                    continue
                counts = {str(int(b - h)): c for b, c in fresh.items() if h <= b < h + HOUR}
                s.execute(delete(RollupRow).where(RollupRow.key == key, RollupRow.hour == h))
                s.add(RollupRow(key=key, hour=h, fingerprint=prints[h], counts=json.dumps(counts),
                                summarised_at=self.now()))
        return out

    def hourly_items(self, name: str, compute, start: float, end: float, at: str = "_time") -> tuple[list[dict], bool]:
        """Items (JSON-able dicts, each with its epoch time under `at`) of [start, end): the complete
        UTC hours from their summaries when fresh, the rest from `compute(lo, hi) -> (items,
        complete)`, called once per run of hours to compute and once per partial edge. `name`
        names the computation (with the scope, the key): the same name must always compute the
        same items. Items of an incomplete computation (`complete` False: a row limit was hit) are
        returned but never stored. Returns (items in time order of their hours, complete).
        Used by the capacity and disk reports (decision 0033)."""
        key = query_key(name, HOUR, self.scope)
        first = -(-start // HOUR) * HOUR
        last = min(end, self.now()) // HOUR * HOUR
        if last <= first:
            return compute(start, end)
        items: list[dict] = []
        complete = True
        for lo, hi in ((start, first), (last, end)):
            if hi > lo:
                got, ok = compute(lo, hi)
                items += got
                complete = complete and ok
        hours = [first + i * HOUR for i in range(int((last - first) // HOUR))]
        prints = self.fingerprint(hours)
        with self.db.session() as s:
            stored = {r.hour: r for r in s.scalars(select(RollupRow).where(
                RollupRow.key == key, RollupRow.hour >= first, RollupRow.hour < last))}
            todo = []
            for h in hours:
                r = stored.get(h)
                if r is not None and prints[h] is not None and r.fingerprint == prints[h]:
                    items += json.loads(r.counts)
                else:
                    todo.append(h)
            self.searched_hours = len(todo)
            self._mark_used(s, key, first, last)
            for lo, hi in _runs(todo):
                got, ok = compute(lo, hi)
                items += got
                complete = complete and ok
                if not ok:
                    continue
                per_hour: dict[float, list[dict]] = {}
                for i in got:
                    per_hour.setdefault(float(i[at]) // HOUR * HOUR, []).append(i)
                for h in range(int(lo), int(hi), HOUR):
                    if prints[float(h)] is None:
                        continue
                    s.execute(delete(RollupRow).where(RollupRow.key == key, RollupRow.hour == float(h)))
                    s.add(RollupRow(key=key, hour=float(h), fingerprint=prints[float(h)],
                                    counts=json.dumps(per_hour.get(float(h), [])), summarised_at=self.now()))
        items.sort(key=lambda i: float(i[at]))
        return items, complete

    def _mark_used(self, s, key: str, first: float, last: float) -> None:
        """Mark the summaries of [first, last) read now (only those not marked within USED_EVERY)."""
        now = self.now()
        s.execute(update(RollupRow).where(
            RollupRow.key == key, RollupRow.hour >= first, RollupRow.hour < last,
            func.coalesce(RollupRow.used_at, RollupRow.summarised_at) < now - USED_EVERY).values(used_at=now))

    @staticmethod
    def _search(search, spl, lo, hi, span) -> dict[float, int]:
        if hi <= lo:
            return {}
        from speleo.ops.slo.service import bucket_counts
        return bucket_counts(search, spl, lo, hi, span)


def prune(db, now: float, unused_secs: float = UNUSED_SECS) -> int:
    """Delete the summaries not read (nor written) for `unused_secs` seconds before `now` (epoch
    seconds); returns how many were deleted. They are computed again from events if asked for."""
    with db.session() as s:
        res = s.execute(delete(RollupRow).where(or_(
            RollupRow.used_at < now - unused_secs,
            (RollupRow.used_at.is_(None)) & (RollupRow.summarised_at < now - unused_secs))))
        return int(res.rowcount or 0)


def _runs(hours: list[float]) -> list[tuple[float, float]]:
    runs: list[list[float]] = []
    for h in hours:
        if runs and runs[-1][1] == h:
            runs[-1][1] = h + HOUR
        else:
            runs.append([h, h + HOUR])
    return [(a, b) for a, b in runs]


def catalog_fingerprint(catalog):
    """A fingerprint function over a storage catalog (speleo.storage.catalog.Catalog): per hour,
    the ids of the live buckets whose [min_time, max_time] overlaps it, and the number and last
    time of the events `| delete` hid in it (two catalog reads a call). Only for the embedded
    store: on ClickHouse no bucket names the data (the reports then run without summaries)."""
    def fp(hours: list[float]) -> dict[float, str]:
        buckets = catalog.live_buckets()
        if hours:
            rows = catalog.query("SELECT CAST(event_time / 3600 AS INTEGER) * 3600, count(*), max(deleted_at) "
                                 "FROM deleted_events WHERE event_time >= ? AND event_time < ? GROUP BY 1",
                                 (min(hours), max(hours) + HOUR))
        else:
            rows = []
        deleted = {float(h): f";d{n}@{at!r}" for h, n, at in rows}
        return {h: ",".join(str(i) for i in sorted(b.id for b in buckets if b.min_time < h + HOUR and b.max_time >= h))
                + deleted.get(h, "") for h in hours}
    return fp
