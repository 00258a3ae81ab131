""""Show source": the lines of the original file around an indexed event.

Only paths that are the `source` of an event found in the index are read: the caller names an
index, a source and a byte offset, and the event is looked up with a search first. The file must
still exist, be a regular file, and lie under a monitored input's path or be a file added by
oneshot; its bytes at the offset must still start with the event's first line (otherwise the file
changed since it was indexed, e.g. rotated or truncated, and nothing is shown).
"""

from __future__ import annotations

import json
from pathlib import Path

from speleo.errors import InputError, NotFoundError
from speleo.ingest.oneshot import open_content
from speleo.query import engine

WINDOW = 64 * 1024
MAX_LINE = 2000
MAX_CONTEXT = 50


def _quote(v: str) -> str:
    return json.dumps(v)  # a double-quoted SPL string with \" and \\ escaped


def find_event(svc, index: str, source: str, offset: int, epoch: float | None, scope=None) -> dict | None:
    """The indexed event at (index, source, _offset), or None (also for an index outside the
    caller's `scope`, a `speleo.query.scope.IndexScope`)."""
    from speleo.config import check_index_name

    check_index_name(index)
    q = f"search index={index} source={_quote(source)} | where _offset={int(offset)} | head 1"
    lo = hi = None
    if epoch is not None:
        lo, hi = float(epoch) - 1, float(epoch) + 1
    compiled = engine.compile_for(q, earliest=lo, latest=hi, tz_name=svc.home.settings.default_tz, props=svc.props())
    rows = engine.execute(svc.home, svc.catalog, compiled, limit=1, scope=scope).table.to_pylist()
    return rows[0] if rows else None


def _allowed(svc, path: Path) -> bool:
    inputs = svc.catalog.query("SELECT path FROM inputs WHERE kind = 'monitor' AND disabled = 0")
    for (p,) in inputs:
        root = Path(p).resolve()
        if path == root or path.is_relative_to(root):
            return True
    for (p,) in svc.catalog.query("SELECT path FROM oneshots"):
        if Path(p).resolve() == path:
            return True
    return False


def context(svc, index: str, source: str, offset: int, epoch: float | None, lines: int = 10, scope=None) -> dict:
    """{"available": bool, "reason"?, "lines": [{"offset", "text", "event"}]} around the event."""
    lines = max(1, min(int(lines), MAX_CONTEXT))
    if offset is None or int(offset) < 0:
        raise InputError("offset must be a byte offset (0 or more)")
    ev = find_event(svc, index, source, int(offset), epoch, scope)
    if ev is None:
        raise NotFoundError("no such event in the index (index, source and offset must name an indexed event)")
    if ev.get("source") != source:   # the search matches case-insensitively and with wildcards
        raise NotFoundError("no such event in the index (index, source and offset must name an indexed event)")
    out = {"index": index, "source": source, "offset": int(offset), "available": False, "lines": []}
    path = Path(ev["source"])
    if not path.is_absolute():
        out["reason"] = "this event did not come from a file (its source is not a path)"
        return out
    path = path.resolve()
    if not _allowed(svc, path):
        out["reason"] = "the source is not a monitored input or a file added by oneshot"
        return out
    if not path.is_file():
        out["reason"] = "the source file no longer exists"
        return out
    raw = str(ev.get("_raw") or "")
    first = raw.split("\n", 1)[0].encode("utf-8", "replace")[:200]
    start = max(0, int(offset) - WINDOW)
    try:
        with open_content(path) as f:
            f.seek(start)
            data = f.read(int(offset) - start + WINDOW)
    except (OSError, EOFError) as e:
        out["reason"] = f"the source file cannot be read: {e}"
        return out
    cut = int(offset) - start
    before, after = data[:cut], data[cut:]
    if not after.startswith(first):
        out["reason"] = "the source file changed since the event was indexed (rotated or rewritten)"
        return out
    prev = before.split(b"\n")
    prev = prev[:-1]  # the empty tail after the newline that ends the previous line
    if start > 0 and prev:
        prev = prev[1:]  # first piece is cut mid-line
    prev = prev[-lines:]
    n_event = raw.count("\n") + 1
    nxt = after.split(b"\n")
    if not data.endswith(b"\n") and len(data) == int(offset) - start + WINDOW:
        nxt = nxt[:-1]  # last piece may be cut mid-line
    nxt = [x for x in nxt[: n_event + lines]]
    if nxt and nxt[-1] == b"" and len(nxt) > n_event:
        nxt = nxt[:-1]
    pos = int(offset) - sum(len(x) + 1 for x in prev)
    rows = []
    for i, b in enumerate(prev + nxt):
        text = b.rstrip(b"\r").decode("utf-8", "replace")
        rows.append({"offset": pos, "text": text[:MAX_LINE], "event": len(prev) <= i < len(prev) + n_event})
        pos += len(b) + 1
    out.update(available=True, lines=rows)
    return out
