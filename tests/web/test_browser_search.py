"""The search page's fixes, in Debian's Chromium against one real `speleo serve` per module: a
true time axis on the timeline (x proportional to time, an empty stretch drawn as zero-height
bins), one tab stop with arrow keys, paging past the first 1,000 events, the export of every
event, field summaries over all events, the Statistics tab following the search's kind,
millisecond times inside their column, readable zoom times, single values in full.

The data is written here: 2,400 events every 3 s from 10:00 to 12:00 UTC, nothing until 14:00,
then 1,200 events every 6 s until 16:00; every expectation is computed from those lines."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from pathlib import Path

import pytest

from tests.conftest import ServerProc, run_cli
from tests.web.test_browser import page, pytestmark, shots, sign_in, wait_results  # noqa: F401  (fixtures)

DAY = dt.datetime(2026, 1, 5, tzinfo=dt.timezone.utc)
LEVELS = ("INFO", "WARN", "ERROR")
RANGE = ("2026-01-05T09:00:00Z", "2026-01-05T17:00:00Z")


def event_times() -> list[float]:
    first = [DAY.timestamp() + 10 * 3600 + 3 * i + 0.123 for i in range(2400)]
    second = [DAY.timestamp() + 14 * 3600 + 6 * i + 0.123 for i in range(1200)]
    return first + second


def lines() -> list[str]:
    out = []
    for i, t in enumerate(event_times()):
        stamp = dt.datetime.fromtimestamp(t, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        out.append(f"{stamp} level={LEVELS[i % 3]} n={i} msg=\"request {i} served\"")
    return out


@pytest.fixture(scope="module")
def app_site(tmp_path_factory):
    root = tmp_path_factory.mktemp("searchpage")
    log = root / "logs" / "app.log"
    log.parent.mkdir()
    log.write_text("\n".join(lines()) + "\n")
    home = root / "home"
    run_cli(home, "add", "oneshot", str(log), "--index", "app", "--sourcetype", "app_kv")
    server = ServerProc(home).start()
    pw = re.search(r"created web user 'admin' with password: (\S+)", server.log.read_text()).group(1)
    yield server, pw
    server.stop()


def search_url(q: str, **extra: str) -> str:
    from urllib.parse import urlencode

    return "/?" + urlencode({"q": q, "earliest": RANGE[0], "latest": RANGE[1], **extra})


def test_timeline_is_a_time_axis_with_an_empty_stretch(app_site, page, shots):  # noqa: F811
    server, pw = app_site
    sign_in(page, server, pw, search_url("index=app"))
    wait_results(page)
    assert int(page.get_attribute("#event-count", "data-total")) == 3600
    svg = page.locator("#timeline svg")
    lo, hi = float(svg.get_attribute("data-lo")), float(svg.get_attribute("data-hi"))
    # the axis is the range searched, not the range of the events
    assert (lo, hi) == (DAY.timestamp() + 9 * 3600, DAY.timestamp() + 17 * 3600)
    bars = page.evaluate("""() => [...document.querySelectorAll('#timeline rect.bar')].map(r => {
        const b = r.getBoundingClientRect();
        return {x: b.left, w: b.width, h: +r.getAttribute('height'), epoch: +r.dataset.epoch, count: +r.dataset.count, span: +r.dataset.span};
    })""")
    box = svg.bounding_box()
    span = bars[0]["span"]
    times = event_times()
    for b in bars:
        # x proportional to time (within a pixel), counts equal to the lines written in that bin
        want_x = box["x"] + (b["epoch"] - lo) / (hi - lo) * box["width"]
        assert abs(b["x"] - want_x) <= 1.0, (b, want_x)
        assert b["count"] == sum(1 for t in times if b["epoch"] <= t < b["epoch"] + span)
    # the empty stretch (12:00-14:00): zero-height bins, as wide as two hours of the axis
    gap = [b for b in bars if DAY.timestamp() + 12 * 3600 <= b["epoch"] < DAY.timestamp() + 14 * 3600]
    assert len(gap) == 7200 // span and all(b["count"] == 0 and b["h"] == 0 for b in gap)
    full = [b for b in bars if b["count"]]
    assert all(b["h"] > 0 for b in full) and sum(b["count"] for b in full) == 3600
    assert abs((gap[-1]["x"] + gap[-1]["w"] - gap[0]["x"]) - box["width"] / 4) <= 2
    page.screenshot(path=str(shots / "50-timeline-axis.png"))

    # one tab stop: the SVG; arrows move a current bin; Enter narrows to it with readable times
    assert page.evaluate("() => document.querySelectorAll('#timeline [tabindex]').length") == 1
    svg.focus()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    cur = int(svg.get_attribute("data-current"))
    first_full = next(i for i, b in enumerate(bars) if b["count"])
    assert cur == first_full + 2   # focus lands on the first bin with events
    assert re.search(r"\d+ events", page.inner_text("#timeline-current"))
    page.keyboard.press("Enter")
    want = bars[cur]
    page.wait_for_function("(n) => { const c = document.querySelector('#event-count'); return c && !c.dataset.partial && c.dataset.total == n; }", arg=str(want["count"]))
    start = dt.datetime.fromtimestamp(want["epoch"], dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
    end = dt.datetime.fromtimestamp(want["epoch"] + span, dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
    assert (page.input_value("#earliest"), page.input_value("#latest")) == (start, end)
    page.screenshot(path=str(shots / "51-zoomed.png"))


def test_every_event_is_paged_exported_and_summarised(app_site, page, shots):  # noqa: F811
    server, pw = app_site
    sign_in(page, server, pw, search_url("index=app"))
    wait_results(page)
    times = sorted(event_times(), reverse=True)
    # pages past the first 1,000 events: the last page holds the oldest events
    last = page.locator("#pager button[data-page]").last
    assert last.inner_text() == str(3600 // 50)
    last.click()
    page.wait_for_selector(f"#events[data-page='{3600 // 50 - 1}']")
    shown = page.locator("#events .event time").evaluate_all("els => els.map(e => e.getAttribute('datetime'))")
    assert len(shown) == 50
    want = [dt.datetime.fromtimestamp(t, dt.timezone.utc) for t in times[-50:]]
    assert [dt.datetime.fromisoformat(s) for s in shown] == want
    # a page in the middle (events 2,000..2,049)
    page.goto(server.url + search_url("index=app"))
    wait_results(page)
    page.click("#pager button[data-page='3']")   # to page 4: the pager then offers its neighbours
    page.wait_for_selector("#events[data-page='3']")
    page.click("#pager button[data-page='6']")
    page.wait_for_selector("#events[data-page='6']")
    page.click("#pager button[data-page='9']")
    page.wait_for_selector("#events[data-page='9']")
    page.click("#pager button[data-page='12']")
    page.wait_for_selector("#events[data-page='12']")
    page.click("#pager button[data-page='15']")
    page.wait_for_selector("#events[data-page='15']")
    page.click("#pager button[data-page='18']")
    page.wait_for_selector("#events[data-page='18']")
    page.click("#pager button[data-page='21']")
    page.wait_for_selector("#events[data-page='21']")
    first = page.locator("#events .event >> nth=0 >> time").get_attribute("datetime")
    assert dt.datetime.fromisoformat(first) == dt.datetime.fromtimestamp(times[21 * 50], dt.timezone.utc)
    # millisecond times stay inside their column
    t_box = page.locator("#events .event >> nth=0 >> time").bounding_box()
    raw_box = page.locator("#events .event >> nth=0 >> pre.raw").bounding_box()
    assert t_box["x"] + t_box["width"] <= raw_box["x"]
    assert page.locator("#events .event >> nth=0 >> time").inner_text().endswith(".123")
    page.screenshot(path=str(shots / "52-page-22.png"))

    # the fields sidebar: over all 3,600 events, not a page of them
    page.wait_for_selector("#fields-basis[data-sample='false']")
    assert "all 3,600 events" in page.inner_text("#fields-basis")
    assert page.inner_text('#fields li[data-field="level"] .fcount') == "3,600"
    page.click('#fields li[data-field="level"] .frow > button:not(.star)')
    top = page.locator('#fields li[data-field="level"] .topvals tr').evaluate_all(
        "trs => trs.map(tr => [tr.cells[0].innerText.trim(), tr.cells[1].innerText])")
    assert sorted(top) == [["ERROR", "1,200"], ["INFO", "1,200"], ["WARN", "1,200"]]
    page.click('#fields li[data-field="n"] .frow > button:not(.star)')
    assert "min 0 · max 3,599" in page.inner_text('#fields li[data-field="n"] .numeric')
    page.fill("#fields-filter", "lev")
    assert page.locator("#fields li[data-field]").evaluate_all("els => els.map(e => e.dataset.field)") == ["level"]
    page.screenshot(path=str(shots / "53-fields.png"))

    # export: every event, streamed by the server (not the 1,000 kept by the page)
    with page.expect_download() as dl:
        page.click("#export-csv")
    rows = list(csv.DictReader(io.StringIO(Path(dl.value.path()).read_text())))
    assert len(rows) == 3600
    assert sorted(int(r["n"]) for r in rows) == list(range(3600))
    assert "_offset" not in rows[0]


def test_statistics_tab_follows_the_search_and_single_value_in_full(app_site, page, shots):  # noqa: F811
    server, pw = app_site
    sign_in(page, server, pw, search_url("index=app | stats count by level"))
    page.wait_for_selector("#stats-table")
    assert page.get_attribute("#tab-stats", "aria-selected") == "true"
    # an event search after a transforming one shows events again
    page.fill("#q", "index=app level=WARN")
    page.press("#q", "Enter")
    wait_results(page)
    assert page.get_attribute("#tab-events", "aria-selected") == "true"
    assert not page.is_hidden("#panel-events") and page.is_hidden("#panel-stats")
    # a single value in full: 36,000, not "36k"
    page.goto(server.url + search_url("index=app | stats count | eval count=count*10", tab="viz", chart="single"))
    page.wait_for_selector("#chart .single")
    assert page.inner_text("#chart .single") == "36,000"
    page.screenshot(path=str(shots / "54-single.png"))


def test_jobs_inspector_and_admin_pages(app_site, page, shots, tmp_path):  # noqa: F811
    server, pw = app_site
    sign_in(page, server, pw, search_url("index=app level=ERROR"))
    wait_results(page)
    page.click("#inspect-job")
    page.wait_for_selector("#phases tr")
    names = page.locator("#phases td:first-child").all_inner_texts()
    assert names[0] == "parse and compile" and any(n.startswith("run") for n in names)
    assert "read_parquet" in page.inner_text("#sql") or "__events__" in page.inner_text("#sql")
    assert "done: 1200 events" in page.inner_text("#search-log")
    page.screenshot(path=str(shots / "55-inspector.png"), full_page=True)

    # admin: a HEC token (secret shown once, and it works), an upload indexed once, a user
    page.goto(server.url + "/admin")
    page.wait_for_selector("body[data-ready]", state="attached")
    page.fill("#hec-form input[name=name]", "web-app")
    page.fill("#hec-form input[name=index]", "app")
    page.click("#hec-form button[type=submit]")
    secret = page.locator("#hec-secret").inner_text()
    page.wait_for_selector("#hec td:text('web-app')")
    assert len(secret) >= 16
    assert [t["name"] for t in server.api("GET", "/api/v1/hec-tokens").json()["tokens"]] == ["web-app"]
    upload = tmp_path / "upload.log"
    upload.write_text("".join(f"2026-01-06T08:00:{i:02d}Z uploaded line {i}\n" for i in range(37)))
    page.set_input_files("#upload-form input[type=file]", str(upload))
    page.fill("#upload-form input[name=index]", "uploads")
    page.click("#upload-form button[type=submit]")
    page.wait_for_selector("#inputs-msg.ok:text('indexed')")
    assert server.search("index=uploads | stats count")["results"][0]["count"] == 37
    assert server.search("index=uploads | head 1")["events"][0]["source"].endswith("upload.log")
    page.fill("#user-form input[name=name]", "carol")
    page.fill("#user-form input[name=password]", "a long enough passphrase 42")
    page.click("#user-form button[type=submit]")
    page.wait_for_selector("#users td:text('carol')")
    assert "carol" in [u["name"] for u in server.api("GET", "/api/v1/users").json()["users"]]

    # roles: create one from the capability catalogue, edit it, give it to carol; delete another
    page.fill("#role-form input[name=name]", "auditor")
    page.check("#role-caps input[value=search]")
    page.check("#role-caps input[value=list_inputs]")
    page.fill("#role-form input[name=allowed]", "app, uploads")
    page.fill("#role-form input[name=default]", "app")
    page.fill("#role-form input[name=srchMaxTime]", "10m")
    page.fill("#role-form input[name=srchMaxRowsRead]", "5000000")
    page.click("#role-save")
    page.wait_for_selector("#roles td:text('auditor')")
    page.wait_for_selector("#roles td:text('srchMaxTime=600, srchMaxRowsRead=5,000,000')")
    page.click("button[aria-label='Edit role auditor']")
    assert page.input_value("#role-form input[name=name]") == "auditor"
    assert page.is_checked("#role-caps input[value=list_inputs]") and not page.is_checked("#role-caps input[value=edit_user]")
    assert page.input_value("#role-form input[name=srchMaxTime]") == "600"
    page.check("#role-caps input[value=edit_incidents]")
    page.uncheck("#role-caps input[value=list_inputs]")
    page.fill("#role-form input[name=srchMaxTime]", "")             # emptied: no longer set
    page.fill("#role-form input[name=srchMaxMemory]", "2GB")
    page.click("#role-save")
    page.wait_for_selector("#roles-msg.ok:text('saved')")
    role = server.api("GET", "/api/v1/roles/auditor").json()
    assert (sorted(role["capabilities"]), role["srchIndexesAllowed"], role["srchIndexesDefault"]) == (
        ["edit_incidents", "search"], ["app", "uploads"], ["app"])
    assert (role["srchMaxTime"], role["srchMaxRowsRead"], role["srchMaxMemory"]) == (None, 5_000_000, 2 * 1024 ** 3)
    page.click("button[aria-label='Edit role auditor']")               # a limit the server refuses: said, not saved
    page.fill("#role-form input[name=srchMaxMemory]", "lots")
    page.click("#role-save")
    page.wait_for_selector("#roles-msg:text('srchMaxMemory')")
    assert server.api("GET", "/api/v1/roles/auditor").json()["srchMaxMemory"] == 2 * 1024 ** 3
    page.click("#role-new")
    page.fill("input[aria-label='Roles of carol']", "auditor")
    page.click("#users tr:has(td:text('carol')) button:text('Save roles')")
    page.wait_for_selector("#users-msg.ok:text('Roles of carol')")
    carol = next(u for u in server.api("GET", "/api/v1/users").json()["users"] if u["name"] == "carol")
    assert carol["roles"] == ["auditor"]
    page.fill("#role-form input[name=name]", "temp")
    page.click("#role-save")
    page.wait_for_selector("#roles td:text('temp')")
    page.once("dialog", lambda d: d.accept())
    page.click("button[aria-label='Delete role temp']")
    page.wait_for_selector("#roles-msg.ok:text('deleted')")
    assert "temp" not in [r["name"] for r in server.api("GET", "/api/v1/roles").json()["roles"]]
    assert not page.locator("button[aria-label='Delete role admin']").count()      # built-ins stay
    page.screenshot(path=str(shots / "56-admin.png"), full_page=True)
