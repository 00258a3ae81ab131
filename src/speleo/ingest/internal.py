"""Speleo's own events: what the server does, written into `_internal` and `_audit`.

Every part of the server that records its activity (the scheduler's runs, bucket lifecycle,
licence usage, sign-ins and administrative changes) calls `InternalLog.emit`, which writes one
event through the journal like any other input: durable once `emit` returns, searchable with
`index=_internal sourcetype=scheduler | stats count by status`.

An event's `_raw` is one line in the shape of Splunk's own logs
(`2026-12-04T07:50:00.123+00:00 INFO scheduler - savedsearch_name="x", status="success"`),
and its fields are also stored as indexed fields (`_fields`), so `status=success` matches
without extraction. Field names that look like secrets (password, token, secret, key) are
never written: their value becomes `********` (the charter: secrets never appear in indexes).
"""

from __future__ import annotations

import json
import re
import socket
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Iterable

import pyarrow as pa

from speleo.clock import Clock, SystemClock
from speleo.config import INTERNAL_INDEXES
from speleo.storage.schema import with_origin

if TYPE_CHECKING:
    from speleo.storage.store import Store

SECRET_NAME = re.compile(r"pass(word)?|secret|token|api_?key|private", re.I)
MAX_VALUE_CHARS = 8192


def render_value(value: Any) -> str:
    """A field value as text: lists joined by `,`, None as empty, long values cut (with `…`)."""
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        value = ",".join(render_value(v) for v in value)
    elif isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value)
    return text if len(text) <= MAX_VALUE_CHARS else text[:MAX_VALUE_CHARS] + "…"


def safe_fields(fields: dict[str, Any]) -> dict[str, str]:
    """The fields as strings, with secret-looking names masked."""
    return {str(k): "********" if SECRET_NAME.search(str(k)) else render_value(v) for k, v in fields.items()}


def render_raw(at: float, level: str, component: str, fields: dict[str, str]) -> str:
    """One Splunk-style log line: ISO time, level, component, `key="value"` pairs."""
    stamp = datetime.fromtimestamp(at, timezone.utc).isoformat(timespec="milliseconds")
    pairs = ", ".join(f'{k}="{quote_value(v)}"' for k, v in fields.items())
    return f"{stamp} {level} {component} - {pairs}"


def quote_value(v: str) -> str:
    """`v` escaped for the inside of a `key="..."` pair of a one-line `_raw`: backslash, double
    quote, CR and LF become `\\`, `\"`, `\r`, `\n` (the event stays one line)."""
    return v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")


class InternalLog:
    """Writes events into the internal indexes of one home through its store (thread-safe: the
    journal serialises appends)."""

    def __init__(self, store: "Store", host: str | None = None, clock: Clock | None = None) -> None:
        self.store = store
        self.host = host or socket.gethostname()
        self.clock = clock or SystemClock()

    def emit(self, index: str, sourcetype: str, fields: dict[str, Any], *, source: str | None = None,
             at: float | None = None, level: str = "INFO", component: str | None = None) -> None:
        """Journal one event in `index` (one of `INTERNAL_INDEXES`); `at` defaults to the clock's now.

        Raises ValueError for an index that is not internal (user indexes get user data only).
        """
        self.emit_many(index, sourcetype, [fields], source=source, at=at, level=level, component=component)

    def emit_many(self, index: str, sourcetype: str, rows: Iterable[dict[str, Any]], *, source: str | None = None,
                  at: float | None = None, level: str = "INFO", component: str | None = None,
                  meta: dict | None = None) -> int:
        """Journal several events (one per dict of `rows`, same time, level and component) with
        one fsync; returns how many were written. `meta` goes with them into the journal record
        and is applied at seal (`Store.append`'s `extra`). Raises ValueError as `emit` does."""
        if index not in INTERNAL_INDEXES:
            raise ValueError(f"{index!r} is not an internal index ({', '.join(INTERNAL_INDEXES)})")
        now = self.clock.time()
        when = now if at is None else float(at)
        safe = [safe_fields(r) for r in rows]
        if not safe:
            return 0
        comp = component or sourcetype
        n = len(safe)
        parsed = pa.table({
            "_time": pa.array([when] * n, pa.float64()),
            "_raw": pa.array([render_raw(when, level, comp, f) for f in safe], pa.string()),
            "linecount": pa.array([1] * n, pa.int32()),
            "_offset": pa.array([-1] * n, pa.int64()),
            "_flags": pa.array([""] * n, pa.string()),
            "_fields": pa.array([json.dumps(f, ensure_ascii=False) for f in safe], pa.string()),
        })
        table = with_origin(parsed, index=index, host=self.host, source=source or f"speleo:{sourcetype}",
                            sourcetype=sourcetype, indextime=now)
        self.store.append(table, extra=meta)
        return n
