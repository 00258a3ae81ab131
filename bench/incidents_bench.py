"""Incidents at scale (issue 12: 10,000 incidents with 100 timeline entries each; the incidents
list and an incident page answer in under 200 ms).

`python bench/incidents_bench.py [N_INCIDENTS] [ENTRIES]`: fills a SQLite operations database
(bulk inserts through SQLAlchemy Core; set SPELEO_DATABASE_URL for PostgreSQL), then times
`Incidents.list(limit=100)`, `Incidents.list(open_only=True)`, `Incidents.get(id)` (the page's
record: roles and the whole timeline) and `Problems.links_of_incident(id)` (the page's plans),
median of 20 calls each, and checks what they return against what was inserted.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from speleo.clock import ManualClock  # noqa: E402
from speleo.ops.db import Database  # noqa: E402
from speleo.ops.incidents.models import IncidentRow, TimelineRow  # noqa: E402
from speleo.ops.incidents.service import Incidents  # noqa: E402
from speleo.ops.problems.service import Problems  # noqa: E402

T0 = 1_700_000_000.0


def fill(db: Database, n: int, entries: int) -> None:
    inc_rows = []
    for i in range(1, n + 1):
        at = T0 + i * 600
        inc_rows.append({"id": i, "title": f"incident {i}", "description": "", "severity": "SEV3",
                         "status": "triage" if i % 50 == 0 else "closed", "services": json.dumps([f"svc{i % 20}"]),
                         "dedup_key": f"key{i % 100}", "created_by": "bench", "declared_at": at, "detected_at": at,
                         "updated_at": at})
    with db.engine.begin() as con:
        con.execute(IncidentRow.__table__.insert(), inc_rows)
    tl_rows: list[dict] = []
    for i in range(1, n + 1):
        at = T0 + i * 600
        for k in range(entries):
            tl_rows.append({"incident_id": i, "at": at + k, "recorded_at": at + k, "kind": "note", "source": "bench",
                            "actor": "bench", "text": f"note {k} of incident {i}", "details": "{}",
                            "search": "index=main error" if k % 10 == 0 else None,
                            "earliest": at - 600 if k % 10 == 0 else None, "latest": at if k % 10 == 0 else None})
        if len(tl_rows) >= 50_000 or i == n:
            with db.engine.begin() as con:
                con.execute(TimelineRow.__table__.insert(), tl_rows)
            tl_rows = []


def median_ms(fn, runs: int = 20) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1000


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    entries = int(sys.argv[2]) if len(sys.argv) > 2 else 100
    url = os.environ.get("SPELEO_DATABASE_URL") or f"sqlite:///{tempfile.mkdtemp(prefix='speleo-inc-bench-')}/ops.sqlite"
    db = Database(url)
    db.migrate()
    t = time.perf_counter()
    fill(db, n, entries)
    filled = time.perf_counter() - t
    clock = ManualClock(T0 + (n + 1) * 600)
    incidents, problems = Incidents(db, clock), Problems(db, clock)
    assert [i["id"] for i in incidents.list(limit=100)] == list(range(n, n - 100, -1))
    assert len(incidents.list(open_only=True, limit=1000)) == min(1000, n // 50)
    page = incidents.get(n // 2)
    assert page["timeline_total"] == entries and len(page["timeline"]) == entries
    rows = [("incidents list, newest 100", median_ms(lambda: incidents.list(limit=100))),
            ("open incidents", median_ms(lambda: incidents.list(open_only=True))),
            (f"incident page record ({entries} entries, roles)", median_ms(lambda: incidents.get(n // 2))),
            ("incident page: linked problems and plans", median_ms(lambda: problems.links_of_incident(n // 2)))]
    kind = url.split(":", 1)[0]
    print(f"{n} incidents x {entries} timeline entries on {kind} (`python bench/incidents_bench.py`, "
          f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, filled in {filled:.0f} s, 2 cores shared):\n")
    print("| operation | milliseconds (median of 20) |\n| --- | --- |")
    for name, ms in rows:
        print(f"| {name} | {ms:.1f} |")


if __name__ == "__main__":
    main()
