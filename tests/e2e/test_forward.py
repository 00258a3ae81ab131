"""The forwarder with real processes: a `speleo serve` with HEC and an ack token, a `speleo forward`
following a growing file and shipping its lines raw. kill -9 of the forwarder mid-batch, kill -9
of the server, an outage with a small queue (backpressure), multi-line events written in pieces,
host metrics, `speleo forward status`, and the forwarder's own size (no pyarrow, < 50 MB)."""

from __future__ import annotations

import json
import random
import signal
import subprocess
import threading
import time
from pathlib import Path

import httpx
import psutil
import pytest

from tests.conftest import ServerProc, free_port, run_cli, speleo_cmd, wait_for

pytestmark = pytest.mark.e2e


def line(i: int) -> str:
    return f"2026-11-01 10:{(i // 60) % 60:02d}:{i % 60:02d} INFO fwd seq={i} payload=x{i % 97}\n"


class ForwarderProc:
    """A real `speleo forward` process."""

    def __init__(self, server_home: Path, fhome: Path, to: str, token: str, monitors: list[Path],
                 extra: list[str] | None = None) -> None:
        self.args = ["forward", "--to", to, "--token", token, "--home", str(fhome),
                     *[a for m in monitors for a in ("--monitor", str(m))], *(extra or ["--metrics-interval", "0"])]
        self.server_home = server_home
        self.fhome = fhome
        self.log = fhome.parent / "forwarder.log"
        self.proc: subprocess.Popen | None = None

    def start(self) -> "ForwarderProc":
        self.fhome.parent.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(speleo_cmd(self.server_home, *self.args), stdout=open(self.log, "ab"),
                                     stderr=subprocess.STDOUT)
        return self

    def kill9(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def state(self) -> dict:
        p = self.fhome / "state.json"
        return json.loads(p.read_text()) if p.exists() else {"acked": 0, "checkpoints": {}}

    def status(self) -> dict:
        return json.loads(run_cli(self.server_home, "forward", "status", "--home", str(self.fhome), "--json").stdout)


@pytest.fixture
def env(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    token = run_cli(home, "token", "create", "fwd", "--index", "main", "--allowed-indexes", "metrics",
                    "--ack").stdout.strip()
    hec_port = free_port()
    servers: list[ServerProc] = []
    forwarders: list[ForwarderProc] = []

    class Env:
        def __init__(self):
            self.home, self.token, self.tmp = home, token, tmp_path
            self.hec_url = f"http://127.0.0.1:{hec_port}"

        def server(self) -> ServerProc:
            s = ServerProc(home, ["--hec-port", str(hec_port)])
            servers.append(s)
            s.start()
            wait_for(lambda: _hec_up(self.hec_url), timeout=20)
            return s

        def forwarder(self, monitors, extra=None) -> ForwarderProc:
            f = ForwarderProc(home, tmp_path / "fwd" / "home", self.hec_url, token, monitors, extra)
            forwarders.append(f)
            return f.start()

    yield Env()
    for f in forwarders:
        f.stop()
    for s in servers:
        s.stop()


def _hec_up(url: str) -> bool:
    try:
        return httpx.get(url + "/services/collector/health", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


class Writer(threading.Thread):
    """Appends numbered lines to a file, `batch` lines every `pause` seconds, up to `total`."""

    def __init__(self, path: Path, total: int, batch: int = 100, pause: float = 0.02) -> None:
        super().__init__(daemon=True)
        self.path, self.total, self.batch, self.pause = path, total, batch, pause
        self.written = 0
        self.halt = threading.Event()

    def run(self) -> None:
        with open(self.path, "a") as f:
            while not self.halt.is_set() and self.written < self.total:
                f.write("".join(line(self.written + k) for k in range(self.batch)))
                f.flush()
                self.written += self.batch
                time.sleep(self.pause)

    def finish(self) -> int:
        self.halt.set()
        self.join()
        return self.written


def counts(server: ServerProc) -> tuple[int, int]:
    res = server.search("index=main | stats count, dc(seq) as distinct")
    row = res["results"][0] if res["results"] else {"count": 0, "distinct": 0}
    return int(row["count"]), int(row["distinct"])


def duplicated(server: ServerProc) -> list[int]:
    res = server.search("index=main | stats count by seq | where count > 1")
    return sorted(int(r["seq"]) for r in res["results"])


def runs(values: list[int]) -> int:
    return sum(1 for i, v in enumerate(values) if i == 0 or v != values[i - 1] + 1)


def test_forwarder_killed_mid_batch_loses_nothing(env):
    server = env.server()
    target = env.tmp / "logs" / "app.log"
    target.parent.mkdir()
    w = Writer(target, 30_000)
    w.start()
    rng = random.Random(11)
    kills = 5
    try:
        for _ in range(kills):
            f = env.forwarder([target.parent])
            time.sleep(rng.uniform(1.0, 2.5))
            f.kill9()
    finally:
        written = w.finish()
    f = env.forwarder([target.parent])
    wait_for(lambda: counts(server)[1] >= written, timeout=90, interval=0.5)
    wait_for(lambda: f.status()["queue"]["records"] == 0, timeout=30)
    time.sleep(1.0)
    total, distinct = counts(server)
    dups = duplicated(server)
    print(f"written {written}, stored {total}, distinct {distinct}, duplicated lines {len(dups)} "
          f"in {runs(dups)} run(s) over {kills} kills")
    assert distinct == written  # every line, none missing
    # duplicates only from a batch whose ack was lost at a kill: at most one run of lines per kill
    assert total - distinct == len(dups) and runs(dups) <= kills
    st = f.status()
    assert st["alive"] and st["last_error"] is None and st["files"][0]["offset"] == target.stat().st_size


def test_server_killed_while_the_forwarder_sends(env):
    server = env.server()
    target = env.tmp / "app.log"
    w = Writer(target, 40_000, pause=0.03)
    w.start()
    f = env.forwarder([target])
    rng = random.Random(5)
    data_lines = None
    try:
        for _ in range(3):
            time.sleep(rng.uniform(1.5, 3.0))
            cp = f.state()["checkpoints"]
            offset = max((o for p, o in cp.values() if p == str(target)), default=0)
            server.kill9()
            time.sleep(rng.uniform(0.2, 1.5))  # the forwarder retries meanwhile
            server = env.server()
            # everything acknowledged before the kill is searchable after the restart
            data_lines = target.read_bytes()[:offset].count(b"\n")
            if data_lines:
                res = server.search(f"index=main | where seq < {data_lines} | stats dc(seq) as d")
                assert int(res["results"][0]["d"]) == data_lines
    finally:
        written = w.finish()
    wait_for(lambda: counts(server)[1] >= written, timeout=120, interval=0.5)
    wait_for(lambda: f.status()["queue"]["records"] == 0, timeout=30)
    total, distinct = counts(server)
    print(f"written {written}, stored {total}, distinct {distinct} (duplicates from lost acks: {total - distinct})")
    assert distinct == written
    st = f.status()
    assert st["retries"] >= 1 and st["events_sent_total"] >= written  # it did see the outages


def test_outage_with_a_small_queue_backpressure_then_everything_arrives(env):
    target = env.tmp / "big.log"
    target.write_text("".join(line(i) for i in range(20_000)))  # ~1.3 MB
    limit = 200_000
    f = env.forwarder([target], ["--metrics-interval", "1", "--queue-max-bytes", str(limit), "--service", "shop"])
    # no server yet: the queue fills up to its limit and reading stops there
    wait_for(lambda: (lambda s: s and s["queue"]["full"])(_status_or_none(f)), timeout=30)
    time.sleep(1.5)
    st = f.status()
    assert st["queue"]["bytes"] <= 2 * limit and st["files"][0]["offset"] < target.stat().st_size
    assert "cannot reach" in st["last_error"]
    server = env.server()
    wait_for(lambda: counts(server)[1] >= 20_000, timeout=90, interval=0.5)
    time.sleep(1.0)
    assert counts(server) == (20_000, 20_000)
    # host metrics arrive in their own index, as JSON events with the host's figures
    res = wait_for(lambda: server.search("index=metrics | stats count by metric")["results"], timeout=30)
    assert {"cpu", "memory", "disk", "net"} <= {r["metric"] for r in res}
    ev = server.search("index=metrics sourcetype=speleo:metrics metric=memory | head 1")["events"][0]
    assert json.loads(ev["_raw"])["total"] > 0
    # --service tags every metrics event: the capacity report groups this host under it
    assert json.loads(ev["_raw"])["service"] == "shop"
    cap = json.loads(run_cli(env.home, "report", "capacity", "--since", "-1h", "--service", "shop", "-o", "json").stdout)
    assert [s["service"] for s in cap["services"]] == ["shop"] and len(cap["hosts"]) == 1
    assert cap["hosts"][0]["services"] == ["shop"] and cap["services"][0]["hosts"] == [cap["hosts"][0]["host"]]
    text = run_cli(env.home, "forward", "status", "--home", str(f.fhome)).stdout
    assert "forwarder running" in text and str(target) in text and "queue:" in text


def _status_or_none(f: ForwarderProc):
    try:
        return f.status()
    except AssertionError:
        return None


def trace(k: int) -> tuple[str, str]:
    """A Java error with its stack trace, as two writes."""
    head = (f"2026-11-01 11:{(k // 60) % 60:02d}:{k % 60:02d} ERROR [main] trace={k} request failed\n"
            f"java.lang.IllegalStateException: state {k}\n\tat com.example.A.run(A.java:{k})\n")
    tail = (f"\tat com.example.B.call(B.java:12)\nCaused by: java.io.IOException: closed\n"
            f"\tat com.example.C.read(C.java:7)\n\t... 2 more\n")
    return head, tail


def test_multiline_events_written_in_pieces_stay_whole(env):
    server = env.server()
    # the receiver breaks each raw request on its own: a trace cut between two requests is two events
    headers = {"Authorization": f"Splunk {env.token}", "X-Splunk-Request-Channel": "11111111-2222-3333-4444-555555555555"}
    head, tail = trace(0)
    for part in (head, tail + "2026-11-01 11:00:01 INFO after\n"):
        r = httpx.post(env.hec_url + "/services/collector/raw?source=direct&index=main", content=part,
                       headers=headers, timeout=10)
        assert r.status_code == 200, r.text
    def direct_count() -> int:
        res = server.search("index=main source=direct | stats count")["results"]
        return int(res[0]["count"]) if res else 0

    wait_for(lambda: direct_count() >= 2, timeout=30)
    time.sleep(1.0)
    direct = direct_count()
    print(f"a trace cut between two raw requests is stored as {direct - 1} event(s)")
    # the forwarder does not cut a record before an indented or continuation line
    target = env.tmp / "java.log"
    target.write_text("")
    f = env.forwarder([target])
    n = 40
    rng = random.Random(3)
    with open(target, "a") as out:
        for k in range(n):
            head, tail = trace(k)
            out.write(head)
            out.flush()
            time.sleep(rng.uniform(0.05, 0.4))  # within a poll or across polls, never 0.75 s idle
            out.write(tail)
            out.flush()
            time.sleep(rng.uniform(0.0, 0.2))
    spl = f'index=main source="{target}"'
    wait_for(lambda: int(server.search(spl + " | stats count")["results"][0]["count"]) >= n, timeout=60)
    wait_for(lambda: f.status()["queue"]["records"] == 0, timeout=30)
    res = server.search(spl + " | stats count, dc(trace) as traces, min(linecount) as lo, max(linecount) as hi")
    row = res["results"][0]
    assert (int(row["count"]), int(row["traces"]), int(row["lo"]), int(row["hi"])) == (n, n, 7, 7)


def test_the_forwarder_process_is_small_and_keeps_the_token_off_its_command_line(env):
    target = env.tmp / "small.log"
    target.write_text("".join(line(i) for i in range(100)))
    f = env.forwarder([target])
    wait_for(lambda: _status_or_none(f), timeout=30)
    p = psutil.Process(f.proc.pid)  # `speleo forward` became `python -m speleo.forward` (same pid)
    cmd = p.cmdline()
    assert cmd[1:3] == ["-m", "speleo.forward"] and env.token not in " ".join(cmd)
    maps = Path(f"/proc/{f.proc.pid}/maps").read_text()
    assert "pyarrow" not in maps and "duckdb" not in maps and "numpy" not in maps
    assert p.memory_info().rss < 50e6


def test_a_refused_batch_is_set_aside_and_later_lines_still_arrive(env):
    # issue 9: the README's forwarder token allowed only `main`; its host metrics went to `metrics`,
    # that batch was refused (code 7) and retried for ever, blocking every later line
    server = env.server()
    only_main = run_cli(env.home, "token", "create", "onlymain", "--index", "main", "--ack").stdout.strip()
    first, later = env.tmp / "first.log", env.tmp / "later.log"
    first.write_text("".join(line(i) for i in range(50)))
    f = ForwarderProc(env.home, env.tmp / "fwd2" / "home", env.hec_url, only_main, [first, later],
                      ["--metrics-interval", "0.5"])
    f.start()
    try:
        wait_for(lambda: (f.fhome / "deadletter" / "refused.jsonl").exists(), timeout=60)
        later.write_text("".join(line(i) for i in range(50, 80)))   # written after a refusal
        wait_for(lambda: counts(server)[1] == 80, timeout=60)
        dead = [json.loads(x) for x in (f.fhome / "deadletter" / "refused.jsonl").read_text().splitlines()]
        assert dead and all(d["code"] == 7 and d["status"] == 400 for d in dead)
        assert all('"index": "metrics"' in d["body"] or '"index":"metrics"' in d["body"] for d in dead)
        def status() -> dict:
            return json.loads(run_cli(env.home, "forward", "status", "--home", str(f.fhome), "--output", "json").stdout)

        # the status file is written a moment after the dead letter (its counters catch up)
        wait_for(lambda: status()["refused"]["batches"] >= len(dead), timeout=30)
        assert status()["refused"]["events"] > 0
        text = run_cli(env.home, "forward", "status", "--home", str(f.fhome)).stdout
        assert "REFUSED by the receiver and set aside" in text
        assert server.search("index=metrics")["total"] == 0
    finally:
        f.stop()
