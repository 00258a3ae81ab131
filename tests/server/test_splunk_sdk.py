"""The real splunk-sdk-python (PyPI `splunk-sdk`, unmodified) against a real `speleo serve` over
HTTP: login, server/info, oneshot, jobs with polling and paging past 1,000 results, export,
indexes, saved searches and their dispatch (splunk-features.md section 5.9, issue 14).

Expected values come from the log file tests/server/conftest.py writes into `main`: 2,500 lines,
`n=0..2499`, every fifth line `status=error`, `node=h0..h2` in rotation."""

from __future__ import annotations

import base64
import time

import httpx
import pytest

client = pytest.importorskip("splunklib.client")
results = pytest.importorskip("splunklib.results")
binding = pytest.importorskip("splunklib.binding")


from tests.server.conftest import SDK_N as N, SDK_PASSWORD as PASSWORD, T0  # noqa: E402


@pytest.fixture(scope="module")
def server(splunk_server):
    return splunk_server


@pytest.fixture(scope="module")
def service(server):
    return client.connect(host="127.0.0.1", port=server.port, scheme="http", username="admin", password=PASSWORD)


def rows_of(stream) -> tuple[list[dict], object]:
    reader = results.JSONResultsReader(stream)
    rows = [r for r in reader if isinstance(r, dict)]
    return rows, reader.is_preview


def test_login_version_and_the_three_ways_to_authenticate(server, service):
    assert service.splunk_version == (9, 2, 0) and service.disable_v2_api is False
    with pytest.raises(binding.AuthenticationError):
        client.connect(host="127.0.0.1", port=server.port, scheme="http", username="admin", password="wrong")
    # the SDK's own login: a form body with no Content-Type header, an XML sessionKey
    raw = httpx.post(server.url + "/services/auth/login", content=f"username=admin&password={PASSWORD}".encode())
    assert raw.status_code == 200 and "<sessionKey>" in raw.text
    key = raw.text.split("<sessionKey>")[1].split("</sessionKey>")[0]
    ctx = httpx.get(server.url + "/services/authentication/current-context", params={"output_mode": "json"},
                    headers={"Authorization": f"Splunk {key}"})
    assert ctx.status_code == 200 and ctx.json()["entry"][0]["content"]["username"] == "admin"
    assert httpx.get(server.url + "/services/server/info", headers={"Authorization": "Splunk nope"}).status_code == 401
    basic = "Basic " + base64.b64encode(f"admin:{PASSWORD}".encode()).decode()
    assert httpx.get(server.url + "/services/server/info", headers={"Authorization": basic}).status_code == 200
    by_token = client.connect(host="127.0.0.1", port=server.port, scheme="http", splunkToken=server.token)
    rows, _ = rows_of(by_token.jobs.oneshot("search index=main n=7", output_mode="json"))
    assert [r["n"] for r in rows] == ["7"]
    by_basic = client.connect(host="127.0.0.1", port=server.port, scheme="http", username="admin",
                              password=PASSWORD, basic=True)
    assert by_basic.splunk_version == (9, 2, 0)


def test_oneshot_counts_and_values_are_strings(service):
    rows, preview = rows_of(service.jobs.oneshot("search index=main | head 3", output_mode="json"))
    assert preview is False and [r["n"] for r in rows] == ["2499", "2498", "2497"]
    assert all(isinstance(v, (str, list)) for r in rows for v in r.values())
    assert rows[0]["_time"] == time.strftime("%Y-%m-%dT%H:%M:%S.000+00:00", time.gmtime(T0 + 2499))
    assert len(rows_of(service.jobs.oneshot("search index=main", output_mode="json"))[0]) == 100   # Splunk's count
    everything, _ = rows_of(service.jobs.oneshot("index=main status=error", output_mode="json", count=0))
    assert sorted(int(r["n"]) for r in everything) == list(range(0, N, 5))
    stats, _ = rows_of(service.jobs.oneshot("search index=main | stats count by node", output_mode="json"))
    assert {r["node"]: r["count"] for r in stats} == {f"h{k}": str(len(range(k, N, 3))) for k in range(3)}
    with pytest.raises(TypeError):
        service.jobs.create("search index=main", exec_mode="oneshot")   # refused by the SDK itself


def test_job_polling_and_paging_through_every_result(service):
    job = service.jobs.create("search index=main")
    assert job.sid.replace("-", "").replace("_", "").replace(".", "").isalnum()
    polls = 0
    while not job.is_done():
        polls += 1
        time.sleep(0.05)
    job.is_done()   # the calls after the first use the job's namespace (eai:acl): must keep working
    assert job["resultCount"] == str(N) and job["eventCount"] == str(N) and job["isDone"] == "1"
    rows, preview = rows_of(job.results(output_mode="json", count=0))
    assert preview is False and [int(r["n"]) for r in rows] == list(range(N - 1, -1, -1))
    paged, offset = [], 0
    while True:
        page, _ = rows_of(job.results(output_mode="json", count=1000, offset=offset))
        if not page:
            break
        paged += page
        offset += len(page)
    assert offset == N and [r["n"] for r in paged] == [r["n"] for r in rows]
    default, _ = rows_of(job.results(output_mode="json"))
    assert len(default) == 100
    job.cancel()
    job.cancel()   # a second cancel is a 404, which the SDK treats as done
    with pytest.raises(binding.HTTPError) as e:
        job.refresh()
    assert e.value.status == 404


def test_export_streams_every_row_and_bad_spl_is_400(service):
    rows, preview = rows_of(service.jobs.export("search index=main status=error", output_mode="json"))
    assert preview is False and sorted(int(r["n"]) for r in rows) == list(range(0, N, 5))
    none, preview = rows_of(service.jobs.export("search index=main nosuchterm", output_mode="json"))
    assert none == [] and preview is False
    with pytest.raises(binding.HTTPError) as e:
        service.jobs.export("asdaf;lkj2r23=")
    assert e.value.status == 400


def test_namespaced_connection_sees_the_same_data(server):
    svc = client.connect(host="127.0.0.1", port=server.port, scheme="http", username="admin", password=PASSWORD,
                         owner="admin", app="search")
    job = svc.jobs.create("search index=main n<10", exec_mode="blocking")
    job.refresh()
    assert job["isDone"] == "1"
    rows, _ = rows_of(job.results(output_mode="json", count=0))
    assert sorted(int(r["n"]) for r in rows) == list(range(10))


def test_indexes_and_saved_searches_with_dispatch(service):
    ix = service.indexes.create("sdk_made")
    assert ix.name == "sdk_made" and "sdk_made" in [i.name for i in service.indexes.list()]
    ix.update(maxTotalDataSizeMB="1000")
    ix.refresh()
    assert ix["maxTotalDataSizeMB"] == "1000"
    saved = service.saved_searches.create("sdk errors", "search index=main status=error")
    assert saved["search"] == "search index=main status=error"
    job = saved.dispatch()
    while not job.is_done():
        time.sleep(0.05)
    rows, _ = rows_of(job.results(output_mode="json", count=0))
    assert len(rows) == N // 5 and job["resultCount"] == str(N // 5)


def test_macros_through_the_sdk_change_searches(service):
    service.macros.create("sdk_errors", "status=error")
    service.macros.create("sdk_node(1)", "node=$which$", args="which")
    assert {m.name for m in service.macros.list()} >= {"sdk_errors", "sdk_node(1)"}
    rows, _ = rows_of(service.jobs.oneshot("search index=main `sdk_errors` `sdk_node(h1)`", output_mode="json",
                                           count=0))
    assert sorted(int(r["n"]) for r in rows) == [i for i in range(0, N, 5) if i % 3 == 1]
    service.macros.delete("sdk_errors")
    assert "sdk_errors" not in [m.name for m in service.macros.list()]
