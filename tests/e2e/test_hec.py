"""The HTTP Event Collector against a real `speleo serve`: plain HTTP clients and a HEC logging
handler from PyPI send events that are then found by search; every error code; gzip; acks."""

from __future__ import annotations

import gzip
import json
import logging
import uuid

import httpx
import pytest

from tests.conftest import ServerProc, free_port, run_cli, wait_for

pytestmark = pytest.mark.e2e

CHANNEL = str(uuid.uuid4())


@pytest.fixture(scope="module")
def hec(tmp_path_factory):
    home = tmp_path_factory.mktemp("hec") / "home"
    home.mkdir()
    tokens = {
        "plain": run_cli(home, "token", "create", "plain", "--index", "web", "--allowed-indexes", "main,apps").stdout.strip(),
        "acked": run_cli(home, "token", "create", "acked", "--index", "web", "--ack", "--sourcetype", "myapp").stdout.strip(),
    }
    port = free_port()
    server = ServerProc(home, ["--hec-port", str(port), "--hec-max-content-length", str(2 * 1024 * 1024)])
    server.hec_url = f"http://127.0.0.1:{port}"
    server.tokens = tokens
    server.start()
    yield server
    server.stop()


def post(server, path="/services/collector/event", body=b"", token="plain", headers=None, **kw) -> httpx.Response:
    h = {"Authorization": f"Splunk {server.tokens.get(token, token)}"} if token else {}
    h.update(headers or {})
    if isinstance(body, (dict, list)):
        body = json.dumps(body).encode()
    return httpx.post(server.hec_url + path, content=body, headers=h, timeout=30, **kw)


def found(server, spl: str, n: int) -> list[dict]:
    return wait_for(lambda: (lambda ev: ev if len(ev) >= n else None)(server.search(spl)["events"]), timeout=20)


def test_token_create_prints_only_the_token(hec):
    for t in hec.tokens.values():
        assert str(uuid.UUID(t)) == t
    listed = run_cli(hec.home, "token", "list", "--json").stdout
    assert hec.tokens["plain"] not in listed and "plain" in listed


def test_events_batch_found_with_their_metadata(hec):
    tag = uuid.uuid4().hex[:10]
    body = "".join(json.dumps(e) for e in [
        {"event": f"first {tag}", "time": 1_700_000_000.25, "host": "web01", "source": "app.log", "sourcetype": "st1"},
        {"event": {"msg": f"second {tag}", "n": 2}, "time": "1700000001", "index": "apps"},
        {"event": f"third {tag}", "fields": {"team": "ops", "tags": ["a", "b"]}},
    ])
    r = post(hec, body=body.encode())
    assert r.status_code == 200 and r.json() == {"text": "Success", "code": 0}
    ev = {e["_raw"].split(tag)[0]: e for e in found(hec, f"index=web OR index=apps {tag}", 3)}
    first = ev["first "]
    assert (first["host"], first["source"], first["sourcetype"], first["index"]) == ("web01", "app.log", "st1", "web")
    assert first["_time"].startswith("2023-11-14T22:13:20.250")
    second = next(e for k, e in ev.items() if "second" in k)
    assert json.loads(second["_raw"]) == {"msg": f"second {tag}", "n": 2}
    assert second["index"] == "apps" and second["source"] == "http:plain" and second["sourcetype"] == "httpevent"
    assert second["_time"].startswith("2023-11-14T22:13:21")
    # JSON events are searchable by their fields
    assert found(hec, f"index=apps msg=\"second {tag}\" n=2", 1)


def test_json_array_batch_and_collector_path(hec):
    tag = uuid.uuid4().hex[:10]
    r = post(hec, "/services/collector", [{"event": f"a {tag}"}, {"event": f"b {tag}"}])
    assert r.json()["code"] == 0
    r = post(hec, "/services/collector/event/1.0", {"event": f"c {tag}"})
    assert r.json()["code"] == 0
    assert len(found(hec, f"index=web {tag}", 3)) == 3


def test_gzip_body(hec):
    tag = uuid.uuid4().hex[:10]
    body = gzip.compress("".join(json.dumps({"event": f"gz {i} {tag}"}) for i in range(50)).encode())
    r = post(hec, body=body, headers={"Content-Encoding": "gzip"})
    assert r.json() == {"text": "Success", "code": 0}
    assert len(found(hec, f"index=web {tag}", 50)) == 50
    r = post(hec, body=b"not gzip", headers={"Content-Encoding": "gzip"})
    assert r.status_code == 400 and r.json()["code"] == 6


def test_raw_endpoint_breaks_lines_and_reads_timestamps(hec):
    tag = uuid.uuid4().hex[:10]
    body = f"2024-03-01 10:00:00 one {tag}\n2024-03-01 10:00:01 two {tag}\n".encode()
    r = post(hec, f"/services/collector/raw?host=rawhost&sourcetype=rawst&index=apps", body)
    assert r.json() == {"text": "Success", "code": 0}
    ev = found(hec, f"index=apps {tag}", 2)
    assert {e["host"] for e in ev} == {"rawhost"} and {e["sourcetype"] for e in ev} == {"rawst"}
    assert sorted(e["_time"][:19] for e in ev) == ["2024-03-01T10:00:00", "2024-03-01T10:00:01"]


def test_health_needs_no_token(hec):
    for path in ("/services/collector/health", "/services/collector/health/1.0"):
        r = httpx.get(hec.hec_url + path)
        assert r.status_code == 200 and r.json() == {"text": "HEC is healthy", "code": 17}


@pytest.mark.parametrize("case, status, expected", [
    (dict(token=None), 401, {"text": "Token is required", "code": 2}),
    (dict(token=None, headers={"Authorization": "Bearer abc"}), 401, {"text": "Invalid authorization", "code": 3}),
    (dict(token="00000000-0000-0000-0000-000000000000"), 403, {"text": "Invalid token", "code": 4}),
    (dict(body=b""), 400, {"text": "No data", "code": 5}),
    (dict(body=b"  \n"), 400, {"text": "No data", "code": 5}),
    (dict(body=b'{"event": "x"'), 400, {"text": "Invalid data format", "code": 6, "invalid-event-number": 0}),
    (dict(body=b'{"event": "ok"}{"event": "x", "time": "soon"}'), 400,
     {"text": "Invalid data format", "code": 6, "invalid-event-number": 1}),
    (dict(body=b'{"event": "x", "index": "nope"}'), 400, {"text": "Incorrect index", "code": 7, "invalid-event-number": 0}),
    (dict(body=b'{"event": "x", "index": "Bad Name"}'), 400, {"text": "Incorrect index", "code": 7, "invalid-event-number": 0}),
    (dict(body=b'{"host": "h"}'), 400, {"text": "Event field is required", "code": 12, "invalid-event-number": 0}),
    (dict(body=b'{"event": "ok"}{"event": null}'), 400, {"text": "Event field is required", "code": 12, "invalid-event-number": 1}),
    (dict(body=b'{"event": "  "}'), 400, {"text": "Event field cannot be blank", "code": 13, "invalid-event-number": 0}),
    (dict(body=b'{"event": "x", "fields": {"a": {"b": 1}}}'), 400,
     {"text": "Error in handling indexed fields", "code": 15, "invalid-event-number": 0}),
    (dict(body=b'{"event": "x", "host": 5}'), 400, {"text": "Invalid data format", "code": 6, "invalid-event-number": 0}),
    (dict(body=b'{"event": "x"}\xff\xfe'), 400, {"text": "Invalid data format", "code": 6, "invalid-event-number": 1}),
    (dict(token="acked"), 400, {"text": "Data channel is missing", "code": 10}),
    (dict(token="acked", headers={"X-Splunk-Request-Channel": "not-a-guid"}), 400, {"text": "Invalid data channel", "code": 11}),
    (dict(path="/services/collector/ack", body=b'{"acks": [0]}'), 400, {"text": "ACK is disabled", "code": 14}),
])
def test_error_codes(hec, case, status, expected):
    case = dict(case)
    case.setdefault("body", b'{"event": "x"}')
    r = post(hec, **case)
    assert (r.status_code, r.json()) == (status, expected)


def test_good_events_before_a_bad_one_are_indexed(hec):
    tag = uuid.uuid4().hex[:10]
    body = (json.dumps({"event": f"good1 {tag}"}) + json.dumps({"event": f"good2 {tag}"}) + '{"event": ""}'
            + json.dumps({"event": f"after {tag}"})).encode()
    r = post(hec, body=body)
    assert r.json() == {"text": "Event field cannot be blank", "code": 13, "invalid-event-number": 2}
    ev = found(hec, f"index=web {tag}", 2)
    assert sorted(e["_raw"].split()[0] for e in ev) == ["good1", "good2"]


def test_disabled_deleted_and_new_tokens_seen_by_running_server(hec):
    t = run_cli(hec.home, "token", "create", "later", "--index", "main").stdout.strip()
    assert post(hec, body=b'{"event": "x"}', token=t).json()["code"] == 0
    run_cli(hec.home, "token", "disable", "later")
    assert wait_for(lambda: post(hec, body=b'{"event": "x"}', token=t).json()["code"] == 1, timeout=10)
    assert post(hec, body=b'{"event": "x"}', token=t).status_code == 403
    run_cli(hec.home, "token", "delete", "later")
    assert wait_for(lambda: post(hec, body=b'{"event": "x"}', token=t).json()["code"] == 4, timeout=10)


def test_ack_flow(hec):
    ch = str(uuid.uuid4())
    tag = uuid.uuid4().hex[:10]
    ids = []
    for i in range(3):
        r = post(hec, body=json.dumps({"event": f"acked {i} {tag}"}).encode(), token="acked",
                 headers={"X-Splunk-Request-Channel": ch})
        assert r.status_code == 200 and r.json()["code"] == 0
        ids.append(r.json()["ackId"])
    assert ids == [0, 1, 2]
    # the channel may also come as a query parameter
    r = post(hec, f"/services/collector/ack?channel={ch}", {"acks": [0, 1, 2, 3]}, token="acked")
    assert r.status_code == 200 and r.json() == {"acks": {"0": True, "1": True, "2": True, "3": False}}
    # once reported, an ack id is forgotten (as in Splunk)
    r = post(hec, "/services/collector/ack", {"acks": [0]}, token="acked", headers={"X-Splunk-Request-Channel": ch})
    assert r.json() == {"acks": {"0": False}}
    assert post(hec, "/services/collector/ack", {"acks": "x"}, token="acked",
                headers={"X-Splunk-Request-Channel": ch}).json()["code"] == 6
    ev = found(hec, f"index=web {tag}", 3)
    assert {e["sourcetype"] for e in ev} == {"myapp"}


def test_request_too_large_gets_413_and_server_stays_up(hec):
    big = b'{"event": "' + b"x" * (3 * 1024 * 1024) + b'"}'
    r = post(hec, body=big)
    assert r.status_code == 413
    bomb = gzip.compress(b'{"event": "' + b"y" * (5 * 1024 * 1024) + b'"}')
    r = post(hec, body=bomb, headers={"Content-Encoding": "gzip"})
    assert r.status_code == 413
    assert httpx.get(hec.hec_url + "/services/collector/health").json()["code"] == 17


def test_splunk_hec_handler_from_pypi(hec):
    from splunk_hec_handler import SplunkHecHandler

    port = int(hec.hec_url.rsplit(":", 1)[1])
    handler = SplunkHecHandler("127.0.0.1", hec.tokens["plain"], port=port, proto="http", ssl_verify=False,
                               source="pylogger", sourcetype="pyapp", hostname="client01", index="apps")
    logger = logging.getLogger(f"speleo-test-{uuid.uuid4().hex}")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    tag = uuid.uuid4().hex[:10]
    logger.info({"msg": f"handler dict {tag}", "user": "alice", "fields": {"env": "test"}})
    logger.warning(f"handler text {tag}")
    ev = found(hec, f"index=apps sourcetype=pyapp {tag}", 2)
    assert {(e["host"], e["source"], e["index"]) for e in ev} == {("client01", "pylogger", "apps")}
    d = next(json.loads(e["_raw"]) for e in ev if "dict" in e["_raw"])
    assert d["msg"] == f"handler dict {tag}" and d["log_level"] == "INFO"
    assert found(hec, f"index=apps sourcetype=pyapp log_level=WARNING {tag}", 1)
    assert found(hec, f"index=apps user=alice {tag}", 1)
    # the handler sends a dict's `fields` as HEC indexed fields
    (e,) = found(hec, f"index=apps env=test {tag}", 1)
    assert "dict" in e["_raw"]


def test_indexed_fields_are_stored_and_searched_first(hec):
    tag = uuid.uuid4().hex[:10]
    body = "".join(json.dumps(e) for e in [
        {"event": f"prod one env=staging {tag}", "fields": {"env": "prod", "team": "ops", "tags": ["a", "b"], "n": 3}},
        {"event": {"msg": f"prod two {tag}", "env": "json"}, "fields": {"env": "prod", "region.name": "eu-west"}},
        {"event": f"staging env=staging {tag}"},
        {"event": f"nulls {tag}", "fields": {"gone": None, "empty": []}},
    ])
    r = post(hec, body=body.encode())
    assert r.json() == {"text": "Success", "code": 0}
    assert len(found(hec, f"index=web {tag}", 4)) == 4
    # `fields` win over what the event says (key=value in the text, a JSON key)
    prod = hec.search(f"index=web env=prod {tag}")["events"]
    assert sorted(e["_raw"].split(tag)[0][:8] for e in prod) == ['prod one', '{"msg":"']
    assert [e["_raw"] for e in hec.search(f"index=web env=staging {tag}")["events"]] == [f"staging env=staging {tag}"]
    # `_raw` stays the event, exactly
    assert any(e["_raw"] == f"prod one env=staging {tag}" for e in prod)
    rows = hec.search(f"index=web env=prod {tag} | stats count by team, n")["results"]
    assert rows == [{"team": "ops", "n": "3", "count": "1"}] or rows == [{"team": "ops", "n": "3", "count": 1}]
    assert len(hec.search(f'index=web region.name="eu-west" {tag}')["events"]) == 1
    assert hec.search(f"index=web gone=* {tag}")["events"] == []


def test_tokens_never_logged(hec):
    post(hec, body=b"{bad", token="plain")
    post(hec, body=b'{"event": "x"}', token="not-a-real-token-secret")
    text = hec.log.read_text()
    assert hec.tokens["plain"] not in text and "not-a-real-token-secret" not in text


def test_body_kept_when_the_client_offers_an_h2c_upgrade(hec):
    """curl --http2 and Java's RestClient offer `Upgrade: h2c` on plain HTTP; the server stays on
    HTTP/1.1 and must still read the body (llhttp ends the request at its head: events lost,
    decision 0031). A chunked body with a trailer is read too."""
    import socket
    from urllib.parse import urlparse

    tag = uuid.uuid4().hex[:10]
    body = json.dumps({"event": f"upgrade {tag}"}).encode()
    u = urlparse(hec.hec_url)
    head = (f"POST /services/collector/event HTTP/1.1\r\nHost: {u.hostname}\r\n"
            f"Authorization: Splunk {hec.tokens['plain']}\r\nConnection: Upgrade, HTTP2-Settings\r\n"
            "Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n").encode()
    chunked = json.dumps({"event": f"chunked {tag}"}).encode()
    requests = [head + b"Content-Length: %d\r\n\r\n" % len(body) + body,
                head + b"Transfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\nX-Trailer: 1\r\n\r\n" % (len(chunked), chunked)]
    for req in requests:
        with socket.create_connection((u.hostname, u.port), timeout=10) as s:
            s.sendall(req)
            answer = b""
            while b"\r\n\r\n" not in answer or not answer.endswith(b"}"):
                got = s.recv(4096)
                if not got:
                    break
                answer += got
        assert answer.startswith(b"HTTP/1.1 200 ") and answer.endswith(b'{"text":"Success","code":0}'), answer
    assert sorted(e["_raw"] for e in found(hec, f"index=web {tag}", 2)) == [f"chunked {tag}", f"upgrade {tag}"]
