"""The term index sidecar (docs/decisions/0035-term-index.md): bytes on disk by part beside
`zstd -3`, and rare and common term counts through the HTTP API of a warm server, without the
sidecars (before) and with them (after), beside `grep -c -i -w` in the same run.

Generates BENCH_TI_BYTES (default 300 MB) of logs with gen.py (seed 42: the rare token occurs
exactly RARE_COUNT times), ingests them in one process (oneshot, then the merge into warm
buckets that writes the sidecars), then measures. Every count is checked against grep's before
its time counts. Writes the TIBENCH section of docs/benchmarks.md.

    python bench/termindex_bench.py
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "src"))
OUT = ROOT / "bench" / "out"
RUNS = 5
TERMS = ("rare", "failed", "GET")


def _files(data: Path) -> list[Path]:
    return sorted(p for p in data.rglob("*") if p.is_file())


def _median(fn, runs: int = RUNS) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def ingest(data: Path, home: Path) -> dict:
    from speleo.config import Home
    from speleo.ingest.oneshot import add_oneshot
    from speleo.service import Service

    shutil.rmtree(home, ignore_errors=True)
    svc = Service(Home(home))
    w = svc.open_writer()
    t0 = time.process_time()
    events = sum(add_oneshot(w.ingestor, p, "main", host=p.parent.name).events for p in _files(data))
    t1 = time.process_time()
    w.store.merge_hot(2)
    w.store.collect_garbage(0)
    t2 = time.process_time()
    svc.catalog.checkpoint()
    w.close()
    return {"events": events, "ingest_cpu_s": t1 - t0, "merge_cpu_s": t2 - t1}


def disk_parts(home: Path, zstd_bytes: int) -> dict:
    """Bytes of each part: Parquet columns, Parquet overhead, sidecars, Bloom filters, catalog."""
    import pyarrow.parquet as pq

    cols: dict[str, int] = {}
    parquet = 0
    for f in home.rglob("*.parquet"):
        parquet += f.stat().st_size
        md = pq.ParquetFile(f).metadata
        for i in range(md.num_row_groups):
            rg = md.row_group(i)
            for j in range(rg.num_columns):
                c = rg.column(j)
                cols[c.path_in_schema] = cols.get(c.path_in_schema, 0) + c.total_compressed_size
    con = sqlite3.connect(home / "catalog.sqlite")
    bloom = int(con.execute("SELECT coalesce(sum(length(bloom)), 0) FROM buckets WHERE retired_at IS NULL").fetchone()[0])
    con.close()
    catalog = sum(p.stat().st_size for p in home.glob("catalog.sqlite*"))
    sidecars = sum(p.stat().st_size for p in home.rglob("*.tidx"))
    total = sum(p.stat().st_size for p in home.rglob("*") if p.is_file())
    parts = {f"column {k}": v for k, v in sorted(cols.items(), key=lambda kv: -kv[1])}
    parts["Parquet footers and page headers"] = parquet - sum(cols.values())
    parts["term index sidecars"] = sidecars
    parts["Bloom filters (in the catalog)"] = bloom
    parts["rest of the catalog"] = catalog - bloom
    parts["other files"] = total - parquet - sidecars - catalog
    return {"total": total, "zstd": zstd_bytes, "parts": parts}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _hide(home: Path, hide: bool) -> None:
    if hide:
        for p in home.rglob("*.tidx"):
            p.rename(p.with_name(p.name + ".off"))
    else:
        for p in home.rglob("*.tidx.off"):
            p.rename(p.with_name(p.name[: -len(".off")]))


@contextlib.contextmanager
def warm_server(home: Path, start_secs: float = 180, env: dict | None = None):
    """`speleo serve` on `home` (a free port, no HEC; `env`: more environment), once it answers
    /health: yields (url, headers with the home's API token); stopped on leaving."""
    import httpx

    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "speleo.cli.main", "--home", str(home), "serve", "--port",
                             str(port), "--hec-port", "0"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, **(env or {})})
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + start_secs
        while time.time() < deadline:
            try:
                httpx.get(url + "/health", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        yield url, {"Authorization": f"Bearer {(home / 'api_token').read_text().strip()}"}
    finally:
        proc.terminate()
        proc.wait(60)


def api_searches(home: Path, files: list[Path], rare: str) -> list[dict]:
    import httpx

    out = []
    try:
        with warm_server(home) as (url, headers), httpx.Client(headers=headers, timeout=600) as client:
            # one keep-alive client, as the web UI and an API script use; creating an httpx client per
            # request (its SSL context) cost ~17 ms, more than the search itself
            def count(spl: str, timeline: bool) -> int:
                r = client.post(url + "/api/v1/search", json={"search": spl, "limit": 0, "timeline": timeline})
                r.raise_for_status()
                return int(r.json()["results"][0]["count"])

            def cli_count(spl: str) -> int:   # `speleo search` through the running server (server.json)
                out = subprocess.run([sys.executable, "-m", "speleo.cli.main", "--home", str(home), "search", spl,
                                      "--output", "json"], capture_output=True, text=True, check=True).stdout
                return int(json.loads(out)[0]["count"])

            for term in (rare, "failed", "GET"):
                grep_cmd = ["grep", "-c", "-i", "-w", term, *map(str, files)]
                grep_out = ""

                def grep() -> None:
                    nonlocal grep_out
                    grep_out = subprocess.run(grep_cmd, capture_output=True, text=True).stdout

                grep_s = _median(grep, 3)
                expected = sum(int(line.rsplit(":", 1)[1]) for line in grep_out.split())
                row = {"term": term, "grep_s": grep_s, "grep_count": expected}
                for label, hide in (("before", True), ("after", False)):
                    _hide(home, hide)
                    for timeline in (False, True):
                        spl = f"{term} | stats count"
                        got = count(spl, timeline)   # warm the server (and its sidecar cache)
                        assert got == expected, (spl, label, got, expected)
                        row[f"{label}{'_timeline' if timeline else ''}_s"] = _median(lambda: count(spl, timeline))
                _hide(home, False)
                spl = f"{term} | stats count"
                assert cli_count(spl) == expected, (spl, "cli")
                row["cli_s"] = _median(lambda: cli_count(spl))
                out.append(row)
    finally:
        _hide(home, False)
    return out


def run() -> dict:
    from gen import RARE_COUNT, RARE_TOKEN, generate

    size = int(os.environ.get("BENCH_TI_BYTES", 300_000_000))
    data = OUT / "ti-data"
    if not data.exists() or sum(p.stat().st_size for p in _files(data)) < size * 0.95:
        shutil.rmtree(data, ignore_errors=True)
        generate(data, size)
    files = _files(data)
    home = OUT / "ti-home"
    res = {"data_bytes": sum(p.stat().st_size for p in files), "seed": 42, "rare_count": RARE_COUNT}
    res.update(ingest(data, home))
    t = time.perf_counter()
    z = subprocess.run(f"cat {' '.join(map(str, files))} | zstd -3 -T1 -c | wc -c", shell=True, capture_output=True,
                       text=True).stdout
    res["zstd_s"] = time.perf_counter() - t
    res["disk"] = disk_parts(home, int(z.strip()))
    res["searches"] = api_searches(home, files, RARE_TOKEN)
    return res


def render(res: dict) -> str:
    d = res["disk"]
    z = d["zstd"]
    lines = [
        f"Term index and bytes on disk (`python bench/termindex_bench.py`, {time.strftime('%Y-%m-%d %H:%M')} UTC, "
        f"{platform.machine()}, {os.cpu_count()} cores shared with other work, Python {platform.python_version()}): "
        f"{res['data_bytes'] / 1e6:.0f} MB of generated logs (bench/gen.py, seed {res['seed']}), {res['events']:,} "
        f"events; ingestion {res['ingest_cpu_s']:.1f} s of CPU, merge into warm buckets (Parquet, Bloom filters and "
        f"sidecars) {res['merge_cpu_s']:.1f} s of CPU.",
        "",
        f"| part | bytes | share of `zstd -3` of the raw ({z / 1e6:.1f} MB) |",
        "| --- | --- | --- |",
    ]
    for name, n in d["parts"].items():
        if n:
            lines.append(f"| {name} | {n / 1e6:.2f} MB | {n / z:.3f}x |")
    lines.append(f"| **total** | **{d['total'] / 1e6:.1f} MB** | **{d['total'] / z:.2f}x** "
                 f"(goal: at most 1.0x: {'met' if d['total'] <= z else 'NOT met'}) |")
    lines += [
        "",
        "`TERM | stats count` through the HTTP API of a warm server (median of 5; one keep-alive client), without the sidecars "
        "(before: the same buckets read without them; their Bloom filters now hold digit-only tokens, so a "
        "letter term scans `_raw`) and with them (after), beside `grep -c -i -w TERM` over "
        "the files (median of 3) in the same run; every count equals grep's.",
        "",
        "| term | events | grep | before | after | after, beside grep | after, with the timeline | "
        "`speleo search` (CLI, through the server) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for s in res["searches"]:
        cli = (f"{s['cli_s']:.3f} s ({s['grep_s'] / s['cli_s']:.1f}x faster than grep)" if "cli_s" in s else "")
        lines.append(f"| `{s['term']}` | {s['grep_count']:,} | {s['grep_s']:.3f} s | {s['before_s']:.3f} s | "
                     f"{s['after_s']:.3f} s | {s['grep_s'] / s['after_s']:.1f}x faster | {s['after_timeline_s']:.3f} s "
                     f"(before {s['before_timeline_s']:.3f} s) | {cli} |")
    return "\n".join(lines)


def record(res: dict | None = None) -> dict:
    res = res or run()
    from report import write_section

    write_section(ROOT / "docs" / "benchmarks.md", "TIBENCH", "Term index and bytes on disk", render(res))
    (OUT / "results-termindex.json").write_text(json.dumps(res, indent=2))
    return res


if __name__ == "__main__":
    print(json.dumps(record(), indent=2))
