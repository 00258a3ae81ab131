"""`speleo forward`: the forwarder process.

Threads: the main one follows the files (`tail.RawTailer`: the server monitor's file following —
fingerprints, rotation, checkpoints — without its parser) and appends each read, complete lines
with the file checkpoint they bring the file to, to the disk queue (blocking when the queue is
full); the sender ships them raw to the HEC raw endpoint and commits (see `sender`); a metrics
thread queues host metrics; a status thread writes `status.json` every second for
`speleo forward status`. Events are broken and timestamped by the receiver, so this process
imports neither pyarrow nor the event parser (28 MB of memory instead of 108).

Home folder (`--home`, default `./var/forwarder`):

    queue/*.seg       the disk queue (records not yet acknowledged)
    state.json        acknowledged record id and file checkpoints (atomic writes)
    deadletter/refused.jsonl  batches the receiver refused for good (see `deadletter`)
    status.json       what it follows, queue depth, last error, lines sent (rewritten every second)
    forwarder.lock    held by the running forwarder (one per home)
    props.toml        optional: `[source."GLOB"] sourcetype = "..."` assigns sourcetypes by path

At start, a file is read on from the checkpoint of the last record still queued for it, else
from its acknowledged checkpoint, and the queued records are sent again.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from speleo.config import Settings
from speleo.errors import ConflictError, InputError
from speleo.forward.queue import DiskQueue, Stopped
from speleo.forward.sender import HecSender, HttpTransport
from speleo.forward.state import CheckpointStore
from speleo.forward.tail import RawTailer, Target, default_host
from speleo.ingest.tailing import MonitorInput

log = logging.getLogger("speleo.forward")

DEFAULT_HOME = Path("var") / "forwarder"
DEFAULT_QUEUE_BYTES = 100 * 1024 * 1024
STATUS_FILE = "status.json"


class QueueSink:
    """The tailer's sink in the forwarder: reads of complete lines go to the disk queue."""

    def __init__(self, queue: DiskQueue, state: CheckpointStore, stop: threading.Event) -> None:
        self.queue = queue
        self.state = state
        self.stop = stop
        self.problems: list[dict] = []
        self.events_total = 0   # lines read and queued

    def checkpoints(self) -> dict[str, tuple[str, int]]:
        """Acknowledged checkpoints, overlaid by those of records still queued (sent again)."""
        cps = dict(self.state.checkpoints)
        cps.update(self.queue.pending_checkpoints())
        return cps

    def count_problem(self, kind: str, source: str, reason: str) -> None:
        self.problems.append({"kind": kind, "source": source, "reason": reason, "at": time.time()})
        del self.problems[:-50]

    def seal_if_large(self, limit_bytes: int) -> None:
        pass

    def append_raw(self, payload: bytes, lines: int, target: Target, checkpoint) -> int:
        self.queue.append(payload, lines, checkpoint, self.stop, raw=target.params())
        self.events_total += lines
        return lines


@dataclass
class ForwardOptions:
    to: str
    token: str
    home: Path = DEFAULT_HOME
    monitors: list[str] = field(default_factory=list)
    index: str = "main"
    sourcetype: str | None = None
    host: str | None = None
    metrics_interval: float = 60.0
    metrics_index: str = "metrics"
    metrics_sourcetype: str = "speleo:metrics"
    service: str | None = None       # written into each metrics event as `service` (the capacity report's groups)
    smart_interval: float = 3600.0   # seconds between smartctl readings (0: off; off anyway without smartctl)
    smartctl: str | None = None      # the smartctl program (None: found on the PATH)
    queue_max_bytes: int = DEFAULT_QUEUE_BYTES
    verify_tls: bool = True
    batch_wait: float = 0.5
    poll_secs: float = 0.25


class Forwarder:
    """One forwarder process over one home (see module doc)."""

    def __init__(self, opts: ForwardOptions) -> None:
        self.opts = opts
        self.home = Path(opts.home).expanduser().resolve()
        self.home.mkdir(parents=True, exist_ok=True)
        self._lock_fd = os.open(self.home / "forwarder.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._lock_fd)
            raise ConflictError(f"another forwarder is running with home {self.home}") from None
        self.stop = threading.Event()
        self.state = CheckpointStore(self.home / "state.json")
        self.queue = DiskQueue(self.home / "queue", opts.queue_max_bytes, acked=self.state.acked)
        self.sink = QueueSink(self.queue, self.state, self.stop)
        host = opts.host or default_host()
        self.host = host
        inputs = []
        for i, p in enumerate(opts.monitors):
            path = str(Path(p).expanduser().absolute())
            inputs.append(MonitorInput(i + 1, path, opts.index, opts.sourcetype, host))
        # a queue record holds one read: keep it small beside the limit
        chunk = max(16 * 1024, min(1024 * 1024, opts.queue_max_bytes // 16))
        self.settings = Settings(read_chunk_bytes=chunk, poll_budget_bytes=2 * chunk, tail_poll_secs=opts.poll_secs)
        self.monitor = RawTailer(self.sink, self.settings, skip_under=self.home, inputs=inputs,
                                 props=_props(self.home))
        self.transport = HttpTransport(opts.to, verify=opts.verify_tls)
        self.sender = HecSender(self.queue, self.state, opts.token, self.transport, batch_wait=opts.batch_wait)
        self.files: list[dict] = []
        from speleo.forward.smart import SmartCollector

        self.smart = SmartCollector(opts.smartctl)
        self.started = time.time()
        self.threads: list[threading.Thread] = []
        if self.queue.torn:
            log.warning("queue: %d torn record(s) cut at start (never acknowledged, read again from the files)",
                        len(self.queue.torn))

    # -- running -------------------------------------------------------------------------
    def run(self) -> None:
        """Run until `stop` is set (SIGTERM/SIGINT in the CLI)."""
        self.threads = [threading.Thread(target=self.sender.run, args=(self.stop,), name="fwd-sender", daemon=True),
                        threading.Thread(target=self._status_loop, name="fwd-status", daemon=True)]
        if self.opts.metrics_interval > 0:
            self.threads.append(threading.Thread(target=self._metrics_loop, name="fwd-metrics", daemon=True))
        if self.opts.smart_interval > 0 and self.smart.enabled:
            self.threads.append(threading.Thread(target=self._smart_loop, name="fwd-smart", daemon=True))
        for t in self.threads:
            t.start()
        last_files = 0.0
        try:
            while not self.stop.is_set():
                before = self._read_position()
                try:
                    self.monitor.poll()
                except Stopped:
                    break
                now = time.monotonic()
                if now - last_files >= 1.0:
                    self.files = self.monitor.status()
                    last_files = now
                if self.queue.full():
                    self.stop.wait(0.1)
                elif self._read_position() - before < self.settings.poll_budget_bytes:
                    # caught up: wait for more rather than read a few lines at a time
                    self.stop.wait(self.opts.poll_secs)
        finally:
            self.stop.set()
            for t in self.threads:
                t.join(timeout=15)
            self.write_status()
            self.close()

    def _read_position(self) -> int:
        return sum(t.offset + len(t.carry) for t in list(self.monitor.tracked.values()))

    def _metrics_loop(self) -> None:
        from speleo.forward.metrics import HostMetrics, envelopes as metric_envelopes

        metrics = HostMetrics()
        while not self.stop.wait(self.opts.metrics_interval):
            try:
                samples = metrics.sample()
                payload = metric_envelopes(samples, time.time(), self.host, self.opts.metrics_index,
                                           self.opts.metrics_sourcetype, service=self.opts.service)
                self.queue.append(payload, len(samples), None, self.stop)
            except Stopped:
                return
            except Exception as e:  # a metric that cannot be read must not stop the forwarder
                log.warning("host metrics: %s", e)

    def _smart_loop(self) -> None:
        """Disk health (speleo.forward.smart): a reading soon after start, then every smart_interval."""
        from speleo.forward.metrics import envelopes as metric_envelopes

        wait = min(5.0, self.opts.smart_interval)
        while not self.stop.wait(wait):
            wait = self.opts.smart_interval
            try:
                docs = self.smart.collect()
                if docs:
                    payload = metric_envelopes(docs, time.time(), self.host, self.opts.metrics_index, "smartctl:json",
                                               source="speleo:forwarder:smartctl")
                    self.queue.append(payload, len(docs), None, self.stop)
            except Stopped:
                return
            except Exception as e:  # disk health must not stop the forwarder
                log.warning("smartctl: %s", e)

    def _status_loop(self) -> None:
        while not self.stop.wait(1.0):
            try:
                self.write_status()
            except OSError as e:
                log.warning("cannot write status: %s", e)

    def status(self) -> dict:
        s = self.sender.stats
        return {
            "pid": os.getpid(), "home": str(self.home), "to": self.opts.to, "started": self.started,
            "updated": time.time(), "running": not self.stop.is_set(),
            "inputs": [{"path": str(Path(p).expanduser().absolute()), "index": self.opts.index,
                        "sourcetype": self.opts.sourcetype} for p in self.opts.monitors],
            "files": self.files,
            "queue": self.queue.stats(),
            "events_read": self.sink.events_total,
            "events_sent": s.events_sent, "events_sent_total": self.state.events_acked,
            "batches_sent": s.batches_sent, "posts": s.posts, "retries": s.retries, "resends": s.resends,
            "acked_record": self.state.acked, "ack_mode": s.ack_mode, "channel": s.channel,
            "inflight_batches": s.inflight,
            "refused": {"batches": self.state.refused_batches, "events": self.state.refused_events,
                        "file": str(self.sender.dead_letters.path)},
            "last_error": s.last_error, "last_error_at": s.last_error_at, "last_success_at": s.last_success_at,
            "problems": self.sink.problems[-10:],
            "metrics": {"interval": self.opts.metrics_interval, "index": self.opts.metrics_index},
            "smart": {"enabled": self.smart.enabled and self.opts.smart_interval > 0,
                      "interval": self.opts.smart_interval, "smartctl": self.smart.smartctl,
                      "errors": self.smart.errors, "last_error": self.smart.last_error},
        }

    def write_status(self) -> None:
        path = self.home / STATUS_FILE
        tmp = path.with_name(STATUS_FILE + ".tmp")
        tmp.write_text(json.dumps(self.status(), default=str))
        os.replace(tmp, path)

    def close(self) -> None:
        self.monitor.close()
        self.transport.close()
        self.queue.close()
        os.close(self._lock_fd)


def _props(home: Path):
    path = home / "props.toml"
    if not path.exists():
        return None
    from speleo import sourcetypes

    return sourcetypes.load_props(path)


def read_status(home: Path) -> dict:
    """The status a forwarder with this home wrote last, with `alive` (its lock is held)."""
    home = Path(home).expanduser().resolve()
    path = home / STATUS_FILE
    if not path.exists():
        raise InputError(f"no forwarder status in {home} (has 'speleo forward --home {home}' run?)")
    st = json.loads(path.read_text())
    st["alive"] = _locked(home / "forwarder.lock")
    return st


def _locked(path: Path) -> bool:
    if not path.exists():
        return False
    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)
