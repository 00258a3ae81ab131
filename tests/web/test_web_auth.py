"""Sign-in, sessions, CSRF and the API's two ways in, against a real `speleo serve`."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.conftest import ServerProc, run_cli


def admin_password(server: ServerProc) -> str:
    m = re.search(r"created web user 'admin' with password: (\S+)", server.log.read_text())
    assert m, server.log.read_text()
    return m.group(1)


def sign_in(server: ServerProc, name: str, password: str) -> tuple[httpx.Client, httpx.Response]:
    c = httpx.Client(base_url=server.url, timeout=60)
    page = c.get("/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    r = c.post("/login", data={"name": name, "password": password, "csrf": csrf, "next": "/"})
    return c, r


@pytest.fixture
def server(server_factory, tmp_path):
    return server_factory(tmp_path / "home").start()


def test_first_admin_password_printed_once_and_sign_in(server, server_factory, tmp_path):
    pw = admin_password(server)
    assert server.log.read_text().count(pw) == 1
    assert "admin" in run_cli(server.home, "user", "list").stdout
    # pages need a session
    r = httpx.get(server.url + "/", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    c, r = sign_in(server, "admin", "wrong-password")
    assert r.status_code == 401 and "Wrong user name or password" in r.text
    c, r = sign_in(server, "admin", pw)
    assert r.status_code == 303
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    page = c.get("/")
    assert page.status_code == 200 and 'id="q"' in page.text
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', page.text).group(1)
    # the API takes the session with its CSRF header ...
    ok = c.post("/api/v1/search", json={"search": "*", "limit": 1}, headers={"X-CSRF-Token": csrf})
    assert ok.status_code == 200, ok.text
    # ... but not without it (cross-site POST), nor with a wrong one
    assert c.post("/api/v1/search", json={"search": "*"}).status_code == 401
    assert c.post("/api/v1/search", json={"search": "*"}, headers={"X-CSRF-Token": "x"}).status_code == 401
    assert c.get("/api/v1/status").status_code == 200
    # nothing at all: refused; the bearer token still works
    assert httpx.get(server.url + "/api/v1/status").status_code == 401
    assert server.api("GET", "/api/v1/status").status_code == 200
    # a restart does not print a password again
    server.stop()
    again = ServerProc(server.home).start()
    try:
        assert again.log != server.log and "created web user" not in again.log.read_text()
    finally:
        again.stop()


def test_login_form_needs_csrf_and_logout(server):
    pw = admin_password(server)
    c = httpx.Client(base_url=server.url, timeout=60)
    r = c.post("/login", data={"name": "admin", "password": pw, "csrf": "forged", "next": "/"})
    assert r.status_code == 400 and "speleo_session" not in r.headers.get("set-cookie", "")
    c, r = sign_in(server, "admin", pw)
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', c.get("/").text).group(1)
    assert c.post("/logout", data={"csrf": "nope"}).status_code == 303
    assert c.get("/").status_code == 200  # still signed in: the forged logout did nothing
    c.post("/logout", data={"csrf": csrf})
    assert c.get("/").status_code == 303


def test_user_add_and_passwd_end_sessions(server):
    run_cli(server.home, "user", "add", "carol", "--role", "user", "--password-stdin", input="carol-secret-1\n")
    c, r = sign_in(server, "carol", "carol-secret-1")
    assert r.status_code == 303 and c.get("/").status_code == 200
    run_cli(server.home, "user", "passwd", "carol", "--password-stdin", input="carol-secret-2\n")
    assert c.get("/").status_code == 303  # the old session ended with the password change
    assert sign_in(server, "carol", "carol-secret-1")[1].status_code == 401
    assert sign_in(server, "carol", "carol-secret-2")[1].status_code == 303
    bad = run_cli(server.home, "user", "add", "carol", "--password-stdin", input="whatever123\n", check=False)
    assert bad.returncode == 1 and "already exists" in bad.stderr
    # open redirects are refused
    c2, r = sign_in(server, "carol", "carol-secret-2")
    assert r.headers["location"] == "/"


def test_only_admins_add_inputs_and_the_home_is_never_an_input(server, tmp_path):
    run_cli(server.home, "user", "add", "dave", "--role", "user", "--password-stdin", input="dave-secret-1\n")
    c, _ = sign_in(server, "dave", "dave-secret-1")
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', c.get("/").text).group(1)
    headers = {"X-CSRF-Token": csrf}
    secret = str(server.home / "api_token")
    assert c.post("/api/v1/search", json={"search": "index=main"}, headers=headers).status_code == 200
    r = c.post("/api/v1/inputs/oneshot", json={"path": secret, "index": "main"}, headers=headers)
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    assert c.post("/api/v1/indexes", json={"name": "x"}, headers=headers).status_code == 403
    # even with the API token, Speleo's own home cannot be read as an input
    r = server.api("POST", "/api/v1/inputs/oneshot", json={"path": secret, "index": "main"})
    assert r.status_code == 400 and "home" in r.json()["error"]["message"]
    r = server.api("POST", "/api/v1/inputs/monitor", json={"path": str(server.home), "index": "main"})
    assert r.status_code == 400
    log = tmp_path / "ok.log"
    log.write_text("2026-11-01 10:00:00 INFO fine\n")
    assert server.api("POST", "/api/v1/inputs/oneshot", json={"path": str(log), "index": "main"}).status_code == 200


def test_cli_roles_disable_and_signout_through_the_server(server):
    """`speleo role`/`speleo user` go through the running server: sessions end at once, and the
    server audits each change."""
    import json

    run_cli(server.home, "role", "create", "webonly", "--capability", "search", "--allowed", "web")
    roles = {r["name"]: r for r in json.loads(run_cli(server.home, "role", "list", "-o", "json").stdout)}
    assert roles["webonly"]["srchIndexesAllowed"] == ["web"] and roles["user"]["builtin"] is True
    run_cli(server.home, "user", "add", "erin", "--role", "webonly", "--password-stdin", input="erin-secret-1\n")
    users = {u["name"]: u for u in json.loads(run_cli(server.home, "user", "list", "-o", "json").stdout)}
    assert users["erin"] == {"name": "erin", "roles": ["webonly"], "disabled": False}
    c, r = sign_in(server, "erin", "erin-secret-1")
    assert r.status_code == 303 and c.get("/api/v1/me").json()["roles"] == ["webonly"]
    out = run_cli(server.home, "user", "signout", "erin")
    assert "1 session(s) of 'erin' ended" in out.stderr
    assert c.get("/api/v1/me").status_code == 401
    c, _ = sign_in(server, "erin", "erin-secret-1")
    run_cli(server.home, "user", "disable", "erin")
    assert c.get("/api/v1/me").status_code == 401
    assert sign_in(server, "erin", "erin-secret-1")[1].status_code == 401
    bad = run_cli(server.home, "role", "remove", "admin", check=False)
    assert bad.returncode == 1 and "built-in" in bad.stderr

    def audited() -> set:
        body = server.search("index=_audit user=api-token")
        events = [json.loads(e["_fields"]) for e in body["events"]]
        return {(e.get("action"), e.get("info"), e.get("object")) for e in events}

    from tests.conftest import wait_for

    # commands that write the home themselves report through the server
    run_cli(server.home, "index", "create", "web2")
    secret = run_cli(server.home, "token", "create", "t1", "--index", "web2").stdout.strip()
    wait_for(lambda: {("edit_roles", "created", "webonly"), ("edit_user", "created", "erin"),
                      ("edit_user", "signed out everywhere", "erin"), ("edit_user", "disabled", "erin"),
                      ("indexes_edit", "created", "web2"), ("edit_token_http", "created", "t1")} <= audited())
    assert secret not in json.dumps(server.search("index=_audit"))


def test_cli_changes_are_audited_without_a_server(tmp_path):
    import json

    home = tmp_path / "home"
    run_cli(home, "index", "create", "web")
    run_cli(home, "user", "add", "fay", "--role", "power", "--password-stdin", input="fay-secret-1\n")
    run_cli(home, "role", "create", "ops", "--capability", "list_inputs;edit_monitor", "--allowed", "web")
    out = run_cli(home, "search", "index=_audit", "--output", "jsonl", "--limit", "0").stdout
    events = [json.loads(json.loads(line)["_fields"]) for line in out.splitlines()]
    assert {(e["action"], e["info"], e["object"]) for e in events} == {
        ("indexes_edit", "created", "web"), ("edit_user", "created", "fay"), ("edit_roles", "created", "ops")}
    assert all(e["user"].startswith("cli:") and e["origin"] == "cli" for e in events)
    assert "fay-secret-1" not in out
