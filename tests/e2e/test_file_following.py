"""A real `speleo serve` following hostile trees (issue 9): more files than descriptors, a FIFO and
links into the home, kill -9 and SIGTERM. Expected counts come from the lines the test wrote."""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import time

import pytest

from tests.conftest import ServerProc, run_cli, speleo_cmd, wait_for

pytestmark = pytest.mark.e2e


def line(i: int) -> str:
    return f"2026-11-01 10:{(i // 60) % 60:02d}:{i % 60:02d} INFO worker seq={i} payload=x{i % 97}\n"


class LimitedServer(ServerProc):
    """`speleo serve` with its descriptor limit (soft and hard) set to `nofile`, as `ulimit -n` does."""

    def __init__(self, home, nofile: int) -> None:
        super().__init__(home)
        self.nofile = nofile

    def popen_kwargs(self) -> dict:
        limit = self.nofile
        return {"preexec_fn": lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))}

def counts(server) -> tuple[int, int]:
    res = server.search("index=main | stats count, dc(seq) as distinct")
    row = res["results"][0] if res["results"] else {"count": 0, "distinct": 0}
    return int(row["count"]), int(row["distinct"])


def test_more_files_than_descriptors_with_kill9_in_between(tmp_path):
    """400 files under a 256-descriptor limit (the issue: 1,500 under 1,024): all read, twice across kill -9."""
    logs, home = tmp_path / "logs", tmp_path / "home"
    n_files = 400
    for d in range(8):
        (logs / f"d{d:02d}").mkdir(parents=True)
    paths = [logs / f"d{k % 8:02d}" / f"f{k:04d}.log" for k in range(n_files)]
    for k, p in enumerate(paths):
        p.write_text(line(k))
    run_cli(home, "add", "monitor", str(logs), "--index", "main")
    server = LimitedServer(home, 256).start()
    try:
        wait_for(lambda: counts(server)[0] >= n_files, timeout=240, interval=1.0)
        status = server.api("GET", "/api/v1/status")
        assert status.status_code == 200
        ff = status.json()["server"]["file_following"]
        assert ff["open"] <= ff["max_open"] < 256
        server.kill9()
        for k, p in enumerate(paths):          # written while the server is down
            with open(p, "a") as f:
                f.write(line(n_files + k))
        server = LimitedServer(home, 256).start()
        wait_for(lambda: counts(server)[0] >= 2 * n_files, timeout=240, interval=1.0)
        time.sleep(2)
        assert counts(server) == (2 * n_files, 2 * n_files)
    finally:
        server.stop()


def test_fifo_and_links_into_the_home_neither_hang_nor_leak(tmp_path):
    logs, home = tmp_path / "logs", tmp_path / "home"
    logs.mkdir()
    run_cli(home, "add", "monitor", str(logs), "--index", "main")
    server = ServerProc(home).start()
    try:
        token = server.token
        os.mkfifo(logs / "pipe.log")
        os.symlink(home / "api_token", logs / "token.log")
        with open(logs / "app.log", "w") as f:
            f.write("".join(line(i) for i in range(50)))
        wait_for(lambda: counts(server)[0] >= 50, timeout=60)
        # the status API answers while the FIFO sits in the tree, and says what was skipped and why
        body = server.api("GET", "/api/v1/status").json()
        skipped = body["server"]["file_following"]["skipped"]
        assert any("FIFO" in r for p, r in skipped.items() if p.endswith("pipe.log"))
        assert any("home" in r for p, r in skipped.items() if p.endswith("token.log"))
        assert server.search(f'index=main "{token}" | stats count')["results"][0]["count"] == 0
        import json

        st = json.loads(run_cli(home, "status", "--json").stdout)      # what `speleo status` shows
        reasons = {p["source"].rsplit("/", 1)[-1]: p["reason"] for p in st["problems"]}
        assert "FIFO" in reasons["pipe.log"] and "home" in reasons["token.log"]
        assert st["server"]["file_following"]["skipped"]
        # oneshot of the FIFO through the running server: refused, not stuck
        out = subprocess.run(speleo_cmd(home, "add", "oneshot", str(logs / "pipe.log"), "--index", "main"),
                             capture_output=True, text=True, timeout=60)
        assert out.returncode != 0 and "FIFO" in (out.stdout + out.stderr)
        with open(logs / "app.log", "a") as f:
            f.write("".join(line(i) for i in range(50, 80)))
        wait_for(lambda: counts(server)[0] >= 80, timeout=60)
        assert counts(server) == (80, 80)
        server.proc.send_signal(signal.SIGTERM)
        server.proc.wait(timeout=30)
    finally:
        server.stop()
