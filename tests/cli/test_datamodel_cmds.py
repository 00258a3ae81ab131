"""`speleo datamodel import|list|show|remove`, and event types, tags and data models of a home
used by `speleo search` (real `speleo` processes over a real home and a log file written here).

The auth log below (sourcetype linux_secure) holds, by hand:
  Failed password for root (10.0.0.1), Failed password for invalid user bob (10.0.0.2),
  Accepted password for alice (10.0.0.3), a session opened for alice, a session closed for root.
The shipped event types: sshd_authentication (Failed/Accepted lines) and linux_session (session
opened) are tagged `authentication`; the closed session is in neither.
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import jsonl, run_cli

AUTH_LOG = """\
Mar  1 10:00:00 db1 sshd[100]: Failed password for root from 10.0.0.1 port 5000 ssh2
Mar  1 10:00:05 db1 sshd[101]: Failed password for invalid user bob from 10.0.0.2 port 5001 ssh2
Mar  1 10:00:10 db1 sshd[102]: Accepted password for alice from 10.0.0.3 port 5002 ssh2
Mar  1 10:00:15 db1 sshd[103]: pam_unix(sshd:session): session opened for user alice by (uid=0)
Mar  1 10:00:20 db1 CRON[104]: pam_unix(cron:session): session closed for user root
"""

ACCESS_LOG = """\
10.0.0.5 - - [01/Mar/2024:10:00:00 +0000] "GET /a HTTP/1.1" 200 10 "-" "curl/8"
10.0.0.5 - - [01/Mar/2024:10:00:01 +0000] "POST /login HTTP/1.1" 401 20 "-" "curl/8"
10.0.0.6 - - [01/Mar/2024:10:00:02 +0000] "GET /b HTTP/1.1" 200 30 "-" "Mozilla/5.0"
"""

MODEL = {"modelName": "Sessions", "description": "sessions of the test",
         "objects": [{"objectName": "Session", "parentName": "BaseEvent",
                      "constraints": [{"search": "tag=mysession"}],
                      "fields": [{"fieldName": "user", "type": "string"}],
                      "calculations": [{"calculationType": "Eval", "expression": 'upper(session_action)',
                                        "outputFields": [{"fieldName": "state"}]}]},
                     {"objectName": "Closed", "parentName": "Session",
                      "constraints": [{"search": "state=CLOSED"}]}]}


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    base = tmp_path_factory.mktemp("dm")
    log = base / "auth.log"
    log.write_text(AUTH_LOG)
    h = base / "home"
    run_cli(h, "add", "oneshot", str(log), "--index", "main", "--sourcetype", "linux_secure")
    access = base / "access.log"
    access.write_text(ACCESS_LOG)
    run_cli(h, "add", "oneshot", str(access), "--index", "web", "--sourcetype", "access_combined")
    return h


def search(home, query):
    return jsonl(run_cli(home, "search", query, "--earliest", "0", "-o", "jsonl").stdout)


def test_shipped_authentication_model_over_linux_secure(home):
    rows = search(home, "| tstats count from datamodel=Authentication by Authentication.action "
                        "Authentication.user")
    assert [(r["Authentication.action"], r["Authentication.user"], r["count"]) for r in rows] == [
        ("failure", "bob", 1), ("failure", "root", 1), ("success", "alice", 2)]
    failed = search(home, "| tstats count from datamodel=Authentication.Failed_Authentication "
                          "by Authentication.src")
    assert [(r["Authentication.src"], r["count"]) for r in failed] == [("10.0.0.1", 1), ("10.0.0.2", 1)]


def test_shipped_web_model_over_access_combined(home):
    # GET 200 from 10.0.0.5, POST 401 from 10.0.0.5, GET 200 from 10.0.0.6 (index web)
    rows = search(home, "| tstats count sum(Web.bytes) as b from datamodel=Web where index=web "
                        "by Web.http_method Web.status Web.src")
    assert rows == [{"Web.http_method": "GET", "Web.status": "200", "Web.src": "10.0.0.5", "count": 1, "b": 10},
                    {"Web.http_method": "GET", "Web.status": "200", "Web.src": "10.0.0.6", "count": 1, "b": 30},
                    {"Web.http_method": "POST", "Web.status": "401", "Web.src": "10.0.0.5", "count": 1, "b": 20}]


def test_home_event_types_and_tags_and_an_imported_model(home, tmp_path):
    (home / "eventtypes.conf").write_text("[sessions]\nsearch = sourcetype=linux_secure session_action=*\n")
    (home / "tags.conf").write_text("[eventtype=sessions]\nmysession = enabled\n")
    assert search(home, "eventtype=sessions | stats count") == [{"count": 2}]
    assert [r["user"] for r in search(home, "tag=mysession | sort user | table user")] == ["alice", "root"]

    app = tmp_path / "my_app" / "default" / "data" / "models"
    app.mkdir(parents=True)
    (app / "Sessions.json").write_text(json.dumps(MODEL))
    run_cli(home, "datamodel", "import", str(tmp_path / "my_app"))
    listed = {m["name"]: m for m in json.loads(run_cli(home, "datamodel", "list", "-o", "json").stdout)}
    assert listed["Sessions"]["datasets"] == ["Session", "Closed"]
    assert listed["Sessions"]["source"].endswith("datamodels/Sessions.json")
    assert listed["Authentication"]["source"] == "shipped"
    shown = json.loads(run_cli(home, "datamodel", "show", "Sessions", "-o", "json").stdout)
    closed = shown["datasets"][1]
    assert closed["lineage"] == "Session.Closed" and closed["constraints"] == ["tag=mysession", "state=CLOSED"]
    assert {"name": "state", "type": "string", "calculated": True} in closed["fields"]

    rows = search(home, "| tstats count from datamodel=Sessions.Closed by Session.user Session.state")
    assert rows == [{"Session.user": "root", "Session.state": "CLOSED", "count": 1}]
    assert search(home, "| pivot Sessions Session count(Session) AS n SPLITROW state") == [
        {"state": "CLOSED", "n": 1}, {"state": "OPENED", "n": 1}]

    again = run_cli(home, "datamodel", "import", str(app / "Sessions.json"), check=False)
    assert again.returncode != 0 and "--replace" in again.stderr
    run_cli(home, "datamodel", "remove", "Sessions")
    gone = run_cli(home, "search", "| tstats count from datamodel=Sessions", check=False)
    assert gone.returncode != 0 and "no data model named 'Sessions'" in gone.stderr


def test_import_refuses_a_bad_model_and_writes_nothing(home, tmp_path):
    bad = tmp_path / "Bad.json"
    bad.write_text(json.dumps({"modelName": "Bad", "objects": [{"objectName": "A", "parentName": "Nope"}]}))
    out = run_cli(home, "datamodel", "import", str(bad), check=False)
    assert out.returncode != 0 and "Bad.json" in out.stderr and "parentName 'Nope'" in out.stderr
    assert not (home / "datamodels" / "Bad.json").exists()
    names = [m["name"] for m in json.loads(run_cli(home, "datamodel", "list", "-o", "json").stdout)]
    assert "Bad" not in names


def test_skipped_knowledge_is_shown_in_status(home):
    # a model file that does not parse and a tags.conf stanza that is not [field=value] are skipped,
    # each named in `speleo status`
    broken = home / "datamodels" / "Broken.json"
    broken.parent.mkdir(exist_ok=True)
    broken.write_text("{not json")
    tags = home / "tags.conf"
    before = tags.read_text() if tags.exists() else ""
    tags.write_text(before + "\n[no_equals_sign]\nx = enabled\n")
    try:
        st = json.loads(run_cli(home, "status", "-o", "json").stdout)
        problems = st["knowledge_problems"]
        assert any("Broken.json" in p and "not a JSON data model" in p for p in problems)
        assert any("tags.conf" in p and "[no_equals_sign]" in p for p in problems)
    finally:
        broken.unlink()
        tags.write_text(before)


def test_status_without_list_inputs_hides_the_home_in_knowledge_problems():
    from speleo.server.app import redact_status

    body = redact_status({"home": "/srv/h", "knowledge_problems": ["/srv/h/datamodels/B.json: not a JSON data model"]})
    assert body["knowledge_problems"] == ["<home>/datamodels/B.json: not a JSON data model"]


def test_accelerate_summarize_list_and_search_from_summaries(tmp_path):
    """`speleo datamodel accelerate|summarize|list`, then tstats answers from the summaries
    (counts as worked out in the module docstring) and --off removes them."""
    log = tmp_path / "auth.log"
    log.write_text(AUTH_LOG)
    h = tmp_path / "home"
    run_cli(h, "add", "oneshot", str(log), "--index", "main", "--sourcetype", "linux_secure")
    bad = run_cli(h, "datamodel", "accelerate", "Authentication", "--earliest", "last tuesday", check=False)
    assert bad.returncode != 0 and "is not a relative time" in bad.stderr
    assert run_cli(h, "datamodel", "summarize", check=False).returncode != 0   # nothing accelerated yet
    done = run_cli(h, "datamodel", "accelerate", "Authentication", "--earliest", "-10y")
    assert "speleo datamodel summarize Authentication" in done.stderr
    assert "acceleration = true" in (h / "datamodels.conf").read_text()
    listed = {m["name"]: m["acceleration"] for m in json.loads(run_cli(h, "datamodel", "list", "-o", "json").stdout)}
    assert listed["Authentication"]["accelerated"] and listed["Authentication"]["complete"] == 0.0
    assert not listed["Web"]["accelerated"]
    report = json.loads(run_cli(h, "datamodel", "summarize", "-o", "json").stdout)
    assert (report["built"], report["events"], report["failed"]) == (1, 4, {})   # 4 events tagged authentication
    listed = {m["name"]: m["acceleration"] for m in json.loads(run_cli(h, "datamodel", "list", "-o", "json").stdout)}
    assert listed["Authentication"]["complete"] == 1.0 and listed["Authentication"]["summarized"] == 1
    rows = search(h, "| tstats summariesonly=t count from datamodel=Authentication by Authentication.action "
                     "Authentication.user")
    assert [(r["Authentication.action"], r["Authentication.user"], r["count"]) for r in rows] == [
        ("failure", "bob", 1), ("failure", "root", 1), ("success", "alice", 2)]
    assert list((h / "summaries" / "Authentication").rglob("*.parquet"))
    run_cli(h, "datamodel", "accelerate", "Authentication", "--off")
    assert not (h / "summaries" / "Authentication").exists()
    assert search(h, "| tstats summariesonly=t count from datamodel=Authentication") == [{"count": 0}]
