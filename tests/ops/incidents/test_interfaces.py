"""The incident CLI and the `/api/v1/incidents` API against a real server process, and the CLI
on the home's database when no server runs."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.conftest import run_cli


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request, monkeypatch):
    """The server and the CLI on the home's SQLite file, or on a fresh PostgreSQL database
    (`SPELEO_DATABASE_URL`, inherited by the processes)."""
    if request.param == "postgresql":
        from tests.ops.pg import fresh_database

        monkeypatch.setenv("SPELEO_DATABASE_URL", fresh_database(request))
    return request.param

IMPACT = 1_764_835_200.0  # 2025-12-04T08:00:00Z


def test_cli_and_api_against_a_running_server(server_factory, tmp_path, backend):
    srv = server_factory().start()
    home = srv.home
    # declared through the CLI: it goes through the server (actor = the API token)
    p = run_cli(home, "incident", "declare", "checkout 500s", "--severity", "SEV2", "--service", "web",
                "--service", "payments", "--impact-started", "2025-12-04T08:00:00Z")
    iid = int(p.stdout.strip())
    got = srv.api("GET", f"/api/v1/incidents/{iid}").json()
    assert (got["title"], got["severity"], got["status"], got["services"]) == ("checkout 500s", "SEV2", "triage",
                                                                                ["web", "payments"])
    assert got["impact_started_at"] == IMPACT and got["created_by"] == "api-token"
    assert got["timeline"][0]["source"] == "api"
    assert (home / "ops.sqlite").exists() == (backend == "sqlite")  # the record is where the URL says

    run_cli(home, "incident", "ack", str(iid))
    run_cli(home, "incident", "assign", str(iid), "commander", "alice")
    run_cli(home, "incident", "update", str(iid), "--status", "mitigated", "--note", "rolled back v42")
    # a refused transition: the CLI says which rule, exit 1, nothing changed
    p = run_cli(home, "incident", "close", str(iid), check=False)
    assert p.returncode == 1 and "rule close-only-when-resolved" in p.stderr.replace("\n", " ")
    run_cli(home, "incident", "resolve", str(iid), "--note", "fixed")
    shown = json.loads(run_cli(home, "incident", "show", str(iid), "--output", "json").stdout)
    assert shown["status"] == "resolved"
    assert [r["who"] for r in shown["roles"] if r["role"] == "commander"] == ["alice"]
    # the ops thread may note "no escalation policy ..." once, at any point before the acknowledgement
    texts = [e["text"] for e in shown["timeline"]]
    assert sum(t.startswith("no escalation") for t in texts) <= 1
    texts = [t for t in texts if not t.startswith("no escalation")]
    assert texts == ["declared SEV2: checkout 500s", "acknowledged by api-token", "status triage -> investigating",
                     "alice took on the role commander", "status investigating -> mitigated", "rolled back v42",
                     "status mitigated -> resolved", "fixed"]
    ts = [shown[k] for k in ("impact_started_at", "declared_at", "acknowledged_at", "mitigated_at", "resolved_at")]
    assert ts == sorted(ts) and shown["durations"]["ttr"] == shown["resolved_at"] - IMPACT
    listed = json.loads(run_cli(home, "incident", "list", "--output", "json").stdout)
    assert [i["id"] for i in listed] == [iid]
    assert "checkout 500s" in run_cli(home, "incident", "list").stdout

    # the API: pinned event with its search link, the error shapes, authentication
    r = srv.api("POST", f"/api/v1/incidents/{iid}/timeline",
                json={"kind": "pinned_event", "text": "ERROR payment gateway timeout", "search": "index=web 500",
                      "earliest": IMPACT, "latest": IMPACT + 600})
    assert r.status_code == 201 and r.json()["link"] == f"/?q=index%3Dweb+500&earliest={int(IMPACT)}&latest={int(IMPACT + 600)}"
    r = srv.api("PATCH", f"/api/v1/incidents/{iid}", json={"status": "mitigated"})
    assert r.status_code == 409
    assert r.json() == {"error": {"code": "invalid_transition", "rule": "reopen-to-investigating",
                                  "message": r.json()["error"]["message"]}}
    r = srv.api("PATCH", f"/api/v1/incidents/{iid}", json={"severity": "SEV9"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "bad_input" and "SEV9" in r.json()["error"]["message"]
    r = srv.api("PATCH", f"/api/v1/incidents/{iid}", json={"colour": "red"})
    assert r.status_code == 400 and "unknown field(s) colour" in r.json()["error"]["message"]
    r = srv.api("POST", "/api/v1/incidents", content=b"[1, 2]")
    assert r.status_code == 400 and r.json()["error"]["code"] == "bad_input"
    assert srv.api("GET", "/api/v1/incidents/999").json()["error"]["code"] == "not_found"
    for method, path in [("GET", "/api/v1/incidents"), ("POST", "/api/v1/incidents"),
                         ("GET", f"/api/v1/incidents/{iid}"), ("POST", f"/api/v1/incidents/{iid}/ack")]:
        assert httpx.request(method, srv.url + path, json={"title": "x"}).status_code == 401
    assert srv.api("GET", "/api/v1/incidents?open=true").json() == {"incidents": []}
    assert srv.api("GET", "/api/v1/incidents?status=resolved").json()["incidents"][0]["id"] == iid


def test_cli_without_a_server_writes_the_home_database(tmp_path):
    home = tmp_path / "home"
    iid = int(run_cli(home, "incident", "declare", "queue backlog", "-s", "4").stdout.strip())
    p = run_cli(home, "incident", "assign", str(iid), "scribe", "bob")
    assert "bob took on the role scribe" in p.stderr
    shown = json.loads(run_cli(home, "incident", "show", str(iid), "-o", "json").stdout)
    assert shown["severity"] == "SEV4" and shown["roles"][0]["who"] == "bob"
    assert shown["timeline"][-1]["source"] == "cli"
    p = run_cli(home, "incident", "show", "42", check=False)
    assert p.returncode == 1 and "no incident 42" in p.stderr
