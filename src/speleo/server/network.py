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
The HTTP servers themselves (the API's and HEC's uvicorn, with these bounds) are built by
`speleo.server.http_guard`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from speleo.ingest import hec
from speleo.ingest.limits import ConnectionGuard, ConnectionLimits, Refusals

log = logging.getLogger("speleo.server")

DEFAULT_HEC_PORT = 8088


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

