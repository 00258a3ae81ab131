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


class _SlowStore(_Store):
    """A journal write that takes a while: a periodic flush is still storing when the stop comes."""

    def append(self, table, _offsets, _problems) -> None:
        threading.Event().wait(0.4)
        super().append(table, _offsets, _problems)


def test_a_periodic_flush_still_storing_at_the_stop_is_waited_for(monkeypatch):
    monkeypatch.setattr(syslog_server, "FLUSH_SECS", 0.05)
    monkeypatch.setattr(syslog_server, "DRAIN_QUIET_SECS", 0.05)
    ing = _Ingestor()
    ing.store = _SlowStore()
    lst = SyslogListeners(ing, "127.0.0.1", 0, free_port(), "main", "UTC")
    lst.start()
    with socket.create_connection(("127.0.0.1", lst.tcp_bound), timeout=2) as s:
        s.sendall(b"<13>Dec  4 09:00:00 h app: one message\n" * 10)
        for _ in range(500):
            if lst.received == 10:
                break
            threading.Event().wait(0.005)
        threading.Event().wait(0.15)   # the flusher (every 0.05 s) is inside its 0.4 s store now
        lst.stop()
    # stop() returned: everything read is stored, none of it still on its way
    assert lst.received == 10 and ing.store.rows == 10
