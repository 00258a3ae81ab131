"""SLOs and the availability report against figures computed from the events this test planted;
the generated burn-rate alert searches run over the planted events; every refusal names its rule."""

from __future__ import annotations

import json

import pytest

from speleo.config import Home
from speleo.ingest.oneshot import add_oneshot
from speleo.ops.db import Database
from speleo.ops.incidents.models import IncidentRow
from speleo.ops.reports import availability
from speleo.ops.slo import burn
from speleo.ops.slo.service import SloRefused, Slos
from speleo.service import Service

NOW = 1_793_491_200.0          # 2026-11-01T00:00:00Z, a multiple of 300
SPAN = 300
DAYS = 2
PER_BUCKET = 10
RUN_A = (NOW - 30 * 3600, NOW - 29 * 3600)   # 5 of 10 requests fail in each bucket
RUN_B = (NOW - 1800, NOW)


class Clock:
    def time(self) -> float:
        return NOW


def planted_events() -> list[dict]:
    evs = []
    for b in range(int(NOW - DAYS * 86400), int(NOW), SPAN):
        in_run = RUN_A[0] <= b < RUN_A[1] or RUN_B[0] <= b < RUN_B[1]
        fails = 5 if in_run else (1 if b % 7 == 0 else 0)    # 1 in 10 never passes a 10% budget
        for i in range(PER_BUCKET):
            evs.append({"time": b + i * 20 + 1, "status": 500 if i < fails else 200})
    return evs


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("slo")
    home = Home(root / "home")
    svc = Service(home)
    svc.create_index("web")
    evs = planted_events()
    f = root / "web.json"
    f.write_text("".join(json.dumps(e) + "\n" for e in evs))
    w = svc.open_writer()
    add_oneshot(w.ingestor, f, "web", "_json")
    w.close()
    db = Database.for_home(home)
    db.migrate()
    from speleo.alerts.store import for_home

    def search(spl, earliest, latest, limit):
        return svc.search(spl, earliest=earliest, latest=latest, limit=limit, now=NOW, capabilities=None,
                          timeline=False)

    slos = Slos(db, search, for_home(home), Clock())
    yield {"svc": svc, "db": db, "slos": slos, "events": evs, "home": home}
    db.close()


def create(slos: Slos, name="checkout", **kw):
    args = dict(service="web", good="index=web status<500", total="index=web", objective=90.0, window_days=DAYS,
                actor="test")
    args.update(kw)
    return slos.create(name, **args)


def test_availability_budget_and_periods(world):
    slos, evs = world["slos"], world["events"]
    slo = create(slos)
    # a 2-day SLO gets the 1 h and 6 h alerts; the 3-day one would look past its window
    assert slo["alerts"] == [burn.alert_name("checkout", w) for w in burn.WINDOWS[:2]]
    rep = availability.report(slos, world["db"], NOW, "checkout", "day")
    [r] = rep["slos"]
    total = len(evs)
    good = sum(1 for e in evs if e["status"] < 500)
    assert (r["total"], r["good"]) == (total, good)
    assert r["availability"] == pytest.approx(good / total)
    allowed = 0.1 * total
    assert r["budget_left"] == pytest.approx(1 - (total - good) / allowed)
    assert r["burn_rate"] == pytest.approx(((total - good) / total) / 0.1)
    days = {}
    for e in evs:
        d = "2026-10-30" if e["time"] < NOW - 86400 else "2026-10-31"
        days.setdefault(d, [0, 0])
        days[d][1] += 1
        days[d][0] += e["status"] < 500
    assert {p["period"]: [p["good"], p["total"]] for p in r["periods"]} == days
    # the bad periods are exactly the two runs this test planted
    assert [(b["start"], b["end"], b["bad"]) for b in r["bad_periods"]] == [
        (RUN_A[0], RUN_A[1], 12 * 5), (RUN_B[0], RUN_B[1], 6 * 5)]
    # the last hour: 6 buckets of 5/10 bad and 6 healthy (or 1/10): page-1h fires (factor 0.96)
    last_hour = [e for e in evs if e["time"] >= NOW - 3600]
    bad_hour = sum(e["status"] >= 500 for e in last_hour) / len(last_hour)
    page = r["burn_windows"][0]
    assert page["factor"] == pytest.approx(0.02 * DAYS * 24)
    assert page["burn_long"] == pytest.approx(bad_hour / 0.1) and page["burn_short"] == pytest.approx(5.0)
    assert page["firing"] is True
    slos.remove("checkout")


def test_incidents_overlapping_bad_periods_consumed_budget(world):
    slos, db, evs = world["slos"], world["db"], world["events"]
    create(slos, "consumers")
    lo, hi = RUN_A[0] + 600, RUN_A[1] - 600
    with db.session() as s:
        for title, svcs, start, end in (("overlaps", ["web"], lo, hi), ("elsewhere", ["db"], lo, hi),
                                        ("healthy time", ["web"], NOW - 40 * 3600, NOW - 39 * 3600)):
            s.add(IncidentRow(title=title, severity="SEV2", status="resolved", services=json.dumps(svcs),
                              created_by="t", impact_started_at=start, detected_at=start, declared_at=start,
                              resolved_at=end, updated_at=end))
    [r] = availability.report(slos, db, NOW, "consumers")["slos"]
    [inc] = r["incidents"]
    # bad events of the 5-minute buckets the incident's span touches
    bad = sum(1 for e in evs if e["status"] >= 500 and lo - lo % SPAN <= e["time"] < hi)
    assert inc["bad_events"] == bad == 8 * 5
    assert inc["budget_share"] == pytest.approx(bad / (0.1 * len(evs)))
    slos.remove("consumers")


def test_generated_burn_alert_search_fires_only_while_burning(world):
    slos, svc = world["slos"], world["svc"]
    slo = create(slos, "burny")
    page = world["slos"].alerts.get(slo["alerts"][0])
    assert page.spec["cron_schedule"] == "* * * * *" and page.spec["dispatch.earliest_time"] == "-1h"

    def run(at):
        return svc.search(page.attrs["search"], earliest=at - 3600, latest=at, now=at, capabilities=None,
                          timeline=False, limit=0).table.to_pylist()

    [row] = run(NOW)
    assert float(row["burn_short"]) == pytest.approx(5.0) and float(row["factor"]) == pytest.approx(0.96)
    assert run(NOW - 3 * 3600) == []          # a quiet hour: no row, no alert
    slos.remove("burny")
    with pytest.raises(Exception, match="no saved search"):
        slos.alerts.get(slo["alerts"][0])


@pytest.mark.parametrize("kw, rule", [
    ({"good": "index=web status<500 | stats count"}, "slo-searches-count-events"),
    ({"total": "index=web | timechart count"}, "slo-searches-count-events"),
    ({"good": "index=web | eval x=("}, "slo-search-runs"),
    ({"good": "nosuch", "good_kind": "saved"}, "slo-search-runs"),
    ({"objective": 100.0}, "slo-objective-range"),
    ({"window_days": 0}, "slo-window-range"),
    ({"good": "index=web", "total": "index=web status>=500"}, "slo-good-within-total"),
])
def test_refusals_name_the_rule(world, kw, rule):
    with pytest.raises(SloRefused) as e:
        create(world["slos"], "refused", **kw)
    assert e.value.rule == rule and f"rule {rule}" in str(e.value)
    assert [s["name"] for s in world["slos"].list()] == []


def test_the_alert_scheduler_fires_the_page_alert_while_the_budget_burns(world, tmp_path):
    """The generated saved searches on the real scheduler (ManualClock, searches over the planted
    events): page-1h fires at the end of the second bad run and not during a quiet hour."""
    from speleo.alerts.runner import SearchOutput
    from tests.alerts.harness import Harness

    svc = world["svc"]

    class Real(Harness):
        def search(self, query, earliest, latest, now):
            res = svc.search(query, earliest=earliest, latest=latest, now=now, capabilities=None, timeline=False,
                             limit=1000)
            rows = res.table.to_pylist()
            return SearchOutput(rows, len(rows), res.table.column_names)

    h = Real(tmp_path / "sched", NOW - 3 * 3600 - 120)
    slos = Slos(h.db, world["slos"].search, h.store, h.clock)
    slo = create(slos, "scheduled")
    page = slo["alerts"][0]
    quiet = NOW - 3 * 3600 + 60
    h.at(quiet - 60)                          # the first decision schedules the next minute
    h.at(quiet)                               # a quiet hour: the page alert runs and does not fire
    h.at(NOW)                                 # the last half hour burns: it fires
    done = {r.scheduled_time: r for r in h.runs(page) if r.status == "success"}
    assert done[quiet].triggered == 0
    assert done[NOW].triggered == 1 and done[NOW].reason == "triggered: 1 greater than 0"
