"""The roll to cold at each zstd level (`coldCompressionLevel`, storage.lifecycle): bytes on disk
of the warm and the cold home beside `zstd -3` of the raw files, and the CPU of the roll.

Generates BENCH_COLD_BYTES (default 300 MB) of logs with gen.py (seed 42), ingests them in one
process (oneshot, then the merge into warm buckets), then for each level copies that home and
rolls every warm bucket to cold in it (`maxWarmDBCount` 0) with `Lifecycle.run_retention`,
timing its CPU. Level 0 is the copy without rewriting (the roll before). Each cold home is
checked to answer a few searches exactly as the warm one, and a search reading every `_raw`
is timed on both. Writes the COLDBENCH section of docs/benchmarks.md.

    python bench/cold_bench.py            # levels 0 9 12 15 17 19
    BENCH_COLD_LEVELS="0 15" python bench/cold_bench.py
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "src"))
OUT = ROOT / "bench" / "out"
CHECKS = ("quetzalcoatl7 | stats count", "failed | stats count", "404 | stats count", "* | stats count by host",
          "sshd 22 | stats count by host")
SCAN = "* | eval n=len(_raw) | stats sum(n) as chars"   # reads every _raw: decompression


def _files(data: Path) -> list[Path]:
    return sorted(p for p in data.rglob("*") if p.is_file())


def _home_bytes(home: Path) -> dict:
    """Bytes of a home's buckets, sidecars and whole (catalog VACUUMed first: a roll inserts the
    cold row and deletes the warm one, whose pages SQLite keeps for reuse)."""
    import sqlite3

    con = sqlite3.connect(home / "catalog.sqlite")
    con.execute("VACUUM")
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    parquet = sum(p.stat().st_size for p in home.rglob("*.parquet"))
    sidecars = sum(p.stat().st_size for p in home.rglob("*.tidx"))
    total = sum(p.stat().st_size for p in home.rglob("*") if p.is_file() and "journal" not in p.parts)
    return {"parquet": parquet, "sidecars": sidecars, "total": total}


def _answers(home: Path) -> tuple[dict, float]:
    """The check searches' tables, and the best of 3 timings of SCAN (seconds)."""
    from speleo.config import Home
    from speleo.service import Service

    svc = Service(Home(home))
    got = {q: svc.search(q, limit=0, timeline=False).table.to_pylist() for q in CHECKS + (SCAN,)}
    times = []
    for _ in range(3):
        t = time.perf_counter()
        svc.search(SCAN, limit=0, timeline=False)
        times.append(time.perf_counter() - t)
    svc.catalog.close()
    return got, min(times)


def roll(warm: Path, home: Path, level: int) -> dict:
    """Copy the warm home, roll every bucket to cold at `level`; CPU and wall of the run."""
    from speleo.config import Home
    from speleo.service import Service

    shutil.rmtree(home, ignore_errors=True)
    shutil.copytree(warm, home)
    svc = Service(Home(home))
    svc.edit_index("main", {"maxWarmDBCount": "0", "coldCompressionLevel": str(level)})
    w = svc.open_writer()
    try:
        from speleo.storage.lifecycle import Lifecycle

        lc = Lifecycle(w.store)
        c0, t0 = time.process_time(), time.perf_counter()
        rep = lc.run_retention()
        cpu, wall = time.process_time() - c0, time.perf_counter() - t0
        w.store.collect_garbage(0)
    finally:
        w.close()
        svc.catalog.checkpoint()
        svc.catalog.close()
    assert not rep.failures and rep.actions and all(a["to"] == "cold" for a in rep.actions), rep
    return {"level": level, "buckets": len(rep.actions), "cpu_s": cpu, "wall_s": wall, **_home_bytes(home)}


def run() -> dict:
    from gen import generate

    size = int(os.environ.get("BENCH_COLD_BYTES", 300_000_000))
    levels = [int(x) for x in os.environ.get("BENCH_COLD_LEVELS", "0 9 12 15 17 19").split()]
    data = OUT / "ti-data"   # the same data as termindex_bench.py
    if not data.exists() or sum(p.stat().st_size for p in _files(data)) < size * 0.95:
        shutil.rmtree(data, ignore_errors=True)
        generate(data, size)
    files = _files(data)
    from termindex_bench import ingest

    warm = OUT / "cold-warm-home"
    res = {"data_bytes": sum(p.stat().st_size for p in files), "seed": 42}
    res.update(ingest(data, warm))
    z = subprocess.run(f"cat {' '.join(map(str, files))} | zstd -3 -T1 -c | wc -c", shell=True, capture_output=True,
                       text=True).stdout
    res["zstd"] = int(z.strip())
    res["warm"] = _home_bytes(warm)
    from speleo.config import Home
    from speleo.service import Service

    svc = Service(Home(warm))
    res["raw_bytes"] = sum(b["raw_bytes"] for b in svc.index("main")["buckets"])
    svc.catalog.close()
    expected, res["warm"]["scan_s"] = _answers(warm)
    res["levels"] = []
    for level in levels:
        home = OUT / f"cold-home-{level}"
        row = roll(warm, home, level)
        got, row["scan_s"] = _answers(home)
        assert got == expected, f"level {level}: a search answered differently over the cold buckets"
        res["levels"].append(row)
        shutil.rmtree(home, ignore_errors=True)
        print(json.dumps(row), flush=True)
    return res


def render(res: dict) -> str:
    z, w = res["zstd"], res["warm"]
    raw_mb = res["raw_bytes"] / 1e6
    nine = next((r for r in res["levels"] if r["level"] == 9), None)
    lines = [
        f"The roll to cold (`python bench/cold_bench.py`, {time.strftime('%Y-%m-%d %H:%M')} UTC, {platform.machine()}, "
        f"{os.cpu_count()} cores shared with other work, Python {platform.python_version()}): "
        f"{res['data_bytes'] / 1e6:.0f} MB of generated logs (bench/gen.py, seed {res['seed']}), {res['events']:,} "
        f"events in warm buckets ({res['raw_bytes'] / 1e6:.0f} MB of `_raw`), every one rolled to cold by one "
        f"retention run per level; `zstd -3 -T1` of the raw files: {z / 1e6:.1f} MB. Bytes are the whole home "
        "(buckets, term index sidecars, catalog with its Bloom filters). The searches "
        f"({', '.join(f'`{q}`' for q in CHECKS)}, and the scan below) gave the same tables over every cold home as over the warm one. "
        f"The scan is `{SCAN}` (reads and decompresses every `_raw`), best of 3, in process.",
        "",
        "| buckets | zstd level | Parquet | whole home | beside `zstd -3` | CPU of the roll | CPU per MB of `_raw` | "
        "scan |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
        f"| warm | 9 (`_raw`, `_time`, `_offset`; 6 the others) | {w['parquet'] / 1e6:.2f} MB | {w['total'] / 1e6:.2f} MB | "
        f"{w['total'] / z:.3f}x | | | {w['scan_s']:.2f} s |",
    ]
    for r in res["levels"]:
        label = "0 (copied, the roll before)" if r["level"] == 0 else str(r["level"])
        vs = f" ({r['cpu_s'] / nine['cpu_s']:.1f}x level 9)" if nine and r["level"] not in (0, 9) else ""
        lines.append(f"| cold | {label} | {r['parquet'] / 1e6:.2f} MB ({r['parquet'] / w['parquet']:.3f}x warm) | "
                     f"{r['total'] / 1e6:.2f} MB | {r['total'] / z:.3f}x | {r['cpu_s']:.1f} s{vs} | "
                     f"{r['cpu_s'] / raw_mb * 1000:.1f} ms | {r['scan_s']:.2f} s |")
    return "\n".join(lines)


def record(res: dict | None = None) -> dict:
    res = res or run()
    from report import write_section

    write_section(ROOT / "docs" / "benchmarks.md", "COLDBENCH", "Cold buckets", render(res))
    (OUT / "results-cold.json").write_text(json.dumps(res, indent=2))
    return res


if __name__ == "__main__":
    print(json.dumps(record(), indent=2))
