"""Scheduled reports end to end: a saved search with `action.report` on a cron schedule, a real
`speleo serve` whose clock the test moves forward, headless Chromium rendering the search page,
and the PDF arriving at a real SMTP server (aiosmtpd); its first page is read with pdftotext.
CSV reports need no browser; a bad page URL fails the action and the run records it."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections import Counter

import httpx
import pytest

from tests.conftest import ServerProc, data_path, run_cli
from tests.web.test_browser import pytestmark  # noqa: F401  (Chromium present, e2e mark)

if not shutil.which("pdftotext") and not os.environ.get("CI"):
    pytestmark = [*pytestmark, pytest.mark.skip(reason="pdftotext not installed (apt-get install poppler-utils)")]

SEARCH = "index=web | stats count by status"


class ClockServer(ServerProc):
    """A server whose clock runs `offset` seconds ahead (SPELEO_TEST_CLOCK_FILE)."""

    def __init__(self, home, clock_file, extra) -> None:
        super().__init__(home, extra)
        self.clock_file = clock_file

    def popen_kwargs(self) -> dict:
        return {"env": {**os.environ, "SPELEO_TEST_CLOCK_FILE": str(self.clock_file)}}

    def jump(self, secs: float) -> None:
        self.clock_file.write_text(str(secs))


def rest(server, method, path, data=None):
    return httpx.request(method, server.url + path, params={"output_mode": "json"}, data=data,
                         headers={"Authorization": f"Bearer {server.token}"}, timeout=60)


@pytest.fixture(scope="module")
def inbox():
    from tests.receivers import smtp_inbox

    with smtp_inbox() as box:
        yield box


@pytest.fixture(scope="module")
def report_server(tmp_path_factory, inbox):
    root = tmp_path_factory.mktemp("reports")
    home = root / "home"
    run_cli(home, "add", "oneshot", str(data_path("elastic-examples", "apache", "apache_logs")), "--index", "web")
    server = ClockServer(home, root / "clock", ["--smtp-server", f"127.0.0.1:{inbox.port}"]).start()
    yield server
    server.stop()


def schedule(server, name, settle=True, **actions):
    body = {"name": name, "search": SEARCH, "cron_schedule": "*/5 * * * *", "is_scheduled": "1",
            "dispatch.earliest_time": "0", "alert_type": "always", "action.report": "1",
            **{f"action.report.{k.replace('__', '.')}": v for k, v in actions.items()}}
    r = rest(server, "POST", "/services/saved/searches", body)
    assert r.status_code in (200, 201), r.text
    if settle:
        # the scheduler (1 s ticks) takes the new search's next tick from its clock before the test
        # moves that clock; a jump before it would put the first tick after the jump
        time.sleep(3)


def expected_counts() -> Counter:
    """Requests per HTTP status, read from the log file itself (field 9 of the combined format)."""
    lines = data_path("elastic-examples", "apache", "apache_logs").read_text().splitlines()
    return Counter(line.split('"')[2].split()[0] for line in lines if line.count('"') >= 2)


def action_events(server, name: str) -> list[dict]:
    """The `_internal` events of the alert actions of the saved search `name`."""
    body = server.search(f'index=_internal sourcetype=alert_actions search_name="{name}"')
    return body["events"]


def wait_mail(inbox, n, server, timeout=180):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if len(inbox.messages) >= n:
            return inbox.messages
        time.sleep(0.2)
    raise AssertionError(f"{len(inbox.messages)} mails after {timeout}s, wanted {n}; actions: "
                         f"{server.search('index=_internal sourcetype=alert_actions OR sourcetype=scheduler')['events']}")


def attachment(msg):
    parts = [p for p in msg.iter_attachments()]
    assert len(parts) == 1, [p.get_filename() for p in parts]
    return parts[0].get_filename(), parts[0].get_content_type(), parts[0].get_payload(decode=True)


def test_scheduled_pdf_report_arrives_by_email(report_server, inbox, tmp_path):
    server = report_server
    schedule(server, "status csv", settle=False, param__format="csv", param__to="data@example.com")
    schedule(server, "status report", param__format="pdf", param__to="ops@example.com, lead@example.com",
             param__subject="Weekly statuses")
    server.jump(600)   # past the next */5 minute of the server's clock
    rcpt, msg = [m for m in wait_mail(inbox, 2, server) if m[0] != ["data@example.com"]][0]
    assert sorted(rcpt) == ["lead@example.com", "ops@example.com"]
    assert msg["Subject"] == "Weekly statuses"
    name, mime, data = attachment(msg)
    assert mime == "application/pdf" and name.endswith(".pdf") and data.startswith(b"%PDF")
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(data)
    text = subprocess.run(["pdftotext", "-f", "1", "-l", "1", "-layout", str(pdf), "-"], capture_output=True,
                          text=True, check=True).stdout
    # the first page shows the search and its statistics table: each status with its count
    assert SEARCH in text
    rows = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0].isdigit() and parts[1].replace(",", "").isdigit():
            rows[parts[0]] = int(parts[1].replace(",", ""))
    assert rows == dict(expected_counts()), text
    assert "Sign in" not in text and "Search (SPL)" not in text   # report mode: no page controls
    # recorded like an alert run: the run with its action, and the action's outcome in _internal
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        runs = [e["content"] for e in rest(server, "GET", "/services/saved/searches/status report/history").json()["entry"]]
        if any(r["status"] == "success" for r in runs):
            break
        time.sleep(0.3)
    # (the tick the jump went past is recorded skipped, as the scheduler does for a late tick)
    assert [(r["status"], r["alert_actions"]) for r in runs if r["status"] != "skipped"] == [("success", "report")], runs
    deadline = time.monotonic() + 30   # the action's record is written after its mail went out
    while time.monotonic() < deadline and not (outcome := action_events(server, "status report")):
        time.sleep(0.5)
    assert [e["action_status"] for e in outcome] == ["success"], outcome
    assert "pdf report" in outcome[0]["reason"] and "mailed to 2 recipient(s)" in outcome[0]["reason"]


def test_csv_report_and_a_refused_page(report_server, inbox):
    server = report_server
    # the CSV report scheduled beside the PDF one (same tick): no browser, the run's rows
    _, msg = [m for m in wait_mail(inbox, 2, server) if m[0] == ["data@example.com"]][0]
    name, mime, data = attachment(msg)
    assert mime == "text/csv" and name.endswith(".csv")
    lines = data.decode().splitlines()
    assert lines[0] == "status,count"
    assert {ln.split(",")[0]: int(ln.split(",")[1]) for ln in lines[1:]} == dict(expected_counts())
    # a page outside this server is refused before any browser starts; the run records why
    # (dispatched at once with its actions, as the scheduler would run it)
    schedule(server, "elsewhere", settle=False, param__format="png", param__to="x@example.com", param__url="https://example.com/")
    r = rest(server, "POST", "/services/saved/searches/elsewhere/dispatch", {"trigger_actions": "1"})
    assert r.status_code in (200, 201), r.text
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (failed := action_events(server, "elsewhere")):
        time.sleep(0.5)
    assert len(failed) == 1 and failed[0]["action_status"] != "success", failed
    assert "path of this server" in failed[0]["reason"], failed
    assert not any(m[0] == ["x@example.com"] for m in inbox.messages)
