"""On-call end to end: a real `speleo serve`, a real SMTP server (aiosmtpd) and a real webhook
listener. An incident opens -> the on-call is notified, does not acknowledge -> the server is
killed (kill -9) during the wait -> restarted past the due time -> the escalation reaches the
next person exactly once, and the first step is not repeated. The server's clock is moved with
SPELEO_TEST_CLOCK_FILE (speleo.clock.OffsetFileClock)."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from tests.conftest import run_cli, wait_for

pytestmark = [pytest.mark.e2e]


def test_escalation_survives_kill9_neither_lost_nor_repeated(server_factory, tmp_path, monkeypatch, smtp_inbox,
                                                             webhook_inbox):
    clock_file = tmp_path / "clock-offset"
    clock_file.write_text("0")
    monkeypatch.setenv("SPELEO_TEST_CLOCK_FILE", str(clock_file))
    home = tmp_path / "home"
    srv = server_factory(home, ["--smtp-server", f"127.0.0.1:{smtp_inbox.port}"]).start()
    for u in ("ann", "bob"):
        assert srv.api("POST", "/api/v1/users", json={"name": u, "roles": ["user"], "password": "secret-password"}
                       ).status_code in (200, 201)
    # the CLI (through the server) for the schedule and the policy, the API for the rest
    run_cli(home, "oncall", "schedule", "create", "primary", "--tz", "America/New_York")
    assert srv.api("POST", "/api/v1/oncall/schedules/primary/rotations",
                   json={"users": ["ann"], "start": "2026-01-05T09:00", "kind": "daily"}).status_code == 201
    for c in ({"user": "ann", "kind": "email", "target": "ann@example.com"},
              {"user": "bob", "kind": "email", "target": "bob@example.com"},
              {"user": "bob", "kind": "webhook", "target": webhook_inbox.url + "/teams", "style": "teams"}):
        assert srv.api("POST", "/api/v1/oncall/contacts", json=c).status_code == 201
    run_cli(home, "oncall", "policy", "create", "standard", "--step", "notify_schedule:primary", "--step", "wait:10",
            "--step", "notify_user:bob", "--service", "checkout")

    # bad input through the API: a loop and an unknown user are refused with the API's error shape
    r = srv.api("POST", "/api/v1/oncall/policies", json={"name": "loop", "steps": [
        {"kind": "notify_user", "user": "ann"}, {"kind": "escalate_to", "policy": "loop"}]})
    assert r.status_code == 400 and "escalates to itself" in r.json()["error"]["message"]
    r = srv.api("POST", "/api/v1/oncall/policies", json={"name": "x", "steps": [{"kind": "notify_user", "user": "zed"}]})
    assert r.status_code == 400 and "unknown user(s) zed" in r.json()["error"]["message"]
    assert srv.api("GET", "/api/v1/oncall/policies/nope").json()["error"]["code"]
    assert srv.api("GET", "/api/v1/oncall/who?schedule=primary").json()["oncall"][0]["user"] == "ann"

    inc = srv.api("POST", "/api/v1/incidents", json={"title": "checkout 500s", "severity": "SEV2",
                                                     "services": ["checkout"]}).json()
    smtp_inbox.wait(1)                                    # the on-call (ann) is paged
    assert smtp_inbox.messages[0][0] == ["ann@example.com"]
    assert f"incident {inc['id']}" in smtp_inbox.messages[0][1]["Subject"]
    # the mail can arrive before the step is marked sent (claimed -> send -> sent): wait for the mark
    wait_for(lambda: srv.api("GET", f"/api/v1/oncall/escalations/{inc['id']}").json()["steps"][0]["state"] == "sent")
    chain = srv.api("GET", f"/api/v1/oncall/escalations/{inc['id']}").json()
    assert [s["state"] for s in chain["steps"]] == ["sent", "pending"]

    srv.kill9()                                           # during the 10-minute wait; nobody acknowledged
    clock_file.write_text("660")                          # 11 minutes later
    srv.start()
    smtp_inbox.wait(2)
    wait_for(lambda: len(webhook_inbox.received) >= 1)
    time.sleep(2.5)                                       # more ticks: nothing is sent again
    assert sorted(m[0][0] for m in smtp_inbox.messages) == ["ann@example.com", "bob@example.com"]
    assert len(webhook_inbox.received) == 1
    card = webhook_inbox.received[0][2]
    assert card["@type"] == "MessageCard" and f"incident {inc['id']}" in card["title"]
    page = f"{srv.url}/incidents/{inc['id']}"                 # the incident page (Acknowledge), absolute
    assert card["potentialAction"][0]["targets"][0]["uri"] == page
    body = smtp_inbox.messages[1][1]
    mail = (body.get_body(("plain",)).get_content() if body.is_multipart() else body.get_content())
    assert f"Acknowledge to stop the escalation: {page}" in mail
    assert httpx.get(page, follow_redirects=False).status_code in (200, 302, 303)   # a real page (sign-in first)
    shown = json.loads(run_cli(home, "oncall", "escalations", "--incident", str(inc["id"]), "--output", "json").stdout)
    assert shown["state"] == "finished"
    assert [(s["state"], s["claims"], len(s["attempts"])) for s in shown["steps"]] == [("sent", 1, 1), ("sent", 1, 2)]
    assert shown["steps"][1]["due_at"] - shown["steps"][0]["due_at"] == 600
    timeline = srv.api("GET", f"/api/v1/incidents/{inc['id']}").json()["timeline"]
    assert [e["text"] for e in timeline if e["kind"] == "escalation"][-1].startswith("escalation step 2: notified bob")

    # readiness over the API and the CLI: the schedule has no gap; every person has a contact
    ready = srv.api("GET", "/api/v1/oncall/readiness?days=7").json()
    assert ready["ok"] and ready["gaps"] == []
    assert srv.api("POST", "/api/v1/oncall/schedules", json={"name": "empty", "time_zone": "UTC"}).status_code == 201
    assert srv.api("POST", "/api/v1/oncall/policies", json={"name": "empty-only", "steps": [
        {"kind": "notify_schedule", "schedule": "empty"}]}).status_code == 201
    rep = srv.api("GET", "/api/v1/oncall/readiness?days=2").json()
    assert not rep["ok"] and [g["schedule"] for g in rep["gaps"]] == ["empty"] and rep["gaps"][0]["hours"] == 48
    assert [x["policy"] for x in rep["unreachable_policies"]] == ["empty-only"]
