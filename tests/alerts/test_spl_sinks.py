"""`| collect` and `| sendemail` in SPL, through the alert actions' code."""

from __future__ import annotations

import csv
import datetime as dt
import io
import email
from email import policy

import pytest

from speleo.alerts import spl_sinks
from speleo.alerts.actions import ServerContext
from speleo.config import Home
from speleo.errors import InputError
from speleo.query import post
from speleo.service import Service
from tests.alerts.test_actions import smtp  # noqa: F401  (fixture)


@pytest.fixture
def svc(tmp_path):
    saved = dict(post.SINKS)
    yield Service(Home(tmp_path / "h"))
    post.SINKS.clear()
    post.SINKS.update(saved)


def test_collect_writes_stash_events(svc):
    sent = []
    spl_sinks.install(ServerContext(svc.home, dt.timezone.utc, write_events=lambda *a: sent.append(a) or len(a[-1])))
    res = svc.search('| makeresults count=2 | eval host="h1", n=7 | table host n | collect index=summary '
                     'source=mine marker="report=x"', now=1_800_000_000.0)
    assert res.table.num_rows == 2
    (index, sourcetype, source, host, events), = sent
    assert (index, sourcetype, source) == ("summary", "stash", "mine")
    assert events[0]["fields"]["host"] == "h1" and 'n="7"' in events[0]["_raw"]


def test_sendemail(svc, smtp):  # noqa: F811
    spl_sinks.install(ServerContext(svc.home, dt.timezone.utc, email_defaults={"mailserver": f"127.0.0.1:{smtp.port}"}))
    svc.search('| makeresults count=1 | eval host="h1" | table host | sendemail to="ops@example.com" '
               'subject="hosts" sendresults=true inline=true sendcsv=true')
    (rcpts, raw), = smtp.messages
    msg = email.message_from_bytes(raw, policy=policy.default)
    assert rcpts == ["ops@example.com"] and msg["Subject"] == "hosts"
    att = [p for p in msg.iter_attachments()][0].get_content()
    assert list(csv.reader(io.StringIO(att))) == [["host"], ["h1"]]


def test_without_a_sink_the_error_says_where_it_runs(svc):
    post.SINKS.clear()
    with pytest.raises(InputError, match="needs Speleo's server"):
        svc.search("| makeresults | collect index=summary")
