"""Scheduler benchmark: 100 saved searches scheduled every minute, over the benchmark data.

A ManualClock is moved to each minute tick while the scheduler thread runs for real; the
lateness of a run is the real time from the moment the clock reached its scheduled minute to
the moment its search started (what `dispatch_time - scheduled_time` measures on a real
clock). Searches run through Service.search over generated logs (each looks at the 5 minutes
before its tick, inside the data's time range). Reports p50/p99/max lateness and the CPU used
per minute of schedule; writes the SCHEDBENCH section of docs/benchmarks.md.

    python bench/scheduler_bench.py        (BENCH_SCHED_MINUTES=5, BENCH_SCHED_SEARCHES=100)
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import sys
import threading
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "src"))
OUT = ROOT / "bench" / "out"
SEARCHES = ["index=main ERROR | stats count", "index=main | stats count by host", "index=main status=500",
            "index=main sshd Failed | stats count by host", "index=main | timechart span=1m count"]


def make_home(home: Path) -> float:
    """A home with ~60 MB of generated logs; returns the time of its newest event."""
    from gen import generate

    from speleo.config import Home
    from speleo.ingest.oneshot import add_oneshot
    from speleo.service import Service

    data = OUT / "sched-data"
    if not data.exists():
        generate(data, int(os.environ.get("BENCH_SCHED_BYTES", 60_000_000)))
    svc = Service(Home(home))
    w = svc.open_writer()
    for p in sorted(x for x in data.rglob("*") if x.is_file()):
        add_oneshot(w.ingestor, p, "main", host=p.parent.name)
    w.store.seal()
    w.close()
    return max(b.max_time for b in svc.catalog.live_buckets(["main"]))


def run(minutes: int, count: int, instant: bool = False) -> dict:
    """`instant`: searches answer at once (the scheduler's own cost, no search work)."""
    from speleo.alerts.actions import ServerContext
    from speleo.alerts.runner import AlertRunner
    from speleo.alerts.scheduler import Scheduler
    from speleo.alerts.state import StateStore
    from speleo.alerts.store import for_home
    from speleo.clock import ManualClock
    from speleo.config import Home
    from speleo.query.timefmt import local_zone
    from speleo.server.scheduling import search_function
    from speleo.service import Service

    home = OUT / ("sched-home-instant" if instant else "sched-home")
    shutil.rmtree(home, ignore_errors=True)
    newest = make_home(home) if not instant else 1.8e9
    start = (newest // 60) * 60 - (minutes + 2) * 60
    h = Home(home)
    tz = local_zone(None)
    clock = ManualClock(start)
    store = for_home(h, clock)
    for i in range(count):
        store.save(0, f"bench {i:03d}", {"search": SEARCHES[i % len(SEARCHES)], "cron_schedule": "* * * * *",
                                         "is_scheduled": "1", "dispatch.earliest_time": "-5m",
                                         "counttype": "number of events", "relation": "greater than", "quantity": "0"})
    started: dict[tuple[float, str], float] = {}
    lock = threading.Lock()
    inner = search_function(Service(h), tz, 10_000)
    if instant:
        from speleo.alerts.runner import SearchOutput

        def inner(query, earliest, latest, now):  # noqa: F811
            return SearchOutput([{"count": 1}], 1, ["count"])

    def search(query, earliest, latest, now):
        with lock:
            started[(now, f"{query}#{len(started)}")] = time.monotonic()
        return inner(query, earliest, latest, now)

    states = StateStore(store.db)
    runner = AlertRunner(search, states, clock, tz, ServerContext(h, tz))
    sched = Scheduler(store, states, runner, clock)
    sched.start()
    time.sleep(1.0)   # first pass: every search gets its next tick
    lateness, cpu_per_minute = [], []
    proc = psutil.Process()
    for m in range(minutes):
        tick = start + 60 * (m + 1)
        c0 = proc.cpu_times()
        t0 = time.monotonic()
        clock.set(tick)
        deadline = t0 + 120
        while time.monotonic() < deadline:
            with lock:
                n = sum(1 for (now, _) in started if now == tick)
            if n >= count:
                break
            time.sleep(0.01)
        sched.wait_idle(120)
        c1 = proc.cpu_times()
        cpu_per_minute.append((c1.user + c1.system) - (c0.user + c0.system))
        with lock:
            lateness += [t - t0 for (now, _), t in started.items() if now == tick]
    sched.stop()
    lateness.sort()

    def pct(p: float) -> float:
        return lateness[min(len(lateness) - 1, int(p * len(lateness)))] if lateness else float("nan")

    return {"searches": count, "minutes": minutes, "runs": len(lateness), "slots": sched.slots,
            "lateness_p50_s": pct(0.50), "lateness_p99_s": pct(0.99), "lateness_max_s": lateness[-1] if lateness else None,
            "cpu_s_per_minute": sum(cpu_per_minute) / len(cpu_per_minute), "cores": psutil.cpu_count(),
            "python": platform.python_version()}


def _row(label: str, res: dict) -> str:
    ok = "met" if res["lateness_p99_s"] < 2 else "NOT met"
    return (f"| {label} | {res['runs']} | {res['lateness_p50_s']:.2f} s | {res['lateness_p99_s']:.2f} s ({ok}) | "
            f"{res['lateness_max_s']:.2f} s | {res['cpu_s_per_minute']:.1f} s |\n")


def record() -> dict:
    minutes, count = int(os.environ.get("BENCH_SCHED_MINUTES", 5)), int(os.environ.get("BENCH_SCHED_SEARCHES", 100))
    res = run(minutes, count)
    alone = run(minutes, count, instant=True)
    doc = ROOT / "docs" / "benchmarks.md"
    text = doc.read_text()
    body = (f"<!-- SCHEDBENCH:START -->\n"
            f"Scheduler (`python bench/scheduler_bench.py`, {time.strftime('%Y-%m-%d %H:%M')} UTC, "
            f"{res['cores']} cores shared with other work): {count} saved searches every minute over {minutes} "
            f"minutes of virtual time ({res['slots']} concurrent search slots, the default for this machine), "
            f"each over the 5 minutes before its tick of 60 MB of generated logs. Lateness: real time from the "
            f"tick to the start of the search.\n\n"
            f"| runs | count | lateness p50 | lateness p99 (goal < 2 s) | max | CPU per minute of schedule |\n"
            f"| --- | --- | --- | --- | --- | --- |\n"
            + _row("real searches", res) + _row("scheduler alone (searches answer at once)", alone) +
            f"<!-- SCHEDBENCH:END -->")
    if "<!-- SCHEDBENCH:START -->" in text:
        head, rest = text.split("<!-- SCHEDBENCH:START -->", 1)
        text = head + body + rest.split("<!-- SCHEDBENCH:END -->", 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n## Alert scheduler\n\n" + body + "\n"
    doc.write_text(text)
    return {"searches": res, "scheduler_alone": alone}


if __name__ == "__main__":
    print(json.dumps(record(), indent=2))
