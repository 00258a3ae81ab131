"""The report pages in a real browser (Debian's Chromium): figures from planted incidents, a
chart with its table, the other reports' empty states, print layout, no script errors."""

from __future__ import annotations

import json
import re
import statistics

import pytest

from speleo.alerts.indexing import write_events
from speleo.config import Home
from speleo.ops.db import Database
from speleo.service import Service
from tests.ops.reports.planting import plant
from tests.ops.reports.test_report_capacity import SERVICES, T0, service_samples
from tests.web.test_browser import page, pytestmark, shots, sign_in  # noqa: F401  (fixtures)


@pytest.fixture
def report_site(server_factory, tmp_path):
    home = tmp_path / "home"
    db = Database.for_home(Home(home).ensure())
    db.migrate()
    planted = plant(db, n=12)
    db.close()
    # a day of host metrics from four hosts, three tagged with a service (the forwarder's --service)
    svc = Service(Home(home))
    svc.create_index("metrics")
    w = svc.open_writer()
    for h in ("web1", "web2", "db1", "lone1"):
        write_events(w.store, svc.catalog, "metrics", "speleo:metrics", "speleo:forwarder:metrics", h,
                     [{"_time": t, "_raw": json.dumps(e)} for hh, t, e in service_samples() if hh == h])
    w.store.seal()
    w.close()
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
    # capacity per service: a chart per service and a table whose figures are the planted means
    page.goto(server.url + "/reports/capacity")
    page.fill("#report-form [name=since]", str(int(T0)))
    page.fill("#report-form [name=until]", str(int(T0 + 86400)))
    page.click("#report-form button[type=submit]")
    page.wait_for_function("() => !document.querySelector('#error').hidden || /Utilisation per host/.test(document.querySelector('#report').textContent)")
    assert page.is_hidden("#error"), page.inner_text("#error")
    page.wait_for_selector("#report h2:text('Utilisation per service')")
    assert page.locator("#report h2").filter(has_text=re.compile(r"^Service \S")).count() == 2
    row = page.locator("#report table.grid").filter(has=page.locator("caption", has_text="Services:")).locator("tbody tr").first
    cells = row.locator("td").all_text_contents()
    cpu = [e["cpu_percent"] for h, _, e in service_samples() if SERVICES.get(h) == "ledger" and e["metric"] == "cpu"]
    assert cells[:3] == ["ledger", "db1", f"{statistics.fmean(cpu):.1f} / {max(cpu):.1f}"]
    page.wait_for_selector("#report .chart svg, #report .chart canvas")
    page.screenshot(path=str(shots / "report-capacity-services.png"), full_page=True)
    page.fill("#report-form [name=service]", "shop")
    page.click("#report-form button[type=submit]")
    page.wait_for_function("() => [...document.querySelectorAll('#report h2')].filter(x => /^Service /.test(x.textContent))"
                           ".map(x => x.textContent).join('|') === 'Service shop (2 hosts: web1, web2)'")
    assert errors == []
