"""`| loadjob` end to end, through a real `speleo serve`: a saved search's kept run and a REST job's
results read back as the searcher (Splunk Search Reference: loadjob). The expected rows are worked
out from the log written here (seven lines, n=0..6); who may read what follows Splunk's sharing."""

from __future__ import annotations

import base64
import time

import httpx
import pytest

from tests.conftest import ServerProc, wait_for

ADMIN_PW = "lj-Admin-pw-1"
PW = {"ulla": "lj-Ulla-pw-1", "vic": "lj-Vic-pw-1"}
LINES = 7


def basic(name: str, pw: str) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(f"{name}:{pw}".encode()).decode()}


ADMIN, ULLA, VIC = basic("admin", ADMIN_PW), basic("ulla", PW["ulla"]), basic("vic", PW["vic"])


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("loadjob")
    (root / "pw").write_text(ADMIN_PW + "\n")
    log = root / "app.log"
    log.write_text("".join(f"2025-01-01T00:00:0{i}Z n={i} h=grp{i % 2}\n" for i in range(LINES)))
    srv = ServerProc(root / "home", ["--admin-password-file", str(root / "pw")]).start()
    try:
        r = srv.api("POST", "/api/v1/inputs/oneshot", json={"path": str(log), "index": "main"})
        assert r.status_code == 200, r.text
        for name, pw in PW.items():
            r = srv.api("POST", "/api/v1/users", json={"name": name, "roles": ["power" if name == "ulla" else "user"],
                                                        "password": pw})
            assert r.status_code == 201, r.text
        wait_for(lambda: srv.search("index=main")["total"] == LINES)
        yield srv
    finally:
        srv.stop()


def search(srv, who: dict, spl: str) -> httpx.Response:
    return httpx.post(srv.url + "/api/v1/search", headers=who, json={"search": spl, "limit": 0}, timeout=60)


def rest(srv, who: dict, method: str, path: str, data: dict | None = None) -> httpx.Response:
    return httpx.request(method, srv.url + path, headers=who, data=data, params={"output_mode": "json"}, timeout=60)


def save_and_dispatch(srv, who: dict, owner: str, name: str, spl: str, sharing: str) -> str:
    r = rest(srv, who, "POST", f"/servicesNS/{owner}/search/saved/searches",
             {"name": name, "search": spl, "cron_schedule": "0 0 1 1 *", "is_scheduled": "1",
              "dispatch.earliest_time": "0", "sharing": sharing})
    assert r.status_code == 201, r.text
    r = rest(srv, who, "POST", f"/servicesNS/{owner}/search/saved/searches/{name}/dispatch")
    assert r.status_code == 201, r.text
    return r.json()["sid"]


def test_a_saved_searchs_kept_run_is_read_by_those_who_may_see_it(server):
    sid = save_and_dispatch(server, ULLA, "ulla", "mine", "index=main | stats count as c max(n) as top", "user")
    assert sid.startswith("scheduler__")
    spl = '| loadjob savedsearch="ulla:search:mine"'
    r = search(server, ULLA, spl)
    assert r.status_code == 200, r.text
    assert [(int(x["c"]), int(x["top"])) for x in r.json()["results"]] == [(LINES, 6)]
    # later commands run over the loaded rows
    r = search(server, ULLA, spl + " | eval double=c*2 | table double")
    assert [int(x["double"]) for x in r.json()["results"]] == [2 * LINES]
    # the run's own sid reads the same run
    r = search(server, ULLA, f"| loadjob {sid}")
    assert [int(x["c"]) for x in r.json()["results"]] == [LINES]
    # a private saved search: another user gets what a name that does not exist gets; an admin reads it
    for q in (spl, f"| loadjob {sid}"):
        r = search(server, VIC, q)
        assert r.status_code == 404, r.text
        assert "mine" in r.text or sid in r.text
    r = search(server, ADMIN, spl)
    assert r.status_code == 200 and r.json()["results"][0]["c"] in (LINES, str(LINES)), r.text


def test_a_shared_search_and_older_runs(server):
    save_and_dispatch(server, ULLA, "ulla", "shared", "index=main | stats count by h | sort h", "app")
    time.sleep(1.1)   # sids and scheduled times of two dispatches differ by the second
    r = rest(server, ULLA, "POST", "/servicesNS/ulla/search/saved/searches/shared/dispatch")
    assert r.status_code == 201, r.text
    # n=0..6: grp0 holds 0, 2, 4, 6; grp1 holds 1, 3, 5
    want = [("grp0", 4), ("grp1", 3)]
    for offset in (0, 1):
        r = search(server, VIC, f'| loadjob savedsearch="ulla:search:shared" artifact_offset={offset}')
        assert r.status_code == 200, r.text
        assert [(x["h"], int(x["count"])) for x in r.json()["results"]] == want
    r = search(server, VIC, '| loadjob savedsearch="ulla:search:shared" artifact_offset=2')
    assert r.status_code == 404 and "2 run(s) of it are kept" in r.text, r.text
    r = search(server, VIC, '| loadjob savedsearch="ulla:search:shared" events=true')
    assert r.status_code == 400 and "transforming" in r.text, r.text
    r = search(server, VIC, '| loadjob savedsearch="ulla:other:shared"')
    assert r.status_code == 404 and "app" in r.text, r.text


def test_any_owner_finds_only_the_saved_searches_the_searcher_may_see(server):
    """`-` (any owner) with two saved searches of one name: vic sees only admin's shared one (ulla's
    private one is neither read nor named); ulla sees both and is asked to name the owner."""
    save_and_dispatch(server, ULLA, "ulla", "twin", "index=main | stats count as c", "user")
    save_and_dispatch(server, ADMIN, "admin", "twin", "index=main | where n > 4 | stats count as c", "app")
    for ref in ("-:search:twin", "nobody:search:twin", "admin:search:twin"):
        r = search(server, VIC, f'| loadjob savedsearch="{ref}"')
        assert r.status_code == 200, r.text
        assert [int(x["c"]) for x in r.json()["results"]] == [2]     # n=5 and n=6
    r = search(server, ULLA, '| loadjob savedsearch="-:search:twin"')
    assert r.status_code == 400 and "ulla" in r.text and "admin" in r.text, r.text
    r = search(server, VIC, '| loadjob savedsearch="-:search:mine"')   # ulla's private one only
    assert r.status_code == 404 and "ulla" not in r.text, r.text


def test_savedsearch_runs_only_the_saved_searches_the_searcher_may_see(server):
    """`| savedsearch` of another user's private saved search: as if it did not exist (it ran its
    text for anyone); with a private and a shared one of one name, the one the searcher may see."""
    save_and_dispatch(server, ULLA, "ulla", "solo", "| makeresults | eval note=\"ulla's own\"", "user")
    for q in ("| savedsearch solo", "| from savedsearch:solo", "| makeresults | append [| savedsearch solo]"):
        r = search(server, VIC, q)
        assert r.status_code in (400, 404) and "ulla's own" not in r.text and "solo" in r.text, r.text
        r = search(server, ULLA, q)
        assert r.status_code == 200 and "ulla's own" in r.text, r.text
    # a search job (the REST API's, run by the web's jobs) and the streaming export too
    r = rest(server, VIC, "POST", "/services/search/jobs", {"search": "| savedsearch solo", "exec_mode": "blocking"})
    if r.status_code == 201:
        sid = r.json()["sid"]
        r = rest(server, VIC, "GET", f"/services/search/jobs/{sid}/results")
    assert "ulla's own" not in r.text, r.text
    r = rest(server, VIC, "POST", "/services/search/jobs/export", {"search": "| savedsearch solo"})
    assert "ulla's own" not in r.text, r.text
    save_and_dispatch(server, ULLA, "ulla", "pair", "| makeresults | eval who=\"ulla\"", "user")
    save_and_dispatch(server, ADMIN, "admin", "pair", "| makeresults | eval who=\"admin\"", "app")
    r = search(server, VIC, "| savedsearch pair | table who")
    assert r.status_code == 200 and [x["who"] for x in r.json()["results"]] == ["admin"], r.text
    r = search(server, ULLA, "| savedsearch pair | table who")                # she may read both
    assert r.status_code == 400 and "several owners" in r.text, r.text


def test_a_rest_job_is_read_by_its_owner_only(server):
    r = rest(server, ULLA, "POST", "/services/search/jobs",
             {"search": "| makeresults count=3 | streamstats count as k", "exec_mode": "blocking"})
    assert r.status_code == 201, r.text
    sid = r.json()["sid"]
    r = search(server, ULLA, f"| loadjob {sid} | stats sum(k) as s")
    assert r.status_code == 200, r.text
    assert [int(x["s"]) for x in r.json()["results"]] == [1 + 2 + 3]
    r = search(server, VIC, f"| loadjob {sid}")
    assert r.status_code == 404, r.text


def test_a_new_saved_search_that_gets_a_deleted_ones_id_does_not_see_its_runs(server):
    """ulla's private search, deleted through /api/v1/saved-searches, was the last row: SQLite gives
    its id to admin's next, shared one. vic reading that one must not get ulla's results."""
    sid = save_and_dispatch(server, ULLA, "ulla", "lastone", "index=main | stats count as ulla_only", "user")
    saved_id = int(sid.split("__")[1].split("_at_")[0])
    r = httpx.delete(server.url + f"/api/v1/saved-searches/{saved_id}", headers=ULLA, timeout=30)
    assert r.status_code == 204, r.text
    assert not (server.home / "dispatch_scheduled" / str(saved_id)).exists()
    r = rest(server, ADMIN, "POST", "/servicesNS/admin/search/saved/searches",
             {"name": "newcomer", "search": "| makeresults", "sharing": "app"})
    assert r.status_code == 201, r.text
    mine = httpx.get(server.url + "/api/v1/saved-searches", headers=ADMIN, timeout=30).json()["saved_searches"]
    assert [s["id"] for s in mine if s["name"] == "newcomer"] == [saved_id]   # the id came back
    for q in ('| loadjob savedsearch="admin:search:newcomer"', f"| loadjob {sid}"):
        r = search(server, VIC, q)
        assert r.status_code == 404 and "ulla_only" not in r.text, r.text


def test_loadjob_without_a_job_says_what_to_do(server):
    r = search(server, ULLA, "| loadjob nosuchjob123")
    assert r.status_code == 404 and "no search job or scheduled run" in r.text, r.text
    r = search(server, ULLA, '| loadjob savedsearch="ulla:search:never"')
    assert r.status_code == 404 and "never" in r.text, r.text


def test_deleting_the_saved_search_removes_its_kept_runs(server):
    save_and_dispatch(server, ULLA, "ulla", "gone", "index=main | stats count", "app")
    folders = list((server.home / "dispatch_scheduled").iterdir())
    assert folders
    before = {p.name for p in folders}
    r = rest(server, ULLA, "DELETE", "/servicesNS/ulla/search/saved/searches/gone")
    assert r.status_code == 200, r.text
    after = {p.name for p in (server.home / "dispatch_scheduled").iterdir()}
    assert len(before - after) == 1
    r = search(server, VIC, '| loadjob savedsearch="ulla:search:gone"')
    assert r.status_code == 404, r.text
