"""The report pages in a real browser (Debian's Chromium): figures from planted incidents, a
chart with its table, the other reports' empty states, print layout, no script errors."""

from __future__ import annotations

import re

import pytest

from speleo.config import Home
from speleo.ops.db import Database
from tests.ops.reports.planting import plant
from tests.web.test_browser import page, pytestmark, shots, sign_in  # noqa: F401  (fixtures)


@pytest.fixture
def report_site(server_factory, tmp_path):
    home = tmp_path / "home"
    db = Database.for_home(Home(home).ensure())
    db.migrate()
    planted = plant(db, n=12)
    db.close()
    server = server_factory(home).start()
    pw = re.search(r"created web user 'admin' with password: (\S+)", server.log.read_text()).group(1)
    return server, pw, planted


def test_report_pages_render_charts_tables_and_print(report_site, page, shots):  # noqa: F811
    server, pw, planted = report_site
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    sign_in(page, server, pw, "/reports/response")
    page.wait_for_selector("#report table.grid")
    text = page.text_content("#report")
    assert "MTTR (mean time to restore)" in text and "= resolved_at - impact_started_at" in text
    first_row = page.locator("#report table.grid tbody tr").first.text_content()
    assert first_row.startswith("all") and str(len(planted)) in first_row
    page.wait_for_selector("#report .chart svg, #report .chart canvas")
    page.emulate_media(media="print")
    assert not page.is_visible("header.top") and not page.is_visible("#report-form")
    page.screenshot(path=str(shots / "report-response.png"), full_page=True)
    page.emulate_media(media="screen")
    for kind, words in (("availability", "No SLOs yet"), ("capacity", "Days until full"), ("disks", "Drives, worst first")):
        page.goto(server.url + f"/reports/{kind}")
        page.wait_for_selector(f"#report :text('{words}')")
    assert errors == []
