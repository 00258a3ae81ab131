"""The home folder: where Speleo keeps its configuration and data.

Layout (all under one folder, `--home DIR`, `$SPELEO_HOME`, or `./var/speleo`):

    catalog.sqlite      indexes (and settings), buckets, archives, inputs, checkpoints, problems, volume, tokens
    journal/            write-ahead journal segments (`<seq>.wal`)
    indexes/<name>/     Parquet buckets of one index
    props.toml          optional per-source / per-sourcetype parse settings
    transforms.toml     optional ingest filters: drop or route events before indexing (ingest.filters)
    server.json         address and pid of the running server (absent when none runs)
    writer.lock         held by the one process that writes (server, or a CLI command)
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from speleo.errors import InputError

DEFAULT_HOME = Path("var") / "speleo"
INDEX_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_\-]{0,79}$")
INTERNAL_INDEXES = ("_internal", "_audit")
"""Speleo's own indexes, in every home: `_internal` (its log, licence usage, bucket lifecycle,
scheduler runs) and `_audit` (sign-ins, searches, administrative changes). Names starting
with `_` are reserved; searches leave these out unless they name them."""


@dataclass(frozen=True)
class Settings:
    """Tunables with their units in their names."""

    seal_interval_secs: float = 0.5
    tail_poll_secs: float = 0.25
    pending_event_flush_secs: float = 0.75
    read_chunk_bytes: int = 2 * 1024 * 1024
    poll_budget_bytes: int = 8 * 1024 * 1024
    seal_pending_bytes: int = 16 * 1024 * 1024
    warm_merge_min_buckets: int = 8
    bucket_delete_grace_secs: float = 600.0  # searches planned before a merge may still open them
    fingerprint_bytes: int = 256             # head of a file hashed for its identity (per input: head_bytes)
    close_inactive_secs: float = 10.0        # close a followed file not grown for this long (Filebeat close_inactive)
    max_open_files: int = 0                  # followed files open at once; 0 = a quarter of the descriptor limit
    identity_settle_secs: float = 5.0        # wait this long to tell a rotated copy from a second file
    scan_secs: float = 2.0                   # look for new files this often when polling
    scan_secs_notified: float = 20.0         # ... and this often when change notification (inotify) works
    change_notification: bool = True        # use inotify (watchdog) when available
    retention_check_secs: float = float(os.environ.get("SPELEO_RETENTION_CHECK_SECS", 60))  # Splunk rotatePeriodInSecs
    # how often the server looks for buckets an accelerated data model has no summary of yet
    acceleration_check_secs: float = float(os.environ.get("SPELEO_ACCELERATION_CHECK_SECS", 30))
    license_report_secs: float = float(os.environ.get("SPELEO_LICENSE_REPORT_SECS", 60))  # Splunk report_interval
    license_squash_threshold: int = int(os.environ.get("SPELEO_LICENSE_SQUASH_THRESHOLD", 2000))  # squash_threshold
    default_tz: str | None = None  # None = the machine's local zone
    duckdb_memory_mb: int = int(os.environ.get("SPELEO_DUCKDB_MEMORY_MB", 512))  # per search connection (DuckDB memory_limit)
    duckdb_threads: int = int(os.environ.get("SPELEO_DUCKDB_THREADS", 0))  # 0 = the machine's cores (DuckDB threads)


@dataclass(frozen=True)
class Home:
    """Paths inside a Speleo home folder. Creating a `Home` creates nothing; call `ensure()`."""

    root: Path
    settings: Settings = Settings()

    @classmethod
    def resolve(cls, home: str | os.PathLike | None = None) -> "Home":
        """The home named by the argument, else `$SPELEO_HOME`, else `./var/speleo`."""
        raw = home or os.environ.get("SPELEO_HOME") or DEFAULT_HOME
        return cls(Path(raw).expanduser().resolve())

    def ensure(self) -> "Home":
        """Create the folders; returns self."""
        for p in (self.root, self.journal_dir, self.indexes_dir, self.lookups_dir):
            p.mkdir(parents=True, exist_ok=True)
        return self

    @property
    def catalog_path(self) -> Path:
        return self.root / "catalog.sqlite"

    @property
    def journal_dir(self) -> Path:
        return self.root / "journal"

    @property
    def indexes_dir(self) -> Path:
        return self.root / "indexes"

    @property
    def lookups_dir(self) -> Path:
        return self.root / "lookups"

    @property
    def props_path(self) -> Path:
        return self.root / "props.toml"

    @property
    def server_file(self) -> Path:
        return self.root / "server.json"

    @property
    def lock_path(self) -> Path:
        return self.root / "writer.lock"

    @property
    def token_path(self) -> Path:
        return self.root / "api_token"

    def index_dir(self, name: str) -> Path:
        return self.indexes_dir / check_index_name(name)


def check_index_name(name: str) -> str:
    """Validate an index name: lower-case letters, digits, `_` and `-`, at most 80 chars.

    The internal indexes (`INTERNAL_INDEXES`) are valid names too; users cannot create them
    (`Service.create_index`). Raises InputError naming the rule.
    """
    if name in INTERNAL_INDEXES:
        return name
    if not INDEX_NAME_RE.match(name or ""):
        raise InputError(
            f"invalid index name {name!r}: use lower-case letters, digits, '_' and '-' "
            "(starting with a letter or digit, at most 80 characters; names starting with '_' are reserved)"
        )
    return name


def duckdb_config(settings: Settings | None = None) -> dict[str, str]:
    """The DuckDB `config=` of a search connection: an explicit `memory_limit` (its buffer pool,
    `duckdb_memory_mb` MB; DuckDB's own default is 80 % of the machine's memory) and `threads`
    (`duckdb_threads`, 0 = the machine's cores). Settings come from $SPELEO_DUCKDB_MEMORY_MB and
    $SPELEO_DUCKDB_THREADS (docs/configuration.md)."""
    s = settings or Settings()
    threads = s.duckdb_threads if s.duckdb_threads > 0 else (os.cpu_count() or 1)
    return {"memory_limit": f"{max(s.duckdb_memory_mb, 16)}MB", "threads": str(threads)}
