"""The issue-12 story against a real `speleo serve` (its clock moved through
SPELEO_TEST_CLOCK_FILE), a real SMTP server and a real webhook listener:

an alert with action incident fires -> an incident opens with the alert (search + range + re-run
link) on its timeline -> a second firing joins with the reason -> a pinned search result joins ->
a stakeholder update goes out by email and webhook and is kept -> resolve -> a problem with a
signature and a plan of attack (CLI) -> the failure recurs in the logs -> the next firing opens a
new incident, linked to the problem, with the plan, the time-box and why it matched -> a
diagnostic runs and its output is on the timeline; the time-box runs out ("restore now")."""

from __future__ import annotations

import datetime as dt
import json
import math
import time
from urllib.parse import parse_qs, urlparse

import pytest

from tests.conftest import run_cli, wait_for

pytestmark = pytest.mark.e2e
PATTERN = "<*> connection to <*> refused after <*> retries"


def _line(t: float, host: str, retries: int) -> str:
    stamp = dt.datetime.fromtimestamp(t, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return f"{stamp} connection to {host}:5432 refused after {retries} retries"


def test_alert_to_incident_to_problem_and_back(tmp_path, server_factory, monkeypatch, smtp_inbox, webhook_inbox):
    home = tmp_path / "home"
    clock_file = tmp_path / "clock"
    clock_file.write_text("0")
    monkeypatch.setenv("SPELEO_TEST_CLOCK_FILE", str(clock_file))
    home.mkdir()
    (home / "alert_actions.conf").write_text(f"[email]\nmailserver = 127.0.0.1:{smtp_inbox.port}\n")
    t0 = time.time()
    b = math.ceil((t0 + 30) / 300) * 300          # the first */5 boundary at least 30 s away

    def move_to(virtual: float) -> None:
        clock_file.write_text(str(virtual - time.time()))

    first_log = tmp_path / "db1.log"
    first_log.write_text("".join(_line(b - 120 + i, "db1", 3) + "\n" for i in range(3)))
    run_cli(home, "add", "oneshot", str(first_log), "--index", "main")
    conf = tmp_path / "savedsearches.conf"
    conf.write_text("[db refused]\nsearch = index=main refused\nenableSched = 1\ncron_schedule = */5 * * * *\n"
                    "dispatch.earliest_time = -10m\ndispatch.latest_time = now\ncounttype = number of events\n"
                    "relation = greater than\nquantity = 0\nactions = incident\n"
                    "action.incident.param.severity = SEV2\naction.incident.param.service = payments\n")
    run_cli(home, "saved", "import", str(conf))
    srv = server_factory(home).start()
    api = srv.api

    def incidents():
        return api("GET", "/api/v1/incidents").json()["incidents"]

    # 1. the alert fires: an incident opens with the alert on its timeline
    move_to(b + 1)
    [inc] = wait_for(incidents)
    assert (inc["title"], inc["severity"], inc["services"], inc["dedup_key"]) == ("db refused", "SEV2", ["payments"],
                                                                                   "db refused")
    iid = inc["id"]
    shown = api("GET", f"/api/v1/incidents/{iid}").json()
    [alert] = [e for e in shown["timeline"] if e["kind"] == "alert"]
    assert (alert["search"], alert["earliest"], alert["latest"]) == ("index=main refused", b - 600, b)
    assert parse_qs(urlparse(alert["link"]).query) == {"q": ["index=main refused"], "earliest": [str(b - 600)],
                                                       "latest": [str(b)]}
    assert alert["details"]["result_count"] == 3
    # the link re-runs exactly that search over exactly that range: the same 3 events
    q = parse_qs(urlparse(alert["link"]).query)
    again = srv.search(q["q"][0], earliest=float(q["earliest"][0]), latest=float(q["latest"][0]))
    assert again["total"] == 3

    # 2. a second firing joins, saying why
    move_to(b + 301)
    alerts = wait_for(lambda: [e for e in api("GET", f"/api/v1/incidents/{iid}").json()["timeline"]
                               if e["kind"] == "alert"][1:])
    assert alerts[0]["details"]["grouping"] == (f"joined incident {iid}: it is triage and has the same dedup key "
                                                "'db refused' (firing 2 of this key on it)")
    assert [i["id"] for i in incidents()] == [iid]

    # 3. a result row pinned from a search ("add to incident")
    stats = srv.search("index=main refused | stats count by host", earliest=b - 600, latest=b)
    row = stats["results"][0]
    r = api("POST", f"/api/v1/incidents/{iid}/pin", json={"search": "index=main refused | stats count by host",
                                                          "earliest": b - 600, "latest": b, "row": row})
    assert r.status_code == 201, r.text
    pinned = r.json()
    assert pinned["kind"] == "pinned_event" and pinned["details"]["row"] == row
    assert parse_qs(urlparse(pinned["link"]).query)["q"] == ["index=main refused | stats count by host"]
    assert api("POST", f"/api/v1/incidents/{iid}/pin", json={"search": "x"}).json()["error"]["code"] == "bad_input"

    # 4. a stakeholder update by email and webhook, kept on the timeline with its attempts
    r = api("POST", f"/api/v1/incidents/{iid}/updates", json={
        "message": "payments fail over; next update in 30 minutes", "emails": ["support@example.com"],
        "webhooks": [webhook_inbox.url + "/chat"], "style": "slack",
        "template": "[$severity$] $title$ is $status$: $message$"})
    assert r.status_code == 201, r.text
    assert r.json()["details"]["sent"] == 2 and r.json()["text"] == (
        "[SEV2] db refused is triage: payments fail over; next update in 30 minutes")
    smtp_inbox.wait(1)
    rcpt, msg = smtp_inbox.messages[0]
    assert rcpt == ["support@example.com"] and "payments fail over" in msg.get_content()
    path, _, payload = wait_for(lambda: webhook_inbox.received)[0]
    assert path.endswith("/chat") and "payments fail over" in json.dumps(payload)
    bad = api("POST", f"/api/v1/incidents/{iid}/updates", json={"message": "x", "template": "$titel$"})
    assert bad.status_code == 400 and "$titel$" in bad.json()["error"]["message"]
    page = api("GET", "/api/v1/status-page").json()["incidents"]
    assert page[0]["id"] == iid and page[0]["latest_update"] == "payments fail over; next update in 30 minutes"

    # 5. resolve; a problem with a signature and a plan of attack (through the CLI and the server)
    run_cli(home, "incident", "resolve", str(iid), "--note", "failed over the pool")
    pid = int(run_cli(home, "problem", "create", "payments DB refuses connections when its pool is exhausted",
                      "--incident", str(iid), "--service", "payments").stdout)
    refused = run_cli(home, "problem", "signature", "add", str(pid), "--pattern", "<*> <*> <*>", check=False)
    assert refused.returncode == 1 and "no literal word" in refused.stderr
    run_cli(home, "problem", "signature", "add", str(pid), "--pattern", PATTERN)
    plan = {"diagnostics": [{"name": "refusals lately", "search": "index=main refused | stats count",
                             "earliest": "-5m"}],
            "timebox_minutes": 10, "people": [{"role": "dba", "who": "dan"}], "runbook": "fail over the pool",
            "communication": {"audience": "support", "to": ["support@example.com"],
                              "template": "$title$: $message$"}}
    (tmp_path / "plan.json").write_text(json.dumps(plan))
    run_cli(home, "problem", "plan", str(pid), "--file", str(tmp_path / "plan.json"), "--owner", "dba-team")
    sigs = json.loads(run_cli(home, "problem", "signature", "list", str(pid), "--output", "json").stdout)
    assert [(g["kind"], g["value"]) for g in sigs] == [("pattern", PATTERN)]

    # 6. the failure recurs in the logs; the next firing opens a new incident linked to the problem
    again_log = tmp_path / "db3.log"
    again_log.write_text("".join(_line(b + 500 + i, "db3", 7) + "\n" for i in range(2)))
    run_cli(home, "add", "oneshot", str(again_log), "--index", "main")
    move_to(b + 601)
    new = wait_for(lambda: [i for i in incidents() if i["id"] != iid])[0]
    linked = wait_for(lambda: api("GET", f"/api/v1/incidents/{new['id']}/problems").json()["problems"])
    [lk] = linked
    assert lk["problem"]["id"] == pid and lk["link"]["how"] == "signature"
    assert lk["plan"]["version"] == 1 and lk["plan"]["runbook"] == "fail over the pool"
    match = lk["link"]["details"]["matches"][0]
    assert (match["kind"], match["value"], match["matched_events"]) == ("pattern", PATTERN, 2)
    assert {e["_raw"].split()[3] for e in match["events"]} == {"db3:5432"}
    assert lk["timebox_ends_at"] == lk["link"]["linked_at"] + 600 and lk["restore_now"] is False
    entry = [e for e in api("GET", f"/api/v1/incidents/{new['id']}").json()["timeline"] if e["kind"] == "problem"][0]
    assert f"known problem {pid} matched" in entry["text"] and "pattern signature" in entry["text"]
    prob = api("GET", f"/api/v1/problems/{pid}").json()
    assert prob["recurrence"]["occurrences"] == 2

    # a person declaring an incident with the error pasted in is told about the known problem too
    by_hand = api("POST", "/api/v1/incidents", json={
        "title": "checkout fails", "description": "2026-12-04T10:00:00Z connection to db9:5432 refused after 1 retries"})
    assert [a["problem_id"] for a in by_hand.json()["problems_attached"]] == [pid]

    # 7. a diagnostic runs with one click; its output is on the timeline
    r = api("POST", f"/api/v1/incidents/{new['id']}/diagnostics", json={"problem_id": pid, "diagnostic": 0})
    assert r.status_code == 201, r.text
    diag = r.json()
    assert diag["kind"] == "diagnostic" and diag["search"] == "index=main refused | stats count"
    assert [int(x["count"]) for x in diag["details"]["rows"]] == [2]   # the 2 recurring lines of the last 5 minutes
    assert round(diag["latest"] - diag["earliest"], 3) == 300 and diag["link"].startswith("/?q=")
    missing = api("POST", f"/api/v1/incidents/{new['id']}/diagnostics", json={"problem_id": pid, "diagnostic": 5})
    assert missing.status_code == 404

    # 8. the time-box runs out: the incident page is told to restore now
    move_to(b + 601 + 660)
    late = api("GET", f"/api/v1/incidents/{new['id']}/problems").json()["problems"][0]
    assert late["restore_now"] is True and late["timebox_remaining_secs"] == 0
