"""Real receivers for notification tests: an SMTP server (aiosmtpd) and an HTTP webhook listener.

    with smtp_inbox() as inbox:            # inbox.port; inbox.messages: [(rcpt_tos, email.message.EmailMessage)]
    with webhook_listener(status=200) as hook:   # hook.url; hook.received: [(path, headers dict, parsed JSON)]

Both are also pytest fixtures (`smtp_inbox`, `webhook_inbox`) in tests/conftest.py.
"""

from __future__ import annotations

import email
import json
import threading
from contextlib import contextmanager
from email import policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Iterator

from aiosmtpd.controller import Controller


class Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], email.message.EmailMessage]] = []
        self.port = 0

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((list(envelope.rcpt_tos), email.message_from_bytes(envelope.content, policy=policy.default)))
        return "250 OK"

    def wait(self, n: int, timeout: float = 20.0) -> list:
        from tests.conftest import wait_for

        wait_for(lambda: len(self.messages) >= n, timeout)
        return self.messages


@contextmanager
def smtp_inbox() -> Iterator[Inbox]:
    from tests.conftest import free_port

    inbox = Inbox()
    inbox.port = free_port()
    ctl = Controller(inbox, hostname="127.0.0.1", port=inbox.port)
    ctl.start()
    try:
        yield inbox
    finally:
        ctl.stop()


class Hook:
    def __init__(self) -> None:
        self.received: list[tuple[str, dict, object]] = []
        self.status = 200
        self.url = ""


@contextmanager
def webhook_listener(status: int = 200) -> Iterator[Hook]:
    hook = Hook()
    hook.status = status

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            try:
                doc: object = json.loads(body)
            except ValueError:
                doc = body.decode("utf-8", "replace")
            hook.received.append((self.path, dict(self.headers), doc))
            self.send_response(hook.status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *a):
            pass

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    hook.url = f"http://127.0.0.1:{srv.server_port}/hook"
    try:
        yield hook
    finally:
        srv.shutdown()
        srv.server_close()
