"""TLS on the network inputs of a real `speleo serve`: HEC over HTTPS and syslog over TLS
(RFC 5425, octet counting), with a self-signed certificate made by the `openssl` CLI (fixture `cert`, conftest.py)."""

from __future__ import annotations

import json
import shutil
import socket
import ssl
import subprocess
import time
import uuid

import httpx
import pytest

from tests.conftest import ServerProc, free_port, run_cli, speleo_cmd, wait_for

pytestmark = pytest.mark.e2e

OPENSSL = shutil.which("openssl")  # s_client below; the certificate comes from conftest.py


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory, cert):
    home = tmp_path_factory.mktemp("tlssrv") / "home"
    home.mkdir()
    token = run_cli(home, "token", "create", "tls", "--index", "main").stdout.strip()
    hec, syslog_tls = free_port(), free_port()
    crt, key = map(str, cert)
    server = ServerProc(home, ["--hec-port", str(hec), "--hec-tls-cert", crt, "--hec-tls-key", key,
                               "--syslog-tls-port", str(syslog_tls), "--syslog-tls-cert", crt,
                               "--syslog-tls-key", key, "--syslog-index", "netlog", "--syslog-tz", "UTC"])
    server.hec_url, server.hec_token, server.syslog_tls = f"https://127.0.0.1:{hec}", token, syslog_tls
    server.start()
    yield server
    server.stop()


def found(server, spl: str, n: int) -> list[dict]:
    return wait_for(lambda: (lambda ev: ev if len(ev) >= n else None)(server.search(spl)["events"]), timeout=20)


def test_hec_over_https_verified_against_the_certificate(tls_server, cert):
    tag = uuid.uuid4().hex[:10]
    ctx = ssl.create_default_context(cafile=str(cert[0]))
    with httpx.Client(verify=ctx, timeout=30) as c:
        r = c.get(tls_server.hec_url + "/services/collector/health")
        assert r.json() == {"text": "HEC is healthy", "code": 17}
        r = c.post(tls_server.hec_url + "/services/collector/event",
                   headers={"Authorization": f"Splunk {tls_server.hec_token}"},
                   content=json.dumps({"event": f"over tls {tag}", "fields": {"via": "https"}}))
        assert r.status_code == 200 and r.json() == {"text": "Success", "code": 0}
    (e,) = found(tls_server, f"via=https {tag}", 1)
    assert e["_raw"] == f"over tls {tag}"
    # plain HTTP to the HTTPS port gets no HEC answer; an unverified certificate is refused by a checking client
    with pytest.raises(httpx.HTTPError):
        httpx.get(tls_server.hec_url.replace("https:", "http:") + "/services/collector/health", timeout=5)
    with pytest.raises(httpx.ConnectError):
        httpx.get(tls_server.hec_url + "/services/collector/health", timeout=5)  # system CAs only


def test_syslog_over_tls_octet_counting_python_client(tls_server, cert):
    tag = uuid.uuid4().hex[:10]
    msgs = [f"<35>1 2024-05-01T10:00:{i:02d}Z tlshost sshd {i} - - secret {i} {tag}" for i in range(30)]
    msgs.append(f"<86>May  1 10:00:59 tlshost cron[9]: with\nnewline {tag}")  # octet counting keeps it whole
    ctx = ssl.create_default_context(cafile=str(cert[0]))
    with socket.create_connection(("127.0.0.1", tls_server.syslog_tls), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost") as s:
            assert s.version() in ("TLSv1.2", "TLSv1.3")
            s.sendall("".join(f"{len(m.encode())} {m}" for m in msgs).encode())
    ev = found(tls_server, f"index=netlog {tag}", 31)
    assert {e["source"] for e in ev} == {f"tls:{tls_server.syslog_tls}"} and {e["host"] for e in ev} == {"tlshost"}
    assert len(found(tls_server, f"index=netlog facility=auth severity=err appname=sshd {tag}", 30)) == 30
    (multi,) = found(tls_server, f"index=netlog facility=authpriv procid=9 {tag}", 1)
    assert multi["_raw"].endswith(f"with\nnewline {tag}")


def test_syslog_over_tls_openssl_s_client(tls_server, cert):
    tag = uuid.uuid4().hex[:10]
    m = f"<13>1 2024-05-01T11:00:00Z sclient app - - - from s_client {tag}"
    subprocess.run([OPENSSL, "s_client", "-quiet", "-no_ign_eof", "-verify_return_error", "-CAfile", str(cert[0]),
                    "-connect", f"127.0.0.1:{tls_server.syslog_tls}"],
                   input=f"{len(m)} {m}".encode(), check=True, capture_output=True, timeout=30)
    (e,) = found(tls_server, f"index=netlog host=sclient severity=notice {tag}", 1)
    assert e["_raw"] == m[len("<13>"):]


def test_plain_tcp_to_the_tls_port_is_not_ingested_and_the_server_stays_up(tls_server):
    tag = uuid.uuid4().hex[:10]
    with socket.create_connection(("127.0.0.1", tls_server.syslog_tls), timeout=10) as s:
        s.sendall(f"<13>plain text {tag}\n".encode())
        s.settimeout(10)
        try:
            s.recv(100)
        except OSError:
            pass
    assert httpx.get(tls_server.url + "/health", timeout=5).status_code == 200
    assert tls_server.search(f"{tag}")["events"] == []


@pytest.mark.parametrize("args, message", [
    (["--syslog-tls-port", "6514"], "--syslog-tls-port needs --syslog-tls-cert"),
    (["--hec-tls-key", "{key}"], "--hec-tls-key needs --hec-tls-cert"),
])
def test_tls_options_must_come_together(tmp_path, cert, args, message):
    args = [a.format(key=cert[1]) for a in args]
    p = subprocess.run(speleo_cmd(tmp_path / "home", "serve", "--port", str(free_port()), "--hec-port", "0", *args),
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 2 and message in p.stderr


def test_bad_certificate_fails_at_start(tmp_path, cert):
    bad = tmp_path / "bad.pem"
    bad.write_text("not a certificate\n")
    p = subprocess.run(speleo_cmd(tmp_path / "home", "serve", "--port", str(free_port()), "--hec-port", "0",
                                  "--syslog-tls-port", str(free_port()), "--syslog-tls-cert", str(bad)),
                       capture_output=True, text=True, timeout=60)
    assert p.returncode != 0


def test_api_and_web_over_https_and_admin_password_from_a_file(tmp_path, cert):
    """`--tls-cert/--tls-key` for the API/web port; `--admin-password-file` sets the first admin's
    password, which is then never printed."""
    home = tmp_path / "home"
    home.mkdir()
    password = f"pw-{uuid.uuid4().hex}"
    pwfile = tmp_path / "admin.pw"
    pwfile.write_text(password + "\n")
    port = free_port()
    log = tmp_path / "serve.log"
    with open(log, "wb") as logf:
        proc = subprocess.Popen(speleo_cmd(home, "serve", "--port", str(port), "--hec-port", "0",
                                           "--tls-cert", str(cert[0]), "--tls-key", str(cert[1]),
                                           "--admin-password-file", str(pwfile)),
                                stdout=logf, stderr=subprocess.STDOUT)
    ctx = ssl.create_default_context(cafile=str(cert[0]))
    try:
        def up():
            try:
                return httpx.get(f"https://127.0.0.1:{port}/health", verify=ctx, timeout=2).status_code == 200
            except httpx.HTTPError:
                assert proc.poll() is None, log.read_text()
                return False
        wait_for(up, timeout=60)
        assert json.loads((home / "server.json").read_text())["url"] == f"https://127.0.0.1:{port}"
        api_token = (home / "api_token").read_text().strip()
        r = httpx.get(f"https://127.0.0.1:{port}/api/v1/status", verify=ctx, timeout=30,
                      headers={"Authorization": f"Bearer {api_token}"})
        assert r.status_code == 200 and r.json()["server"]["pid"] == proc.pid
        with pytest.raises(httpx.HTTPError):   # plain HTTP gets no answer from the HTTPS port
            httpx.get(f"http://127.0.0.1:{port}/health", timeout=5)
        # the CLI finds the server through server.json and talks HTTPS to it (status shows its pid)
        st = json.loads(run_cli(home, "status", "--json").stdout)
        assert st["server"]["pid"] == proc.pid, st["server"]
    finally:
        proc.terminate()
        assert proc.wait(timeout=60) == 0
    out = log.read_text()
    assert password not in out and "admin" in out
    from speleo.config import Home
    from speleo.ops.users import Users

    users = Users(Home(home))
    assert users.authenticate("admin", password) is not None


def test_first_admin_password_printed_once_with_a_warning(tmp_path):
    server = ServerProc(tmp_path / "home", ["--hec-port", "0"]).start()
    server.stop()
    out = server.log.read_text()
    assert "created web user 'admin' with password: " in out
    assert "Shown only this once" in out and "keeps the password too" in out and "--admin-password-file" in out


def test_short_admin_password_file_is_refused(tmp_path):
    pw = tmp_path / "pw"
    pw.write_text("short\n")
    p = subprocess.run(speleo_cmd(tmp_path / "home", "serve", "--port", str(free_port()), "--hec-port", "0",
                                  "--admin-password-file", str(pw)), capture_output=True, text=True, timeout=60)
    assert p.returncode == 2 and "at least 8 characters" in p.stderr


def test_tls_handshakes_are_bounded_on_the_http_ports(tmp_path, cert):
    """HTTPS on the API and HEC ports: a connection is admitted before its handshake, so silent
    TLS clients count against --max-connections and are closed after --idle-timeout."""
    hec = free_port()
    server = ServerProc(tmp_path / "home", ["--hec-port", str(hec), "--hec-tls-cert", str(cert[0]),
                                            "--hec-tls-key", str(cert[1]), "--tls-cert", str(cert[0]),
                                            "--tls-key", str(cert[1]), "--max-connections", "2",
                                            "--idle-timeout", "1"])
    ctx = ssl.create_default_context(cafile=str(cert[0]))
    server.home.mkdir(parents=True)
    log = open(server.log, "ab")
    server.proc = subprocess.Popen(speleo_cmd(server.home, "serve", "--port", str(server.port), *server.extra),
                                   stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: _https_ok(f"https://127.0.0.1:{server.port}/health", ctx, server), timeout=60)
        for port in (hec, server.port):
            silent = [socket.create_connection(("127.0.0.1", port)) for _ in range(2)]
            time.sleep(0.2)
            with socket.create_connection(("127.0.0.1", port)) as extra:
                extra.settimeout(0.9)
                try:
                    assert extra.recv(100) == b""   # over the limit: closed before any handshake
                except ConnectionResetError:
                    pass
            for s in silent:
                s.settimeout(10)
                try:
                    assert s.recv(100) == b""
                except ConnectionResetError:
                    pass
                s.close()
        r = httpx.get(f"https://127.0.0.1:{hec}/services/collector/health", verify=ctx, timeout=10)
        assert r.json()["code"] == 17
        token = (server.home / "api_token").read_text().strip()
        body = httpx.get(f"https://127.0.0.1:{server.port}/api/v1/status", verify=ctx, timeout=30,
                         headers={"Authorization": f"Bearer {token}"}).json()
        counts = {(c["source"], c["reason"]): c["count"] for c in body["server"]["network"]["refused"]}
        for source in (f"hec:{hec}", "api"):
            assert counts.get((source, "connection refused: 2 already open")) == 1, counts
            assert counts.get((source, "TLS handshake not finished in 1s")) == 2, counts
    finally:
        server.stop()


def _https_ok(url, ctx, server) -> bool:
    assert server.proc.poll() is None, server.log.read_text()
    try:
        return httpx.get(url, verify=ctx, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False
