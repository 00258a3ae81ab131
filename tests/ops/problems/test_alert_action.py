"""The `incident` alert action through the real scheduler and runner (ManualClock, scripted
search results): one incident per dedup key, later firings join with the reason, the firing's
entry re-runs the exact search over the exact range, and problem signatures attach on a firing."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest

from speleo.errors import InputError
from speleo.ops.incidents.service import Incidents
from speleo.ops.problems.service import Problems
from tests.alerts.harness import Harness, epoch

SEARCH = "index=main name=db_errors"
ROWS = [{"_time": 1, "host": "db1", "_raw": "connection to db1:5432 refused after 3 retries"},
        {"_time": 2, "host": "db2", "_raw": "connection to db2:5432 refused after 5 retries"}]
BASE = {"cron_schedule": "*/5 * * * *", "is_scheduled": "1", "counttype": "number of events",
        "relation": "greater than", "quantity": "0", "dispatch.earliest_time": "-5m", "dispatch.latest_time": "now",
        "search": SEARCH}


@pytest.fixture(params=["sqlite", "postgresql"])
def h(request, tmp_path, monkeypatch):
    if request.param == "postgresql":   # the home's operations database is a fresh PostgreSQL database
        from tests.ops.pg import fresh_database

        monkeypatch.setenv("SPELEO_DATABASE_URL", fresh_database(request))
    h = Harness(tmp_path / "h", epoch("2026-03-01T00:00:30"))
    h.server.clock = h.clock   # records stamped with the scheduler's (manual) clock
    h.rows["db_errors"] = lambda now: [dict(r) for r in ROWS]
    return h


def test_firings_open_one_incident_per_key_and_join_with_the_reason(h):
    h.save("db_errors", actions="incident", **{"action.incident.param.severity": "SEV2",
                                               "action.incident.param.service": "checkout, payments"}, **BASE)
    first = epoch("2026-03-01T00:05:00")
    h.walk(epoch("2026-03-01T00:00:30"), first - 30)
    h.at(first)
    incidents = Incidents(h.db, h.clock)
    [inc] = incidents.list()
    assert (inc["title"], inc["severity"], inc["services"], inc["dedup_key"]) == (
        "db_errors", "SEV2", ["checkout", "payments"], "db_errors")   # the key defaults to the saved search's name
    assert inc["detected_at"] == first
    alert = [e for e in incidents.get(inc["id"])["timeline"] if e["kind"] == "alert"]
    assert len(alert) == 1
    e = alert[0]
    assert (e["search"], e["earliest"], e["latest"]) == (SEARCH, first - 300, first)
    q = parse_qs(urlparse(e["link"]).query)
    assert q == {"q": [SEARCH], "earliest": [str(int(first - 300))], "latest": [str(int(first))]}
    assert e["details"]["grouping"].startswith("opened a new incident: no open incident has dedup key 'db_errors'")

    h.at(first + 300)   # the second firing joins, saying why
    assert [i["id"] for i in incidents.list()] == [inc["id"]]
    alerts = [e for e in incidents.get(inc["id"])["timeline"] if e["kind"] == "alert"]
    assert len(alerts) == 2
    assert alerts[1]["details"]["grouping"] == (f"joined incident {inc['id']}: it is triage and has the same dedup key "
                                                "'db_errors' (firing 2 of this key on it)")
    assert (alerts[1]["earliest"], alerts[1]["latest"]) == (first, first + 300)
    run = h.runs("db_errors")[-1]
    assert "failed" not in (run.reason or ""), run.reason

    incidents.resolve(inc["id"], "alice", "cli")
    h.at(first + 600)   # resolved: the next firing opens a new incident and says why
    newest = incidents.list()[0]
    assert newest["id"] != inc["id"]
    why = [e for e in incidents.get(newest["id"])["timeline"] if e["kind"] == "alert"][0]["details"]["grouping"]
    assert why == f"opened a new incident: no open incident has dedup key 'db_errors' (incident {inc['id']} with that key is resolved)"


def test_dedup_key_tokens_per_result_and_signatures_attach(h):
    problems = Problems(h.db, h.clock)
    p = problems.create("db connections refused when the pool is exhausted", "alice")
    problems.add_signature(p["id"], "pattern", "connection to <*> refused after <*> retries", "alice")
    problems.set_plan(p["id"], "alice", {"diagnostics": [{"name": "pool", "search": "index=main pool"}],
                                         "timebox_minutes": 10, "runbook": "fail over the pool"})
    h.save("db_errors", actions="incident", **{"action.incident.param.dedup_key": "db:$result.host$",
                                               "alert.digest_mode": "0"}, **BASE)
    h.walk(epoch("2026-03-01T00:00:30"), epoch("2026-03-01T00:04:30"))
    h.at(epoch("2026-03-01T00:05:00"))
    incidents = Incidents(h.db, h.clock)
    got = sorted(i["dedup_key"] for i in incidents.list())
    assert got == ["db:db1", "db:db2"]       # one incident per expanded key
    for inc in incidents.list():
        links = problems.links_of_incident(inc["id"])
        assert [lk["problem"]["id"] for lk in links] == [p["id"]]
        match = links[0]["link"]["details"]["matches"][0]
        host = inc["dedup_key"].split(":")[1]
        assert match["kind"] == "pattern" and match["events"][0]["_raw"].startswith(f"connection to {host}:5432")
        entry = [e for e in incidents.get(inc["id"])["timeline"] if e["kind"] == "problem"][0]
        assert "Plan of attack v1: time-box 10 min, 1 diagnostic(s)" in entry["text"]
        assert "pattern signature" in entry["text"] and "5 of 7 tokens literal" in entry["text"]
    assert problems.get(p["id"])["recurrence"]["occurrences"] == 2


def test_a_bad_severity_is_refused_when_the_alert_is_saved(h):
    with pytest.raises(InputError, match="action.incident.param.severity.*SEV9"):
        h.save("db_errors", actions="incident", **{"action.incident.param.severity": "SEV9"}, **BASE)
