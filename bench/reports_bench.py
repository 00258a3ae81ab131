"""Reports benchmark: every report over a year of 10,000 incidents and a month of host metrics
from 100 hosts (issue 13: each should render in under 1 s). Writes the REPORTSBENCH section of
docs/benchmarks.md.

    python bench/reports_bench.py
    (REPORTS_BENCH_INCIDENTS=10000, REPORTS_BENCH_HOSTS=100, REPORTS_BENCH_DAYS=30,
     REPORTS_BENCH_STEP=600 seconds between metric samples, REPORTS_BENCH_SMART_STEP=21600)
"""

from __future__ import annotations

import json
import os
import platform
import random
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))
OUT = ROOT / "bench" / "out"
N_INC = int(os.environ.get("REPORTS_BENCH_INCIDENTS", 10_000))
HOSTS = int(os.environ.get("REPORTS_BENCH_HOSTS", 100))
DAYS = int(os.environ.get("REPORTS_BENCH_DAYS", 30))
STEP = int(os.environ.get("REPORTS_BENCH_STEP", 600))
SMART_STEP = int(os.environ.get("REPORTS_BENCH_SMART_STEP", 21600))
RUNS = int(os.environ.get("REPORTS_BENCH_RUNS", 1))
NOW = 1_793_491_200.0   # 2026-11-01T00:00:00Z
GB = 1024 ** 3


def plant_incidents(db) -> None:
    from speleo.ops.incidents.models import IncidentRow

    rnd = random.Random(1)
    with db.session() as s:
        for i in range(N_INC):
            declared = NOW - rnd.random() * 365 * 86400
            impact = declared - rnd.randrange(60, 7200)
            s.add(IncidentRow(title=f"bench {i}", severity=f"SEV{1 + i % 4}", status="closed",
                              services=json.dumps([f"svc{i % 20}"]), created_by="bench", impact_started_at=impact,
                              detected_at=declared - 30, declared_at=declared, acknowledged_at=declared + 300,
                              mitigated_at=declared + 3600, resolved_at=declared + 7200, closed_at=declared + 86400,
                              updated_at=declared))


def plant_metrics(svc) -> int:
    from speleo.alerts.indexing import write_events
    from tests.ops.reports.smartdocs import ata

    from speleo import smartdata

    w = svc.open_writer()
    n = 0
    rnd = random.Random(2)
    for h in range(HOSTS):
        host = f"host{h:03d}"
        evs = []
        for k, t in enumerate(range(int(NOW - DAYS * 86400), int(NOW), STEP)):
            evs.append({"_time": t, "_raw": json.dumps({"metric": "cpu", "cpu_percent": rnd.random() * 100, "cpu_count": 8})})
            evs.append({"_time": t, "_raw": json.dumps({"metric": "memory", "percent": 40 + rnd.random() * 20,
                                                         "total": 32 * GB, "used": 16 * GB})})
            evs.append({"_time": t, "_raw": json.dumps({"metric": "net", "bytes_sent_per_s": 1e5 * rnd.random(),
                                                         "bytes_recv_per_s": 1e6 * rnd.random()})})
            for mount, grow in (("/", 0), ("/data", 2e4)):
                evs.append({"_time": t, "_raw": json.dumps({"metric": "disk", "mount": mount, "total": 500 * GB,
                                                             "used": 100 * GB + grow * k * STEP, "percent": 20.0})})
        write_events(w.store, svc.catalog, "metrics", "speleo:metrics", "speleo:forwarder:metrics", host, evs)
        docs = []
        for k, t in enumerate(range(int(NOW - DAYS * 86400), int(NOW), SMART_STEP)):
            for dev in ("/dev/sda", "/dev/sdb"):
                d = ata(dev, f"{host}-{dev[-1]}", pending=k // 10 if (h % 10 == 0 and dev == "/dev/sdb") else 0)
                d["speleo_smart"] = smartdata.summary(d)
                docs.append({"_time": t, "_raw": json.dumps(d)})
        write_events(w.store, svc.catalog, "metrics", "smartctl:json", "speleo:forwarder:smartctl", host, docs)
        n += len(evs) + len(docs)
    w.store.seal()
    w.store.merge_hot(2)
    w.close()
    return n


class Clock:
    def time(self) -> float:
        return NOW


def rounded(x):
    """A report with every float to 12 significant digits: DuckDB sums doubles in parallel, so
    the last bits of a sum vary from run to run and with how rows are grouped."""
    if isinstance(x, float):
        return float(f"{x:.12g}")
    if isinstance(x, dict):
        return {k: rounded(v) for k, v in x.items()}
    if isinstance(x, list):
        return [rounded(v) for v in x]
    return x


def timed(fn, runs: int = RUNS) -> tuple[float, object]:
    best, out = None, None
    for _ in range(runs):
        t = time.perf_counter()
        out = fn()
        d = time.perf_counter() - t
        best = d if best is None or d < best else best
    return best, out


def main() -> None:
    from speleo.alerts.store import for_home
    from speleo.config import Home
    from speleo.ops.db import Database
    from speleo.ops.reports import availability, capacity, disks, response
    from speleo.ops.slo.service import Slos
    from speleo.service import Service

    home_dir = OUT / "reports-home"
    reuse = os.environ.get("REPORTS_BENCH_REUSE") == "1" and (home_dir / "ops.sqlite").exists()
    if not reuse:
        shutil.rmtree(home_dir, ignore_errors=True)
    home = Home(home_dir)
    svc = Service(home)
    db = Database.for_home(home)
    db.migrate()
    t_inc = t_ev = 0.0
    if not reuse:
        svc.create_index("metrics")
        t0 = time.perf_counter()
        plant_incidents(db)
        t_inc = time.perf_counter() - t0
        t0 = time.perf_counter()
        plant_metrics(svc)
        t_ev = time.perf_counter() - t0
    n_events = svc.search("index=metrics | stats count", limit=1, capabilities=None,
                          timeline=False).table.to_pylist()[0]["count"]
    for old in list(Slos(db, None).list()):
        Slos(db, None).remove(old["name"])

    def search(spl, e, l, limit):
        return svc.search(spl, earliest=e, latest=l, limit=limit, now=NOW, capabilities=None, timeline=False)

    slos = Slos(db, search, for_home(home), Clock())
    slos.create("cpu", service="svc1", good="index=metrics metric=cpu cpu_percent<95", total="index=metrics metric=cpu",
                objective=90.0, window_days=DAYS, alerts=False)
    rows = []
    secs, rep = timed(lambda: response.report(db))
    rows.append(("response", f"{N_INC:,} incidents over a year (SQLite)", secs, f"{rep['overall']['incidents']:,} incidents"))
    secs, rep = timed(lambda: availability.report(slos, db, NOW, "cpu"))
    rows.append(("availability", f"1 SLO over {DAYS} d of {HOSTS} hosts' cpu samples", secs,
                 f"{rep['slos'][0]['total']:,} events"))
    from speleo.ops.reports.rollup import Rollup, catalog_fingerprint

    slos.rollup = Rollup(db, catalog_fingerprint(svc.catalog), Clock().time, scope=f"bench-{time.time()}")
    secs, rolled = timed(lambda: availability.report(slos, db, NOW, "cpu"), 1)
    same = "same figures" if rolled["slos"][0]["periods"] == rep["slos"][0]["periods"] else "FIGURES DIFFER"
    rows.append(("availability, rollup first run", "summarises every complete hour", secs, same))
    secs, rolled = timed(lambda: availability.report(slos, db, NOW, "cpu"))
    same = "same figures" if rolled["slos"][0]["periods"] == rep["slos"][0]["periods"] else "FIGURES DIFFER"
    rows.append(("availability, rollup warm", "complete hours from report_rollups", secs, same))
    secs, rep = timed(lambda: capacity.report(search, NOW - DAYS * 86400, NOW))
    rows.append(("capacity", f"{DAYS} d of metrics from {HOSTS} hosts", secs,
                 f"{len(rep['hosts'])} hosts, {len(rep['filesystems'])} file systems"))
    cap = rep
    ru = Rollup(db, catalog_fingerprint(svc.catalog), Clock().time, scope=f"bench-capacity-{time.time()}")   # a fresh summary each run
    for label, runs, what in (("capacity, rollup first run", 1, "summarises every complete hour"),
                              ("capacity, rollup warm", RUNS, "hourly partial sums from report_rollups")):
        secs, rolled = timed(lambda: capacity.report(search, NOW - DAYS * 86400, NOW, rollup=ru), runs)
        rows.append((label, what, secs, "same report (to 12 digits)" if rounded(rolled) == rounded(cap)
                     else "REPORT DIFFERS"))
    secs, rep = timed(lambda: disks.report(search, NOW - DAYS * 86400, NOW))
    rows.append(("disks", f"{DAYS} d of smartctl documents, 2 drives per host", secs,
                 f"{len(rep['drives'])} drives, {sum(d['readings'] for d in rep['drives']):,} readings"))
    dsk = rep
    ru = Rollup(db, catalog_fingerprint(svc.catalog), Clock().time, scope=f"bench-disks-{time.time()}")
    for label, runs, what in (("disks, rollup first run", 1, "summarises every complete hour"),
                              ("disks, rollup warm", RUNS, "parsed readings from report_rollups")):
        secs, rolled = timed(lambda: disks.report(search, NOW - DAYS * 86400, NOW, rollup=ru), runs)
        rows.append((label, what, secs, "same report" if rolled == dsk else "REPORT DIFFERS"))
    lines = [f"Every report (`python bench/reports_bench.py`, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
             f"{platform.machine()}, 2 cores shared with other work, Python {platform.python_version()}): "
             f"{N_INC:,} incidents; {n_events:,} metric and smartctl events "
             f"(a sample every {STEP} s, smartctl every {SMART_STEP} s)"
             + (f", planted in {t_inc:.1f} s and written in {t_ev:.1f} s" if t_ev else "") + f". Best of {RUNS} run(s), "
             "in process (no HTTP).", "",
             "| report | data | seconds | checked |", "| --- | --- | --- | --- |"]
    lines += [f"| {a} | {b} | {c:.2f} | {d} |" for a, b, c, d in rows]
    text = "\n".join(lines)
    print(text)
    doc = ROOT / "docs" / "benchmarks.md"
    cur = doc.read_text()
    start, end = "<!-- REPORTSBENCH:START -->", "<!-- REPORTSBENCH:END -->"
    if start in cur:
        cur = cur[:cur.index(start)] + start + "\n" + text + "\n" + cur[cur.index(end):]
    else:
        cur = cur.rstrip("\n") + f"\n\n## Reports\n\n{start}\n{text}\n{end}\n"
    doc.write_text(cur)
    db.close()


if __name__ == "__main__":
    main()
