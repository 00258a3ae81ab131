"""The command-line contract of issue 2, through real `speleo` processes."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest

from tests.conftest import data_path, jsonl, run_cli, wait_for

ACCESS = ("elastic-examples", "apache", "apache_logs")


@pytest.fixture
def home(tmp_path):
    return tmp_path / "home"


def test_oneshot_twice_is_refused_unless_forced(home):
    path = data_path(*ACCESS)
    first = run_cli(home, "add", "oneshot", str(path), "--index", "web")
    assert "10,000 events" in first.stdout
    again = run_cli(home, "add", "oneshot", str(path), "--index", "web", check=False)
    assert again.returncode != 0 and "--force" in again.stderr
    run_cli(home, "add", "oneshot", str(path), "--index", "web", "--force")
    out = run_cli(home, "search", "index=web | stats count", "--output", "jsonl")
    assert jsonl(out.stdout) == [{"count": 20_000}]
    whole = run_cli(home, "search", "index=web | stats count", "-o", "json")   # one array, as every listing
    assert json.loads(whole.stdout) == [{"count": 20_000}]


def test_search_jsonl_events_carry_the_contract_fields(home):
    path = data_path(*ACCESS)
    run_cli(home, "add", "oneshot", str(path), "--index", "web", "--sourcetype", "access_combined", "--host", "www1")
    out = run_cli(home, "search", "index=web", "--earliest", "0", "--output", "jsonl", "--limit", "0")
    events = jsonl(out.stdout)
    assert len(events) == 10_000
    def when(line: str) -> dt.datetime:
        return dt.datetime.strptime(re.search(r"\[([^\]]+)\]", line).group(1), "%d/%b/%Y:%H:%M:%S %z")

    lines = path.read_text().splitlines()
    latest = max(when(l) for l in lines)
    newest = events[0]
    assert newest["_raw"] in {l for l in lines if when(l) == latest}
    assert dt.datetime.fromisoformat(newest["_time"]) == latest
    assert (newest["host"], newest["sourcetype"], newest["index"]) == ("www1", "access_combined", "web")
    assert newest["source"] == str(path.resolve())
    assert sorted(when(l) for l in lines) == sorted(dt.datetime.fromisoformat(e["_time"]) for e in events)
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?[+-]\d\d:\d\d$", newest["_time"])


def test_limit_and_csv_output(home):
    run_cli(home, "add", "oneshot", str(data_path(*ACCESS)), "--index", "web")
    out = run_cli(home, "search", "index=web | stats count by status | sort -count", "--output", "csv", "--limit", "2")
    lines = out.stdout.strip().splitlines()
    assert lines[0] == "status,count" and len(lines) == 3
    assert lines[1].startswith("200,")


def test_bad_query_exits_non_zero_with_a_caret(home):
    proc = run_cli(home, "search", "index=web | stats cnt by status", check=False)
    assert proc.returncode == 2
    assert "^" in proc.stderr and "column" in proc.stderr and "count" in proc.stderr


def test_sub_second_times_are_printed(home, tmp_path):
    log = tmp_path / "app.log"
    log.write_text("2026-11-01 10:00:00,123 INFO one\n2026-11-01 10:00:01 INFO two\n")
    run_cli(home, "add", "oneshot", str(log), "--index", "main")
    times = [e["_time"] for e in jsonl(run_cli(home, "search", "index=main", "--output", "jsonl").stdout)]
    assert any(t.startswith("2026-11-01T10:00:00.123") for t in times)


def test_relative_time_range_with_pinned_now(home, tmp_path):
    log = tmp_path / "app.log"
    log.write_text("2026-11-01 10:00:00 INFO old\n2026-11-02 09:30:00 INFO new\n")
    run_cli(home, "add", "oneshot", str(log), "--index", "main")
    # naive times are read in the machine's zone: pin "now" at 10:00 of that zone, the same day
    now = dt.datetime(2026, 11, 2, 10, 0).astimezone().timestamp()
    out = run_cli(home, "search", "index=main", "--earliest", "-1h", "--now", str(now), "--output", "jsonl")
    assert [e["_raw"] for e in jsonl(out.stdout)] == ["2026-11-02 09:30:00 INFO new"]
    out = run_cli(home, "search", "index=main", "--earliest", "-1d@d", "--latest", "@d", "--now", str(now), "--output", "jsonl")
    assert [e["_raw"] for e in jsonl(out.stdout)] == ["2026-11-01 10:00:00 INFO old"]


def test_index_create_list_show_and_status(home):
    run_cli(home, "index", "create", "fw")
    dup = run_cli(home, "index", "create", "fw", check=False)
    assert dup.returncode != 0 and "already exists" in dup.stderr
    bad = run_cli(home, "index", "create", "Bad Name", check=False)
    assert bad.returncode != 0 and "invalid index name" in bad.stderr
    names = [i["name"] for i in json.loads(run_cli(home, "index", "list", "--json").stdout)]
    assert "fw" in names and "main" in names
    run_cli(home, "add", "oneshot", str(data_path(*ACCESS)), "--index", "fw")
    shown = json.loads(run_cli(home, "index", "show", "fw").stdout)
    assert shown["events"] == 10_000 and shown["buckets"]
    st = json.loads(run_cli(home, "status", "--json").stdout)
    by_name = {i["name"]: i["events"] for i in st["indexes"]}
    # the total counts Speleo's own indexes too (the audit trail may hold the index creation)
    assert by_name["fw"] == 10_000 and st["events"] == sum(by_name.values()) and st["disk_bytes"] > 0


def test_commands_work_beside_a_running_server(home, server_factory, tmp_path):
    server = server_factory(home).start()
    run_cli(home, "add", "oneshot", str(data_path(*ACCESS)), "--index", "web")
    res = server.search("index=web status=404 | stats count")
    assert res["results"] == [{"count": 213}]
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "a.log").write_text("2026-11-01 10:00:00 INFO hello=world\n")
    run_cli(home, "add", "monitor", str(logs), "--index", "main")
    wait_for(lambda: server.search("index=main hello=world")["total"] == 1, timeout=15)
    out = run_cli(home, "search", "index=main hello=world", "--output", "jsonl")
    assert len(jsonl(out.stdout)) == 1


def test_api_refuses_requests_without_the_token(home, server_factory):
    import httpx

    server = server_factory(home).start()
    assert httpx.get(server.url + "/health").status_code == 200
    r = httpx.post(server.url + "/api/v1/search", json={"search": "index=main"})
    assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized"
    r = httpx.post(server.url + "/api/v1/search", json={"search": "index=main"}, headers={"Authorization": "Bearer nope"})
    assert r.status_code == 401
    r = server.api("POST", "/api/v1/search", json={"search": "index=main | stats cnt"})
    assert r.status_code == 400
    err = r.json()["error"]
    assert err["line"] == 1 and err["column"] == 20


@pytest.mark.parametrize("query, word", [
    ('index=web | rex "(?<x>[a-z+"', "invalid regular expression"),
    # look-around runs (the regex package) since 2026-12-06; a broken one is still refused with a caret
    ('index=web | rex max_match=0 "(?<=GET )(?<p>[)"', "invalid regular expression"),
])
def test_bad_regex_is_a_clean_error_with_a_caret(home, query, word):
    proc = run_cli(home, "search", query, check=False)
    assert proc.returncode == 2 and word in proc.stderr and "^" in proc.stderr and "Traceback" not in proc.stderr
