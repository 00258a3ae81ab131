"""`SyslogListeners.stop()` while senders never pause: every connection's task ends and every
message the listener read is stored (Python 3.11's `asyncio.wait_for` may swallow the cancel
when its read completes at the same moment, which left tasks reading after the last flush)."""

from __future__ import annotations

import socket
import threading

from speleo.ingest import syslog_server
from speleo.ingest.syslog_server import SyslogListeners
from tests.conftest import free_port


class _Store:
    def __init__(self) -> None:
        self.rows = 0

    def append(self, table, _offsets, _problems) -> None:
        self.rows += table.num_rows


class _Ingestor:
    def __init__(self) -> None:
        self.store = _Store()
        self.events_total = 0


def _send_forever(port: int, stop: threading.Event) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
        line = b"<13>Dec  4 09:00:00 h app: flood of messages that never pauses\n" * 64
        try:
            while not stop.is_set():
                s.sendall(line)
        except OSError:
            pass


def test_stop_under_endless_senders_stores_every_message_read(monkeypatch):
    monkeypatch.setattr(syslog_server, "DRAIN_MAX_SECS", 0.3)
    for _round in range(2):
        ing = _Ingestor()
        lst = SyslogListeners(ing, "127.0.0.1", 0, free_port(), "main", "UTC")
        lst.start()
        stop = threading.Event()
        senders = [threading.Thread(target=_send_forever, args=(lst.tcp_bound, stop)) for _ in range(4)]
        for t in senders:
            t.start()
        for _ in range(1000):
            if lst.received >= 5000:
                break
            threading.Event().wait(0.01)
        try:
            lst.stop()
        finally:
            stop.set()
            for t in senders:
                t.join()
        assert not lst._clients, "connection tasks still reading after the stop"
        assert ing.store.rows == lst.received
