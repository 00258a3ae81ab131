"""Turning a `SearchResult` into rows and JSON: the one implementation the CLI, the API and the
web's search jobs share (events get their search-time fields here, `add_extracted`)."""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal

from speleo import sourcetypes
from speleo.query.engine import SearchResult
from speleo.query.timefmt import iso

EVENT_FIRST = ("_time", "index", "host", "source", "sourcetype", "_raw")
HIDDEN = {"_offset", "_flags", "_indextime", "linecount", "_fields"}


def _plain(v):
    if isinstance(v, float) and (math.isnan(v) or math.isinf(v)):
        return None
    if isinstance(v, float) and v.is_integer() and abs(v) < 2**53:
        return int(v)  # Splunk prints 69192717, not 69192717.0
    if isinstance(v, Decimal):
        return float(v)
    if isinstance(v, (dt.datetime, dt.date)):
        return v.isoformat()
    if isinstance(v, list):
        return [_plain(x) for x in v]
    return v


def rows(result: SearchResult, tz: dt.tzinfo) -> list[dict]:
    """Rows as dicts; `_time` as ISO 8601 with offset; null fields left out of events."""
    out = []
    for row in result.table.to_pylist():
        if "_time" in row and isinstance(row["_time"], (int, float)):
            row["_time"] = iso(row["_time"], tz)
        row = {k: _plain(v) for k, v in row.items()}
        if result.kind == "events":
            row = {k: v for k, v in row.items() if v is not None and v != ""}
        out.append(row)
    return out


def fields(result: SearchResult) -> list[str]:
    """Column names in display order (events: _time, metadata, _raw, then the rest)."""
    names = list(result.table.column_names)
    if result.kind != "events":
        return names
    first = [n for n in EVENT_FIRST if n in names]
    return first + [n for n in names if n not in first and n not in HIDDEN] + [n for n in names if n in HIDDEN]


def add_extracted(body: dict) -> None:
    """Add each event's search-time fields (its sourcetype's extractions: `clientip`, `status`...)
    to an events answer, and their names to `fields` (after the stored ones, before the hidden
    ones, in first-seen order). A stored or indexed field of the same name wins."""
    names = [n for n in body["fields"] if n not in HIDDEN]
    hidden = [n for n in body["fields"] if n in HIDDEN]
    seen = set(body["fields"])
    for ev in body["events"]:
        raw, st = ev.get("_raw"), ev.get("sourcetype")
        if not isinstance(raw, str) or not st:
            continue
        for k, v in sourcetypes.extract_fields(raw, st, ev).items():
            if k not in ev:
                ev[k] = v
            if k not in seen:
                seen.add(k)
                names.append(k)
    body["fields"] = names + hidden


def to_json(result: SearchResult, tz: dt.tzinfo, extracted: bool = True) -> dict:
    """The search API's JSON body (see docs/api.md); events with their search-time fields
    unless `extracted` is False."""
    body = {
        "kind": result.kind,
        "fields": fields(result),
        "count": result.table.num_rows,
        "total": result.total,
        "truncated": result.truncated,
        "earliest": iso(result.earliest, tz) if result.earliest not in (None, float("-inf")) else None,
        "latest": iso(result.latest, tz) if result.latest not in (None, float("inf")) else None,
        "timeline": {
            "span_secs": result.span,
            "buckets": [{"time": iso(t, tz), "epoch": t, "count": c} for t, c in result.timeline],
        },
        "scanned": result.scanned,
        "elapsed_secs": round(result.elapsed_secs, 4),
        "messages": list(result.messages),
    }
    body["events" if result.kind == "events" else "results"] = rows(result, tz)
    if extracted and result.kind == "events":
        add_extracted(body)
    return body
