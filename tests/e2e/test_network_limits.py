"""Bounds on what unauthenticated senders can make a real `speleo serve` hold, and the counts of
what it refused (issue 9): over-long syslog frames, a lying octet count, a gzip bomb, too many
connections, silent connections, TLS handshakes that never end; plus the syslog header faults."""

from __future__ import annotations

import gzip
import json
import socket
import time
import uuid
import zlib

import httpx
import pytest

from tests.conftest import ServerProc, free_port, run_cli, wait_for

pytestmark = pytest.mark.e2e

MAX = 64 * 1024


def mem_kb(pid: int, key: str) -> int:
    for line in open(f"/proc/{pid}/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise AssertionError(key)


def refused(server) -> dict[tuple[str, str], int]:
    body = server.api("GET", "/api/v1/status").json()
    return {(r["source"], r["reason"]): r["count"] for r in body["server"]["network"]["refused"]}


def found(server, spl: str, n: int) -> list[dict]:
    return wait_for(lambda: (lambda ev: ev if len(ev) >= n else None)(server.search(spl)["events"]), timeout=20)


@pytest.fixture(scope="module")
def syslog_server(tmp_path_factory):
    home = tmp_path_factory.mktemp("limits") / "home"
    tcp = free_port()
    server = ServerProc(home, ["--hec-port", "0", "--syslog-tcp-port", str(tcp), "--syslog-tz", "UTC"])
    server.tcp = tcp
    server.start()
    yield server
    server.stop()


def test_overlong_line_is_one_truncated_event_and_what_follows_is_whole(syslog_server):
    tag = uuid.uuid4().hex[:10]
    big = f"<13>Oct 11 22:14:15 h app: big {tag} ".encode() + b"a" * 200_000
    after = f"<13>Oct 11 22:14:16 h app: after {tag}".encode()
    source = f"tcp:{syslog_server.tcp}"
    key = (source, f"bytes dropped past the {MAX}-byte message limit")
    old = refused(syslog_server).get(key, 0)
    with socket.create_connection(("127.0.0.1", syslog_server.tcp)) as s:
        s.sendall(big + b"\n" + after + b"\n")
    ev = found(syslog_server, f"{tag} | sort _time", 2)
    assert len(ev) == 2
    assert ev[0]["_raw"] == big[len("<13>"):MAX].decode() and ev[0]["_flags"].split(",") == ["truncated"]
    assert ev[1]["_raw"] == after[len("<13>"):].decode() and not ev[1].get("_flags")
    wait_for(lambda: refused(syslog_server).get(key, 0) - old == len(big) - MAX)
    # flagged events are counted in the catalog's problems (speleo status)
    st = json.loads(run_cli(syslog_server.home, "status", "--json").stdout)
    probs = {(p["kind"], p["source"], p["reason"]): p["count"] for p in st["problems"]}
    assert probs[("flagged", source, "truncated")] >= 1


def test_lying_octet_count_is_skipped_without_buffering(syslog_server):
    pid = syslog_server.proc.pid
    before = mem_kb(pid, "VmHWM")
    payload = b"<13>" + b"z" * (96 * 1024 * 1024)
    source = f"tcp:{syslog_server.tcp}"
    key = (source, f"bytes dropped past the {MAX}-byte message limit")
    old = refused(syslog_server).get(key, 0)
    with socket.create_connection(("127.0.0.1", syslog_server.tcp)) as s:
        s.sendall(b"9999999999 " + payload)   # returns once the server has read all but a few MB
    grown_mb = (mem_kb(pid, "VmHWM") - before) / 1024
    assert grown_mb < 32, f"peak RSS grew by {grown_mb:.0f} MB for a 96 MB frame"
    wait_for(lambda: refused(syslog_server).get(key, 0) - old >= len(payload) - MAX, timeout=60)
    assert refused(syslog_server)[key] - old == len(payload) - MAX
    assert (mem_kb(pid, "VmHWM") - before) / 1024 < 32
    # the listener still works, and the first 64 KB of the frame were kept as a truncated event
    tag = uuid.uuid4().hex[:10]
    with socket.create_connection(("127.0.0.1", syslog_server.tcp)) as s:
        s.sendall(f"<13>Oct 11 22:14:15 h app: still up {tag}\n".encode())
    assert found(syslog_server, tag, 1)


def test_syslog_header_faults(syslog_server):
    tag = uuid.uuid4().hex[:10]
    msgs = [
        f'<14>1 2024-05-01T10:00:00Z sdhost app - - [origin ip="10.0.0.9" unterminated {tag}',
        f"Oct 11 22:14:15 nopri kernel: no pri {tag}",
        f"<13>Dec 31 23:59:58 2025 yearhost app: year after the time {tag}",
    ]
    with socket.create_connection(("127.0.0.1", syslog_server.tcp)) as s:
        s.sendall("".join(m + "\n" for m in msgs).encode())
    found(syslog_server, tag, 3)

    def one(spl: str) -> dict:
        (e,) = syslog_server.search(f"{spl} {tag}")["events"]
        return e

    sd = one("host=sdhost")
    assert "syslog_malformed" in sd["_flags"] and sd["_time"].startswith("2024-05-01T10:00:00")
    assert syslog_server.search(f"sd.origin.ip=* {tag}")["events"] == []
    nopri = one("host=nopri")
    assert nopri["_raw"] == msgs[1] and "syslog_malformed" in nopri["_flags"]
    assert nopri["_time"][4:].startswith("-10-11T22:14:15")
    year = one("host=yearhost")
    assert year["_time"].startswith("2025-12-31T23:59:58") and not year.get("_flags")


# -- connection bounds ------------------------------------------------------------------------
def closed_by_server(s: socket.socket, timeout: float = 10.0) -> bytes:
    """What the server sent before closing `s` (fails if it stays open for `timeout`)."""
    s.settimeout(timeout)
    got = b""
    try:
        while True:
            chunk = s.recv(4096)
            if not chunk:
                return got
            got += chunk
    except ConnectionResetError:
        return got


def test_connections_are_bounded_and_silent_ones_closed(tmp_path, cert):
    home = tmp_path / "home"
    tcp, tls, hec = free_port(), free_port(), free_port()
    server = ServerProc(home, ["--hec-port", str(hec), "--syslog-tcp-port", str(tcp), "--syslog-tls-port", str(tls),
                               "--syslog-tls-cert", str(cert[0]), "--syslog-tls-key", str(cert[1]),
                               "--max-connections", "3", "--idle-timeout", "1"]).start()
    try:
        for port, source in ((tcp, f"tcp:{tcp}"), (hec, f"hec:{hec}"), (server.port, "api"), (tls, f"tls:{tls}")):
            idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(3)]
            time.sleep(0.2)   # the server has admitted them
            with socket.create_connection(("127.0.0.1", port)) as extra:
                answer = closed_by_server(extra, timeout=0.9)   # refused at once, before the idle time
            if source in (f"hec:{hec}", "api"):
                assert answer.startswith(b"HTTP/1.1 503 ")
            for s in idle:   # silent for 1 s: closed (a TLS handshake not even started, for tls)
                closed_by_server(s, timeout=10)
                s.close()
        counts = wait_for(lambda: (lambda c: c if len(c) >= 8 else None)(refused(server)))
        for source in (f"tcp:{tcp}", f"hec:{hec}", "api", f"tls:{tls}"):
            assert counts[(source, "connection refused: 3 already open")] == 1, counts
        for source, what in ((f"tcp:{tcp}", "connection closed: no data for 1s"),
                             (f"hec:{hec}", "connection closed: no request data for 1s"),
                             ("api", "connection closed: no request data for 1s"),
                             (f"tls:{tls}", "TLS handshake not finished in 1s")):
            assert counts.get((source, what)) == 3, counts
        # and the catalog's problem counters (speleo status) get them within seconds
        def persisted():
            st = json.loads(run_cli(home, "status", "--json").stdout)
            return {(p["source"], p["reason"]): p["count"] for p in st["problems"] if p["kind"] == "dropped"}
        wait_for(lambda: persisted().get(("api", "connection refused: 3 already open")) == 1)
    finally:
        server.stop()


# -- HEC gzip bomb ----------------------------------------------------------------------------
def test_gzip_bomb_is_refused_without_inflating_it(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    token = run_cli(home, "token", "create", "t", "--index", "main").stdout.strip()
    hec = free_port()
    server = ServerProc(home, ["--hec-port", str(hec)]).start()
    try:
        z = zlib.compressobj(9, zlib.DEFLATED, 31)   # gzip
        zeros = b"0" * (1024 * 1024)
        bomb = b"".join(z.compress(zeros) for _ in range(400)) + z.flush()   # 400 MB once inflated
        assert len(bomb) < 1024 * 1024
        before = mem_kb(server.proc.pid, "VmHWM")
        r = httpx.post(f"http://127.0.0.1:{hec}/services/collector/event", content=bomb, timeout=120,
                       headers={"Authorization": f"Splunk {token}", "Content-Encoding": "gzip"})
        assert r.status_code == 413, r.text
        assert r.json()["text"].startswith("Decompressed content of ") and "maximum is 104857600" in r.json()["text"]
        grown_mb = (mem_kb(server.proc.pid, "VmHWM") - before) / 1024
        assert grown_mb < 200, f"peak RSS grew by {grown_mb:.0f} MB for a 400 MB gzip bomb"
        counts = refused(server)
        assert counts[(f"hec:{hec}", "request refused (413): gzip body over 104857600 bytes decompressed")] == 1
        # a normal gzip body still works
        tag = uuid.uuid4().hex
        r = httpx.post(f"http://127.0.0.1:{hec}/services/collector/event",
                       content=gzip.compress(json.dumps({"event": tag}).encode()), timeout=30,
                       headers={"Authorization": f"Splunk {token}", "Content-Encoding": "gzip"})
        assert r.json()["code"] == 0
        assert found(server, tag, 1)[0]["_raw"] == tag
    finally:
        server.stop()


def test_api_bodies_are_bounded_before_the_token_is_checked(syslog_server):
    limit = 16 * 1024 * 1024
    key = ("api", f"request refused (413): body over {limit} bytes")
    old = refused(syslog_server).get(key, 0)
    head = (f"POST /api/v1/search HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Content-Length: {limit + 1}\r\n\r\n").encode()
    with socket.create_connection(("127.0.0.1", syslog_server.port)) as s:
        s.sendall(head + b'{"search": "')   # no body to speak of: refused on the declared length
        assert closed_by_server(s, timeout=10).startswith(b"HTTP/1.1 413 ")
    chunk = b"x" * (1024 * 1024)
    with socket.create_connection(("127.0.0.1", syslog_server.port)) as s:
        s.sendall(b"POST /api/v1/search HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Transfer-Encoding: chunked\r\n\r\n")
        try:
            for _ in range(24):   # 24 MB of chunks, no token
                s.sendall(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass
        answer = closed_by_server(s, timeout=10)   # the 413, unless a reset of the unread data beat it
        assert answer.startswith(b"HTTP/1.1 413 ") or answer == b""
    assert refused(syslog_server)[key] - old == 2


def test_endless_request_head_is_refused_and_counted(syslog_server):
    key = ("api", "request refused (400): malformed HTTP or head over 16 KB")
    old = refused(syslog_server).get(key, 0)
    pid = syslog_server.proc.pid
    before = mem_kb(pid, "VmHWM")
    with socket.create_connection(("127.0.0.1", syslog_server.port)) as s:
        s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")
        try:
            for _ in range(64):   # 64 MB of header lines, never ending the head
                s.sendall(b"X-Pad: " + b"p" * (1024 * 1024 - 9) + b"\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass
        answer = closed_by_server(s, timeout=10)   # the 400, unless a reset of the unread data beat it
        assert answer.startswith(b"HTTP/1.1 400 ") or answer == b""
    assert refused(syslog_server)[key] - old == 1
    assert (mem_kb(pid, "VmHWM") - before) / 1024 < 32


def test_a_large_head_under_the_bound_and_a_body_in_the_same_packet_are_served(syslog_server):
    """The head bound counts the head only: 15 KB of headers followed, in the same write, by a
    256 KB body (a search, padded with spaces) is answered, not refused, and counted nowhere."""
    key = ("api", "request refused (400): malformed HTTP or head over 16 KB")
    old = refused(syslog_server).get(key, 0)
    spl = json.dumps({"search": "| makeresults count=3 | stats count", "limit": 10}).encode()
    body = spl + b" " * (256 * 1024)
    pad = b"X-Pad: " + b"p" * (15 * 1024) + b"\r\n"
    head = (b"POST /api/v1/search HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + syslog_server.token.encode()
            + b"\r\n" + pad + b"Content-Type: application/json\r\nContent-Length: " + str(len(body)).encode()
            + b"\r\nConnection: close\r\n\r\n")
    with socket.create_connection(("127.0.0.1", syslog_server.port)) as s:
        s.sendall(head + body)
        answer = closed_by_server(s, timeout=30)
    assert answer.startswith(b"HTTP/1.1 200 "), answer[:200]
    assert b'"count":3' in answer.replace(b" ", b"") or b'"count":"3"' in answer.replace(b" ", b"")
    assert refused(syslog_server).get(key, 0) == old
