"""Ways in and hangs (issue 9, faults 4 and 5): links into the home, FIFOs, sockets, devices."""

from __future__ import annotations

import os
import socket
import threading

import pytest

from speleo.errors import InputError
from speleo.ingest.oneshot import add_oneshot
from tests.ingest.test_monitor import Rig, append

SECRET = "tok3n-" + "s3cr3t" * 8


@pytest.fixture
def rig(tmp_path):
    r = Rig(tmp_path)
    (r.home.root / "api_token").write_text(SECRET + "\n")
    yield r
    r.monitor.close()
    r.writer.close()


def poll_within(rig, seconds: float = 20.0) -> None:
    """Poll in a thread: a poll that blocks (an open() of a FIFO) fails the test instead of hanging it."""
    done = threading.Event()

    def run() -> None:
        rig.poll()
        done.set()

    threading.Thread(target=run, daemon=True).start()
    assert done.wait(seconds), "the monitor's poll blocked"


def test_links_into_the_home_are_never_read(rig):
    rig.add()
    os.symlink(rig.home.root / "api_token", rig.logs / "token.log")
    (rig.logs / "deep").mkdir()
    os.symlink(rig.home.root, rig.logs / "deep" / "home")           # a folder link: not walked into
    os.symlink(rig.logs / "token.log", rig.logs / "chain.log")      # a link to the link
    append(rig.logs / "app.log", 0, 3)
    poll_within(rig)
    assert rig.count("index=main | stats count")[0] == 3
    assert rig.count(f'index=main "{SECRET}" | stats count')[0] == 0
    reasons = {p["source"].rsplit("/", 1)[-1]: p["reason"] for p in rig.svc.catalog.problems()}
    assert "home" in reasons["token.log"] and "home" in reasons["chain.log"]
    assert "token.log" in {os.path.basename(p) for p in rig.monitor.summary()["skipped"]}


def test_fifo_socket_and_device_are_skipped_and_do_not_block(rig):
    rig.add()
    os.mkfifo(rig.logs / "pipe.log")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(rig.logs / "sock.log"))
    os.symlink("/dev/zero", rig.logs / "zero.log")
    append(rig.logs / "app.log", 0, 5)
    try:
        poll_within(rig)
    finally:
        sock.close()
    assert rig.count("index=main | stats count")[0] == 5
    reasons = {p["source"].rsplit("/", 1)[-1]: p["reason"] for p in rig.svc.catalog.problems()}
    assert "FIFO" in reasons["pipe.log"] and "socket" in reasons["sock.log"] and "device" in reasons["zero.log"]


def test_a_monitored_path_that_is_itself_a_fifo_does_not_block(rig):
    os.mkfifo(rig.logs / "only.fifo")
    rig.svc.add_monitor(str(rig.logs / "only.fifo"), "main")
    poll_within(rig)
    assert any("FIFO" in p["reason"] for p in rig.svc.catalog.problems())


def test_oneshot_refuses_links_into_the_home_and_fifos(rig):
    os.symlink(rig.home.root / "api_token", rig.logs / "token.log")
    with pytest.raises(InputError, match="home"):
        add_oneshot(rig.writer.ingestor, rig.logs / "token.log", "main", forbidden=rig.home.root)
    os.mkfifo(rig.logs / "pipe.log")
    result: list = []

    def run() -> None:
        try:
            add_oneshot(rig.writer.ingestor, rig.logs / "pipe.log", "main", forbidden=rig.home.root)
        except InputError as e:
            result.append(e)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(20)
    assert not t.is_alive() and result and "FIFO" in str(result[0])


def test_the_soft_descriptor_limit_is_raised_to_the_hard_one():
    import resource
    import subprocess
    import sys

    code = ("import resource; from speleo.config import Settings; from speleo.ingest.fileio import open_file_budget; "
            "b = open_file_budget(Settings()); print(b, resource.getrlimit(resource.RLIMIT_NOFILE)[0])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (256, 2048))).stdout.split()
    assert out == ["512", "2048"]      # a quarter of the raised limit for followed files
