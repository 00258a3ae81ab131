"""Syslog listeners of a real `speleo serve`, fed by util-linux `logger` over UDP and TCP."""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
import uuid

import pytest

from tests.conftest import ServerProc, free_port, free_udp_port, wait_for

pytestmark = pytest.mark.e2e

LOGGER = shutil.which("logger")


@pytest.fixture(scope="module")
def syslog_server(tmp_path_factory):
    home = tmp_path_factory.mktemp("syslog") / "home"
    udp, tcp = free_udp_port(), free_port()
    server = ServerProc(home, ["--hec-port", "0", "--syslog-udp-port", str(udp), "--syslog-tcp-port", str(tcp),
                               "--syslog-index", "netlog", "--syslog-tz", "UTC"])
    server.udp, server.tcp = udp, tcp
    server.start()
    yield server
    server.stop()


def found(server, spl: str, n: int) -> list[dict]:
    return wait_for(lambda: (lambda ev: ev if len(ev) >= n else None)(server.search(spl)["events"]), timeout=20)


@pytest.mark.skipif(LOGGER is None, reason="util-linux logger not installed (apt-get install bsdutils)")
@pytest.mark.parametrize("transport", ["udp", "tcp", "tcp-octet"])
@pytest.mark.parametrize("rfc", ["--rfc3164", "--rfc5424"])
def test_logger(syslog_server, transport, rfc):
    tag = uuid.uuid4().hex[:10]
    port = syslog_server.udp if transport == "udp" else syslog_server.tcp
    args = [LOGGER, "-n", "127.0.0.1", "-P", str(port), "-d" if transport == "udp" else "-T", rfc,
            "-p", "auth.err", "-t", "sshd", f"message {transport} {tag}"]
    if transport == "tcp-octet":
        args.insert(1, "--octet-count")
    subprocess.run(args, check=True, timeout=10)
    (ev,) = found(syslog_server, f"index=netlog severity=err facility=auth appname=sshd {tag}", 1)
    assert ev["sourcetype"] == "syslog" and ev["index"] == "netlog"
    assert ev["source"] == (f"udp:{port}" if transport == "udp" else f"tcp:{port}")
    assert ev["host"] == socket.gethostname()
    # the <PRI> is not in _raw (Splunk strips it); facility and severity are indexed fields
    assert not ev["_raw"].startswith("<") and ev["_raw"].endswith(f"message {transport} {tag}")
    assert ev["_raw"].startswith("1 ") == (rfc == "--rfc5424")
    assert "_flags" not in ev or "syslog_malformed" not in ev["_flags"]


def test_many_tcp_messages_one_connection_and_malformed_kept(syslog_server):
    tag = uuid.uuid4().hex[:10]
    lines = [f"<14>1 2024-05-01T10:00:{i:02d}Z box{i % 3} app 42 - - line {i} {tag}" for i in range(50)]
    payload = "".join(f"{len(m.encode())} {m}" for m in lines[:25]).encode()     # octet counting
    payload += "".join(m + "\n" for m in lines[25:]).encode()                       # then newlines
    payload += f"not syslog at all {tag}\n".encode() + b"\xff\xfe broken " + tag.encode() + b"\n"
    with socket.create_connection(("127.0.0.1", syslog_server.tcp)) as s:
        s.sendall(payload)
    ev = found(syslog_server, f"index=netlog {tag}", 52)
    assert len(ev) == 52
    good = [e for e in ev if e["_raw"].startswith("1 2024-05-01")]
    assert sorted(e["_raw"] for e in good) == sorted(m[len("<14>"):] for m in lines)
    assert {e["host"] for e in good} == {"box0", "box1", "box2"}
    assert min(e["_time"] for e in good).startswith("2024-05-01T10:00:00")
    bad = [e for e in ev if not e["_raw"].startswith("1 2024-05-01")]
    assert len(bad) == 2 and all("syslog_malformed" in e["_flags"] for e in bad)
    assert all(e["host"] == "127.0.0.1" for e in bad)


def test_udp_datagrams(syslog_server):
    tag = uuid.uuid4().hex[:10]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for i in range(20):
            s.sendto(f"<13>Oct 11 22:14:{i:02d} gw01 kernel: pkt {i} {tag}".encode(), ("127.0.0.1", syslog_server.udp))
    ev = found(syslog_server, f"index=netlog host=gw01 {tag}", 20)
    assert all("-10-11T22:14:" in e["_time"] for e in ev)


def test_indexed_fields_header_and_structured_data(syslog_server):
    tag = uuid.uuid4().hex[:10]
    msgs = [
        f'<35>1 2024-05-01T10:00:00Z box sshd 4242 LOGIN [origin ip="10.0.0.9" software="a\\"b\\]c"]'
        f'[meta@32473 seq="7" seq="8"] 5424 {tag}',
        f"<86>May  1 10:00:01 box cron[77]: 3164 {tag}",
        f"<191>1 2024-05-01T10:00:02Z - - - - - nil {tag}",
        f"no pri {tag}",
    ]
    with socket.create_connection(("127.0.0.1", syslog_server.tcp)) as s:
        s.sendall("".join(f"{len(m.encode())} {m}" for m in msgs).encode())
    assert len(found(syslog_server, f"index=netlog {tag}", 4)) == 4

    def one(spl: str) -> dict:
        ev = syslog_server.search(f"index=netlog {spl} {tag}")["events"]
        assert len(ev) == 1, (spl, ev)
        return ev[0]

    assert "5424" in one("severity=err facility=auth appname=sshd procid=4242 msgid=LOGIN")["_raw"]
    assert "5424" in one('sd.origin.ip="10.0.0.9" sd.origin.software="a\\"b]c"')["_raw"]
    assert "3164" in one("facility=authpriv severity=info appname=cron procid=77")["_raw"]
    assert "nil" in one("facility=local7 severity=debug")["_raw"]
    assert syslog_server.search(f"index=netlog appname=* nil {tag}")["events"] == []
    assert syslog_server.search(f"index=netlog facility=* {tag} | stats count")["results"][0]["count"] in (3, "3")


def test_kill9_keeps_every_message_the_journal_took(tmp_path, server_factory):
    """TCP syslog has no acknowledgement, but what the listener counted as stored (journaled and
    fsynced: `events_ingested_since_start`) survives a kill -9 mid-stream, batches parsed side by
    side reach the journal in the order received (what survives is the stream's first messages,
    each once), and the restarted server seals it."""
    home, tcp = tmp_path / "home", free_port()
    extra = ["--hec-port", "0", "--syslog-tcp-port", str(tcp), "--syslog-index", "netlog", "--syslog-tz", "UTC"]
    server = server_factory(home, extra).start()
    chunk = 20_000

    def send() -> None:
        try:
            with socket.create_connection(("127.0.0.1", tcp)) as s:
                for start in range(0, 2_000_000, chunk):
                    s.sendall(b"".join(b"%d %s" % (len(m), m) for m in (
                        b"<14>1 2026-05-28T10:00:00Z box app 42 - - seq=%d kill9" % i for i in range(start, start + chunk))))
        except OSError:   # the server was killed
            pass

    sender = threading.Thread(target=send)
    sender.start()
    durable = wait_for(lambda: (lambda n: n if n >= 3 * chunk else None)(
        server.api("GET", "/api/v1/status").json()["server"]["events_ingested_since_start"]), timeout=60, interval=0.01)
    server.kill9()
    sender.join(timeout=30)
    server = server_factory(home, extra).start()
    row = server.search("index=netlog kill9 | stats count, dc(seq) as d, max(seq) as m")["results"][0]
    assert durable <= int(row["count"]) < 2_000_000   # killed mid-stream
    assert int(row["count"]) == int(row["d"]) == int(row["m"]) + 1
    server.stop()
