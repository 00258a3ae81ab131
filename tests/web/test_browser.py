"""End to end in Debian's Chromium (headless, Playwright from PyPI) against a real `speleo serve`
with the Apache access log indexed: sign in, search, timeline, events, fields, statistics,
charts, narrowing on the timeline, CSV export compared with the API. Screenshots go to
$SPELEO_SCREENSHOTS (default: a temp folder printed in the test output)."""

from __future__ import annotations

import csv
import io
import os
import re
import tempfile
from pathlib import Path

import pytest

from tests.conftest import data_path, run_cli

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
        "--disable-component-update", "--no-first-run"]

pytestmark = [pytest.mark.e2e]
if not Path(CHROMIUM).exists() and not os.environ.get("CI"):
    pytestmark.append(pytest.mark.skip(reason=f"{CHROMIUM} not installed (apt-get install chromium; required on CI)"))


@pytest.fixture(scope="module")
def shots():
    d = Path(os.environ.get("SPELEO_SCREENSHOTS") or tempfile.mkdtemp(prefix="speleo-shots-"))
    d.mkdir(parents=True, exist_ok=True)
    print(f"screenshots in {d}")
    return d


@pytest.fixture
def site(server_factory, tmp_path):
    home = tmp_path / "home"
    run_cli(home, "add", "oneshot", str(data_path("elastic-examples", "apache", "apache_logs")), "--index", "web")
    server = server_factory(home).start()
    pw = re.search(r"created web user 'admin' with password: (\S+)", server.log.read_text()).group(1)
    return server, pw


@pytest.fixture
def page():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        ctx = browser.new_context(viewport={"width": 1360, "height": 900}, accept_downloads=True)
        pg = ctx.new_page()
        pg.set_default_timeout(30_000)
        yield pg
        browser.close()


def sign_in(page, server, pw, next_path="/"):
    page.goto(server.url + next_path)
    assert "/login" in page.url
    page.fill("#name", "admin")
    page.fill("#password", pw)
    page.press("#password", "Enter")
    page.wait_for_selector("header.top")
    if next_path.startswith("/?") or next_path == "/":
        page.wait_for_selector("body[data-ready]", state="attached")


def wait_results(page):
    """The final answer is on the page (not partial results of a search still running)."""
    page.wait_for_selector("#event-count:not([data-partial])")
    page.wait_for_function("() => !document.querySelector('#summary .spinner')")


def test_search_page_end_to_end(site, page, shots):
    server, pw = site
    page.goto(server.url + "/")
    page.screenshot(path=str(shots / "01-login.png"))
    sign_in(page, server, pw)

    # search (Enter runs it); count and timeline agree with the API
    page.fill("#q", "index=web GET")
    page.press("#q", "Enter")
    wait_results(page)
    api = server.search("index=web GET", limit=1)
    assert int(page.get_attribute("#event-count", "data-total")) == api["total"]
    bars = page.locator("#timeline rect.bar:not(.empty)")   # empty bins are drawn too, zero-height
    assert bars.count() == len(api["timeline"]["buckets"])
    assert sum(int(b) for b in bars.evaluate_all("els => els.map(e => e.dataset.count)")) == api["total"]
    assert "q=index%3Dweb+GET" in page.url
    assert page.locator("#events .event").count() == 50
    assert page.locator("#events .event mark").first.inner_text() == "GET"
    # newest first
    times = page.locator("#events .event time").evaluate_all("els => els.map(e => e.getAttribute('datetime'))")
    assert times == sorted(times, reverse=True)
    page.screenshot(path=str(shots / "02-events.png"))

    # fields sidebar: click a field for top values
    page.click('#fields li[data-field="status"] .frow > button:not(.star)')
    page.wait_for_selector("#fields .topvals")
    page.screenshot(path=str(shots / "03-fields.png"))

    # expand an event; click its status value: the search narrows
    page.click("#events .event >> nth=0 >> button.toggle")
    value = page.locator('#events .event >> nth=0 >> button.val[data-field="status"]')
    status = value.inner_text()
    page.screenshot(path=str(shots / "04-expanded.png"))
    value.click()
    page.wait_for_function(f"() => document.querySelector('#q').value.includes('status={status}')")
    wait_results(page)
    page.wait_for_function("(n) => document.querySelector('#event-count').dataset.total == n",
                           arg=str(server.search(f"index=web GET status={status}", limit=1)["total"]))

    # statistics, sortable; then a chart
    page.fill("#q", "index=web | stats count by status")
    page.press("#q", "Enter")
    page.wait_for_selector("#stats-table")
    stats = server.search("index=web | stats count by status")
    assert page.locator("#stats-table tbody tr").count() == len(stats["results"])
    page.click("#stats-table th >> nth=1 >> button")
    page.click("#stats-table th >> nth=1 >> button")  # descending by count
    # the cell's own text (pin.js adds an "Add to incident" button to the row's last cell)
    first = page.locator("#stats-table tbody tr >> nth=0 >> td >> nth=1").evaluate("td => td.firstChild.textContent")
    assert int(first.replace(",", "")) == max(r["count"] for r in stats["results"])
    page.screenshot(path=str(shots / "05-statistics.png"))

    # export CSV equals the API's answer
    with page.expect_download() as dl:
        page.click("#export-csv")
    got = list(csv.DictReader(io.StringIO(Path(dl.value.path()).read_text())))
    assert sorted((r["status"], int(r["count"])) for r in got) == sorted((str(r["status"]), r["count"]) for r in stats["results"])

    # charts are drawn by Chart.js from the npm package (node_modules), served under /static/vendor/
    page.click("#tab-viz")
    page.click('[data-chart="column"]')
    page.wait_for_function("() => document.querySelector('#chart').dataset.points")
    assert page.get_attribute("#chart", "data-renderer") == "chart.js"
    data = page.evaluate("() => Chart.getChart(document.querySelector('#chart canvas')).data")
    assert sorted(zip(data["labels"], data["datasets"][0]["data"])) == sorted((str(r["status"]), r["count"]) for r in stats["results"])
    page.screenshot(path=str(shots / "06-column.png"))
    page.click('[data-chart="pie"]')
    page.wait_for_function("() => document.querySelector('#chart').dataset.chartType === 'pie'")
    assert sum(page.evaluate("() => Chart.getChart(document.querySelector('#chart canvas')).data.datasets[0].data")) == sum(
        r["count"] for r in stats["results"])
    page.screenshot(path=str(shots / "07-pie.png"))
    page.click('[data-chart="single"]')
    assert page.locator("#chart .single").count() == 1

    # timeline narrows the range
    page.goto(server.url + "/?q=index%3Dweb")
    wait_results(page)
    full = int(page.get_attribute("#event-count", "data-total"))
    bar = page.locator("#timeline rect.bar[data-count]:not([data-count='0'])").first
    n = int(bar.get_attribute("data-count"))
    bar.click()
    page.wait_for_function("(n) => document.querySelector('#event-count') && document.querySelector('#event-count').dataset.total == n", arg=str(n))
    assert n < full and "earliest=" in page.url and page.get_attribute("#range-btn", "data-kind") == "date"
    page.screenshot(path=str(shots / "08-narrowed.png"))

    # an SPL error is shown inline at its position
    page.fill("#q", "index=web | stats count by")
    page.press("#q", "Enter")
    page.wait_for_selector("#error:not([hidden]) .err-pos")
    page.screenshot(path=str(shots / "09-error.png"))

    # phone width
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(server.url + "/?q=index%3Dweb+404")
    wait_results(page)
    page.screenshot(path=str(shots / "10-phone.png"), full_page=False)
    wide = page.evaluate("""() => [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > 392)
        .map(e => e.tagName + '#' + e.id + '.' + e.className).slice(0, 8)""")
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 400, wide


def test_overview_page(site, page, shots):
    server, pw = site
    sign_in(page, server, pw, "/overview")
    page.wait_for_selector("#indexes table")
    assert "web" in page.locator("#indexes").inner_text()
    assert "10,000" in page.locator("#indexes").inner_text()
    page.screenshot(path=str(shots / "11-overview.png"), full_page=True)


def test_highlighting_jobs_drag_source_saved(site, page, shots):
    server, pw = site
    sign_in(page, server, pw)

    # SPL highlighting: commands, keywords, fields, functions, strings, numbers
    page.fill("#q", 'index=web status=404 OR "bad req" | stats count(eval(bytes>100)) as n by request')
    kinds = page.evaluate("() => [...document.querySelectorAll('#q-hl span')].map(s => s.className + ':' + s.textContent)")
    for want in ["t-field:index", "t-val:web", "t-num:404", "t-kw:OR", 't-str:"bad req"', "t-pipe:|", "t-cmd:stats",
                 "t-fn:count", "t-fn:eval", "t-kw:as", "t-kw:by", "t-num:100"]:
        assert want in kinds, (want, kinds)
    # the overlay matches the textarea: same text, same box
    assert page.evaluate("() => document.querySelector('#q-hl').textContent.trimEnd()") == page.input_value("#q")
    box_t, box_p = page.locator("#q").bounding_box(), page.locator("#q-hl").bounding_box()
    assert abs(box_t["width"] - box_p["width"]) < 1 and abs(box_t["height"] - box_p["height"]) < 1
    page.screenshot(path=str(shots / "20-highlight.png"), clip={"x": 0, "y": 0, "width": 1360, "height": 120})
    # the parser's error is marked inside the bar
    page.fill("#q", "index=web | stats count by")
    page.press("#q", "Enter")
    page.wait_for_selector("#q-hl .t-err")
    page.screenshot(path=str(shots / "21-inline-error.png"), clip={"x": 0, "y": 0, "width": 1360, "height": 260})

    # a slow search runs as a job: progress, then Cancel
    page.fill("#q", "| makeresults count=30000000000 | stats dc(_time)")
    page.press("#q", "Enter")
    page.wait_for_selector("#job:not([hidden])")
    page.wait_for_function("() => /% of this step/.test(document.querySelector('#job-text').textContent)")
    page.screenshot(path=str(shots / "22-job-running.png"), clip={"x": 0, "y": 0, "width": 1360, "height": 200})
    job_id = page.get_attribute("#job", "data-id")
    page.click("#job-cancel")
    page.wait_for_selector("#job", state="hidden")
    # the summary is written after the job bar hides: wait for it rather than race it
    page.wait_for_function("() => /cancelled/i.test(document.querySelector('#summary').textContent)", timeout=15000)
    assert "cancelled" in page.inner_text("#summary").lower()
    state = page.evaluate("(id) => fetch('/web/api/jobs/' + id).then(r => r.json()).then(b => b.state)", job_id)
    assert state == "cancelled"

    # drag across the timeline narrows the range to the buckets dragged over
    page.fill("#q", "index=web")
    page.press("#q", "Enter")
    wait_results(page)
    full = int(page.get_attribute("#event-count", "data-total"))
    api = server.search("index=web", limit=1)
    buckets = api["timeline"]["buckets"]
    svg = page.locator("#timeline svg")
    box = svg.bounding_box()
    lo, hi = float(svg.get_attribute("data-lo")), float(svg.get_attribute("data-hi"))
    span = api["timeline"]["span_secs"]
    x_of = lambda t: box["x"] + box["width"] * (t - lo) / (hi - lo)  # noqa: E731 - the axis is time
    x0, x1 = x_of(buckets[10]["epoch"] + span / 2), x_of(buckets[20]["epoch"] + span / 2)
    y = box["y"] + box["height"] / 2
    page.mouse.move(x0, y)
    page.mouse.down()
    page.mouse.move((x0 + x1) / 2, y, steps=4)
    page.mouse.move(x1, y, steps=4)
    page.screenshot(path=str(shots / "23-drag.png"), clip={"x": 0, "y": 0, "width": 1360, "height": 300})
    page.mouse.up()
    want = sum(b["count"] for b in buckets if buckets[10]["epoch"] <= b["epoch"] <= buckets[20]["epoch"])
    page.wait_for_function("(n) => document.querySelector('#event-count') && document.querySelector('#event-count').dataset.total == n",
                           arg=str(want))
    wait_results(page)   # the count can reach the total while the job still runs; the final answer redraws the list
    # readable times in the server's zone (as its ISO times print them), not epochs
    assert want < full and page.input_value("#earliest") == buckets[10]["time"][:19].replace("T", " ")
    end = [b for b in buckets if b["epoch"] == buckets[20]["epoch"] + span]
    if end:
        assert page.input_value("#latest") == end[0]["time"][:19].replace("T", " ")
    page.screenshot(path=str(shots / "24-dragged.png"))

    # show source: the lines around the event in the original file
    page.click("#events .event >> nth=0 >> button.toggle")
    page.click("#events .event >> nth=0 >> button.show-source")
    page.wait_for_selector("#events pre.source")
    raw = page.inner_text("#events .event >> nth=0 >> pre.raw")
    assert page.inner_text("#events pre.source .src-event") == raw
    assert page.locator("#events pre.source .src-line").count() == 11
    page.locator("#events pre.source").scroll_into_view_if_needed()
    page.screenshot(path=str(shots / "25-source.png"))

    # saved searches: save, list, open, delete
    page.fill("#q", "index=web status=404 | stats count by request")
    page.click("#range-btn")
    page.click("#tp-panel .tp-preset:text-is('Last 7 days')")
    wait_results(page)
    page.click("#save-open")
    page.fill("#save-name", "404 pages")
    page.press("#save-name", "Enter")
    page.wait_for_selector("#save-msg.ok")
    page.click("#saved-open") if page.is_hidden("#saved-panel") else None
    page.wait_for_selector('#saved-list li[data-name="404 pages"]')
    page.screenshot(path=str(shots / "26-saved.png"), clip={"x": 0, "y": 0, "width": 1360, "height": 300})
    # same name again: offered to replace
    page.click("#save-open")
    page.fill("#save-name", "404 pages")
    page.press("#save-name", "Enter")
    page.wait_for_selector("#save-replace")
    page.click("#save-cancel")
    # open it from a fresh page
    page.goto(server.url + "/")
    page.wait_for_selector("body[data-ready]", state="attached")
    page.click("#saved-open")
    page.click('#saved-list li[data-name="404 pages"] a.saved-open')
    wait_results(page)
    assert page.input_value("#q") == "index=web status=404 | stats count by request"
    assert "q=index%3Dweb+status%3D404" in page.url and "earliest=-7d" in page.url
    assert page.inner_text("#range-text") == "Last 7 days"
    page.click("#saved-open")
    page.once("dialog", lambda d: d.accept())
    page.click('#saved-list li[data-name="404 pages"] button.saved-delete')
    page.wait_for_selector('#saved-list li[data-name="404 pages"]', state="detached")
    assert server.api("GET", "/api/v1/saved-searches").json()["saved_searches"] == []


def test_svg_charts_when_the_npm_package_is_missing(server_factory, tmp_path, page, shots, monkeypatch):
    home = tmp_path / "home"
    run_cli(home, "add", "oneshot", str(data_path("elastic-examples", "apache", "apache_logs")), "--index", "web")
    monkeypatch.setenv("SPELEO_WEB_NO_VENDOR", "1")
    server = server_factory(home).start()
    pw = re.search(r"created web user 'admin' with password: (\S+)", server.log.read_text()).group(1)
    sign_in(page, server, pw, "/?q=index%3Dweb+%7C+stats+count+by+status&tab=viz&chart=bar")
    page.wait_for_selector("#chart svg rect.mark")
    assert page.get_attribute("#chart", "data-renderer") == "svg"
    assert page.evaluate("() => typeof window.Chart") == "undefined"
    assert page.locator("#chart svg rect.mark").count() == len(server.search("index=web | stats count by status")["results"])
    page.screenshot(path=str(shots / "30-svg-fallback.png"))


def test_partial_results_while_searching(server_factory, tmp_path, page, shots):
    """20 buckets (one index each) and a search costly per event: the page shows the events, count
    and timeline found so far while the job runs, then the answer replaces them."""
    from tests.web.test_web_jobs import HEAVY, many_buckets_home

    server = server_factory(many_buckets_home(tmp_path)).start()
    pw = re.search(r"created web user 'admin' with password: (\S+)", server.log.read_text()).group(1)
    missing = []
    page.on("response", lambda r: missing.append(r.url) if r.status == 404 else None)
    sign_in(page, server, pw)
    page.fill("#q", HEAVY)
    page.press("#q", "Enter")
    # partial results: fewer events than in the end, newest first, with their timeline
    page.wait_for_selector("#event-count[data-partial]", timeout=60_000)
    partial = int(page.get_attribute("#event-count", "data-total"))
    assert 0 < partial < 10000 and partial % 500 == 0   # whole buckets of 500 events
    assert "so far" in page.inner_text("#summary")
    assert page.locator("#summary .spinner").count() == 1
    assert page.locator("#events .event").count() == 50
    assert page.locator("#timeline rect.bar").count() > 0
    assert not page.is_hidden("#job")
    assert re.search(r"\d+ of 20 buckets searched", page.inner_text("#job-text"))
    first_partial = page.locator("#events .event >> nth=0 >> time").get_attribute("datetime")
    times = page.locator("#events .event time").evaluate_all("els => els.map(e => e.getAttribute('datetime'))")
    assert times == sorted(times, reverse=True)
    page.screenshot(path=str(shots / "40-partial.png"))
    # an event opened while partial results arrive stays open, also when the final answer redraws the list
    page.click("#events .event >> nth=0 >> button.toggle")
    # they grow as batches arrive
    page.wait_for_function("(n) => +document.querySelector('#event-count').dataset.total > n", arg=partial, timeout=60_000)
    # the answer replaces them
    wait_results(page)
    assert page.is_hidden("#job")
    api = server.search(HEAVY, limit=1)
    assert int(page.get_attribute("#event-count", "data-total")) == api["total"] == 10000
    assert page.locator("#timeline rect.bar:not(.empty)").count() == len(api["timeline"]["buckets"])
    # the newest buckets were read first: the first event shown early is the newest of all
    assert page.locator("#events .event >> nth=0 >> time").get_attribute("datetime") == first_partial
    assert page.get_attribute("#events .event >> nth=0 >> button.toggle", "aria-expanded") == "true"
    assert page.is_visible("#events .event >> nth=0 >> .ev-fields")
    assert page.locator('#events .toggle[aria-expanded="true"]').count() == 1
    page.screenshot(path=str(shots / "41-partial-done.png"))

    # the CSV of raw events leaves Speleo's internal columns out unless asked for
    internal = {"_fields", "_offset", "_flags", "_indextime", "linecount"}
    with page.expect_download() as dl:
        page.click("#export-csv")
    rows = list(csv.DictReader(io.StringIO(Path(dl.value.path()).read_text())))
    assert len(rows) == 10000 and {"_time", "_raw", "host", "source", "sourcetype", "index"} <= set(rows[0])
    assert not internal & set(rows[0])
    page.check("#export-internal")
    with page.expect_download() as dl:
        page.click("#export-csv")
    rows = list(csv.DictReader(io.StringIO(Path(dl.value.path()).read_text())))
    assert {"_offset", "_indextime", "linecount"} <= set(rows[0])

    # Cancel while partial results are shown: they stay, marked as from the part searched
    page.uncheck("#export-internal")
    page.fill("#q", HEAVY + " | eval again=1")
    page.press("#q", "Enter")
    page.wait_for_selector("#event-count[data-partial]", timeout=60_000)
    job_id = page.get_attribute("#job", "data-id")
    page.click("#job-cancel")
    page.wait_for_selector("#job", state="hidden")
    # the summary is written after the job bar hides: wait for it rather than race it
    page.wait_for_function("() => /cancelled/i.test(document.querySelector('#summary').textContent)", timeout=15000)
    assert "cancelled" in page.inner_text("#summary").lower()
    assert page.evaluate("(id) => fetch('/web/api/jobs/' + id).then(r => r.json()).then(b => b.state)", job_id) == "cancelled"
    assert server.search("index=web* | stats count")["results"][0]["count"] == 10000
    # no request of the page failed (the icon included)
    assert not missing, missing
