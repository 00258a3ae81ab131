"""`make bench`: ingestion, storage size, search speed and server memory, beside peers.

Writes the figures to docs/benchmarks.md (between the BENCH markers). Set BENCH_BYTES to
generate less than the default 1 GiB (e.g. BENCH_BYTES=200000000 for a quick run).
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

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "src"))

from gen import RARE_COUNT, RARE_TOKEN, generate  # noqa: E402

OUT = ROOT / "bench" / "out"
DATA = OUT / "data"


def files() -> list[Path]:
    return sorted(p for p in DATA.rglob("*") if p.is_file())


def sh(cmd: str) -> tuple[float, str]:
    t = time.perf_counter()
    out = subprocess.run(cmd, shell=True, capture_output=True, text=True).stdout
    return time.perf_counter() - t, out


def cpu_seconds() -> float:
    c = psutil.Process().cpu_times()
    return c.user + c.system + c.children_user + c.children_system


def bench_ingest(home: Path) -> dict:
    from speleo.config import Home
    from speleo.ingest.oneshot import add_oneshot
    from speleo.service import Service

    svc = Service(Home(home))
    w = svc.open_writer()
    total_bytes = sum(p.stat().st_size for p in files())
    t0, c0 = time.perf_counter(), cpu_seconds()
    events = 0
    for p in files():
        events += add_oneshot(w.ingestor, p, "main", host=p.parent.name).events
    wall, cpu = time.perf_counter() - t0, cpu_seconds() - c0
    t1 = time.perf_counter()
    w.store.merge_hot(2)
    w.store.collect_garbage(0)
    merge_s = time.perf_counter() - t1
    svc.catalog.checkpoint()
    w.close()
    return {"bytes": total_bytes, "events": events, "wall_s": wall, "cpu_s": cpu,
            "mb_s_per_core": total_bytes / 1e6 / cpu, "events_s_per_core": events / cpu, "mb_s_wall": total_bytes / 1e6 / wall,
            "merge_s": merge_s}


def bench_zstd() -> dict:
    paths = " ".join(str(p) for p in files())
    t, out = sh(f"cat {paths} | zstd -3 -T1 -c | wc -c")
    total = sum(p.stat().st_size for p in files())
    return {"bytes": int(out.strip()), "wall_s": t, "mb_s": total / 1e6 / t}


def dir_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and p.name not in ("writer.lock",))


def bench_searches(home: Path) -> list[dict]:
    from speleo.config import Home
    from speleo.service import Service

    svc = Service(Home(home))
    paths = " ".join(str(p) for p in files())
    rg = shutil.which("rg")
    cases = [
        ("rare term", f"{RARE_TOKEN} | stats count", f"grep -c -i -w {RARE_TOKEN}", RARE_TOKEN),
        ("common term count", "GET | stats count", "grep -c -i -w GET", "GET"),
        ("stats count by host", "* | stats count by host", "grep -c -i -w GET", None),
        ("timechart span=1h count", "* | timechart span=1h count", "grep -c -i -w GET", None),
    ]
    out = []
    for name, spl, grep, term in cases:
        svc.search(spl, limit=0, timeline=False)  # warm the OS cache and DuckDB
        times = []
        for _ in range(5):   # the median of 5: one run on a shared machine is noise
            t = time.perf_counter()
            res = svc.search(spl, limit=0, timeline=False)  # as `speleo search` runs it
            times.append(time.perf_counter() - t)
        ours = statistics.median(times)
        tg, gout = sh(f"{grep} {paths} | awk -F: '{{s+=$NF}} END {{print s}}'")
        row = {"name": name, "spl": spl, "speleo_s": ours, "grep": grep, "grep_s": tg,
               "grep_count": gout.strip(), "speleo_rows": res.table.num_rows,
               "buckets_read": res.scanned["buckets_read"], "buckets_skipped": res.scanned["buckets_skipped_by_terms"]}
        if name in ("rare term", "common term count"):
            row["speleo_count"] = res.table.column("count")[0].as_py()
        if rg and term:
            row["rg_s"], _ = sh(f"rg -c -i -w {term} {paths} > /dev/null")
        out.append(row)
    return out


def bench_server_memory(home: Path) -> dict:
    env = dict(os.environ)
    port = 18765
    run = [sys.executable, "-m", "speleo.cli.main", "--home", str(home)]
    subprocess.run(run + ["add", "monitor", str(DATA), "--index", "main"], check=True, capture_output=True)
    proc = subprocess.Popen(run + ["serve", "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ps = psutil.Process(proc.pid)
    total_bytes = sum(p.stat().st_size for p in files())
    peak, t0 = 0, time.perf_counter()
    from speleo.config import Home
    from speleo.storage.catalog import Catalog

    cat = Catalog(Home(home).catalog_path)
    try:
        while time.perf_counter() - t0 < 1800:
            peak = max(peak, ps.memory_info().rss)
            done = cat.query("SELECT coalesce(sum(offset),0) FROM checkpoints")[0][0]
            if done >= total_bytes:
                break
            time.sleep(0.2)
        wall = time.perf_counter() - t0
        cpu = sum(ps.cpu_times()[:2])
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    return {"peak_rss_mb": peak / 1e6, "wall_s": wall, "mb_s_wall": total_bytes / 1e6 / wall, "cpu_s": cpu,
            "mb_s_per_core": total_bytes / 1e6 / cpu}


def bench_freshness(home: Path, rounds: int = 10) -> dict:
    """Seconds from a line appended to a monitored file until a search finds it."""
    import httpx

    logs = OUT / "fresh-logs"
    shutil.rmtree(logs, ignore_errors=True)
    logs.mkdir(parents=True)
    target = logs / "app.log"
    target.write_text("2026-01-01 00:00:00 INFO start\n")
    run = [sys.executable, "-m", "speleo.cli.main", "--home", str(home)]
    subprocess.run(run + ["add", "monitor", str(logs), "--index", "main"], check=True, capture_output=True)
    port = 18766
    proc = subprocess.Popen(run + ["serve", "--port", str(port), "--hec-port", "0"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                httpx.get(url + "/health", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        token = (home / "api_token").read_text().strip()
        lat = []
        for i in range(rounds):
            marker = f"fresh{i}x{int(time.time())}"
            with open(target, "a") as f:
                f.write(time.strftime("%Y-%m-%d %H:%M:%S") + f" INFO {marker}\n")
            t0 = time.perf_counter()
            while time.perf_counter() - t0 < 30:
                r = httpx.post(url + "/api/v1/search", json={"search": marker, "limit": 1},
                               headers={"Authorization": f"Bearer {token}"}, timeout=10).json()
                if r.get("total"):
                    break
                time.sleep(0.05)
            lat.append(time.perf_counter() - t0)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    lat.sort()
    return {"median_s": lat[len(lat) // 2], "max_s": lat[-1], "rounds": rounds}


def machine() -> str:
    return f"{platform.machine()}, {psutil.cpu_count()} cores, {psutil.virtual_memory().total / 2**30:.0f} GiB, Python {platform.python_version()}"


def main() -> None:
    size = int(os.environ.get("BENCH_BYTES", 1_100_000_000))
    if not DATA.exists() or sum(p.stat().st_size for p in files()) < size * 0.95:
        shutil.rmtree(DATA, ignore_errors=True)
        print(f"generating {size / 1e9:.2f} GB of logs in {DATA} ...", flush=True)
        generate(DATA, size)
    results: dict = {"machine": machine(), "data_bytes": sum(p.stat().st_size for p in files()), "files": len(files())}
    home = OUT / "home"
    shutil.rmtree(home, ignore_errors=True)
    print("ingesting (oneshot, one process) ...", flush=True)
    results["ingest"] = bench_ingest(home)
    results["zstd"] = bench_zstd()
    results["disk_bytes"] = dir_size(home)
    print("searching ...", flush=True)
    results["searches"] = bench_searches(home)
    print("server memory during sustained ingestion ...", flush=True)
    home2 = OUT / "home-server"
    shutil.rmtree(home2, ignore_errors=True)
    results["server"] = bench_server_memory(home2)
    print("freshness (written -> searchable) ...", flush=True)
    home3 = OUT / "home-fresh"
    shutil.rmtree(home3, ignore_errors=True)
    results["freshness"] = bench_freshness(home3)
    (OUT / "results.json").write_text(json.dumps(results, indent=2))
    from report import write_report

    write_report(results, ROOT / "docs" / "benchmarks.md", RARE_COUNT)
    print(json.dumps(results, indent=2))
    print("network inputs: HEC and syslog (beside rsyslog) ...", flush=True)
    from syslog_bench import record  # writes its own NETBENCH section of docs/benchmarks.md

    net = record()
    (OUT / "results-net.json").write_text(json.dumps(net, indent=2))
    print(json.dumps(net, indent=2))
    print("SPL searches beside hand-written SQL ...", flush=True)
    from spl_bench import record as spl_record  # writes its own SPLBENCH section of docs/benchmarks.md

    print(spl_record(int(os.environ.get("SPLBENCH_EVENTS", 300_000))))
    print("fschange scan beside find -newer and sha256sum ...", flush=True)
    import fschange_bench  # writes its own FSBENCH section; FSBENCH_FILES=100000 for the goal

    res = fschange_bench.run(int(os.environ.get("FSBENCH_FILES", 20_000)))
    fschange_bench.record(res)
    print(fschange_bench.table(res))
    print("file following soak: FILESOAK_FILES files (default 2,000), every rotation, kill -9 and SIGTERM ...",
          flush=True)
    from file_soak import record as soak_record  # writes its own FILESOAK section of docs/benchmarks.md

    print(json.dumps(soak_record(), indent=2))
    print("alert scheduler: 100 saved searches every minute ...", flush=True)
    from scheduler_bench import record as sched_record  # writes its own SCHEDBENCH section

    print(json.dumps(sched_record(), indent=2))
    print("command-line search: start-up, locally and through a running server, beside grep ...", flush=True)
    from cli_bench import record as cli_record  # writes its own CLIBENCH section

    print(json.dumps(cli_record(), indent=2))
    print("term index: bytes on disk by part beside zstd -3, rare and common term counts through the API ...",
          flush=True)
    from termindex_bench import record as ti_record  # writes its own TIBENCH section

    print(json.dumps(ti_record(), indent=2))
    print("dashboard: 8 panels in headless Chromium, until every panel has drawn ...", flush=True)
    import dashboard_bench  # writes its own DASHBENCH section

    dash = dashboard_bench.run()
    dashboard_bench.write(dash)
    print(json.dumps(dash, indent=2))
    print("on-call escalations: 1,000 waiting chains, a burst of due steps over real SMTP ...", flush=True)
    from oncall_bench import record as oncall_record  # writes its own ONCALLBENCH section

    print(json.dumps(oncall_record(), indent=2))
    print("Splunk REST export beside the HTTP API's search ...", flush=True)
    from rest_bench import record as rest_record  # writes its own RESTBENCH section

    print(json.dumps(rest_record(), indent=2))
    print("scheduled PDF report: the report action's headless Chromium render of a search page and a dashboard ...",
          flush=True)
    import pdf_bench  # writes its own PDFBENCH section

    pdf_bench.main()
    print("reports: response, availability, capacity and disks over a month of 100 hosts, with and without "
          "hourly summaries ...", flush=True)
    import reports_bench  # writes its own REPORTSBENCH section

    reports_bench.main()
    print("embedded and ClickHouse (chdb) side by side: ingest, bytes, terms, stats, timechart ...", flush=True)
    import clickhouse_bench  # writes its own CHBENCH section

    print(clickhouse_bench.table(clickhouse_bench.record()))
    print("how cost grows: each search at 1x and 10x the data through the API, beside grep ...", flush=True)
    import growth_bench  # writes its own GROWTHBENCH section

    print(growth_bench.table(growth_bench.record()))
    print("a month of data (MONTH_BYTES, default 6 GB, ~50 million events) searched over the whole range ...",
          flush=True)
    import month_bench  # writes its own MONTHBENCH section

    print(month_bench.render(month_bench.record()))


if __name__ == "__main__":
    main()
