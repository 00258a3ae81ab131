"""The licence record against the bytes actually sent: a monitored file and HEC bodies into a
real server; Usage events in `_internal` (Splunk's license_usage.log fields), the budget warning,
`speleo license usage`, `/services/licenser/usage`. Internal indexes are not counted."""

from __future__ import annotations

import json

import httpx
import pytest

from speleo.storage.license import usage_events
from tests.conftest import free_port, run_cli, wait_for


def test_usage_events_squash_source_and_host_past_the_threshold():
    rows = [{"day": "2026-12-04", "idx": "main", "st": "app", "h": f"h{i}", "s": f"/s{i}", "b": 10 * (i + 1)}
            for i in range(3)] + [{"day": "2026-12-04", "idx": "web", "st": "access", "h": "w", "s": "/a", "b": 7}]
    assert [(e["s"], e["h"], e["b"]) for e in usage_events(rows, "ID", 0, threshold=10)] == [
        ("/s0", "h0", 10), ("/s1", "h1", 20), ("/s2", "h2", 30), ("/a", "w", 7)]
    squashed = usage_events(rows, "ID", 500, threshold=3)
    assert [(e["st"], e["idx"], e["s"], e["h"], e["b"], e["poolsz"]) for e in squashed] == [
        ("access", "web", "", "", 7, 500), ("app", "main", "", "", 60, 500)]
    assert all(e["type"] == "Usage" and e["i"] == "ID" for e in squashed)


@pytest.fixture
def server(tmp_path, server_factory, monkeypatch):
    monkeypatch.setenv("SPELEO_LICENSE_REPORT_SECS", "0.5")
    home = tmp_path / "home"
    home.mkdir()
    run_cli(home, "license", "budget", "set", "1KB")
    s = server_factory(home, ["--hec-port", str(free_port())])
    return s.start()


def test_metering_matches_the_bytes_of_the_file_and_the_hec_bodies_sent(server, tmp_path):
    hec_port = int(server.extra[1])
    token = run_cli(server.home, "token", "create", "t1", "--index", "hec").stdout.strip()
    logs = tmp_path / "logs"
    logs.mkdir()
    file_lines = [f"2026-12-01 10:00:{i:02d} INFO request id={i} päth=/x/{'y' * i}" for i in range(40)]
    (logs / "app.log").write_text("\n".join(file_lines) + "\n", encoding="utf-8")
    run_cli(server.home, "add", "monitor", str(logs), "--index", "main", "--sourcetype", "app")
    bodies = [f"hec event {i} with ünïcode {'z' * i}" for i in range(25)]
    payload = "".join(json.dumps({"event": b, "time": 1764583200 + i, "host": "hh", "sourcetype": "hecst"})
                      for i, b in enumerate(bodies))
    r = httpx.post(f"http://127.0.0.1:{hec_port}/services/collector/event", content=payload,
                   headers={"Authorization": f"Splunk {token}"}, timeout=30)
    assert r.status_code == 200, r.text
    # expected: UTF-8 bytes of each event's text (lines without their line breaks; HEC event strings)
    want = {"main": sum(len(x.encode()) for x in file_lines), "hec": sum(len(x.encode()) for x in bodies)}

    def usage_by_index() -> dict:
        res = server.search('index=_internal source="license_usage.log" type=Usage | stats sum(b) as b by idx')
        return {row["idx"]: int(float(row["b"])) for row in res["results"]}

    wait_for(lambda: usage_by_index() == want, timeout=40)
    one = server.search('index=_internal source="license_usage.log" type=Usage idx=main')["events"][0]["_raw"]
    for field in ('type="Usage"', 's="', 'st="app"', 'h="', 'o=""', 'idx="main"', 'i="', 'pool="', 'b="', 'poolsz="1024"'):
        assert field in one
    # over the 1 KB budget: a warning event, in status, in the CLI, over REST
    warn = wait_for(lambda: server.search('index=_internal type=QuotaExceeded')["events"], timeout=20)
    assert 'poolsz="1024"' in warn[0]["_raw"]
    st = server.api("GET", "/api/v1/status").json()["license"]
    assert st["exceeded"] and st["bytes"] == sum(want.values()) and st["warnings_30d"] == [st["day"]]
    body = json.loads(run_cli(server.home, "license", "usage", "--by", "index", "--output", "json").stdout)
    assert {r["index"]: r["bytes"] for r in body["rows"]} == want   # _internal is not in the record
    by_st = json.loads(run_cli(server.home, "license", "usage", "--by", "sourcetype", "-o", "json").stdout)["rows"]
    assert {r["sourcetype"]: r["bytes"] for r in by_st} == {"app": want["main"], "hecst": want["hec"]}
    splunk = server.api("GET", "/services/licenser/usage").json()["entry"][0]["content"]
    assert splunk["quota"] == 1024 and splunk["slaves_usage_bytes"] == sum(want.values())
