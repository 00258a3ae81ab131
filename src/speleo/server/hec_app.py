"""The HTTP Event Collector endpoint: a small ASGI app on its own port, Splunk-compatible.

Endpoints (see docs/inputs.md): `/services/collector` and `/services/collector/event` (also
`/1.0`), `/services/collector/raw` (also `/1.0`), `/services/collector/health` (also `/1.0`,
no token), `/services/collector/ack`. Every other endpoint needs `Authorization: Splunk <token>`.

Events are appended to the store's journal and fsynced before the answer, so an `ackId` is true
as soon as its request was answered with success. An uncompressed `/event` body up to
`INLINE_MAX_BYTES` is parsed on the event loop and its record written by the journal's group
commit (`journal.GroupCommit`: one thread, one fsync for the records of the requests that
arrived meanwhile; each request answered once the fsync covering it returned); other requests
(gzip, larger bodies, `/raw`, `/ack`) are worked in a worker thread. A thread per request cost
more CPU than parsing 100 events (decision 0031). When more than `max_inflight` requests are
being written the endpoint answers code 9 (server is busy) instead of queueing what it cannot
make durable soon.

Tokens are looked up in the catalog by SHA-256 per request, through a cache with a short TTL
(a hit is answered on the event loop, a miss reads SQLite in a thread), so tokens created,
disabled or deleted while the server runs take effect within seconds.
Token secrets never reach a log line.

Bounds: a body is read only after its token is checked, and never past `max_content_bytes`
(the declared Content-Length is checked first; chunked bodies are counted as they arrive); a
gzip body is decompressed in 1 MiB steps and refused with 413 as soon as it passes
`max_decompressed_bytes`; all requests together hold at most `max_buffered_bytes` of bodies
(received and decompressed; 1 GiB, or one largest body and its decompression when more), past
which a request gets code 9 (busy). Every refusal is counted (`refusals`, by reason).

Health: code 17 while writes succeed; code 18 (503) while the server is busy, the last journal
write failed less than `STORAGE_RETRY_SECS` ago, or the journal's disk has less than
`min_free_bytes` free. A request whose write fails for lack of space (or any OS error of the
journal) gets code 9 (503, server is busy: the client keeps the events and retries); other
failures get code 8.
"""

from __future__ import annotations

import asyncio
import json
import logging
import shutil
import threading
import time
import zlib
from collections import OrderedDict
from dataclasses import dataclass
from urllib.parse import parse_qs

import pyarrow as pa

from speleo.ingest import hec
from speleo.ingest.limits import MemoryBudget, Refusals
from speleo.ingest.pipeline import Origin, default_host
from speleo.storage import tokens as tok
from speleo.storage.journal import GroupCommit, Journal
from speleo.storage.schema import EVENT_SCHEMA

log = logging.getLogger("speleo.hec")

TOKEN_TTL_SECS = 2.0
INDEX_TTL_SECS = 2.0
MAX_CHANNELS = 10_000
MAX_ACKS_PER_CHANNEL = 100_000
GUNZIP_STEP_BYTES = 1024 * 1024
# refusals counted by their HEC code: authentication (1-4), data (5-7, 12, 13, 15), channels and acks
COUNTED_CODES = frozenset({1, 2, 3, 4, 5, 6, 7, 10, 11, 12, 13, 14, 15})
STORAGE_RETRY_SECS = 10.0
DEFAULT_MAX_BUFFERED_BYTES = 1024 * 1024 * 1024
JSON_HEADERS = [(b"content-type", b"application/json; charset=UTF-8")]
# an uncompressed /event body up to this size is parsed on the event loop (about 2 ms at most)
# and its fsync shared with concurrent requests; larger ones, gzip, /raw and /ack go to a thread
INLINE_MAX_BYTES = 64 * 1024


@dataclass
class HecSettings:
    max_content_bytes: int = hec.DEFAULT_MAX_CONTENT_BYTES
    max_decompressed_bytes: int = hec.DEFAULT_MAX_DECOMPRESSED_BYTES
    max_inflight: int = 64
    min_free_bytes: int = 16 * 1024 * 1024   # less free on the journal's disk: unhealthy (code 18)
    # request bodies held at once, received and decompressed, across requests (at least one
    # largest body and its decompression): past it a request gets code 9 (busy)
    max_buffered_bytes: int = DEFAULT_MAX_BUFFERED_BYTES

    def buffer_budget(self) -> int:
        return max(self.max_buffered_bytes, self.max_content_bytes + self.max_decompressed_bytes)


class IndexNotCached(Exception):
    """An index name the fresh cache of `HecService` does not hold (see `index_cached`)."""


class Busy(Exception):
    """The bodies held by all requests would pass `HecSettings.max_buffered_bytes`."""


class TooLarge(Exception):
    def __init__(self, size: int, limit: int, what: str = "Content-Length") -> None:
        self.size = size
        self.limit = limit
        self.what = what

    def reply(self) -> hec.Reply:
        """HTTP 413 with Splunk's text (no HEC code)."""
        return hec.Reply(413, {"text": f"{self.what} of {self.size} too large (maximum is {self.limit})"})


class Acks:
    """Indexer acknowledgement state: per channel, the ids of requests made durable.

    Ids count from 0 per channel. As in Splunk, an id reported true is forgotten afterwards.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._channels: OrderedDict[str, dict] = OrderedDict()

    def _channel(self, channel: str) -> dict:
        ch = self._channels.get(channel)
        if ch is None:
            ch = self._channels[channel] = {"next": 0, "done": OrderedDict()}
            while len(self._channels) > MAX_CHANNELS:
                self._channels.popitem(last=False)
        self._channels.move_to_end(channel)
        return ch

    def next_id(self, channel: str) -> int:
        with self._lock:
            ch = self._channel(channel)
            ack_id = ch["next"]
            ch["next"] += 1
            return ack_id

    def done(self, channel: str, ack_id: int) -> None:
        with self._lock:
            done = self._channel(channel)["done"]
            done[ack_id] = True
            while len(done) > MAX_ACKS_PER_CHANNEL:
                done.popitem(last=False)

    def query(self, channel: str, ids: list[int]) -> dict[str, bool]:
        with self._lock:
            done = self._channel(channel)["done"]
            return {str(i): done.pop(i, None) is not None for i in ids}


class HecService:
    """What the HEC endpoint needs from the server: tokens, indexes, the store, acks."""

    def __init__(self, catalog, ingestor, settings: HecSettings | None = None, *,
                 refusals: Refusals | None = None, source: str = "hec", clock=time.monotonic) -> None:
        self.catalog = catalog
        self.refusals = refusals or Refusals()
        self.source = source
        self.clock = clock
        self.storage_error: tuple[float, str] | None = None   # (clock time, what) of the last failed write
        self.ingestor = ingestor
        self.settings = settings or HecSettings()
        self.buffers = MemoryBudget(self.settings.buffer_budget())
        self.acks = Acks()
        self.host = default_host()
        self._tokens: dict[str, tuple[float, tok.HecToken | None]] = {}
        self._indexes: tuple[float, set[str]] = (0.0, set())
        self._lock = threading.Lock()
        self.inflight = 0
        self.commits: GroupCommit | None = None   # made at the first write on the event loop
        self.events_total = 0
        self.requests_total = 0

    # -- tokens and indexes ------------------------------------------------------------
    def cached_token(self, secret: str) -> tuple[bool, tok.HecToken | None]:
        """(True, the token or None when unknown) from the cache while fresh; (False, None)
        when the catalog must be asked (`token`, in a thread: it reads SQLite)."""
        hit = self._tokens.get(tok.token_digest(secret))
        if hit and hit[0] > time.monotonic():
            return True, hit[1]
        return False, None

    def token(self, secret: str) -> tok.HecToken | None:
        digest = tok.token_digest(secret)
        now = time.monotonic()
        hit = self._tokens.get(digest)
        if hit and hit[0] > now:
            return hit[1]
        found = tok.lookup(self.catalog, digest)
        if len(self._tokens) > 10_000:
            self._tokens.clear()
        self._tokens[digest] = (now + TOKEN_TTL_SECS, found)
        return found

    def refresh_indexes(self) -> None:
        self._indexes = (time.monotonic() + INDEX_TTL_SECS, set(self.catalog.index_names()))

    def index_cached(self, name: str) -> bool:
        """`index_exists` without the catalog: True when the fresh cache has `name`, else
        raises IndexNotCached (the caller reads the catalog in a thread and asks again)."""
        expires, names = self._indexes
        if name in names and expires > time.monotonic():
            return True
        raise IndexNotCached(name)

    def index_exists(self, name: str) -> bool:
        expires, names = self._indexes
        if name in names and expires > time.monotonic():
            return True
        names = set(self.catalog.index_names())
        self._indexes = (time.monotonic() + INDEX_TTL_SECS, names)
        return name in names

    def defaults(self, token: tok.HecToken, params: dict[str, str], exists=None) -> hec.Defaults:
        """Metadata defaults of a request; `exists(index)`: how an index is looked up
        (default `index_exists`, which may read the catalog)."""
        exists = exists or self.index_exists

        def allowed(index: str) -> bool:
            return token.allows(index) and exists(index)

        return hec.Defaults(
            host=params.get("host") or self.host,
            source=params.get("source") or f"http:{token.name}",
            sourcetype=params.get("sourcetype") or token.sourcetype or hec.DEFAULT_SOURCETYPE,
            index=params.get("index") or token.default_index,
            allowed=allowed,
        )

    # -- health -------------------------------------------------------------------------
    def unhealthy(self) -> str | None:
        """Why HEC cannot take events now (None: healthy): busy, a recent failed write, a full disk."""
        if self.inflight >= self.settings.max_inflight:
            return "busy"
        err = self.storage_error
        if err is not None and self.clock() - err[0] < STORAGE_RETRY_SECS:
            return err[1]
        journal = getattr(getattr(self.ingestor.store, "journal", None), "folder", None)
        if journal is not None:
            try:
                if shutil.disk_usage(journal).free < self.settings.min_free_bytes:
                    return "no space left on the journal's disk"
            except OSError as e:
                return f"journal disk unreadable: {e}"
        return None

    def write_failed(self, e: OSError) -> None:
        """Record a failed journal write: HEC is unhealthy for `STORAGE_RETRY_SECS`, and counted."""
        what = f"journal write failed: {e.strerror or e}"
        self.storage_error = (self.clock(), what)
        self.refusals.count(self.source, f"request refused (code 9): {what}")

    def refused(self, reason: str) -> None:
        self.refusals.count(self.source, reason)

    def full(self) -> bool:
        """True, and counted as a refusal, when `max_inflight` requests are being written."""
        if self.inflight < self.settings.max_inflight:
            return False
        self.refused("request refused (code 9): too many requests being written")
        return True

    # -- writing ------------------------------------------------------------------------
    def write_events(self, body: bytes, token: tok.HecToken, params: dict[str, str]) -> tuple[int, hec.Reply | None]:
        now = time.time()
        batch, error = hec.parse_events(body, self.defaults(token, params), now)
        if len(batch):
            self.store_batch(batch, now)
        return len(batch), error

    async def write_events_async(self, body: bytes, token: tok.HecToken,
                                 params: dict[str, str]) -> tuple[int, hec.Reply | None]:
        """`write_events` on the event loop, for bodies small enough to parse there: the record
        goes to the journal's group commit (one fsync for the requests that arrived meanwhile)
        and this returns once it is durable. Raises the journal's OSError."""
        now = time.time()
        try:   # the catalog is never read on the event loop
            batch, error = hec.parse_events(body, self.defaults(token, params, self.index_cached), now)
        except IndexNotCached:
            await asyncio.to_thread(self.refresh_indexes)
            names = self._indexes[1]
            batch, error = hec.parse_events(body, self.defaults(token, params, names.__contains__), now)
        n = len(batch)
        if n:
            table = self.table(batch, now)
            store = self.ingestor.store
            if isinstance(getattr(store, "journal", None), Journal) and hasattr(store, "record"):
                if self.commits is None:
                    self.commits = GroupCommit(store.journal)
                await self.commits.append(store.record(table))
            else:   # a store without a journal of its own (tests): its append, in a thread
                await asyncio.to_thread(store.append, table)
            with self._lock:
                self.events_total += n
        return n, error

    def close(self) -> None:
        """End the group commit's thread (after what was submitted is written)."""
        if self.commits is not None:
            self.commits.close()

    def store_batch(self, batch: hec.Batch, now: float) -> None:
        self.ingestor.store.append(self.table(batch, now))
        with self._lock:
            self.events_total += len(batch)

    def table(self, batch: hec.Batch, now: float) -> pa.Table:
        """The batch as a table in the event schema's order and types (Store.append's conform()
        then has nothing to do)."""
        cols = batch.columns()
        n = len(batch)
        try:
            arrays = {k: _column(v, _KINDS.get(k, _STRING), k != "_raw") for k, v in cols.items()}
            flags = _repeated("", pa.string(), n)
        except (pa.ArrowException, UnicodeEncodeError):  # lone surrogates from JSON \ud800 escapes
            arrays, flags = _sanitized(cols)
        arrays["_indextime"] = pa.repeat(pa.scalar(now, pa.float64()), n)
        arrays["_offset"] = _repeated(-1, pa.int64(), n)
        arrays["_flags"] = flags
        return pa.Table.from_arrays([arrays[f.name] for f in EVENT_SCHEMA], schema=EVENT_SCHEMA)

    def write_raw(self, body: bytes, token: tok.HecToken, params: dict[str, str]) -> tuple[int, hec.Reply | None]:
        d = self.defaults(token, params)
        if not d.allowed(d.index):
            return 0, hec.reply(7)
        if not body.strip():
            return 0, hec.reply(5)
        now = time.time()
        from speleo import sourcetypes
        from speleo.ingest.breaking import EventParser

        st = sourcetypes.get(d.sourcetype, self.ingestor.props, source=d.source)
        parser = EventParser(st, tz=st.tz or self.ingestor.tz, clock=self.ingestor.clock)
        chunk = parser.parse(body, 0, True, now)
        n = self.ingestor.append(chunk, Origin(d.index, d.source, d.sourcetype, d.host))
        with self._lock:
            self.events_total += n
        return n, None


_STRING = pa.string()
_KINDS = {"_time": pa.float64(), "linecount": pa.int32()}


def _column(values: list, kind: pa.DataType, may_repeat: bool) -> pa.Array:
    """An Arrow array of `values`; one value repeated (a batch's host, sourcetype, index, no
    indexed fields) is made without converting each item (half the cost of a HEC request's
    arrays). Raises what `pa.array` raises."""
    if may_repeat and values:
        first = values[0]
        if values.count(first) == len(values) and (first is None or type(first) in (str, float, int)):
            if type(first) is float:   # -0.0 == 0.0: never cached
                return pa.repeat(pa.scalar(first, kind), len(values))
            return _repeated(first, kind, len(values))
    return pa.array(values, kind)


# arrays of one value repeated (host, source, index, linecount 1, no fields: most of a batch's
# columns), kept for the next batch of the same size: Arrow arrays are immutable
_REPEATED: dict[tuple, pa.Array] = {}
REPEATED_ENTRIES = 256
REPEATED_MAX_BYTES = 64 * 1024   # per array: all of them hold at most 16 MiB


def _repeated(value: str | int | None, kind: pa.DataType, n: int) -> pa.Array:
    """`value` (None, a str or an int of `kind`) repeated `n` times. Raises what `pa.scalar`
    raises (a lone surrogate in a string: UnicodeEncodeError, as pa.array would)."""
    key = (value, str(kind), n)
    found = _REPEATED.get(key)
    if found is not None:
        return found
    if value is None:
        found = pa.nulls(n, kind)
    else:
        if type(value) is str:
            value.encode("utf-8")   # a lone surrogate raises here, as pa.array would
        found = pa.repeat(pa.scalar(value, kind), n)
    if found.nbytes <= REPEATED_MAX_BYTES:
        if len(_REPEATED) >= REPEATED_ENTRIES:
            _REPEATED.clear()
        _REPEATED[key] = found
    return found


def _sanitized(cols: dict[str, list]) -> tuple[dict[str, pa.Array], pa.Array]:
    flags = [""] * len(cols["_raw"])
    out: dict[str, pa.Array] = {}
    for k, values in cols.items():
        if k in ("_time", "linecount"):
            out[k] = pa.array(values, pa.float64() if k == "_time" else pa.int32())
            continue
        fixed = []
        for i, v in enumerate(values):
            if v is None:  # `_fields` of an event without indexed fields
                fixed.append(v)
                continue
            try:
                v.encode("utf-8")
            except UnicodeEncodeError:
                v = v.encode("utf-8", "replace").decode("utf-8")
                flags[i] = "invalid_utf8"
            fixed.append(v)
        out[k] = pa.array(fixed, pa.string())
    return out, pa.array(flags, pa.string())


# -- the ASGI app ---------------------------------------------------------------------------
EVENT_PATHS = {"/services/collector", "/services/collector/event", "/services/collector/event/1.0"}
RAW_PATHS = {"/services/collector/raw", "/services/collector/raw/1.0"}
HEALTH_PATHS = {"/services/collector/health", "/services/collector/health/1.0"}
ACK_PATHS = {"/services/collector/ack"}


def build_hec_app(svc: HecService):
    """The ASGI callable serving the HEC endpoints over `svc`."""

    encoded: dict[tuple, tuple[list, bytes]] = {}   # the answers of only a text and a code

    async def send_json(send, status: int, body: dict) -> None:
        key = (status, body.get("text"), body.get("code")) if len(body) == 2 else None
        done = encoded.get(key) if key is not None else None
        if done is None:
            data = json.dumps(body, separators=(",", ":")).encode()
            done = (JSON_HEADERS + [(b"content-length", str(len(data)).encode())], data)
            if key is not None and type(key[1]) is str and type(key[2]) is int and len(encoded) < 64:
                encoded[key] = done
        await send({"type": "http.response.start", "status": status, "headers": done[0]})
        await send({"type": "http.response.body", "body": done[1]})

    async def read_body(receive, headers: dict[bytes, bytes], held) -> bytes | None:
        limit = svc.settings.max_content_bytes
        declared = headers.get(b"content-length")
        if declared is not None:
            try:
                size = int(declared)
            except ValueError:
                size = 0
            if size > limit:
                raise TooLarge(size, limit)
        parts, size = [], 0
        while True:
            msg = await receive()
            if msg["type"] == "http.disconnect":
                return None
            chunk = msg.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise TooLarge(size, limit)
            if not held.take(len(chunk)):
                raise Busy()
            parts.append(chunk)
            if not msg.get("more_body", False):
                return b"".join(parts)

    def gunzip(body: bytes, held) -> bytes:
        """The decompressed body, in steps of GUNZIP_STEP_BYTES, never holding more than the limit
        (+ one step); raises TooLarge past it, zlib.error for a corrupt stream."""
        limit = min(svc.settings.max_decompressed_bytes, svc.settings.max_content_bytes)
        d = zlib.decompressobj(wbits=47)  # gzip or zlib header, auto-detected
        parts, size = [], 0
        data = body
        while True:
            out = d.decompress(data, GUNZIP_STEP_BYTES)
            size += len(out)
            if size > limit:
                raise TooLarge(size, limit, "Decompressed content")
            if not held.take(len(out)):
                raise Busy()
            parts.append(out)
            data = d.unconsumed_tail
            if d.eof or (not data and not out):
                break
        if not d.eof:
            raise zlib.error("truncated gzip stream")
        return b"".join(parts)

    async def app(scope, receive, send) -> None:
        if scope["type"] == "lifespan":
            while True:
                msg = await receive()
                if msg["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif msg["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        path = scope["path"].rstrip("/") or "/"
        method = scope["method"]
        if path in HEALTH_PATHS:
            why = await asyncio.to_thread(svc.unhealthy)
            r = hec.reply(17) if why is None else hec.reply(18, reason=why)
            return await send_json(send, r.status, r.body)
        if path not in EVENT_PATHS | RAW_PATHS | ACK_PATHS:
            return await send_json(send, 404, {"text": "The requested URL was not found on this server.", "code": 404})
        if method not in ("POST", "PUT"):
            return await send_json(send, 405, {"text": "Method not allowed; use POST", "code": 405})
        headers = {k.lower(): v for k, v in scope["headers"]}
        query = scope.get("query_string", b"")
        params = {k: v[-1] for k, v in parse_qs(query.decode("latin-1")).items()} if query else {}
        r = await handle(path, headers, params, receive)
        code = r.body.get("code")
        if code in COUNTED_CODES:   # 413, 8 and 9 are counted where they arise, with their cause
            svc.refused(f"request refused (code {code}): {r.body['text']}")
        await send_json(send, r.status, r.body)

    async def handle(path: str, headers: dict, params: dict, receive) -> hec.Reply:
        auth = headers.get(b"authorization")
        if auth is None:
            return hec.reply(2)
        scheme, _, secret = auth.decode("latin-1").partition(" ")
        secret = secret.strip()
        if scheme.lower() != "splunk" or not secret:
            return hec.reply(3)
        cached, token = svc.cached_token(secret)
        if not cached:
            token = await asyncio.to_thread(svc.token, secret)
        if token is None:
            return hec.reply(4)
        if token.disabled:
            return hec.reply(1)
        channel = headers.get(b"x-splunk-request-channel", b"").decode("latin-1") or params.get("channel", "")
        if path in ACK_PATHS and not token.ack:
            return hec.reply(14)
        if path in ACK_PATHS or token.ack:   # acknowledgements live on a channel
            if not channel:
                return hec.reply(10)
            if not hec.valid_channel(channel):
                return hec.reply(11)
        if svc.full():
            return hec.reply(9)
        held = svc.buffers.hold()
        try:
            return await receive_and_write(path, headers, params, receive, token, channel, held)
        except Busy:
            svc.refused(f"request refused (code 9): request bodies held over {svc.buffers.limit} bytes")
            return hec.reply(9)
        finally:
            held.release()

    async def receive_and_write(path, headers, params, receive, token, channel, held) -> hec.Reply:
        try:  # a slow client holds no write slot while its body arrives
            body = await read_body(receive, headers, held)
        except TooLarge as e:
            svc.refused(f"request refused (413): body over {e.limit} bytes")
            return e.reply()
        if body is None:
            return hec.reply(5)
        if svc.full():   # checked again: others may have started writing while this body arrived
            return hec.reply(9)
        svc.inflight += 1
        try:
            if path in EVENT_PATHS and len(body) <= INLINE_MAX_BYTES and b"content-encoding" not in headers:
                return await write_inline(params, body, token, channel)
            return await asyncio.to_thread(work, path, headers, params, body, token, channel, held)
        finally:
            svc.inflight -= 1

    async def write_inline(params, body, token, channel) -> hec.Reply:
        """`work` for a small uncompressed /event body: parsed on the event loop (a thread per
        request cost more CPU than the parse), only the fsync waits elsewhere (group commit)."""
        ack_id = svc.acks.next_id(channel) if token.ack else None
        try:
            n, error = await svc.write_events_async(body, token, params)
        except Exception as e:
            return write_failed(e, token)
        return answer(n, error, channel, ack_id)

    def write_failed(e: Exception, token) -> hec.Reply:
        if isinstance(e, OSError):   # the journal's disk: full, read-only, failing
            log.error("HEC write failed (token %s): %s", token.name, e)
            svc.write_failed(e)
            return hec.reply(9)
        log.error("HEC write failed (token %s)", token.name, exc_info=e)
        svc.refused("request failed (code 8): internal error")
        return hec.reply(8)

    def answer(n: int, error: hec.Reply | None, channel: str, ack_id: int | None) -> hec.Reply:
        if n:
            svc.storage_error = None
        svc.requests_total += 1
        if error is not None:
            if n and ack_id is not None:
                svc.acks.done(channel, ack_id)
            return error
        if ack_id is not None:
            svc.acks.done(channel, ack_id)
            return hec.reply(0, ackId=ack_id)
        return hec.reply(0)

    def work(path, headers, params, body, token, channel, held) -> hec.Reply:
        if path in ACK_PATHS:
            ids = hec.parse_ack_query(body)
            if ids is None:
                return hec.reply(6)
            return hec.Reply(200, {"acks": svc.acks.query(channel, ids)})
        if b"gzip" in headers.get(b"content-encoding", b"").lower():
            try:
                body = gunzip(body, held)
            except TooLarge as e:
                svc.refused(f"request refused (413): gzip body over {e.limit} bytes decompressed")
                return e.reply()
            except zlib.error:   # counted as code 6
                return hec.reply(6, **{"invalid-event-number": 0})
        ack_id = svc.acks.next_id(channel) if token.ack else None
        try:
            if path in RAW_PATHS:
                n, error = svc.write_raw(body, token, params)
            else:
                n, error = svc.write_events(body, token, params)
        except Exception as e:
            return write_failed(e, token)
        return answer(n, error, channel, ack_id)

    return app


class HecServer:
    """Uvicorn serving the HEC app on its own thread (and event loop) in the server process."""

    def __init__(self, svc: HecService, bind: str, port: int, tls_cert: str | None = None,
                 tls_key: str | None = None, guard=None) -> None:
        from speleo.ingest.limits import ConnectionGuard, ConnectionLimits
        from speleo.server.http_guard import http_server

        self.svc = svc
        self.bind = bind
        self.port = port
        guard = guard or ConnectionGuard(svc.source, ConnectionLimits(), svc.refusals)
        # HTTPS when tls_cert is given; a bad certificate or key raises here, before anything listens
        self.server = http_server(build_hec_app(svc), bind, port, tls_cert, tls_key, guard,
                                  lifespan="off", timeout_keep_alive=30,
                                  proxy_headers=False)   # HEC reads no client address: no X-Forwarded-* pass
        self.thread = threading.Thread(target=self.server.run, name="speleo-hec", daemon=True)

    def start(self, timeout: float = 10.0) -> None:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive():
                raise OSError(f"the HEC endpoint could not listen on {self.bind}:{self.port}")
            if time.monotonic() > deadline:
                raise OSError(f"the HEC endpoint did not start on {self.bind}:{self.port}")
            time.sleep(0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.svc.close()
