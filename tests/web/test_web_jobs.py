"""Search jobs, saved searches and "show source" over HTTP, against a real `speleo serve`."""

from __future__ import annotations

import csv
import io
import re
import shutil
import time

import httpx
import pytest

from tests.conftest import data_path, run_cli
from tests.web.test_web_auth import admin_password, sign_in

SLOW = "| makeresults count=30000000000 | stats dc(_time)"  # tens of seconds of DuckDB work


def csrf_of(client: httpx.Client) -> str:
    return re.search(r'name="csrf-token" content="([^"]+)"', client.get("/").text).group(1)


@pytest.fixture
def web(server_factory, tmp_path):
    home = tmp_path / "home"
    small = tmp_path / "logs" / "access.log"
    small.parent.mkdir()
    lines = data_path("elastic-examples", "apache", "apache_logs").read_text().splitlines(keepends=True)[:200]
    small.write_text("".join(lines))
    run_cli(home, "add", "oneshot", str(small), "--index", "web")
    server = server_factory(home).start()
    client, r = sign_in(server, "admin", admin_password(server))
    assert r.status_code == 303
    client.headers["X-CSRF-Token"] = csrf_of(client)
    yield server, client, small
    client.close()


def wait_job(client, job_id, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = client.get(f"/web/api/jobs/{job_id}").json()
        if body["state"] != "running":
            return body
        time.sleep(0.1)
    raise AssertionError("job still running")


def test_job_runs_and_matches_the_api(web):
    server, client, _ = web
    r = client.post("/web/api/jobs", json={"search": "index=web GET", "limit": 1000})
    assert r.status_code == 202, r.text
    job = r.json()
    assert job["state"] in ("running", "done") and job["id"]
    done = wait_job(client, job["id"])
    assert done["state"] == "done"
    api = server.search("index=web GET", limit=1)
    assert done["result"]["total"] == api["total"] > 0
    assert {k: done["result"]["timeline"][k] for k in api["timeline"]} == api["timeline"]
    assert done["progress"]["buckets"] >= 1 and done["elapsed_secs"] >= 0
    # a failing search: state failed with the parser's position
    bad = wait_job(client, client.post("/web/api/jobs", json={"search": "index=web | stats count by"}).json()["id"])
    assert bad["state"] == "failed" and bad["error"]["column"]


def test_job_reports_progress_and_cancels(web):
    server, client, _ = web
    job = client.post("/web/api/jobs", json={"search": SLOW}).json()
    seen = None
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        body = client.get(f"/web/api/jobs/{job['id']}").json()
        assert body["state"] == "running"
        if body["progress"]["step_percent"] is not None:
            seen = body["progress"]["step_percent"]
            break
        time.sleep(0.1)
    assert seen is not None and 0 <= seen <= 100
    started = time.monotonic()
    r = client.delete(f"/web/api/jobs/{job['id']}")
    assert r.status_code == 200 and r.json()["state"] == "cancelled"
    # the DuckDB query was interrupted: the server answers searches at once again
    assert server.search("index=web | stats count")["results"][0]["count"] == 200
    assert time.monotonic() - started < 10
    assert client.get(f"/web/api/jobs/{job['id']}").json()["state"] == "cancelled"


def test_jobs_are_per_user_and_need_a_session(web):
    server, client, _ = web
    job = client.post("/web/api/jobs", json={"search": "index=web"}).json()
    run_cli(server.home, "user", "add", "bob", "--role", "user", "--password-stdin", input="bob-password\n")
    bob, _ = sign_in(server, "bob", "bob-password")
    bob.headers["X-CSRF-Token"] = csrf_of(bob)
    assert bob.get(f"/web/api/jobs/{job['id']}").status_code == 404
    assert bob.delete(f"/web/api/jobs/{job['id']}").status_code == 404
    assert httpx.get(f"{server.url}/web/api/jobs/{job['id']}").status_code == 401
    # no CSRF header: refused
    assert httpx.post(f"{server.url}/web/api/jobs", json={"search": "x"}, cookies=client.cookies).status_code == 401
    assert client.get("/web/api/jobs/nope").status_code == 404


def test_saved_searches_session_and_token(web):
    server, client, _ = web
    r = client.post("/api/v1/saved-searches", json={"name": "404s", "search": "index=web 404", "earliest": "-24h"})
    assert r.status_code == 201, r.text
    sid = r.json()["id"]
    assert r.json()["owner"] == "admin"
    assert client.post("/api/v1/saved-searches", json={"name": "404s", "search": "index=web"}).status_code == 409
    r = client.post("/api/v1/saved-searches", json={"name": "404s", "search": "index=web 404 | head 5", "replace": True})
    assert r.status_code == 200 and r.json()["id"] == sid
    mine = client.get("/api/v1/saved-searches").json()["saved_searches"]
    assert [(s["name"], s["search"], s["earliest"]) for s in mine] == [("404s", "index=web 404 | head 5", None)]
    assert client.post("/api/v1/saved-searches", json={"name": "", "search": "x"}).status_code == 400
    # the API token: its own owner, sees everyone's
    r = server.api("POST", "/api/v1/saved-searches", json={"name": "404s", "search": "index=web status=404"})
    assert r.status_code == 201 and r.json()["owner"] == "api token"
    every = server.api("GET", "/api/v1/saved-searches").json()["saved_searches"]
    assert sorted(s["owner"] for s in every) == ["admin", "api token"]
    assert len(client.get("/api/v1/saved-searches").json()["saved_searches"]) == 1
    # another user sees none of them and cannot delete admin's
    run_cli(server.home, "user", "add", "carol", "--role", "user", "--password-stdin", input="carol-password\n")
    carol, _ = sign_in(server, "carol", "carol-password")
    carol.headers["X-CSRF-Token"] = csrf_of(carol)
    assert carol.get("/api/v1/saved-searches").json()["saved_searches"] == []
    assert carol.delete(f"/api/v1/saved-searches/{sid}").status_code == 404
    assert carol.post("/api/v1/saved-searches", json={"name": "404s", "search": "x"}).status_code == 201
    # without CSRF a session cannot write; without anything: 401
    assert httpx.post(f"{server.url}/api/v1/saved-searches", json={"name": "n", "search": "x"},
                      cookies=client.cookies).status_code == 401
    assert httpx.get(f"{server.url}/api/v1/saved-searches").status_code == 401
    assert client.delete(f"/api/v1/saved-searches/{sid}").status_code == 204
    assert client.get("/api/v1/saved-searches").json()["saved_searches"] == []
    # kept across a restart (ops.sqlite)
    server.stop()
    server.start()
    assert len(server.api("GET", "/api/v1/saved-searches").json()["saved_searches"]) == 2


def test_show_source(web):
    server, client, small = web
    ev = server.search("index=web | head 1 | table _offset source _time linecount _raw")["results"][0]
    lines = small.read_text().splitlines()
    r = client.get("/web/api/source", params={"index": "web", "source": ev["source"], "offset": ev["_offset"], "lines": 3})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["available"]
    marked = [ln for ln in body["lines"] if ln["event"]]
    assert [ln["text"] for ln in marked] == [ev["_raw"]]
    i = lines.index(ev["_raw"])
    assert [ln["text"] for ln in body["lines"]] == lines[max(0, i - 3): i + 4]
    assert small.read_bytes()[marked[0]["offset"]:].startswith(ev["_raw"].encode())
    # only sources of indexed events: another path, or a wrong offset, is not read
    for params in ({"source": "/etc/passwd", "offset": 0}, {"source": ev["source"], "offset": ev["_offset"] + 1}):
        r = client.get("/web/api/source", params={"index": "web", **params})
        assert r.status_code == 404, r.text
    assert client.get("/web/api/source", params={"index": "web", "source": ev["source"], "offset": 0}).status_code in (200, 404)
    assert httpx.get(f"{server.url}/web/api/source", params={"index": "web", "source": ev["source"],
                                                              "offset": ev["_offset"]}).status_code == 401
    # the file changed: not shown
    small.write_text("rewritten\n" * 50)
    body = client.get("/web/api/source", params={"index": "web", "source": ev["source"], "offset": ev["_offset"]}).json()
    assert not body["available"] and "changed" in body["reason"]
    small.unlink()
    body = client.get("/web/api/source", params={"index": "web", "source": ev["source"], "offset": ev["_offset"]}).json()
    assert not body["available"] and "no longer exists" in body["reason"]
    shutil.rmtree(small.parent)


def test_vendor_chart_library_served_from_node_modules(web):
    from speleo.web.routes import CHART_JS, vendor_available

    server, client, _ = web
    page = client.get("/").text
    if not vendor_available():
        assert "/static/vendor/" not in page
        pytest.skip("src/speleo/web/node_modules not installed (make runs npm ci)")
    assert CHART_JS in page
    r = client.get(CHART_JS)
    assert r.status_code == 200 and "Chart.js" in r.text[:400]
    assert client.get("/static/vendor/chart.js/../package.json").status_code == 404


# a search that matches every event but costs DuckDB real work per event (RE2 falls back from
# its DFA): over 20 buckets its batches take a while each, with no test hook in the server
HEAVY = 'index=web* | regex _raw!="(?:.{0,30}){0,30}zzzq"'


def many_buckets_home(tmp_path, files: int = 20):
    """A home with the Apache log split in `files` consecutive parts, one bucket each: one index
    each (web00, web01...), as the server merges an index's small buckets once it has 8."""
    from speleo.config import Home
    from speleo.ingest.oneshot import add_oneshot
    from speleo.service import Service

    lines = data_path("elastic-examples", "apache", "apache_logs").read_text().splitlines(keepends=True)
    home = tmp_path / "home"
    svc = Service(Home(home))
    w = svc.open_writer()
    for i in range(files):
        part = tmp_path / "logs" / f"access-{i:02d}.log"
        part.parent.mkdir(exist_ok=True)
        part.write_text("".join(lines[i * len(lines) // files:(i + 1) * len(lines) // files]))
        add_oneshot(w.ingestor, part, f"web{i:02d}")
    w.close()
    assert len(svc.catalog.live_buckets()) == files
    return home


@pytest.fixture
def web_many(server_factory, tmp_path):
    server = server_factory(many_buckets_home(tmp_path)).start()
    client, r = sign_in(server, "admin", admin_password(server))
    assert r.status_code == 303
    client.headers["X-CSRF-Token"] = csrf_of(client)
    yield server, client
    client.close()


def test_job_partial_results_then_the_answer(web_many):
    server, client = web_many
    job = client.post("/web/api/jobs", json={"search": HEAVY, "limit": 1000}).json()
    partials = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        body = client.get(f"/web/api/jobs/{job['id']}").json()
        if body["state"] != "running":
            break
        if "partial" in body:
            partials.append(body)
        time.sleep(0.05)
    assert body["state"] == "done", body
    final = body["result"]
    assert "partial" not in body and "partial" not in final
    api = server.search(HEAVY, limit=1000)
    assert final["total"] == api["total"] == 10000
    assert {k: final["timeline"][k] for k in api["timeline"]} == api["timeline"]
    assert [e["_time"] for e in final["events"]] == [e["_time"] for e in api["events"]]
    # partial results were there while it ran: fewer events, newest first, growing
    assert partials, "no partial result seen"
    totals = [p["partial"]["total"] for p in partials]
    assert totals == sorted(totals) and totals[0] < final["total"]
    for p in partials:
        part, progress = p["partial"], p["progress"]
        assert part["partial"] is True and part["kind"] == "events"
        assert 0 < progress["buckets_done"] < progress["buckets"] == 20 or progress["buckets_done"] == 20
        assert 0 < progress["percent"] <= 100 and progress["bytes_done"] <= progress["bytes"]
        assert part["total"] == 500 * progress["buckets_done"]   # every event matches; 500 a bucket
        assert sum(b["count"] for b in part["timeline"]["buckets"]) == part["total"]
        assert part["timeline"]["span_secs"] == final["timeline"]["span_secs"]
        times = [e["_time"] for e in part["events"]]
        assert times == sorted(times, reverse=True) and len(times) == min(1000, part["total"])
        # the newest buckets are read first: the newest events are the answer's newest events
        assert part["events"][0]["_time"] == final["events"][0]["_time"]
        assert "clientip" in part["events"][0]   # search-time fields, as in the answer


def test_job_cancel_while_partial_results_arrive(web_many):
    server, client = web_many
    job = client.post("/web/api/jobs", json={"search": HEAVY, "limit": 100}).json()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        body = client.get(f"/web/api/jobs/{job['id']}").json()
        assert body["state"] == "running", body
        if "partial" in body:
            break
        time.sleep(0.05)
    assert body["progress"]["buckets_done"] < 20
    started = time.monotonic()
    r = client.delete(f"/web/api/jobs/{job['id']}")
    assert r.status_code == 200 and r.json()["state"] == "cancelled"
    assert "partial" not in r.json() and "result" not in r.json()
    # the work stopped: the server answers at once again
    assert server.search("index=web* | stats count")["results"][0]["count"] == 10000
    assert time.monotonic() - started < 5
    assert client.get(f"/web/api/jobs/{job['id']}").json()["state"] == "cancelled"


def test_transforming_job_has_no_partial_results(web):
    server, client, _ = web
    job = client.post("/web/api/jobs", json={"search": "index=web | stats count by status"}).json()
    done = wait_job(client, job["id"])
    assert done["state"] == "done" and "partial" not in done
    assert "percent" not in done["progress"]
    assert sorted((r["status"], r["count"]) for r in done["result"]["results"]) == sorted(
        (r["status"], r["count"]) for r in server.search("index=web | stats count by status")["results"])


def test_favicon(web):
    server, client, _ = web
    for c in (client, httpx.Client(base_url=server.url)):   # also before signing in
        r = c.get("/favicon.ico")
        assert r.status_code == 200 and r.headers["content-type"].startswith("image/svg+xml")
        assert r.text.lstrip().startswith("<svg")
    assert 'rel="icon"' in client.get("/").text


def test_jobs_outlive_a_kill9_and_restart(web):
    """Finished jobs come back after kill -9 and a restart, with their answer, rows and exports
    (speleo.web.dispatch); a job cut short by the kill says so; a deleted job stays deleted."""
    server, client, small = web
    lines = small.read_text().splitlines()
    want_get = sum(1 for x in lines if '"GET ' in x)
    done = wait_job(client, client.post("/web/api/jobs", json={"search": "index=web GET", "limit": 1000}).json()["id"])
    assert done["state"] == "done" and done["result"]["total"] == want_get
    stats = wait_job(client, client.post("/web/api/jobs", json={"search": "index=web | stats count by host"}).json()["id"])
    # a REST job (Splunk's API keeps the engine's result) made with the token
    rest = server.api("POST", "/services/search/jobs", data={"search": "search index=web | head 7", "output_mode": "json"})
    assert rest.status_code == 201, rest.text
    sid = rest.json()["sid"]
    for _ in range(300):
        if server.api("GET", f"/services/search/jobs/{sid}", params={"output_mode": "json"}) \
                .json()["entry"][0]["content"]["isDone"]:
            break
        time.sleep(0.1)
    # a REST job deleted (Splunk: DELETE removes the job and its artifacts)
    gone = server.api("POST", "/services/search/jobs", data={"search": "search index=web POST", "exec_mode": "blocking",
                                                             "output_mode": "json"}).json()["sid"]
    assert server.api("DELETE", f"/services/search/jobs/{gone}").status_code == 200
    running = client.post("/web/api/jobs", json={"search": SLOW}).json()["id"]
    time.sleep(1.0)
    server.kill9()
    server.start()
    back = client.get(f"/web/api/jobs/{done['id']}").json()
    assert back["state"] == "done" and back["result"] == done["result"]
    page = client.get(f"/web/api/jobs/{done['id']}/rows", params={"offset": 5, "count": 3}).json()
    assert [e["_raw"] for e in page["events"]] == [e["_raw"] for e in done["result"]["events"][5:8]]
    csv_text = client.get(f"/web/api/jobs/{done['id']}/export", params={"format": "csv"}).text
    assert len(list(csv.reader(io.StringIO(csv_text)))) == want_get + 1
    assert client.get(f"/web/api/jobs/{stats['id']}").json()["result"]["results"] == stats["result"]["results"]
    cut = client.get(f"/web/api/jobs/{running}").json()
    assert cut["state"] == "failed" and cut["error"]["code"] == "interrupted" and "restart" in cut["error"]["message"]
    assert server.api("GET", f"/services/search/jobs/{gone}").status_code == 404
    r = server.api("GET", f"/services/search/jobs/{sid}/results", params={"output_mode": "json", "count": 0})
    assert r.status_code == 200 and [x["_raw"] for x in r.json()["results"]] == \
        [e["_raw"] for e in server.search("index=web | head 7")["events"]]
    listed = {j["id"] for j in client.get("/web/api/jobs").json()["jobs"]}
    assert {done["id"], stats["id"], running} <= listed


def test_a_long_poll_answers_when_the_job_ends_or_when_its_wait_is_over(web):
    """GET /web/api/jobs/{id}?wait=S: the dashboard's long poll. A job that ends within the wait
    is answered done by one request; a job still running after the wait is answered running."""
    server, client, _ = web
    job = client.post("/web/api/jobs", json={"search": "index=web GET | stats count", "limit": 10}).json()
    body = client.get(f"/web/api/jobs/{job['id']}", params={"wait": 60}).json()
    assert body["state"] == "done"
    assert body["result"]["results"][0]["count"] == server.search("index=web GET | stats count")["results"][0]["count"]
    slow = client.post("/web/api/jobs", json={"search": SLOW, "limit": 10}).json()
    t = time.monotonic()
    body = client.get(f"/web/api/jobs/{slow['id']}", params={"wait": 0.3}).json()
    assert body["state"] == "running" and time.monotonic() - t >= 0.3
    # not a number: no wait (as a negative one), never an endless or a failed request
    t = time.monotonic()
    body = client.get(f"/web/api/jobs/{slow['id']}", params={"wait": "nan"}).json()
    assert body["state"] == "running" and time.monotonic() - t < 0.3
    # a long poll on a job that ends while it waits is woken by the end (here: a cancel)
    import threading

    answers = []
    poll = threading.Thread(target=lambda: answers.append(
        client.get(f"/web/api/jobs/{slow['id']}", params={"wait": 10}).json()))
    poll.start()
    time.sleep(0.3)
    t = time.monotonic()
    client.delete(f"/web/api/jobs/{slow['id']}")
    poll.join(15)
    assert answers and answers[0]["state"] == "cancelled" and time.monotonic() - t < 9
