"""HEC with acknowledgement while the server is killed -9 and restarted: every event whose ackId
turned true is searchable exactly once afterwards (the client never resends, so an event that
appears twice would be the server's doing)."""

from __future__ import annotations

import json
import random
import threading
import time
import uuid

import httpx
import pytest

from tests.conftest import ServerProc, free_port, run_cli, wait_for

pytestmark = pytest.mark.e2e


class AckClient(threading.Thread):
    """Sends batches of 100 uniquely numbered events; records which ones were acknowledged."""

    def __init__(self, url: str, token: str) -> None:
        super().__init__(daemon=True)
        self.url, self.token = url, token
        self.halt = threading.Event()
        self.next_eid = 0
        self.acked: set[int] = set()
        self.sent_batches = 0
        self.errors = 0

    def run(self) -> None:
        channel = str(uuid.uuid4())
        headers = {"Authorization": f"Splunk {self.token}", "X-Splunk-Request-Channel": channel}
        pending: dict[int, range] = {}
        client = httpx.Client(timeout=5)
        while not self.halt.is_set():
            ids = range(self.next_eid, self.next_eid + 100)
            self.next_eid += 100
            body = "".join(json.dumps({"event": f"loss test eid={i}", "time": 1_700_000_000 + i}) for i in ids)
            try:
                r = client.post(self.url + "/services/collector/event", content=body, headers=headers)
                if r.status_code == 200:
                    pending[r.json()["ackId"]] = ids
                    self.sent_batches += 1
                if pending:
                    a = client.post(self.url + "/services/collector/ack", json={"acks": list(pending)}, headers=headers)
                    for k, v in a.json().get("acks", {}).items():
                        if v:
                            self.acked.update(pending.pop(int(k)))
            except (httpx.HTTPError, ValueError):
                self.errors += 1
                pending.clear()  # the server restarted: those acks are unknowable now
                channel = str(uuid.uuid4())
                headers["X-Splunk-Request-Channel"] = channel
                time.sleep(0.05)
        client.close()


def test_acknowledged_hec_events_survive_kill9_exactly_once(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    token = run_cli(home, "token", "create", "loss", "--index", "main", "--ack").stdout.strip()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    servers: list[ServerProc] = []

    def start() -> ServerProc:
        s = ServerProc(home, ["--hec-port", str(port)]).start()
        servers.append(s)
        wait_for(lambda: _up(url), timeout=20)
        return s

    server = start()
    client = AckClient(url, token)
    client.start()
    rng = random.Random(3)
    try:
        for _ in range(3):
            time.sleep(rng.uniform(1.0, 2.5))
            server.kill9()
            time.sleep(rng.uniform(0.1, 1.0))
            server = start()
        time.sleep(1.0)
    finally:
        client.halt.set()
        client.join(30)
        for s in servers[:-1]:
            s.stop()
    try:
        acked = client.acked
        assert len(acked) > 1000 and client.errors >= 1

        def stored_now() -> dict[int, int]:
            res = server.search("index=main \"loss test\" | stats count by eid")
            return {int(r["eid"]): int(r["count"]) for r in res["results"]}

        try:  # the last batches become searchable at the next seal
            wait_for(lambda: not (acked - stored_now().keys()), timeout=20, interval=0.5)
        except AssertionError:
            pass
        stored = stored_now()
        missing = sorted(acked - stored.keys())
        twice = sorted(e for e, c in stored.items() if c > 1)
        print(f"batches {client.sent_batches}, acknowledged events {len(acked)}, stored {sum(stored.values())}, "
              f"connection errors {client.errors}")
        assert not missing, f"{len(missing)} acknowledged events lost, e.g. {missing[:5]}"
        assert not twice, f"{len(twice)} events stored twice, e.g. {twice[:5]}"
    finally:
        server.stop()


def _up(url: str) -> bool:
    try:
        return httpx.get(url + "/services/collector/health", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False
