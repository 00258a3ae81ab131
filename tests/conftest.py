"""Shared test helpers: the real data folder, a temporary home, a real server process."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parents[1]
DATA = (REPO / ".." / "shared" / "data").resolve()


def data_path(*parts: str) -> Path:
    """A file under ../shared/data; skips the test when the data folder is absent."""
    p = DATA.joinpath(*parts)
    if not p.exists():
        pytest.skip(f"real data not found at {p}")
    return p


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def speleo_cmd(home: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "speleo.cli.main", "--home", str(home), *args]


def run_cli(home: Path, *args: str, check: bool = True, input: str | None = None) -> subprocess.CompletedProcess:
    proc = subprocess.run(speleo_cmd(home, *args), capture_output=True, text=True, input=input, timeout=600)
    if check and proc.returncode != 0:
        raise AssertionError(f"speleo {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


class ServerProc:
    """A real `speleo serve` process on a free port."""

    def __init__(self, home: Path, extra: list[str] | None = None) -> None:
        self.home = home
        self.port = free_port()
        self.extra = extra or []
        self.proc: subprocess.Popen | None = None
        self.log = home.parent / f"server-{self.port}.log"

    def popen_kwargs(self) -> dict:
        """Extra `subprocess.Popen` arguments of the server process (subclasses set limits here)."""
        return {}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> "ServerProc":
        self.home.mkdir(parents=True, exist_ok=True)
        logf = open(self.log, "ab")
        self.proc = subprocess.Popen(speleo_cmd(self.home, "serve", "--port", str(self.port), *self.extra),
                                     stdout=logf, stderr=subprocess.STDOUT, **self.popen_kwargs())
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited early:\n{self.log.read_text()}")
            try:
                if httpx.get(self.url + "/health", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.proc.kill()                          # never leave a half-started server behind
        self.proc.wait(timeout=10)
        raise AssertionError(f"server did not start:\n{self.log.read_text()}")

    @property
    def token(self) -> str:
        return (self.home / "api_token").read_text().strip()

    def api(self, method: str, path: str, **kw) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token}"}
        return httpx.request(method, self.url + path, headers=headers, timeout=60, **kw)

    def search(self, spl: str, **kw) -> dict:
        r = self.api("POST", "/api/v1/search", json={"search": spl, "limit": 0, **kw})
        assert r.status_code == 200, r.text
        return r.json()

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture
def server_factory(tmp_path):
    servers: list[ServerProc] = []

    def make(home: Path | None = None, extra: list[str] | None = None) -> ServerProc:
        s = ServerProc(home or tmp_path / "home", extra)
        servers.append(s)
        return s

    yield make
    for s in servers:
        s.stop()


def wait_for(predicate, timeout: float = 30.0, interval: float = 0.2):
    """Poll until predicate() is truthy; returns its value or fails with the last value."""
    deadline = time.monotonic() + timeout
    value = None
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met in {timeout}s (last value {value!r})")


def jsonl(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


@pytest.fixture
def smtp_inbox():
    """A real SMTP server (aiosmtpd) on 127.0.0.1: `.port`, `.messages`, `.wait(n)` (tests/receivers.py)."""
    from tests.receivers import smtp_inbox as inbox

    with inbox() as box:
        yield box


@pytest.fixture
def webhook_inbox():
    """A real HTTP listener: `.url`, `.received` [(path, headers, JSON)], `.status` (tests/receivers.py)."""
    from tests.receivers import webhook_listener

    with webhook_listener() as hook:
        yield hook
