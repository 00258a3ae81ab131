"""`speleo report` / `speleo slo` and `/api/v1/reports`, `/api/v1/slos` against one real server."""

from __future__ import annotations

import csv
import io
import json
import time

import httpx
import pytest

from speleo.alerts.indexing import write_events
from speleo.config import Home
from speleo.service import Service
from speleo.ops.db import Database
from tests.conftest import ServerProc, run_cli
from tests.ops.reports.planting import plant
from tests.ops.reports.test_report_response import check, expected


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    root = tmp_path_factory.mktemp("reports")
    home = root / "home"
    db = Database.for_home(Home(home).ensure())
    db.migrate()
    planted = plant(db, n=24)
    db.close()
    now = time.time()
    evs = [{"time": now - 60 - i * 30, "status": 500 if i % 10 == 0 else 200} for i in range(100)]
    svc = Service(Home(home))        # the events are written before the server starts (no CLI round trips)
    svc.create_index("web")
    w = svc.open_writer()
    write_events(w.store, svc.catalog, "web", "_json", "test", "web1",
                 [{"_time": e["time"], "_raw": json.dumps(e)} for e in evs])
    w.store.seal()
    w.close()
    s = ServerProc(home).start()
    s.planted, s.events, s.root = planted, evs, root
    yield s
    s.stop()


def test_response_report_through_cli_and_api(srv):
    want = expected(srv.planted)
    got = srv.api("GET", "/api/v1/reports/response").json()
    check(got["overall"], want)
    as_json = json.loads(run_cli(srv.home, "report", "response", "--output", "json").stdout)
    check(as_json["overall"], want)
    rows = list(csv.DictReader(io.StringIO(run_cli(srv.home, "report", "response", "-o", "csv").stdout)))
    assert rows[0]["grouping"] == "all" and int(rows[0]["incidents"]) == len(srv.planted)
    assert float(rows[0]["mttr_p90"]) == pytest.approx(want["mttr"]["p90"])
    table = run_cli(srv.home, "report", "response").stdout
    assert "MTTD (mean time to detect) = detected_at - impact_started_at" in table and "SEV1" in table
    bad = srv.api("GET", "/api/v1/reports/response", params={"since": "yesterday-ish"})
    assert bad.status_code == 400 and "since" in bad.json()["error"]["message"]
    assert httpx.get(srv.url + "/api/v1/reports/response").status_code == 401


def test_slo_lifecycle_and_availability(srv):
    run_cli(srv.home, "slo", "create", "web-ok", "--service", "web", "--good", "index=web status<500",
            "--total", "index=web", "--objective", "95", "--window", "1")
    listed = json.loads(run_cli(srv.home, "slo", "list", "--output", "json").stdout)
    assert [s["name"] for s in listed] == ["web-ok"] and len(listed[0]["alerts"]) == 2   # 1 h and 6 h
    # the generated alerts are saved searches the scheduler runs
    names = {s["name"] for s in srv.api("GET", "/servicesNS/-/search/saved/searches",
                                        params={"output_mode": "json", "count": 0}).json()["entry"]}
    assert set(listed[0]["alerts"]) <= names
    rep = json.loads(run_cli(srv.home, "report", "availability", "--slo", "web-ok", "-o", "json").stdout)
    [r] = rep["slos"]
    good = sum(e["status"] < 500 for e in srv.events)
    assert (r["good"], r["total"]) == (good, len(srv.events))
    assert r["budget_left"] == pytest.approx(1 - (len(srv.events) - good) / (0.05 * len(srv.events)))
    # refused: a transforming search; the CLI exits 1 naming the rule, the API answers 400 with it
    p = run_cli(srv.home, "slo", "create", "bad", "--service", "web", "--good", "index=web | stats count",
                "--total", "index=web", "--objective", "99", check=False)
    assert p.returncode == 1 and "rule slo-searches-count-events" in p.stderr.replace("\n", " ")
    r = srv.api("POST", "/api/v1/slos", json={"name": "bad", "service": "web", "good": "index=web",
                                             "total": "index=web", "objective": 100})
    assert r.status_code == 400 and r.json()["error"]["rule"] == "slo-objective-range"
    run_cli(srv.home, "slo", "remove", "web-ok")
    assert srv.api("GET", "/api/v1/slos").json() == {"slos": []}
    assert srv.api("GET", "/api/v1/slos/web-ok").status_code == 404


def test_capacity_and_disks_reports_answer_in_every_output(srv):
    cap = srv.api("GET", "/api/v1/reports/capacity", params={"since": "-1h"}).json()
    assert cap["report"] == "capacity" and cap["hosts"] == [] and cap["filesystems"] == []
    d = json.loads(run_cli(srv.home, "report", "disks", "-o", "json").stdout)
    assert d["report"] == "disks" and d["drives"] == [] and "smartctl:json" in d["alert_example"]
    assert run_cli(srv.home, "report", "capacity", "-o", "csv").stdout == ""
    bad = srv.api("GET", "/api/v1/reports/disks", params={"index": "a b"})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "bad_input"
