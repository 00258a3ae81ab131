"""Splunk REST endpoints for saved searches and fired alerts against a real server."""

from __future__ import annotations

import json
import threading
import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, HTTPServer

import httpx
import pytest

from tests.conftest import run_cli

pytestmark = pytest.mark.e2e
ATOM = "{http://www.w3.org/2005/Atom}"
T0 = datetime(2026, 11, 1, 10, 0, tzinfo=timezone.utc).timestamp()


class Hook(BaseHTTPRequestHandler):
    got: list = []

    def do_POST(self):
        Hook.got.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *a):
        pass


@pytest.fixture
def server(tmp_path, server_factory):
    # 10 ERROR events in the hour before 10:00, 25 in the hour before 11:00, 40 before 12:00
    lines = []
    for hour, n in ((9, 10), (10, 25), (11, 40)):
        lines += [f"2026-11-01 {hour:02d}:{m:02d}:00 ERROR disk full on web{m % 3}" for m in range(n)]
    f = tmp_path / "app.log"
    f.write_text("\n".join(lines) + "\n")
    home = tmp_path / "home"
    run_cli(home, "add", "oneshot", str(f), "--index", "main", "--sourcetype", "app")
    return server_factory(home, ["--smtp-server", "127.0.0.1:9"]).start()


def req(server, method, path, data=None, **params):
    """A raw request as splunk-sdk-python sends it: form body without a Content-Type."""
    body = "&".join(f"{httpx.QueryParams({k: v})}" for k, v in (data or {}).items()) if data else None
    r = httpx.request(method, server.url + path, params=params, content=body,
                      headers={"Authorization": f"Bearer {server.token}"}, timeout=60)
    return r


def test_saved_searches_rest_and_dispatch(server):
    Hook.got = []
    hook = HTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=hook.serve_forever, daemon=True).start()
    try:
        r = req(server, "POST", "/services/saved/searches/", {
            "name": "errors rise", "search": "index=main ERROR", "cron_schedule": "0 * * * *", "is_scheduled": "1",
            "dispatch.earliest_time": "-1h", "dispatch.latest_time": "now", "alert_type": "number of events",
            "alert_comparator": "rises by", "alert_threshold": "10", "actions": "webhook",
            "action.webhook.param.url": f"http://127.0.0.1:{hook.server_port}/", "alert.track": "1"},
            output_mode="json")
        assert r.status_code == 201, r.text
        content = r.json()["entry"][0]["content"]
        assert content["alert_comparator"] == "rises by" and content["actions"] == "webhook"
        assert r.json()["entry"][0]["acl"]["owner"] == "nobody"
        # Atom by default, and the servicesNS prefix
        x = req(server, "GET", "/servicesNS/nobody/search/saved/searches/errors rise")
        assert x.status_code == 200 and x.text.startswith("<?xml")
        e = ET.fromstring(x.text).find(f"{ATOM}entry")
        assert e.find(f"{ATOM}title").text == "errors rise"
        sids = []
        for hour in (10, 11, 12):
            d = req(server, "POST", "/services/saved/searches/errors rise/dispatch",
                    {"dispatch.now": str(T0 + (hour - 10) * 3600), "trigger_actions": "1"}, output_mode="json")
            assert d.status_code == 201, d.text
            sids.append(d.json()["sid"])
        hist = req(server, "GET", "/services/saved/searches/errors rise/history", output_mode="json").json()
        runs = {e["name"]: e["content"] for e in hist["entry"]}
        assert [runs[s]["result_count"] for s in sids] == [10, 25, 40]
        assert [runs[s]["triggered"] for s in sids] == [0, 1, 1]
        assert len(Hook.got) == 2 and Hook.got[0]["search_name"] == "errors rise"
        assert set(Hook.got[0]) == {"result", "sid", "results_link", "search_name", "owner", "app"}
        fired = req(server, "GET", "/services/alerts/fired_alerts", output_mode="json").json()
        assert [(e["name"], e["content"]["triggered_alert_count"]) for e in fired["entry"]] == [("errors rise", 2)]
        one = req(server, "GET", "/services/alerts/fired_alerts/errors rise", output_mode="json").json()
        assert {e["content"]["sid"] for e in one["entry"]} == set(sids[1:])
        assert all(e["content"]["severity"] == 3 for e in one["entry"])
        listed = json.loads(run_cli(server.home, "alert", "fired", "-o", "json").stdout)
        assert {f["sid"] for f in listed} == set(sids[1:]) and listed[0]["savedsearch_name"] == "errors rise"
        # suppress / acknowledge
        s = req(server, "POST", "/services/saved/searches/errors rise/suppress", {"expiration": "600"},
                output_mode="json").json()
        assert s["entry"][0]["content"]["suppressed"] is True
        req(server, "POST", "/services/saved/searches/errors rise/acknowledge", {}, output_mode="json")
        s = req(server, "GET", "/services/saved/searches/errors rise/suppress", output_mode="json").json()
        assert s["entry"][0]["content"]["suppressed"] is False
        st = req(server, "GET", "/services/saved/searches/errors rise/scheduled_times", earliest_time="now",
                 latest_time="+3h", output_mode="json").json()
        times = st["entry"][0]["content"]["scheduled_times"]
        assert len(times) == 3 and all(t % 3600 == 0 for t in times)
        assert req(server, "DELETE", "/services/alerts/fired_alerts/errors rise").status_code == 200
        assert req(server, "GET", "/services/alerts/fired_alerts", output_mode="json").json()["entry"] == []
        assert req(server, "DELETE", "/services/saved/searches/errors rise").status_code == 200
        gone = req(server, "GET", "/services/saved/searches/errors rise")
        assert gone.status_code == 404 and "<msg type=\"ERROR\">" in gone.text
    finally:
        hook.shutdown()


def test_bad_input_and_auth(server):
    r = req(server, "POST", "/services/saved/searches", {"name": "bad", "search": "index=main",
                                                          "cron_schedule": "0 9 * * MON"}, output_mode="json")
    assert r.status_code == 400 and "MON" in r.json()["messages"][0]["text"]
    r = httpx.get(server.url + "/services/saved/searches", timeout=10)
    assert r.status_code == 401
    r = req(server, "POST", "/services/saved/searches", {"name": "ok", "search": "| makeresults"}, output_mode="json")
    assert r.status_code == 201, r.text
    for now in ("nan", "inf", "1e300", "-5", "abc"):
        r = req(server, "POST", "/services/saved/searches/ok/dispatch", {"dispatch.now": now}, output_mode="json")
        assert r.status_code == 400 and "dispatch.now" in r.json()["messages"][0]["text"], (now, r.text)
    assert len(req(server, "GET", "/services/saved/searches/ok/history", output_mode="json").json()["entry"]) == 0
    for key, value in (("alert.track", "bogus"), ("action.email.sendresults", "maybe"), ("action.webhook.param.timeout", "x")):
        r = req(server, "POST", "/services/saved/searches", {"name": "bad2", "search": "| makeresults", key: value},
                output_mode="json")
        assert r.status_code == 400 and r.json()["messages"][0]["text"].startswith(f"saved search 'bad2': {key} = "), r.text
    r = httpx.get(server.url + "/services/alerts/fired_alerts", timeout=10)
    assert r.status_code == 401


def test_only_the_owner_or_edit_saved_searches_changes_a_saved_search(server):
    """A scheduled search runs as its owner: a user with schedule_search who could rewrite the API
    token's (admin's) search would run any search with admin's roles (other indexes, | rest, collect)."""
    import base64

    for name, roles in (("pia", ["power"]), ("pat", ["power"])):
        r = httpx.post(server.url + "/api/v1/users", headers={"Authorization": f"Bearer {server.token}"},
                       json={"name": name, "roles": roles, "password": "Saved-pw-12345"}, timeout=30)
        assert r.status_code == 201, r.text
    pia, pat = ({"Authorization": "Basic " + base64.b64encode(f"{n}:Saved-pw-12345".encode()).decode()}
                for n in ("pia", "pat"))
    r = req(server, "POST", "/services/saved/searches", {"name": "admins", "search": "index=main ERROR",
                                                         "sharing": "app"}, output_mode="json")
    assert r.status_code == 201, r.text
    # a private one (sharing=user, a user's default) is not even seen by others (Splunk's sharing)
    r = req(server, "POST", "/services/saved/searches", {"name": "adminsecret", "search": "index=main secret",
                                                         "sharing": "user"}, output_mode="json")
    assert r.status_code == 201, r.text
    r = httpx.get(server.url + "/services/saved/searches", headers=pat, params={"output_mode": "json"}, timeout=30)
    names = [e["name"] for e in r.json()["entry"]]
    assert "admins" in names and "adminsecret" not in names, names
    for method, path in (("GET", "adminsecret"), ("POST", "adminsecret"), ("POST", "adminsecret/dispatch"),
                         ("GET", "adminsecret/history")):
        r = httpx.request(method, f"{server.url}/services/saved/searches/{path}", headers=pat, timeout=30,
                          params={"output_mode": "json"})
        assert r.status_code == 404, (path, r.status_code, r.text)
    r = req(server, "GET", "/services/saved/searches/adminsecret", output_mode="json")   # admin still sees it
    assert r.status_code == 200
    r = httpx.post(server.url + "/services/saved/searches", headers=pia, timeout=30,
                   data={"name": "pias", "search": "index=main", "output_mode": "json"})
    assert r.status_code == 201, r.text
    for path, data in (("admins", {"search": "index=* | collect index=main"}), ("admins/acknowledge", {}),
                       ("admins/suppress", {"expiration": "60"}), ("admins/reschedule", {}),
                       ("pias", {"search": "| makeresults"})):
        r = httpx.post(f"{server.url}/services/saved/searches/{path}", headers=pat, timeout=30,
                       data={**data, "output_mode": "json"})
        if path == "pias":   # pia's own is private (a user's default sharing): pat does not see it at all
            assert r.status_code == 404, (path, r.text)
            continue
        assert r.status_code == 403 and "edit_saved_searches" in r.text, (path, r.text)
    for who in (pat,):
        r = httpx.delete(f"{server.url}/services/saved/searches/admins", headers=who, params={"output_mode": "json"},
                         timeout=30)
        assert r.status_code == 403, r.text
    r = req(server, "GET", "/services/saved/searches/admins", output_mode="json")
    assert r.json()["entry"][0]["content"]["search"] == "index=main ERROR"
    r = httpx.post(server.url + "/services/saved/searches/pias", headers=pia, timeout=30,
                   data={"search": "index=main disk", "output_mode": "json"})      # the owner may
    assert r.status_code == 200 and r.json()["entry"][0]["content"]["search"] == "index=main disk", r.text
    r = req(server, "POST", "/services/saved/searches/pias", {"search": "index=main web1"}, output_mode="json")
    assert r.status_code == 200, r.text                                            # and admin (the token) may
