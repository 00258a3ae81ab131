"""Lifecycle benchmark: roll warm → cold, archive to a local S3 server and to a folder, thaw,
beside `cp` (+ fsync) of the same files and a plain boto3 upload of them to the same S3 server;
search latency over thawed versus warm buckets; what the server's retention loop costs while idle.

    python bench/lifecycle_bench.py            # ~400 MB of raw text, a few minutes
    LIFECYCLE_BENCH_BYTES=10000000000 python bench/lifecycle_bench.py   # the issue's 10 GB

Prints a Markdown table (paste it into docs/benchmarks.md). Needs boto3 and moto[server].
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import pyarrow as pa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from speleo.config import Home  # noqa: E402
from speleo.service import Service  # noqa: E402
from speleo.storage import indexconf  # noqa: E402
from speleo.storage.lifecycle import Lifecycle, RetentionSchedule, retention_tick  # noqa: E402

TOTAL = int(os.environ.get("LIFECYCLE_BENCH_BYTES", 400_000_000))
PER_BUCKET = 50_000_000
DAY = 86400.0
T0 = 1_700_000_000.0
WORDS = "alpha beta gamma delta error warn info user=alice user=bob GET POST /api/v1/items status=200 status=500".split()


def lines(n: int, rng: random.Random) -> list[str]:
    return [f"2023-11-14 10:00:{i % 60:02d} host{rng.randrange(20)} " + " ".join(rng.choices(WORDS, k=18))
            + f" id={rng.randrange(10**9)}" for i in range(n)]


def build(home: Home) -> None:
    """Warm buckets of about PER_BUCKET raw bytes each, one day apart."""
    svc = Service(home)
    svc.create_index("bench", {"maxHotSpanSecs": "3600"})
    w = svc.open_writer()
    rng = random.Random(7)
    days = max(1, TOTAL // PER_BUCKET)
    for d in range(days):
        done = 0
        while done < PER_BUCKET:
            batch = lines(50_000, rng)
            n = len(batch)
            w.store.append(pa.table({"_time": [T0 + d * DAY + i * 0.01 for i in range(n)], "_raw": batch,
                                     "index": ["bench"] * n, "_indextime": [time.time()] * n}))
            w.store.seal()
            done += sum(len(x) for x in batch)
        w.store.merge_hot(1)
    w.store.collect_garbage(0)
    w.close()


def files_of(svc: Service, state: str) -> list[Path]:
    return [svc.home.root / b.path for b in svc.catalog.live_buckets(["bench"]) if b.state == state]


def mb(paths: list[Path]) -> float:
    return sum(p.stat().st_size for p in paths) / 1e6


def timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def cp_fsync(paths: list[Path], dest: Path) -> float:
    dest.mkdir(parents=True, exist_ok=True)
    return timed(lambda: (subprocess.run(["cp", *map(str, paths), str(dest)], check=True),
                          subprocess.run(["sync", *[str(dest / p.name) for p in paths]], check=True)))


def start_s3() -> tuple[subprocess.Popen, str]:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(150):
        try:
            httpx.get(url, timeout=1)
            break
        except httpx.HTTPError:
            time.sleep(0.2)
    os.environ.update({"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
                       "AWS_DEFAULT_REGION": "us-east-1", "SPELEO_S3_ENDPOINT_URL": url})
    return proc, url


def search_secs(svc: Service, spl: str, runs: int = 3) -> float:
    best = float("inf")
    for _ in range(runs):
        best = min(best, timed(lambda: svc.search(spl, limit=0, timeline=False)))
    return best


def idle_cost(svc: Service) -> tuple[float, float]:
    """(CPU seconds of one idle retention check, of one full evaluation) in this process."""
    w = svc.open_writer()
    try:
        lc, sched = Lifecycle(w.store), RetentionSchedule()
        now = time.time()
        t = time.process_time()
        retention_tick(lc, sched, now)   # due: a full evaluation
        full = time.process_time() - t
        t = time.process_time()
        for _ in range(200):
            retention_tick(lc, sched, now)   # nothing changed: a signature query only
        skip = (time.process_time() - t) / 200
    finally:
        w.close()
    return skip, full


def server_idle_share(home: Home, secs: float = 20.0) -> float:
    """CPU share of an idle `speleo serve` on the home (every loop, retention checked each second)."""
    import psutil

    env = {**os.environ, "SPELEO_RETENTION_CHECK_SECS": "1", "PYTHONPATH": str(ROOT / "src")}
    proc = subprocess.Popen([sys.executable, "-m", "speleo.cli.main", "--home", str(home.root), "serve", "--port", "0",
                             "--hec-port", "0"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(8)   # start-up and recovery are not idle
        p = psutil.Process(proc.pid)
        before = sum(p.cpu_times()[:2])
        time.sleep(secs)
        return (sum(p.cpu_times()[:2]) - before) / secs
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def main() -> None:
    import boto3

    work = Path(tempfile.mkdtemp(prefix="speleo-lifecycle-bench-"))
    s3proc, url = start_s3()
    rows = []
    try:
        home = Home(work / "home").ensure()
        build(home)
        svc = Service(home)
        warm = files_of(svc, "warm")
        size = mb(warm)
        rows.append(("buckets", f"{len(warm)} warm buckets, {size:,.0f} MB on disk ({TOTAL / 1e6:,.0f} MB raw)", "", ""))
        warm_search = search_secs(svc, "index=bench status=500 | stats count")
        skip, full = idle_cost(svc)
        cp_secs = cp_fsync(warm, work / "cp")
        indexconf.apply(home, svc.catalog, "bench", indexconf.parse_changes(
            {"coldPath": str(work / "cold"), "maxWarmDBCount": "0"}))
        roll = timed(lambda: svc.with_lifecycle(lambda lc: lc.run_retention()))
        rows.append(("roll warm → cold (copy, fsync, catalog, delete)", f"{size / roll:,.0f} MB/s",
                     f"cp + sync: {size / cp_secs:,.0f} MB/s", f"{cp_secs / roll:.2f}x"))
        cold = files_of(svc, "cold")
        s3 = boto3.client("s3", endpoint_url=url)
        s3.create_bucket(Bucket="plain")
        s3.create_bucket(Bucket="frozen")
        up = timed(lambda: [s3.upload_file(str(p), "plain", p.name) for p in cold])
        indexconf.apply(home, svc.catalog, "bench", indexconf.parse_changes(
            {"coldToFrozenDir": "s3://frozen/speleo", "frozenTimePeriodInSecs": "1d"}))
        arc = timed(lambda: svc.with_lifecycle(lambda lc: lc.run_retention()))
        rows.append(("archive cold → S3 (moto server; sha256, upload, verify)", f"{size / arc:,.0f} MB/s",
                     f"boto3 upload_file: {size / up:,.0f} MB/s", f"{up / arc:.2f}x"))
        thaw = timed(lambda: svc.with_lifecycle(lambda lc: lc.thaw("bench", None, None)))
        rows.append(("thaw from S3 (download, sha256, term index)", f"{size / thaw:,.0f} MB/s", "", ""))
        thawed_search = search_secs(svc, "index=bench status=500 | stats count")
        rows.append(("search `status=500 | stats count`", f"thawed {thawed_search:.3f} s", f"warm {warm_search:.3f} s",
                     f"{thawed_search / warm_search:.2f}x"))
        rows.append(("retention loop while idle (60 s period)", f"{skip * 1000:.2f} ms per check = "
                     f"{skip / 60 * 100:.1e}% of a core", f"full evaluation {full * 1000:.1f} ms", ""))
        rows.append(("whole server idle, retention checked every 1 s (20 s, psutil)",
                     f"{server_idle_share(home) * 100:.2f}% of a core", "", ""))
    finally:
        s3proc.kill()
        shutil.rmtree(work, ignore_errors=True)
    print("| step | Speleo | peer (same run) | peer time / Speleo time |")
    print("| --- | --- | --- | --- |")
    for r in rows:
        print("| " + " | ".join(r) + " |")


if __name__ == "__main__":
    main()
