"""Splunk REST `export` throughput beside the HTTP API's own search (`POST /api/v1/search`,
limit 0) and a REST job read with `results?count=0`, over the same events of one running server.

Generates BENCH_REST_BYTES (default 30 MB) of logs with gen.py (seed 42), ingests them, starts
`speleo serve`, then fetches every event of `index=main` each way REST_RUNS times (median, wall
clock, the whole body read); every way's row count is checked against the index's event count
before its time counts. Writes the RESTBENCH section of docs/benchmarks.md.

    python bench/rest_bench.py
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "src"))
OUT = ROOT / "bench" / "out"
RUNS = int(os.environ.get("REST_RUNS", 3))
QUERY = "search index=main"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _median(fn, expected: int) -> tuple[float, int, float]:
    """(median seconds for the whole body, body bytes, median seconds until the first row)."""
    times, firsts, size = [], [], 0
    for _ in range(RUNS):
        t = time.perf_counter()
        n, size, first = fn()
        times.append(time.perf_counter() - t)
        firsts.append(first - t)
        assert n == expected, (fn.__name__, n, expected)
    return statistics.median(times), size, statistics.median(firsts)


def run() -> dict:
    from gen import generate

    data = OUT / "rest-data"
    size = int(os.environ.get("BENCH_REST_BYTES", 30_000_000))
    if not data.exists():
        generate(data, size)
    files = sorted(str(p) for p in data.rglob("*") if p.is_file())
    home = OUT / "rest-home"
    shutil.rmtree(home, ignore_errors=True)
    cli = [sys.executable, "-m", "speleo.cli.main", "--home", str(home)]
    for f in files:
        subprocess.run(cli + ["add", "oneshot", f, "--index", "main"], check=True, capture_output=True)
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(cli + ["serve", "--port", str(port), "--hec-port", "0"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 60
        while not (home / "server.json").exists() and time.time() < deadline:
            time.sleep(0.2)
        token = (home / "api_token").read_text().strip()
        h = {"Authorization": f"Bearer {token}"}
        c = httpx.Client(base_url=url, headers=h, timeout=600)
        events = c.post("/api/v1/search", json={"search": "index=main | stats count", "limit": 0}).json()
        expected = int(events["results"][0]["count"])

        def api_search() -> tuple[int, int]:
            r = c.post("/api/v1/search", json={"search": QUERY, "limit": 0})
            first = time.perf_counter()   # one body: its first row comes with the last
            return len(r.json()["events"]), len(r.content), first

        def rest_export() -> tuple[int, int]:
            n = size = 0
            first = None
            with c.stream("POST", "/services/search/v2/jobs/export",
                          data={"search": QUERY, "output_mode": "json"}) as r:
                for line in r.iter_lines():
                    size += len(line) + 1
                    if '"result"' in line:
                        n += 1
                        first = first or time.perf_counter()
            return n, size, first or time.perf_counter()

        def rest_job() -> tuple[int, int]:
            sid = c.post("/services/search/v2/jobs", data={"search": QUERY, "exec_mode": "blocking",
                                                           "output_mode": "json"}).json()["sid"]
            r = c.post(f"/services/search/v2/jobs/{sid}/results", data={"output_mode": "json", "count": "0"})
            first = time.perf_counter()
            c.delete(f"/services/search/v2/jobs/{sid}")
            return len(r.json()["results"]), len(r.content), first

        res = {"data_bytes": sum(os.path.getsize(f) for f in files), "events": expected, "runs": RUNS}
        for name, fn in (("api_search", api_search), ("rest_export", rest_export), ("rest_job", rest_job)):
            fn()   # warm
            secs, body, first = _median(fn, expected)
            res[name] = {"secs": round(secs, 3), "events_per_s": round(expected / secs), "body_mb": round(body / 1e6, 1),
                         "first_row_secs": round(first, 3)}
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(60)
    return res


def record() -> dict:
    res = run()
    doc = ROOT / "docs" / "benchmarks.md"
    text = doc.read_text()
    a = res["api_search"]
    rows = [("`POST /api/v1/search` (limit 0, one JSON body)", a),
            ("`POST /services/search/v2/jobs/export` (JSON lines, streamed)", res["rest_export"]),
            ("REST job, `exec_mode=blocking`, then `results?count=0` (JSON)", res["rest_job"])]
    table = "".join(f"| {name} | {r['secs']:.2f} | {r['first_row_secs']:.2f} | {r['events_per_s']:,} | {r['body_mb']} | "
                    f"{a['secs'] / r['secs']:.2f}x |\n" for name, r in rows)
    body = (f"<!-- RESTBENCH:START -->\n"
            f"Every event of `index=main` fetched over HTTP (`python bench/rest_bench.py`, "
            f"{time.strftime('%Y-%m-%d %H:%M')} UTC, {platform.machine()}, {os.cpu_count()} cores shared with other "
            f"work, Python {platform.python_version()}): {res['data_bytes'] / 1e6:.0f} MB of generated logs "
            f"(bench/gen.py, seed 42), {res['events']:,} events, median of {res['runs']} runs, the whole body read; "
            f"every count checked.\n\n"
            f"The export of a search for raw events streams while the search runs (rows leave as the buckets "
            f"holding them are read: `query.stream.events_as_read`), so its first row arrives long before its last.\n\n"
            f"| way | seconds | first row (s) | events/s | body MB | speed beside /api/v1/search |\n"
            f"| --- | --- | --- | --- | --- | --- |\n"
            f"{table}<!-- RESTBENCH:END -->")
    if "<!-- RESTBENCH:START -->" in text:
        head, rest = text.split("<!-- RESTBENCH:START -->", 1)
        text = head + body + rest.split("<!-- RESTBENCH:END -->", 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n## Splunk REST export\n\n" + body + "\n"
    doc.write_text(text)
    return res


if __name__ == "__main__":
    print(json.dumps(record(), indent=2))
