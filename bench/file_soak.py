"""File-following soak: many files in a tree, every kind of rotation, kill -9 and SIGTERM in turns.

    python bench/file_soak.py [--files 2000] [--rounds 6] [--nofile 1024] [--record]

A real `speleo serve` (its descriptor limit set to `--nofile`, soft and hard, as `ulimit -n`)
follows a tree of `--files` files in folders of 100. Each round appends lines to a tenth of the
files, rotates a twentieth of them by rename, another twentieth by copy and truncate, another by
rename then gzip (the plain copy deleted, as logrotate's `compress`), then stops the server —
kill -9 and SIGTERM in turns — writes and rotates a little more while it is down, and starts it
again. Every line carries a unique `seq`; the expected lines are the ones written. At the end:
lines lost (written, never indexed) and duplicated (indexed twice), and whether the server
answered `/api/v1/status` within 5 s every time it was asked while up (a prober asks every 0.5 s).

`--record` writes the result between the FILESOAK markers of docs/benchmarks.md. `make bench`
runs it with `FILESOAK_FILES` files (default 2,000).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]


def line(seq: int) -> str:
    return f"2026-11-01 10:{(seq // 60) % 60:02d}:{seq % 60:02d} INFO soak seq={seq} payload=x{seq % 97}\n"


class Soak:
    def __init__(self, files: int, nofile: int, seed: int = 7) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="speleo-soak-"))
        self.logs, self.home = self.tmp / "logs", self.tmp / "home"
        self.logs.mkdir()
        self.paths = [self.logs / f"d{k // 100:03d}" / f"f{k:05d}.log" for k in range(files)]
        for p in self.paths:
            p.parent.mkdir(parents=True, exist_ok=True)
        self.nofile = nofile
        self.rng = random.Random(seed)
        self.seq = 0
        self.generation = 0
        self.proc: subprocess.Popen | None = None
        self.port = 0
        self.probe_stop = threading.Event()
        self.probes = {"asked": 0, "slow_or_failed": 0, "worst_secs": 0.0}
        self.rotations = {"rename": 0, "copytruncate": 0, "gzip": 0}

    # -- the server ------------------------------------------------------------------------
    def cmd(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "speleo.cli.main", "--home", str(self.home), *args]

    def start(self) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        limit = self.nofile
        log = open(self.tmp / "server.log", "ab")
        self.proc = subprocess.Popen(
            self.cmd("serve", "--port", str(self.port), "--hec-port", "0"), stdout=log, stderr=subprocess.STDOUT,
            preexec_fn=(lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))) if limit else None)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"server exited:\n{(self.tmp / 'server.log').read_text()[-3000:]}")
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        self.probe_stop.clear()
        threading.Thread(target=self._probe, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def headers(self) -> dict:
        return {"Authorization": f"Bearer {(self.home / 'api_token').read_text().strip()}"}

    def _probe(self) -> None:
        while not self.probe_stop.wait(0.5):
            t = time.monotonic()
            try:
                ok = httpx.get(f"{self.url}/api/v1/status", headers=self.headers(), timeout=5).status_code == 200
            except httpx.HTTPError:
                ok = False
            if self.probe_stop.is_set():
                return
            spent = time.monotonic() - t
            self.probes["asked"] += 1
            self.probes["worst_secs"] = max(self.probes["worst_secs"], round(spent, 2))
            if not ok or spent > 5:
                self.probes["slow_or_failed"] += 1

    def stop(self, how: str) -> None:
        self.probe_stop.set()
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL if how == "kill -9" else signal.SIGTERM)
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise SystemExit("the server did not stop within 60 s of SIGTERM")

    def counts(self) -> tuple[int, int]:
        r = httpx.post(f"{self.url}/api/v1/search", headers=self.headers(), timeout=120,
                       json={"search": "index=main | stats count, dc(seq) as d", "limit": 0})
        row = (r.json().get("results") or [{"count": 0, "d": 0}])[0]
        return int(row["count"]), int(row.get("d") or 0)

    # -- the files ---------------------------------------------------------------------------
    def write(self, path: Path, n: int) -> None:
        with open(path, "a") as f:
            f.write("".join(line(self.seq + i) for i in range(n)))
        self.seq += n

    def rotate(self, path: Path, kind: str) -> None:
        self.generation += 1
        rotated = path.with_name(f"{path.name}-2026110{self.generation % 10}{self.generation:06d}")
        if not path.exists():
            return
        if kind == "rename":
            os.rename(path, rotated)
        elif kind == "copytruncate":
            shutil.copy(path, rotated)
            with open(path, "r+") as f:
                f.truncate(0)
        else:
            os.rename(path, rotated)
            with open(rotated, "rb") as src, gzip.open(f"{rotated}.gz", "wb") as dst:
                shutil.copyfileobj(src, dst)
            os.unlink(rotated)
        self.rotations[kind] += 1

    def round(self, share: float, lines: int) -> None:
        chosen = self.rng.sample(self.paths, max(1, int(len(self.paths) * share)))
        for p in chosen:
            self.write(p, lines)
        for kind in ("rename", "copytruncate", "gzip"):
            for p in self.rng.sample(self.paths, max(1, len(self.paths) // 20)):
                self.write(p, 2)   # lines the server may not have read before the rotation
                self.rotate(p, kind)
                self.write(p, 1)

    def settle(self, timeout: float) -> tuple[int, int]:
        deadline, last = time.monotonic() + timeout, (-1, -1)
        while time.monotonic() < deadline:
            got = self.counts()
            if got[1] >= self.seq:
                time.sleep(3)
                return self.counts()
            last = got
            time.sleep(2)
        return last


def run(files: int, rounds: int, nofile: int) -> dict:
    src = str(ROOT / "src")
    if src not in os.environ.get("PYTHONPATH", "").split(os.pathsep):   # the server runs these sources
        os.environ["PYTHONPATH"] = src + os.pathsep + os.environ.get("PYTHONPATH", "")
    soak = Soak(files, nofile)
    t0 = time.monotonic()
    for p in soak.paths:
        soak.write(p, 2)
    subprocess.run(soak.cmd("add", "monitor", str(soak.logs), "--index", "main"), check=True, capture_output=True)
    soak.start()
    stops = []
    try:
        for r in range(rounds):
            soak.round(0.1, 3)
            time.sleep(2)
            how = "kill -9" if r % 2 == 0 else "SIGTERM"
            soak.stop(how)
            stops.append(how)
            soak.round(0.02, 2)    # while the server is down
            soak.start()
        count, distinct = soak.settle(timeout=max(300, files * 0.3))
    finally:
        soak.probe_stop.set()
        if soak.proc and soak.proc.poll() is None:
            soak.proc.send_signal(signal.SIGTERM)
            soak.proc.wait(timeout=60)
    result = {
        "files": files, "rounds": rounds, "nofile": nofile, "lines_written": soak.seq,
        "indexed": count, "lost": soak.seq - distinct, "duplicated": count - distinct,
        "rotations": soak.rotations, "stops": {"kill -9": stops.count("kill -9"), "SIGTERM": stops.count("SIGTERM")},
        "status_probes": soak.probes, "wall_secs": round(time.monotonic() - t0, 1),
    }
    shutil.rmtree(soak.tmp, ignore_errors=True)
    return result


def idle_cpu(files: int = 3000, secs: float = 30.0) -> dict:
    """CPU share of a core the server spends following `files` idle files (all read, none
    growing), over `secs` seconds (the issue: 9% of a core for 3,000 files before inotify)."""
    import psutil

    src = str(ROOT / "src")
    if src not in os.environ.get("PYTHONPATH", "").split(os.pathsep):
        os.environ["PYTHONPATH"] = src + os.pathsep + os.environ.get("PYTHONPATH", "")
    soak = Soak(files, 0)   # the limit the machine gives
    for p in soak.paths:
        soak.write(p, 1)
    subprocess.run(soak.cmd("add", "monitor", str(soak.logs), "--index", "main"), check=True, capture_output=True)
    soak.start()
    soak.probe_stop.set()
    try:
        soak.settle(timeout=max(300, files * 0.3))
        time.sleep(25)   # past close_inactive_secs and the first full scans
        proc = psutil.Process(soak.proc.pid)
        c0, t0 = sum(proc.cpu_times()[:2]), time.monotonic()
        time.sleep(secs)
        share = (sum(proc.cpu_times()[:2]) - c0) / (time.monotonic() - t0)
        body = httpx.get(f"{soak.url}/api/v1/status", headers=soak.headers(), timeout=30).json()
        ff = body["server"].get("file_following") or {"open": "?", "change_notification": "polling"}
    finally:
        soak.stop("SIGTERM")
        shutil.rmtree(soak.tmp, ignore_errors=True)
    return {"files": files, "secs": secs, "cpu_share": round(share, 4), "open": ff["open"],
            "change_notification": ff["change_notification"]}


def write_report(res: dict, doc: Path) -> None:
    text = doc.read_text()
    block = (
        "<!-- FILESOAK:START -->\n## File following soak (`bench/file_soak.py`)\n\n"
        f"{res['files']:,} files in folders of 100, the server limited to {res['nofile']:,} descriptors; "
        f"{res['rounds']} rounds, each: lines appended to a tenth of the files, then a twentieth rotated by rename, "
        "one by copy and truncate, one by rename and gzip (2 lines written just before each rotation, 1 just after), "
        "then the server stopped (kill -9 and SIGTERM in turns), more lines and rotations while it is down, and a "
        "restart.\n\n"
        "| measure | value |\n| --- | --- |\n"
        f"| lines written | {res['lines_written']:,} |\n"
        f"| lines lost | {res['lost']:,} |\n"
        f"| lines indexed twice | {res['duplicated']:,} |\n"
        f"| rotations (rename / copytruncate / gzip) | {res['rotations']['rename']:,} / "
        f"{res['rotations']['copytruncate']:,} / {res['rotations']['gzip']:,} |\n"
        f"| stops (kill -9 / SIGTERM) | {res['stops']['kill -9']} / {res['stops']['SIGTERM']} |\n"
        f"| status requests while up / slower than 5 s or failed / slowest | {res['status_probes']['asked']:,} / "
        f"{res['status_probes']['slow_or_failed']:,} / {res['status_probes']['worst_secs']} s |\n"
        f"| wall time | {res['wall_secs']} s |\n"
        + (f"| {res['idle']['files']:,} idle files followed: server CPU | {100 * res['idle']['cpu_share']:.1f}% of a core "
           f"({res['idle']['open']} files open, changes by {res['idle']['change_notification']}; was 9% before "
           "inotify and closing idle files) |\n" if res.get("idle") else "")
        + "<!-- FILESOAK:END -->"
    )
    start, end = "<!-- FILESOAK:START -->", "<!-- FILESOAK:END -->"
    if start in text:
        text = text[: text.index(start)] + block + text[text.index(end) + len(end):]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    doc.write_text(text)


def record(files: int | None = None, rounds: int = 6, nofile: int = 1024) -> dict:
    res = run(files or int(os.environ.get("FILESOAK_FILES", 2000)), rounds, nofile)
    res["idle"] = idle_cpu()
    write_report(res, ROOT / "docs" / "benchmarks.md")
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--nofile", type=int, default=1024)
    ap.add_argument("--record", action="store_true", help="write the result into docs/benchmarks.md")
    ap.add_argument("--idle-files", type=int, default=3000, help="idle files for the CPU measure (0: skip it)")
    a = ap.parse_args()
    res = run(a.files, a.rounds, a.nofile) if a.files else {}
    if a.idle_files:
        res["idle"] = idle_cpu(a.idle_files)
    if a.record:
        write_report(res, ROOT / "docs" / "benchmarks.md")
    print(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
