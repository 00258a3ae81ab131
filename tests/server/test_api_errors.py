"""Issue 9: the HTTP API answers every error of every route in its documented shape,
`{"error": {"code", "message"}}` (docs/api.md) — validation errors with the field, 404, 405, a body
that is not JSON — and describes itself (OpenAPI JSON and page) to authenticated callers only.
The routes are listed from the app itself, then each is asked on a real server process."""

from __future__ import annotations

import re
from unittest.mock import MagicMock

import httpx
import pytest
from fastapi.routing import APIRoute

from tests.conftest import ServerProc

# routes a browser uses without a session: they answer pages or redirects, not the API's JSON
PAGES = {("/login", "GET"), ("/login", "POST"), ("/logout", "POST"), ("/", "GET"), ("/overview", "GET"),
         ("/favicon.ico", "GET"), ("/api/v1/docs", "GET"), ("/health", "GET")}


def registered_routes(tmp_path) -> list[tuple[str, str]]:
    """(path, method) of every route of the app `speleo serve` builds."""
    from speleo.config import Home
    from speleo.server.app import build_app
    from speleo.service import Service

    home = Home.resolve(str(tmp_path / "routes-home"))
    home.ensure()
    # only the route table is read: what build_app asks of the runtime beyond these is a stand-in
    runtime = MagicMock()
    runtime.home, runtime.service, runtime.api_token = home, Service(home), "t" * 32
    runtime.admin_password = None
    app = build_app(runtime)
    out: list[tuple[str, str]] = []

    def walk(routes) -> None:
        for r in routes:   # an APIRouter's routes carry its prefix in their path already
            if isinstance(r, APIRoute):
                out.extend((r.path, m) for m in sorted(r.methods - {"HEAD"}))
            elif hasattr(r, "original_router"):   # an included APIRouter (FastAPI >= 0.16x)
                walk(r.original_router.routes)
            elif hasattr(r, "routes") and not hasattr(r, "app"):
                walk(r.routes)

    walk(app.routes)
    return out


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    s = ServerProc(tmp_path_factory.mktemp("apierr") / "home", ["--hec-port", "0"]).start()
    yield s
    s.stop()


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


def assert_error_shape(r: httpx.Response, what: str) -> dict:
    assert r.headers["content-type"].startswith("application/json"), (what, r.status_code, r.text[:200])
    body = r.json()
    assert set(body) == {"error"}, (what, body)
    err = body["error"]
    assert isinstance(err["code"], str) and err["code"] and isinstance(err["message"], str) and err["message"], \
        (what, err)
    assert "detail" not in err
    return err


def test_every_route_answers_errors_in_the_documented_shape(server, tmp_path):
    routes = registered_routes(tmp_path)
    assert ("/api/v1/search", "POST") in routes and ("/web/api/jobs", "POST") in routes
    checked = 0
    for path, method in routes:
        url = server.url + concrete(path)
        for headers in ({}, {"Authorization": f"Bearer {server.token}"}):
            # a body that is not JSON, with no JSON content type (curl -d)
            r = httpx.request(method, url, headers=headers, content=b"search=x", timeout=60,
                              follow_redirects=False)
            what = f"{method} {path} {'token' if headers else 'anonymous'}"
            if (path, method) in PAGES or path.startswith(("/services/", "/servicesNS/")):   # pages; Splunk's REST
                # endpoints answer in Splunk's own envelope (XML or JSON per output_mode), on purpose
                assert r.status_code < 500, (what, r.text[:200])
                continue
            if not headers and path.startswith(("/api/", "/web/api/")):   # refused (a query parameter
                assert r.status_code in (400, 401), (what, r.status_code, r.text[:200])  # may be checked first)
            if r.status_code >= 400:
                assert_error_shape(r, what)
                checked += 1
            if headers and method == "POST" and path.startswith("/api/v1/"):   # refused, never a 500:
                assert 400 <= r.status_code < 500, (what, r.status_code, r.text[:200])  # bad body, or no such id
    speleo_routes = [r for r in routes if r not in PAGES and not r[0].startswith(("/services/", "/servicesNS/"))]
    assert checked >= len(speleo_routes)   # each answered an error in the shape at least once


def test_validation_errors_name_the_field(server):
    r = server.api("POST", "/api/v1/search", json={"search": "index=main", "limit": -1})
    assert r.status_code == 400
    err = assert_error_shape(r, "limit=-1")
    assert (err["code"], err["field"]) == ("bad_input", "limit") and err["message"].startswith("limit:")
    r = server.api("POST", "/api/v1/indexes", json={})
    err = assert_error_shape(r, "no name")
    assert r.status_code == 400 and err["field"] == "name"
    r = httpx.post(server.url + "/api/v1/search", content=b"index=main",
                   headers={"Authorization": f"Bearer {server.token}", "Content-Type": "text/plain"})
    err = assert_error_shape(r, "text body")
    assert r.status_code == 400 and "Content-Type: application/json" in err["message"]


def test_unknown_paths_and_methods(server):
    r = server.api("GET", "/api/v1/no-such-thing")
    assert r.status_code == 404 and assert_error_shape(r, "404")["code"] == "not_found"
    r = server.api("DELETE", "/api/v1/status")
    assert r.status_code == 405 and assert_error_shape(r, "405")["code"] == "method_not_allowed"
    assert r.headers["allow"] == "GET"


def test_openapi_json_and_page_need_authentication(server):
    r = httpx.get(server.url + "/api/v1/openapi.json")
    assert r.status_code == 401 and assert_error_shape(r, "openapi anonymous")["code"] == "unauthorized"
    r = httpx.get(server.url + "/api/v1/docs", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")
    r = httpx.get(server.url + "/api/v1/docs", headers={"Authorization": "Bearer wrong"})
    assert r.status_code == 401 and assert_error_shape(r, "docs bad token")
    doc = server.api("GET", "/api/v1/openapi.json").json()
    assert doc["openapi"].startswith("3.") and "post" in doc["paths"]["/api/v1/search"]
    page = server.api("GET", "/api/v1/docs")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    for path, ops in doc["paths"].items():
        for method in ops:
            assert f"{method.upper()} {path}" in page.text
