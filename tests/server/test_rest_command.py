"""`| rest` end to end, through a real `speleo serve`: a search reads Speleo's own REST endpoints as
its searcher (docs/decisions/0044-rest-command.md). The expected values are the HTTP endpoints'
own JSON answers to the same caller; refusals are the routes' own (403 naming the capability)."""

from __future__ import annotations

import base64
import time

import httpx
import pytest

from tests.conftest import ServerProc, run_cli, wait_for

ADMIN_PW = "rest-Admin-pw-1"
USER_PW = "rest-User-pw-1"
LINES = 7


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("restcmd")
    (root / "pw").write_text(ADMIN_PW + "\n")
    log = root / "app.log"
    log.write_text("".join(f"2025-01-01T00:00:0{i}Z n={i}\n" for i in range(LINES)))
    (root / "watched.log").write_text("")
    srv = ServerProc(root / "home", ["--admin-password-file", str(root / "pw")]).start()
    try:
        r = srv.api("POST", "/api/v1/inputs/oneshot", json={"path": str(log), "index": "main"})
        assert r.status_code == 200, r.text
        r = srv.api("POST", "/api/v1/inputs/monitor", json={"path": str(root / "watched.log"), "index": "main"})
        assert r.status_code == 201, r.text
        r = srv.api("POST", "/api/v1/users", json={"name": "ulla", "roles": ["user"], "password": USER_PW})
        assert r.status_code == 201, r.text
        wait_for(lambda: srv.search("index=main")["total"] == LINES)
        yield srv
    finally:
        srv.stop()


def basic(name: str, pw: str) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(f"{name}:{pw}".encode()).decode()}


ADMIN, USER = basic("admin", ADMIN_PW), basic("ulla", USER_PW)


def search(srv: ServerProc, who: dict, spl: str) -> httpx.Response:
    return httpx.post(srv.url + "/api/v1/search", headers=who, json={"search": spl, "limit": 0}, timeout=60)


def feed(srv: ServerProc, who: dict, path: str) -> httpx.Response:
    return httpx.get(f"{srv.url}/services/{path}", params={"output_mode": "json", "count": 0}, headers=who,
                     timeout=60)


def test_a_user_without_the_capability_is_refused_as_over_http(server):
    for path, cap in (("data/inputs/monitor", "list_inputs"), ("data/inputs/http", "edit_token_http")):
        r = search(server, USER, f"| rest /services/{path}")
        assert r.status_code == 403, r.text
        msg = r.json()["error"]["message"]
        assert f"'ulla' lacks the capability '{cap}'" in msg and f"/services/{path}" in msg
        assert feed(server, USER, path).status_code == 403          # the HTTP route refuses the same caller
    r = search(server, USER, "| rest /services/cluster/master/peers")
    assert r.status_code == 400 and "a Splunk-only endpoint" in r.json()["error"]["message"]


def test_an_admin_gets_the_rows_of_the_http_answer(server):
    http = {e["name"]: e for e in feed(server, ADMIN, "data/indexes").json()["entry"]}
    r = search(server, ADMIN, "| rest /services/data/indexes")
    assert r.status_code == 200, r.text
    rows = {row["title"]: row for row in r.json()["results"]}
    assert set(rows) == set(http) and "main" in rows
    for name, e in http.items():
        row = rows[name]
        assert (row["id"], row["author"]) == (e["id"], e["author"])
        assert (row["eai:acl.app"], row["eai:acl.owner"], row["eai:acl.sharing"]) == \
            (e["acl"]["app"], e["acl"]["owner"], e["acl"]["sharing"])
        moving = ("totalEventCount", "currentDBSizeMB", "maxTime") if name.startswith("_") else ()  # searches audit
        for key in {"totalEventCount", "currentDBSizeMB", "minTime", "maxTime", "datatype", "frozenTimePeriodInSecs"} \
                - set(moving):
            assert str(row.get(key)) == str(e["content"].get(key)), (name, key)
    assert str(rows["main"]["totalEventCount"]) == str(LINES)


def test_monitor_inputs_for_an_admin(server):
    (e,) = feed(server, ADMIN, "data/inputs/monitor").json()["entry"]
    r = search(server, ADMIN, "| rest /services/data/inputs/monitor | table title index speleo_id disabled")
    assert r.status_code == 200, r.text
    assert r.json()["results"] == [{"title": e["name"], "index": e["content"]["index"],
                                    "speleo_id": e["content"]["speleo_id"], "disabled": int(e["content"]["disabled"])}]


def test_each_searcher_reads_as_themselves(server):
    for who, name in ((ADMIN, "admin"), (USER, "ulla")):
        (e,) = feed(server, who, "authentication/current-context").json()["entry"]
        r = search(server, who, "| rest /services/authentication/current-context")
        assert r.status_code == 200, r.text
        (row,) = r.json()["results"]
        assert row["username"] == e["content"]["username"] == name
        caps = row["capabilities"] if isinstance(row["capabilities"], list) else [row["capabilities"]]
        assert caps == e["content"]["capabilities"]
        assert "list_inputs" in caps if name == "admin" else "list_inputs" not in caps


def test_no_secret_comes_out(server):
    r = server.api("POST", "/services/data/inputs/http", data={"name": "restsecret", "output_mode": "json"})
    assert r.status_code == 201, r.text
    secret = r.json()["entry"][0]["content"]["token"]
    r = search(server, ADMIN, "| rest /services/data/inputs/http")
    assert r.status_code == 200 and secret not in r.text and "restsecret" in r.text
    r = search(server, ADMIN, "| rest /services/authentication/current-context")
    assert server.token not in r.text and ADMIN_PW not in r.text


def test_the_command_line_searches_as_it_does_elsewhere(server):
    """`speleo search` goes through the running server with the `search` capability only."""
    out = run_cli(server.home, "search", "| rest /services/server/info | table serverName version", check=False)
    assert out.returncode == 0, out.stdout + out.stderr
    info = feed(server, ADMIN, "server/info").json()["entry"][0]["content"]
    assert info["serverName"] in out.stdout and info["version"] in out.stdout
    out = run_cli(server.home, "search", "| rest /services/data/inputs/monitor", check=False)
    assert out.returncode != 0 and "list_inputs" in out.stdout + out.stderr


def test_search_jobs_are_the_searchers_own(server):
    r = httpx.post(server.url + "/services/search/jobs", headers=USER, timeout=60,
                   data={"search": "| makeresults", "exec_mode": "blocking"})
    assert r.status_code == 201, r.text
    time.sleep(0.1)
    mine = {e["content"]["sid"] for e in feed(server, USER, "search/jobs").json()["entry"]}
    r = search(server, USER, "| rest /services/search/jobs | table sid eai:acl.owner")
    rows = r.json()["results"]
    assert {row["sid"] for row in rows} == mine and {row["eai:acl.owner"] for row in rows} == {"ulla"}
    r = search(server, ADMIN, "| rest /services/search/jobs | table sid")
    assert not mine & {row["sid"] for row in r.json()["results"]}


def test_writing_commands_from_the_command_line_run_as_the_homes_owner(server):
    """With a server running, `speleo search ... | outputcsv` (or outputlookup) runs on the command
    line as the home's owner, as it does without a server: through the server it would have the
    `search` capability only and be refused."""
    out = run_cli(server.home, "search", "index=main | stats count | outputcsv fromcli", check=False)
    assert out.returncode == 0, out.stdout + out.stderr
    assert (server.home / "csv" / "fromcli.csv").read_text().splitlines() == ["count", str(LINES)]


def _mv(v) -> list:
    return v if isinstance(v, list) else [v]


def test_users_and_roles_for_whoever_may_edit_them(server):
    # authentication/users needs edit_user, authorization/roles edit_roles, as /api/v1/users and /api/v1/roles
    for path, cap in (("authentication/users", "edit_user"), ("authorization/roles", "edit_roles")):
        r = search(server, USER, f"| rest /services/{path}")
        assert r.status_code == 403 and f"'ulla' lacks the capability '{cap}'" in r.json()["error"]["message"]
        assert feed(server, USER, path).status_code == 403
    r = search(server, ADMIN, "| rest /services/authentication/users | table title roles capabilities disabled")
    assert r.status_code == 200, r.text
    rows = {row["title"]: row for row in r.json()["results"]}
    # the two users the fixture made; ulla holds the user role only: search, not edit_lookups (power's)
    assert set(rows) == {"admin", "ulla"}
    assert _mv(rows["ulla"]["roles"]) == ["user"] and rows["ulla"]["disabled"] == 0
    assert "search" in _mv(rows["ulla"]["capabilities"]) and "edit_lookups" not in _mv(rows["ulla"]["capabilities"])
    assert "edit_user" in _mv(rows["admin"]["capabilities"])
    http = {e["name"]: e["content"] for e in feed(server, ADMIN, "authentication/users").json()["entry"]}
    assert {n: _mv(row["capabilities"]) for n, row in rows.items()} == {n: c["capabilities"] for n, c in http.items()}
    (one,) = search(server, ADMIN, "| rest /services/authentication/users/ulla | table title").json()["results"]
    assert one == {"title": "ulla"}
    # power: its own capabilities schedule_search and edit_lookups, user's imported
    r = search(server, ADMIN, "| rest /services/authorization/roles | table title capabilities imported_roles "
                              "imported_capabilities srchIndexesAllowed")
    assert r.status_code == 200, r.text
    roles = {row["title"]: row for row in r.json()["results"]}
    assert {"user", "power", "admin"} <= set(roles)
    assert sorted(_mv(roles["power"]["capabilities"])) == ["edit_lookups", "schedule_search"]
    assert _mv(roles["power"]["imported_roles"]) == ["user"] and "search" in _mv(roles["power"]["imported_capabilities"])
    r = search(server, ADMIN, "| rest /services/authorization/roles/nosuchrole")
    assert r.status_code == 404 and "nosuchrole" in r.json()["error"]["message"]


def test_users_never_show_a_password_or_its_hash(server):
    r = search(server, ADMIN, "| rest /services/authentication/users")
    assert r.status_code == 200, r.text
    assert USER_PW not in r.text and ADMIN_PW not in r.text and "$argon2" not in r.text and server.token not in r.text
