"""uvicorn servers for the API and HEC ports with Speleo's bounds on what a client can make
them hold before it is authenticated (see docs/inputs.md "Limits").

- `http_server`: a `uvicorn.Server` on the h11 protocol (request heads bounded to 16 KB; larger
  gets 400) whose connections go through a `ConnectionGuard`: at most `max_connections` open (one
  more gets 503 and is closed), closed when silent for `idle_secs` while the server waits for the
  client. With TLS the connection is admitted before its handshake, which must end within
  `tls_handshake_secs` (or `idle_secs` when shorter): pending handshakes are bounded in number
  and time, and those that fail or time out are counted.
- `bounded_body`: an ASGI wrapper refusing request bodies over a limit with 413 (FastAPI reads a
  body before it checks the token).
"""

from __future__ import annotations

import asyncio
import asyncio.sslproto

from speleo.ingest.limits import ConnectionGuard, Refusals

API_MAX_BODY_BYTES = 16 * 1024 * 1024   # searches, inputs, saved searches: a few KB each


def http_server(app, bind: str, port: int, tls_cert: str | None, tls_key: str | None,
                guard: ConnectionGuard, signals: type | None = None, **config):
    """A `uvicorn.Server` for `app` whose connections are bounded by `guard` (h11 protocol:
    headers bounded to 16 KB). `signals`: a mixin overriding uvicorn's signal handling (the
    API server's, see `runner.StopOnSignal`). TLS when `tls_cert` is given; a certificate or
    key that cannot be loaded raises here, before anything listens."""
    import uvicorn

    tls = {"ssl_certfile": tls_cert, "ssl_keyfile": tls_key} if tls_cert else {}
    cfg = uvicorn.Config(app, host=bind, port=port, log_level="warning", access_log=False,
                         http=guarded_protocol(guard, admit=not tls_cert), **tls, **config)
    if tls_cert:
        cfg.load()  # loads the certificate now: a bad one fails before the server starts
        cfg.http_protocol_class = tls_gate(cfg.http_protocol_class, cfg.ssl, guard)
        cfg.ssl = None   # the gate does TLS, after admitting the connection
    cls = type("SpeleoServer", (signals, uvicorn.Server), {}) if signals else uvicorn.Server
    return cls(cfg)


def tls_gate(inner: type, ctx, guard: ConnectionGuard):
    """A protocol factory (uvicorn's `http` class signature) that admits each connection through
    `guard` before its TLS handshake, bounds the handshake in time and counts failed ones; the
    HTTP protocol `inner` gets the decrypted stream once the handshake is done. Built on asyncio's
    own TLS protocol (what `loop.create_server(ssl=...)` uses)."""
    secs = min(guard.limits.tls_handshake_secs, guard.limits.idle_secs)

    class Gate(asyncio.sslproto.SSLProtocol):
        _admitted = False

        def connection_made(self, transport) -> None:
            self._admitted = guard.admit()
            if not self._admitted:
                transport.abort()
                return
            self._started = asyncio.get_running_loop().time()
            super().connection_made(transport)

        def connection_lost(self, exc) -> None:
            if self._admitted:
                self._admitted = False
                guard.release()
                if self._app_state == asyncio.sslproto.AppProtocolState.STATE_INIT:   # never got through
                    late = asyncio.get_running_loop().time() - self._started >= secs - 0.05
                    guard.refusals.count(guard.source, f"TLS handshake not finished in {secs:g}s" if late
                                         else "TLS handshake failed")
            super().connection_lost(exc)

    def factory(**kw):
        return Gate(asyncio.get_running_loop(), inner(**kw), ctx, None, server_side=True,
                    ssl_handshake_timeout=secs)

    return factory


def guarded_protocol(guard: ConnectionGuard, admit: bool = True) -> type:
    """uvicorn's h11 protocol admitting connections through `guard` (one over the limit gets
    503 and is closed; `admit=False`: `tls_gate` admitted it already) and closing a connection
    silent for `guard.limits.idle_secs` while the server waits for it (no request yet, between
    requests, or a body still arriving)."""
    from uvicorn.protocols.http.h11_impl import H11Protocol

    idle = guard.limits.idle_secs
    step = min(max(idle / 4, 0.05), 5.0)

    class Guarded(H11Protocol):
        _admitted = False
        _timer = None

        def connection_made(self, transport) -> None:
            super().connection_made(transport)
            self._admitted = guard.admit() if admit else True
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
                if admit:
                    guard.release()
            super().connection_lost(exc)

        def send_400_response(self, msg: str) -> None:
            """h11 refused the request (malformed, or its head over 16 KB): counted, then 400."""
            guard.refusals.count(guard.source, "request refused (400): malformed HTTP or head over 16 KB")
            super().send_400_response(msg)

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
