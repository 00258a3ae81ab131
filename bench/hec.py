"""HEC throughput: events/s and MB/s into a real `speleo serve`, batches of 100 events.

`python bench/hec.py [--seconds 10] [--clients 8]` prints JSON: events/s, MB/s of event bytes,
and the server's CPU seconds per second (cores used), so events/s per core can be derived.
`bench/run.py` may call `run()`.
"""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import psutil

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(seconds: float = 10.0, clients: int = 8, batch: int = 100) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        cli = [sys.executable, "-m", "speleo.cli.main", "--home", str(home)]
        token = subprocess.run(cli + ["token", "create", "bench", "--index", "main"], check=True,
                               capture_output=True, text=True).stdout.strip()
        api, hec = free_port(), free_port()
        proc = subprocess.Popen(cli + ["serve", "--port", str(api), "--hec-port", str(hec)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        url = f"http://127.0.0.1:{hec}/services/collector/event"
        try:
            for _ in range(300):
                try:
                    if httpx.get(f"http://127.0.0.1:{hec}/services/collector/health", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.1)
            for _ in range(300):   # the API starts after HEC: its start-up is not HEC's CPU
                try:
                    if httpx.get(f"http://127.0.0.1:{api}/health", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.1)
            body = "".join(json.dumps({"event": f"2024-01-01 00:00:{i % 60:02d} INFO user=u{i} action=login "
                                                f"status=ok bytes={i * 7} request {i}", "host": "bench",
                                       "sourcetype": "bench"}) for i in range(batch)).encode()
            raw_bytes = sum(len(f"2024-01-01 00:00:00 INFO user=u{i} action=login status=ok bytes={i * 7} request {i}")
                            for i in range(batch))
            counts = [0] * clients
            stop = time.monotonic() + seconds

            def client(k: int) -> None:
                with httpx.Client(headers={"Authorization": f"Splunk {token}"}, timeout=30) as c:
                    while time.monotonic() < stop:
                        r = c.post(url, content=body)
                        if r.status_code == 200:
                            counts[k] += 1

            server = psutil.Process(proc.pid)
            cpu0 = sum(server.cpu_times()[:2])
            t0 = time.perf_counter()
            threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            wall = time.perf_counter() - t0
            cpu = sum(server.cpu_times()[:2]) - cpu0
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    events = sum(counts) * batch
    return {
        "hec_batch": batch, "hec_clients": clients, "hec_seconds": round(wall, 1),
        "hec_events_per_sec": round(events / wall),
        "hec_mb_per_sec": round(sum(counts) * raw_bytes / wall / 1e6, 2),
        "hec_server_cores": round(cpu / wall, 2),
        "hec_events_per_sec_per_core": round(events / cpu) if cpu else None,
    }


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--clients", type=int, default=8)
    a = ap.parse_args()
    print(json.dumps(run(a.seconds, a.clients), indent=2))
