"""Notifications against a real SMTP server and a real HTTP listener; every attempt recorded;
the ops ticker with a manual clock; the offset clock end-to-end tests use."""

from __future__ import annotations

import threading

import pytest

from speleo.clock import ManualClock, OffsetFileClock
from speleo.config import Home
from speleo.errors import InputError
from speleo.ops.db import Database
from speleo.ops.notify import MailSettings, Notifier, chat_payload
from speleo.server.ticks import Ticker
from tests.conftest import free_port


@pytest.fixture
def db(tmp_path):
    return Database.for_home(Home(tmp_path / "home"))


def test_email_delivered_with_attachment_and_recorded(db, smtp_inbox):
    n = Notifier(db, MailSettings(host="127.0.0.1", port=smtp_inbox.port, sender="speleo@example.com"),
                 ManualClock(1_800_000_000))
    a = n.email(["ops@example.com", "bad address"], "SEV2:\r\nBcc: evil@example.com checkout", "body text",
                attachments=[("report.csv", b"a,b\n1,2\n", "text/csv")], ref=("incident", "42"))
    assert a.ok and a.target == "ops@example.com" and a.at == 1_800_000_000
    rcpt, msg = smtp_inbox.wait(1)[0]
    assert rcpt == ["ops@example.com"]
    assert msg["Subject"] == "SEV2: Bcc: evil@example.com checkout"   # CR/LF never start a header
    assert msg["Bcc"] is None
    parts = {p.get_filename(): p.get_content() for p in msg.iter_attachments()}
    assert parts == {"report.csv": "a,b\n1,2\n"}
    assert [x.id for x in n.attempts(ref=("incident", "42"))] == [a.id]
    assert n.attempts(ref=("incident", "43")) == []


def test_email_failure_is_recorded_not_raised_and_hides_the_password(db):
    port = free_port()   # nothing listens there
    n = Notifier(db, MailSettings(host="127.0.0.1", port=port, username="u", password="hunter2",
                                  timeout_secs=2), ManualClock(0))
    a = n.email(["ops@example.com"], "s", "t")
    assert not a.ok and f"127.0.0.1:{port}" in a.detail and "hunter2" not in a.detail
    assert n.attempts()[0].ok is False
    with pytest.raises(InputError, match="no valid email address"):
        n.email(["nobody"], "s", "t")


@pytest.mark.parametrize("style", ["json", "slack", "teams"])
def test_webhook_payload_styles(db, webhook_inbox, style):
    n = Notifier(db, clock=ManualClock(5))
    a = n.webhook(webhook_inbox.url, title="SEV1 declared", text="checkout down", fields={"service": "checkout"},
                  link="http://speleo/incidents/7", style=style, ref=("incident", "7"))
    assert a.ok and a.detail == "HTTP 200"
    _, headers, body = webhook_inbox.received[0]
    assert headers["Content-Type"] == "application/json"
    if style == "json":
        assert body == {"title": "SEV1 declared", "text": "checkout down", "fields": {"service": "checkout"},
                        "link": "http://speleo/incidents/7"}
    elif style == "slack":
        assert body["text"] == "SEV1 declared: checkout down"
        assert body["blocks"][0]["text"]["text"] == "*SEV1 declared*\ncheckout down"
        assert "<http://speleo/incidents/7|Open in Speleo>" in body["blocks"][-1]["elements"][0]["text"]
    else:
        assert body["@type"] == "MessageCard" and body["title"] == "SEV1 declared"
        assert body["sections"][0]["facts"] == [{"name": "service", "value": "checkout"}]
        assert body["potentialAction"][0]["targets"][0]["uri"] == "http://speleo/incidents/7"


def test_webhook_non_2xx_and_refusals(db, webhook_inbox, tmp_path):
    webhook_inbox.status = 500
    n = Notifier(db, clock=ManualClock(5), webhook_allow_list=["http://127.0.0.1:*"])
    a = n.webhook(webhook_inbox.url, title="t", text="x")
    assert not a.ok and a.detail == "HTTP 500 (not 2xx)"
    with pytest.raises(InputError, match="allow_list"):
        n.webhook("http://example.com/x", title="t", text="x")
    with pytest.raises(InputError, match="http:// or https://"):
        n.webhook("file:///etc/passwd", title="t", text="x")
    with pytest.raises(InputError, match="json, slack or teams"):
        chat_payload("xml", "t", "x")   # type: ignore[arg-type]


def test_for_home_reads_alert_actions_conf(tmp_path):
    home = Home(tmp_path / "h")
    home.ensure()
    (home.root / "alert_actions.conf").write_text(
        "[email]\nmailserver = mail.example.com:2525\nfrom = ops@example.com\nuse_tls = 1\n"
        "[webhook]\nallow_list = https://hooks.example.com/*, http://127.0.0.1:*\n")
    n = Notifier.for_home(home, Database.for_home(home))
    assert (n.mail.host, n.mail.port, n.mail.sender, n.mail.use_tls) == ("mail.example.com", 2525, "ops@example.com", True)
    assert n.allow_list == ["https://hooks.example.com/*", "http://127.0.0.1:*"]
    assert Notifier.for_home(home, Database.for_home(home), smtp_server="127.0.0.1:25").mail.host == "127.0.0.1"
    with pytest.raises(InputError, match="HOST or HOST:PORT"):
        MailSettings.from_settings({"mailserver": "host:port"})


def test_ticker_runs_due_ticks_and_survives_a_failing_one():
    clock = ManualClock(100.0)
    errors: dict[str, str] = {}
    emitted: list[dict] = []
    t = Ticker(clock, errors, emitted.append)
    seen: list[float] = []

    def boom(now):
        raise RuntimeError("database went away")

    t.add("escalation", seen.append, every_secs=10)
    t.add("broken", boom, every_secs=1)
    t.run_due()
    assert seen == [100.0] and errors == {"tick:broken": "RuntimeError: database went away"}
    assert emitted == [{"tick": "broken", "error": "RuntimeError: database went away"}]
    clock.advance(5)
    t.run_due()
    assert seen == [100.0]            # not yet due again
    clock.advance(5)
    t.run_due()
    assert seen == [100.0, 110.0]
    with pytest.raises(ValueError):
        t.add("x", seen.append, every_secs=0)
    stop = threading.Event()
    th = threading.Thread(target=t.run, args=(stop,))
    th.start()
    stop.set()
    th.join(5)
    assert not th.is_alive()


def test_offset_file_clock(tmp_path):
    f = tmp_path / "offset"
    c = OffsetFileClock(str(f))
    import time

    assert abs(c.time() - time.time()) < 1
    f.write_text("86400")
    assert abs(c.time() - time.time() - 86400) < 1
    f.write_text("garbage")
    import os

    os.utime(f, (1, 1))
    assert abs(c.time() - time.time()) < 1
