"""Syslog throughput into a real `speleo serve`, beside rsyslog receiving the same stream.

For each transport (TCP with octet counting, UDP) the same messages (RFC 5424, ~120 bytes, a
sequence number each) are sent as fast as one sender can, first to Speleo, then to a private
rsyslogd (`imtcp`/`imudp` -> `omfile`). Measured for each receiver:

- messages/s: messages stored / seconds from the first byte sent until the last message was
  stored (Speleo: durable in its journal, from `/api/v1/status`; rsyslog: written to its file);
- loss: sent minus stored (Speleo: minus *searchable*, counted by a search at the end);
- the receiver's CPU seconds, so messages/s per core.

`python bench/syslog_bench.py [--messages 200000]` prints JSON; `--record` also runs
`bench/hec.py` and writes both into docs/benchmarks.md between the NETBENCH markers
(`bench/run.py` does the same at the end of `make bench`).
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import psutil

ROOT = Path(__file__).resolve().parents[1]
START, END = "<!-- NETBENCH:START -->", "<!-- NETBENCH:END -->"
RSYSLOGD = shutil.which("rsyslogd") or shutil.which("rsyslogd", path="/usr/sbin:/sbin")
UDP_PAYLOAD_RCVBUF = 4 * 1024 * 1024  # what the sender asks for; the kernel may cap it


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def messages(n: int, tag: str) -> list[bytes]:
    return [(f"<134>1 2024-05-01T10:00:00.{i % 1000000:06d}Z bench-host app {1000 + i % 50} ID{i % 7} - "
             f"{tag} seq={i} user=u{i % 97} action=login status=ok").encode() for i in range(n)]


def send(transport: str, port: int, msgs: list[bytes]) -> float:
    """Send every message; returns the seconds the sender took."""
    t0 = time.perf_counter()
    if transport == "tcp":
        payload = b"".join(b"%d %s" % (len(m), m) for m in msgs)
        with socket.create_connection(("127.0.0.1", port)) as s:
            s.sendall(payload)
    else:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("127.0.0.1", port))
            for m in msgs:
                s.send(m)
    return time.perf_counter() - t0


def settle(count, target: int, cpu, t0: float, idle_secs: float = 3.0, limit: float = 600.0) -> tuple[int, float, float]:
    """Poll `count()` until it reaches `target` or stops growing; (count, seconds to last growth, cpu)."""
    last, last_t = -1, time.perf_counter()
    while True:
        c = count()
        now = time.perf_counter()
        if c != last:
            last, last_t = c, now
            if c >= target:
                break
        if now - last_t > idle_secs or now - t0 > limit:
            break
        time.sleep(0.05)
    return last, last_t - t0, cpu()


def bench_speleo(transport: str, msgs: list[bytes], tag: str) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        cli = [sys.executable, "-m", "speleo.cli.main", "--home", str(home)]
        api, port = free_port(), free_port(socket.SOCK_DGRAM if transport == "udp" else socket.SOCK_STREAM)
        proc = subprocess.Popen(cli + ["serve", "--port", str(api), "--hec-port", "0", f"--syslog-{transport}-port",
                                       str(port), "--syslog-index", "bench", "--syslog-tz", "UTC"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        url = f"http://127.0.0.1:{api}"
        try:
            for _ in range(300):
                try:
                    if httpx.get(url + "/health", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.1)
            headers = {"Authorization": f"Bearer {(home / 'api_token').read_text().strip()}"}
            client = httpx.Client(base_url=url, headers=headers, timeout=120)

            def stored() -> int:
                return client.get("/api/v1/status").json()["server"]["events_ingested_since_start"]

            ps = psutil.Process(proc.pid)
            cpu0 = sum(ps.cpu_times()[:2])
            t0 = time.perf_counter()
            sent_secs = send(transport, port, msgs)
            n, secs, cpu1 = settle(stored, len(msgs), lambda: sum(ps.cpu_times()[:2]), t0)

            def searchable():
                r = client.post("/api/v1/search", json={"search": f"index=bench {tag} | stats count", "limit": 0})
                rows = r.json().get("results") or [{"count": 0}]
                return int(rows[0]["count"]) >= n and int(rows[0]["count"])

            deadline = time.monotonic() + 60
            found = 0
            while time.monotonic() < deadline:
                found = searchable()
                if found:
                    break
                time.sleep(0.5)
            if not found:
                r = client.post("/api/v1/search", json={"search": f"index=bench {tag} | stats count", "limit": 0})
                found = int((r.json().get("results") or [{"count": 0}])[0]["count"])
            client.close()
        finally:
            proc.terminate()
            proc.wait(timeout=60)
    cpu = cpu1 - cpu0
    return {"sent": len(msgs), "stored": n, "searchable": found, "lost": len(msgs) - found,
            "seconds": round(secs, 2), "sender_seconds": round(sent_secs, 2),
            "msgs_per_sec": round(n / secs) if secs else None, "cpu_s": round(cpu, 2),
            "msgs_per_sec_per_core": round(n / cpu) if cpu else None}


RSYSLOG_CONF = """
global(workDirectory="{work}")
module(load="im{transport}")
template(name="raw" type="string" string="%rawmsg%\\n")
ruleset(name="bench") {{ action(type="omfile" file="{out}" template="raw") }}
input(type="im{transport}" port="{port}" address="127.0.0.1" ruleset="bench")
"""


def bench_rsyslog(transport: str, msgs: list[bytes]) -> dict | None:
    if RSYSLOGD is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        out = work / "out.log"
        port = free_port(socket.SOCK_DGRAM if transport == "udp" else socket.SOCK_STREAM)
        conf = work / "rsyslog.conf"
        conf.write_text(RSYSLOG_CONF.format(work=work, transport=transport, out=out, port=port))
        proc = subprocess.Popen([RSYSLOGD, "-n", "-f", str(conf), "-i", str(work / "pid")],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            time.sleep(1.0)
            if transport == "tcp":
                for _ in range(100):
                    try:
                        socket.create_connection(("127.0.0.1", port), timeout=1).close()
                        break
                    except OSError:
                        time.sleep(0.1)
            ps = psutil.Process(proc.pid)
            state = {"pos": 0, "lines": 0}

            def stored() -> int:
                if out.exists():
                    with open(out, "rb") as f:
                        f.seek(state["pos"])
                        data = f.read()
                    state["pos"] += len(data)
                    state["lines"] += data.count(b"\n")
                return state["lines"]

            cpu0 = sum(ps.cpu_times()[:2])
            t0 = time.perf_counter()
            sent_secs = send(transport, port, msgs)
            n, secs, cpu1 = settle(stored, len(msgs), lambda: sum(ps.cpu_times()[:2]), t0)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    cpu = cpu1 - cpu0
    return {"sent": len(msgs), "stored": n, "lost": len(msgs) - n, "seconds": round(secs, 2),
            "sender_seconds": round(sent_secs, 2), "msgs_per_sec": round(n / secs) if secs else None,
            "cpu_s": round(cpu, 2), "msgs_per_sec_per_core": round(n / cpu) if cpu else None}


def run(n: int = 200_000) -> dict:
    out: dict = {"messages": n}
    for transport in ("tcp", "udp"):
        tag = f"run{int(time.time() * 1000) % 10**9}{transport}"
        msgs = messages(n, tag)
        out[transport] = {"speleo": bench_speleo(transport, msgs, tag), "rsyslog": bench_rsyslog(transport, msgs)}
    return out


# -- the report -----------------------------------------------------------------------------
def _goal(ok: bool) -> str:
    return "met" if ok else "NOT met"


def render(hec: dict, syslog: dict) -> str:
    cores = psutil.cpu_count()
    lines = [
        f"Network inputs, one `speleo serve` on this machine ({platform.machine()}, {cores} cores, "
        f"Python {platform.python_version()}); senders run on the same machine. "
        f"`python bench/syslog_bench.py --record` reruns this section alone.",
        "",
        "| measure | Speleo | peer (same run) | ratio | goal |",
        "| --- | --- | --- | --- | --- |",
    ]
    if hec:
        lines.append(
            f"| HEC `/services/collector/event`, batches of {hec['hec_batch']} (~77-byte events), {hec['hec_clients']} "
            f"keep-alive clients, each request fsynced before its answer | {hec['hec_events_per_sec']:,} events/s, "
            f"{hec['hec_mb_per_sec']} MB/s, server {hec['hec_server_cores']} cores → "
            f"**{hec['hec_events_per_sec_per_core']:,} events/s per core** (median of {len(hec.get('runs', [0]))} runs: "
            f"{', '.join(f'{x:,}' for x in hec.get('runs', []))}) | | | 100,000 events/s per core (issue 16): "
            f"{_goal((hec['hec_events_per_sec_per_core'] or 0) >= 100_000)} |")
    n = syslog["messages"]
    for transport, label in (("tcp", "TCP, octet counting, one connection"), ("udp", "UDP")):
        s, r = syslog[transport]["speleo"], syslog[transport].get("rsyslog")
        ours = (f"{s['msgs_per_sec']:,} msg/s ({s['msgs_per_sec_per_core']:,} per core); "
                f"lost {s['lost']:,} of {s['sent']:,} (searchable)")
        if r:
            peer = (f"rsyslog imtcp→omfile: {r['msgs_per_sec']:,} msg/s ({r['msgs_per_sec_per_core']:,} per core); "
                    f"lost {r['lost']:,}").replace("imtcp", "im" + transport)
            ratio = f"{s['msgs_per_sec'] / r['msgs_per_sec']:.2f}x rsyslog" if r["msgs_per_sec"] else ""
        else:
            peer, ratio = "rsyslog not installed", ""
        goal = ""
        if transport == "tcp":
            fast = r is not None and r["msgs_per_sec"] and s["msgs_per_sec"] >= 0.5 * r["msgs_per_sec"]
            goal = (f"at least half of rsyslog's rate (issue 16): {_goal(bool(fast))}; no loss: {_goal(s['lost'] == 0)}")
        lines.append(f"| syslog over {label}, {n:,} RFC 5424 messages sent as fast as one sender can | "
                     f"{ours} | {peer} | {ratio} | {goal} |")
    lines += ["", "Messages/s count from the first byte sent until the last message was stored (Speleo: durable in "
              "its journal; rsyslog: written to its file, unsynced); Speleo's loss counts what a search finds "
              "afterwards. Over UDP both receivers drop what overflows the kernel's socket buffer while they "
              "are busy; UDP has no flow control."]
    return "\n".join(lines)


def write_section(text: str, path: Path) -> None:
    doc = path.read_text() if path.exists() else "# Benchmarks\n"
    if START in doc and END in doc:
        head, _, rest = doc.partition(START)
        _, _, tail = rest.partition(END)
        doc = f"{head}{START}\n{text}\n{END}{tail}"
    else:
        doc = doc.rstrip("\n") + f"\n\n## Network inputs (HEC, syslog)\n\n{START}\n{text}\n{END}\n"
    path.write_text(doc)


def record(n: int = 200_000, hec_seconds: float = 10.0) -> dict:
    """Run the HEC and syslog benchmarks and write the NETBENCH section of docs/benchmarks.md."""
    sys.path.insert(0, str(ROOT / "bench"))
    import hec as hec_bench

    runs = [hec_bench.run(hec_seconds) for _ in range(3)]   # one run on a shared machine moves by +-20%
    runs.sort(key=lambda r: r["hec_events_per_sec_per_core"] or 0)
    hec = dict(runs[1], runs=[r["hec_events_per_sec_per_core"] for r in runs])
    results = {"hec": hec, "syslog": run(n)}
    write_section(render(results["hec"], results["syslog"]), ROOT / "docs" / "benchmarks.md")
    return results


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--messages", type=int, default=200_000)
    ap.add_argument("--record", action="store_true", help="also run bench/hec.py and write docs/benchmarks.md")
    a = ap.parse_args()
    print(json.dumps(record(a.messages) if a.record else run(a.messages), indent=2))
