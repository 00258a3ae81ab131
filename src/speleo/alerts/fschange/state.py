"""The durable state of one fschange input: its settings, the baseline (path → attributes) and
the commit protocol that keeps the baseline consistent with the events in the index.

One SQLite file per input, `<home>/fschange/input-<id>.sqlite` (WAL, synchronous=FULL); paths
are stored as their bytes, so a file name that is not UTF-8 round-trips.

Commit of a batch of changes (sequence number `seq` = last applied + 1):
1. the state delta is written as `pending(seq)` and committed;
2. the events are appended to the journal together with the checkpoint
   `fschange:<id>` → `seq` (one journal record: durable together);
3. the delta is applied to `files`, `applied_seq` becomes `seq`, `pending` is emptied.

After a crash (`recover`), a pending batch whose `seq` the catalog's checkpoint has reached was
emitted: its delta is applied. One the checkpoint has not reached was never emitted: it is
dropped, and the next scan finds the same changes again and emits them. No change is lost or
sent twice. See docs/decisions/0014-fschange-state.md.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Iterable, Mapping

from speleo.alerts.fschange.scanner import Entry, from_bytes, to_bytes
from speleo.alerts.fschange.settings import FsChangeSettings
from speleo.storage.catalog import Catalog

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS files (
    path BLOB PRIMARY KEY, kind TEXT NOT NULL, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,
    ctime_ns INTEGER NOT NULL, mode INTEGER NOT NULL, uid INTEGER NOT NULL, gid INTEGER NOT NULL,
    inode INTEGER NOT NULL, dev INTEGER NOT NULL, hash TEXT, target TEXT
);
CREATE TABLE IF NOT EXISTS pending (seq INTEGER PRIMARY KEY, delta TEXT NOT NULL);
"""


def checkpoint_key(input_id: int) -> str:
    """The key of an input's batch counter among the catalog's checkpoints."""
    return f"fschange:{input_id}"


def state_dir(home_root: Path) -> Path:
    return home_root / "fschange"


def state_path(home_root: Path, input_id: int) -> Path:
    return state_dir(home_root) / f"input-{input_id}.sqlite"


class InputState:
    """Settings, baseline and batch counter of one input (one writer at a time: the server,
    or a CLI command holding the home's writer lock)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self.con = sqlite3.connect(path, isolation_level=None, timeout=30.0, check_same_thread=False)
        self.con.execute("PRAGMA journal_mode=WAL")
        self.con.execute("PRAGMA synchronous=FULL")
        self.con.executescript(SCHEMA)

    def close(self) -> None:
        self.con.close()

    # -- meta ------------------------------------------------------------------------
    def _get(self, key: str, default: str | None = None) -> str | None:
        row = self.con.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else default

    def _set(self, con: sqlite3.Connection, key: str, value: str) -> None:
        con.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, value))

    @property
    def settings(self) -> FsChangeSettings:
        text = self._get("settings")
        return FsChangeSettings.from_json(text) if text else FsChangeSettings()

    def save_settings(self, settings: FsChangeSettings) -> None:
        with self._tx() as con:
            self._set(con, "settings", settings.to_json())

    @property
    def applied_seq(self) -> int:
        return int(self._get("applied_seq", "0"))

    @property
    def has_pending(self) -> bool:
        """A batch was begun and neither committed nor settled (its outcome is not known here)."""
        return self.con.execute("SELECT 1 FROM pending").fetchone() is not None

    @property
    def has_baseline(self) -> bool:
        return self._get("baseline_at") is not None

    @property
    def last_scan(self) -> dict:
        return json.loads(self._get("last_scan", "{}"))

    def note_scan(self, info: dict) -> None:
        with self._tx() as con:
            self._set(con, "last_scan", json.dumps(info))

    # -- baseline --------------------------------------------------------------------
    def load(self) -> dict[str, Entry]:
        """The baseline: path → Entry (about 1 s for 100,000 files)."""
        new = tuple.__new__   # Entry(*row) without its argument parsing: a third faster at 100,000 rows
        return {from_bytes(r[0]): new(Entry, r[1:]) for r in self.con.execute("SELECT * FROM files")}

    def write_baseline(self, entries: Mapping[str, Entry], at: float) -> None:
        """Replace the baseline in one transaction (an interrupted scan never replaces it)."""
        with self._tx() as con:
            con.execute("DELETE FROM files")
            con.executemany("INSERT INTO files VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                            ((to_bytes(p), *e) for p, e in entries.items()))
            self._set(con, "baseline_at", repr(at))

    def apply(self, puts: Mapping[str, Entry], deletes: Iterable[str]) -> None:
        """Store changes that emit no event (nothing to keep consistent with the index)."""
        with self._tx() as con:
            self._apply(con, puts, deletes)

    def _apply(self, con, puts: Mapping[str, Entry], deletes: Iterable[str]) -> None:
        con.executemany("DELETE FROM files WHERE path = ?", ((to_bytes(p),) for p in deletes))
        con.executemany("INSERT OR REPLACE INTO files VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                        ((to_bytes(p), *e) for p, e in puts.items()))

    # -- the commit protocol ---------------------------------------------------------
    def begin(self, puts: Mapping[str, Entry], deletes: Iterable[str]) -> int:
        """Step 1: record the batch as pending; returns its sequence number."""
        seq = self.applied_seq + 1
        delta = {"puts": [[p, *e] for p, e in puts.items()], "deletes": list(deletes)}
        with self._tx() as con:
            con.execute("DELETE FROM pending")
            con.execute("INSERT INTO pending(seq, delta) VALUES (?, ?)", (seq, json.dumps(delta)))
        return seq

    def commit(self, seq: int) -> None:
        """Step 3: apply the pending batch `seq` (its events are in the journal)."""
        with self._tx() as con:
            row = con.execute("SELECT delta FROM pending WHERE seq = ?", (seq,)).fetchone()
            if row is not None:
                d = json.loads(row[0])
                self._apply(con, {p[0]: Entry(*p[1:]) for p in d["puts"]}, d["deletes"])
            con.execute("DELETE FROM pending")
            self._set(con, "applied_seq", str(seq))

    def recover(self, emitted_seq: int) -> str | None:
        """After a restart: apply or drop the pending batch given the last batch number the
        index holds (the catalog checkpoint). Returns "applied", "dropped" or None."""
        row = self.con.execute("SELECT seq FROM pending").fetchone()
        if row is None:
            return None
        if emitted_seq >= row[0]:
            self.commit(row[0])
            return "applied"
        with self._tx() as con:
            con.execute("DELETE FROM pending")
        return "dropped"

    def _tx(self):
        return Catalog._Tx(self.con)   # BEGIN IMMEDIATE ... COMMIT, rolled back on an exception

