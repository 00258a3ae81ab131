"""The HTTP Event Collector protocol, without the HTTP: replies and event envelopes.

Pure functions: `reply()` builds Splunk's status bodies, `parse_events()` turns the body of
`/services/collector/event` (concatenated JSON envelopes or a JSON array of them) into columns of
events, stopping at the first bad envelope as Splunk does (the good ones before it are kept and
the error names the bad one's number, counted from 0). The HTTP side is `speleo.server.hec_app`.

Choices (see docs/inputs.md): an `event` object or array is stored as compact JSON in `_raw`,
a string as is; `fields` (Splunk's indexed fields) are validated (a flat object of strings,
numbers or arrays of them, else code 15) and stored as compact JSON in the `_fields` column
(arrays stay arrays), which search-time field lookup reads first; `_raw` stays the event.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import Callable

from speleo.config import INDEX_NAME_RE

# code -> (HTTP status, text), from Splunk's "Troubleshoot HTTP Event Collector" table.
CODES: dict[int, tuple[int, str]] = {
    0: (200, "Success"),
    1: (403, "Token disabled"),
    2: (401, "Token is required"),
    3: (401, "Invalid authorization"),
    4: (403, "Invalid token"),
    5: (400, "No data"),
    6: (400, "Invalid data format"),
    7: (400, "Incorrect index"),
    8: (500, "Internal server error"),
    9: (503, "Server is busy"),
    10: (400, "Data channel is missing"),
    11: (400, "Invalid data channel"),
    12: (400, "Event field is required"),
    13: (400, "Event field cannot be blank"),
    14: (400, "ACK is disabled"),
    15: (400, "Error in handling indexed fields"),
    16: (400, "Query string authorization is not enabled"),
    17: (200, "HEC is healthy"),
    18: (503, "HEC is unhealthy, queues are full"),
    19: (503, "HEC is unhealthy, ack service unavailable"),
    20: (503, "HEC is unhealthy, queues are full, ack service unavailable"),
}

DEFAULT_SOURCETYPE = "httpevent"
# Splunk's limits.conf [http_input] max_content_length default: 800 MB.
DEFAULT_MAX_CONTENT_BYTES = 838_860_800
# Speleo's own bound on a gzip body once decompressed (the whole body is parsed in memory):
# 100 MiB, so a small compressed body cannot make the server allocate hundreds of megabytes.
DEFAULT_MAX_DECOMPRESSED_BYTES = 100 * 1024 * 1024
MAX_EPOCH = 253_402_300_800.0  # 10000-01-01: later times are refused (code 6)
CHANNEL_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_WS = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()
_SPACE = " \t\n\r"   # JSON's whitespace
_MISSING = object()


@dataclass
class Reply:
    """An HTTP status and the JSON body Splunk sends with it."""

    status: int
    body: dict


def reply(code: int, **extra) -> Reply:
    status, text = CODES[code]
    return Reply(status, {"text": text, "code": code, **extra})


@dataclass
class Defaults:
    """Metadata for envelopes that do not set it, and the index rules of the token."""

    host: str
    source: str
    sourcetype: str
    index: str
    allowed: Callable[[str], bool]   # the token may write to this index, and it exists


@dataclass
class Batch:
    """Columns of the events parsed so far (EVENT_SCHEMA names)."""

    _time: list = field(default_factory=list)
    _raw: list = field(default_factory=list)
    host: list = field(default_factory=list)
    source: list = field(default_factory=list)
    sourcetype: list = field(default_factory=list)
    index: list = field(default_factory=list)
    linecount: list = field(default_factory=list)
    _fields: list = field(default_factory=list)   # JSON object text of indexed fields, or None

    def __len__(self) -> int:
        return len(self._raw)

    def columns(self) -> dict[str, list]:
        return dict(self.__dict__)


class _Bad(Exception):
    def __init__(self, code: int) -> None:
        self.code = code


def valid_channel(channel: str) -> bool:
    return bool(CHANNEL_RE.match(channel))


def parse_time(value, now: float) -> float:
    """Epoch seconds from an envelope's `time` (number or numeric string); raises _Bad(6)."""
    if value is None:
        return now
    if isinstance(value, bool):
        raise _Bad(6)
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            raise _Bad(6) from None
    if not isinstance(value, (int, float)):
        raise _Bad(6)
    try:
        t = float(value)
    except OverflowError:   # an integer past a double's range (over 308 digits): not a time
        raise _Bad(6) from None
    if not math.isfinite(t) or t < 0 or t >= MAX_EPOCH:
        raise _Bad(6)
    return t


def event_text(value) -> str:
    """`_raw` of an envelope's `event`; raises _Bad(12) when missing, _Bad(13) when blank."""
    if value is None:
        raise _Bad(12)
    if isinstance(value, str):
        if not value.strip():
            raise _Bad(13)
        return value
    if isinstance(value, (dict, list)) and not value:
        raise _Bad(13)
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def check_fields(value) -> None:
    """Indexed fields: a flat object of scalars or arrays of scalars; raises _Bad(15)."""
    if value is None:
        return
    if not isinstance(value, dict):
        raise _Bad(15)
    for v in value.values():
        items = v if isinstance(v, list) else [v]
        if any(isinstance(x, (dict, list)) for x in items):
            raise _Bad(15)


def fields_text(value) -> str | None:
    """`_fields` of an envelope's validated `fields`: compact JSON, or None when there are none.

    Nulls are dropped (an indexed field without a value is no field); an array keeps its
    non-null items, in order.
    """
    if not value:
        return None
    out = {}
    for k, v in value.items():
        if isinstance(v, list):
            v = [x for x in v if x is not None]
            if not v:
                continue
        elif v is None:
            continue
        out[k] = v
    if not out:
        return None
    return json.dumps(out, separators=(",", ":"), ensure_ascii=False)


def _meta(env: dict, key: str, default: str) -> str:
    value = env.get(key)
    if value is None or value == "":
        return default
    if not isinstance(value, str):
        raise _Bad(6)
    return value


def envelope(env, defaults: Defaults, now: float, checked: set[str] | None = None) -> tuple:
    """Validate one envelope; returns its event as a row in `Batch`'s column order (`_time`,
    `_raw`, host, source, sourcetype, index, linecount, `_fields`); raises _Bad(code).
    `checked`: the indexes already found valid and allowed in this body (asked once per body,
    not per event)."""
    if type(env) is not dict:   # what json gives for an object
        raise _Bad(6)
    get = env.get
    value = get("event", _MISSING)
    if value is _MISSING:
        raise _Bad(12)
    raw = value if type(value) is str and value and not value.isspace() else event_text(value)
    t = get("time")
    t = now if t is None else parse_time(t, now)
    host, source, sourcetype, index = get("host"), get("source"), get("sourcetype"), get("index")
    host = host if type(host) is str and host else _meta(env, "host", defaults.host)
    source = source if type(source) is str and source else _meta(env, "source", defaults.source)
    sourcetype = sourcetype if type(sourcetype) is str and sourcetype else _meta(env, "sourcetype", defaults.sourcetype)
    index = index if type(index) is str and index else _meta(env, "index", defaults.index)
    if checked is None or index not in checked:
        if not INDEX_NAME_RE.match(index) or not defaults.allowed(index):
            raise _Bad(7)
        if checked is not None:
            checked.add(index)
    fields = get("fields")
    if fields is not None:
        check_fields(fields)
        fields = fields_text(fields)
    return t, raw, host, source, sourcetype, index, raw.count("\n") + 1, fields


def _batch(rows: list[tuple]) -> Batch:
    return Batch(*map(list, zip(*rows))) if rows else Batch()


def _plain(envs: list, defaults: Defaults, now: float, checked: set[str]) -> Batch | None:
    """The batch of `envs` when every envelope is plain: an object whose `event` is a non-blank
    string, `time` absent or valid, host/source/sourcetype/index absent, empty or strings, the
    indexes allowed, no `fields`. None otherwise: `envelope()` then reads them one by one and
    finds the first bad one. One pass per column instead of a call per envelope."""
    if not all(type(e) is dict for e in envs):
        return None
    raws = [e.get("event") for e in envs]
    if not all(type(v) is str and v and not v.isspace() for v in raws):
        return None
    if any(e.get("fields") is not None for e in envs):
        return None
    times = [e.get("time") for e in envs]
    if any(t is not None for t in times):
        try:
            times = [now if t is None else parse_time(t, now) for t in times]
        except _Bad:
            return None
    else:
        times = [now] * len(envs)
    meta = []
    for key, default in (("host", defaults.host), ("source", defaults.source),
                         ("sourcetype", defaults.sourcetype), ("index", defaults.index)):
        values = [e.get(key) for e in envs]
        if all(v is None for v in values):
            meta.append([default] * len(envs))
            continue
        if not all(v is None or type(v) is str for v in values):
            return None
        meta.append([v if v else default for v in values])
    for index in set(meta[3]) - checked:
        if not INDEX_NAME_RE.match(index) or not defaults.allowed(index):
            return None
        checked.add(index)
    return Batch(times, raws, *meta, [r.count("\n") + 1 for r in raws], [None] * len(envs))


def parse_events(body: bytes, defaults: Defaults, now: float) -> tuple[Batch, Reply | None]:
    """Events of an `/event` body and the error that stopped it (None when all were good).

    The body is UTF-8; invalid bytes end the batch there with code 6, like malformed JSON.
    Documents are read by the json module's scanner (`JSONDecoder.raw_decode` without its
    wrapper) up to the end or the first malformed one; their envelopes are then checked in
    order, so the first bad envelope, if any, is the error (its number counted from 0), else
    the malformed document (numbered after the envelopes before it).
    """
    try:
        text, cut = body.decode("utf-8"), None
    except UnicodeDecodeError as e:
        text, cut = body[: e.start].decode("utf-8"), e.start
    if cut is None and not text.strip():
        return Batch(), reply(5)
    pos = 0
    envs: list = []
    malformed = False
    scan, ws, size = _DECODER.scan_once, _WS.match, len(text)
    try:
        while True:
            if pos < size and text[pos] in _SPACE:
                pos = ws(text, pos).end()
            if pos >= size:
                break
            doc, pos = scan(text, pos)
            if type(doc) is list:
                envs.extend(doc)
            else:
                envs.append(doc)
    except (StopIteration, ValueError, RecursionError):   # StopIteration: the scanner found no value
        malformed = True
    checked: set[str] = set()
    batch = _plain(envs, defaults, now, checked) if envs else Batch()
    if batch is None:
        rows: list[tuple] = []
        try:
            for env in envs:
                rows.append(envelope(env, defaults, now, checked))
        except _Bad as e:
            return _batch(rows), reply(e.code, **{"invalid-event-number": len(rows)})
        except (ValueError, RecursionError):   # json.dumps of an event nested too deep
            return _batch(rows), reply(6, **{"invalid-event-number": len(rows)})
        batch = _batch(rows)
    n = len(envs)
    if malformed or cut is not None:
        return batch, reply(6, **{"invalid-event-number": n})
    if n == 0:
        return batch, reply(5)
    return batch, None


def parse_ack_query(body: bytes) -> list[int] | None:
    """The ids of an `/ack` body `{"acks": [0, 1]}`, or None when it is malformed."""
    try:
        doc = json.loads(body)
    except (ValueError, RecursionError):
        return None
    if not isinstance(doc, dict) or not isinstance(doc.get("acks"), list):
        return None
    ids = doc["acks"]
    if not all(isinstance(i, int) and not isinstance(i, bool) and i >= 0 for i in ids):
        return None
    return ids
