"""kill -9 of a real server while it follows growing and rotating files: every line exactly once."""

from __future__ import annotations

import os
import random
import threading
import time

import pytest

from tests.conftest import run_cli, wait_for

pytestmark = pytest.mark.e2e


def line(i: int) -> str:
    return f"2026-11-01 10:{(i // 60) % 60:02d}:{i % 60:02d} INFO worker seq={i} payload=x{i % 97}\n"


def count_and_distinct(server) -> tuple[int, int]:
    res = server.search("index=main | stats count, dc(seq) as distinct")
    row = res["results"][0] if res["results"] else {"count": 0, "distinct": 0}
    return int(row["count"]), int(row["distinct"])


def test_kill9_during_ingestion_loses_nothing_and_duplicates_nothing(tmp_path, server_factory):
    logs = tmp_path / "logs"
    logs.mkdir()
    target = logs / "app.log"
    home = tmp_path / "home"
    run_cli(home, "add", "monitor", str(logs), "--index", "main")
    written = 0
    stop = threading.Event()

    def writer() -> None:
        nonlocal written
        with open(target, "a") as f:
            while not stop.is_set() and written < 40_000:
                f.write("".join(line(written + k) for k in range(200)))
                f.flush()
                written += 200
                time.sleep(0.01)

    t = threading.Thread(target=writer)
    t.start()
    rng = random.Random(7)
    try:
        for _ in range(6):
            server = server_factory(home).start()
            time.sleep(rng.uniform(0.3, 1.5))
            server.kill9()
    finally:
        stop.set()
        t.join()
    server = server_factory(home).start()
    wait_for(lambda: count_and_distinct(server)[0] >= written, timeout=60)
    time.sleep(1.5)
    assert count_and_distinct(server) == (written, written)


def test_rotation_by_rename_and_copytruncate_reads_every_line_once(tmp_path, server_factory):
    logs = tmp_path / "logs"
    logs.mkdir()
    home = tmp_path / "home"
    run_cli(home, "add", "monitor", str(logs), "--index", "main")
    server = server_factory(home).start()
    app = logs / "app.log"
    n = 0

    def write(count: int) -> None:
        nonlocal n
        with open(app, "a") as f:
            f.write("".join(line(n + k) for k in range(count)))
        n += count

    write(500)
    wait_for(lambda: count_and_distinct(server)[0] == 500)
    write(300)
    os.rename(app, logs / "app.log.1")  # rotation by rename
    write(200)
    wait_for(lambda: count_and_distinct(server)[0] >= 1000, timeout=30)
    write(100)
    data = app.read_bytes()  # copytruncate
    (logs / "app.log.2").write_bytes(data)
    with open(app, "r+") as f:
        f.truncate(0)
    write(50)
    wait_for(lambda: count_and_distinct(server)[0] >= n, timeout=30)
    time.sleep(3)
    assert count_and_distinct(server) == (n, n)


def test_oneshot_killed_midway_and_run_again_indexes_every_line_once(tmp_path):
    import subprocess

    from tests.conftest import speleo_cmd

    log = tmp_path / "big.log"
    n = 300_000
    with open(log, "w") as f:
        for i in range(0, n, 1000):
            f.write("".join(line(i + k) for k in range(1000)))
    home = tmp_path / "home"
    proc = subprocess.Popen(speleo_cmd(home, "add", "oneshot", str(log), "--index", "main"),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # kill it once some events are acknowledged (journaled or sealed), before it has finished
    wait_for(lambda: list(home.glob("journal/*.wal")) or list(home.glob("indexes/main/*.parquet")), timeout=60, interval=0.02)
    assert proc.poll() is None, "the oneshot finished before it could be killed"
    proc.kill()
    proc.wait()
    run_cli(home, "add", "oneshot", str(log), "--index", "main")
    out = run_cli(home, "search", "index=main | stats count, dc(seq) as d", "--output", "jsonl")
    assert '"count": 300000' in out.stdout and '"d": 300000' in out.stdout
