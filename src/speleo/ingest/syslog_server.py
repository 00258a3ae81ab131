"""The syslog listeners of `speleo serve`: UDP, TCP and TLS (RFC 5425) on one asyncio loop in a
thread, writing through the server's store (parsing and framing: `speleo.ingest.syslog`).

Received messages are stored in batches (at most `FLUSH_SECS` late, at most `FLUSH_EVENTS`
messages or about `FLUSH_BYTES`): the connections' loop reads and frames them, `PARSERS` threads
parse batches side by side, one more journals them in the order received (write and fsync, then
they count as ingested). A crash of the server may lose what was read but not yet journaled (the
queued batch and those being parsed: a fraction of a second of traffic at full rate), which
syslog has no acknowledgement for anyway; what was journaled survives `kill -9`. A clean stop
(`stop()`, on SIGTERM or SIGINT) loses nothing already received by the kernel: the listeners stop
accepting, the open connections and the UDP socket are read until they have been quiet for
`DRAIN_QUIET_SECS` (at most `DRAIN_MAX_SECS`), then everything is stored.

Bounds (before anything is known about the sender): at most `limits.max_connections` TCP/TLS
connections per listener (one more is closed at once), a connection silent for
`limits.idle_secs` is closed, a TLS handshake must end within `limits.tls_handshake_secs`
(or `idle_secs` when shorter)
(it starts only once the connection is admitted), and a message is at most
`MAX_MESSAGE_BYTES` (the rest of a longer one is skipped, never buffered), and the UDP
listener's thread queues at most `UDP_QUEUE_MAX_BYTES` of datagrams not yet stored (past it
they are dropped, as the kernel drops what overflows its buffer). Each of these, and
messages lost because the journal could not be written, is counted in `refusals`; flagged
messages (`truncated`, `syslog_malformed`, `invalid_utf8`) are counted with their batch in the
catalog's problems (`speleo status`).
"""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
import threading
import time
from collections import Counter, deque
from zoneinfo import ZoneInfo

from speleo.ingest.limits import ConnectionGuard, ConnectionLimits, Refusals
from speleo.ingest.syslog import MAX_MESSAGE_BYTES, Framer, Received, events_table, strip_frame

log = logging.getLogger("speleo.syslog")

FLUSH_SECS = 0.05
PARSERS = 2                                # batches parsed at once (threads)
FLUSH_EVENTS = 20_000                      # a batch: at most this many messages
FLUSH_BYTES = 4 * 1024 * 1024              # ... or about this many bytes read
UDP_TAKE = 20_000                          # datagrams stored at once
UDP_QUEUE_MAX_BYTES = 32 * 1024 * 1024     # datagrams received, waiting to be stored
UDP_RCVBUF_BYTES = 16 * 1024 * 1024
READ_BYTES = 65536
DRAIN_QUIET_SECS = 0.2
DRAIN_MAX_SECS = 3.0


def grow_receive_buffer(sock, size: int = UDP_RCVBUF_BYTES) -> None:
    """Ask for a large UDP receive buffer, so bursts wait in the kernel while a batch is written
    instead of being dropped (as rsyslog's imudp `rcvbufSize`). Beyond `net.core.rmem_max` only
    root gets it (SO_RCVBUFFORCE); otherwise the kernel's cap applies."""
    if sock is None:
        return
    for opt in (getattr(socket, "SO_RCVBUFFORCE", None), socket.SO_RCVBUF):
        if opt is None:
            continue
        try:
            sock.setsockopt(socket.SOL_SOCKET, opt, size)
            return
        except OSError:
            continue


def tls_context(cert: str | None, key: str | None) -> ssl.SSLContext:
    """Server context for syslog over TLS (RFC 5425: TLS 1.2 or later) from PEM files (`key`:
    None when `cert` holds the key). Raises ValueError without a certificate, `ssl.SSLError` or
    OSError for a certificate or key that cannot be loaded."""
    if not cert:
        raise ValueError("syslog over TLS needs a certificate (--syslog-tls-cert)")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(cert, key)
    return ctx


class SyslogListeners:
    """UDP, TCP and TLS syslog servers on one asyncio loop in a thread, writing through `ingestor`.

    A port of 0 disables that listener; events go to `index`, year-less RFC 3164 times are read
    in `tz` (IANA name; None: the machine's zone). The constructor raises for an unknown zone
    (`ZoneInfoNotFoundError`) or a TLS certificate that cannot be loaded (see `tls_context`);
    `start()` raises OSError when a port cannot be bound. Stop with `stop()`."""

    def __init__(self, ingestor, bind: str, udp_port: int, tcp_port: int, index: str,
                 tz: str | None = None, *, tls_port: int = 0, tls_cert: str | None = None,
                 tls_key: str | None = None, limits: ConnectionLimits | None = None,
                 refusals: Refusals | None = None) -> None:
        if tz:
            ZoneInfo(tz)  # raises for an unknown zone before anything listens
        self.tls = tls_context(tls_cert, tls_key) if tls_port else None  # raises for a bad cert/key
        self.tls_port = tls_port
        self.tls_bound = 0
        self.ingestor = ingestor
        self.bind = bind
        self.udp_port = udp_port
        self.tcp_port = tcp_port
        self.index = index
        self.tz = tz
        self.limits = limits or ConnectionLimits()
        self.refusals = refusals or Refusals()
        self.guards: list[ConnectionGuard] = []
        self.pending: dict[str, Received] = {}
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._run, name="speleo-syslog", daemon=True)
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._clients: set[asyncio.Task] = set()
        self._closing = False   # set by the stop: connection loops end at their next read
        self.received = 0
        self._in_flight: asyncio.Future | None = None   # the last batch handed over (`_store_in_turn`)
        self._writing: asyncio.Future | None = None     # the batch being journaled
        self._parsing: list[asyncio.Future] = []        # batches being parsed, oldest first
        self.pending_count = 0
        self.pending_bytes = 0
        self.udp_bound = 0
        self._udp_dropped_reported = 0
        self.tcp_bound = 0

    def udp_kernel_drops(self) -> int | None:
        """Datagrams the kernel dropped for the UDP listener (its receive buffer was full), from
        the `drops` column of /proc/net/udp (udp6 for an IPv6 bind); None where unavailable."""
        if not self.udp_bound:
            return None
        port = f":{self.udp_bound:04X}"
        for table in ("/proc/net/udp", "/proc/net/udp6"):
            try:
                with open(table) as f:
                    lines = f.read().splitlines()[1:]
            except OSError:
                continue
            for line in lines:
                cols = line.split()
                if len(cols) >= 13 and cols[1].endswith(port) and cols[2].endswith(":0000"):
                    return int(cols[-1])
        return None

    def status(self) -> list[dict]:
        """Per listener: open connections (TCP/TLS) or kernel drops (UDP)."""
        out = [g.status() for g in self.guards]
        if self.udp_bound:
            out.append({"source": f"udp:{self.udp_bound}", "kernel_drops": self.udp_kernel_drops()})
        return out

    def describe(self) -> list[str]:
        out = []
        if self.udp_port:
            out.append(f"syslog on udp://{self.bind}:{self.udp_bound} -> index '{self.index}'")
        if self.tcp_port:
            out.append(f"syslog on tcp://{self.bind}:{self.tcp_bound} -> index '{self.index}'")
        if self.tls_port:
            out.append(f"syslog over TLS on tls://{self.bind}:{self.tls_bound} -> index '{self.index}'")
        return out

    def start(self) -> None:
        self.thread.start()
        self._ready.wait(10)
        if self._error is not None:
            raise OSError(f"syslog listener: {self._error}")

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_until_complete(self._open())
        except BaseException as e:  # report to start() and end the thread
            if getattr(self, "_udp", None) is not None:   # bound before a TCP/TLS port failed
                self._udp.close()
            self._error = e
            self._ready.set()
            return
        self._ready.set()
        self.loop.run_forever()

    async def _open(self) -> None:
        self._servers = []
        self._udp = None
        if self.udp_port:
            family, _t, _p, _c, address = socket.getaddrinfo(self.bind, self.udp_port, type=socket.SOCK_DGRAM)[0]
            sock = socket.socket(family, socket.SOCK_DGRAM)
            try:
                sock.bind(address)
            except OSError:
                sock.close()
                raise
            grow_receive_buffer(sock)
            self.udp_bound = sock.getsockname()[1]
            self._udp = _UdpReceiver(sock)
            self._udp.start()
        for port, tls, name in ((self.tcp_port, False, "tcp"), (self.tls_port, True, "tls")):
            if not port:
                continue
            guard = ConnectionGuard(f"{name}:{port}", self.limits, self.refusals)
            server = await asyncio.start_server(self._client_callback(guard, tls), self.bind, port,
                                                limit=MAX_MESSAGE_BYTES)
            bound = server.sockets[0].getsockname()[1]
            setattr(self, f"{name}_bound", bound)
            guard.source = f"{name}:{bound}"   # the port actually bound (port 0: the kernel's choice)
            self.guards.append(guard)
            self._servers.append(server)
        self._flusher = self.loop.create_task(self._flush_loop())

    def _client_callback(self, guard: ConnectionGuard, tls: bool):
        """The connection handler of one listener, admitting connections through `guard`."""

        async def client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            if not guard.admit():
                writer.transport.abort()
                return
            task = asyncio.current_task()
            self._clients.add(task)
            try:
                if not tls or await self._handshake(writer, guard):
                    await self._stream(reader, writer, guard)
            finally:
                self._clients.discard(task)
                guard.release()
                writer.close()

        return client

    async def _handshake(self, writer: asyncio.StreamWriter, guard: ConnectionGuard) -> bool:
        """TLS on an admitted connection, within the handshake time limit; counted when it fails."""
        secs = min(self.limits.tls_handshake_secs, self.limits.idle_secs)
        try:
            await writer.start_tls(self.tls, ssl_handshake_timeout=secs)
            return True
        except (TimeoutError, asyncio.TimeoutError, ConnectionAbortedError):  # asyncio aborts a slow handshake
            self.refusals.count(guard.source, f"TLS handshake not finished in {secs:g}s")
        except (ssl.SSLError, ConnectionError, OSError) as e:
            self.refusals.count(guard.source, f"TLS handshake failed: {type(e).__name__}")
        return False

    async def _stream(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                      guard: ConnectionGuard) -> None:
        peer = writer.get_extra_info("peername")
        sender = peer[0] if peer else "unknown"
        framer = Framer()
        source = guard.source
        try:
            while True:
                try:
                    data = await asyncio.wait_for(reader.read(READ_BYTES), self.limits.idle_secs)
                except (TimeoutError, asyncio.TimeoutError):
                    guard.idle("no data")
                    break
                if not data:
                    break
                msgs = framer.feed(data)   # what was read is kept, even during the stop
                if msgs:
                    self.add_many(source, msgs, sender, len(data))
                if self._closing:
                    break
                if self.pending_count >= FLUSH_EVENTS or self.pending_bytes >= FLUSH_BYTES:
                    await self._hand_over()   # waits while the batch before is being stored
        except (ConnectionError, OSError, ssl.SSLError):
            pass
        except asyncio.CancelledError:  # the server stops: keep what this connection sent
            pass
        finally:
            rest = framer.flush()
            if rest:
                self.add_many(source, rest, sender)
            if framer.dropped_bytes:
                self.refusals.count(source, f"bytes dropped past the {MAX_MESSAGE_BYTES}-byte message limit",
                                    framer.dropped_bytes)

    # -- batches ----------------------------------------------------------------------------
    def add_many(self, source: str, msgs: list[bytes], sender: str, size: int | None = None) -> None:
        """Queue the messages of one read (one receive time; `size`: the bytes read, by default
        the messages'). A connection that finds `FLUSH_EVENTS` messages or `FLUSH_BYTES` queued
        hands them to the store (`_hand_over`) before it reads on."""
        queue = self.pending.get(source)
        if queue is None:
            queue = self.pending[source] = Received()
        queue.add(msgs, sender, time.time())
        self.received += len(msgs)
        self.pending_count += len(msgs)
        self.pending_bytes += sum(map(len, msgs)) if size is None else size

    async def _hand_over(self) -> None:
        """Start storing what is queued: parsed on a thread while the connections go on reading
        and framing (Arrow's kernels and the fsync leave the interpreter to them), at most
        `PARSERS` batches at once; a caller that finds as many being parsed waits for the oldest,
        so a connection that finds a full batch queued waits here and its sender waits, as TCP
        lets it. The stores are shielded: a cancelled caller (the stop) does not abandon a batch
        half stored; the stop awaits the last one (`_in_flight`), which ends after every other."""
        while True:
            self._parsing = [t for t in self._parsing if not t.done()]
            if len(self._parsing) < PARSERS:
                break
            await asyncio.shield(self._parsing[0])
        batches = self._take_pending()
        if batches:
            self._in_flight = asyncio.ensure_future(self._store_in_turn(batches, self._in_flight))
            self._parsing.append(self._in_flight)

    async def _store_in_turn(self, batches, before: asyncio.Future | None) -> None:
        """Parse `batches` on a thread, then journal them on another once the batch handed over
        `before` them is journaled: batches are parsed side by side and reach the journal in the
        order received, the fsync of one beside the parsing of the next. Ends when its write has
        started (`_writing`), so after `before` has ended."""
        parsed = await asyncio.to_thread(self._parse, batches)
        if before is not None:
            await asyncio.wait([before])
        if self._writing is not None:
            await asyncio.wait([self._writing])
        self._writing = asyncio.ensure_future(asyncio.to_thread(self._write, parsed))

    def _take_pending(self) -> dict[str, Received | list[tuple[bytes, str, float]]]:
        """The messages received since the last store, per source (called on the loop's thread);
        of UDP, at most `UDP_TAKE` datagrams (the rest wait for the next store)."""
        batches, self.pending, self.pending_count, self.pending_bytes = self.pending, {}, 0, 0
        udp = self._udp
        if udp is not None:
            if udp.dropped > self._udp_dropped_reported:
                n, self._udp_dropped_reported = udp.dropped - self._udp_dropped_reported, udp.dropped
                self.refusals.count(f"udp:{self.udp_bound}", "datagrams dropped: the receive queue was full "
                                    f"({udp.max_bytes // (1024 * 1024)} MiB waiting to be stored)", n)
            if udp.queue:
                msgs = [(strip_frame(d), sender, t) for d, sender, t in udp.take(UDP_TAKE)]
                batches[f"udp:{self.udp_bound}"] = [m for m in msgs if m[0]]   # a datagram's own time each
        return batches

    def _udp_backlog(self) -> bool:
        return self._udp is not None and len(self._udp.queue) >= UDP_TAKE

    def _received_total(self) -> int:
        return self.received + (self._udp.received if self._udp is not None else 0)

    def flush(self) -> None:
        """Store everything received so far (the UDP queue in batches of `UDP_TAKE`)."""
        while True:
            batches = self._take_pending()
            if not batches:
                return
            self._store(batches)

    async def _flush_loop(self) -> None:
        while True:
            if not self._udp_backlog():   # a backlog of UDP is stored without waiting
                await asyncio.sleep(FLUSH_SECS)
            if self.pending or (self._udp is not None and self._udp.queue):
                # shielded (`_hand_over`): cancelling this loop at a stop must not leave a store
                # running unseen on its thread while the stop returns (its messages would land
                # after the caller closed the store); the stop awaits `_in_flight` instead
                await self._hand_over()
                if self._in_flight is not None:
                    await asyncio.shield(self._in_flight)

    def _store(self, batches) -> None:
        """Parse and journal `batches` on the calling thread (the stop's last flush)."""
        self._write(self._parse(batches))

    def _parse(self, batches) -> list[tuple[str, int, object, list]]:
        """(source, messages, event table, problem counters) of each source's messages; a batch
        that cannot be parsed is counted as lost (it never reaches the journal)."""
        out = []
        for source, messages in batches.items():
            try:
                table = events_table(messages, source, self.index, self.tz)
                flagged: Counter = Counter()
                counts = table.column("_flags").value_counts()   # a few distinct values a batch
                for value, n in zip(counts.field("values").to_pylist(), counts.field("counts").to_pylist()):
                    for f in value.split(",") if value else ():
                        flagged[f] += n
                problems = [("flagged", source, f, n) for f, n in sorted(flagged.items())]
                out.append((source, len(messages), table, problems))
            except Exception as e:
                self._lost(source, len(messages), "could not be parsed", e)
        return out

    def _write(self, parsed: list[tuple[str, int, object, list]]) -> None:
        """Journal parsed batches (each durable when `Store.append` returns)."""
        for source, n, table, problems in parsed:
            try:
                self.ingestor.store.append(table, None, problems)
                self.ingestor.events_total += n
            except Exception as e:
                self._lost(source, n, "journal write failed", e)

    def _lost(self, source: str, n: int, why: str, e: Exception) -> None:
        """Log and count `n` messages of `source` that will not be stored."""
        log.error("syslog: could not store %d messages from %s (%s): %s", n, source, why, e)
        self.refusals.count(source, f"messages lost: {why} ({type(e).__name__})", n)

    # -- stop -------------------------------------------------------------------------------
    def stop(self) -> None:
        """Stop accepting, read what the kernel already holds (see the module's docstring),
        store every message received, end the thread."""
        if not self.thread.is_alive():
            return
        fut = asyncio.run_coroutine_threadsafe(self._shutdown(), self.loop)
        try:
            fut.result(timeout=DRAIN_MAX_SECS + 20)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(timeout=10)

    async def _shutdown(self) -> None:
        for s in self._servers:
            s.close()
        deadline = time.monotonic() + DRAIN_MAX_SECS
        last, quiet_since = self._received_total(), time.monotonic()
        while time.monotonic() < deadline and (self._clients or self._udp is not None):
            await asyncio.sleep(0.02)
            if self._received_total() != last:
                last, quiet_since = self._received_total(), time.monotonic()
            elif time.monotonic() - quiet_since >= DRAIN_QUIET_SECS:
                break
        # Cancelling alone is not enough: on Python 3.11 `wait_for` returns a read that completed
        # as the cancel arrived and swallows the cancel, so an endless sender kept its task reading
        # after the last flush (its messages lost, "Task was destroyed but it is pending").
        self._closing = True
        for task in list(self._clients):
            task.cancel()
        if self._clients:
            await asyncio.wait(list(self._clients), timeout=5)
        if self._udp is not None:
            await asyncio.to_thread(self._udp.close)   # what it received stays in its queue
        self._flusher.cancel()
        for stage in ("_in_flight", "_writing"):   # the parse first: it may start a write
            if getattr(self, stage) is not None:
                await asyncio.wait([getattr(self, stage)])
        await asyncio.to_thread(self.flush)


class _UdpReceiver:
    """The UDP listener's own thread: it receives datagrams and queues them, nothing else (the
    loop's flush takes them), so that a burst waits in the socket's buffer as briefly as
    possible while batches are parsed and written elsewhere. The queue holds at most
    `max_bytes` of datagrams: past it a datagram is dropped and counted (`dropped`), as the
    kernel drops what overflows its buffer. `close()` stops it (within `POLL_SECS`); what was
    queued stays for the last flush."""

    POLL_SECS = 0.1

    def __init__(self, sock: socket.socket, max_bytes: int = UDP_QUEUE_MAX_BYTES) -> None:
        self.sock = sock
        self.max_bytes = max_bytes
        self.queue: deque = deque()
        self.received = 0
        self.dropped = 0          # written by the receiving thread only
        self._added_bytes = 0     # written by the receiving thread only
        self._taken_bytes = 0     # written by the taking thread only
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="speleo-syslog-udp", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def _run(self) -> None:
        sock, put, now, stop = self.sock, self.queue.append, time.time, self._stop
        sock.settimeout(self.POLL_SECS)
        while not stop.is_set():
            try:
                data, addr = sock.recvfrom(MAX_MESSAGE_BYTES)
            except (TimeoutError, socket.timeout):
                continue
            except OSError as e:
                if stop.is_set() or sock.fileno() < 0:   # closed by close()
                    break
                log.warning("syslog UDP: receive failed (%s); listening on", e)
                stop.wait(self.POLL_SECS)
                continue
            self.received += 1
            if self._added_bytes - self._taken_bytes + len(data) > self.max_bytes:
                self.dropped += 1
                continue
            self._added_bytes += len(data)
            put((data, addr[0] if addr else "unknown", now()))

    def take(self, most: int) -> list[tuple[bytes, str, float]]:
        """At most `most` queued datagrams, oldest first."""
        out, pop = [], self.queue.popleft
        try:
            while len(out) < most:
                out.append(pop())
        except IndexError:
            pass
        self._taken_bytes += sum(len(d) for d, _s, _t in out)
        return out

    def close(self) -> None:
        self._stop.set()
        self.thread.join(timeout=self.POLL_SECS * 20)
        self.sock.close()
