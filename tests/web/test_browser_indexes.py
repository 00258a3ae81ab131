"""The Indexes page in a real browser (Debian's Chromium): the licence chart, an index's buckets,
a setting saved by its Splunk name, no script errors."""

from __future__ import annotations

from tests.web.test_browser import page, pytestmark, shots, sign_in, site  # noqa: F401  (fixtures)


def test_indexes_page_shows_buckets_and_saves_a_setting(site, page, shots):  # noqa: F811
    server, pw = site
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    sign_in(page, server, pw, "/indexes")
    page.wait_for_selector("#indexes table")
    page.click("#indexes a:text('web')")
    page.wait_for_selector("#buckets table")
    assert "10,000 events" in page.text_content("#detail-title")
    assert page.locator("#buckets tbody tr").count() >= 1
    page.fill("#settings input[name=maxWarmDBCount]", "12")
    page.click("#save")
    page.wait_for_selector("#saved:text('saved: maxWarmDBCount')")
    assert server.api("GET", "/api/v1/indexes/web").json()["settings"]["maxWarmDBCount"] == 12
    page.wait_for_selector("#license-chart svg, #license-chart canvas")
    page.screenshot(path=str(shots / "indexes.png"), full_page=True)
    assert errors == []
