"""The server process: one writer for the home, background loops, and the HTTP API.

Loops (threads): the ops ticks (`ticks`: escalations, reminders, schedules), the monitor (every `tail_poll_secs`), the sealer (every
`seal_interval_secs`: seal the journal into hot buckets, merge hot into warm, delete retired
bucket files after a grace period), the term index (sidecars that buckets lack, one at a time), retention and the licence record (`lifecycle_loops`). `server.json` in the home tells other commands where the
API listens; it is removed on a clean stop and ignored when its pid is dead.

Stopping: SIGTERM (`systemctl stop`, `docker stop`) and SIGINT (Ctrl-C) both stop cleanly and
the process exits 0: the listeners stop taking connections, syslog data already received by the
kernel is read and stored, HEC requests being written are answered, the journal is sealed into
buckets (searchable at once by the CLI) and `server.json` is removed. Signals arriving during the
stop are logged and otherwise ignored; only SIGKILL cuts it short (the journal then makes the
acknowledged data survive, sealed at the next start).
"""

from __future__ import annotations

import json
import logging
import os
import signal
import threading
import time

from speleo.clock import Clock, from_environment
from speleo.config import Home
from speleo.ingest.internal import InternalLog
from speleo.storage import memory
from speleo.ingest.monitor import Monitor
from speleo.ingest.oneshot import add_oneshot
from speleo.server import lifecycle_loops
from speleo.server.auth import ensure_api_token
from speleo.service import Service
from speleo.query.timefmt import local_zone, to_epoch

log = logging.getLogger("speleo.server")


class Runtime:
    """Everything a running server owns. `start()` then `stop()`."""

    def __init__(self, home: Home, bind: str = "127.0.0.1", port: int = 8000, clock: Clock | None = None,
                 backend: str | None = None) -> None:
        self.home = home
        self.clock = clock or from_environment()   # SystemClock unless SPELEO_TEST_CLOCK_FILE is set
        self.bind = bind
        self.port = port
        self.service = Service(home, backend)     # backend: a ClickHouse URL, or None (the home's buckets)
        self.api_token = ensure_api_token(home)
        self.stop_event = threading.Event()
        self.started = time.time()
        self.write_lock = threading.Lock()
        self.threads: list[threading.Thread] = []
        self.errors: dict[str, str] = {}
        from speleo.server.ticks import Ticker  # escalations, reminders, readiness, report schedules

        self.ticks = Ticker(self.clock, self.errors, self._tick_failed)
        self._notifier = None

    def start(self) -> None:
        self.writer = self.service.open_writer()
        try:                                      # ClickHouse: tables and TTLs as the settings say
            self.service.sync_backend_indexes()
        except Exception as e:                    # unreachable: the retention thread tries again
            log.warning("ClickHouse tables not checked at start (%s: %s); retried by the retention thread",
                        type(e).__name__, e)
        self.internal = InternalLog(self.writer.store, clock=self.clock)  # `_internal` and `_audit`
        self.service.internal = self.internal
        self.writer.ingestor.clock = self.clock.time  # year-less timestamps are read against it
        self.monitor = Monitor(self.writer.ingestor, self.home.settings, skip_under=self.home.root)
        self.monitor.load_inputs()
        self.writer.store.on_lifecycle = self.lifecycle_emit
        from speleo.alerts.fschange.watcher import FsChangeWatcher  # fschange inputs (own thread)
        self.fschange = FsChangeWatcher(self.home.root, self.service.catalog, self.writer.store, self.internal, self.clock)
        from speleo.ops.db import Database
        from speleo.ops.lease import Lease, process_holder  # one server at a time on a shared database

        ops_db = Database.for_home(self.home)
        holder = process_holder()   # SQLite: one home, one server; no lease to write every second
        self.leases = [] if ops_db.url.startswith("sqlite") else [
            Lease(ops_db, name, holder) for name in ("ops-ticks", "alert-scheduler")]
        self.ticks.lease = self.leases[0] if self.leases else None
        for name, fn in (("monitor", self._monitor_loop), ("sealer", self._sealer_loop),
                         ("term-index", self._term_index_loop),
                         ("fschange", lambda: self.fschange.run(self.stop_event)),
                         ("retention", lambda: lifecycle_loops.retention_loop(self)),
                         ("license", lambda: lifecycle_loops.license_loop(self)),
                         ("acceleration", lambda: lifecycle_loops.acceleration_loop(self)),
                         ("ops", lambda: self.ticks.run(self.stop_event))):
            t = threading.Thread(target=self._guard(name, fn), name=f"speleo-{name}", daemon=True)
            t.start()
            self.threads.append(t)
        from speleo.server.scheduling import build_scheduler  # saved searches and alerts

        self.scheduler = build_scheduler(self)
        self.scheduler.lease = self.leases[1] if self.leases else None
        self.scheduler.start()

    @property
    def notifier(self):
        """The `speleo.ops.notify.Notifier` of this server (alert_actions.conf, --smtp-server)."""
        if self._notifier is None:
            from speleo.ops.db import Database
            from speleo.ops.notify import Notifier

            self._notifier = Notifier.for_home(self.home, Database.for_home(self.home), self.clock,
                                               getattr(self, "smtp_server", None))
        return self._notifier

    def _tick_failed(self, fields: dict) -> None:
        internal = getattr(self, "internal", None)
        if internal is not None:
            internal.emit("_internal", "speleo:ticks", fields, level="ERROR", component="ticks")

    def _guard(self, name, fn):
        def run() -> None:
            while not self.stop_event.is_set():
                try:
                    fn()
                except Exception as e:  # keep the loop alive; the error is visible in status
                    from speleo.errors import SpeleoError

                    if isinstance(e, SpeleoError):   # an expected condition (ClickHouse busy...): no traceback
                        log.warning("%s loop: %s", name, e)
                    else:
                        log.exception("%s loop failed", name)
                    self.errors[name] = f"{type(e).__name__}: {e}"
                    self.stop_event.wait(1.0)

        return run

    def _monitor_loop(self) -> None:
        while not self.stop_event.is_set():
            with self.write_lock:
                self.monitor.poll()
            self.stop_event.wait(self.home.settings.tail_poll_secs)

    def _sealer_loop(self) -> None:
        s = self.home.settings
        last_checkpoint = time.monotonic()
        while not self.stop_event.is_set():
            self.writer.store.seal()
            self.errors.pop("sealer", None)      # sealed: an earlier failure (ClickHouse busy) is over
            self.writer.store.merge_hot(s.warm_merge_min_buckets)
            self.writer.store.collect_garbage(s.bucket_delete_grace_secs)
            memory.release()
            self._persist_refusals()
            if time.monotonic() - last_checkpoint > 60:
                self.service.catalog.checkpoint()
                last_checkpoint = time.monotonic()
            self.stop_event.wait(s.seal_interval_secs)

    def _term_index_loop(self) -> None:
        """Write the term index sidecars that buckets lack (written before sidecars existed,
        thawed, or found corrupt), one bucket at a time, off the sealer's path."""
        while not self.stop_event.is_set():
            built = self.writer.store.build_missing_sidecars(limit=1)
            self.stop_event.wait(1.0 if built else 30.0)

    def lifecycle_emit(self, event: str, fields: dict) -> None:
        lifecycle_loops.lifecycle_emit(self, event, fields)

    def _persist_refusals(self) -> None:
        net = getattr(self, "network", None)
        if net is not None:
            net.persist_refusals(self.service.catalog)

    def oneshot(self, req):
        with self.write_lock:
            return add_oneshot(self.writer.ingestor, req.path, req.index, req.sourcetype, req.host, req.force,
                               forbidden=self.home.root)

    def time_bounds(self, earliest, latest, now):
        """(earliest, latest) epoch seconds of an API request; see `timefmt.to_epoch`."""
        now = time.time() if now is None else now
        tz = local_zone(self.home.settings.default_tz)
        return to_epoch(earliest, now, tz), to_epoch(latest, now, tz)

    def write_server_file(self, url: str, tls_cert: str | None = None) -> None:
        """`server.json`: pid, URL and start time; with HTTPS, the certificate file, which the CLI
        trusts for this server (`cli.client`)."""
        tmp = self.home.server_file.with_suffix(".tmp")
        info = {"pid": os.getpid(), "url": url, "started": self.started}
        if tls_cert:
            info["tls_cert"] = os.path.abspath(tls_cert)
        tmp.write_text(json.dumps(info))
        os.replace(tmp, self.home.server_file)

    def info(self) -> dict:
        return {
            "pid": os.getpid(),
            "uptime_secs": round(time.time() - self.started, 1),
            "files_followed": self.monitor.status(),
            "fschange": self.fschange.status(),
            "file_following": self.monitor.summary(),
            "events_ingested_since_start": self.writer.ingestor.events_total,
            "loop_errors": self.errors,
            "scheduler": self.scheduler.status() if getattr(self, "scheduler", None) else None,
            "leases": [x.status() for x in getattr(self, "leases", [])],
            "network": self.network.status() if getattr(self, "network", None) else None,
        }

    def stop(self) -> None:
        self.stop_event.set()
        if getattr(self, "scheduler", None) is not None:
            self.scheduler.stop()
        for t in self.threads:
            t.join(timeout=10)
        self.fschange.close()
        for lease in getattr(self, "leases", []):
            lease.release()                       # another server takes over at once
        self.writer.store.seal()
        self._persist_refusals()
        self.monitor.close()
        self.writer.close()
        self.home.server_file.unlink(missing_ok=True)


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def serve(home: Home, bind: str, port: int, announce, network=None, tls_cert: str | None = None,
          tls_key: str | None = None, admin_password: str | None = None, smtp_server: str | None = None,
          backend: str | None = None) -> None:
    """Run the server until SIGTERM or SIGINT, then stop cleanly and return (exit status 0).

    `announce(url, runtime)` prints where it listens. `network`: a
    `speleo.server.network.NetworkOptions` (HEC and syslog listeners, connection limits), or None.
    `tls_cert`/`tls_key`: PEM certificate (chain) and key: the API and web pages speak HTTPS
    (key: default in the certificate file). A certificate that cannot be loaded raises
    `ssl.SSLError`/`OSError` before anything listens. `admin_password`: the password of the
    first web user `admin` when none exists yet (else a random one is printed once).
    `smtp_server`: HOST:PORT of the mail server alert emails go through by default.
    `backend`: `clickhouse://...` or `chdb:///...` to store and search events on ClickHouse
    (query.backend; docs/scale-out.md), None for the home's Parquet buckets.
    """
    from speleo.server.app import build_app
    from speleo.server.http_guard import API_MAX_BODY_BYTES, bounded_body, http_server
    from speleo.server.network import NetworkInputs, NetworkOptions

    memory.use_system_allocator()
    memory.tune_malloc()
    early = _StopRequests().install()   # a signal during the start stops the server once it is up
    options = network or NetworkOptions()
    rt = Runtime(home, bind, port, backend=backend)
    rt.smtp_server = smtp_server
    rt.admin_password = admin_password
    rt.start()
    rt.network = NetworkInputs(rt, bind, options)
    try:
        rt.network.start()
        app = bounded_body(build_app(rt), API_MAX_BODY_BYTES, rt.network.refusals)
        server = http_server(app, bind, port, tls_cert, tls_key, rt.network.guard("api"), signals=StopOnSignal)
    except BaseException:
        rt.network.stop()
        rt.stop()
        raise
    url = f"{'https' if tls_cert else 'http'}://{bind}:{port}"
    rt.write_server_file(url, tls_cert)
    announce(url, rt)
    server.should_exit = bool(early.signals)
    try:
        server.run()
    finally:
        with _ignoring_signals():
            rt.network.stop()
            rt.stop()


class StopOnSignal:
    """Signal handling of the API's uvicorn server: SIGTERM and SIGINT ask it to stop, and the
    signal is not raised again afterwards (uvicorn re-raises it, which for SIGTERM kills the process
    before the clean stop runs). Used as a mixin of `uvicorn.Server` (see `http_guard.http_server`)."""

    def capture_signals(self):
        import contextlib

        @contextlib.contextmanager
        def captured():
            if threading.current_thread() is not threading.main_thread():
                yield
                return
            old = {sig: signal.signal(sig, self._on_stop_signal) for sig in STOP_SIGNALS}
            try:
                yield
            finally:
                for sig, handler in old.items():
                    signal.signal(sig, handler)

        return captured()

    def _on_stop_signal(self, sig: int, frame) -> None:
        log.info("received %s: stopping", signal.Signals(sig).name)
        self.should_exit = True


class _StopRequests:
    """Remembers SIGTERM/SIGINT received before the API server handles them (main thread only)."""

    def __init__(self) -> None:
        self.signals: list[int] = []

    def install(self) -> "_StopRequests":
        if threading.current_thread() is threading.main_thread():
            for sig in STOP_SIGNALS:
                signal.signal(sig, lambda s, f: self.signals.append(s))
        return self


class _ignoring_signals:
    """Log and ignore SIGTERM/SIGINT while the clean stop runs (main thread only)."""

    def __enter__(self):
        self.old = {}
        if threading.current_thread() is threading.main_thread():
            for sig in STOP_SIGNALS:
                self.old[sig] = signal.signal(sig, lambda s, f: log.warning(
                    "%s ignored: the server is already stopping", signal.Signals(s).name))
        return self

    def __exit__(self, *exc) -> None:
        for sig, handler in self.old.items():
            signal.signal(sig, handler)
