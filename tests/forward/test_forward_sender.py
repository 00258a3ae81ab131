"""The HEC sender against a fake receiver: raw lines to `/services/collector/raw` with their query
parameters (one file per request), envelopes to `/event`, batching, gzip, channels,
acknowledgement, commits in order, retries with backoff on connection errors and busy answers,
resends on a new channel — and the standard-library HTTP transport against a tiny ASGI app
served by uvicorn."""

from __future__ import annotations

import gzip
import json
import socket
import threading
import time
import uuid
from urllib.parse import parse_qsl, urlsplit

import pytest

from speleo.forward.queue import DiskQueue
from speleo.forward.sender import HecSender, HttpTransport, TransportError
from speleo.forward.state import CheckpointStore


class FakeHec:
    """An in-process HEC receiver: records events, hands out ack ids per channel."""

    def __init__(self, ack: bool = True) -> None:
        self.ack = ack
        self.events: list[dict] = []
        self.requests: list[tuple[str, dict]] = []
        self.fail: list = []          # actions for the next event POSTs: "down" or (status, body)
        self.ack_fail: list = []      # the same for ack queries
        self.hold_acks = False        # answer false to every ack query
        self.next_id: dict[str, int] = {}
        self.durable: dict[str, set[int]] = {}

    def post(self, path: str, body: bytes, headers: dict) -> tuple[int, dict]:
        self.requests.append((path, dict(headers)))
        ch = headers.get("X-Splunk-Request-Channel", "")
        if path.endswith("/ack"):
            if self.ack_fail:
                return self._act(self.ack_fail.pop(0))
            ids = json.loads(body)["acks"]
            done = self.durable.setdefault(ch, set())
            if self.hold_acks:
                return 200, {"acks": {str(i): False for i in ids}}
            out = {str(i): i in done for i in ids}
            done.difference_update(ids)
            return 200, {"acks": out}
        if self.fail:
            return self._act(self.fail.pop(0))
        assert headers["Content-Encoding"] == "gzip" and headers["Authorization"] == "Splunk T"
        uuid.UUID(ch)
        u = urlsplit(path)
        if u.path.endswith("/raw"):  # one event per line here (the real receiver breaks events)
            params = dict(parse_qsl(u.query))
            assert headers["Content-Type"].startswith("text/plain")
            for line in gzip.decompress(body).decode().splitlines():
                self.events.append({"event": line, **params})
        else:
            for line in gzip.decompress(body).splitlines():
                self.events.append(json.loads(line))
        if not self.ack:
            return 200, {"text": "Success", "code": 0}
        ack_id = self.next_id.get(ch, 0)
        self.next_id[ch] = ack_id + 1
        self.durable.setdefault(ch, set()).add(ack_id)
        return 200, {"text": "Success", "code": 0, "ackId": ack_id}

    @staticmethod
    def _act(action):
        if action == "down":
            raise TransportError("ConnectionRefusedError: refused")
        return action

    def close(self) -> None:
        pass


def envelope(i: int) -> bytes:
    return json.dumps({"time": 1_700_000_000 + i, "event": f"line {i}", "host": "h", "source": "/f",
                       "sourcetype": "st", "index": "main"}).encode()


@pytest.fixture
def setup(tmp_path):
    def make(ack=True, **kw):
        state = CheckpointStore(tmp_path / "state.json")
        queue = DiskQueue(tmp_path / "q", 1 << 24, acked=state.acked)
        hec = FakeHec(ack)
        sleeps: list[float] = []
        kw.setdefault("batch_wait", 0)
        sender = HecSender(queue, state, "T", hec, sleep=lambda stop, s: sleeps.append(s), **kw)
        return queue, state, hec, sender, sleeps

    return make


def fill(queue: DiskQueue, n_records: int, per_record: int = 10, start: int = 0) -> int:
    i = start
    for _ in range(n_records):
        payload = b"\n".join(envelope(i + k) for k in range(per_record))
        i += per_record
        queue.append(payload, per_record, ("fp", "/f", i * 10))
    return i


def fill_raw(queue: DiskQueue, n_records: int, per_record: int = 10, start: int = 0, source: str = "/f") -> int:
    i = start
    params = {"host": "h", "source": source, "sourcetype": "st", "index": "main"}
    for _ in range(n_records):
        payload = "".join(f"line {i + k}\n" for k in range(per_record)).encode()
        i += per_record
        queue.append(payload, per_record, ("fp" + source, source, i * 10), raw=params)
    return i


def run_until(sender, cond, steps: int = 200) -> None:
    stop = threading.Event()
    for _ in range(steps):
        if cond():
            return
        sender.step(stop)
    assert cond(), "condition not reached"


def lines(hec: FakeHec) -> list[str]:
    return [e["event"] for e in hec.events]


def test_ack_mode_commits_after_ack_in_order(setup):
    queue, state, hec, sender, _ = setup()
    n = fill(queue, 5)
    run_until(sender, lambda: state.acked == 5)
    assert lines(hec) == [f"line {i}" for i in range(n)]
    assert hec.events[0] == json.loads(envelope(0))
    assert state.checkpoints == {"fp": ("/f", n * 10)} and state.events_acked == n
    assert queue.stats()["records"] == 0 and sender.stats.ack_mode is True
    assert any(p.endswith("/ack") for p, _ in hec.requests)


def test_raw_lines_go_to_the_raw_endpoint_with_their_file_as_query_parameters(setup):
    queue, state, hec, sender, _ = setup()
    n = fill_raw(queue, 3)
    run_until(sender, lambda: state.acked == 3)
    assert lines(hec) == [f"line {i}" for i in range(n)]
    assert hec.events[0] == {"event": "line 0", "host": "h", "source": "/f", "sourcetype": "st", "index": "main"}
    posts = [p for p, _ in hec.requests if "/raw" in p]
    assert len(posts) == 1 and posts[0].startswith("/services/collector/raw?")
    assert state.checkpoints == {"fp/f": ("/f", n * 10)} and state.events_acked == n


def test_a_request_holds_one_file_and_metrics_envelopes_go_to_event(setup):
    queue, state, hec, sender, _ = setup()
    i = fill_raw(queue, 2, source="/a")
    i = fill_raw(queue, 1, start=i, source="/b")
    queue.append(envelope(1000), 1)  # a host metrics record
    fill_raw(queue, 1, start=i, source="/a")
    run_until(sender, lambda: state.acked == 5)
    paths = [(urlsplit(p).path, dict(parse_qsl(urlsplit(p).query)).get("source")) for p, _ in hec.requests
             if not p.endswith("/ack")]
    assert paths == [("/services/collector/raw", "/a"), ("/services/collector/raw", "/b"),
                     ("/services/collector/event", None), ("/services/collector/raw", "/a")]
    assert [e["source"] for e in hec.events] == ["/a"] * 20 + ["/b"] * 10 + ["/f"] + ["/a"] * 10
    assert state.checkpoints == {"fp/a": ("/a", 400), "fp/b": ("/b", 300)}


def test_raw_records_of_blank_lines_commit_without_a_post(setup):
    queue, state, hec, sender, _ = setup()
    queue.append(b"\n\n", 0, ("fp", "/f", 2), raw={"host": "h", "source": "/f", "index": "main"})
    run_until(sender, lambda: state.acked == 1)
    assert hec.requests == [] and state.checkpoints == {"fp": ("/f", 2)}


def test_without_ack_commits_on_200(setup):
    queue, state, hec, sender, _ = setup(ack=False)
    fill(queue, 3)
    run_until(sender, lambda: state.acked == 3)
    assert not any(p.endswith("/ack") for p, _ in hec.requests) and sender.stats.ack_mode is False


def test_nothing_committed_while_ack_is_false(setup):
    queue, state, hec, sender, _ = setup(max_inflight=2, ack_timeout=3600, batch_events=10, ack_poll_secs=0)
    fill(queue, 4)
    hec.hold_acks = True
    stop = threading.Event()
    for _ in range(30):
        sender.step(stop)
    assert state.acked == 0 and queue.stats()["records"] == 4
    assert len(sender.inflight) == 2  # the window is full: no more sent
    hec.hold_acks = False
    run_until(sender, lambda: state.acked == 4)
    assert len(hec.events) == 40


def test_batches_respect_the_size_limits(setup):
    queue, state, hec, sender, _ = setup(batch_events=25)
    fill(queue, 6)
    run_until(sender, lambda: state.acked == 6)
    posts = [p for p, _ in hec.requests if p.endswith("/event")]
    assert len(posts) == 3  # two records (20 events) per batch, the third would pass 25


def test_connection_errors_back_off_then_everything_arrives(setup):
    queue, state, hec, sender, sleeps = setup()
    n = fill(queue, 3)
    hec.fail = ["down", "down", "down"]
    run_until(sender, lambda: state.acked == 3)
    assert lines(hec) == [f"line {i}" for i in range(n)]
    assert len(sleeps) >= 3 and sleeps[1] > sleeps[0] * 0.9  # growing delays
    assert sender.stats.last_error and "refused" in sender.stats.last_error


def test_lost_ack_connection_resends_on_a_new_channel(setup):
    queue, state, hec, sender, _ = setup()
    fill(queue, 2)
    hec.ack_fail = ["down"]
    first_channel = sender.stats.channel
    run_until(sender, lambda: state.acked == 2)
    assert sender.stats.channel != first_channel
    channels = {h["X-Splunk-Request-Channel"] for p, h in hec.requests if p.endswith("/event")}
    assert channels == {first_channel, sender.stats.channel}
    # the batches whose ack was lost were sent again: duplicates, never loss
    assert set(lines(hec)) == {f"line {i}" for i in range(20)} and len(hec.events) >= 20


def test_ack_timeout_resends(setup):
    queue, state, hec, sender, _ = setup(ack_timeout=0.05)
    fill(queue, 1)
    hec.hold_acks = True
    run_until(sender, lambda: len(hec.events) == 10)
    time.sleep(0.1)
    hec.hold_acks = False
    run_until(sender, lambda: state.acked == 1)
    assert len(hec.events) == 20 and sender.stats.resends >= 1


def test_busy_server_is_retried_with_the_same_batch(setup):
    queue, state, hec, sender, sleeps = setup()
    fill(queue, 1)
    hec.fail = [(503, {"text": "Server is busy", "code": 9})] * 2
    run_until(sender, lambda: state.acked == 1)
    assert len(hec.events) == 10 and len(sleeps) >= 2
    assert "busy" in sender.stats.last_error


def test_a_batch_refused_for_good_is_set_aside_and_never_blocks_later_records(setup, tmp_path):
    queue, state, hec, sender, _ = setup()
    fill_raw(queue, 1, source="/refused")            # records 1: the receiver refuses its index
    sent = fill_raw(queue, 2, start=10, source="/ok")  # records 2-3: accepted
    hec.fail = [(400, {"text": "Incorrect index", "code": 7, "invalid-event-number": 0})]
    run_until(sender, lambda: state.acked == 3)
    assert lines(hec) == [f"line {i}" for i in range(10, sent)]
    dead = [json.loads(x) for x in (tmp_path / "deadletter" / "refused.jsonl").read_text().splitlines()]
    assert len(dead) == 1
    assert dead[0]["body"] == "".join(f"line {i}\n" for i in range(10))
    assert dead[0]["status"] == 400 and dead[0]["code"] == 7 and dead[0]["reason"] == "Incorrect index"
    assert dict(parse_qsl(urlsplit(dead[0]["path"]).query))["source"] == "/refused"
    assert (state.refused_events, state.refused_batches, state.events_acked) == (10, 1, 20)
    assert sender.stats.refused_events == 10 and sender.stats.events_sent == 20
    assert state.checkpoints["fp/refused"] == ("/refused", 100)   # the file moves on too
    assert "Incorrect index" in sender.stats.last_error and "set aside" in sender.stats.last_error
    reopened = CheckpointStore(tmp_path / "state.json")
    assert (reopened.refused_events, reopened.refused_batches) == (10, 1)


@pytest.mark.parametrize("status,code", [(401, 3), (403, 4), (403, 1), (400, 10), (429, None), (408, None)])
def test_token_channel_and_rate_errors_are_retried_not_set_aside(setup, tmp_path, status, code):
    queue, state, hec, sender, _ = setup()
    fill(queue, 1)
    hec.fail = [(status, {"text": "no", "code": code})] * 3
    stop = threading.Event()
    for _ in range(3):
        sender.step(stop)
    assert state.acked == 0 and queue.stats()["records"] == 1
    run_until(sender, lambda: state.acked == 1)
    assert len(hec.events) == 10 and state.refused_events == 0
    assert not (tmp_path / "deadletter").exists()


def test_too_large_halves_the_batch(setup):
    queue, state, hec, sender, _ = setup(batch_bytes=1 << 20)
    fill(queue, 4)
    hec.fail = [(413, {"text": "Content-Length of 9 too large"})]
    run_until(sender, lambda: state.acked == 4)
    assert sender.batch_bytes == 1 << 19


def test_records_of_blank_lines_commit_without_a_post(setup):
    queue, state, hec, sender, _ = setup()
    queue.append(b"", 0, ("fp", "/f", 99))
    run_until(sender, lambda: state.acked == 1)
    assert hec.requests == [] and state.checkpoints == {"fp": ("/f", 99)}


def test_backoff_is_exponential_with_jitter_and_capped(setup):
    *_, sender, _ = setup(backoff_base=1.0, backoff_max=8.0)
    delays = []
    for f in range(6):
        sender.failures = f
        delays.append(sender.backoff_delay())
    for f, d in enumerate(delays):
        step = min(8.0, 2 ** f)
        assert step * 0.5 <= d <= step


def test_restart_resends_what_was_not_acknowledged(tmp_path):
    state = CheckpointStore(tmp_path / "state.json")
    queue = DiskQueue(tmp_path / "q", 1 << 24)
    fill(queue, 3)
    hec = FakeHec()
    hec.hold_acks = True
    s1 = HecSender(queue, state, "T", hec, batch_wait=0, sleep=lambda *a: None, ack_timeout=3600)
    run_until(s1, lambda: len(hec.events) == 30)
    queue.close()  # the forwarder dies: sent, never acknowledged
    state = CheckpointStore(tmp_path / "state.json")
    queue = DiskQueue(tmp_path / "q", 1 << 24, acked=state.acked)
    hec.hold_acks = False
    s2 = HecSender(queue, state, "T", hec, batch_wait=0, sleep=lambda *a: None)
    run_until(s2, lambda: state.acked == 3)
    assert len(hec.events) == 60  # the three batches again


# -- the HTTP transport, against a tiny ASGI app ------------------------------------------
def tiny_hec():
    got: list = []

    async def app(scope, receive, send):
        if scope["type"] != "http":
            return
        body = b""
        while True:
            msg = await receive()
            body += msg.get("body", b"")
            if not msg.get("more_body"):
                break
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        headers["?"] = scope.get("query_string", b"").decode()
        got.append((scope["path"], headers, body))
        if scope["path"].endswith("/ack"):
            reply = {"acks": {str(i): True for i in json.loads(body)["acks"]}}
        else:
            reply = {"text": "Success", "code": 0, "ackId": len(got) - 1}
        data = json.dumps(reply).encode()
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]})
        await send({"type": "http.response.body", "body": data})

    return app, got


def test_http_transport_and_sender_against_an_asgi_app(tmp_path):
    import uvicorn

    app, got = tiny_hec()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    t = threading.Thread(target=server.run, daemon=True)
    t.start()
    while not server.started:
        time.sleep(0.02)
    try:
        state = CheckpointStore(tmp_path / "state.json")
        queue = DiskQueue(tmp_path / "q", 1 << 24)
        fill(queue, 3)
        transport = HttpTransport(f"http://127.0.0.1:{port}/services/collector")  # a prefix is tolerated
        sender = HecSender(queue, state, "T", transport, batch_wait=0, batch_events=10)
        run_until(sender, lambda: state.acked == 3)
        posts = [g for g in got if g[0] == "/services/collector/event"]
        assert len(posts) == 3
        path, headers, body = posts[0]
        assert headers["authorization"] == "Splunk T" and headers["content-encoding"] == "gzip"
        uuid.UUID(headers["x-splunk-request-channel"])
        assert json.loads(gzip.decompress(body).splitlines()[0])["event"] == "line 0"
        # raw lines: the file's metadata in the query string, the lines as the body
        fill_raw(queue, 1, source="/var/log/a b.log")
        run_until(sender, lambda: state.acked == 4)
        path, headers, body = [g for g in got if g[0] == "/services/collector/raw"][0]
        assert dict(parse_qsl(headers["?"]))["source"] == "/var/log/a b.log"
        assert headers["content-type"].startswith("text/plain") and gzip.decompress(body).startswith(b"line 0\n")
        # the keep-alive connection survives a server that closed it: the transport reconnects
        transport.close()
        assert transport.post("/services/collector/ack", b'{"acks":[1]}', {})[0] == 200
    finally:
        server.should_exit = True
        t.join(5)
    with pytest.raises(TransportError):
        HttpTransport(f"http://127.0.0.1:{port}", timeout=2).post("/services/collector/event", b"x", {})
