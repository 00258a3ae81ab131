"""One real `speleo serve` shared by the Splunk REST tests (test_splunk_sdk, test_splunk_rest): a
server start is the slow part of those tests. It holds two data sets the tests compute their
expected values from: `main` (SDK_N lines, `n=0..`, `status=error` on every fifth line, `node=h0..h2`
in rotation) and `rest` (REST_N lines, `status=error` on every fourth line), one line a second from
T0 = 2025-01-01T00:00:00Z. The web user `admin` has the password SDK_PASSWORD."""

from __future__ import annotations

import time

import pytest

from tests.conftest import ServerProc, wait_for

SDK_PASSWORD = "sdk-Pass-word-1"
SDK_N = 2500
REST_N = 600
T0 = 1735689600


def _write(path, n: int, line) -> None:
    with path.open("w") as f:
        for i in range(n):
            f.write(f"{time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(T0 + i))}Z {line(i)}\n")


@pytest.fixture(scope="session")
def splunk_server(tmp_path_factory):
    root = tmp_path_factory.mktemp("splunk")
    (root / "pw").write_text(SDK_PASSWORD + "\n")
    _write(root / "app.log", SDK_N, lambda i: f"node=h{i % 3} n={i} status={'error' if i % 5 == 0 else 'ok'}")
    _write(root / "web.log", REST_N, lambda i: f"n={i} status={'error' if i % 4 == 0 else 'ok'}")
    srv = ServerProc(root / "home", ["--admin-password-file", str(root / "pw")]).start()
    for name, index, count in (("app.log", "main", SDK_N), ("web.log", "rest", REST_N)):
        r = srv.api("POST", "/api/v1/inputs/oneshot", json={"path": str(root / name), "index": index,
                                                            "sourcetype": "kv_lines"})
        assert r.status_code == 200 and r.json()["events"] == count, r.text
    wait_for(lambda: srv.search("index=main")["total"] == SDK_N and srv.search("index=rest")["total"] == REST_N)
    yield srv
    srv.stop()
