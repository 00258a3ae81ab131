"""A signed-in user or power user attacking searches that write and other owners' alerts
(real `speleo serve`, sessions with CSRF)."""

from __future__ import annotations

import time

import pytest

from tests.conftest import run_cli
from tests.web.test_web_auth import sign_in
from tests.web.test_web_jobs import csrf_of

pytestmark = pytest.mark.e2e

WRITING = {
    "outputlookup": "| makeresults | eval u=\"x\" | outputlookup stolen.csv",
    "collect": "| makeresults | eval u=\"x\" | collect index=main",
    # after another post step: kept in a pipeline step until the search runs
    "sendemail": "| makeresults | eval u=\"x\" | transpose | sendemail to=boss@example.com server=127.0.0.1:9",
}


def _session(server, name: str, role: str):
    run_cli(server.home, "user", "add", name, "--role", role, "--password-stdin", input=f"{name}-secret-1\n")
    c, _ = sign_in(server, name, f"{name}-secret-1")
    c.headers["X-CSRF-Token"] = csrf_of(c)
    return c


def _job_outcome(c, search: str) -> dict:
    job = c.post("/web/api/jobs", json={"search": search}).json()
    for _ in range(600):
        body = c.get(f"/web/api/jobs/{job['id']}").json()
        if body["state"] != "running":
            return body
        time.sleep(0.05)
    raise AssertionError(f"job never finished: {body}")


def test_user_role_cannot_run_writing_commands(server_factory, tmp_path):
    server = server_factory(tmp_path / "home").start()
    dave = _session(server, "dave", "user")
    assert dave.post("/api/v1/search", json={"search": "| makeresults | eval a=1"}).status_code == 200
    for kind, search in WRITING.items():
        for path in ("/api/v1/search", "/web/api/search"):
            r = dave.post(path, json={"search": search})
            assert r.status_code == 403, (kind, path, r.text)
            assert kind in r.text
        body = _job_outcome(dave, search)
        assert body["state"] == "failed" and kind in str(body["error"]), body
    assert not (server.home / "lookups" / "stolen.csv").exists()
    r = server.api("POST", "/api/v1/search", json={"search": "index=main | stats count"})
    assert r.json()["results"][0]["count"] in (0, "0")
    # an admin holds edit_lookups
    pat = _session(server, "pat", "admin")
    assert pat.post("/api/v1/search", json={"search": WRITING["outputlookup"]}).status_code == 200
    assert (server.home / "lookups" / "stolen.csv").read_text().splitlines()[0].split(",").count("u") == 1
