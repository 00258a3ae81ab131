"""The results of scheduled runs of saved searches, kept on disk for `| loadjob savedsearch=`.

Splunk keeps the artifacts of a scheduled search's runs in its dispatch directory for the
search's `dispatch.ttl` (savedsearches.conf.spec: an integer number of seconds, or `<N>p` for N
scheduled periods; default `2p`), and `loadjob savedsearch="<user>:<app>:<name>"` reads the
newest of them (Splunk Search Reference: loadjob). Speleo keeps, for each successful run:

`<home>/dispatch_scheduled/<saved search id>/<sid>/`
- `result.arrow`: the run's result table (Arrow IPC file, zstd), at most the scheduler's row cap
  (10,000 rows: `speleo.server.scheduling`);
- `info.json`: `{"sid", "saved_id", "saved_created" (the saved search's own creation time),
  "label", "owner", "app", "search", "kind" ("events" or "results"), "created" (epoch s, UTC,
  when it was written), "scheduled" (the run's scheduled time), "expires" (epoch s), "rows",
  "total", "truncated", "fields"}`.

Saved search ids can come back (SQLite gives a deleted last row's id to the next one), so a
reader passes the saved search's creation time (`born`): an artifact of an earlier saved search
that had the same id is never read as the new one's, and the new one's first write removes it.

A folder is written under a temporary name and renamed, so a crash leaves either the whole
artifact or a `.tmp-*` folder that the next write of that saved search removes. Expired artifacts
and those beyond `MAX_PER_SEARCH` (the newest kept) are removed when the search writes its next
one, and are never read: `newest` skips them. Deleting a saved search leaves its folder until
`forget` is called with its id.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from pathlib import Path

import pyarrow as pa

MAX_PER_SEARCH = 20          # artifacts kept per saved search at most (the newest), whatever the ttl
DEFAULT_TTL = "2p"           # savedsearches.conf.spec: dispatch.ttl default
SAFE_SID = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,199}$")
_TTL = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(p?)\s*$", re.IGNORECASE)


def ttl_secs(value: str | None, period_secs: float) -> float:
    """Seconds an artifact is kept: `dispatch.ttl` as seconds (`"600"`) or scheduled periods
    (`"2p"` = twice `period_secs`). An unreadable value falls back to the default `2p`
    (Splunk savedsearches.conf.spec: dispatch.ttl)."""
    m = _TTL.match(str(value or DEFAULT_TTL))
    if m is None:
        m = _TTL.match(DEFAULT_TTL)
    n = float(m.group(1))
    return n * max(period_secs, 1.0) if m.group(2) else n


class Artifacts:
    """The kept results of scheduled runs under `root` (`<home>/dispatch_scheduled`).
    `clock()`: epoch seconds (injectable for tests)."""

    def __init__(self, root: Path | str, clock=time.time) -> None:
        self.root = Path(root)
        self.clock = clock

    @classmethod
    def for_home(cls, home, clock=time.time) -> "Artifacts":
        return cls(Path(home.root) / "dispatch_scheduled", clock)

    def _dir(self, saved_id: int) -> Path:
        return self.root / str(int(saved_id))

    # -- writing --------------------------------------------------------------------------------
    def keep(self, saved_id: int, sid: str, table: pa.Table, info: dict, ttl: float) -> Path:
        """Write the artifact of run `sid` (its `table` and `info`, see the module's docstring for
        the keys; `sid`, `saved_id`, `created`, `expires`, `rows` and `fields` are set here),
        kept `ttl` seconds; then remove this search's expired artifacts and those beyond
        MAX_PER_SEARCH. Raises ValueError for a sid that cannot be a folder name, OSError when
        the disk refuses (the caller says so in the run's record)."""
        if not SAFE_SID.match(sid or ""):
            raise ValueError(f"search id {sid!r} cannot name an artifact folder")
        now = self.clock()
        base = self._dir(saved_id)
        base.mkdir(parents=True, exist_ok=True)
        tmp = base / f".tmp-{sid}"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        sink = pa.BufferOutputStream()
        with pa.ipc.new_file(sink, table.schema, options=pa.ipc.IpcWriteOptions(compression="zstd")) as w:
            w.write_table(table)
        _write(tmp / "result.arrow", sink.getvalue().to_pybytes())
        record = {**info, "sid": sid, "saved_id": int(saved_id), "created": now, "expires": now + ttl,
                  "rows": table.num_rows, "fields": list(table.column_names)}
        _write(tmp / "info.json", json.dumps(record, separators=(",", ":")).encode())
        final = base / sid
        shutil.rmtree(final, ignore_errors=True)
        os.replace(tmp, final)
        self.prune(saved_id, info.get("saved_created"))
        return final

    def prune(self, saved_id: int, born: float | None = None) -> int:
        """Remove the saved search's expired artifacts, leftovers of interrupted writes, those of
        an earlier saved search with this id (not `belongs` to `born`, when given), and all but
        its MAX_PER_SEARCH newest. Returns how many folders were removed."""
        base = self._dir(saved_id)
        if not base.is_dir():
            return 0
        removed = 0
        for d in base.iterdir():
            if d.name.startswith(".tmp-"):
                shutil.rmtree(d, ignore_errors=True)
                removed += 1
        infos = self._infos(saved_id, include_expired=True)
        now = self.clock()
        kept = 0
        for info in infos:
            if kept >= MAX_PER_SEARCH or info["expires"] <= now or info.get("unreadable") \
                    or (born is not None and not belongs(info, born)):
                shutil.rmtree(base / info["sid"], ignore_errors=True)
                removed += 1
            else:
                kept += 1
        return removed

    def forget(self, saved_id: int) -> None:
        """Remove every artifact of a saved search (it was deleted)."""
        shutil.rmtree(self._dir(saved_id), ignore_errors=True)

    # -- reading --------------------------------------------------------------------------------
    def _infos(self, saved_id: int, include_expired: bool = False, born: float | None = None) -> list[dict]:
        base = self._dir(saved_id)
        if not base.is_dir():
            return []
        out, now = [], self.clock()
        for d in base.iterdir():
            if not d.is_dir() or d.name.startswith(".tmp-") or not SAFE_SID.match(d.name):
                continue
            try:
                info = json.loads((d / "info.json").read_bytes())
                if info.get("sid") != d.name:
                    raise ValueError("its sid is not its folder's name")
            except (OSError, ValueError):
                info = {"sid": d.name, "created": 0.0, "expires": 0.0, "unreadable": True}
            if born is not None and not belongs(info, born):
                continue
            if include_expired or (info["expires"] > now and not info.get("unreadable")):
                out.append(info)
        out.sort(key=lambda i: (-float(i.get("scheduled") or i["created"]), -float(i["created"]), i["sid"]))
        return out

    def newest(self, saved_id: int, offset: int = 0, born: float | None = None) -> dict | None:
        """The info of the saved search's `offset`-th newest unexpired artifact (0: the newest),
        ordered by scheduled time; None when there are not that many. `born`: the saved search's
        creation time (artifacts of an earlier one with the same id are skipped)."""
        infos = self._infos(saved_id, born=born)
        return infos[offset] if 0 <= offset < len(infos) else None

    def count(self, saved_id: int, born: float | None = None) -> int:
        """Unexpired artifacts of the saved search (`born` as for `newest`)."""
        return len(self._infos(saved_id, born=born))

    def find(self, sid: str) -> dict | None:
        """The info of the unexpired artifact with this sid, of any saved search (None: none)."""
        m = re.match(r"^scheduler__(\d+)_at_", sid or "")
        if m is None or not SAFE_SID.match(sid):
            return None
        return next((i for i in self._infos(int(m.group(1))) if i["sid"] == sid), None)

    def table(self, info: dict) -> pa.Table:
        """The result table of an artifact. Raises OSError or pyarrow.ArrowInvalid when its file
        is gone or damaged."""
        path = self._dir(info["saved_id"]) / info["sid"] / "result.arrow"
        return pa.ipc.open_file(pa.BufferReader(path.read_bytes())).read_all()


def belongs(info: dict, born: float) -> bool:
    """Whether an artifact is of the saved search created at `born` (epoch s): its recorded
    `saved_created`, or for one written without it, written after `born`."""
    recorded = info.get("saved_created")
    if recorded is not None:
        return float(recorded) == float(born)
    return float(info.get("created") or 0.0) >= float(born)


def _write(path: Path, data: bytes) -> None:
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
