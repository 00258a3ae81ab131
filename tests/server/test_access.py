"""Access control of every route, sessions that end, sign-in throttling, roles and their indexes,
and the audit trail, against the real app (in-process, on a started `Runtime` with a manual clock)."""

from __future__ import annotations

import json
import re

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from speleo.clock import ManualClock
from speleo.config import Home
from speleo.ops.roles import CAPABILITIES, EDIT_USER, SEARCH
from speleo.server.access import USER_CAPS
from speleo.server.app import build_app
from speleo.server.runner import Runtime
from tests.conftest import wait_for

START = 1_800_000_000.0
ADMIN_PW = "admin-password-1"
PUBLIC = {"/health", "/login", "/favicon.ico"} | {   # Splunk REST sign-in: it is how a session key is had
    p + s for p in ("/services/auth/login", "/servicesNS/{owner}/{app}/auth/login") for s in ("", "/")}
PAGES = {"/", "/overview", "/alerts", "/indexes", "/api/v1/docs",   # redirect to /login without a session
         "/incidents", "/incidents/{item_id}", "/problems", "/problems/{item_id}", "/status", "/oncall",
         "/postmortems", "/actions", "/checklists", "/reports/{kind}", "/dashboards", "/app/dashboards/{name}", "/jobs", "/admin"}
SIGN_OUT = {"/logout"}               # without a session: back to /login, nothing done


class Site:
    def __init__(self, rt: Runtime, app, clock: ManualClock) -> None:
        self.rt, self.app, self.clock = rt, app, clock
        self.users = app.state.web.users

    def client(self) -> TestClient:
        return TestClient(self.app, raise_server_exceptions=False, follow_redirects=False)

    def token(self) -> dict:
        return {"Authorization": f"Bearer {self.rt.api_token}"}

    def login(self, c: TestClient, name: str, password: str):
        page = c.get("/login")
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
        return c.post("/login", data={"name": name, "password": password, "csrf": csrf, "next": "/"})

    def session(self, name: str, password: str) -> tuple[TestClient, dict]:
        """A signed-in client and the CSRF header its state-changing requests need."""
        c = self.client()
        r = self.login(c, name, password)
        assert r.status_code == 303, r.text
        csrf = re.search(r'name="csrf-token" content="([^"]+)"', c.get("/").text).group(1)
        return c, {"X-CSRF-Token": csrf}

    def audit(self, spl: str = "") -> list[dict]:
        """The `_audit` events (their fields), read with the API token."""
        self.rt.writer.store.seal()
        r = TestClient(self.app).post("/api/v1/search", headers=self.token(),
                                      json={"search": f"index=_audit {spl}", "limit": 0})
        assert r.status_code == 200, r.text
        return [json.loads(e["_fields"]) for e in r.json()["events"]]


@pytest.fixture
def site(tmp_path):
    clock = ManualClock(START)
    rt = Runtime(Home.resolve(tmp_path / "home"), clock=clock)
    rt.start()
    try:
        yield Site(rt, build_app(rt, admin_password=ADMIN_PW), clock)
    finally:
        rt.stop()


def capability_of(route: APIRoute) -> str | None:
    found: list[str] = []

    def walk(dep) -> None:
        cap = getattr(dep.call, "capability", None)
        if cap:
            found.append(cap)
        for d in dep.dependencies:
            walk(d)

    walk(route.dependant)
    assert len(set(found)) <= 1, (route.path, found)
    return found[0] if found else None


def every_route(routes) -> list:
    """The routes of an app, included routers flattened (FastAPI keeps them as `_IncludedRouter`;
    Speleo includes them without a prefix)."""
    out = []
    for r in routes:
        inner = getattr(r, "original_router", None)
        out += every_route(inner.routes) if inner is not None else [r]
    return out


def api_routes(app) -> list[tuple[str, str, str | None]]:
    """(method, a concrete path, capability) of every route but the public ones and pages."""
    out = []
    for r in every_route(app.routes):
        if not isinstance(r, APIRoute) or r.path in PUBLIC | PAGES | SIGN_OUT:
            continue
        path = re.sub(r"\{(\w+)\}", lambda m: "1" if m.group(1).endswith("id") else "nobody", r.path)
        for method in sorted(r.methods - {"HEAD"}):
            out.append((method, path, capability_of(r)))
    return out


def call(c: TestClient, method: str, path: str, headers: dict | None = None):
    body = None if method in ("GET", "DELETE") else {}
    return c.request(method, path, json=body, headers=headers or {})


def test_every_route_needs_credentials_and_declares_a_capability(site):
    routes = api_routes(site.app)
    assert len(routes) > 20   # the walk found the app's routes
    c = site.client()
    for method, path, cap in routes:
        assert cap in CAPABILITIES, f"{method} {path} declares no capability (use Depends(require(...)))"
        r = call(c, method, path)
        assert r.status_code == 401, (method, path, r.status_code, r.text)
    for path in PAGES:
        r = c.get(re.sub(r"\{\w+\}", "1", path))
        assert r.status_code == 303 and r.headers["location"].startswith("/login"), path
    assert c.get("/health").status_code == 200
    assert c.get("/login").status_code == 200
    # a bad token and a forged cookie are nobody too
    assert c.get("/api/v1/status", headers={"Authorization": "Bearer nope"}).status_code == 401
    c.cookies.set("speleo_session", "forged")
    assert c.get("/api/v1/status").status_code == 401


# What each route needs. Routes added later need no row here (the walk above and the
# per-capability test cover them), but these must not drift.
EXPECTED = {
    ("POST", "/api/v1/search"): "search", ("GET", "/api/v1/status"): "search",
    ("GET", "/api/v1/indexes"): "search", ("POST", "/api/v1/indexes"): "indexes_edit",
    ("GET", "/api/v1/indexes/nobody"): "search", ("POST", "/api/v1/inputs/monitor"): "edit_monitor",
    ("POST", "/api/v1/inputs/oneshot"): "edit_monitor", ("POST", "/web/api/search"): "search",
    ("POST", "/web/api/jobs"): "search", ("GET", "/web/api/jobs/1"): "search",
    ("DELETE", "/web/api/jobs/1"): "search", ("GET", "/web/api/source"): "search",
    ("GET", "/api/v1/saved-searches"): "search", ("POST", "/api/v1/saved-searches"): "search",
    ("GET", "/api/v1/me"): "search", ("POST", "/api/v1/me/password"): "search",
    ("GET", "/api/v1/users"): "edit_user", ("POST", "/api/v1/users"): "edit_user",
    ("PATCH", "/api/v1/users/nobody"): "edit_user", ("POST", "/api/v1/users/nobody/signout"): "edit_user",
    ("GET", "/api/v1/roles"): "edit_roles", ("POST", "/api/v1/roles"): "edit_roles",
    ("GET", "/api/v1/roles/nobody"): "edit_roles", ("PATCH", "/api/v1/roles/nobody"): "edit_roles",
    ("DELETE", "/api/v1/roles/nobody"): "edit_roles", ("POST", "/api/v1/audit"): "admin_all_objects",
}


def test_routes_need_the_capabilities_of_the_table(site):
    declared = {(m, p): cap for m, p, cap in api_routes(site.app)}
    assert {k: declared.get(k) for k in EXPECTED} == EXPECTED


def test_each_capability_opens_exactly_its_routes(site):
    """Per capability, a user whose only role holds only it: 403 on every route that needs
    another one, and never 401/403 (nor a server error) on the routes that need it."""
    routes = api_routes(site.app)
    for i, cap in enumerate(CAPABILITIES):
        site.users.roles.create(f"only-{cap.replace('_', '-')}", [cap])
        site.users.add(f"u{i}", [f"only-{cap.replace('_', '-')}"], "password-of-u")
        c, csrf = site.session(f"u{i}", "password-of-u")
        for method, path, needed in routes:
            r = call(c, method, path, csrf)
            if needed == cap:
                assert r.status_code not in (401, 403, 500), (cap, method, path, r.status_code, r.text)
            else:
                assert r.status_code == 403, (cap, method, path, r.status_code, r.text)


def test_user_role_is_refused_admin_routes(site):
    site.users.add("ursula", ["user"], "password-of-u")
    c, csrf = site.session("ursula", "password-of-u")
    for method, path, needed in api_routes(site.app):
        r = call(c, method, path, csrf)
        if needed in USER_CAPS:   # search (and edit_incidents: anyone may declare an incident)
            assert r.status_code not in (401, 403, 500), (method, path, r.status_code)
        else:
            assert r.status_code == 403, (method, path, r.status_code)
    # without the CSRF header a session's POST is nobody's
    assert c.post("/api/v1/search", json={"search": "*"}).status_code == 401


def test_logout_password_change_disable_and_signout_end_sessions(site):
    site.users.add("sam", ["user"], "password-of-s")
    c, csrf = site.session("sam", "password-of-s")
    stolen = dict(c.cookies)
    c.post("/logout", data={"csrf": csrf["X-CSRF-Token"]})
    thief = site.client()
    thief.cookies.update(stolen)
    assert thief.get("/api/v1/me").status_code == 401          # the copied cookie died with the logout
    assert thief.get("/").status_code == 303

    a, _ = site.session("sam", "password-of-s")
    b, _ = site.session("sam", "password-of-s")
    admin, admin_csrf = site.session("admin", ADMIN_PW)
    r = admin.post("/api/v1/users/sam/signout", headers=admin_csrf)
    assert r.status_code == 200 and r.json()["sessions_ended"] == 2
    assert a.get("/api/v1/me").status_code == 401 and b.get("/api/v1/me").status_code == 401

    a, _ = site.session("sam", "password-of-s")
    r = admin.patch("/api/v1/users/sam", json={"password": "password-of-s2"}, headers=admin_csrf)
    assert r.status_code == 200 and r.json()["sessions_ended"] == 1
    assert a.get("/api/v1/me").status_code == 401

    a, _ = site.session("sam", "password-of-s2")
    r = admin.patch("/api/v1/users/sam", json={"disabled": True}, headers=admin_csrf)
    assert r.json()["disabled"] is True and r.json()["sessions_ended"] == 1
    assert a.get("/api/v1/me").status_code == 401
    assert site.login(site.client(), "sam", "password-of-s2").status_code == 401
    admin.patch("/api/v1/users/sam", json={"disabled": False}, headers=admin_csrf)
    assert site.login(site.client(), "sam", "password-of-s2").status_code == 303


def test_sessions_time_out_idle_and_absolute(site):
    site.users.add("ida", ["user"], "password-of-i")
    c, _ = site.session("ida", "password-of-i")
    site.clock.advance(3000)
    assert c.get("/api/v1/me").status_code == 200              # used within the idle hour: still on
    site.clock.advance(3599)
    assert c.get("/api/v1/me").status_code == 200
    site.clock.advance(3601)
    assert c.get("/api/v1/me").status_code == 401              # idle for more than an hour
    c, _ = site.session("ida", "password-of-i")
    for _ in range(30):                                        # busy all day: 30 x 50 min = 25 h
        site.clock.advance(3000)
        if c.get("/api/v1/me").status_code == 401:
            break
    assert site.clock.time() - START - 3000 - 3599 - 3601 <= 24 * 3600 + 3000
    assert c.get("/api/v1/me").status_code == 401              # the absolute end came


def test_failed_sign_ins_are_throttled_per_account_and_audited(site):
    site.users.add("tom", ["user"], "password-of-t")
    c = site.client()
    for _ in range(5):
        assert site.login(c, "tom", "wrong-guess-1").status_code == 401
    r = site.login(c, "tom", "password-of-t")                  # even the right password waits now
    assert r.status_code == 429 and int(r.headers["Retry-After"]) == 1
    assert "Too many failed sign-ins" in r.text
    site.clock.advance(1)
    assert site.login(c, "tom", "wrong-guess-2").status_code == 401   # the 6th failure: 2 s now
    r = site.login(c, "tom", "password-of-t")
    assert r.status_code == 429 and int(r.headers["Retry-After"]) == 2
    site.clock.advance(2)
    assert site.login(c, "tom", "password-of-t").status_code == 303
    # a success clears the account: the next failure costs nothing
    assert site.login(site.client(), "tom", "wrong-guess-3").status_code == 401
    assert site.login(site.client(), "tom", "password-of-t").status_code == 303

    events = site.audit('action="login attempt" user=tom')
    infos = sorted(e["info"] for e in events)
    assert infos.count("failed") == 7 + 2 and infos.count("succeeded") == 2   # 7 wrong passwords + 2 throttled
    assert {e["src"] for e in events} == {"testclient"}
    assert any(e.get("reason") == "throttled" for e in events)
    raw = json.dumps(site.audit())
    assert "wrong-guess" not in raw and "password-of-t" not in raw      # never a password


def test_failed_sign_ins_are_throttled_per_client_address(site):
    c = site.client()
    for i in range(20):                                        # 20 names, 1 guess each
        assert site.login(c, f"name{i}", "guess").status_code == 401
    r = site.login(c, "admin", ADMIN_PW)
    assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1
    site.clock.advance(901)                                    # the 15-minute window passed
    assert site.login(c, "admin", ADMIN_PW).status_code == 303


def _ingest(site: Site, tmp_path) -> None:
    t = site.client()
    for name in ("web", "secret"):
        assert t.post("/api/v1/indexes", json={"name": name}, headers=site.token()).status_code == 201
        log = tmp_path / f"{name}.log"
        log.write_text("".join(f"2026-11-01 10:00:0{i} INFO {name} line {i}\n" for i in range(3)))
        r = t.post("/api/v1/inputs/oneshot", json={"path": str(log), "index": name}, headers=site.token())
        assert r.status_code == 200, r.text

    def total() -> int:
        r = t.post("/api/v1/search", headers=site.token(), json={"search": "index=web OR index=secret | stats count"})
        return r.json()["results"][0]["count"] if r.status_code == 200 and r.json()["results"] else 0

    wait_for(lambda: total() == 6)


def _search(c: TestClient, csrf: dict, spl: str) -> dict:
    r = c.post("/api/v1/search", json={"search": spl, "limit": 0}, headers=csrf)
    assert r.status_code == 200, r.text
    return r.json()


def test_roles_restrict_the_indexes_a_search_reads(site, tmp_path):
    _ingest(site, tmp_path)
    site.users.roles.create("webonly", [SEARCH], allowed=["web"], default=["web"])
    site.users.add("wendy", ["webonly"], "password-of-w")
    c, csrf = site.session("wendy", "password-of-w")

    def indexes(body: dict) -> list[str]:
        return sorted({e["index"] for e in body["events"]})

    assert indexes(_search(c, csrf, "*")) == ["web"]                       # default indexes
    assert indexes(_search(c, csrf, "index=*")) == ["web"]
    body = _search(c, csrf, "index=secret")
    assert body["events"] == [] and any("'secret'" in m for m in body["messages"])
    body = _search(c, csrf, "index=web OR index=secret")
    assert indexes(body) == ["web"] and len(body["events"]) == 3
    # every part of a search reads the planned buckets only
    body = _search(c, csrf, "index=web | append [search index=secret] | stats count by index")
    assert body["results"] == [{"index": "web", "count": 3}]
    body = _search(c, csrf, "| metadata type=sourcetypes index=secret")
    assert body["results"] == []
    assert _search(c, csrf, "index=secret | stats count")["results"] == [{"count": 0}]
    assert _search(c, csrf, "index=_audit")["events"] == []
    # the index list and an index's page follow the role too
    assert [i["name"] for i in c.get("/api/v1/indexes").json()] == ["web"]
    assert c.get("/api/v1/indexes/secret").status_code == 404
    # the API token stays admin: every index
    t = site.client()
    r = t.post("/api/v1/search", headers=site.token(), json={"search": "index=secret", "limit": 0})
    assert len(r.json()["events"]) == 3 and r.json()["messages"] == []
    # a role change counts at once
    site.users.roles.edit("webonly", allowed=["web", "sec*"])
    assert len(_search(c, csrf, "index=secret")["events"]) == 3
    # web search jobs and show source are restricted the same way
    site.users.roles.edit("webonly", allowed=["web"])
    r = c.post("/web/api/jobs", json={"search": "index=secret", "limit": 10}, headers=csrf)
    job = r.json()["id"]
    done = wait_for(lambda: (j := c.get(f"/web/api/jobs/{job}").json())["state"] != "running" and j)
    assert done["state"] == "done" and done["result"]["events"] == [] and done["result"]["messages"]
    src = str(tmp_path / "secret.log")
    r = c.get("/web/api/source", params={"index": "secret", "source": src, "offset": 0})
    assert r.status_code == 404


def test_internal_indexes_need_an_underscore_pattern(site, tmp_path):
    site.users.add("adele", ["admin"], "password-of-a")
    site.users.add("ulla", ["user"], "password-of-u")
    a, acsrf = site.session("adele", "password-of-a")
    u, ucsrf = site.session("ulla", "password-of-u")
    site.rt.writer.store.seal()
    assert _search(a, acsrf, "index=_audit")["events"]            # admin: *;_*
    body = _search(u, ucsrf, "index=_audit")
    assert body["events"] == [] and body["messages"]


def test_outputlookup_needs_edit_lookups_and_status_hides_paths(site, tmp_path):
    _ingest(site, tmp_path)
    site.users.add("ulla", ["user"], "password-of-u")
    site.users.add("pete", ["power"], "password-of-p")
    u, ucsrf = site.session("ulla", "password-of-u")
    p, pcsrf = site.session("pete", "password-of-p")
    lookup = site.rt.home.lookups_dir / "hosts.csv"
    spl = "index=web | stats count by host | outputlookup hosts.csv"
    r = u.post("/api/v1/search", json={"search": spl}, headers=ucsrf)
    assert r.status_code == 403 and "edit_lookups" in r.json()["error"]["message"]
    r = u.post("/api/v1/search", json={"search": "index=web | stats count | transpose | outputlookup hosts.csv"},
               headers=ucsrf)
    assert r.status_code == 403                                   # kept after a post step too
    r = u.post("/web/api/jobs", json={"search": spl}, headers=ucsrf)
    job = wait_for(lambda: (j := u.get(f"/web/api/jobs/{r.json()['id']}").json())["state"] != "running" and j)
    assert job["state"] == "failed" and job["error"]["code"] == "forbidden"
    assert not lookup.exists()
    assert p.post("/api/v1/search", json={"search": spl}, headers=pcsrf).status_code == 200
    assert lookup.exists()
    lookup.unlink()
    # in a subsearch `[...]`, which runs first: the same check, before anything runs
    sub = "index=web [search index=web | stats count by host | outputlookup hosts.csv | fields host] | stats count"
    r = u.post("/api/v1/search", json={"search": sub}, headers=ucsrf)
    assert r.status_code == 403 and "edit_lookups" in r.json()["error"]["message"]
    r = u.post("/web/api/jobs", json={"search": sub}, headers=ucsrf)
    job = wait_for(lambda: (j := u.get(f"/web/api/jobs/{r.json()['id']}").json())["state"] != "running" and j)
    assert job["state"] == "failed" and job["error"]["code"] == "forbidden"
    assert not lookup.exists()
    assert p.post("/api/v1/search", json={"search": sub}, headers=pcsrf).status_code == 200
    assert lookup.exists()
    lookup.unlink()
    # the streaming export hands such a search to its job path, which runs the subsearch once, with the
    # same check (it answered "not supported in a subsearch"); append=true shows one write: one row per host
    import base64

    def export(name: str, pw: str, spl: str):
        auth = {"Authorization": "Basic " + base64.b64encode(f"{name}:{pw}".encode()).decode()}
        return site.client().post("/services/search/jobs/export", headers=auth,
                                  data={"search": spl, "output_mode": "json", "earliest_time": "0"})
    for spl in (sub, "index=web [search index=web | stats count by host | outputlookup hosts.csv | fields host]"):
        r = export("ulla", "password-of-u", spl)
        assert r.status_code == 403 and "edit_lookups" in r.text, r.text
        assert not lookup.exists()
    appended = sub.replace("outputlookup hosts.csv", "outputlookup append=true hosts.csv")
    r = export("pete", "password-of-p", appended)
    assert r.status_code == 200, r.text
    hosts = {json.loads(line)["result"]["host"] for line in
             export("pete", "password-of-p", "index=web | stats count by host").text.splitlines() if line.strip()}
    assert len(lookup.read_text().splitlines()) == 1 + len(hosts)   # the header, then each host once
    # status: a user sees counts but no path; an admin (token) sees them
    (tmp_path / "mon.log").write_text("2026-11-01 10:00:00 INFO monitored\n")
    r = site.client().post("/api/v1/inputs/monitor", json={"path": str(tmp_path / "mon.log"), "index": "web"},
                           headers=site.token())
    assert r.status_code == 201, r.text
    body = u.get("/api/v1/status").json()
    assert body["redacted"] is True and body["home"] is None
    assert body["inputs"] and all(i["path"] is None for i in body["inputs"])
    assert str(tmp_path) not in json.dumps(body)
    full = site.client().get("/api/v1/status", headers=site.token()).json()
    assert str(tmp_path / "mon.log") in json.dumps(full)


def test_searches_and_admin_changes_are_audited(site, tmp_path):
    _ingest(site, tmp_path)
    site.users.add("ulla", ["user"], "password-of-u")
    u, ucsrf = site.session("ulla", "password-of-u")
    _search(u, ucsrf, "index=web | stats count")
    admin, acsrf = site.session("admin", ADMIN_PW)
    r = admin.post("/api/v1/roles", json={"name": "auditor", "capabilities": [SEARCH],
                                          "srchIndexesAllowed": ["_audit"]}, headers=acsrf)
    assert r.status_code == 201, r.text
    r = admin.post("/api/v1/users", json={"name": "aud", "roles": ["auditor"], "password": "password-of-aud"},
                   headers=acsrf)
    assert r.status_code == 201, r.text
    searches = [e for e in site.audit("action=search user=ulla")]
    assert len(searches) == 1
    s = searches[0]
    assert s["search"] == "index=web | stats count" and s["info"] == "completed" and s["result_count"] == "1"
    assert float(s["total_run_time"]) >= 0 and s["src"] == "testclient"
    changes = site.audit("user=admin (action=edit_roles OR action=edit_user)")
    assert {(e["action"], e["info"], e["object"]) for e in changes} == {
        ("edit_roles", "created", "auditor"), ("edit_user", "created", "aud")}
    assert "password-of-aud" not in json.dumps(site.audit())
    # the new auditor reads _audit, and only it
    c, csrf = site.session("aud", "password-of-aud")
    assert _search(c, csrf, "index=_audit action=search")["events"]
    assert _search(c, csrf, "index=web")["events"] == []
    me = c.get("/api/v1/me").json()
    assert me["roles"] == ["auditor"] and me["capabilities"] == [SEARCH] and EDIT_USER not in me["capabilities"]


def test_own_password_change_checks_the_current_one_and_ends_sessions(site):
    site.users.add("olga", ["user"], "password-of-o")
    c, csrf = site.session("olga", "password-of-o")
    other, _ = site.session("olga", "password-of-o")
    for _ in range(5):
        r = c.post("/api/v1/me/password", json={"current": "not-it-at-all", "new": "password-of-o2"}, headers=csrf)
        assert r.status_code == 403
    r = c.post("/api/v1/me/password", json={"current": "password-of-o", "new": "password-of-o2"}, headers=csrf)
    assert r.status_code == 429 and r.headers["Retry-After"] == "1"
    site.clock.advance(1)
    r = c.post("/api/v1/me/password", json={"current": "password-of-o", "new": "password-of-o2"}, headers=csrf)
    assert r.status_code == 200 and r.json()["sessions_ended"] == 2
    assert c.get("/api/v1/me").status_code == 401 and other.get("/api/v1/me").status_code == 401
    assert site.login(site.client(), "olga", "password-of-o2").status_code == 303
    r = site.client().post("/api/v1/me/password", json={"current": "x", "new": "y" * 8}, headers=site.token())
    assert r.status_code == 400
    assert "not-it-at-all" not in json.dumps(site.audit())


def test_delete_does_not_open_a_lookup_write_to_a_searcher_without_edit_lookups(site, tmp_path):
    """`<search> | delete` runs its finding search as the searcher: a subsearch in it that writes a
    lookup needs edit_lookups there too (it wrote the file for a can_delete user without it)."""
    _ingest(site, tmp_path)
    site.users.add("dora", ["user", "can_delete"], "password-of-d")
    c, csrf = site.session("dora", "password-of-d")
    lookup = site.rt.home.lookups_dir / "evil.csv"
    spl = "index=web nosuchword [| makeresults | eval host=\"h\" | fields host | outputlookup evil.csv] | delete"
    r = c.post("/api/v1/search", json={"search": spl}, headers=csrf)
    assert r.status_code == 403 and "edit_lookups" in r.json()["error"]["message"], r.text
    assert not lookup.exists()
    r = c.post("/api/v1/search", json={"search": "index=web nosuchword | delete"}, headers=csrf)
    assert r.status_code == 200, r.text                             # delete itself stays hers


def test_edit_user_grants_no_more_than_its_holder_holds(site):
    """A helpdesk role (edit_user, and what `user` grants) adds ordinary users but cannot hand
    out admin or can_delete, to others or itself; a caller with edit_roles may grant any role."""
    site.users.roles.create("helpdesk", [EDIT_USER], import_roles=["user"])
    site.users.add("hal", ["helpdesk"], "password-of-hal")
    c, csrf = site.session("hal", "password-of-hal")
    ok = c.post("/api/v1/users", json={"name": "newbie", "roles": ["user"], "password": "password-of-new"}, headers=csrf)
    assert ok.status_code == 201, ok.text
    for roles in (["admin"], ["can_delete"], ["user", "power"]):
        r = c.post("/api/v1/users", json={"name": "x" + roles[-1].replace("_", ""), "roles": roles,
                                          "password": "password-of-x"}, headers=csrf)
        assert r.status_code == 403 and "may not grant" in r.json()["error"]["message"], (roles, r.text)
    r = c.patch("/api/v1/users/hal", json={"roles": ["admin"]}, headers=csrf)
    assert r.status_code == 403
    assert [u.roles for u in site.users.list() if u.name == "hal"] == [("helpdesk",)]
    admin, admin_csrf = site.session("admin", ADMIN_PW)    # edit_roles: any role, can_delete too (Splunk's admin)
    r = admin.patch("/api/v1/users/newbie", json={"roles": ["user", "can_delete"]}, headers=admin_csrf)
    assert r.status_code == 200, r.text


def test_role_search_limits_apply_to_the_api_and_web_jobs(site, tmp_path):
    """A role's srchMaxRowsRead, srchJobsQuota and srchMaxTime (speleo.query.scope.SearchLimits)
    through the roles API, for a signed-in user's searches and web jobs; the token stays unlimited."""
    _ingest(site, tmp_path)                                    # 3 events in web, 3 in secret
    admin, acsrf = site.session("admin", ADMIN_PW)
    r = admin.post("/api/v1/roles", headers=acsrf, json={
        "name": "capped", "capabilities": [SEARCH], "srchIndexesAllowed": ["*"], "srchIndexesDefault": ["web"],
        "srchMaxRowsRead": 2, "srchJobsQuota": 1})
    assert r.status_code == 201, r.text
    assert (r.json()["srchMaxRowsRead"], r.json()["srchJobsQuota"], r.json()["srchMaxTime"]) == (2, 1, None)
    assert admin.post("/api/v1/users", headers=acsrf, json={"name": "cap", "roles": ["capped"],
                                                             "password": "password-of-cap"}).status_code == 201
    c, csrf = site.session("cap", "password-of-cap")
    assert c.get("/api/v1/me").json()["limits"] == {"srchMaxTime": 0, "srchJobsQuota": 1, "srchMaxRowsRead": 2,
                                                     "srchMaxMemory": 0}
    r = c.post("/api/v1/search", json={"search": "index=web | stats count"}, headers=csrf)
    assert r.status_code == 403 and r.json()["error"]["code"] == "search_limit"
    assert "would read 3 events; your roles allow 2 per search (srchMaxRowsRead)" in r.json()["error"]["message"]
    # the token is not limited; a change of the role counts at once
    t = site.client()
    assert t.post("/api/v1/search", headers=site.token(), json={"search": "index=web | stats count"}) \
        .json()["results"] == [{"count": 3}]
    r = admin.patch("/api/v1/roles/capped", headers=acsrf, json={"srchMaxRowsRead": 3})
    assert r.status_code == 200 and r.json()["srchMaxRowsRead"] == 3 and r.json()["srchJobsQuota"] == 1
    assert _search(c, csrf, "index=web | stats count")["results"] == [{"count": 3}]
    assert admin.patch("/api/v1/roles/capped", headers=acsrf, json={"srchMaxTime": "soon"}).status_code == 400
    # one job at a time: a second while the first runs is refused, with the reason
    slow = "| makeresults count=300000000 | eval x=random() | stats dc(x)"
    first = c.post("/web/api/jobs", json={"search": slow, "limit": 10}, headers=csrf)
    assert first.status_code in (200, 201, 202), first.text
    second = c.post("/web/api/jobs", json={"search": "index=web", "limit": 10}, headers=csrf)
    assert second.status_code == 409 and "srchJobsQuota" in second.json()["error"]["message"]
    assert c.delete(f"/web/api/jobs/{first.json()['id']}", headers=csrf).status_code in (200, 204)
    wait_for(lambda: c.get(f"/web/api/jobs/{first.json()['id']}").json()["state"] != "running")
    # srchMaxTime stops a job that runs longer; it fails with the limit named
    assert admin.patch("/api/v1/roles/capped", headers=acsrf, json={"srchMaxTime": "1s", "srchMaxRowsRead": None}) \
        .json()["srchMaxTime"] == 1
    job = c.post("/web/api/jobs", json={"search": slow, "limit": 10}, headers=csrf).json()["id"]
    done = wait_for(lambda: (j := c.get(f"/web/api/jobs/{job}").json())["state"] != "running" and j, timeout=60)
    assert done["state"] == "failed" and done["error"]["code"] == "search_limit"
    assert "srchMaxTime" in done["error"]["message"]
