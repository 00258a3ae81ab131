"""The licence record: raw bytes indexed per day, as Splunk's `license_usage.log` records them.

Source: Splunk's license_usage.log and server.conf `[license] squash_threshold` (checked with the
project's search tool; spec section 3.5 of `../shared/docs/specs/splunk-features.md`).

- **What counts**: the UTF-8 byte length of `_raw` of every event indexed after ingest-time
  filtering, except events of internal indexes (names starting with `_`) and summary data
  (`sourcetype=stash`). Metered at seal time into the catalog's `volume` table
  (`storage.store.record_volume`), per licence day (midnight to midnight in the server's zone,
  `Settings.default_tz`, else the machine's), index, sourcetype, host and source.
- **Usage events**: the server writes, every `report_interval` (60 s, Splunk's default), one
  `_internal` event per (s, st, h, idx) with the bytes indexed since the last report:
  `... INFO LicenseUsage - type="Usage", s="...", st="...", h="...", o="", idx="...", i="<home id>",
  pool="auto_generated_pool_speleo", b="2034451", poolsz="<budget or 0>"` (source
  `license_usage.log`, sourcetype `splunkd`). Past `squash_threshold` (2000) distinct tuples in
  one report, `s` and `h` are squashed to empty and bytes are summed per (st, idx), as Splunk does.
  What was reported is recorded atomically with the Usage events themselves (journal record
  metadata applied at seal), so a crash never reports bytes twice nor loses them.
- **RolloverSummary**: once a licence day is over, one `type="RolloverSummary"` event per index
  with the day's bytes (`day`, `idx` as Speleo's extension, `b`, `poolsz`), also exactly once.
- **Budget**: `license budget set 500MB` stores a daily quota; a day over it gets one warning
  (a row of `license_warnings` and an `_internal` event `type="QuotaExceeded"` an alert can fire
  on). Indexing never stops (Splunk "no-enforcement"; enforcement is not implemented).
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from zoneinfo import ZoneInfo

SQUASH_THRESHOLD = 2000
POOL = "auto_generated_pool_speleo"
NOT_METERED_SQL = "(index_name LIKE '\\_%' ESCAPE '\\' OR sourcetype = 'stash')"
DIMENSIONS = {"index": "index_name", "sourcetype": "sourcetype", "host": "host", "source": "source"}

def license_day(ts: float, tz_name: str | None) -> str:
    """The licence day (YYYY-MM-DD) of an epoch in the server's zone (None: the machine's)."""
    zone = ZoneInfo(tz_name) if tz_name else None
    return dt.datetime.fromtimestamp(ts, zone).strftime("%Y-%m-%d")


def unreported(catalog) -> list[dict]:
    """Metered bytes not yet in a Usage event: (day, idx, st, h, s, b) with b > 0."""
    rows = catalog.query(
        "SELECT v.day, v.index_name, v.sourcetype, v.host, v.source, v.bytes - coalesce(r.bytes, 0) FROM volume v "
        "LEFT JOIN license_reported r USING (day, index_name, sourcetype, host, source) "
        f"WHERE NOT {NOT_METERED_SQL} "
        "AND v.bytes > coalesce(r.bytes, 0) ORDER BY v.day, v.index_name, v.sourcetype, v.host, v.source")
    keys = ("day", "idx", "st", "h", "s", "b")
    return [dict(zip(keys, r)) for r in rows]


def usage_events(rows: list[dict], home_id: str, quota: int, threshold: int = SQUASH_THRESHOLD) -> list[dict]:
    """The fields of Usage events for unreported rows, squashed past `threshold` tuples
    (Splunk: `s` and `h` become empty, bytes summed per (st, idx))."""
    if len(rows) > threshold:
        merged: dict[tuple, int] = {}
        for r in rows:
            merged[(r["st"], r["idx"])] = merged.get((r["st"], r["idx"]), 0) + r["b"]
        pairs = [({"s": "", "st": st, "h": "", "idx": idx}, b) for (st, idx), b in sorted(merged.items())]
    else:
        pairs = [({"s": r["s"], "st": r["st"], "h": r["h"], "idx": r["idx"]}, r["b"]) for r in rows]
    return [{"type": "Usage", **who, "o": "", "i": home_id, "pool": POOL, "b": b, "poolsz": quota} for who, b in pairs]


def report(store, catalog, home_id: str, emit_many, threshold: int = SQUASH_THRESHOLD, today: str | None = None) -> int:
    """Write Usage events for every unreported byte, and RolloverSummary events for finished
    days (when `today` is given); returns how many events.

    `emit_many(rows, meta)` journals the events with `meta` (the reported bytes, applied at seal
    in the same transaction as the events' bucket: `apply_reported`); the store is sealed at
    once, so the next report sees them as reported."""
    rows = unreported(catalog)
    events = usage_events(rows, home_id, budget(catalog) or 0, threshold) if rows else []
    meta: dict = {"license_reported": [[r["day"], r["idx"], r["st"], r["h"], r["s"], r["b"]] for r in rows]}
    if today is not None:
        summaries, last = rollover_summaries(catalog, today, home_id)
        events += summaries
        if last:
            meta["license_rollover"] = last
    if not events:
        return 0
    emit_many(events, meta)
    store.seal()
    return len(events)


def rollover_summaries(catalog, today: str, home_id: str) -> tuple[list[dict], str | None]:
    """`type=RolloverSummary` events for the licence days before `today` not yet summarized (one
    per day and index, `b` the day's bytes, `idx` as Speleo's extension), and the last such day."""
    rows = catalog.query("SELECT value FROM meta WHERE key = 'license_rollover_day'")
    last = rows[0][0] if rows else ""
    days = catalog.query(
        f"SELECT day, index_name, sum(bytes) FROM volume WHERE day > ? AND day < ? AND NOT {NOT_METERED_SQL} "
        "GROUP BY day, index_name ORDER BY day, index_name", (last, today))
    quota = budget(catalog) or 0
    events = [{"type": "RolloverSummary", "day": d, "idx": idx, "b": int(b), "i": home_id, "pool": POOL,
               "poolsz": quota} for d, idx, b in days]
    return events, (days[-1][0] if days else None)


def apply_rollover(con, day: str) -> None:
    """Record the last summarized licence day (from a journal record's metadata, at seal)."""
    con.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('license_rollover_day', ?)", (day,))


def apply_reported(con, items: list) -> None:
    """Add reported bytes (from a journal record's metadata) inside the seal's transaction."""
    con.executemany(
        "INSERT INTO license_reported(day, index_name, sourcetype, host, source, bytes) VALUES (?,?,?,?,?,?) "
        "ON CONFLICT(day, index_name, sourcetype, host, source) DO UPDATE SET bytes = bytes + excluded.bytes",
        [tuple(i) for i in items])


def home_id(catalog) -> str:
    """A stable id of this home (Splunk's indexer GUID `i`), made on first use."""
    rows = catalog.query("SELECT value FROM meta WHERE key = 'home_id'")
    if rows:
        return rows[0][0]
    with catalog.transaction() as con:
        con.execute("INSERT OR IGNORE INTO meta(key, value) VALUES ('home_id', ?)", (str(uuid.uuid4()).upper(),))
    return catalog.query("SELECT value FROM meta WHERE key = 'home_id'")[0][0]


def budget(catalog) -> int | None:
    """The daily budget in bytes, or None."""
    rows = catalog.query("SELECT value FROM meta WHERE key = 'license_budget_bytes'")
    return int(rows[0][0]) if rows else None


def set_budget(catalog, size_bytes: int | None) -> None:
    """Set (or with None clear) the daily budget in bytes."""
    with catalog.transaction() as con:
        if size_bytes is None:
            con.execute("DELETE FROM meta WHERE key = 'license_budget_bytes'")
        else:
            con.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('license_budget_bytes', ?)", (str(size_bytes),))


def day_total(catalog, day: str) -> int:
    """Metered bytes of one licence day (internal indexes and stash excluded)."""
    return int(catalog.query(f"SELECT coalesce(sum(bytes), 0) FROM volume WHERE day = ? AND NOT {NOT_METERED_SQL}",
                             (day,))[0][0])


def check_budget(catalog, day: str, now: float | None = None) -> dict | None:
    """Record a warning when `day` is over the budget (once per day); returns the new warning or None."""
    quota = budget(catalog)
    used = day_total(catalog, day)
    if quota is None or used <= quota:
        return None
    with catalog.transaction() as con:
        cur = con.execute("INSERT OR IGNORE INTO license_warnings(day, bytes, quota, at) VALUES (?, ?, ?, ?)",
                          (day, used, quota, time.time() if now is None else now))
    return {"type": "QuotaExceeded", "day": day, "b": used, "poolsz": quota} if cur.rowcount else None


def status(catalog, today: str) -> dict:
    """Today's metered bytes, the budget, whether it is exceeded, warnings of the last 30 days."""
    quota, used = budget(catalog), day_total(catalog, today)
    since = (dt.date.fromisoformat(today) - dt.timedelta(days=29)).isoformat()
    warnings = [r[0] for r in catalog.query("SELECT day FROM license_warnings WHERE day >= ? ORDER BY day", (since,))]
    return {"day": today, "bytes": used, "budget_bytes": quota, "exceeded": quota is not None and used > quota,
            "warnings_30d": warnings, "filtered_bytes": sum(f["bytes"] for f in filtered(catalog, today))}


def filtered(catalog, day: str) -> list[dict]:
    """Events and raw bytes ingest filters dropped on a licence day, per transform and index (not metered)."""
    rows = catalog.query("SELECT transform, index_name, events, bytes FROM filtered_volume WHERE day = ? "
                         "ORDER BY bytes DESC", (day,))
    return [{"transform": t, "index": i, "events": n, "bytes": b} for t, i, n, b in rows]


def usage(catalog, by: str, days: int, today: str) -> list[dict]:
    """Metered bytes per day and per `by` (index, sourcetype, host or source) over the last `days` days."""
    col = DIMENSIONS[by]   # a fixed column name, never user text
    since = (dt.date.fromisoformat(today) - dt.timedelta(days=days - 1)).isoformat()
    rows = catalog.query(
        f"SELECT day, {col}, sum(bytes), sum(events) FROM volume WHERE day >= ? AND day <= ? AND NOT {NOT_METERED_SQL} "
        f"GROUP BY day, {col} ORDER BY day, {col}", (since, today))
    return [{"day": d, by: v, "bytes": int(b), "events": int(n)} for d, v, b, n in rows]
