"""Search job artifacts on disk, so that jobs outlive a restart (Splunk's dispatch directory,
`$SPLUNK_HOME/var/run/splunk/dispatch/<sid>`: a job's results stay readable for its ttl, also
after splunkd restarts).

`<home>/dispatch/<job id>/`:
- `job.json`: what the job is (search, range, owner and viewers, the searcher's index scope and
  limits, state, times, total, error, ttl, REST metadata, log and phases, the web answer's JSON
  when it has one). Written when the job starts (state `running`) and again when it ends.
- `result.arrow`: the engine's result table (Arrow IPC, zstd) when the job keeps it (REST jobs,
  base searches of post-process), with the result's other figures in `job.json`.

A job found `running` when the server starts was cut short by a stop or a crash: it is loaded as
`failed`, saying so. Artifacts go with their job: when its ttl passes, when the owner's job limit
drops it, on DELETE. A folder that cannot be read (a crash mid-write, a hand edit) is skipped
and counted, never fatal. Only job ids made of `[A-Za-z0-9_.-]` (every id Speleo makes) are
written: an id is a folder name.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pyarrow as pa

SAFE_ID = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,199}$")
INTERRUPTED = {"code": "interrupted",
               "message": "the server stopped while this search ran (a restart or a crash): run it again"}
_RESULT_FIELDS = ("kind", "truncated", "total", "timeline", "span", "earliest", "latest", "scanned",
                  "elapsed_secs", "messages")


def folder(home, job_id: str) -> Path | None:
    """The job's folder, or None when its id cannot be a folder name."""
    if not SAFE_ID.match(job_id or ""):
        return None
    return Path(home.root) / "dispatch" / job_id


def _write(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def save(home, record: dict, result=None) -> None:
    """Write a job's record (a JSON-able dict, see `speleo.web.jobs.Job.record`) and, when given,
    its result (an engine SearchResult: the table as Arrow, its figures into the record).
    OSError passes through (the caller counts it)."""
    d = folder(home, record["id"])
    if d is None:
        return
    d.mkdir(parents=True, exist_ok=True)
    record = dict(record)
    if result is not None:
        record["result"] = {k: getattr(result, k) for k in _RESULT_FIELDS}
        sink = pa.BufferOutputStream()
        with pa.ipc.new_file(sink, result.table.schema,
                             options=pa.ipc.IpcWriteOptions(compression="zstd")) as w:
            w.write_table(result.table)
        _write(d / "result.arrow", sink.getvalue().to_pybytes())
    elif (d / "result.arrow").exists():
        (d / "result.arrow").unlink()
    _write(d / "job.json", json.dumps(record, separators=(",", ":"), default=_plain).encode())


def _plain(v):
    if isinstance(v, (set, frozenset, tuple)):
        return list(v)
    raise TypeError(f"{type(v).__name__} is not JSON")


def records(home) -> list[dict]:
    """Every readable job record (without results), and the folders that were not readable as
    {"id", "unreadable": reason} entries."""
    root = Path(home.root) / "dispatch"
    out: list[dict] = []
    if not root.is_dir():
        return out
    for d in sorted(root.iterdir()):
        if not d.is_dir() or not SAFE_ID.match(d.name):
            continue
        try:
            rec = json.loads((d / "job.json").read_bytes())
            if rec.get("id") != d.name:
                raise ValueError("its id is not its folder's name")
            out.append(rec)
        except (OSError, ValueError) as e:
            out.append({"id": d.name, "unreadable": str(e)[:200]})
    return out


def load(home, job_id: str) -> dict | None:
    """One job's record, or None (no folder, or not readable)."""
    d = folder(home, job_id)
    if d is None:
        return None
    try:
        rec = json.loads((d / "job.json").read_bytes())
    except (OSError, ValueError):
        return None
    return rec if isinstance(rec, dict) and rec.get("id") == job_id else None


def result(home, record: dict):
    """The engine SearchResult a record's folder keeps, or None (none kept, or unreadable)."""
    from speleo.query.engine import SearchResult

    d = folder(home, record["id"])
    figures = record.get("result")
    if d is None or figures is None:
        return None
    try:
        table = pa.ipc.open_file(pa.BufferReader((d / "result.arrow").read_bytes())).read_all()
    except (OSError, pa.ArrowInvalid):
        return None
    figures = dict(figures)
    figures["timeline"] = [tuple(x) for x in figures.get("timeline") or []]
    return SearchResult(table=table, **figures)


def remove(home, job_id: str) -> None:
    d = folder(home, job_id)
    if d is not None:
        shutil.rmtree(d, ignore_errors=True)
