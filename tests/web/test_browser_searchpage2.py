"""The search page's remaining pieces, in Debian's Chromium against one real `speleo serve`:
the time picker (presets, relative, date and time, advanced; words and URL), the search history
(panel, Run, `speleo history --output json`), event display modes and density kept per browser,
the fields sidebar, the Patterns tab, real-time searches that append and stop, and
accessibility (one tab stop on the timeline, contrast of the highlighting, charts' text).

Data written here, relative to the moment the module starts (the server's clock is the real
one): index `tp` holds 2**k events at each of seven ages (5 minutes, 40 minutes, 3 hours,
20 hours, 3 days, 20 days, 60 days ago), so every range answers a count that names which ages
it holds; index `app` holds three kinds of lines in known numbers (the patterns)."""

from __future__ import annotations

import datetime as dt
import json
import re
import time
from urllib.parse import parse_qs, urlencode, urlparse

import pytest

from tests.conftest import ServerProc, run_cli
from tests.web.test_browser import page, pytestmark, shots, sign_in, wait_results  # noqa: F401  (fixtures)

AGES = [5 * 60, 40 * 60, 3 * 3600, 20 * 3600, 3 * 86400, 20 * 86400, 60 * 86400]   # seconds before the start
KINDS = {   # line template -> how many (the patterns)
    "user u{i} failed login from 10.0.0.{j}": 90,
    "cache miss for key k{i} after {j} ms": 60,
    "disk /dev/sd{c} is {j} percent full": 30,
}


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    root = tmp_path_factory.mktemp("searchpage2")
    start = time.time()
    times = []
    for k, age in enumerate(AGES):
        times += [start - age - i for i in range(2 ** k)]   # 2**k events, one second apart
    tp = root / "tp.log"
    tp.write_text("".join(f"{_stamp(t)} tick n={n} age={k}\n" for n, (k, t) in enumerate(_aged(times))))
    app = root / "app.log"
    lines, t0 = [], start - 7200
    for kind, count in KINDS.items():
        for i in range(count):
            text = kind.format(i=i, j=i % 7 + 1, c="abc"[i % 3])
            lines.append((t0 + len(lines), text))
    app.write_text("".join(f"{_stamp(t)} {text}\n" for t, text in lines))
    server = ServerProc(root / "home").start()
    for path, index in ((tp, "tp"), (app, "app")):   # through the server: no CLI process to start
        r = server.api("POST", "/api/v1/inputs/oneshot", json={"path": str(path), "index": index})
        assert r.status_code == 200, r.text
    deadline = time.time() + 20
    while server.search("index=tp OR index=app | stats count")["results"][0]["count"] < 127 + 180:
        assert time.time() < deadline, "the events did not become searchable"
        time.sleep(0.2)
    pw = re.search(r"created web user 'admin' with password: (\S+)", server.log.read_text()).group(1)
    yield server, pw, times, root
    server.stop()


def _aged(times):
    out, n = [], 0
    for k in range(len(AGES)):
        for _ in range(2 ** k):
            out.append((k, times[n]))
            n += 1
    return out


def _stamp(t: float) -> str:
    return dt.datetime.fromtimestamp(t, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def count_between(times, lo: float | None, hi: float | None) -> int:
    return sum(1 for t in times if (lo is None or t >= lo) and (hi is None or t < hi))


def local_midnight(now: float, days_back: int = 0) -> float:
    d = dt.datetime.fromtimestamp(now).astimezone()   # the server's zone: this machine's
    return (d.replace(hour=0, minute=0, second=0, microsecond=0) - dt.timedelta(days=days_back)).timestamp()


def shown_total(page) -> int:
    wait_results(page)
    return int(page.get_attribute("#event-count", "data-total"))


def pick(page, label: str) -> None:
    page.click("#range-btn")
    page.click(f"#tp-panel .tp-preset:text-is('{label}')")


def url_range(page) -> tuple[str | None, str | None]:
    p = parse_qs(urlparse(page.url).query)
    return (p.get("earliest") or [None])[0], (p.get("latest") or [None])[0]


def test_time_picker_presets_relative_dates_and_advanced(site, page, shots):  # noqa: F811
    server, pw, times, _ = site
    sign_in(page, server, pw, "/?" + urlencode({"q": "index=tp"}))
    assert shown_total(page) == 127 and page.inner_text("#range-text") == "All time"
    presets = [("Last 15 minutes", "-15m", 900), ("Last 60 minutes", "-60m", 3600), ("Last 4 hours", "-4h", 4 * 3600),
               ("Last 24 hours", "-24h", 86400), ("Last 7 days", "-7d", 7 * 86400), ("Last 30 days", "-30d", 30 * 86400)]
    for label, mod, secs in presets:
        pick(page, label)
        page.wait_for_function("(m) => new URLSearchParams(location.search).get('earliest') === m", arg=mod)
        now = time.time()
        assert shown_total(page) == count_between(times, now - secs, None), label
        assert page.inner_text("#range-text") == label and url_range(page) == (mod, None)
    page.screenshot(path=str(shots / "60-timepicker-preset.png"))
    pick(page, "Today")
    page.wait_for_function("() => new URLSearchParams(location.search).get('earliest') === '@d'")
    assert shown_total(page) == count_between(times, local_midnight(time.time()), None)
    pick(page, "Yesterday")
    page.wait_for_function("() => new URLSearchParams(location.search).get('latest') === '@d'")
    now = time.time()
    assert shown_total(page) == count_between(times, local_midnight(now, 1), local_midnight(now))
    assert url_range(page) == ("-1d@d", "@d") and page.inner_text("#range-text") == "Yesterday"

    # relative: 21 hours ago snapped to the hour, to now
    page.click("#range-btn")
    page.fill("#tp-rel-e-n", "21")
    page.select_option("#tp-rel-e-unit", "h")
    page.select_option("#tp-rel-e-snap", "h")
    assert page.inner_text("#tp-rel-preview") == "earliest=-21h@h latest=now"
    page.screenshot(path=str(shots / "61-timepicker-open.png"))
    page.click("#tp-rel-apply")
    page.wait_for_function("() => new URLSearchParams(location.search).get('earliest') === '-21h@h'")
    hour = (time.time() - 21 * 3600) // 3600 * 3600
    assert shown_total(page) == count_between(times, hour, None)
    assert page.inner_text("#range-text") == "From 21 hours ago, at the start of the hour to now"

    # date and time: the calendar inputs, from 2 days ago to 10 hours ago (local wall time)
    lo, hi = dt.datetime.fromtimestamp(time.time() - 2 * 86400), dt.datetime.fromtimestamp(time.time() - 10 * 3600)
    page.click("#range-btn")
    page.fill("#tp-date-e", lo.strftime("%Y-%m-%d"))
    page.fill("#tp-time-e", lo.strftime("%H:%M:%S"))
    page.fill("#tp-date-l", hi.strftime("%Y-%m-%d"))
    page.fill("#tp-time-l", hi.strftime("%H:%M:%S"))
    page.click("#tp-date-apply")
    want_e, want_l = lo.strftime("%Y-%m-%dT%H:%M:%S"), hi.strftime("%Y-%m-%dT%H:%M:%S")
    page.wait_for_function("(e) => new URLSearchParams(location.search).get('earliest') === e", arg=want_e)
    assert url_range(page) == (want_e, want_l)
    assert shown_total(page) == count_between(times, int(lo.timestamp()), int(hi.timestamp())) == 8   # the 20-hour-old ones
    assert page.inner_text("#range-text") == f"{want_e.replace('T', ' ')} to {want_l.replace('T', ' ')}"

    # advanced: raw modifiers; a bad one is the search's error, at its place
    page.click("#range-btn")
    page.fill("#earliest", "-45d")
    page.fill("#latest", "-10d")
    page.click("#tp-adv-apply")
    page.wait_for_function("() => new URLSearchParams(location.search).get('latest') === '-10d'")
    now = time.time()
    assert shown_total(page) == count_between(times, now - 45 * 86400, now - 10 * 86400) == 32
    assert page.inner_text("#range-text") == "From 45 days ago to 10 days ago"
    # the range survives a reload (kept in the URL) and shows in words
    page.reload()
    assert shown_total(page) == 32 and page.inner_text("#range-text") == "From 45 days ago to 10 days ago"
    page.click("#range-btn")
    assert page.input_value("#earliest") == "-45d"
    page.keyboard.press("Escape")
    assert page.is_hidden("#tp-panel")
    page.click("#range-btn")
    page.fill("#earliest", "-3q@bogus")
    page.click("#tp-adv-apply")
    page.wait_for_selector("#error:not([hidden])")
    assert "bogus" in page.inner_text("#error")


def test_search_history_panel_rerun_and_cli(site, page, shots):  # noqa: F811
    server, pw, times, _ = site
    runs = [("index=tp age=3", "-7d", ""), ("index=tp age=1", "-60m", ""), ("index=tp age=3", "-7d", ""),
            ("index=app | stats count", "", "")]
    sign_in(page, server, pw, "/")
    for q, e, l in runs:
        page.goto(server.url + "/?" + urlencode({k: v for k, v in (("q", q), ("earliest", e), ("latest", l)) if v}))
        wait_results(page) if "stats" not in q else page.wait_for_selector("#stats-table")
    page.click("#history-open")
    page.wait_for_selector("#history-list li")
    items = page.locator("#history-list li").evaluate_all("els => els.map(e => [e.dataset.search, +e.dataset.runs])")
    # newest first, identical runs folded; this module's other tests may have run searches before
    assert items[:3] == [["index=app | stats count", 1], ["index=tp age=3", 2], ["index=tp age=1", 1]]
    assert "Last 7 days" in page.inner_text('#history-list li[data-search="index=tp age=3"] .saved-range')
    page.fill("#history-filter", "AGE=1")
    page.wait_for_function("() => [...document.querySelectorAll('#history-list li')].every(e => e.dataset.search.includes('age=1'))")
    page.screenshot(path=str(shots / "62-history.png"))
    page.click('#history-list li[data-search="index=tp age=1"] .history-run')
    page.wait_for_function("() => new URLSearchParams(location.search).get('q') === 'index=tp age=1'")
    assert shown_total(page) == 2 and page.input_value("#q") == "index=tp age=1"
    assert page.inner_text("#range-text") == "Last 60 minutes" and url_range(page) == ("-60m", None)

    # the command line reads the same history
    out = run_cli(server.home, "history", "--output", "json").stdout
    hist = json.loads(out)
    assert hist[0]["search"] == "index=tp age=1" and hist[0]["runs"] == 2 and hist[0]["user"] == "admin"
    assert hist[0]["earliest"] == "-60m" and hist[0]["result_count"] == 2


def test_display_modes_density_and_fields(site, page, shots):  # noqa: F811
    server, pw, times, _ = site
    sign_in(page, server, pw, "/?" + urlencode({"q": "index=tp"}))
    wait_results(page)
    assert page.get_attribute("#events", "data-view") == "list"
    page.click("[data-view=raw]")
    page.wait_for_selector("#events li.raw-only")
    assert page.locator("#events li.raw-only").count() == 50 and page.locator("#events li time").count() == 0
    raws = page.locator("#events li.raw-only pre").all_inner_texts()
    assert all(re.fullmatch(r"\S+Z tick n=\d+ age=\d", r) for r in raws)
    page.click("[data-density=compact]")
    assert page.get_attribute("#events", "data-density") == "compact"
    compact = page.locator("#events li.raw-only").first.bounding_box()["height"]
    page.click("[data-density=comfortable]")
    assert page.locator("#events li.raw-only").first.bounding_box()["height"] > compact
    page.click("[data-density=compact]")
    # the fields sidebar: kinds, numbers summarised over all events, a filter, select a field
    page.wait_for_selector("#fields-basis[data-sample='false']")
    assert page.inner_text('#fields li[data-field="age"] .ftype') == "#"
    assert page.inner_text('#fields li[data-field="sourcetype"] .ftype') == "a"
    assert page.locator("#fields-interesting li[data-field='age']").count() == 1
    page.click('#fields li[data-field="n"] .frow > button:not(.star)')
    assert page.inner_text('#fields li[data-field="n"] .numeric') == "min 0 · max 126 · avg 63"
    page.fill("#fields-filter", "ag")
    assert page.locator("#fields li[data-field]").evaluate_all("els => els.map(e => e.dataset.field)") == ["age"]
    page.click('#fields li[data-field="age"] .star')
    page.wait_for_selector("#fields-selected li[data-field='age']")
    # table mode: time and the selected fields as columns
    page.click("[data-view=table]")
    page.wait_for_selector("#events-table")
    heads = page.locator("#events-table th").all_inner_texts()
    assert heads[0] == "_time" and "age" in heads
    ages = page.locator("#events-table tbody tr").evaluate_all(
        f"trs => trs.map(tr => tr.cells[{heads.index('age')}].innerText)")
    assert ages[:1] == ["0"] and len(ages) == 50
    page.screenshot(path=str(shots / "63-table-compact.png"))
    # kept in this browser: a new page shows the table, compact
    page.goto(server.url + "/?" + urlencode({"q": "index=tp age=2"}))
    wait_results(page)
    assert page.get_attribute("#events", "data-view") == "table" and page.get_attribute("#events", "data-density") == "compact"
    assert page.get_attribute("[data-view=table]", "aria-checked") == "true"
    assert page.locator("#events-table tbody tr").count() == 4


def test_patterns_tab_counts_and_search(site, page, shots):  # noqa: F811
    server, pw, times, _ = site
    sign_in(page, server, pw, "/?" + urlencode({"q": "index=app", "tab": "patterns"}))
    page.wait_for_selector("#patterns-table tbody tr")
    rows = page.locator("#patterns-table tbody tr").evaluate_all(
        "trs => trs.map(tr => [+tr.dataset.count, tr.querySelector('.pattern-open').dataset.terms, tr.cells[2].innerText])")
    assert [r[0] for r in rows] == sorted(KINDS.values(), reverse=True)
    assert "<*> user <*> failed login from <*>" in rows[0][2]
    assert "all 180 events" in page.inner_text("#patterns-head")
    page.screenshot(path=str(shots / "64-patterns.png"))
    # a click searches for the pattern's words: exactly that kind of line
    page.click("#patterns-table tbody tr >> nth=1 >> .pattern-open")
    page.wait_for_function("() => new URLSearchParams(location.search).get('q') !== 'index=app'")
    assert page.get_attribute("#tab-events", "aria-selected") == "true"
    assert shown_total(page) == 60
    assert page.input_value("#q").startswith("index=app ") and "cache" in page.input_value("#q")


def test_realtime_appends_then_stops(site, page, shots):  # noqa: F811
    server, pw, _, root = site

    def send(name: str, n: int) -> list[str]:
        f = root / f"{name}.log"
        now = time.time()
        texts = [f"live {name} event {i}" for i in range(n)]
        f.write_text("".join(f"{_stamp(now)} {t}\n" for t in texts))
        r = server.api("POST", "/api/v1/inputs/oneshot", json={"path": str(f), "index": "live"})
        assert r.status_code == 200, r.text
        return texts

    first = send("one", 3)
    sign_in(page, server, pw, "/?" + urlencode({"q": "index=live"}))
    pick(page, "1 minute window")
    page.wait_for_function("() => document.body.dataset.live === 'running'")
    assert url_range(page) == ("rt-1m", "rt")
    assert page.inner_text("#range-text") == "Real-time (1 minute window)"
    page.wait_for_function("() => document.querySelectorAll('#events .event').length === 3")
    second = send("two", 4)
    page.wait_for_function("() => document.querySelectorAll('#events .event').length === 7", timeout=20_000)
    shown = page.locator("#events .event pre.raw").all_inner_texts()
    assert sorted(s.split("Z ", 1)[1] for s in shown) == sorted(first + second)
    assert page.locator("#timeline-wrap").is_hidden()
    page.screenshot(path=str(shots / "65-realtime.png"))
    page.click("#job-cancel")   # "Stop"
    page.wait_for_function("() => document.body.dataset.live === 'stopped'")
    send("three", 5)
    deadline = time.time() + 4   # longer than two polls and a seal
    while time.time() < deadline:
        assert page.locator("#events .event").count() == 7
        time.sleep(0.5)
    assert server.search("index=live | stats count")["results"][0]["count"] == 12


def test_accessibility_timeline_contrast_and_chart_text(site, page, shots):  # noqa: F811
    server, pw, times, _ = site
    sign_in(page, server, pw, "/?" + urlencode({"q": 'index=tp tick "age" | search n>=0 NOT age=9'}))
    wait_results(page)
    # the timeline is one tab stop (an SVG moved through with the arrows), never a stop per bin
    assert page.locator("#timeline rect.bar").count() > 10
    assert page.evaluate("() => document.querySelectorAll('#timeline [tabindex], #timeline a, #timeline button').length") == 1
    # every colour of the highlighting meets WCAG AA (4.5:1) on its background
    pairs = page.evaluate("""() => {
        const bg = (el) => { for (; el; el = el.parentElement) { const c = getComputedStyle(el).backgroundColor;
            if (c !== 'rgba(0, 0, 0, 0)' && c !== 'transparent') return c; } return 'rgb(255, 255, 255)'; };
        const els = [...document.querySelectorAll('#q-hl span'), ...document.querySelectorAll('#events mark')];
        return els.map(e => [e.className || e.tagName, getComputedStyle(e).color, bg(e)]);
    }""")
    classes = {p[0] for p in pairs}
    assert {"t-cmd", "t-pipe", "t-kw", "t-str", "t-field", "t-op", "t-num", "MARK"} <= classes, classes
    for name, fg, bg in pairs:
        assert contrast(fg, bg) >= 4.5, (name, fg, bg, contrast(fg, bg))
    # a chart says what it shows, and holds its data as a table
    page.goto(server.url + "/?" + urlencode({"q": "index=tp | stats count by age", "tab": "viz", "chart": "column"}))
    page.wait_for_selector("#chart [aria-label]")
    label = page.get_attribute("#chart canvas, #chart svg", "aria-label")
    assert label == "Column chart of count by age, 7 values: highest 6 64, lowest 0 1"
    page.click("#chart .chart-data summary")
    cells = page.locator("#chart .chart-data tbody tr").evaluate_all("trs => trs.map(tr => [tr.cells[0].innerText, tr.cells[1].innerText])")
    assert sorted(cells) == sorted([str(k), str(2 ** k)] for k in range(len(AGES)))
    page.screenshot(path=str(shots / "66-chart-table.png"))


def contrast(fg: str, bg: str) -> float:
    """WCAG 2.x contrast ratio of two CSS rgb()/rgba() colours."""
    def lum(c: str) -> float:
        r, g, b = (int(x) / 255 for x in re.findall(r"[\d.]+", c)[:3])
        lin = [v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4 for v in (r, g, b)]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]
    a, b = sorted((lum(fg), lum(bg)), reverse=True)
    return (a + 0.05) / (b + 0.05)
