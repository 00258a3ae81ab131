"""Splunk REST beyond what the SDK test covers, with raw requests as other clients send them: job
status in Atom and JSON (with eai:acl), output modes csv/xml/raw, results before a job is done,
control actions, HEC tokens and monitor inputs, capability checks; and the Grafana JSON data
source protocol with requests in the shapes Grafana sends (range, intervalMs, targets).

Expected values come from the file tests/server/conftest.py writes into the index `rest`: 600
lines one second apart from 2025-01-01T00:00:00Z, `status=error` on every fourth line."""

from __future__ import annotations

import csv
import io
import json
import time
import xml.etree.ElementTree as ET

import httpx
import pytest

from tests.conftest import wait_for

from tests.server.conftest import REST_N as N, T0

ATOM = "{http://www.w3.org/2005/Atom}"
S = "{http://dev.splunk.com/ns/rest}"


@pytest.fixture(scope="module")
def server(splunk_server):
    return splunk_server


def form(server, method, path, data=None, **params):
    """A form body with no Content-Type, as splunk-sdk-python sends it."""
    body = str(httpx.QueryParams(data)) if data else None
    return httpx.request(method, server.url + path, params=params, content=body, timeout=60,
                         headers={"Authorization": f"Splunk {server.token}"})


def done_job(server, search: str) -> str:
    r = form(server, "POST", "/services/search/jobs", {"search": search, "exec_mode": "blocking"}, output_mode="json")
    assert r.status_code == 201, r.text
    return r.json()["sid"]


def test_status_atom_and_json_output_modes_and_controls(server):
    sid = done_job(server, "search index=rest status=error")
    atom = form(server, "GET", f"/services/search/jobs/{sid}")
    root = ET.fromstring(atom.text)
    assert root.tag == f"{ATOM}entry"   # the entry is the root, as Splunk answers
    keys = {k.get("name"): k for k in root.find(f"{ATOM}content").find(f"{S}dict").findall(f"{S}key")}
    assert keys["isDone"].text == "1" and keys["dispatchState"].text == "DONE" and keys["resultCount"].text == "150"
    acl = {k.get("name"): k.text for k in keys["eai:acl"].find(f"{S}dict").findall(f"{S}key")}
    assert acl["app"] == "search" and acl["sharing"] == "global"
    js = form(server, "GET", f"/servicesNS/nobody/search/search/v2/jobs/{sid}", output_mode="json").json()
    content = js["entry"][0]["content"]
    assert content["isDone"] is True and content["eventCount"] == 150 and js["entry"][0]["acl"]["owner"] == "api-token"
    expected = [str(i) for i in range(N - 4, -1, -4)]   # newest first
    c = form(server, "POST", f"/services/search/v2/jobs/{sid}/results", {"output_mode": "csv", "count": "0"})
    rows = list(csv.DictReader(io.StringIO(c.text)))
    assert [r["n"] for r in rows] == expected
    x = form(server, "GET", f"/services/search/jobs/{sid}/results", count="10", offset="145")
    results = ET.fromstring(x.text).findall("result")
    assert [r.get("offset") for r in results] == [str(i) for i in range(145, 150)]
    raw = form(server, "GET", f"/services/search/jobs/{sid}/events", output_mode="raw", count="2").text
    assert raw.splitlines()[0].endswith(f"n={N - 4} status=error")
    summary = form(server, "GET", f"/services/search/jobs/{sid}/summary", output_mode="json").json()
    assert summary["fields"]["status"]["modes"] == [{"value": "error", "count": 150}]
    timeline = form(server, "GET", f"/services/search/jobs/{sid}/timeline", output_mode="json").json()
    assert sum(b["total_count"] for b in timeline["buckets"]) == 150
    assert form(server, "POST", f"/services/search/jobs/{sid}/control", {"action": "setttl", "ttl": "5"}).status_code == 200
    ttl = form(server, "GET", f"/services/search/jobs/{sid}", output_mode="json").json()["entry"][0]["content"]["ttl"]
    assert 0 <= ttl <= 5
    bad = form(server, "POST", f"/services/search/jobs/{sid}/control", {"action": "explode"})
    assert bad.status_code == 400 and '<msg type="ERROR">' in bad.text
    assert form(server, "DELETE", f"/services/search/jobs/{sid}").status_code == 200
    assert form(server, "GET", f"/services/search/jobs/{sid}").status_code == 404


def test_results_of_a_running_job_are_204_and_finalize_keeps_what_was_found(server):
    # a cross join: slow enough to be caught running
    slow = "search index=rest | join type=left n [search index=rest | eval n=n] | stats count"
    r = form(server, "POST", "/services/search/jobs", {"search": slow}, output_mode="json")
    sid = r.json()["sid"]

    def done() -> bool:
        return form(server, "GET", f"/services/search/jobs/{sid}", output_mode="json").json()["entry"][0]["content"][
            "isDone"]

    before = done()
    first = form(server, "POST", f"/services/search/v2/jobs/{sid}/results", {"output_mode": "json"})
    after = done()
    if first.status_code == 204:   # not done yet: nothing, and the job was running when asked
        assert first.content == b"" and before is False
    else:                          # rows only once done
        assert first.status_code == 200 and after is True and json.loads(first.text)["preview"] is False
    wait_for(lambda: form(server, "GET", f"/services/search/jobs/{sid}", output_mode="json")
             .json()["entry"][0]["content"]["isDone"])
    assert form(server, "POST", f"/services/search/jobs/{sid}/control", {"action": "cancel"}).status_code == 200
    assert form(server, "POST", f"/services/search/jobs/{sid}/control", {"action": "cancel"}).status_code == 404


def test_export_formats_and_a_listed_job(server):
    lines = form(server, "POST", "/services/search/v2/jobs/export", {"search": "search index=rest n<3",
                                                                     "output_mode": "json"}).text.splitlines()
    parsed = [json.loads(x) for x in lines]
    assert [p["result"]["n"] for p in parsed] == ["2", "1", "0"] and parsed[-1]["lastrow"] is True
    assert all(p["preview"] is False for p in parsed)
    c = form(server, "GET", "/services/search/jobs/export", search="search index=rest n<3", output_mode="csv")
    assert [r["n"] for r in csv.DictReader(io.StringIO(c.text))] == ["2", "1", "0"]
    empty = form(server, "POST", "/services/search/jobs/export", {"search": "search index=rest n=99999",
                                                                 "output_mode": "json"})
    assert empty.text.strip() == '{"preview":false,"lastrow":true}'
    sid = done_job(server, "| makeresults count=2")
    listed = form(server, "GET", "/services/search/v2/jobs/", output_mode="json").json()
    assert sid in [e["content"]["sid"] for e in listed["entry"]]


def test_hec_tokens_and_monitor_inputs(server, tmp_path):
    r = form(server, "POST", "/services/data/inputs/http", {"name": "grafana-hec", "index": "rest"},
             output_mode="json")
    assert r.status_code == 201, r.text
    secret = r.json()["entry"][0]["content"]["token"]
    listed = {e["name"]: e["content"] for e in form(server, "GET", "/services/data/inputs/http",
                                                     output_mode="json").json()["entry"]}
    assert listed["grafana-hec"]["index"] == "rest" and "token" not in listed["grafana-hec"]
    assert len(secret) >= 20
    assert form(server, "DELETE", "/servicesNS/nobody/splunk_httpinput/data/inputs/http/http%3A%2F%2Fgrafana-hec"
                ).status_code == 200
    after = form(server, "GET", "/services/data/inputs/http", output_mode="json").json()["entry"]
    assert "grafana-hec" not in [e["name"] for e in after]
    watched = tmp_path / "watched"
    watched.mkdir()
    r = form(server, "POST", "/services/data/inputs/monitor", {"name": str(watched), "index": "rest",
                                                              "sourcetype": "mine"}, output_mode="json")
    assert r.status_code == 201 and r.json()["entry"][0]["content"]["sourcetype"] == "mine"
    shown = form(server, "GET", f"/services/data/inputs/monitor/{str(watched).replace('/', '%2F')}",
                 output_mode="json")
    assert shown.status_code == 200 and shown.json()["entry"][0]["name"] == str(watched)
    assert form(server, "DELETE", f"/services/data/inputs/monitor{watched}").status_code == 200
    after = form(server, "GET", "/services/data/inputs/monitor", output_mode="json").json()["entry"]
    assert str(watched) not in [e["name"] for e in after]
    assert httpx.get(server.url + "/services/data/inputs/monitor").status_code == 401


GRAFANA_RANGE = {"from": "2025-01-01T00:00:00.000Z", "to": "2025-01-01T00:10:00.000Z",
                 "raw": {"from": "2025-01-01T00:00:00.000Z", "to": "2025-01-01T00:10:00.000Z"}}


def grafana(server, path, body):
    return httpx.post(server.url + "/grafana" + path, json=body, timeout=60,
                      headers={"Authorization": f"Bearer {server.token}"})


def test_grafana_simple_json_protocol(server):
    assert httpx.get(server.url + "/grafana/", headers={"Authorization": f"Bearer {server.token}"}).status_code == 200
    assert httpx.get(server.url + "/grafana/").status_code == 401
    body = {"panelId": 2, "range": GRAFANA_RANGE, "rangeRaw": GRAFANA_RANGE["raw"], "interval": "1m",
            "intervalMs": 60000, "maxDataPoints": 1000, "format": "json",
            "targets": [{"target": "index=rest | timechart span=1m count by status", "refId": "A",
                         "type": "timeserie"},
                        {"target": "search index=rest | stats count by status", "refId": "B", "type": "table"}]}
    r = grafana(server, "/query", body)
    assert r.status_code == 200, r.text
    series = {s["target"]: s["datapoints"] for s in r.json() if "datapoints" in s}
    minute = [T0 * 1000 + m * 60000 for m in range(10)]
    assert [t for _, t in series["error"]] == minute   # oldest first, inside the range
    assert [v for v, _ in series["error"]] == [15] * 10 and [v for v, _ in series["ok"]] == [45] * 10
    (table,) = [x for x in r.json() if x.get("type") == "table"]
    assert table["columns"] == [{"text": "status", "type": "string"}, {"text": "count", "type": "number"}]
    assert sorted(table["rows"]) == [["error", 150], ["ok", 450]]
    # a saved search's name is a target too; /search lists the names
    saved = form(server, "POST", "/services/saved/searches", {
        "name": "errors per minute", "search": "index=rest status=error | timechart span=5m count",
        "cron_schedule": "*/5 * * * *", "is_scheduled": "1", "alert_type": "number of events",
        "alert_comparator": "greater than", "alert_threshold": "0", "alert.track": "1",
        "dispatch.earliest_time": "0"}, output_mode="json")
    assert saved.status_code == 201, saved.text
    assert grafana(server, "/search", {"target": "per min"}).json() == ["errors per minute"]
    r = grafana(server, "/query", {**body, "targets": [{"target": "errors per minute", "refId": "C"}]})
    assert r.json() == [{"target": "count", "datapoints": [[75, T0 * 1000], [75, T0 * 1000 + 300000]], "refId": "C"}]
    # annotations: the fired alerts inside the range
    d = form(server, "POST", "/services/saved/searches/errors per minute/dispatch", {"trigger_actions": "1"},
             output_mode="json")
    assert d.status_code == 201, d.text
    now_ms = int(time.time() * 1000)
    rng = {"from": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(time.time() - 3600)),
           "to": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(time.time() + 3600))}
    ann = grafana(server, "/annotations", {"range": rng, "annotation": {"name": "alerts", "enable": True,
                                                                        "query": "errors per minute"}}).json()
    assert len(ann) == 1 and ann[0]["title"] == "errors per minute" and abs(ann[0]["time"] - now_ms) < 600_000
    assert ann[0]["text"].endswith(d.json()["sid"])
    assert grafana(server, "/annotations", {"range": GRAFANA_RANGE, "annotation": {"name": "a"}}).json() == []
    bad = grafana(server, "/query", {"range": {"from": "yesterday", "to": "now"}, "targets": []})
    assert bad.status_code == 400 and "range.from" in bad.json()["error"]["message"]


def test_the_curl_walk_through_of_docs_api_md(server, tmp_path):
    """The commands of docs/api.md, run as written (API, LOGDIR and PASSWORD set for this server)."""
    import os
    import re
    import subprocess

    from tests.conftest import REPO
    from tests.server.conftest import SDK_N, SDK_PASSWORD

    doc = (REPO / "docs" / "api.md").read_text()
    script = re.search(r"### A walk-through with curl.*?```sh\n(.*?)```", doc, re.S).group(1)
    (tmp_path / "logs").mkdir()
    script = re.sub(r"^API=.*$", f"API={server.url}", script, flags=re.M)
    script = re.sub(r"^LOGDIR=.*$", f"LOGDIR={tmp_path / 'logs'}", script, flags=re.M)
    run = subprocess.run(["bash", "-e", "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                         env={**os.environ, "PASSWORD": SDK_PASSWORD})
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    assert '<s:key name="version">9.2.0</s:key>' in run.stdout
    rows = list(csv.DictReader(io.StringIO((tmp_path / "all.csv").read_text())))
    assert sorted(int(r["n"]) for r in rows) == list(range(SDK_N))
    monitors = form(server, "GET", "/services/data/inputs/monitor", output_mode="json").json()["entry"]
    assert str(tmp_path / "logs") in [e["name"] for e in monitors]


def test_wrong_passwords_through_rest_are_throttled_like_the_sign_in_page(server):
    import base64

    statuses = []
    for _ in range(7):
        r = httpx.post(server.url + "/services/auth/login", data={"username": "probe", "password": "guess"})
        statuses.append(r.status_code)
    assert statuses[:5] == [401] * 5 and statuses[-1] == 429   # 5 free failures per account
    basic = "Basic " + base64.b64encode(b"probe:guess").decode()
    r = httpx.get(server.url + "/services/server/info", headers={"Authorization": basic})
    assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1
