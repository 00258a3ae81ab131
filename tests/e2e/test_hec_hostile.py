"""Hostile input to a real HEC endpoint (hypothesis): the right code, and the server stays up."""

from __future__ import annotations

import json
import socket
import uuid

import httpx
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from tests.conftest import ServerProc, free_port, run_cli

pytestmark = pytest.mark.e2e

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
envelopes = st.dictionaries(
    st.sampled_from(["event", "time", "host", "source", "sourcetype", "index", "fields", "other"]),
    json_values, max_size=6,
)


@pytest.fixture(scope="module")
def hec(tmp_path_factory):
    home = tmp_path_factory.mktemp("hostile") / "home"
    home.mkdir()
    token = run_cli(home, "token", "create", "t", "--index", "main").stdout.strip()
    port = free_port()
    server = ServerProc(home, ["--hec-port", str(port), "--hec-max-content-length", "100000"])
    server.hec_url = f"http://127.0.0.1:{port}"
    server.hec_port = port
    server.client = httpx.Client(headers={"Authorization": f"Splunk {token}"}, timeout=30)
    server.start()
    yield server
    server.client.close()
    server.stop()


def send(hec, body: bytes, **headers) -> httpx.Response:
    return hec.client.post(hec.hec_url + "/services/collector/event", content=body, headers=headers)


def healthy(hec) -> bool:
    return httpx.get(hec.hec_url + "/services/collector/health").json()["code"] == 17


def expected_code(env) -> int:
    """Splunk's answer for one envelope, in Speleo's order of checks."""
    if not isinstance(env, dict):
        return 6
    if env.get("event") is None:
        return 12
    ev = env["event"]
    if (isinstance(ev, str) and not ev.strip()) or (isinstance(ev, (dict, list)) and not ev):
        return 13
    t = env.get("time")
    if t is not None:
        try:
            if isinstance(t, bool) or not isinstance(t, (int, float, str)) or not 0 <= float(t) < 253402300800:
                return 6
        except (ValueError, OverflowError):
            return 6
    for k in ("host", "source", "sourcetype", "index"):
        if env.get(k) not in (None, "") and not isinstance(env[k], str):
            return 6
    if env.get("index") not in (None, "", "main"):
        return 7
    f = env.get("fields")
    if f is not None and (not isinstance(f, dict) or any(
            isinstance(x, (dict, list)) for v in f.values() for x in (v if isinstance(v, list) else [v]))):
        return 15
    return 0


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(envelopes, min_size=1, max_size=5))
def test_random_envelopes_get_splunks_code(hec, envs):
    r = send(hec, "".join(json.dumps(e) for e in envs).encode())
    codes = [expected_code(e) for e in envs]
    bad = next((i for i, c in enumerate(codes) if c), None)
    body = r.json()
    if bad is None:
        assert (r.status_code, body) == (200, {"text": "Success", "code": 0})
    else:
        assert body["code"] == codes[bad] and body["invalid-event-number"] == bad, (envs, body)
        assert r.status_code in (400, 403)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=2000))
def test_random_bytes_never_break_the_server(hec, body):
    r = send(hec, body)
    assert r.status_code in (200, 400), r.text
    assert r.json()["code"] in (0, 5, 6, 7, 12, 13, 15)


def test_deep_nesting_and_huge_numbers(hec):
    assert send(hec, b"[" * 50_000 + b"]" * 50_000).json()["code"] in (5, 6)
    assert send(hec, b'{"event": {"a":' * 5000 + b"1" + b"}" * 5001).json()["code"] == 6 or healthy(hec)
    assert send(hec, b'{"event": "x", "time": 1e999}').json()["code"] == 6
    assert send(hec, b'{"event": "x", "time": ' + b"9" * 5000 + b"}").json()["code"] == 6
    assert send(hec, b'{"event": "\\ud800 lone surrogate"}').json()["code"] == 0
    assert healthy(hec)


def test_huge_payload_and_lying_content_length(hec):
    r = send(hec, b'{"event": "' + b"z" * 200_000 + b'"}')
    assert r.status_code == 413
    assert healthy(hec)


def test_slow_and_half_open_clients_do_not_block_others(hec):
    socks = []
    for _ in range(80):
        s = socket.create_connection(("127.0.0.1", hec.hec_port))
        s.sendall(b"POST /services/collector/event HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{\"ev")
        socks.append(s)
    try:
        tag = uuid.uuid4().hex
        assert send(hec, json.dumps({"event": tag}).encode()).json()["code"] == 0
        assert healthy(hec)
    finally:
        for s in socks:
            s.close()
    assert healthy(hec)
