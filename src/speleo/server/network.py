"""The network inputs of `speleo serve`: the HTTP Event Collector and the syslog listeners.

Each runs on its own thread beside the HTTP API and writes through the server's store.
A port of 0 disables a listener. The HEC port left at its default (8088) is optional: when
it is taken the server starts without HEC and says so; a port given explicitly must listen.
TLS: HEC serves HTTPS when given a certificate (`hec_tls_cert`, and `hec_tls_key` unless the
certificate file holds the key); syslog over TLS (RFC 5425) has its own port and certificate.

Bounds (see `speleo.ingest.limits`): every listener, the API's included, admits at most
`limits.max_connections` connections and closes one that keeps the server waiting for
`limits.idle_secs`; what is refused is counted per listener and reason (`refusals`), shown live in
the server's status and added every second to the catalog's problem counters (`speleo status`).
HTTP headers are bounded by h11 (16 KB: larger gets 400), HEC bodies by the HEC limits, API
bodies by `API_MAX_BODY_BYTES` (`bounded_body`: FastAPI reads a body before it checks the token).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from speleo.ingest import hec
from speleo.ingest.limits import ConnectionGuard, ConnectionLimits, Refusals

log = logging.getLogger("speleo.server")

DEFAULT_HEC_PORT = 8088
API_MAX_BODY_BYTES = 16 * 1024 * 1024   # searches, inputs, saved searches: a few KB each


@dataclass
class NetworkOptions:
    hec_port: int | None = None          # None = 8088, not fatal when taken
    hec_max_content_bytes: int = hec.DEFAULT_MAX_CONTENT_BYTES
    syslog_udp_port: int = 0
    syslog_tcp_port: int = 0
    syslog_index: str = "main"
    syslog_tz: str | None = None         # RFC 3164 times without a zone; None = the machine's
    hec_tls_cert: str | None = None      # PEM certificate (chain): HEC speaks HTTPS
    hec_tls_key: str | None = None       # PEM private key (None: in the certificate file)
    syslog_tls_port: int = 0             # syslog over TLS (RFC 5425), 0 = off
    syslog_tls_cert: str | None = None
    syslog_tls_key: str | None = None
    hec_max_decompressed_bytes: int = hec.DEFAULT_MAX_DECOMPRESSED_BYTES
    limits: ConnectionLimits = field(default_factory=ConnectionLimits)


class NetworkInputs:
    """Starts and stops the listeners configured by `NetworkOptions` for a `Runtime`."""

    def __init__(self, runtime, bind: str, options: NetworkOptions | None) -> None:
        self.rt = runtime
        self.bind = bind
        self.options = options or NetworkOptions()
        self.hec = None
        self.syslog = None
        self.listening: list[str] = []
        self.refusals = Refusals()
        self.guards: list[ConnectionGuard] = []

    def guard(self, source: str) -> ConnectionGuard:
        """A new connection guard for listener `source` (e.g. `api`, `hec:8088`)."""
        g = ConnectionGuard(source, self.options.limits, self.refusals)
        self.guards.append(g)
        return g

    def status(self) -> dict:
        """Open connections per listener and what was refused since the start."""
        listeners = [g.status() for g in self.guards]
        if self.syslog is not None:
            listeners += self.syslog.status()
        return {"listeners": listeners, "refused": self.refusals.snapshot()}

    def persist_refusals(self, catalog) -> None:
        """Add the refusals counted since the last call to the catalog's problem counters."""
        for source, reason, n in self.refusals.drain():
            catalog.count_problem("dropped", source, reason, n)

    def start(self) -> None:
        o = self.options
        port = DEFAULT_HEC_PORT if o.hec_port is None else o.hec_port
        if port:
            from speleo.server.hec_app import HecServer, HecService, HecSettings

            svc = HecService(self.rt.service.catalog, self.rt.writer.ingestor,
                             HecSettings(max_content_bytes=o.hec_max_content_bytes,
                                         max_decompressed_bytes=o.hec_max_decompressed_bytes),
                             refusals=self.refusals, source=f"hec:{port}")
            server = HecServer(svc, self.bind, port, o.hec_tls_cert, o.hec_tls_key, self.guard(f"hec:{port}"))
            scheme = "https" if o.hec_tls_cert else "http"
            try:
                server.start()
                self.hec = server
                self.listening.append(f"HTTP Event Collector on {scheme}://{self.bind}:{port}/services/collector")
            except OSError as e:
                if o.hec_port is not None:
                    raise
                log.warning("HTTP Event Collector not started: %s (use --hec-port)", e)
        if o.syslog_udp_port or o.syslog_tcp_port or o.syslog_tls_port:
            from speleo.ingest.syslog_server import SyslogListeners

            self.rt.service.catalog.ensure_index(o.syslog_index)
            self.syslog = SyslogListeners(self.rt.writer.ingestor, self.bind, o.syslog_udp_port,
                                          o.syslog_tcp_port, o.syslog_index, o.syslog_tz,
                                          tls_port=o.syslog_tls_port, tls_cert=o.syslog_tls_cert,
                                          tls_key=o.syslog_tls_key, limits=o.limits, refusals=self.refusals)
            self.syslog.start()
            self.listening += self.syslog.describe()

    def stop(self) -> None:
        if self.hec is not None:
            self.hec.stop()
            self.hec = None
        if self.syslog is not None:
            self.syslog.stop()
            self.syslog = None


def http_server(app, bind: str, port: int, tls_cert: str | None, tls_key: str | None,
                guard: ConnectionGuard, signals: type | None = None, **config):
    """A `uvicorn.Server` for `app` whose connections are bounded by `guard` (h11 protocol:
    headers bounded to 16 KB). `signals`: a mixin overriding uvicorn's signal handling (the
    API server's, see `runner.StopOnSignal`). TLS when `tls_cert` is given; a certificate or
    key that cannot be loaded raises here, before anything listens."""
    import uvicorn

    tls = {"ssl_certfile": tls_cert, "ssl_keyfile": tls_key} if tls_cert else {}
    cfg = uvicorn.Config(app, host=bind, port=port, log_level="warning", access_log=False,
                         http=guarded_protocol(guard), **tls, **config)
    if tls_cert:
        cfg.load()  # loads the certificate now: a bad one fails before the server starts
    cls = type("SpeleoServer", (signals, uvicorn.Server), {}) if signals else uvicorn.Server
    return cls(cfg)


def guarded_protocol(guard: ConnectionGuard) -> type:
    """uvicorn's h11 protocol admitting connections through `guard` (one over the limit gets
    503 and is closed) and closing a connection silent for `guard.limits.idle_secs` while the
    server waits for it (no request yet, between requests, or a body still arriving)."""
    from uvicorn.protocols.http.h11_impl import H11Protocol

    idle = guard.limits.idle_secs
    step = min(max(idle / 4, 0.05), 5.0)

    class Guarded(H11Protocol):
        _admitted = False
        _timer = None

        def connection_made(self, transport) -> None:
            super().connection_made(transport)
            self._admitted = guard.admit()
            if not self._admitted:
                transport.write(b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain\r\n"
                                b"content-length: 21\r\nconnection: close\r\n\r\ntoo many connections\n")
                transport.close()
                return
            self._last = self.loop.time()
            self._timer = self.loop.call_later(step, self._check_idle)

        def data_received(self, data: bytes) -> None:
            if not self._admitted:
                return
            self._last = self.loop.time()
            super().data_received(data)

        def connection_lost(self, exc) -> None:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            if self._admitted:
                self._admitted = False
                guard.release()
            super().connection_lost(exc)

        def _waiting_for_client(self) -> bool:
            c = self.cycle
            return c is None or c.response_complete or (c.more_body and not c.disconnected)

        def _check_idle(self) -> None:
            self._timer = None
            if self.transport.is_closing():
                return
            if self._waiting_for_client() and self.loop.time() - self._last >= idle:
                guard.idle("no request data")
                self.transport.close()
                return
            self._timer = self.loop.call_later(step, self._check_idle)

    return Guarded


def bounded_body(app, limit: int, refusals: Refusals, source: str = "api"):
    """ASGI wrapper refusing request bodies over `limit` bytes with 413 (counted): at once when
    Content-Length says so, else as soon as the chunks received pass it (the app then sees a
    disconnect). Bounds what an unauthenticated client can make the API buffer."""
    reason = f"request refused (413): body over {limit} bytes"
    body = b'{"error": {"code": "too_large", "message": "request body over %d bytes"}}' % limit

    async def too_large(send) -> None:
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})

    async def wrapped(scope, receive, send) -> None:
        if scope["type"] != "http":
            return await app(scope, receive, send)
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            refusals.count(source, reason)
            return await too_large(send)
        state = {"size": 0, "cut": False, "started": False}

        async def bounded_receive():
            if state["cut"]:
                return {"type": "http.disconnect"}
            msg = await receive()
            if msg["type"] == "http.request":
                state["size"] += len(msg.get("body", b""))
                if state["size"] > limit:
                    state["cut"] = True
                    refusals.count(source, reason)
                    if not state["started"]:
                        await too_large(send)
                    return {"type": "http.disconnect"}
            return msg

        async def guarded_send(msg) -> None:
            if state["cut"]:
                return
            state["started"] = True
            await send(msg)

        await app(scope, bounded_receive, guarded_send)

    return wrapped
