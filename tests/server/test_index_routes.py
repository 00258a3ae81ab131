"""Indexes over HTTP and the server's own retention loop, with a real `speleo serve` process:
Splunk's `/services/data/indexes` (form fields, Splunk names, Atom XML by default, the JSON envelope
with output_mode=json), `/api/v1`
equivalents, retention running on its own, `speleo index delete`, `speleo input remove`."""

from __future__ import annotations

import pytest

from tests.conftest import run_cli, wait_for


@pytest.fixture
def server(tmp_path, server_factory, monkeypatch):
    monkeypatch.setenv("SPELEO_RETENTION_CHECK_SECS", "0.3")
    return server_factory(tmp_path / "home").start()


def test_splunk_rest_create_edit_show_and_the_retention_loop(server, tmp_path):
    r = server.api("POST", "/services/data/indexes", data={"name": "fw", "frozenTimePeriodInSecs": "86400",
                                                            "maxTotalDataSizeMB": "500", "output_mode": "json",
                                                            "coldToFrozenDir": str(tmp_path / "archive")})
    assert r.status_code == 201, r.text
    (entry,) = r.json()["entry"]
    assert entry["name"] == "fw" and entry["content"]["frozenTimePeriodInSecs"] == 86400
    assert entry["content"]["maxTotalDataSizeMB"] == 500 and entry["content"]["maxWarmDBCount"] == 300
    bad = server.api("POST", "/services/data/indexes/fw", data={"maxTotalDataSizeMB": "a lot"})
    assert bad.status_code == 400 and '<msg type="ERROR">maxTotalDataSizeMB' in bad.text   # Splunk's XML error
    script = server.api("POST", "/services/data/indexes/fw", data={"coldToFrozenScript": "/bin/rm -rf"},
                        params={"output_mode": "json"})
    assert script.status_code == 403 and "--frozen-script" in script.json()["messages"][0]["text"]
    r = server.api("POST", "/services/data/indexes/fw", data={"maxWarmDBCount": "5", "output_mode": "json"})
    assert r.json()["entry"][0]["content"]["maxWarmDBCount"] == 5
    atom = server.api("GET", "/services/data/indexes")
    assert atom.text.startswith("<?xml") and "<title>fw</title>" in atom.text
    names = [e["name"] for e in server.api("GET", "/services/data/indexes?output_mode=json").json()["entry"]]
    assert {"fw", "main", "_internal", "_audit"} <= set(names)
    # two days ago: past fw's one-day limit; the loop freezes it without being asked
    log = tmp_path / "old.log"
    lines = ["2020-01-01 10:00:00 INFO old one", "2020-01-01 10:00:01 INFO old two"]
    log.write_text("\n".join(lines) + "\n")
    run_cli(server.home, "add", "oneshot", str(log), "--index", "fw")
    wait_for(lambda: server.search("index=fw")["total"] == 0, timeout=30)
    archived = wait_for(lambda: server.search("index=_internal sourcetype=lifecycle event=archived idx=fw")["events"])
    assert 'reason="age"' in archived[0]["_raw"]
    shown = server.api("GET", "/api/v1/indexes/fw").json()
    assert shown["buckets"] == [] and shown["settings"]["frozenTimePeriodInSecs"] == 86400
    assert len(shown["archives"]) == 1
    # thaw and unthaw through the running server (the CLI forwards them)
    run_cli(server.home, "index", "thaw", "fw", "--earliest", "1577836800", "--latest", "1577923200")
    assert sorted(e["_raw"] for e in server.search("index=fw")["events"]) == sorted(lines)
    run_cli(server.home, "index", "unthaw", "fw")
    assert server.search("index=fw")["total"] == 0


def test_api_needs_indexes_edit_and_delete_and_input_remove(server, tmp_path):
    r = server.api("POST", "/api/v1/indexes", json={"name": "tmp", "settings": {"maxTotalDataSizeMB": "1GB"}})
    assert r.status_code == 201 and r.json()["settings"]["maxTotalDataSizeMB"] == 1024
    import httpx

    assert httpx.delete(server.url + "/api/v1/indexes/tmp").status_code == 401
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "a.log").write_text("2026-11-01 10:00:00 INFO hello\n")
    run_cli(server.home, "add", "monitor", str(logs), "--index", "tmp")
    wait_for(lambda: server.search("index=tmp")["total"] == 1)
    refused = run_cli(server.home, "index", "delete", "tmp", "--yes", check=False)
    assert refused.returncode == 1 and "input 1" in refused.stderr
    no = run_cli(server.home, "index", "delete", "tmp", check=False, input="n\n")
    assert no.returncode == 1 and server.search("index=tmp")["total"] == 1
    gone = server.api("DELETE", "/api/v1/inputs/1")
    assert gone.status_code == 200 and gone.json()["kind"] == "monitor"
    assert server.api("DELETE", "/api/v1/inputs/1").status_code == 404
    out = run_cli(server.home, "index", "delete", "tmp", "--yes")
    assert "deleted" in out.stdout
    assert server.api("GET", "/api/v1/indexes/tmp").status_code == 404
    assert not (server.home / "indexes" / "tmp").exists() or not any((server.home / "indexes" / "tmp").rglob("*.parquet"))
    assert server.api("DELETE", "/services/data/indexes/main").status_code == 400
    run_cli(server.home, "token", "create", "t9", "--index", "main")
    missing = run_cli(server.home, "input", "remove", "http://nope", check=False)
    assert missing.returncode == 1 and "no HEC token named 'nope'" in missing.stderr
    assert "removed" in run_cli(server.home, "input", "remove", "http://t9").stdout
    assert "t9" not in run_cli(server.home, "token", "list").stdout
    # | delete: not even the admin API token holds delete_by_keyword (Splunk's default)
    refused = server.api("POST", "/api/v1/search", json={"search": "index=main | delete"})
    assert refused.status_code == 403 and "delete_by_keyword" in refused.json()["error"]["message"]


def test_indexes_page_and_settings_saved_from_a_signed_in_session(server):
    import re

    from tests.web.test_web_auth import admin_password, sign_in

    c, _ = sign_in(server, "admin", admin_password(server))
    page = c.get("/indexes")
    assert page.status_code == 200 and "/ui/indexes.js" in page.text
    assert c.get("/ui/indexes.js").status_code == 200
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', page.text).group(1)
    assert c.patch("/api/v1/indexes/main", json={"maxWarmDBCount": "7"}).status_code in (401, 403)  # no CSRF header
    r = c.patch("/api/v1/indexes/main", json={"maxWarmDBCount": "7"}, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 200 and r.json()["settings"]["maxWarmDBCount"] == 7
    bad = c.patch("/api/v1/indexes/main", json={"frozenTimePeriodInSecs": "soon"}, headers={"X-CSRF-Token": csrf})
    assert bad.status_code == 400 and "frozenTimePeriodInSecs" in bad.json()["error"]["message"]
    usage = c.get("/api/v1/license/usage?by=host&days=7").json()
    assert usage["by"] == "host" and usage["days"] == 7
