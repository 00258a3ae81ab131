"""rsyslog forwarding to a real `speleo serve` over TCP with octet counting (RFC 6587).

A private rsyslogd (`-n -f CONF -i PIDFILE`, no system sockets: imuxsock is not loaded) reads
two imtcp inputs fed by util-linux `logger` and an imfile input we append to, and forwards each
with `omfwd` (`TCP_Framing="octet-counted"`) in a different format: RFC 5424
(RSYSLOG_SyslogProtocol23Format), the traditional RFC 3164 one, and RSYSLOG_ForwardFormat
(RFC 3164 with an RFC 3339 timestamp). Every message must be found once, with the right host,
facility, severity and app name.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import time
import uuid

import pytest

from tests.conftest import ServerProc, free_port, wait_for

pytestmark = pytest.mark.e2e

RSYSLOGD = shutil.which("rsyslogd") or (shutil.which("rsyslogd", path="/usr/sbin:/sbin"))
LOGGER = shutil.which("logger")
N = 40


def rsyslog_conf(work, in_5424: int, in_3164: int, logfile, speleo_tcp: int) -> str:
    def fwd(template: str | None) -> str:
        t = f' template="{template}"' if template else ""
        return (f'action(type="omfwd" target="127.0.0.1" port="{speleo_tcp}" protocol="tcp" '
                f'TCP_Framing="octet-counted"{t} action.resumeRetryCount="-1" queue.type="LinkedList")')

    return f"""
global(workDirectory="{work}")
module(load="imtcp")
module(load="imfile")
ruleset(name="r5424") {{ {fwd("RSYSLOG_SyslogProtocol23Format")} }}
ruleset(name="r3164") {{ {fwd(None)} }}
ruleset(name="rhires") {{ {fwd("RSYSLOG_ForwardFormat")} }}
input(type="imtcp" port="{in_5424}" address="127.0.0.1" ruleset="r5424")
input(type="imtcp" port="{in_3164}" address="127.0.0.1" ruleset="r3164")
input(type="imfile" File="{logfile}" Tag="fileapp:" Facility="local3" Severity="warning" ruleset="rhires")
"""


def wait_port(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"nothing listens on {port}")


@contextlib.contextmanager
def private_rsyslogd(tmp_path, speleo_tcp: int):
    """A private rsyslogd (configuration checked with `-N1` first) forwarding to Speleo's TCP port
    `speleo_tcp`: yields (RFC 5424 input port, RFC 3164 input port, the imfile file), both inputs
    listening; terminated (killed after 15 s) on exit."""
    work = tmp_path / "rsyslog"
    work.mkdir()
    logfile = work / "app.log"
    logfile.write_text("")
    in_5424, in_3164 = free_port(), free_port()
    conf = work / "rsyslog.conf"
    conf.write_text(rsyslog_conf(work, in_5424, in_3164, logfile, speleo_tcp))
    check = subprocess.run([RSYSLOGD, "-N1", "-f", str(conf)], capture_output=True, text=True, timeout=30)
    assert check.returncode == 0, check.stderr + check.stdout
    with open(work / "rsyslogd.out", "wb") as rs_log:
        rs = subprocess.Popen([RSYSLOGD, "-n", "-f", str(conf), "-i", str(work / "rsyslogd.pid")],
                              stdout=rs_log, stderr=subprocess.STDOUT)
        try:
            wait_port(in_5424)
            wait_port(in_3164)
            yield in_5424, in_3164, logfile
        finally:
            rs.terminate()
            try:
                rs.wait(timeout=15)
            except subprocess.TimeoutExpired:
                rs.kill()
                rs.wait()


@pytest.mark.skipif(RSYSLOGD is None or LOGGER is None, reason="rsyslog / logger not installed (.ci/run installs them)")
def test_rsyslog_forwards_octet_counted_over_tcp(tmp_path):
    speleo_tcp = free_port()
    server = ServerProc(tmp_path / "home", ["--hec-port", "0", "--syslog-tcp-port", str(speleo_tcp),
                                            "--syslog-index", "fwd", "--syslog-tz", "UTC"])
    server.start()
    try:
        with private_rsyslogd(tmp_path, speleo_tcp) as (in_5424, in_3164, logfile):
            forwarded_once(server, in_5424, in_3164, logfile, speleo_tcp)
    finally:
        server.stop()


def forwarded_once(server, in_5424: int, in_3164: int, logfile, speleo_tcp: int) -> None:
    """Send N messages through each rsyslog input; each must arrive once with its header fields."""
    tag = uuid.uuid4().hex[:10]
    for i in range(N):
        subprocess.run([LOGGER, "-T", "-n", "127.0.0.1", "-P", str(in_5424), "--octet-count", "--rfc5424",
                        "-p", "auth.err", "-t", "sshd", f"r5424 {i} {tag}"], check=True, timeout=10)
        subprocess.run([LOGGER, "-T", "-n", "127.0.0.1", "-P", str(in_3164), "--rfc3164",
                        "-p", "mail.notice", "-t", "postfix", f"r3164 {i} {tag}"], check=True, timeout=10)
    with open(logfile, "a") as f:
        for i in range(N):
            f.write(f"rfile {i} {tag}\n")

    def events(spl: str) -> list[dict]:
        return wait_for(lambda: (lambda ev: ev if len(ev) >= N else None)(server.search(spl)["events"]),
                        timeout=30)

    me = socket.gethostname()
    got = events(f"index=fwd r5424 {tag} facility=auth severity=err appname=sshd")
    assert len(got) == N and {e["host"] for e in got} == {me}
    got = events(f"index=fwd r3164 {tag} facility=mail severity=notice appname=postfix")
    assert len(got) == N and {e["host"] for e in got} == {me}
    got = events(f"index=fwd rfile {tag} facility=local3 severity=warning appname=fileapp")
    assert len(got) == N and {e["host"] for e in got} <= {me, me.split(".")[0]}
    assert {e["source"] for e in got} == {f"tcp:{speleo_tcp}"} and not any(e.get("_flags") for e in got)
    # exactly once: nothing else arrived
    total = server.search(f"index=fwd {tag} | stats count")["results"][0]["count"]
    assert int(total) == 3 * N
    assert sorted(int(e["_raw"].split(" rfile ")[1].split()[0]) for e in got) == list(range(N))


@pytest.mark.skipif(RSYSLOGD is None or LOGGER is None, reason="rsyslog / logger not installed (.ci/run installs them)")
def test_rsyslog_reconnects_after_the_idle_timeout_without_loss(tmp_path):
    """Speleo closes a syslog connection silent for --idle-timeout; rsyslog's omfwd notices the
    closed connection before its next send and reconnects: no message is lost."""
    speleo_tcp = free_port()
    server = ServerProc(tmp_path / "home", ["--hec-port", "0", "--syslog-tcp-port", str(speleo_tcp),
                                            "--syslog-index", "fwd", "--idle-timeout", "1"]).start()
    tag = uuid.uuid4().hex[:10]
    try:
        with private_rsyslogd(tmp_path, speleo_tcp) as (in_5424, _, _):
            reconnects(server, in_5424, tag)
    finally:
        server.stop()


def reconnects(server, in_5424: int, tag: str) -> None:
    """Three bursts, each followed by a silence longer than the idle timeout."""
    sent = 0
    for burst in range(3):
        for _ in range(5):
            subprocess.run([LOGGER, "-T", "-n", "127.0.0.1", "-P", str(in_5424), "--octet-count", "--rfc5424",
                            "-t", "app", f"burst {burst} msg {sent} {tag}"], check=True, timeout=10)
            sent += 1
        wait_for(lambda: int(server.search(f"index=fwd {tag} | stats count")["results"][0]["count"]) == sent)
        time.sleep(2.5)   # silent longer than --idle-timeout: Speleo closes rsyslog's connection
    closed = [r for r in server.api("GET", "/api/v1/status").json()["server"]["network"]["refused"]
              if r["reason"] == "connection closed: no data for 1s"]
    assert closed and closed[0]["count"] >= 2   # the connection really was closed between bursts
    rows = server.search(f"index=fwd {tag}")["events"]
    assert sorted(int(e["_raw"].split(" msg ")[1].split()[0]) for e in rows) == list(range(sent))
