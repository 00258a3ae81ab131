"""Search results in Splunk's REST formats: the JSON result document, XML `<results>`, CSV and raw
(Splunk REST API reference, search/jobs/{sid}/results and search/jobs/export; the shapes
splunk-sdk-python's `JSONResultsReader` and `ResultsReader` read).

Every value is a string (Splunk renders numbers as text); a multivalue field is a list of strings;
a field absent from a row (null) is left out of that row; `_time` is `%Y-%m-%dT%H:%M:%S.%3N%:z`
in the server's time zone (Splunk's default `time_format`). Events carry their search-time
fields (their sourcetype's extractions) as the web page's do.

`page(result, offset, count)` cuts rows out of a job's Arrow table without converting the rest, so
paging through a million results converts each row once, when it is asked for.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
from decimal import Decimal
from typing import Iterable, Iterator
from xml.sax.saxutils import escape, quoteattr

from speleo import sourcetypes
from speleo.query.results import HIDDEN, fields as ordered_fields

MODES = ("json", "xml", "csv", "raw")
MEDIA = {"json": "application/json", "xml": "text/xml; charset=utf-8", "csv": "text/csv; charset=utf-8",
         "raw": "text/plain; charset=utf-8"}
EXPORT_CHUNK_ROWS = 1000   # rows converted and sent at a time by export


def mode_of(params: dict, default: str = "xml") -> str:
    """The `output_mode` asked for (json, xml, csv, raw; Splunk's default is xml). Raises
    ValueError for another one."""
    mode = (params.get("output_mode") or default).lower()
    if mode == "json_rows" or mode == "json_cols":   # Splunk's other JSON layouts: rows of objects here
        mode = "json"
    if mode not in MODES:
        raise ValueError(f"output_mode={mode!r}: use one of {', '.join(MODES)}")
    return mode


def splunk_time(ts, tz: dt.tzinfo) -> str:
    """Epoch seconds -> `2025-01-01T00:00:03.000+00:00` (Splunk's default time_format)."""
    try:
        return dt.datetime.fromtimestamp(float(ts), tz).isoformat(timespec="milliseconds")
    except (OverflowError, ValueError, OSError, TypeError):
        return str(ts)


def _text(v) -> str | list[str] | None:
    if v is None:
        return None
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, float):
        if math.isnan(v) or math.isinf(v):
            return None
        return str(int(v)) if v.is_integer() and abs(v) < 2**53 else repr(v)
    if isinstance(v, Decimal):
        return format(v, "f")
    if isinstance(v, (list, tuple)):
        items = [x for x in (_text(i) for i in v) if x is not None]
        return [x if isinstance(x, str) else json.dumps(x) for x in items]
    if isinstance(v, (dt.datetime, dt.date)):
        return v.isoformat()
    if isinstance(v, dict):
        return json.dumps(v)
    return str(v)


def field_names(result) -> list[str]:
    """The fields of a result in display order, without Speleo's internal columns."""
    return [n for n in ordered_fields(result) if n not in HIDDEN]


def page(result, offset: int, count: int, tz: dt.tzinfo) -> list[dict]:
    """Rows `offset`..`offset+count` (count 0 = to the end) of a SearchResult as Splunk rows."""
    if result is None:
        return []
    table = result.table
    offset = max(0, offset)
    if offset >= table.num_rows:
        return []
    length = table.num_rows - offset if count <= 0 else min(count, table.num_rows - offset)
    return convert(result, table.slice(offset, length).to_pylist(), tz)


def convert(result, raw_rows: list[dict], tz: dt.tzinfo | None = None) -> list[dict]:
    tz = tz or dt.timezone.utc
    events = result.kind == "events"
    out = []
    for row in raw_rows:
        new: dict = {}
        for k, v in row.items():
            if k in HIDDEN:
                continue
            if k == "_time" and isinstance(v, (int, float)) and not isinstance(v, bool):
                new[k] = splunk_time(v, tz)
                continue
            t = _text(v)
            if t is not None and (t != "" or not events):
                new[k] = t
        if events and isinstance(new.get("_raw"), str) and new.get("sourcetype"):
            for k, v in sourcetypes.extract_fields(new["_raw"], new["sourcetype"], new).items():
                if k not in new and v is not None:
                    t = _text(v)
                    if t is not None:
                        new[k] = t
        out.append(new)
    return out


def names_of(result, rows: list[dict]) -> list[str]:
    """Stored fields first (display order), then search-time fields in first-seen order."""
    names = field_names(result) if result is not None else []
    seen = set(names)
    for r in rows:
        for k in r:
            if k not in seen:
                seen.add(k)
                names.append(k)
    return names


def messages_of(result, extra: list[dict] | None = None) -> list[dict]:
    """The job's messages as `{"type", "text"}` (the SDK's reader shows the last one of a line)."""
    msgs = [{"type": "INFO", "text": m} for m in (getattr(result, "messages", None) or [])]
    return msgs + list(extra or [])


# -- whole documents (results, results_preview, events, oneshot) -------------------------------------
def document(mode: str, result, rows: list[dict], offset: int, preview: bool,
             messages: list[dict] | None = None) -> str:
    """One results document in `mode`."""
    names = names_of(result, rows)
    if mode == "json":
        return json.dumps({"preview": preview, "init_offset": offset, "messages": messages or [],
                           "fields": [{"name": n} for n in names], "results": rows, "highlighted": {}},
                          separators=(",", ":"))
    if mode == "csv":
        return csv_text(names, rows, header=True)
    if mode == "raw":
        return raw_text(rows)
    return xml_head(names, preview, messages) + "".join(xml_row(r, offset + i) for i, r in enumerate(rows)) + \
        "</results>\n"


def csv_text(names: list[str], rows: Iterable[dict], header: bool) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    if header:
        w.writerow(names)
    for r in rows:
        w.writerow(["\n".join(v) if isinstance(v, list) else v for v in (r.get(n, "") for n in names)])
    return buf.getvalue()


def raw_text(rows: Iterable[dict]) -> str:
    return "".join((r.get("_raw") if isinstance(r.get("_raw"), str) else json.dumps(r)) + "\n" for r in rows)


def xml_head(names: list[str], preview: bool, messages: list[dict] | None) -> str:
    order = "".join(f"<field>{escape(n)}</field>" for n in names)
    msgs = "".join(f"<msg type={quoteattr(m['type'])}>{escape(m['text'])}</msg>" for m in messages or [])
    return (f"<?xml version='1.0' encoding='UTF-8'?>\n<results preview='{int(preview)}'>\n"
            f"<meta><fieldOrder>{order}</fieldOrder></meta>\n" + (f"<messages>{msgs}</messages>\n" if msgs else ""))


def xml_row(row: dict, offset: int) -> str:
    parts = []
    for k, v in row.items():
        if k == "_raw":
            parts.append(f"<field k='_raw'><v xml:space='preserve' trunc='0'>{escape(str(v))}</v></field>")
            continue
        values = v if isinstance(v, list) else [v]
        inner = "".join(f"<value><text>{escape(x)}</text></value>" for x in values)
        parts.append(f"<field k={quoteattr(k)}>{inner}</field>")
    return f"<result offset='{offset}'>{''.join(parts)}</result>\n"


# -- export: a stream -------------------------------------------------------------------------------
def export_chunks(mode: str, result, tz: dt.tzinfo, messages: list[dict] | None = None) -> Iterator[str]:
    """The export body of a finished result, EXPORT_CHUNK_ROWS rows at a time (JSON lines:
    `{"preview":false,"offset":N,"result":{...}}`, the last with `"lastrow":true`; no rows: one
    `{"preview":false,"lastrow":true}` line)."""
    table = result.table if result is not None else None
    total = table.num_rows if table is not None else 0
    if mode == "json":
        for m in messages or []:
            yield json.dumps({"preview": False, "messages": [m]}, separators=(",", ":")) + "\n"
        if total == 0:
            yield '{"preview":false,"lastrow":true}\n'
            return
    names: list[str] | None = None
    for start in range(0, max(total, 1), EXPORT_CHUNK_ROWS):
        rows = convert(result, table.slice(start, EXPORT_CHUNK_ROWS).to_pylist(), tz) if total else []
        if mode == "json":
            lines = []
            for i, r in enumerate(rows):
                line = {"preview": False, "offset": start + i}
                if start + i == total - 1:
                    line["lastrow"] = True
                line["result"] = r
                lines.append(json.dumps(line, separators=(",", ":")) + "\n")
            yield "".join(lines)
        elif mode == "csv":
            if names is None:
                names = names_of(result, rows)
            yield csv_text(names, rows, header=start == 0)
        elif mode == "raw":
            yield raw_text(rows)
        else:
            if start == 0:
                yield xml_head(names_of(result, rows), False, messages)
            yield "".join(xml_row(r, start + i) for i, r in enumerate(rows))
    if mode == "xml":
        yield "</results>\n"
