"""The embedded backend and ClickHouse (through chdb) side by side on the same generated data
(issue 17: "make bench on the same generated data: ingest MB/s per core, bytes on disk, rare and
common term, stats by host, timechart over the whole range, on the embedded backend and on chdb").

Generates CHBENCH_BYTES (default 300 MB) of logs with gen.py (seed 42: the rare token occurs
exactly RARE_COUNT times), then, for each backend, runs the same ingestion pipeline in this
process (`add_oneshot` through `Service.open_writer`: on ClickHouse the sealed segments are
inserted with `insert_arrow`, docs/decisions on ClickHouse), settles the store (embedded: the
merge into warm buckets with their term index; ClickHouse: `OPTIMIZE TABLE ... FINAL`), and
times the same SPL searches through `Service.search`, warm, median of CHBENCH_RUNS (default 5).
Every count is checked against `grep -c -i -w` (terms) or between the two engines (stats,
timechart) before its time counts. Peers in the same run: `zstd -3` for bytes, grep for terms,
and the research's figures as the baseline (../shared/docs/specs/clickhouse.md: ClickHouse with a
`text` index, 18.8 MB/s per core ingest, 2.7x the bytes of zstd -3, rare term in 8 ms on 45 MB).
Writes the CHBENCH section of docs/benchmarks.md.

    python bench/clickhouse_bench.py
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
OUT = ROOT / "bench" / "out"
DATA = OUT / "ch-data"
RUNS = int(os.environ.get("CHBENCH_RUNS", 5))

from gen import RARE_TOKEN, generate  # noqa: E402

SEARCHES = [   # name, SPL, how its answer is checked
    ("rare term", f"{RARE_TOKEN} | stats count", ("grep", RARE_TOKEN)),
    ("common term (`failed`)", "failed | stats count", ("grep", "failed")),
    ("common term (`GET`)", "GET | stats count", ("grep", "GET")),
    ("stats count by host", "* | stats count by host", ("same", None)),
    ("timechart span=1h count, whole range", "* | timechart span=1h count", ("same", None)),
]


def _files() -> list[Path]:
    return sorted(p for p in DATA.rglob("*") if p.is_file())


def _cpu() -> float:
    c = psutil.Process().cpu_times()
    return c.user + c.system + c.children_user + c.children_system


def _dir_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _grep(term: str) -> tuple[int, float]:
    paths = [str(p) for p in _files()]
    t = time.perf_counter()
    out = subprocess.run(["grep", "-c", "-i", "-w", "-h", term, *paths], capture_output=True, text=True).stdout
    return sum(int(x) for x in out.split()), time.perf_counter() - t


def _zstd() -> int:
    cat = subprocess.Popen(["cat", *map(str, _files())], stdout=subprocess.PIPE)
    z = subprocess.run(["zstd", "-3", "-T1", "-c"], stdin=cat.stdout, capture_output=True)
    cat.wait()
    return len(z.stdout)


def _ingest(svc) -> dict:
    from speleo.ingest.oneshot import add_oneshot

    w = svc.open_writer()
    t0, c0 = time.perf_counter(), _cpu()
    events = sum(add_oneshot(w.ingestor, p, "main", host=p.parent.name).events for p in _files())
    w.close()
    svc.writer = None
    return {"events": events, "wall_s": time.perf_counter() - t0, "cpu_s": _cpu() - c0}


def _settle_embedded(svc) -> float:
    w = svc.open_writer()
    t = time.perf_counter()
    w.store.merge_hot(2)
    w.store.collect_garbage(0)
    svc.catalog.checkpoint()
    w.close()
    svc.writer = None
    return time.perf_counter() - t


def _settle_clickhouse(svc) -> tuple[float, int, int]:
    """OPTIMIZE FINAL on every table of the backend's database; returns (seconds, bytes on disk
    of the active parts, rows)."""
    be = svc.backend
    db = be.topology.database
    t = time.perf_counter()
    for (name,) in be.client.query(f"SELECT name FROM system.tables WHERE database = '{db}'").result_rows:
        be.client.command(f"OPTIMIZE TABLE `{db}`.`{name}` FINAL")
    took = time.perf_counter() - t
    size, rows = be.client.query(
        f"SELECT sum(bytes_on_disk), sum(rows) FROM system.parts WHERE database = '{db}' AND active").result_rows[0]
    return took, int(size or 0), int(rows or 0)


def _time_search(svc, spl: str) -> tuple[float, list]:
    svc.search(spl, limit=0, timeline=False)   # warm
    times, rows = [], None
    for _ in range(RUNS):
        t = time.perf_counter()
        res = svc.search(spl, limit=0, timeline=False)
        times.append(time.perf_counter() - t)
        rows = res.table.to_pylist()
    return statistics.median(times), rows


def run() -> dict:
    from speleo.config import Home
    from speleo.service import Service

    size = int(os.environ.get("CHBENCH_BYTES", 300_000_000))
    if not DATA.exists() or abs(sum(p.stat().st_size for p in _files()) - size) > size * 0.05:
        shutil.rmtree(DATA, ignore_errors=True)
        print(f"generating {size / 1e6:.0f} MB of logs in {DATA} ...", flush=True)
        generate(DATA, size)
    data_bytes = sum(p.stat().st_size for p in _files())
    res: dict = {"data_bytes": data_bytes, "files": len(_files()), "seed": 42, "zstd_bytes": _zstd(),
                 "machine": f"{platform.machine()}, {psutil.cpu_count()} cores, Python {platform.python_version()}",
                 "backends": {}}
    greps = {}
    for _name, _spl, (kind, term) in SEARCHES:
        if kind == "grep":
            greps[term] = _grep(term)
    res["grep"] = {t: {"count": c, "s": s} for t, (c, s) in greps.items()}
    answers: dict[str, dict] = {}
    for backend in ("embedded", "chdb"):
        home = OUT / f"ch-home-{backend}"
        shutil.rmtree(home, ignore_errors=True)
        home.mkdir(parents=True)
        url = "" if backend == "embedded" else f"chdb://{home / 'chdb'}"
        svc = Service(Home(home), backend=url)
        print(f"{backend}: ingesting {data_bytes / 1e6:.0f} MB ...", flush=True)
        ing = _ingest(svc)
        if backend == "embedded":
            settle = _settle_embedded(svc)
            disk = _dir_bytes(home)
            rows = ing["events"]
        else:
            settle, disk, rows = _settle_clickhouse(svc)
        if rows != ing["events"]:
            raise SystemExit(f"{backend}: {rows} events stored, {ing['events']} ingested")
        row = {"ingest": ing, "mb_s_per_core": data_bytes / 1e6 / ing["cpu_s"], "settle_s": settle,
               "disk_bytes": disk, "searches": {}}
        for name, spl, (kind, term) in SEARCHES:
            print(f"{backend}: {name} ...", flush=True)
            t, got = _time_search(svc, spl)
            if kind == "grep" and got[0]["count"] != greps[term][0]:
                raise SystemExit(f"{backend}: {spl!r} counted {got[0]['count']}, grep {greps[term][0]}")
            if kind == "same":
                key = json.dumps(got, sort_keys=True, default=str)
                if answers.setdefault(name, {"key": key, "by": backend})["key"] != key:
                    raise SystemExit(f"{backend}: {spl!r} differs from {answers[name]['by']}")
            row["searches"][name] = {"spl": spl, "s": t, "rows": len(got)}
        res["backends"][backend] = row
        del svc
    return res


def table(r: dict) -> str:
    e, c = r["backends"]["embedded"], r["backends"]["chdb"]
    z = r["zstd_bytes"]
    lines = [
        "| measure | embedded (DuckDB/Parquet) | ClickHouse (chdb) | peer, same run | research baseline |",
        "| --- | --- | --- | --- | --- |",
        f"| ingest, MB/s per core (parse + store) | {e['mb_s_per_core']:.1f} | {c['mb_s_per_core']:.1f} | | 18.8 |",
        f"| settle (merge / OPTIMIZE FINAL), s | {e['settle_s']:.1f} | {c['settle_s']:.1f} | | |",
        f"| bytes on disk | {e['disk_bytes'] / 1e6:.1f} MB ({e['disk_bytes'] / z:.2f}x zstd) "
        f"| {c['disk_bytes'] / 1e6:.1f} MB ({c['disk_bytes'] / z:.2f}x zstd) | zstd -3: {z / 1e6:.1f} MB | 2.7x zstd |",
    ]
    for name, spl, (kind, term) in SEARCHES:
        es, cs = e["searches"][name]["s"], c["searches"][name]["s"]
        peer = (f"grep -c -i -w {r['grep'][term]['s']:.2f} s ({r['grep'][term]['count']:,} events)"
                if kind == "grep" else "same table on both")
        base = "8 ms on 45 MB" if name == "rare term" else ""
        lines.append(f"| `{spl.replace('|', chr(92) + '|')}`, s | {es:.3f} | {cs:.3f} ({cs / es:.1f}x the embedded time) | {peer} | {base} |")
    return "\n".join(lines)


def record(r: dict | None = None) -> dict:
    r = r or run()
    (OUT / "results-ch.json").write_text(json.dumps(r, indent=2))
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    load = os.getloadavg()[0]
    body = (f"Embedded and ClickHouse side by side (`python bench/clickhouse_bench.py`, {stamp}, {r['machine']}, "
            f"shared with other work, load average {load:.1f} at the end): {r['data_bytes'] / 1e6:.0f} MB of "
            f"generated logs (gen.py, seed {r['seed']}, {r['files']} files, "
            f"{r['backends']['embedded']['ingest']['events']:,} events), ingested in one process, searched through "
            f"`Service.search` warm (median of {RUNS}); every term count equals grep's, and the stats and "
            f"timechart tables are equal on both engines.\n\n{table(r)}")
    from report import write_section

    write_section(ROOT / "docs" / "benchmarks.md", "CHBENCH", "Embedded and ClickHouse (chdb)", body)
    return r


if __name__ == "__main__":
    out = record()
    print(table(out))
