"""Hourly rollups (speleo.ops.reports.rollup): the counts answered from summaries equal the counts
computed here from the planted events, also after late data and after retention removes a bucket."""

from __future__ import annotations

import sqlite3
from types import SimpleNamespace

import pyarrow as pa
import pytest

from speleo.errors import InputError
from speleo.ops.db import Database
from speleo.ops.reports.rollup import Rollup

T0 = 1_767_225_600.0   # 2026-01-01T00:00:00Z
SPAN = 300


class Store:
    """Planted events in 'buckets' (id -> list of times); the search counts per span from them."""

    def __init__(self):
        self.buckets: dict[int, list[float]] = {}
        self.searches = 0

    def search(self, spl, earliest, latest, limit):
        self.searches += 1
        counts: dict[float, int] = {}
        for times in self.buckets.values():
            for t in times:
                if earliest <= t < latest:
                    b = t // SPAN * SPAN
                    counts[b] = counts.get(b, 0) + 1
        return SimpleNamespace(table=pa.Table.from_pylist([{"_time": b, "count": c} for b, c in counts.items()]))

    def fingerprint(self, hours):
        return {h: ",".join(str(i) for i, ts in sorted(self.buckets.items()) if ts and min(ts) < h + 3600
                            and max(ts) >= h) for h in hours}


def expected(times, start, end):
    out: dict[float, int] = {}
    for t in times:
        if start <= t < end:
            out[t // SPAN * SPAN] = out.get(t // SPAN * SPAN, 0) + 1
    return out


@pytest.fixture
def env(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'ops.sqlite'}")
    db.migrate()
    st = Store()
    now = [T0 + 6 * 3600 + 1234]
    return db, st, Rollup(db, st.fingerprint, lambda: now[0]), now, tmp_path


def test_rollup_is_exact_and_recomputes_late_and_retired_hours(env):
    db, st, ru, now, tmp = env
    # bucket 1: hours 0-2 every 7 minutes; bucket 2: hours 3-5 every 11 minutes
    st.buckets[1] = [T0 + 17 + i * 420 for i in range(3 * 3600 // 420)]
    st.buckets[2] = [T0 + 3 * 3600 + 5 + i * 660 for i in range(3 * 3600 // 660)]
    st.buckets[3] = [now[0] - 100, now[0] - 10]   # the current, incomplete hour
    start, end = T0 + 1000, now[0]                # a partial first hour
    every = lambda: [t for ts in st.buckets.values() for t in ts]
    assert ru.bucket_counts(st.search, "x", start, end, SPAN) == expected(every(), start, end)
    assert ru.searched_hours == 5   # complete hours 1..5 summarised
    rows = sqlite3.connect(tmp / "ops.sqlite").execute("SELECT count(*) FROM report_rollups").fetchone()[0]
    assert rows == 5
    # second run: every complete hour from the summary
    assert ru.bucket_counts(st.search, "x", start, end, SPAN) == expected(every(), start, end)
    assert ru.searched_hours == 0
    # late data into the already summarised hour 1 arrives in a new bucket
    st.buckets[4] = [T0 + 3600 + 61, T0 + 3600 + 62, T0 + 3600 + 3599]
    assert ru.bucket_counts(st.search, "x", start, end, SPAN) == expected(every(), start, end)
    assert ru.searched_hours == 1
    # retention removes bucket 1 (hours 0-2)
    del st.buckets[1]
    assert ru.bucket_counts(st.search, "x", start, end, SPAN) == expected(every(), start, end)
    assert ru.searched_hours == 2   # hours 1 and 2 (hour 0 is the partial edge, from events)
    # another query text is summarised separately
    assert ru.bucket_counts(st.search, "y", start, end, SPAN) == expected(every(), start, end)
    assert ru.searched_hours == 5


def test_summaries_nobody_reads_are_pruned_and_those_read_are_kept(env):
    from speleo.ops.reports.rollup import UNUSED_SECS, prune

    db, st, ru, now, tmp = env
    st.buckets[1] = [T0 + 17 + i * 420 for i in range(6 * 3600 // 420)]
    start, end = T0, T0 + 6 * 3600
    times = st.buckets[1]
    assert ru.bucket_counts(st.search, "kept", start, end, SPAN) == expected(times, start, end)
    assert ru.bucket_counts(st.search, "dropped", start, end, SPAN) == expected(times, start, end)
    count = lambda key=None: sqlite3.connect(tmp / "ops.sqlite").execute("SELECT count(*) FROM report_rollups").fetchone()[0]  # noqa: E731
    assert count() == 12
    assert prune(db, now[0]) == 0                       # all fresh
    now[0] += UNUSED_SECS - 86400                       # 89 days on: "kept" is read again (marked used)
    assert ru.bucket_counts(st.search, "kept", start, end, SPAN) == expected(times, start, end)
    assert ru.searched_hours == 0
    now[0] += 2 * 86400                                  # 91 days after both were written
    assert prune(db, now[0]) == 6                        # "dropped" was never read since
    assert count() == 6
    assert ru.bucket_counts(st.search, "kept", start, end, SPAN) == expected(times, start, end)
    assert ru.searched_hours == 0                        # still answered from its summaries
    assert ru.bucket_counts(st.search, "dropped", start, end, SPAN) == expected(times, start, end)
    assert ru.searched_hours == 6                        # computed again, the same counts
    now[0] += UNUSED_SECS + 1                            # nobody reads either for 90 days
    assert prune(db, now[0]) == 12 and count() == 0


def test_rollup_refuses_a_span_that_does_not_divide_an_hour(env):
    _, st, ru, _, _ = env
    with pytest.raises(InputError, match="divides 3600"):
        ru.bucket_counts(st.search, "x", T0, T0 + 7200, 420)


def test_rollup_over_real_storage_sees_late_sealed_events_and_retired_buckets(tmp_path):
    """The catalog fingerprint over a real home: a late event sealed into an old hour, and a bucket
    retired, both make the next report count exactly what the events now say."""
    import json

    from speleo.alerts.indexing import write_events
    from speleo.config import Home
    from speleo.ops.reports.rollup import catalog_fingerprint
    from speleo.service import Service

    home = Home(tmp_path / "home")
    svc = Service(home)
    svc.create_index("web")
    db = Database.for_home(home)
    db.migrate()
    now = T0 + 4 * 3600

    def search(spl, e, l, limit):
        return svc.search(spl, earliest=e, latest=l, limit=limit, now=now, capabilities=None, timeline=False)

    planted: list[float] = []
    w = svc.open_writer()

    def plant(times):
        write_events(w.store, svc.catalog, "web", "access", "test", "h1",
                     [{"_time": t, "_raw": json.dumps({"n": i})} for i, t in enumerate(times)])
        w.store.seal()
        planted.extend(times)

    plant([T0 + 13 + i * 370 for i in range(4 * 3600 // 370)])
    ru = Rollup(db, catalog_fingerprint(svc.catalog), lambda: now)
    spl = 'index="web"'
    assert ru.bucket_counts(search, spl, T0, now, SPAN) == expected(planted, T0, now)
    assert ru.searched_hours == 4
    assert ru.bucket_counts(search, spl, T0, now, SPAN) == expected(planted, T0, now)
    assert ru.searched_hours == 0
    plant([T0 + 3600 + 5, T0 + 3600 + 6])   # late, into summarised hour 1
    assert ru.bucket_counts(search, spl, T0, now, SPAN) == expected(planted, T0, now)
    assert 1 <= ru.searched_hours < 4
    late = max(b.id for b in svc.catalog.live_buckets(["web"]))
    with svc.catalog.transaction() as con:   # retention takes the late bucket away
        con.execute("UPDATE buckets SET retired_at = ? WHERE id = ?", (now, late))
    planted[:] = planted[:-2]
    assert ru.bucket_counts(search, spl, T0, now, SPAN) == expected(planted, T0, now)
    w.close()


def test_the_server_tick_prunes_and_says_so_in_internal(env):
    from speleo.server import reports_api

    db, st, ru, now, tmp = env
    st.buckets[1] = [T0 + 17 + i * 420 for i in range(2 * 3600 // 420)]
    ru.bucket_counts(st.search, "x", T0, T0 + 2 * 3600, SPAN)
    said = []
    runtime = SimpleNamespace(internal=SimpleNamespace(emit=lambda *a, **kw: said.append((a, kw))))
    reports_api._prune(db, now[0], runtime)
    assert said == []                                   # nothing to prune: nothing said
    reports_api._prune(db, now[0] + 91 * 86400, runtime)
    (args, kw), = said
    assert args[0] == "_internal" and args[2]["action"] == "rollup_prune" and args[2]["deleted"] == 2
