"""Matching an alert firing against 1,000 problem signatures (issue 12 asks: under 50 ms).

`python bench/problems_bench.py`: 1,000 signatures over 250 problems (400 log patterns, 200
stack hashes, 200 service/error pairs, 200 alert names) in a SQLite operations database; an
alert firing with 1,000 result rows (log lines, a few with stack traces and service/error
fields) is matched with `Problems.matcher().match(...)`: the first call (builds the matcher from
the database), then the median of 20 calls (the matcher is cached; one small query checks it is
current). Also the full attach (`flows.attach_matches`: match + link + timeline entry). The
expected matches are computed from how the data was made and checked. Prints a Markdown table.
"""

from __future__ import annotations

import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from speleo.clock import ManualClock  # noqa: E402
from speleo.ops.db import Database  # noqa: E402
from speleo.ops.incidents.service import Incidents  # noqa: E402
from speleo.ops.problems import flows  # noqa: E402
from speleo.ops.problems.service import Problems  # noqa: E402

WORDS = ["pool", "timeout", "refused", "worker", "queue", "cache", "disk", "lock", "retry", "shard", "leader",
         "commit", "replica", "socket", "ticket", "invoice", "session", "token", "batch", "index"]


def trace(n: int) -> str:
    return ("Traceback (most recent call last):\n"
            f'  File "/srv/app/mod{n}.py", line 10, in handler{n}\n'
            f'  File "/srv/app/lib{n % 7}.py", line 20, in call{n % 13}\n'
            f"Error{n}: failed")


def main() -> None:
    rnd = random.Random(42)
    d = tempfile.mkdtemp(prefix="speleo-problems-bench-")
    db = Database(f"sqlite:///{d}/ops.sqlite")
    db.migrate()
    clock = ManualClock(1_800_000_000.0)
    problems, incidents = Problems(db, clock), Incidents(db, clock)
    pids = [problems.create(f"problem {i}", "bench")["id"] for i in range(250)]
    templates = []
    for i in range(400):
        words = rnd.sample(WORDS, 4)
        t = f"<*> {words[0]} {words[1]} <*> {words[2]} {words[3]} code{i}"
        templates.append(t)
        problems.add_signature(pids[i % 250], "pattern", t, "bench")
    for i in range(200):
        problems.add_signature(pids[i % 250], "stack", trace(i), "bench")
        problems.add_signature(pids[i % 250], "search", "", "bench", {"service": f"svc{i}", "error": f"E{i}"})
        problems.add_signature(pids[i % 250], "alert", f"alert {i}", "bench")
    rows = []
    for n in range(1000):
        r = rnd.random()
        if r < 0.01:
            rows.append({"_raw": trace(7), "_time": n})                         # stack signature 7
        elif r < 0.02:
            rows.append({"_raw": "plain", "service": "svc3", "error": "E3"})    # pair 3
        elif r < 0.03:
            w = templates[11].split()
            rows.append({"_raw": " ".join(["2026-12-04T10:00:00Z", *w[1:3], "x", *w[4:]]), "_time": n})  # pattern 11
        else:
            rows.append({"_raw": f"2026-12-04T10:00:00Z {' '.join(rnd.sample(WORDS, 6))} code{rnd.randint(0, 999)}",
                         "_time": n})
    t = time.perf_counter()
    got = problems.matcher().match(["alert 5"], rows)
    first = time.perf_counter() - t
    times = []
    for _ in range(20):
        t = time.perf_counter()
        got = problems.matcher().match(["alert 5"], rows)
        times.append(time.perf_counter() - t)
    kinds = sorted((m.kind, m.value.split("|")[0]) for m in got)
    expected = {("alert", "alert 5"), ("search", "svc3"), ("pattern", templates[11])}
    assert expected <= set(kinds) and any(k == "stack" for k, _ in kinds), kinds
    inc = incidents.create("bench", "bench", "bench")
    t = time.perf_counter()
    attached = flows.attach_matches(problems, inc["id"], alert_names=["alert 5"], rows=rows)
    attach = time.perf_counter() - t
    assert attached
    print(f"Matching an alert firing with {len(rows)} result rows against {problems.matcher().size} signatures "
          f"(`python bench/problems_bench.py`, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, SQLite, "
          "2 cores shared with other work):\n")
    print("| step | milliseconds |\n| --- | --- |")
    print(f"| first match (matcher built from the database) | {first * 1000:.1f} |")
    print(f"| match, matcher cached (median of 20) | {statistics.median(times) * 1000:.1f} |")
    print(f"| attach (match + link {len(attached)} problem(s) + timeline entries, one transaction each) | "
          f"{attach * 1000:.1f} |")


if __name__ == "__main__":
    main()
