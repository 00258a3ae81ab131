"""The operations pages in headless Chromium against a real `speleo serve`: "Add to incident" on a
search event, the incident page with the pinned event (its re-run link), the known problem's plan
of attack with its countdown, a diagnostic run with one click, the problem and status pages."""

from __future__ import annotations

import datetime as dt
import os
import re
import time
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.web.test_browser import ARGS, CHROMIUM, sign_in

pytestmark = list(__import__("tests.web.test_browser", fromlist=["pytestmark"]).pytestmark)


@pytest.fixture
def page():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        pg = browser.new_context(viewport={"width": 1360, "height": 900}).new_page()
        pg.set_default_timeout(30_000)
        yield pg
        browser.close()


def test_pin_from_search_then_the_incident_page(server_factory, tmp_path, page):
    home = tmp_path / "home"
    log = tmp_path / "db.log"
    now = time.time()
    log.write_text("".join(f"{dt.datetime.fromtimestamp(now - 60 + i, dt.timezone.utc):%Y-%m-%dT%H:%M:%SZ} "
                           f"connection to db{i}:5432 refused after 3 retries\n" for i in range(2)))
    run_cli(home, "add", "oneshot", str(log), "--index", "main")
    srv = server_factory(home).start()
    pw = re.search(r"created web user 'admin' with password: (\S+)", srv.log.read_text()).group(1)
    iid = int(run_cli(home, "incident", "declare", "payments DB refuses connections", "--severity", "SEV2").stdout)
    pid = int(run_cli(home, "problem", "create", "pool exhausted").stdout)
    run_cli(home, "problem", "signature", "add", str(pid), "--pattern", "<*> connection to <*> refused after <*> retries")
    (tmp_path / "plan.json").write_text('{"diagnostics": [{"name": "refusals", "search": "index=main refused | stats count",'
                                        ' "earliest": "-1h"}], "timebox_minutes": 10, "runbook": "fail over the pool"}')
    run_cli(home, "problem", "plan", str(pid), "--file", str(tmp_path / "plan.json"))

    sign_in(page, srv, pw, "/?q=index%3Dmain%20refused&earliest=-1h")
    page.wait_for_selector("li.event .pin-btn")
    done = []

    def dialog(d):
        if d.type == "prompt":        # which incident
            d.accept(str(iid))
        else:                         # what happened
            done.append(d.message)
            d.accept()

    page.on("dialog", dialog)
    page.click("li.event .pin-btn >> nth=0")
    deadline = time.time() + 20
    while not done and time.time() < deadline:
        page.wait_for_timeout(100)
    assert done and done[0].startswith(f"Added to incident {iid}.") and f"Known problem {pid} matched" in done[0]

    page.goto(f"{srv.url}/incidents/{iid}")
    page.wait_for_selector("#timeline table")
    timeline = page.inner_text("#timeline")
    assert "pinned event:" in timeline and "known problem" in timeline
    link = page.get_attribute("#timeline a[href^='/?q=']", "href")
    assert "q=index%3Dmain+refused" in link and "earliest=" in link and "latest=" in link
    assert re.search(r"Time-box 10 min: 0h(09|10)m\d\ds left for diagnostics", page.inner_text(".countdown"))
    assert "fail over the pool" in page.inner_text("#plans")
    page.click("#plans button:has-text('Run')")
    page.wait_for_selector("#timeline td:text-is('diagnostic')")
    assert "diagnostic 'refusals' of problem" in page.inner_text("#timeline")
    if os.environ.get("SPELEO_SCREENSHOTS"):   # for a person to look at (docs/web.md)
        page.screenshot(path=str(Path(os.environ["SPELEO_SCREENSHOTS"]) / "incident-page.png"), full_page=True)

    page.goto(f"{srv.url}/problems/{pid}")
    page.wait_for_selector("#incidents table")
    assert "occurrences: 1" in page.inner_text("#facts") and str(iid) in page.inner_text("#incidents")
    page.goto(f"{srv.url}/status")
    page.wait_for_selector("#list .plan")
    assert "payments DB refuses connections" in page.inner_text("#list")
