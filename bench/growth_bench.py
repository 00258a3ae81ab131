"""How cost grows (issue 16): each search at 1x and 10x the data, through the HTTP API of a warm
server, beside grep on the same files, so that a search growing faster than linearly shows.

Generates GROWTH_BYTES (default 300 MB) and ten times that with gen.py (seed 42; the same 3
days and 20 hosts, ten times denser; the rare token occurs exactly RARE_COUNT times at both
sizes), ingests each in one process (oneshot, then the merge into warm buckets that writes the
term index sidecars), starts `speleo serve` on it and times each search (median of
GROWTH_RUNS, default 5, after one warm-up). Every answer is checked before its time counts:
term counts against `grep -c -i -w`, `stats count by host` and `timechart` totals against the
number of events ingested. Writes the GROWTHBENCH section of docs/benchmarks.md.

    python bench/growth_bench.py            # GROWTH_BYTES=30000000 for a quick run
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
RUNS = int(os.environ.get("GROWTH_RUNS", 5))

from gen import RARE_COUNT, RARE_TOKEN, generate  # noqa: E402
from termindex_bench import ingest, warm_server  # noqa: E402

SEARCHES = [   # name, SPL, check: ("grep", term) or ("total", column)
    ("rare term", f"{RARE_TOKEN} | stats count", ("grep", RARE_TOKEN)),
    ("common term (`failed`)", "failed | stats count", ("grep", "failed")),
    ("stats count by host", "* | stats count by host", ("total", "count")),
    ("timechart span=1h count", "* | timechart span=1h count", ("total", "count")),
]


def _files(data: Path) -> list[Path]:
    return sorted(p for p in data.rglob("*") if p.is_file())


def _grep(term: str, files: list[Path]) -> tuple[int, float]:
    times, count = [], 0
    for _ in range(max(1, RUNS // 2)):
        t = time.perf_counter()
        out = subprocess.run(["grep", "-c", "-i", "-w", "-h", term, *map(str, files)], capture_output=True,
                             text=True).stdout
        times.append(time.perf_counter() - t)
        count = sum(int(x) for x in out.split())
    return count, statistics.median(times)


def _measure(home: Path, files: list[Path], events: int) -> dict:
    import httpx

    out: dict = {}
    with warm_server(home) as (url, headers), httpx.Client(headers=headers, timeout=1800) as client:
        def run(spl: str) -> list[dict]:   # one keep-alive client (see termindex_bench.api_searches)
            r = client.post(url + "/api/v1/search", json={"search": spl, "limit": 0, "timeline": False})
            r.raise_for_status()
            return r.json()["results"]

        for name, spl, (kind, arg) in SEARCHES:
            rows = run(spl)   # warm-up, and the answer checked
            if kind == "grep":
                want, grep_s = _grep(arg, files)
                got = int(rows[0]["count"])
                if got != want:
                    raise SystemExit(f"{spl!r}: {got}, grep -c -i -w {arg}: {want}")
            else:
                want, grep_s = events, None
                got = sum(int(r[arg]) for r in rows)
                if got != want:
                    raise SystemExit(f"{spl!r}: total {got}, {want} events ingested")
            times = []
            for _ in range(RUNS):
                t = time.perf_counter()
                run(spl)
                times.append(time.perf_counter() - t)
            out[name] = {"spl": spl, "s": statistics.median(times), "answer": got, "grep_s": grep_s}
    return out


def run() -> dict:
    base = int(os.environ.get("GROWTH_BYTES", 300_000_000))
    res: dict = {"machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
                 "seed": 42, "scales": {}}
    for factor in (1, 10):
        data = OUT / f"growth-data-{factor}x"
        size = base * factor
        if not data.exists() or abs(sum(p.stat().st_size for p in _files(data)) - size) > size * 0.05:
            shutil.rmtree(data, ignore_errors=True)
            print(f"{factor}x: generating {size / 1e6:,.0f} MB ...", flush=True)
            generate(data, size)
        files = _files(data)
        home = OUT / f"growth-home-{factor}x"
        print(f"{factor}x: ingesting ...", flush=True)
        ing = ingest(data, home)
        print(f"{factor}x: searching through the API ...", flush=True)
        res["scales"][f"{factor}x"] = {"bytes": sum(p.stat().st_size for p in files), "events": ing["events"],
                                       "ingest_cpu_s": ing["ingest_cpu_s"], "merge_cpu_s": ing["merge_cpu_s"],
                                       "searches": _measure(home, files, ing["events"])}
        shutil.rmtree(home, ignore_errors=True)
    return res


def table(r: dict) -> str:
    one, ten = r["scales"]["1x"], r["scales"]["10x"]
    lines = ["| search | 1x, s | 10x, s | growth | grep 1x, s | grep 10x, s | grep growth |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for name, spl, _check in SEARCHES:
        a, b = one["searches"][name], ten["searches"][name]
        g1, g10 = a["grep_s"], b["grep_s"]
        grep = f"{g1:.2f} | {g10:.2f} | {g10 / g1:.1f}x" if g1 else "— | — | —"
        lines.append(f"| `{spl.replace('|', chr(92) + '|')}` | {a['s']:.3f} | {b['s']:.3f} | "
                     f"{b['s'] / a['s']:.1f}x | {grep} |")
    lines.append(f"| ingest, CPU s (oneshot + merge) | {one['ingest_cpu_s'] + one['merge_cpu_s']:.0f} | "
                 f"{ten['ingest_cpu_s'] + ten['merge_cpu_s']:.0f} | "
                 f"{(ten['ingest_cpu_s'] + ten['merge_cpu_s']) / (one['ingest_cpu_s'] + one['merge_cpu_s']):.1f}x | | | |")
    return "\n".join(lines)


def record(r: dict | None = None) -> dict:
    r = r or run()
    (OUT / "results-growth.json").write_text(json.dumps(r, indent=2))
    one, ten = r["scales"]["1x"], r["scales"]["10x"]
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    body = (f"How cost grows (`python bench/growth_bench.py`, {stamp}, {r['machine']}, shared with other work, "
            f"load average {os.getloadavg()[0]:.1f} at the end): gen.py seed {r['seed']}, 1x = "
            f"{one['bytes'] / 1e6:,.0f} MB ({one['events']:,} events), 10x = {ten['bytes'] / 1e6:,.0f} MB "
            f"({ten['events']:,} events), the same 3 days and 20 hosts; each search through the HTTP API of a warm "
            f"server (median of {RUNS}), its answer checked against grep or the number of events ingested; the "
            f"rare term occurs {RARE_COUNT} times at both sizes.\n\n{table(r)}")
    from report import write_section

    write_section(ROOT / "docs" / "benchmarks.md", "GROWTHBENCH", "How cost grows (1x and 10x)", body)
    return r


if __name__ == "__main__":
    print(table(record()))
