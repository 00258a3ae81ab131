"""Dashboard benchmark: a dashboard of 8 panels over the benchmark data, in headless Chromium
against a real `speleo serve`: the time from opening the page until every panel has drawn (cold:
the first load, with a second browser opening the page at the same moment, whose panels the
first's jobs answer; warm: the Refresh button, new jobs over files in the OS cache). Writes the DASHBENCH section of
docs/benchmarks.md.

    python bench/dashboard_bench.py        (BENCH_DASH_BYTES=60000000)
"""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))
OUT = ROOT / "bench" / "out"
CHROMIUM = "/usr/bin/chromium"
PANELS = [
    ("splunk.line", "index=main | timechart span=1h count"),
    ("splunk.column", "index=main | stats count by host"),
    ("splunk.pie", "index=main sourcetype=access_combined | stats count by status"),
    ("splunk.singlevalue", "index=main ERROR | stats count"),
    ("splunk.table", "index=main sshd Failed | stats count by host"),
    ("splunk.area", "index=main | timechart span=1h count by sourcetype"),
    ("splunk.bar", "index=main sourcetype=access_combined | top limit=10 uri"),
    ("splunk.events", "index=main status=500"),
]


def dashboard() -> dict:
    doc = {"title": "Bench", "inputs": {}, "defaults": {}, "dataSources": {}, "visualizations": {},
           "layout": {"type": "grid", "options": {"width": 1440}, "structure": []}}
    for i, (viz, spl) in enumerate(PANELS, 1):
        doc["dataSources"][f"ds_{i}"] = {"type": "ds.search", "options": {"query": spl}}
        doc["visualizations"][f"viz_{i}"] = {"type": viz, "title": spl, "dataSources": {"primary": f"ds_{i}"}}
        doc["layout"]["structure"].append({"item": f"viz_{i}", "type": "block", "position": {
            "x": (i - 1) % 2 * 720, "y": (i - 1) // 2 * 300, "w": 720, "h": 300}})
    return doc


def make_home(home: Path) -> None:
    from gen import generate

    from speleo.config import Home
    from speleo.ingest.oneshot import add_oneshot
    from speleo.service import Service

    data = OUT / "dash-data"
    if not data.exists():
        generate(data, int(os.environ.get("BENCH_DASH_BYTES", 60_000_000)))
    svc = Service(Home(home))
    w = svc.open_writer()
    for p in sorted(x for x in data.rglob("*") if x.is_file()):
        add_oneshot(w.ingestor, p, "main", host=p.parent.name)
    w.store.seal()
    w.store.merge_hot(1)          # as the server's merge cycle leaves them: warm buckets with their
    w.store.collect_garbage(0)    # term index sidecars (else the server merges during the measure)
    w.close()


WARM_RUNS = 5   # Refreshes measured one after another; the median is the figure

ALL_DRAWN = "() => { const p = [...document.querySelectorAll('section.dash-panel')]; " \
            "return p.length === 8 && p.every(x => x.dataset.state === 'done' && x.dataset.drawn); }"


def run() -> dict:
    from playwright.sync_api import sync_playwright

    from tests.conftest import ServerProc

    home = OUT / "dash-home"
    shutil.rmtree(home, ignore_errors=True)
    make_home(home)
    (OUT / "bench-dash.json").write_text(json.dumps(dashboard()))
    subprocess.run([sys.executable, "-m", "speleo.cli.main", "--home", str(home), "dashboard", "import",
                    str(OUT / "bench-dash.json"), "--name", "bench"], check=True, capture_output=True)
    server = ServerProc(home).start(timeout=120)
    res: dict = {"cores": os.cpu_count(), "python": platform.python_version()}
    try:
        pw = re.search(r"password: (\S+)", server.log.read_text()).group(1)
        with sync_playwright() as p:
            b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"], headless=True)

            def page():
                pg = b.new_context(viewport={"width": 1440, "height": 1200}).new_page()
                pg.set_default_timeout(120_000)
                pg.goto(server.url + "/login")
                pg.fill("#name", "admin")
                pg.fill("#password", pw)
                pg.press("#password", "Enter")
                pg.wait_for_selector("header.top")
                return pg

            first, second = page(), page()
            t = time.perf_counter()
            first.goto(server.url + "/app/dashboards/bench", wait_until="commit")
            second.goto(server.url + "/app/dashboards/bench", wait_until="commit")   # a second browser at once
            first.wait_for_function(ALL_DRAWN, polling=50)
            res["cold_secs"] = round(time.perf_counter() - t, 2)
            second.wait_for_function(ALL_DRAWN, polling=50)
            res["both_secs"] = round(time.perf_counter() - t, 2)
            res["reused_panels"] = second.evaluate("() => [...document.querySelectorAll('section.dash-panel')]"
                                                   ".filter(x => Number(x.dataset.reused) > 0).length")
            warm = []
            for _ in range(WARM_RUNS):
                before = first.evaluate("() => [...document.querySelectorAll('section.dash-panel')].map(x => x.dataset.job)")
                t = time.perf_counter()
                first.click("#refresh")
                first.wait_for_function("(before) => { const p = [...document.querySelectorAll('section.dash-panel')]; "
                                        "return p.every((x, i) => x.dataset.job !== before[i] && x.dataset.state === 'done' "
                                        "&& Number(x.dataset.drawn) > 0); }", arg=before, polling=50)
                warm.append(round(time.perf_counter() - t, 2))
            res["warm_runs"] = warm
            res["warm_secs"] = sorted(warm)[len(warm) // 2]
            b.close()
    finally:
        server.stop()
    return res


def write(res: dict) -> None:
    doc = ROOT / "docs" / "benchmarks.md"
    text = doc.read_text()
    body = (f"<!-- DASHBENCH:START -->\n"
            f"Dashboard (`python bench/dashboard_bench.py`, {time.strftime('%Y-%m-%d %H:%M')} UTC, {res['cores']} cores "
            f"shared with other work, load average {os.getloadavg()[0]:.1f} at the end): 8 panels (line, column, pie, single value, table, area, bar, events) over "
            f"~{int(os.environ.get('BENCH_DASH_BYTES', 60_000_000)) // 1_000_000} MB of generated logs, headless "
            f"Chromium, time from opening the page until every panel has drawn: cold {res['cold_secs']} s with a "
            f"second browser opening it at the same moment (both drawn after {res['both_secs']} s; "
            f"{res['reused_panels']} of 8 panels of the second answered by the first's jobs); "
            f"warm (Refresh, new jobs) {res['warm_secs']} s, the median of {len(res['warm_runs'])} Refreshes "
            f"({', '.join(str(x) for x in res['warm_runs'])} s).\n"
            f"<!-- DASHBENCH:END -->")
    if "<!-- DASHBENCH:START -->" in text:
        head, rest = text.split("<!-- DASHBENCH:START -->", 1)
        text = head + body + rest.split("<!-- DASHBENCH:END -->", 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n## Dashboards\n\n" + body + "\n"
    doc.write_text(text)


if __name__ == "__main__":
    r = run()
    print(json.dumps(r, indent=2))
    write(r)
