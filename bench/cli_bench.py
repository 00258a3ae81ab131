"""`speleo search` from the command line: start-up and a rare-term count, locally and through a
running server, beside `grep -c` over the same files in the same run.

Generates BENCH_CLI_BYTES (default 60 MB) of logs with gen.py (seed 42: the rare token occurs
exactly RARE_COUNT times), ingests them, then times each way 7 times (median, wall clock, each a
new process as a person runs it). Counts are checked against RARE_COUNT before a time counts.
Writes the CLIBENCH section of docs/benchmarks.md.

    python bench/cli_bench.py
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "src"))
OUT = ROOT / "bench" / "out"
RUNS = 7


def _timed(cmd: list[str], env: dict | None = None) -> tuple[float, str]:
    t = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True).stdout
    return time.perf_counter() - t, out


def _median(cmd: list[str], check, env: dict | None = None) -> float:
    times = []
    for _ in range(RUNS):
        dt, out = _timed(cmd, env)
        check(out)
        times.append(dt)
    return statistics.median(times)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run() -> dict:
    from gen import RARE_COUNT, RARE_TOKEN, generate

    data = OUT / "cli-data"
    size = int(os.environ.get("BENCH_CLI_BYTES", 60_000_000))
    if not data.exists():
        generate(data, size)
    files = sorted(str(p) for p in data.rglob("*") if p.is_file())
    home = OUT / "cli-home"
    shutil.rmtree(home, ignore_errors=True)
    cli = [sys.executable, "-m", "speleo.cli.main", "--home", str(home)]
    for f in files:
        subprocess.run(cli + ["add", "oneshot", f, "--index", "main"], check=True, capture_output=True)
    search = cli + ["search", f"{RARE_TOKEN} | stats count", "-o", "csv"]

    def count_is_right(out: str) -> None:
        assert out.strip().splitlines()[-1] == str(RARE_COUNT), out

    def grep_right(out: str) -> None:
        assert sum(int(x.rsplit(":", 1)[-1]) for x in out.split()) == RARE_COUNT, out

    res = {"data_bytes": sum(os.path.getsize(f) for f in files), "runs": RUNS}
    res["grep_s"] = _median(["grep", "-c", "-i", "-w", RARE_TOKEN, *files], grep_right)
    res["help_s"] = _median(cli + ["--help"], lambda out: None)
    res["local_s"] = _median(search, count_is_right)
    port = _free_port()
    proc = subprocess.Popen(cli + ["serve", "--port", str(port), "--hec-port", "0"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 60
        while not (home / "server.json").exists() and time.time() < deadline:
            time.sleep(0.2)
        subprocess.run(search, check=True, capture_output=True)   # warm the server
        res["server_s"] = _median(search, count_is_right)
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(30)
    return res


def record() -> dict:
    res = run()
    doc = ROOT / "docs" / "benchmarks.md"
    text = doc.read_text()
    g = res["grep_s"]
    body = (f"<!-- CLIBENCH:START -->\n"
            f"`speleo search 'RARE | stats count'` from the command line (`python bench/cli_bench.py`, "
            f"{time.strftime('%Y-%m-%d %H:%M')} UTC, {platform.machine()}, {os.cpu_count()} cores shared with "
            f"other work, Python {platform.python_version()}): {res['data_bytes'] / 1e6:.0f} MB of generated logs "
            f"(bench/gen.py, seed 42), median of {res['runs']} runs, each a new process; every count checked.\n\n"
            f"| command | seconds | beside `grep -c -i -w` (same run) |\n| --- | --- | --- |\n"
            f"| `grep -c -i -w RARE` over the files | {g:.3f} | 1x |\n"
            f"| `speleo --help` | {res['help_s']:.3f} | {g / res['help_s']:.2f}x |\n"
            f"| `speleo search` with no server (loads the engine) | {res['local_s']:.3f} | {g / res['local_s']:.2f}x |\n"
            f"| `speleo search` through a running server | {res['server_s']:.3f} | {g / res['server_s']:.2f}x |\n"
            f"<!-- CLIBENCH:END -->")
    if "<!-- CLIBENCH:START -->" in text:
        head, rest = text.split("<!-- CLIBENCH:START -->", 1)
        text = head + body + rest.split("<!-- CLIBENCH:END -->", 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n## Command-line search start-up\n\n" + body + "\n"
    doc.write_text(text)
    return res


if __name__ == "__main__":
    print(json.dumps(record(), indent=2))
