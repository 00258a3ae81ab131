"""Alert actions against real receivers: an aiosmtpd SMTP server, an HTTP listener, a script;
log event, lookup and summary index; failures recorded without stopping the other actions."""

from __future__ import annotations

import csv
import email
import io
import json
import socket
import threading
from email import policy
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from tests.alerts.harness import Harness, epoch
from tests.conftest import free_port

ROWS = [{"host": "h1", "count": "3"}, {"host": "h2", "count": "1"}]


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.rcpt_tos, envelope.content))
        return "250 OK"


@pytest.fixture
def smtp():
    inbox = Inbox()
    users = {"alerts": "s3cret"}

    def auth(server, session, envelope, mechanism, data):
        ok = data is not None and users.get(data.login.decode()) == data.password.decode()
        return AuthResult(success=ok)

    port = free_port()
    ctl = Controller(inbox, hostname="127.0.0.1", port=port, authenticator=auth, auth_require_tls=False)
    ctl.start()
    inbox.port = port
    yield inbox
    ctl.stop()


class Hook(BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Hook.received.append((self.headers["Content-Type"], json.loads(body)))
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *a):
        pass


@pytest.fixture
def hook():
    Hook.received = []
    srv = HTTPServer(("127.0.0.1", 0), Hook)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{srv.server_port}/alert"
    srv.shutdown()


def harness(tmp_path, rows=ROWS) -> Harness:
    h = Harness(tmp_path / "h", epoch("2026-03-01T00:00:30"))
    h.rows["a"] = lambda now: [dict(r) for r in rows]
    return h


def fire(h: Harness, **attrs):
    base = {"cron_schedule": "* * * * *", "is_scheduled": "1", "counttype": "number of events",
            "relation": "greater than", "quantity": "0"}
    h.save("a", **{**base, **attrs})
    h.walk(epoch("2026-03-01T00:00:30"), epoch("2026-03-01T00:01:30"))
    return h.runs("a")[-1]


def test_email_with_tokens_inline_table_csv_and_auth(tmp_path, smtp):
    h = harness(tmp_path)
    run = fire(h, **{"action.email": "1", "action.email.to": "ops@example.com, oncall@example.com",
                     "action.email.subject": "$name$: $job.resultCount$ results, first host $result.host$",
                     "action.email.mailserver": f"127.0.0.1:{smtp.port}", "action.email.sendresults": "1",
                     "action.email.inline": "1", "action.email.sendcsv": "1",
                     "action.email.auth_username": "alerts", "action.email.auth_password": "s3cret"})
    assert run.status == "success" and run.alert_actions == "email", run.reason
    (rcpts, raw), = smtp.messages
    assert sorted(rcpts) == ["oncall@example.com", "ops@example.com"]
    msg = email.message_from_bytes(raw, policy=policy.default)
    assert msg["Subject"] == "a: 2 results, first host h1"
    html_part = msg.get_body(("html",)).get_content()
    assert "<td>h1</td><td>3</td>" in html_part.replace("\n", "") or "<td>h1</td>" in html_part
    att = [p for p in msg.iter_attachments()][0]
    assert att.get_filename() == "results.csv"
    assert list(csv.DictReader(io.StringIO(att.get_content()))) == ROWS
    fired = h.states.fired(epoch("2026-03-01T00:02:00"), "a")
    assert len(fired) == 1 and fired[0].actions == ["email"] and fired[0].triggered_alerts == 2
    secrets = json.dumps([f for _, f in h.events])
    assert "s3cret" not in secrets


def test_server_wide_mailserver_and_refusing_server(tmp_path, smtp):
    h = harness(tmp_path)
    h.server.email_defaults = {"mailserver": f"127.0.0.1:{smtp.port}"}
    run = fire(h, **{"action.email": "1", "action.email.to": "ops@example.com"})
    assert run.status == "success" and len(smtp.messages) == 1
    h2 = harness(tmp_path / "2")
    dead = free_port()
    run = fire(h2, **{"action.email": "1", "action.email.to": "ops@example.com",
                      "action.email.mailserver": f"127.0.0.1:{dead}"})
    assert f"action email failed: alert 'a': the mail server 127.0.0.1:{dead} did not take the email" in run.reason
    failed = [f for st, f in h2.events if st == "alert_actions"]
    assert failed[0]["action_status"] == "failed" and failed[0]["action_name"] == "email"


def test_webhook_payload_per_result(tmp_path, hook):
    """Spec §1.12 checks 7 and 10: one POST per row, exact keys, result == the row."""
    h = harness(tmp_path)
    fire(h, **{"alert.digest_mode": "0", "action.webhook": "1", "action.webhook.param.url": hook})
    assert len(Hook.received) == 2
    ctype, body = Hook.received[0]
    assert ctype == "application/json"
    assert set(body) == {"result", "sid", "results_link", "search_name", "owner", "app"}
    assert [b["result"] for _, b in Hook.received] == ROWS
    assert body["search_name"] == "a" and body["owner"] == "nobody" and body["app"] == "search"
    assert body["sid"] == h.runs("a")[-1].sid


def test_hanging_webhook_times_out_and_does_not_block_the_email(tmp_path, smtp):
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(5)  # accepts connections, never answers
    try:
        h = harness(tmp_path)
        run = fire(h, **{"action.webhook": "1", "action.webhook.param.url": f"http://127.0.0.1:{silent.getsockname()[1]}/",
                         "action.webhook.param.timeout": "1", "action.email": "1", "action.email.to": "a@example.com",
                         "action.email.mailserver": f"127.0.0.1:{smtp.port}"})
    finally:
        silent.close()
    assert "did not answer within 1 s" in run.reason
    assert len(smtp.messages) == 1


def test_script_gets_splunk_arguments(tmp_path):
    h = harness(tmp_path)
    scripts = h.server.scripts_dir
    scripts.mkdir(parents=True)
    out = tmp_path / "script-out.json"
    script = scripts / "notify.sh"
    script.write_text(f"#!/bin/sh\nprintf '%s\\n' \"$1\" \"$4\" \"$SPLUNK_ARG_5\" > {out}\nzcat \"$8\" >> {out}\n")
    script.chmod(0o755)
    run = fire(h, **{"action.script": "1", "action.script.filename": "notify.sh"})
    assert run.reason.endswith("measured 2") or "failed" not in run.reason
    lines = out.read_text().splitlines()
    assert lines[:3] == ["2", "a", "Saved Search [a] triggered"]
    assert list(csv.DictReader(io.StringIO("\n".join(lines[3:])))) == ROWS


@pytest.mark.parametrize("make, words", [
    (lambda d: None, "no such script"),
    (lambda d: (d / "notify.sh").write_text("#!/bin/sh\n"), "not executable"),
])
def test_missing_or_non_executable_script(tmp_path, make, words):
    h = harness(tmp_path)
    h.server.scripts_dir.mkdir(parents=True)
    make(h.server.scripts_dir)
    run = fire(h, **{"action.script": "1", "action.script.filename": "notify.sh"})
    assert "action script failed" in run.reason and words in run.reason


def test_logevent_lookup_and_summary_index(tmp_path):
    h = harness(tmp_path)
    run = fire(h, **{"action.logevent": "1", "action.logevent.param.event": "alert $name$ saw $result.host$",
                     "action.logevent.param.index": "alerts", "action.lookup": "1",
                     "action.lookup.filename": "hosts.csv", "action.summary_index": "1",
                     "action.summary_index.report": "hosts", "dispatch.earliest_time": "-1h"})
    assert "failed" not in run.reason, run.reason
    by_st = {s[1]: s for s in h.sent}
    index, st, source, host, events = by_st["generic_single_line"]
    assert (index, source, events[0]["_raw"]) == ("alerts", "alert:a", "alert a saw h1")
    with open(h.home.lookups_dir / "hosts.csv") as f:
        assert list(csv.DictReader(f)) == ROWS
    index, st, source, host, events = by_st["stash"]
    assert index == "summary" and len(events) == 2
    assert events[0]["fields"]["host"] == "h1" and events[0]["fields"]["report"] == "hosts"
    assert 'search_name="a"' in events[0]["_raw"] and 'count="3"' in events[0]["_raw"]
    assert events[0]["_time"] == epoch("2026-03-01T00:01:00") - 3600   # info_min_time: no _time in the rows


def test_email_over_starttls_with_auth(tmp_path):
    import shutil
    import ssl
    import subprocess

    if shutil.which("openssl") is None:
        pytest.skip("openssl CLI not installed")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-keyout", str(tmp_path / "key.pem"), "-out", str(tmp_path / "cert.pem"), "-days", "2",
                    "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                   check=True, capture_output=True, timeout=60)
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    inbox = Inbox()
    port = free_port()
    ctl = Controller(inbox, hostname="127.0.0.1", port=port, tls_context=tls, require_starttls=True,
                     authenticator=lambda *a: AuthResult(success=a[4].password == b"pw"))
    ctl.start()
    try:
        common = {"action.email": "1", "action.email.to": "ops@example.com", "action.email.use_tls": "1",
                  "action.email.mailserver": f"127.0.0.1:{port}", "action.email.auth_username": "u",
                  "action.email.auth_password": "pw"}
        h = harness(tmp_path / "a")
        run = fire(h, **common)       # the self-signed certificate is not trusted by default
        assert "action email failed" in run.reason and "CERTIFICATE_VERIFY_FAILED" in run.reason
        h = harness(tmp_path / "b")
        run = fire(h, **{**common, "action.email.ssl_ca": str(tmp_path / "cert.pem")})
        assert "failed" not in run.reason, run.reason
        assert len(inbox.messages) == 1
    finally:
        ctl.stop()


def test_line_breaks_in_result_tokens_neither_inject_headers_nor_lose_the_email(tmp_path, smtp):
    """Attack: event data with CR/LF in `$result.*$` used in Subject and To."""
    hostile = [{"host": "h1\r\nBcc: evil@example.com", "who": "x\rBcc: evil2@example.com", "count": "3"}]
    h = harness(tmp_path, hostile)
    run = fire(h, **{"action.email": "1", "action.email.to": "ops@example.com, $result.who$",
                     "action.email.cc": "$result.host$",
                     "action.email.subject": "down: $result.host$\u2028X-Evil: 1",
                     "action.email.mailserver": f"127.0.0.1:{smtp.port}"})
    assert run.status == "success" and "failed" not in run.reason, run.reason
    (rcpts, raw), = smtp.messages
    assert rcpts == ["ops@example.com"]
    msg = email.message_from_bytes(raw, policy=policy.default)
    assert msg["Subject"] == "down: h1 Bcc: evil@example.com X-Evil: 1"
    assert msg["Bcc"] is None and msg["X-Evil"] is None and msg["Cc"] is None
    outcome = [f for st, f in h.events if st == "alert_actions"][0]
    assert "left out 4 invalid address(es)" in str(outcome), outcome


class RawListener:
    """A TCP listener answering each connection with `answer` bytes, then keeping it open
    (an endless body) until closed; counts the requests it read."""

    def __init__(self, answer: bytes):
        self.answer, self.requests, self.conns = answer, [], []
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)
            self.requests.append(conn.recv(65536))
            conn.sendall(self.answer)

    def close(self):
        self.sock.close()
        for c in self.conns:
            c.close()


def test_webhook_outbound_policy(tmp_path):
    """Attack: a receiver with an endless body, a redirect to file://, a URL off the allow list."""
    endless = RawListener(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000000000\r\n\r\n" + b"x" * 65536)
    redirect = RawListener(b"HTTP/1.1 302 Found\r\nLocation: file:///etc/passwd\r\nContent-Length: 0\r\n\r\n")
    try:
        h = harness(tmp_path)
        run = fire(h, **{"action.webhook": "1", "action.webhook.param.url": endless.url + "/hook",
                         "action.webhook.param.timeout": "1"})
        assert "failed" not in run.reason and len(endless.requests) == 1, run.reason
        h = harness(tmp_path / "2")
        run = fire(h, **{"action.webhook": "1", "action.webhook.param.url": redirect.url + "/hook"})
        assert "answered HTTP 302 (a redirect; redirects are not followed" in run.reason
        h = harness(tmp_path / "3")
        (h.home.root / "alert_actions.conf").write_text(f"[webhook]\nallow_list = {endless.url}/allowed/*\n")
        run = fire(h, **{"action.webhook": "1", "action.webhook.param.url": endless.url + "/other"})
        assert "matches no [webhook] allow_list pattern" in run.reason and len(endless.requests) == 1
        h = harness(tmp_path / "4")
        (h.home.root / "alert_actions.conf").write_text(f"[webhook]\nallow_list = {endless.url}/allowed/*\n")
        run = fire(h, **{"action.webhook": "1", "action.webhook.param.url": endless.url + "/allowed/x",
                         "action.webhook.param.timeout": "1"})
        assert "failed" not in run.reason and len(endless.requests) == 2, run.reason
    finally:
        endless.close()
        redirect.close()


def test_actions_given_part_of_a_truncated_result_say_so_in_the_run_record(tmp_path):
    """A scheduled run keeps at most the scheduler's row cap: a summary_index action over a
    `sistats` of more events than that writes part of them; the run's record says how many."""
    from speleo.alerts.runner import SearchOutput
    from tests.alerts.harness import Harness, epoch

    h = Harness(tmp_path / "home", epoch("2025-03-01T00:00:00"))
    rows = [{"h": "x"}] * 3
    h.runner.search = lambda query, earliest, latest, now: SearchOutput(rows, 5, ["h"], truncated=True)
    saved = h.save("si", **{"action.summary_index": "1", "action.summary_index._name": "summary"})
    report = h.runner.run(saved, epoch("2025-03-01T00:00:00"))
    assert report.run.status == "success"
    assert [len(events) for _i, _st, _src, _host, events in h.sent] == [3]
    assert "the first 3 of the run's 5 results" in report.run.reason and "| collect" in report.run.reason
