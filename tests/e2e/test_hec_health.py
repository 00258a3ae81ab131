"""HEC health tells the truth when the journal's disk is full (issue 9): a real `speleo serve`
whose journal folder is a small tmpfs that the test fills up."""

from __future__ import annotations

import json
import os
import subprocess
import uuid

import httpx
import pytest

from tests.conftest import ServerProc, free_port, run_cli, wait_for

pytestmark = pytest.mark.e2e


@pytest.fixture
def small_journal(tmp_path):
    """A home whose `journal/` is a 64 MB tmpfs (needs root and mount)."""
    home = tmp_path / "home"
    journal = home / "journal"
    journal.mkdir(parents=True)
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    p = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(journal)], capture_output=True)
    if p.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {p.stderr.decode().strip()}")
    yield home
    subprocess.run(["umount", "-l", str(journal)], check=False)


def fill(folder, leave_bytes: int):
    """Write a file that leaves about `leave_bytes` free on `folder`'s file system."""
    st = os.statvfs(folder)
    path = folder / "filler"
    with open(path, "wb") as f:
        f.write(b"\0" * max(0, st.f_bavail * st.f_frsize - leave_bytes))
    return path


def test_health_and_events_when_the_disk_is_full(small_journal):
    home = small_journal
    token = run_cli(home, "token", "create", "t", "--index", "main").stdout.strip()
    port = free_port()
    server = ServerProc(home, ["--hec-port", str(port)]).start()
    url = f"http://127.0.0.1:{port}/services/collector"
    auth = {"Authorization": f"Splunk {token}"}

    def health():
        r = httpx.get(url + "/health", timeout=10)
        return r.status_code, r.json()

    def post(text):
        r = httpx.post(url + "/event", content=json.dumps({"event": text}), headers=auth, timeout=30)
        return r.status_code, r.json()["code"]

    try:
        assert health() == (200, {"text": "HEC is healthy", "code": 17})
        filler = fill(home / "journal", 8 * 1024)
        status, body = health()
        assert (status, body["code"]) == (503, 18) and "no space" in body["reason"]
        lost = f"lost {uuid.uuid4().hex} " + "x" * 64 * 1024
        assert post(lost) == (503, 9)   # server is busy: the client keeps the event and retries
        filler.unlink()
        status, body = health()   # the failed write is still recent
        assert (status, body["code"]) == (503, 18) and "journal write failed" in body["reason"]
        kept = f"kept {uuid.uuid4().hex}"
        assert post(kept) == (200, 0)
        assert health() == (200, {"text": "HEC is healthy", "code": 17})
        wait_for(lambda: server.search(kept.split()[1])["events"])
        assert server.search(lost.split()[1])["events"] == []
        counts = {(r["source"], r["reason"]): r["count"]
                  for r in server.api("GET", "/api/v1/status").json()["server"]["network"]["refused"]}
        assert counts[(f"hec:{port}", "request refused (code 9): journal write failed: No space left on device")] == 1
    finally:
        server.stop()
