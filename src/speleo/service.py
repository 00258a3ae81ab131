"""The operations the CLI and the HTTP API share, over one home.

`Service` opens a home for reading (search, status, index list) and, when asked for a writer,
takes the home's writer lock (one writing process at a time: the server, or a CLI command when
no server runs) and builds the store, the ingestor and the monitor.
"""

from __future__ import annotations

import fcntl
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path

from speleo import sourcetypes
from speleo.config import INTERNAL_INDEXES, Home, check_index_name
from speleo.errors import ConflictError, ForbiddenError, InputError, StorageError
from speleo.query import deletion, engine
from speleo.query.scope import check_lookup_writes
from speleo.storage.catalog import Catalog

log = logging.getLogger("speleo.service")


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

    def __init__(self, home: Home, backend: str | None = None) -> None:
        self.home = home.ensure()
        self.catalog = Catalog(home.catalog_path)
        for name in ("main", *INTERNAL_INDEXES):
            self.catalog.ensure_index(name)
        self.writer: Writer | None = None
        self.internal = None   # the server's InternalLog (`_internal`, `_audit`) when one runs here
        # where events are stored and searched: None = this home's buckets; a URL (`speleo serve
        # --backend`, else $SPELEO_BACKEND) = ClickHouse (query.backend.open_backend)
        self.backend_url = (backend if backend is not None else os.environ.get("SPELEO_BACKEND")) or None
        self._backend = None

    @property
    def backend(self):
        """The search backend (query.backend): opened on first use."""
        if self._backend is None:
            from speleo.query.backend import open_backend

            self._backend = open_backend(self.backend_url, self.home, self.catalog)
        return self._backend

    @property
    def on_clickhouse(self) -> bool:
        return self.backend_url is not None

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
        store.ingest_filter = self.ingest_filters()
        if self.on_clickhouse:
            store.event_sink = self.backend     # sealed segments go to ClickHouse, not to buckets
        store.recover()
        self.writer = Writer(store, Ingestor(store, self.catalog, self.props(), self.home.settings.default_tz), fd)
        return self.writer

    def ingest_filters(self):
        """The home's ingest filters (`<home>/transforms.toml`, `ingest.filters`), or None.
        Routed-to indexes are created. Raises InputError for a bad file."""
        from speleo.ingest import filters

        found = filters.load(self.home.root / "transforms.toml")
        for name in found.indexes if found else ():
            self.catalog.ensure_index(name)
        return found

    def props(self):
        path = self.home.props_path
        return sourcetypes.load_props(path) if path.exists() else None

    # -- indexes ----------------------------------------------------------------------
    def create_index(self, name: str, params: dict | None = None, labels: dict | None = None) -> dict:
        """Create an index with settings under Splunk's names (`storage.indexadmin.create_index`).
        Raises InputError for a bad or reserved name or setting, ConflictError if it exists."""
        from speleo.storage import indexadmin

        out = indexadmin.create_index(self.home, self.catalog, name, params, labels).to_splunk()
        self._sync_soon(name)
        return out

    def edit_index(self, name: str, params: dict, labels: dict | None = None) -> dict:
        """Change an index's settings (Splunk names). Raises NotFoundError, InputError. On the
        ClickHouse backend the new retention reaches the index's table at once."""
        from speleo.storage import indexadmin

        out = indexadmin.edit_index(self.home, self.catalog, name, params, labels).to_splunk()
        self._sync_soon(name)
        return out

    def _sync_soon(self, name: str) -> None:
        """After a settings change on ClickHouse: its table and TTL now, or, when the cluster
        does not answer, by the server's retention thread (the settings are saved either way)."""
        try:
            self.sync_backend_indexes([name])
        except Exception as e:
            log.warning("index %s: its ClickHouse table was not updated now (%s: %s); the retention "
                        "thread retries", name, type(e).__name__, e)

    def sync_backend_indexes(self, names: list[str] | None = None) -> list[dict]:
        """On the ClickHouse backend: create the tables of `names` (None: every index) and set
        their retention from the index settings (`frozenTimePeriodInSecs` → the table's TTL,
        docs/scale-out.md). The server calls it at start, and after every create or edit.
        Returns what each table got; nothing on the embedded backend, whose retention thread
        reads the settings itself."""
        if not self.on_clickhouse:
            return []
        from speleo.storage import indexconf

        settings = indexconf.load_all(self.home, self.catalog)
        done = []
        for name in sorted(settings if names is None else names):
            if name not in settings:
                continue
            self.backend.ensure_index(settings[name])
            done.append(self.backend.apply_retention(settings[name]))
        return done

    def indexes(self) -> list[dict]:
        """Each index with event count, bucket count, bytes on disk and time range."""
        rows = self.catalog.query(
            "SELECT i.name, count(b.id), coalesce(sum(b.event_count), 0), coalesce(sum(b.size_bytes), 0),"
            " coalesce(sum(b.raw_bytes), 0), min(b.min_time), max(b.max_time) FROM indexes i "
            "LEFT JOIN buckets b ON b.index_name = i.name AND b.retired_at IS NULL "
            "GROUP BY i.name ORDER BY i.name"
        )
        keys = ("name", "buckets", "events", "size_bytes", "raw_bytes", "earliest", "latest")
        out = [dict(zip(keys, r)) for r in rows]
        if self.on_clickhouse:   # the events are in ClickHouse's tables: its day partitions count
            days = self._clickhouse_days()
            for row in out:
                mine = days.get(row["name"], [])
                row.update(buckets=len(mine), events=sum(p.rows for p in mine),
                           size_bytes=sum(p.bytes_on_disk for p in mine),
                           earliest=min((p.min_time for p in mine), default=None),
                           latest=max((p.max_time for p in mine), default=None))
        return out

    def _clickhouse_days(self) -> dict[str, list]:
        """The day partitions of every index's ClickHouse table, by index (rows include events
        `| delete` hid until ClickHouse's merges drop them)."""
        days: dict[str, list] = {}
        for p in self.backend.lifecycle(self.home, self.catalog).partitions():
            days.setdefault(p.index, []).append(p)
        return days

    def index(self, name: str, now: float | None = None) -> dict:
        """One index, its settings, buckets (sizes measured on disk) and archives
        (`storage.indexadmin.show_index`). Raises NotFoundError."""
        from speleo.storage import indexadmin

        out = indexadmin.show_index(self.home, self.catalog, name, now)
        if self.on_clickhouse:   # its events are day partitions of a ClickHouse table (docs/scale-out.md)
            mine = self.backend.lifecycle(self.home, self.catalog).partitions([name])
            days = [{"partition": p.partition, "earliest": p.min_time, "latest": p.max_time, "events": p.rows,
                     "disk_bytes": p.bytes_on_disk} for p in mine]
            total = {"buckets": len(days), "events": sum(d["events"] for d in days),
                     "disk_bytes": sum(d["disk_bytes"] for d in days)}
            out["clickhouse_days"] = days
            out["by_state"]["clickhouse"] = total
            # searches read ClickHouse only: buckets left in the home (before `speleo migrate`) are not counted
            out["home_buckets_not_searched"] = len(out["buckets"])
            out["events"], out["disk_bytes"] = total["events"], total["disk_bytes"]
        return out

    # -- lifecycle (needs the writer: the server's, or the writer lock taken here) ------------
    def with_lifecycle(self, fn, emit=None):
        """Run `fn(lifecycle)` with this process's writer, or take the writer lock for the
        call (sealing the journal before letting it go). Lifecycle events go to `_internal`.
        Raises StorageError when another process writes the home."""
        from speleo.ingest.internal import InternalLog
        from speleo.storage.lifecycle import Lifecycle

        own = self.writer is None
        writer = self.open_writer() if own else self.writer
        try:
            if emit is None:
                log = InternalLog(writer.store)
                emit = lambda event, fields: log.emit("_internal", "lifecycle", {"event": event, **fields},  # noqa: E731
                                                      component="BucketMover")
            if self.on_clickhouse:    # days of ClickHouse tables (storage.clickhouse.lifecycle)
                result = fn(self.backend.lifecycle(self.home, self.catalog, emit))
            else:
                result = fn(Lifecycle(writer.store, emit))
            if own:
                writer.store.seal()
                writer.store.collect_garbage(0.0)   # no server: no search of another process to wait for
            return result
        finally:
            if own:
                writer.close()
                self.writer = None

    def delete_index(self, name: str) -> dict:
        """Delete an index and its buckets (`storage.indexadmin.delete_index`); on the ClickHouse
        backend its tables too."""
        from speleo.storage import indexadmin

        drop = (lambda: self.backend.drop_index(name)) if self.on_clickhouse else None
        return self.with_lifecycle(lambda lc: lc.locked(
            lambda: indexadmin.delete_index(self.home, self.catalog, name, before_delete=drop)))

    def purge(self, index: str, spl: str, actor: str = "cli") -> dict:
        """Remove the events of `index` that `spl` finds from disk (`storage.purge`), deleted ones
        included. Refuses (InputError) a search that finds nothing, or every event of the index
        (delete the index instead), or that is not a search for events. The `_audit` event records
        the search's SHA-256, never its text (it may hold the secret being purged)."""
        import hashlib

        from speleo.storage.purge import purge_events

        self.index(index)   # NotFoundError for an unknown index
        compiled = engine.compile_for(f"search index={index} {spl}", macros=None,
                                      tz_name=self.home.settings.default_tz, props=self.props(),
                                      lookups_dir=self.home.lookups_dir)
        if compiled.transforming:
            raise InputError("purge needs a search for events (no stats, table, head...): it removes what it finds")
        found = engine.execute(self.home, self.catalog, compiled, limit=0, with_timeline=False, honour_deletes=False)
        total = sum(b.event_count for b in self.catalog.live_buckets([index]))
        if found.table.num_rows == 0:
            raise InputError(f"the search finds no event in index '{index}': nothing to purge")
        if found.table.num_rows >= total:
            raise InputError(f"the search finds every event of index '{index}' ({total:,}); "
                             f"use 'speleo index delete {index}' to remove the whole index")
        events = found.table.select(list(deletion.EVENT_COLUMNS))

        def run(lc) -> dict:
            report = purge_events(lc.store, index, events)
            self.audit("purge", {"action": "purge", "user": actor, "index": index,
                                 "search_sha256": hashlib.sha256(spl.encode()).hexdigest(), **report})
            return report

        return self.with_lifecycle(run)

    def license_usage(self, by: str = "index", days: int = 30) -> dict:
        """Metered bytes per licence day and per index, sourcetype, host or source
        (`storage.license.usage`), with today's status. Raises InputError for a bad `by`/`days`."""
        from speleo.storage import license

        if by not in license.DIMENSIONS:
            raise InputError(f"--by {by!r}: use one of {', '.join(license.DIMENSIONS)}")
        if not 1 <= int(days) <= 3660:
            raise InputError(f"--days {days}: use 1 to 3660 days")
        today = license.license_day(time.time(), self.home.settings.default_tz)
        return {"by": by, "days": int(days), "rows": license.usage(self.catalog, by, int(days), today),
                "status": license.status(self.catalog, today)}

    def input_kind(self, ident: str) -> str | None:
        """The kind of the input with this id (monitor, fschange...), or None."""
        rows = self.catalog.query("SELECT kind FROM inputs WHERE id = ?", (int(ident),)) \
            if str(ident).isdigit() and int(ident) < 2**63 else []
        return rows[0][0] if rows else None

    def remove_input(self, ident: str) -> dict:
        """Remove an input by id, or a HEC token input by `http://NAME`."""
        from speleo.storage import indexadmin

        return indexadmin.remove_input(self.catalog, ident)

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
               timeline: bool = True, capabilities: frozenset[str] | None = frozenset(), actor: str = "cli",
               check=None, scope=None, write_lookups: bool = True):
        """Compile and run a search; see `speleo.query.engine.SearchResult`. Raises SplError.

        `timeline=False` skips the timeline of a transforming search (one pass over the data
        less); event searches always get theirs (it also counts the events). A search ending in
        `| delete` hides what it finds (`delete_events`); it needs `delete_by_keyword` among
        `capabilities` (None: the home's owner on the command line, who may; the default: nobody may).
        `check(compiled)` runs between compiling and running (the server's capability check for
        writing commands, speleo.server.access.search_guard, which raises).
        `scope`: the searcher's `speleo.query.scope.IndexScope` (None: every index; a delete
        only reaches the indexes it allows); `write_lookups=False` refuses `outputlookup` with
        ForbiddenError."""
        from speleo.query.macrostore import load_macros

        macros = load_macros(self.home, getattr(check, "reader", None))   # | savedsearch: the searcher's
        pipeline, text = deletion.split_delete(query, macros)
        if pipeline is not None:
            return self.delete_events(text, earliest, latest, now, capabilities, actor, query, scope,
                                      check=check, write_lookups=write_lookups)
        compiled = engine.compile_for(query, now=now, earliest=earliest, latest=latest, macros=macros,
                                      tz_name=self.home.settings.default_tz, props=self.props(),
                                      lookups_dir=self.home.lookups_dir,
                                      run_subsearch=self.subsearch_runner(scope, check, write_lookups))
        if check is not None:
            check(compiled)
        check_lookup_writes(compiled, write_lookups)
        if self.on_clickhouse:
            return self.backend.execute(compiled, limit=limit, with_timeline=timeline, scope=scope)
        return engine.execute(self.home, self.catalog, compiled, limit=limit, with_timeline=timeline, scope=scope)

    def subsearch_runner(self, scope=None, check=None, write_lookups: bool = True):
        """Runs a subsearch whose results are search text, or that writes a lookup, before its
        search compiles (`query.subsearches`), on this home's backend, for `scope`'s searcher;
        `check` and `write_lookups` as for `search` (applied to the subsearch before it runs)."""
        from speleo.query import subsearches

        return subsearches.runner(self.home, self.catalog, scope, self.backend if self.on_clickhouse else None,
                                  check=check, write_lookups=write_lookups)

    def delete_events(self, query: str, earliest, latest, now, capabilities, actor: str, original: str, scope=None,
                      check=None, write_lookups: bool = True):
        """`<query> | delete` (Splunk Search Reference: delete): tombstones for every event the
        streaming search `query` finds, hidden from every later search at once; one `_audit`
        event (actor, search, count per index). Returns a result table (index, deleted, errors).
        Raises ForbiddenError without `delete_by_keyword`, InputError for `_audit`. `check` and
        `write_lookups` as for `search`: the finding search is the searcher's (a subsearch of it
        that writes a lookup needs edit_lookups)."""
        if capabilities is not None and deletion.CAPABILITY not in capabilities:
            raise ForbiddenError(f"'{actor}' lacks the capability '{deletion.CAPABILITY}' needed by delete "
                                 "(not even admin has it by default: give a user the can_delete role)")
        own = self.internal is None and self.writer is None
        if own:
            self.open_writer()   # the `_audit` event needs the writer: take it before deleting anything
        try:
            found = self.search(query, earliest, latest, limit=0, now=now, timeline=False, scope=scope, check=check,
                                write_lookups=write_lookups)
            deletion.check_targets(found, scope)
            counts = deletion.delete_found(self.catalog, found, actor, self.backend if self.on_clickhouse else None)
            self.audit("delete", {"action": "delete", "user": actor, "search": original,
                                  **{f"deleted_{k}": v for k, v in counts.items()}})
            return deletion.result_table(counts, found)
        finally:
            if own:
                self.writer.close()
                self.writer = None

    def audit(self, component: str, fields: dict) -> None:
        """One event in `_audit`: through the server's internal log, or this process's writer."""
        if self.internal is not None:
            self.internal.emit("_audit", "audittrail", fields, component=component)
            return
        from speleo.ingest.internal import InternalLog

        own = self.writer is None
        writer = self.open_writer() if own else self.writer
        try:
            InternalLog(writer.store).emit("_audit", "audittrail", fields, component=component)
            writer.store.seal()
        finally:
            if own:
                writer.close()
                self.writer = None

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
        from speleo.storage import license

        today = license.license_day(time.time(), self.home.settings.default_tz)
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
            "license": license.status(self.catalog, today),
            "filtered_today": license.filtered(self.catalog, today),
            "journal_segments": len(list(self.home.journal_dir.glob("*.wal"))),
            "knowledge_problems": self._knowledge_problems(),
        }

    def _knowledge_problems(self) -> list[str]:
        """What the home's eventtypes.conf, tags.conf and datamodels/*.json hold that searches
        skip (file, line or dataset, and why)."""
        from speleo import knowledge

        return list(knowledge.load_cached(self.home.root).problems)
