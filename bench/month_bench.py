"""Long ranges (issue 16): a month of logs, about 50 million events, searched over the whole
range through the HTTP API of a warm server: the search page's first call (`*`: the newest
events and the timeline of the whole month), a term count, and a daily timechart (in UTC and in
America/New_York, a zone with daylight saving time), beside grep;
and a monthly one in that zone; then a data model's `tstats count by` computed from the events, and again once the model is
accelerated (`speleo datamodel accelerate Web`, summaries built by `speleo datamodel summarize`,
timed): issue 15 asks the accelerated search to be at least 10x faster.

Generates MONTH_BYTES (default 6 GB) over 30 days with gen.py (seed 42; the rare token occurs
exactly RARE_COUNT times), ingests it in one process (oneshot, then the merge into warm buckets
with their term index sidecars), starts `speleo serve` and times each search (median of
MONTH_RUNS, default 3, after one warm-up). Each answer is checked before its time counts: the
term count against `grep -c -i -w`, the timeline's and the timechart's totals against the
number of events ingested; the tstats total against grep's count of access lines, and the
accelerated answer against the one computed from the events, row by row. Writes the MONTHBENCH
section of docs/benchmarks.md.

    MONTH_BYTES=600000000 python bench/month_bench.py     # a tenth, for a quick run
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "src"))
OUT = ROOT / "bench" / "out"
RUNS = int(os.environ.get("MONTH_RUNS", 3))
TSTATS = "| tstats count from datamodel=Web by Web.status"
DST_ZONE = "America/New_York"

from gen import RARE_COUNT, RARE_TOKEN, generate  # noqa: E402
from termindex_bench import _files, ingest, warm_server  # noqa: E402


def run() -> dict:
    import httpx

    size = int(os.environ.get("MONTH_BYTES", 6_000_000_000))
    data, home = OUT / "month-data", OUT / "month-home"
    if not data.exists() or abs(sum(p.stat().st_size for p in _files(data)) - size) > size * 0.05:
        shutil.rmtree(data, ignore_errors=True)
        print(f"generating {size / 1e9:.1f} GB over 30 days ...", flush=True)
        generate(data, size, days=30)
    files = _files(data)
    print("ingesting ...", flush=True)
    ing = ingest(data, home)
    events = ing["events"]
    t = time.perf_counter()
    grep_out = subprocess.run(["grep", "-c", "-i", "-w", "-h", RARE_TOKEN, *map(str, files)], capture_output=True,
                              text=True).stdout
    grep_s = time.perf_counter() - t
    grep_count = sum(int(x) for x in grep_out.split())
    res = {"machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
           "bytes": sum(p.stat().st_size for p in files), "events": events, "seed": 42, **ing,
           "grep_s": grep_s, "grep_count": grep_count, "searches": {}}
    print("searching through the API ...", flush=True)
    t = time.perf_counter()
    access_out = subprocess.run(["grep", "-c", "-E", "-h", r'^[0-9.]+ - - \[', *map(str, files)], capture_output=True,
                                text=True).stdout
    res["grep_access_s"] = time.perf_counter() - t
    access_lines = sum(int(x) for x in access_out.split())
    res["access_lines"] = access_lines
    # the server's own summary builder is kept idle: the summaries are built (and timed) by the CLI
    with warm_server(home, start_secs=600, env={"SPELEO_ACCELERATION_CHECK_SECS": "1e9"}) as (url, headers), \
            httpx.Client(headers=headers, timeout=1800) as client:
        def post(body: dict) -> dict:
            r = client.post(url + "/api/v1/search", json=body)
            r.raise_for_status()
            return r.json()

        def timed(name: str, body: dict, check) -> None:
            answer = post(body)
            check(answer)   # the warm-up's answer, checked before any time counts
            times = []
            for _ in range(RUNS):
                t0 = time.perf_counter()
                post(body)
                times.append(time.perf_counter() - t0)
            res["searches"][name] = {"body": body, "s": statistics.median(times)}

        def whole_timeline(a: dict) -> None:
            total = sum(b["count"] for b in a["timeline"]["buckets"])
            assert total == events, (total, events)

        def count_is(want: int, column: str = "count"):
            def check(a: dict) -> None:
                got = sum(int(r[column]) for r in a["results"])
                assert got == want, (got, want)
            return check

        timed("`*`: the newest 100 events and the month's timeline", {"search": "*", "limit": 100, "timeline": True},
              whole_timeline)
        timed(f"`{RARE_TOKEN} | stats count`", {"search": f"{RARE_TOKEN} | stats count", "limit": 0, "timeline": False},
              count_is(grep_count))
        timed("`* | timechart span=1d count`", {"search": "* | timechart span=1d count", "limit": 0, "timeline": False},
              count_is(events))
        tstats = {"search": TSTATS, "limit": 0, "timeline": False}
        raw_rows = post(tstats)["results"]
        timed(f"`{TSTATS}` from the events", tstats, count_is(access_lines))
        cli = [sys.executable, "-m", "speleo.cli.main", "--home", str(home)]
        subprocess.run([*cli, "datamodel", "accelerate", "Web"], check=True, capture_output=True)
        t = time.perf_counter()
        built = json.loads(subprocess.run([*cli, "datamodel", "summarize", "Web", "-o", "json"], check=True,
                                          capture_output=True, text=True).stdout)
        built["wall_s"] = time.perf_counter() - t
        res["summaries"] = built

        def same_as_raw(a: dict) -> None:
            assert a["scanned"].get("buckets_summarized_at_search") == 0, a["scanned"]
            assert a["results"] == raw_rows, (a["results"][:5], raw_rows[:5])
        timed(f"`{TSTATS}` accelerated", tstats, same_as_raw)
    # the same timechart in a zone with daylight saving time (the server's zone from TZ): the
    # counts add up to every event, and each row starts at a local midnight (EST or EDT)
    dst_rows = {}
    # a second server on the same home, once the first has stopped (one writer per home)
    with warm_server(home, start_secs=600, env={"SPELEO_ACCELERATION_CHECK_SECS": "1e9", "TZ": DST_ZONE}) as (
            dst_url, dst_headers), httpx.Client(timeout=1800) as client:
        def dst_post(body: dict) -> dict:
            r = client.post(dst_url + "/api/v1/search", json=body, headers=dst_headers)
            r.raise_for_status()
            return r.json()

        for span in ("1d", "1mon"):
            body = {"search": f"* | timechart span={span} count", "limit": 0, "timeline": False}
            answer = dst_post(body)
            assert sum(int(r["count"]) for r in answer["results"]) == events
            rows = {r["_time"]: int(r["count"]) for r in answer["results"]}
            dst_rows.update(rows)
            if span == "1mon":   # each row starts on the first of a month
                assert all(t[8:10] == "01" for t in rows), list(rows)
            times = []
            for _ in range(RUNS):
                t0 = time.perf_counter()
                dst_post(body)
                times.append(time.perf_counter() - t0)
            res["searches"][f"`* | timechart span={span} count` in {DST_ZONE}"] = {"body": body,
                                                                                "s": statistics.median(times)}
    assert all(t.endswith(("T00:00:00-05:00", "T00:00:00-04:00")) for t in dst_rows), list(dst_rows)[:3]
    shutil.rmtree(home, ignore_errors=True)
    return res


def render(r: dict) -> str:
    lines = [
        f"A month of logs (`python bench/month_bench.py`, {time.strftime('%Y-%m-%d %H:%M')} UTC, {r['machine']}, shared): "
        f"{r['bytes'] / 1e9:.2f} GB over 30 days (bench/gen.py, seed {r['seed']}), {r['events']:,} events; ingestion "
        f"{r['ingest_cpu_s']:.0f} s of CPU, merge into warm buckets {r['merge_cpu_s']:.0f} s. Each search through the "
        f"HTTP API of a warm server over the whole month (median of {RUNS}, one keep-alive client), its answer checked "
        f"first; `grep -c -i -w {RARE_TOKEN}` over the files: {r['grep_s']:.2f} s ({r['grep_count']} lines).",
        "",
        "| search | time | goal |",
        "| --- | --- | --- |",
    ]
    accel = {}
    for name, s in r["searches"].items():
        if name.startswith(f"`{TSTATS}`"):
            accel[name] = s["s"]
            continue
        lines.append(f"| {name} | {s['s']:.3f} s | under 1 s: {'met' if s['s'] < 1 else 'NOT met'} |")
    if len(accel) == 2:
        raw, fast = accel.values()
        b = r["summaries"]
        lines += [
            "",
            f"Data model acceleration (issue 15), same server: `{TSTATS}` over the month, the total checked against "
            f"`grep -c` of the access lines ({r['access_lines']:,}), the accelerated answer equal to the one from the "
            f"events row by row. Summaries built by `speleo datamodel summarize Web`: {b['built']} buckets, "
            f"{b['events']:,} events, {b['bytes'] / 1e6:.1f} MB, {b['wall_s']:.0f} s.",
            "",
            "| search | time | ratio | goal |",
            "| --- | --- | --- | --- |",
            f"| from the events | {raw:.3f} s | 1x | |",
            f"| accelerated | {fast:.3f} s | {raw / fast:.1f}x faster | 10x: {'met' if raw / fast >= 10 else 'NOT met'} |",
        ]
    return "\n".join(lines)


def record() -> dict:
    from report import write_section

    res = run()
    write_section(ROOT / "docs" / "benchmarks.md", "MONTHBENCH", "A month of data", render(res))
    (OUT / "results-month.json").write_text(json.dumps(res, indent=2))
    return res


if __name__ == "__main__":
    print(json.dumps(record(), indent=2))
