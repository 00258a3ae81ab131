"""Forwarder cost: CPU and memory of `speleo forward` while it ships 5,000 lines/s.

`python bench/forward_bench.py [--seconds 30] [--rate 5000]` starts a real `speleo serve` with
HEC and an ack token, a `speleo forward` following one file (host metrics on, every 60 s), and
appends `rate` lines/s (~110 bytes each, in 10 ms ticks) to the file. The forwarder ships the
lines raw (`/services/collector/raw`); the server breaks and timestamps them. After a 5 s warm-up
it measures the forwarder process only (`speleo forward` re-executes itself as the lean
`python -m speleo.forward`, same pid): CPU seconds per second (share of one core) and RSS (max
and mean of 1 s samples), checks that pyarrow, numpy and duckdb are not mapped in it, and that
every line was delivered and is searchable. Prints JSON; `run()` for bench/run.py.
"""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psutil

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def line(i: int) -> str:
    return (f"2026-11-01 10:{(i // 60) % 60:02d}:{i % 60:02d}.{i % 1000:03d} INFO [worker-{i % 8}] "
            f"request id={i} path=/api/v1/items/{i % 977} status=200 bytes={i % 5000}\n")


def _wait(pred, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if pred():
                return
        except Exception:
            pass
        time.sleep(0.2)
    raise RuntimeError("timed out")


def run(seconds: float = 30.0, rate: int = 5000, warmup: float = 5.0) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        home, fhome, target = tmp / "home", tmp / "fwd", tmp / "app.log"
        cli = [sys.executable, "-m", "speleo.cli.main", "--home", str(home)]
        token = subprocess.run(cli + ["token", "create", "fwd", "--index", "main", "--allowed-indexes", "metrics",
                                      "--ack"], check=True, capture_output=True, text=True).stdout.strip()
        api, hec = free_port(), free_port()
        server = subprocess.Popen(cli + ["serve", "--port", str(api), "--hec-port", str(hec)],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        fwd = None
        try:
            _wait(lambda: httpx.get(f"http://127.0.0.1:{hec}/services/collector/health", timeout=1).status_code == 200, 30)
            target.write_text("")
            fwd = subprocess.Popen(cli + ["forward", "--to", f"http://127.0.0.1:{hec}", "--token", token,
                                          "--home", str(fhome), "--monitor", str(target)],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            proc = psutil.Process(fwd.pid)
            written = 0
            per_tick = rate // 100
            rss: list[int] = []
            start = time.monotonic()
            measuring, c0, t0 = False, None, None
            next_sample = start + 1
            with open(target, "a") as f:
                tick = start
                while True:
                    now = time.monotonic()
                    if not measuring and now - start >= warmup:
                        measuring, t0 = True, now
                        ct = proc.cpu_times()
                        c0 = ct.user + ct.system
                        w0 = written
                    if measuring and now - t0 >= seconds:
                        break
                    f.write("".join(line(written + k) for k in range(per_tick)))
                    f.flush()
                    written += per_tick
                    if now >= next_sample:
                        if measuring:
                            rss.append(proc.memory_info().rss)
                        next_sample += 1
                    tick += 0.01
                    time.sleep(max(0.0, tick - time.monotonic()))
            ct = proc.cpu_times()
            wall = time.monotonic() - t0
            cpu = ct.user + ct.system - c0
            maps = Path(f"/proc/{fwd.pid}/maps").read_text()
            heavy = sorted(m for m in ("pyarrow", "numpy", "duckdb") if m in maps)
            bytes_per_line = target.stat().st_size / written
            status = fhome / "status.json"
            _wait(lambda: json.loads(status.read_text())["events_sent_total"] >= written, 60)
            st = json.loads(status.read_text())
            searchable = _searchable(cli, written)
            return {
                "lines_per_s": round((written - w0) / wall),
                "bytes_per_line": round(bytes_per_line, 1),
                "seconds": round(wall, 1),
                "forwarder_cpu_share_of_one_core": round(cpu / wall, 4),
                "forwarder_rss_mb_max": round(max(rss) / 1e6, 1),
                "forwarder_rss_mb_mean": round(sum(rss) / len(rss) / 1e6, 1),
                "forwarder_cmdline": " ".join(proc.cmdline()[1:3]),
                "heavy_modules_mapped": heavy,
                "delivered": st["events_sent_total"] >= written,
                "searchable_events": searchable,
                "lines_written": written,
                "batches": st["batches_sent"],
                "events_sent": st["events_sent_total"],
            }
        finally:
            for p in (fwd, server):
                if p is not None and p.poll() is None:
                    p.terminate()
                    try:
                        p.wait(20)
                    except subprocess.TimeoutExpired:
                        p.kill()


def _searchable(cli: list[str], written: int) -> int:
    """Events of the followed file the server stores (one per line), once they all are or after 60 s."""
    count = 0
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        out = subprocess.run(cli + ["search", "index=main | stats count", "--output", "jsonl"],
                             capture_output=True, text=True)
        try:
            count = int(json.loads(out.stdout.splitlines()[0])["count"])
        except (ValueError, LookupError, TypeError):
            count = 0
        if count >= written:
            break
        time.sleep(1)
    return count


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--rate", type=int, default=5000)
    a = ap.parse_args()
    print(json.dumps(run(a.seconds, a.rate), indent=2))


if __name__ == "__main__":
    main()
