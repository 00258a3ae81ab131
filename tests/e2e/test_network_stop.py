"""A real `speleo serve` stopped by SIGTERM (as `systemctl stop` does): exit status 0, server.json
removed, the journal sealed, and everything sent before the signal — syslog over TCP and UDP,
HEC — searchable at once by the CLI with no server running."""

from __future__ import annotations

import json
import signal
import socket
import uuid

import httpx
import pytest

from tests.conftest import ServerProc, free_port, free_udp_port, jsonl, run_cli

pytestmark = pytest.mark.e2e


def test_sigterm_is_a_clean_stop(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    token = run_cli(home, "token", "create", "t", "--index", "main").stdout.strip()
    udp, tcp, hec = free_udp_port(), free_port(), free_port()
    server = ServerProc(home, ["--hec-port", str(hec), "--syslog-udp-port", str(udp),
                               "--syslog-tcp-port", str(tcp), "--syslog-tz", "UTC"]).start()
    tag = uuid.uuid4().hex[:10]
    try:
        body = "".join(json.dumps({"event": f"hec {i} {tag}"}) for i in range(100))
        r = httpx.post(f"http://127.0.0.1:{hec}/services/collector/event", content=body,
                       headers={"Authorization": f"Splunk {token}"}, timeout=30)
        assert r.json() == {"text": "Success", "code": 0}
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
            for i in range(200):
                u.sendto(f"<13>Oct 11 22:14:15 gw kernel: udp {i} {tag}".encode(), ("127.0.0.1", udp))
        conn = socket.create_connection(("127.0.0.1", tcp))   # still open when the signal arrives
        msgs = [f"<14>1 2024-05-01T10:00:00Z box app - - - tcp {i} {tag}" for i in range(2000)]
        conn.sendall("".join(f"{len(m)} {m}" for m in msgs).encode())
        server.proc.send_signal(signal.SIGTERM)
        rc = server.proc.wait(timeout=60)
        conn.close()
    finally:
        server.stop()
    log = server.log.read_text()
    assert rc == 0, log
    assert "received SIGTERM: stopping" in log and "Traceback" not in log
    assert not (home / "server.json").exists()
    assert list((home / "journal").glob("*.wal")) == []   # sealed into buckets
    rows = jsonl(run_cli(home, "search", f"{tag} | stats count by source", "--output", "jsonl").stdout)
    assert {r["source"]: int(r["count"]) for r in rows} == {
        "http:t": 100, f"udp:{udp}": 200, f"tcp:{tcp}": 2000}


def test_second_signal_during_the_stop_is_ignored(tmp_path):
    home = tmp_path / "home"
    server = ServerProc(home, ["--hec-port", "0"]).start()
    try:
        server.proc.send_signal(signal.SIGTERM)
        server.proc.send_signal(signal.SIGINT)
        rc = server.proc.wait(timeout=60)
    finally:
        server.stop()
    assert rc == 0, server.log.read_text()
    assert not (home / "server.json").exists()
