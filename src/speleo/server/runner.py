"""The server process: one writer for the home, background loops, and the HTTP API.

Loops (threads): the monitor (every `tail_poll_secs`), and the sealer (every
`seal_interval_secs`: seal the journal into hot buckets, merge hot into warm, delete retired
bucket files after a grace period). `server.json` in the home tells other commands where the
API listens; it is removed on a clean stop and ignored when its pid is dead.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time

from speleo.clock import Clock, SystemClock
from speleo.config import Home
from speleo.ingest.internal import InternalLog
from speleo.storage import memory
from speleo.ingest.monitor import Monitor
from speleo.ingest.oneshot import add_oneshot
from speleo.server.auth import ensure_api_token
from speleo.service import Service
from speleo.query.timefmt import local_zone, to_epoch

log = logging.getLogger("speleo.server")


class Runtime:
    """Everything a running server owns. `start()` then `stop()`."""

    def __init__(self, home: Home, bind: str = "127.0.0.1", port: int = 8000, clock: Clock | None = None) -> None:
        self.home = home
        self.clock = clock or SystemClock()
        self.bind = bind
        self.port = port
        self.service = Service(home)
        self.api_token = ensure_api_token(home)
        self.stop_event = threading.Event()
        self.started = time.time()
        self.write_lock = threading.Lock()
        self.threads: list[threading.Thread] = []
        self.errors: dict[str, str] = {}

    def start(self) -> None:
        self.writer = self.service.open_writer()
        self.internal = InternalLog(self.writer.store, clock=self.clock)  # `_internal` and `_audit`
        self.monitor = Monitor(self.writer.ingestor, self.home.settings, skip_under=self.home.root)
        self.monitor.load_inputs()
        for name, fn in (("monitor", self._monitor_loop), ("sealer", self._sealer_loop)):
            t = threading.Thread(target=self._guard(name, fn), name=f"speleo-{name}", daemon=True)
            t.start()
            self.threads.append(t)

    def _guard(self, name, fn):
        def run() -> None:
            while not self.stop_event.is_set():
                try:
                    fn()
                except Exception as e:  # keep the loop alive; the error is visible in status
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
            self.writer.store.merge_hot(s.warm_merge_min_buckets)
            self.writer.store.collect_garbage(s.bucket_delete_grace_secs)
            memory.release()
            if time.monotonic() - last_checkpoint > 60:
                self.service.catalog.checkpoint()
                last_checkpoint = time.monotonic()
            self.stop_event.wait(s.seal_interval_secs)

    def oneshot(self, req):
        with self.write_lock:
            return add_oneshot(self.writer.ingestor, req.path, req.index, req.sourcetype, req.host, req.force)

    def time_bounds(self, earliest, latest, now):
        """(earliest, latest) epoch seconds of an API request; see `timefmt.to_epoch`."""
        now = time.time() if now is None else now
        tz = local_zone(self.home.settings.default_tz)
        return to_epoch(earliest, now, tz), to_epoch(latest, now, tz)

    def write_server_file(self, url: str) -> None:
        tmp = self.home.server_file.with_suffix(".tmp")
        tmp.write_text(json.dumps({"pid": os.getpid(), "url": url, "started": self.started}))
        os.replace(tmp, self.home.server_file)

    def info(self) -> dict:
        return {
            "pid": os.getpid(),
            "uptime_secs": round(time.time() - self.started, 1),
            "files_followed": self.monitor.status(),
            "events_ingested_since_start": self.writer.ingestor.events_total,
            "loop_errors": self.errors,
        }

    def stop(self) -> None:
        self.stop_event.set()
        for t in self.threads:
            t.join(timeout=10)
        self.writer.store.seal()
        self.monitor.close()
        self.writer.close()
        self.home.server_file.unlink(missing_ok=True)


def serve(home: Home, bind: str, port: int, announce, network=None) -> None:
    """Run the server until interrupted. `announce(url, runtime)` prints where it listens.

    `network`: a `speleo.server.network.NetworkOptions` (HEC and syslog listeners), or None.
    """
    import uvicorn

    from speleo.server.app import build_app
    from speleo.server.network import NetworkInputs

    memory.use_system_allocator()
    rt = Runtime(home, bind, port)
    rt.start()
    rt.network = NetworkInputs(rt, bind, network)
    try:
        rt.network.start()
    except BaseException:
        rt.network.stop()
        rt.stop()
        raise
    url = f"http://{bind}:{port}"
    config = uvicorn.Config(build_app(rt), host=bind, port=port, log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    rt.write_server_file(url)
    announce(url, rt)
    try:
        server.run()
    finally:
        rt.network.stop()
        rt.stop()
