"""The catalog: one SQLite database listing indexes, buckets, inputs, checkpoints and problems.

SQLite in WAL mode with `synchronous=FULL`, so a committed transaction survives power
loss, and readers in other processes (a CLI search beside the server) never block the writer.
Every statement takes its values as parameters; no user text is ever pasted into SQL.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator

SCHEMA_VERSION = 1

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS indexes (
    name TEXT PRIMARY KEY,
    created REAL NOT NULL,
    max_age_secs REAL,
    max_size_bytes INTEGER
);
CREATE TABLE IF NOT EXISTS buckets (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    index_name TEXT NOT NULL,
    state TEXT NOT NULL,
    path TEXT NOT NULL,
    min_time REAL NOT NULL,
    max_time REAL NOT NULL,
    event_count INTEGER NOT NULL,
    raw_bytes INTEGER NOT NULL,
    size_bytes INTEGER NOT NULL,
    bloom BLOB,
    journal_seq INTEGER,
    created REAL NOT NULL,
    retired_at REAL,
    profile TEXT
);
CREATE INDEX IF NOT EXISTS buckets_by_index ON buckets(index_name, state, min_time, max_time);
CREATE TABLE IF NOT EXISTS sealed_segments (seq INTEGER PRIMARY KEY, sealed_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS checkpoints (
    fingerprint TEXT PRIMARY KEY,
    path TEXT NOT NULL,
    offset INTEGER NOT NULL,
    input_id INTEGER,
    updated REAL NOT NULL,
    ident TEXT
);
CREATE TABLE IF NOT EXISTS inputs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    path TEXT NOT NULL,
    index_name TEXT NOT NULL,
    sourcetype TEXT,
    host TEXT,
    whitelist TEXT,
    blacklist TEXT,
    created REAL NOT NULL,
    disabled INTEGER NOT NULL DEFAULT 0,
    head_bytes INTEGER,
    UNIQUE(kind, path, index_name)
);
CREATE TABLE IF NOT EXISTS oneshots (
    sha256 TEXT NOT NULL,
    index_name TEXT NOT NULL,
    path TEXT NOT NULL,
    events INTEGER NOT NULL,
    added REAL NOT NULL,
    PRIMARY KEY (sha256, index_name)
);
CREATE TABLE IF NOT EXISTS problems (
    kind TEXT NOT NULL,
    source TEXT NOT NULL,
    reason TEXT NOT NULL,
    count INTEGER NOT NULL,
    first_at REAL NOT NULL,
    last_at REAL NOT NULL,
    PRIMARY KEY (kind, source, reason)
);
CREATE TABLE IF NOT EXISTS volume (
    day TEXT NOT NULL,
    index_name TEXT NOT NULL,
    sourcetype TEXT NOT NULL,
    host TEXT NOT NULL,
    source TEXT NOT NULL,
    bytes INTEGER NOT NULL,
    events INTEGER NOT NULL,
    PRIMARY KEY (day, index_name, sourcetype, host, source)
);
CREATE TABLE IF NOT EXISTS archives (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    index_name TEXT NOT NULL,
    location TEXT NOT NULL UNIQUE,
    min_time REAL NOT NULL,
    max_time REAL NOT NULL,
    event_count INTEGER NOT NULL,
    raw_bytes INTEGER NOT NULL,
    size_bytes INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    profile TEXT,
    archived_at REAL NOT NULL,
    bloom BLOB
);
CREATE TABLE IF NOT EXISTS deleted_events (
    index_name TEXT NOT NULL,
    event_time REAL NOT NULL,
    key TEXT NOT NULL,
    deleted_at REAL NOT NULL,
    actor TEXT NOT NULL,
    PRIMARY KEY (index_name, key)
);
CREATE TABLE IF NOT EXISTS license_reported (
    day TEXT NOT NULL, index_name TEXT NOT NULL, sourcetype TEXT NOT NULL, host TEXT NOT NULL,
    source TEXT NOT NULL, bytes INTEGER NOT NULL,
    PRIMARY KEY (day, index_name, sourcetype, host, source)
);
CREATE TABLE IF NOT EXISTS license_warnings (day TEXT PRIMARY KEY, bytes INTEGER NOT NULL, quota INTEGER NOT NULL,
                                             at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS filtered_volume (
    day TEXT NOT NULL, transform TEXT NOT NULL, index_name TEXT NOT NULL, events INTEGER NOT NULL,
    bytes INTEGER NOT NULL, PRIMARY KEY (day, transform, index_name)
);
CREATE TABLE IF NOT EXISTS hec_tokens (
    name TEXT PRIMARY KEY,
    digest TEXT NOT NULL UNIQUE,
    default_index TEXT NOT NULL,
    allowed_indexes TEXT NOT NULL,
    sourcetype TEXT,
    ack INTEGER NOT NULL DEFAULT 0,
    disabled INTEGER NOT NULL DEFAULT 0,
    created REAL NOT NULL
);
"""


@dataclass(frozen=True)
class BucketRow:
    """One bucket as the catalog lists it (times in epoch seconds UTC, sizes in bytes)."""

    id: int
    index_name: str
    state: str
    path: str
    min_time: float
    max_time: float
    event_count: int
    raw_bytes: int
    size_bytes: int
    bloom: bytes | None
    journal_seq: int | None
    profile: str | None = None   # storage.profile text: sourcetypes, indexed fields, JSON (None: unknown)


BUCKET_COLS = (
    "id, index_name, state, path, min_time, max_time, event_count, raw_bytes, size_bytes, "
    "bloom, journal_seq, profile"
)


class Catalog:
    """Thread-safe access to the catalog database of one home.

    Writes go through `transaction()`; a transaction is durable when it returns.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        self._con().executescript(SCHEMA)
        self._add_missing_columns()
        with self.transaction() as con:
            con.execute(
                "INSERT OR IGNORE INTO meta(key, value) VALUES ('schema_version', ?)",
                (str(SCHEMA_VERSION),),
            )

    def _add_missing_columns(self) -> None:
        """Columns added after a catalog was first created (its rows get NULL: unknown or default)."""
        from speleo.storage import indexconf

        added = (("buckets", "profile", "TEXT"), ("checkpoints", "ident", "TEXT"), ("inputs", "head_bytes", "INTEGER"),
                 ("buckets", "archive_id", "INTEGER"))   # archive_id: a thawed bucket's archive (archives.id)

        def missing(con: sqlite3.Connection) -> list[tuple[str, str, str]]:
            return [(t, c, ty) for t, c, ty in added if c not in {r[1] for r in con.execute(f"PRAGMA table_info({t})")}]

        if missing(self._con()) or indexconf.missing_columns(self._con()):
            with self.transaction() as con:   # checked again under the write lock (another process may be first)
                for table, column, sql_type in missing(con):
                    con.execute(f"ALTER TABLE {table} ADD COLUMN {column} {sql_type}")
                indexconf.add_columns(con)

    def _con(self) -> sqlite3.Connection:
        con = getattr(self._local, "con", None)
        if con is None:
            con = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
            con.execute("PRAGMA journal_mode=WAL")
            con.execute("PRAGMA synchronous=FULL")
            con.execute("PRAGMA busy_timeout=30000")
            self._local.con = con
        return con

    def checkpoint(self) -> None:
        """Fold the SQLite write-ahead log into the database file and truncate it."""
        self._con().execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def close(self) -> None:
        con = getattr(self._local, "con", None)
        if con is not None:
            con.close()
            self._local.con = None

    class _Tx:
        def __init__(self, con: sqlite3.Connection) -> None:
            self.con = con

        def __enter__(self) -> sqlite3.Connection:
            self.con.execute("BEGIN IMMEDIATE")
            return self.con

        def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
            self.con.execute("ROLLBACK" if exc_type else "COMMIT")

    def transaction(self) -> "Catalog._Tx":
        """A write transaction (BEGIN IMMEDIATE ... COMMIT), rolled back on exception."""
        return Catalog._Tx(self._con())

    def query(self, sql: str, params: Iterable[Any] = ()) -> list[tuple]:
        """Run a read-only statement with parameters; returns all rows."""
        return self._con().execute(sql, tuple(params)).fetchall()

    # -- indexes ---------------------------------------------------------------
    def ensure_index(self, name: str) -> bool:
        """Create the index if missing; returns True when it was created."""
        with self.transaction() as con:
            cur = con.execute(
                "INSERT OR IGNORE INTO indexes(name, created) VALUES (?, ?)", (name, time.time())
            )
            return cur.rowcount > 0

    def index_names(self) -> list[str]:
        return [r[0] for r in self.query("SELECT name FROM indexes ORDER BY name")]

    # -- buckets ---------------------------------------------------------------
    def live_buckets(self, index_names: Iterable[str] | None = None, with_bloom: bool = False) -> list[BucketRow]:
        """Buckets that searches read (not retired), optionally only of some indexes.

        The term index blob (`bloom`) is loaded only when asked (`with_bloom`), else None;
        `blooms(ids)` loads it for the few buckets a search keeps.
        """
        cols = BUCKET_COLS if with_bloom else BUCKET_COLS.replace("bloom,", "NULL,")
        rows = self.query(f"SELECT {cols} FROM buckets WHERE retired_at IS NULL ORDER BY min_time")
        wanted = None if index_names is None else set(index_names)
        return [BucketRow(*r) for r in rows if wanted is None or r[1] in wanted]

    def blooms(self, ids: list[int]) -> dict[int, bytes | None]:
        """Term index blobs of some buckets, by id."""
        out: dict[int, bytes | None] = {}
        for chunk in iter_chunks(list(ids), 500):
            marks = ",".join("?" * len(chunk))
            out.update(self.query(f"SELECT id, bloom FROM buckets WHERE id IN ({marks})", chunk))
        return out

    def retired_buckets(self) -> list[BucketRow]:
        rows = self.query(
            f"SELECT {BUCKET_COLS} FROM buckets WHERE retired_at IS NOT NULL", ()
        )
        return [BucketRow(*r) for r in rows]

    def retired_before(self, cutoff: float) -> list[BucketRow]:
        rows = self.query(
            f"SELECT {BUCKET_COLS} FROM buckets WHERE retired_at IS NOT NULL AND retired_at < ?",
            (cutoff,),
        )
        return [BucketRow(*r) for r in rows]

    def all_bucket_paths(self) -> set[str]:
        return {r[0] for r in self.query("SELECT path FROM buckets")}

    # -- problems --------------------------------------------------------------
    def count_problem(self, kind: str, source: str, reason: str, n: int = 1) -> None:
        """Add `n` to the counter of a problem (kind: flagged, dropped, error)."""
        now = time.time()
        with self.transaction() as con:
            add_problem(con, kind, source, reason, n, now)

    def problems(self) -> list[dict]:
        rows = self.query(
            "SELECT kind, source, reason, count, first_at, last_at FROM problems "
            "ORDER BY last_at DESC"
        )
        keys = ("kind", "source", "reason", "count", "first_at", "last_at")
        return [dict(zip(keys, r)) for r in rows]

    # -- checkpoints -----------------------------------------------------------
    def checkpoints(self, with_ident: bool = False) -> dict[str, tuple]:
        """file identity key -> (path, byte offset), plus the identity details (`ident`, or None
        for rows written before it existed) and when the row was last written (epoch seconds)
        when `with_ident`."""
        rows = self.query("SELECT fingerprint, path, offset, ident, updated FROM checkpoints")
        return {r[0]: (r[1], r[2], r[3], r[4]) if with_ident else (r[1], r[2]) for r in rows}


def add_problem(con: sqlite3.Connection, kind: str, source: str, reason: str, n: int, now: float) -> None:
    """Upsert a problem counter inside an open transaction."""
    con.execute(
        "INSERT INTO problems(kind, source, reason, count, first_at, last_at) VALUES (?,?,?,?,?,?) "
        "ON CONFLICT(kind, source, reason) DO UPDATE SET count = count + excluded.count, "
        "last_at = excluded.last_at",
        (kind, source, reason, n, now, now),
    )


def iter_chunks(items: list, n: int) -> Iterator[list]:
    for i in range(0, len(items), n):
        yield items[i : i + n]
