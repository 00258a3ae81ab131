"""Shipping queued records to an HTTP Event Collector.

A batch is a run of consecutive queue records of the same kind, gzipped and POSTed with
`Authorization: Splunk <token>` and a channel (`X-Splunk-Request-Channel`, a GUID): records of
raw lines with the same query parameters (host, source, sourcetype, index: one file) go to
`/services/collector/raw?host=..&source=..&sourcetype=..&index=..`, where the receiver breaks
and timestamps them; records of HEC envelopes (host metrics, or records queued by an older
forwarder) go to `/services/collector/event`. Up to `max_inflight` batches may wait for their
acknowledgement at once.

Delivery: a batch answered `200 {"code": 0, "ackId": N}` is delivered once `/services/collector/ack`
reports N true; a `200` without `ackId` (a token without acknowledgement) is delivered at once.
Delivered batches are committed in queue order: the checkpoint store records the last delivered
record id and the file checkpoints those records carry (one atomic write), then the queue
releases them. Nothing else deletes a record.

Failures: a connection error, a timeout, a 5xx or an ack that stays false for `ack_timeout`
makes every batch not yet acknowledged count as not delivered: they are sent again (on a new
channel, so that ack ids of a restarted receiver cannot be mistaken for old ones), after an
exponential backoff with jitter. `503`/code 9 (busy) retries the same batch after the backoff.
A 413 halves the batch size. Other errors (a bad token, an index the token may not write) are
retried with backoff for ever and shown as the last error: the forwarder never drops data.

So delivery is at least once: a batch the receiver made durable but whose answer or ack was lost
(receiver killed between its fsync and the answer, forwarder killed between the ack and its
commit) is sent again — the same as Splunk's universal forwarder with `useACK`.
"""

from __future__ import annotations

import gzip
import http.client
import json
import logging
import random
import ssl
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Callable, Protocol
from urllib.parse import urlencode, urlsplit

from speleo.forward.queue import DiskQueue, Entry
from speleo.forward.state import CheckpointStore

log = logging.getLogger("speleo.forward.sender")

EVENT_PATH = "/services/collector/event"
RAW_PATH = "/services/collector/raw"
ACK_PATH = "/services/collector/ack"


class TransportError(Exception):
    """The request did not get an answer (connection refused or reset, timeout)."""


class Transport(Protocol):
    def post(self, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict]: ...

    def close(self) -> None: ...


class HttpTransport:
    """HTTP/1.1 keep-alive POSTs with the standard library (light: the forwarder stays small)."""

    def __init__(self, base_url: str, timeout: float = 30.0, verify: bool = True) -> None:
        u = urlsplit(base_url)
        if u.scheme not in ("http", "https") or not u.hostname:
            raise ValueError(f"not an http(s) URL: {base_url!r}")
        self.https = u.scheme == "https"
        self.host, self.port = u.hostname, u.port or (443 if self.https else 80)
        self.prefix = u.path.rstrip("/")
        for suffix in (EVENT_PATH, RAW_PATH, "/services/collector"):
            if self.prefix.endswith(suffix):
                self.prefix = self.prefix[: -len(suffix)]
                break
        self.timeout = timeout
        self.ctx = None
        if self.https:
            self.ctx = ssl.create_default_context()
            if not verify:
                self.ctx.check_hostname = False
                self.ctx.verify_mode = ssl.CERT_NONE
        self.conn: http.client.HTTPConnection | None = None

    def _connect(self) -> http.client.HTTPConnection:
        if self.conn is None:
            if self.https:
                self.conn = http.client.HTTPSConnection(self.host, self.port, timeout=self.timeout, context=self.ctx)
            else:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        return self.conn

    def post(self, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict]:
        for attempt in (0, 1):  # a keep-alive connection the server closed: reconnect once
            conn = self._connect()
            fresh = conn.sock is None
            try:
                conn.request("POST", self.prefix + path, body=body, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
            except (OSError, http.client.HTTPException) as e:
                self.close()
                if attempt == 0 and not fresh and isinstance(e, (http.client.RemoteDisconnected, BrokenPipeError,
                                                                  ConnectionResetError)):
                    continue
                raise TransportError(f"{type(e).__name__}: {e}") from e
            if resp.getheader("connection", "").lower() == "close":
                self.close()
            try:
                parsed = json.loads(data) if data else {}
            except ValueError:
                parsed = {"text": data[:200].decode("utf-8", "replace")}
            return resp.status, parsed if isinstance(parsed, dict) else {"value": parsed}
        raise TransportError("unreachable")

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


@dataclass
class Batch:
    first: int                 # first and last queue record ids
    last: int
    events: int
    entries: list[Entry]
    ack_id: int | None = None
    delivered: bool = False
    sent_at: float = 0.0


@dataclass
class SenderStats:
    events_sent: int = 0       # lines and metrics events acknowledged (durable at the receiver), this process
    batches_sent: int = 0      # batches acknowledged
    posts: int = 0
    retries: int = 0
    resends: int = 0           # batches sent again after a failure (possible duplicates)
    last_error: str | None = None
    last_error_at: float | None = None
    last_success_at: float | None = None
    ack_mode: bool | None = None
    channel: str = ""
    inflight: int = 0
    errors: list[str] = field(default_factory=list)


class HecSender:
    """Sends the queue's records and commits what the receiver acknowledged (see module doc)."""

    def __init__(self, queue: DiskQueue, state: CheckpointStore, token: str, transport: Transport, *,
                 batch_bytes: int = 1024 * 1024, batch_events: int = 10_000, batch_wait: float = 0.5,
                 max_inflight: int = 4, ack_poll_secs: float = 0.25, ack_timeout: float = 60.0,
                 backoff_base: float = 0.25, backoff_max: float = 30.0, gzip_level: int = 1,
                 on_commit: Callable[[dict[str, tuple[str, int]]], None] | None = None,
                 sleep: Callable[[threading.Event, float], None] | None = None) -> None:
        self.queue = queue
        self.state = state
        self.token = token
        self.transport = transport
        self.batch_bytes = batch_bytes
        self.batch_events = batch_events
        self.batch_wait = batch_wait
        self.max_inflight = max(1, max_inflight)
        self.ack_poll_secs = ack_poll_secs
        self.ack_timeout = ack_timeout
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.gzip_level = gzip_level
        self.on_commit = on_commit
        self._sleep = sleep or (lambda stop, secs: stop.wait(secs))
        self.stats = SenderStats(channel=str(uuid.uuid4()))
        self.inflight: list[Batch] = []
        self.sent_upto = state.acked
        self.failures = 0
        self._last_poll = 0.0
        self._waiting_since: float | None = None
        self.lock = threading.Lock()

    # -- the loop ------------------------------------------------------------------------
    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                if not self.step(stop):
                    if self._waiting_since is not None:  # a batch is filling: wait for it, do not spin
                        stop.wait(max(0.005, self._waiting_since + self.batch_wait - time.monotonic()))
                    else:
                        self.queue.wait_for_more(self.sent_upto, 0.05 if self.inflight else 0.5)
            except Exception as e:  # never let the thread die: report and back off
                log.exception("sender error")
                self._error(f"internal error: {e}")
                self._backoff(stop)
        # a last look at the acks, so that what was delivered is committed before exit
        try:
            if any(b.ack_id is not None and not b.delivered for b in self.inflight):
                self._poll_acks()
            self._commit()
        except Exception:
            pass

    def step(self, stop: threading.Event) -> bool:
        """One round: send a batch if the window allows, poll acks, commit. True if it did work."""
        worked = False
        if len(self.inflight) < self.max_inflight:
            entries = self._next_entries()
            if entries:
                if not self._send(entries):
                    self._backoff(stop)
                    return True
                worked = True
        waiting = [b for b in self.inflight if b.ack_id is not None and not b.delivered]
        if waiting and (worked or time.monotonic() - self._last_poll >= self.ack_poll_secs):
            if not self._poll_acks():
                self._backoff(stop)
                return True
            worked = True
        if self.inflight and self.inflight[0].delivered:
            self._commit()
            worked = True
        oldest = next((b for b in self.inflight if not b.delivered), None)
        if oldest is not None and time.monotonic() - oldest.sent_at > self.ack_timeout:
            self._error(f"no acknowledgement for ackId {oldest.ack_id} in {self.ack_timeout:.0f}s; sending again")
            self._reset()
            worked = True
        if not worked and waiting:
            self._sleep(stop, min(self.ack_poll_secs, 0.05))
        return worked

    def _next_entries(self) -> list[Entry]:
        entries = self.queue.after(self.sent_upto, self.batch_bytes, self.batch_events)
        if not entries:
            self._waiting_since = None
            return []
        kind = entries[0].raw
        for i, e in enumerate(entries):
            if e.raw != kind:  # another file or kind: it goes in the next request
                del entries[i:]
                break
        size = sum(e.payload_bytes for e in entries)
        events = sum(e.events for e in entries)
        full = size >= self.batch_bytes or events >= self.batch_events or self.queue.last_id() > entries[-1].id
        now = time.monotonic()
        if self._waiting_since is None:
            self._waiting_since = now
        if not full and now - self._waiting_since < self.batch_wait:
            return []  # let the batch fill a little
        self._waiting_since = None
        return entries

    # -- sending -------------------------------------------------------------------------
    def _headers(self, content_type: str = "application/json") -> dict[str, str]:
        return {"Authorization": f"Splunk {self.token}", "X-Splunk-Request-Channel": self.stats.channel,
                "Content-Type": content_type, "Content-Encoding": "gzip",
                "User-Agent": "speleo-forwarder"}

    def _send(self, entries: list[Entry]) -> bool:
        batch = Batch(entries[0].id, entries[-1].id, sum(e.events for e in entries), entries,
                      sent_at=time.monotonic())
        if batch.events == 0:  # only checkpoints (blank lines): nothing to send
            batch.delivered = True
            self._push(batch)
            return True
        if batch.entries[0].raw is not None:  # complete lines (each record ends with "\n")
            path = RAW_PATH + "?" + urlencode(batch.entries[0].raw)
            body = b"".join(self.queue.payload(e) for e in entries if e.events)
            headers = self._headers("text/plain; charset=utf-8")
        else:
            path, headers = EVENT_PATH, self._headers()
            body = b"\n".join(self.queue.payload(e) for e in entries if e.events)
        data = gzip.compress(body, self.gzip_level)
        self.stats.posts += 1
        try:
            status, reply = self.transport.post(path, data, headers)
        except TransportError as e:
            self._error(f"cannot reach the receiver: {e}")
            self._reset()
            return False
        if status == 200 and reply.get("code", 0) == 0:
            ack_id = reply.get("ackId")
            self.stats.ack_mode = ack_id is not None
            if ack_id is None:
                batch.delivered = True
            else:
                batch.ack_id = int(ack_id)
            self._push(batch)
            self.failures = 0
            return True
        text = f"HTTP {status}: {reply.get('text', '')} (code {reply.get('code')})"
        if status == 413 and self.batch_bytes > 16 * 1024:
            self.batch_bytes //= 2
            self._error(f"{text}; batches now up to {self.batch_bytes} bytes")
            return False
        if status >= 500:
            self._error(f"receiver busy or failing: {text}")
            if status != 503:
                self._reset()
            return False
        self._error(f"receiver refused the batch: {text}; retrying")
        return False

    def _push(self, batch: Batch) -> None:
        with self.lock:
            self.inflight.append(batch)
            self.stats.inflight = len(self.inflight)
        self.sent_upto = batch.last

    def _poll_acks(self) -> bool:
        self._last_poll = time.monotonic()
        waiting = {b.ack_id: b for b in self.inflight if b.ack_id is not None and not b.delivered}
        if not waiting:
            return True
        body = json.dumps({"acks": sorted(waiting)}).encode()
        headers = {k: v for k, v in self._headers().items() if k != "Content-Encoding"}
        try:
            status, reply = self.transport.post(ACK_PATH, body, headers)
        except TransportError as e:
            self._error(f"cannot reach the receiver for acks: {e}")
            self._reset()
            return False
        if status != 200 or not isinstance(reply.get("acks"), dict):
            self._error(f"ack query failed: HTTP {status}: {reply.get('text', '')} (code {reply.get('code')})")
            if status >= 500 and status != 503:
                self._reset()
            return False
        for k, v in reply["acks"].items():
            b = waiting.get(int(k))
            if b is not None and v is True:
                b.delivered = True
        return True

    def _commit(self) -> None:
        """Commit the delivered batches at the head of the window (in queue order)."""
        done: list[Batch] = []
        while self.inflight and self.inflight[0].delivered:
            done.append(self.inflight[0])
            with self.lock:
                self.inflight.pop(0)
        if not done:
            return
        cps: dict[str, tuple[str, int]] = {}
        events = 0
        for b in done:
            events += b.events
            for e in b.entries:
                if e.checkpoint:
                    cps[e.checkpoint[0]] = tuple(e.checkpoint[1:])   # (path, offset[, identity details])
        last = done[-1].last
        self.state.commit(last, cps, events)
        self.queue.release(last)
        with self.lock:
            self.stats.events_sent += events
            self.stats.batches_sent += len(done)
            self.stats.last_success_at = time.time()
            self.stats.inflight = len(self.inflight)
        if self.on_commit:
            self.on_commit(cps)

    # -- failures ------------------------------------------------------------------------
    def _reset(self) -> None:
        """Forget what was sent but not acknowledged: it is sent again, on a new channel."""
        delivered_prefix = 0
        for b in self.inflight:
            if not b.delivered:
                break
            delivered_prefix += 1
        if delivered_prefix:
            self._commit()
        with self.lock:
            self.stats.resends += len(self.inflight)
            self.inflight = []
            self.stats.inflight = 0
            self.stats.channel = str(uuid.uuid4())
        self.sent_upto = self.state.acked
        self.transport.close()

    def _error(self, text: str) -> None:
        log.warning("%s", text)
        with self.lock:
            self.stats.last_error = text
            self.stats.last_error_at = time.time()

    def backoff_delay(self) -> float:
        """Exponential backoff with full jitter between half and all of the step."""
        step = min(self.backoff_max, self.backoff_base * (2 ** min(self.failures, 20)))
        return step * random.uniform(0.5, 1.0)

    def _backoff(self, stop: threading.Event) -> None:
        delay = self.backoff_delay()
        self.failures += 1
        self.stats.retries += 1
        self._sleep(stop, delay)
