"""The operations the CLI and the HTTP API share, over one home.

`Service` opens a home for reading (search, status, index list) and, when asked for a writer,
takes the home's writer lock (one writing process at a time: the server, or a CLI command when
no server runs) and builds the store, the ingestor and the monitor.
"""

from __future__ import annotations

import fcntl
import os
import time
from dataclasses import dataclass
from pathlib import Path

from speleo import sourcetypes
from speleo.config import INTERNAL_INDEXES, Home, check_index_name
from speleo.errors import ConflictError, InputError, NotFoundError, StorageError
from speleo.query import engine
from speleo.query.scope import check_lookup_writes
from speleo.storage.catalog import Catalog


@dataclass
class Writer:
    """The write side of a home: store, ingestor, monitor (built by `Service.open_writer`)."""

    store: object
    ingestor: object
    lock_fd: int

    def close(self) -> None:
        self.store.close()
        os.close(self.lock_fd)


class Service:
    """Search, status and administration of one home."""

    def __init__(self, home: Home) -> None:
        self.home = home.ensure()
        self.catalog = Catalog(home.catalog_path)
        for name in ("main", *INTERNAL_INDEXES):
            self.catalog.ensure_index(name)
        self.writer: Writer | None = None

    # -- writer -----------------------------------------------------------------------
    def open_writer(self) -> Writer:
        """Take the writer lock and recover the journal. Raises StorageError when locked."""
        from speleo.ingest.pipeline import Ingestor
        from speleo.storage.store import Store

        fd = os.open(self.home.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise StorageError(
                f"{self.home.root} is being written by another Speleo process "
                "(a server or another command); try again when it has finished"
            ) from None
        store = Store(self.home, self.catalog)
        store.recover()
        self.writer = Writer(store, Ingestor(store, self.catalog, self.props(), self.home.settings.default_tz), fd)
        return self.writer

    def props(self):
        path = self.home.props_path
        return sourcetypes.load_props(path) if path.exists() else None

    # -- indexes ----------------------------------------------------------------------
    def create_index(self, name: str) -> None:
        """Create an index. Raises InputError for a bad or reserved name, ConflictError if it exists."""
        if (name or "").startswith("_"):
            raise InputError(f"index names starting with '_' are reserved for Speleo's own indexes ({', '.join(INTERNAL_INDEXES)})")
        check_index_name(name)
        if not self.catalog.ensure_index(name):
            raise ConflictError(f"index '{name}' already exists")

    def indexes(self) -> list[dict]:
        """Each index with event count, bucket count, bytes on disk and time range."""
        rows = self.catalog.query(
            "SELECT i.name, count(b.id), coalesce(sum(b.event_count), 0), coalesce(sum(b.size_bytes), 0),"
            " coalesce(sum(b.raw_bytes), 0), min(b.min_time), max(b.max_time) FROM indexes i "
            "LEFT JOIN buckets b ON b.index_name = i.name AND b.retired_at IS NULL "
            "GROUP BY i.name ORDER BY i.name"
        )
        keys = ("name", "buckets", "events", "size_bytes", "raw_bytes", "earliest", "latest")
        return [dict(zip(keys, r)) for r in rows]

    def index(self, name: str) -> dict:
        for row in self.indexes():
            if row["name"] == name:
                row["bucket_list"] = [
                    {"id": b.id, "state": b.state, "path": b.path, "min_time": b.min_time,
                     "max_time": b.max_time, "events": b.event_count, "size_bytes": b.size_bytes}
                    for b in self.catalog.live_buckets([name])
                ]
                return row
        raise NotFoundError(f"no index named '{name}' (see 'speleo index list')")

    # -- inputs -----------------------------------------------------------------------
    def add_monitor(self, path: str, index: str, sourcetype: str | None = None, host: str | None = None,
                    whitelist: str | None = None, blacklist: str | None = None,
                    head_bytes: int | None = None) -> int:
        """Register a monitor input; returns its id. Raises InputError / ConflictError.

        The path is stored absolute and resolved (no `..`, no symbolic link), so one folder is
        one input however it is written. `head_bytes`: bytes of each file's head its identity
        hashes (16 to 65,536; default `Settings.fingerprint_bytes`; Splunk: `initCrcLength`)."""
        import re

        check_index_name(index)
        if head_bytes is not None and not 16 <= head_bytes <= 65536:
            raise InputError(f"--head-bytes {head_bytes}: must be between 16 and 65536")
        full = os.path.realpath(os.path.expanduser(path))
        if not os.path.exists(full):
            raise InputError(f"{full}: no such file or directory")
        self.check_input_path(full)
        for name, rx in (("whitelist", whitelist), ("blacklist", blacklist)):
            if rx:
                try:
                    re.compile(rx)
                except re.error as e:
                    raise InputError(f"--{name} {rx!r} is not a valid regular expression: {e}") from e
        self.catalog.ensure_index(index)
        try:
            with self.catalog.transaction() as con:
                cur = con.execute(
                    "INSERT INTO inputs(kind, path, index_name, sourcetype, host, whitelist, blacklist, created,"
                    " head_bytes) VALUES ('monitor', ?, ?, ?, ?, ?, ?, ?, ?)",
                    (full, index, sourcetype, host, whitelist, blacklist, time.time(), head_bytes),
                )
                return int(cur.lastrowid)
        except Exception as e:
            if "UNIQUE" in str(e):
                raise ConflictError(f"a monitor input for {full} into index '{index}' already exists") from e
            raise

    def check_input_path(self, path: str) -> None:
        """Refuse to read Speleo's own home (its tokens, secrets and data) as an input.

        Raises InputError."""
        full = Path(path).expanduser().resolve()
        home = self.home.root.resolve()
        if full == home or home in full.parents:
            raise InputError(f"{path} is inside Speleo's home ({home}); it cannot be an input")

    def inputs(self) -> list[dict]:
        rows = self.catalog.query(
            "SELECT id, kind, path, index_name, sourcetype, host, whitelist, blacklist, disabled, head_bytes "
            "FROM inputs ORDER BY id"
        )
        keys = ("id", "kind", "path", "index", "sourcetype", "host", "whitelist", "blacklist", "disabled", "head_bytes")
        return [dict(zip(keys, r)) for r in rows]

    # -- search -----------------------------------------------------------------------
    def search(self, query: str, earliest=None, latest=None, limit: int = 100, now: float | None = None,
               timeline: bool = True, scope=None, write_lookups: bool = True):
        """Compile and run a search; see `speleo.query.engine.SearchResult`. Raises SplError.

        `timeline=False` skips the timeline of a transforming search (one pass over the data
        less); event searches always get theirs (it also counts the events). `scope`: the
        searcher's `speleo.query.scope.IndexScope` (None: every index); `write_lookups=False`
        refuses `outputlookup` with ForbiddenError."""
        compiled = self.compile(query, earliest, latest, now)
        check_lookup_writes(compiled, write_lookups)
        return engine.execute(self.home, self.catalog, compiled, limit=limit, with_timeline=timeline, scope=scope)

    def compile(self, query: str, earliest=None, latest=None, now: float | None = None):
        """The compiled search with the home's macros, props and lookups. Raises SplError."""
        from speleo.query.macrostore import load_macros

        return engine.compile_for(query, now=now, earliest=earliest, latest=latest, macros=load_macros(self.home),
                                  tz_name=self.home.settings.default_tz, props=self.props(),
                                  lookups_dir=self.home.lookups_dir)

    # -- status -----------------------------------------------------------------------
    def status(self) -> dict:
        """Inputs, files followed (checkpoints), events indexed, problems, buckets, disk use."""
        idx = self.indexes()
        disk = sum(f.stat().st_size for f in self.home.root.rglob("*") if f.is_file())
        files = [
            {"path": p, "offset": o, "fingerprint": k}
            for k, (p, o) in sorted(self.catalog.checkpoints().items(), key=lambda kv: kv[1][0])
            if not k.startswith(("oneshot:", "fschange:"))  # fschange: batch counters, not files
        ]
        today = time.strftime("%Y-%m-%d", time.gmtime())
        vol = self.catalog.query("SELECT coalesce(sum(bytes),0), coalesce(sum(events),0) FROM volume WHERE day = ?", (today,))[0]
        return {
            "home": str(self.home.root),
            "indexes": idx,
            "events": sum(i["events"] for i in idx),
            "buckets": sum(i["buckets"] for i in idx),
            "disk_bytes": disk,
            "inputs": self.inputs(),
            "files": files,
            "problems": self.catalog.problems(),
            "ingested_today": {"day": today, "bytes": vol[0], "events": vol[1]},
            "journal_segments": len(list(self.home.journal_dir.glob("*.wal"))),
        }
