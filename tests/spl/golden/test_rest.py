"""rest (Splunk Search Reference: rest,
https://help.splunk.com/splunk-enterprise/spl-search-reference/9.0/search-commands/rest): one
result per entry of a REST feed.

The feeds are written by hand in the JSON envelope Speleo's REST API answers; every expected row
is read off them. The step's `fetch` is bound here as the server's search guard binds it
(speleo.server.rest_command); the server end is tested in tests/server/test_rest_command.py."""

from __future__ import annotations

import pytest

from speleo.errors import SplError, SplUnsupportedError
from speleo.query.post import apply_post, collect_messages
from speleo.query.restrows import RestUnavailable, server_name
from speleo.spl import compile_search
from speleo.spl.commands.restcmd import MAX_ROWS
from tests.spl.conftest import make_ctx

ACL = {"app": "search", "owner": "nobody", "sharing": "system", "modifiable": True,
       "perms": {"read": ["*"], "write": ["admin", "power"]}}


def entry(name: str, content: dict, **kw) -> dict:
    return {"name": name, "id": f"http://h:8000/servicesNS/nobody/search/data/indexes/{name}",
            "updated": "2026-01-02T03:04:05+00:00", "author": "nobody", "acl": ACL, "content": content, **kw}


INDEXES = {"entry": [entry("main", {"totalEventCount": 12, "currentDBSizeMB": 0.5, "disabled": False,
                                   "isInternal": False, "maxTotalDataSizeMB": 500000}),
                     entry("_internal", {"totalEventCount": 3, "currentDBSizeMB": 0.125, "disabled": False,
                                         "isInternal": True, "maxTotalDataSizeMB": 500000})],
           "paging": {"total": 2, "perPage": 30, "offset": 0}}


def run(query: str, feed: dict) -> tuple[list[dict], list[str], list[dict]]:
    """The rows of `query` with its rest step reading `feed`; the messages; the calls made."""
    compiled = compile_search(query, make_ctx())
    calls: list[dict] = []

    def fetch(step):
        calls.append(step)
        return feed

    compiled.post = [{**s, "fetch": (lambda s=s: fetch(s))} if s["kind"] == "rest" else s for s in compiled.post]
    import duckdb

    with collect_messages() as said:
        table = apply_post(duckdb.sql(compiled.sql).to_arrow_table(), compiled.post, duckdb.connect())
    return table.to_pylist(), said, calls


def test_one_row_per_entry_with_atom_fields_acl_and_content():
    rows, said, calls = run("| rest /services/data/indexes", INDEXES)
    assert said == [] and [c["count"] for c in calls] == [MAX_ROWS]   # count=0 (the default): all, capped
    assert rows[0] == {
        "title": "main", "id": "http://h:8000/servicesNS/nobody/search/data/indexes/main", "author": "nobody",
        "updated": "2026-01-02T03:04:05+00:00", "published": None,
        "eai:acl.app": "search", "eai:acl.owner": "nobody", "eai:acl.sharing": "system", "eai:acl.modifiable": 1,
        "eai:acl.perms.read": ["*"], "eai:acl.perms.write": ["admin", "power"],
        "totalEventCount": 12, "currentDBSizeMB": 0.5, "disabled": 0, "isInternal": 0, "maxTotalDataSizeMB": 500000,
        "splunk_server": server_name()}
    assert [(r["title"], r["isInternal"], r["currentDBSizeMB"]) for r in rows] == [("main", 0, 0.5),
                                                                                  ("_internal", 1, 0.125)]


def test_later_commands_see_the_endpoint_fields():
    rows, _, _ = run("| rest /services/data/indexes | where isInternal=0 | table title totalEventCount eai:acl.app",
                     INDEXES)
    assert rows == [{"title": "main", "totalEventCount": 12, "eai:acl.app": "search"}]
    rows, _, _ = run("| rest /services/data/indexes | stats sum(totalEventCount) as events", INDEXES)
    assert rows == [{"events": 15}]


def test_nested_content_lists_and_published():
    job = {"name": "index=main", "id": "http://h:8000/services/search/jobs/abc", "updated": "u", "author": "ann",
           "acl": {"owner": "ann"},
           "content": {"sid": "abc", "published": "2026-01-01T00:00:00.000+00:00",
                       "request": {"search": "index=main", "earliest_time": "-1h"},
                       "messages": {"warn": ["kept the first 5", "second"]}, "isDone": True, "eventCount": 5}}
    (row,), _, _ = run("| rest /services/search/jobs", {"entry": [job]})
    assert row["published"] == "2026-01-01T00:00:00.000+00:00"      # the content's, the entry has none
    assert (row["request.search"], row["request.earliest_time"]) == ("index=main", "-1h")
    assert row["messages.warn"] == ["kept the first 5", "second"]
    assert (row["isDone"], row["eventCount"], row["eai:acl.owner"]) == (1, 5, "ann")


def test_secret_looking_keys_never_come_out_and_are_counted():
    e = entry("t", {"token": "f00", "password": "pw", "realm": "r", "action.email.auth_password": "x",
                    "sessionKey": "k", "password_hash": "$argon2", "api_key": "a", "username": "ann"})
    (row,), said, _ = run("| rest /services/data/inputs/http", {"entry": [e]})
    assert {"token", "password", "action.email.auth_password", "sessionKey", "password_hash", "api_key"} \
        .isdisjoint(row)
    assert (row["realm"], row["username"]) == ("r", "ann")
    assert said == ["rest: 6 secret-looking field value(s) left out (passwords, tokens, keys, hashes)"]


def test_count_bounds_the_rows_and_says_so():
    rows, said, calls = run("| rest /services/data/indexes count=1", INDEXES)
    assert [r["title"] for r in rows] == ["main"] and calls[0]["count"] == 1
    assert said == ["rest: read 1 of the endpoint's 2 entries (count=)"]
    compiled = compile_search("| rest /services/data/indexes count=50000", make_ctx())
    assert compiled.post[0]["count"] == MAX_ROWS and "at most 10,000" in compiled.messages[0]


def test_get_arguments_pass_through_and_options_do_not():
    _, _, (call,) = run('| rest /servicesNS/-/search/saved/searches search="disk" f=title splunk_server=local '
                        "timeout=5 count=3", {"entry": []})
    assert call["args"] == {"search": "disk", "f": "title"}
    assert (call["uri"], call["path"], call["timeout_secs"], call["count"]) == \
        ("/servicesNS/-/search/saved/searches", "saved/searches", 5, 3)


def test_no_entries_no_rows():
    rows, said, _ = run("| rest /services/search/jobs", {"entry": [], "paging": {"total": 0}})
    assert rows == [] and said == []


@pytest.mark.parametrize("uri, path", [
    ("/services/authentication/users", "authentication/users"),
    ("/services/authentication/users/ulla", "authentication/users/ulla"),
    ("/servicesNS/-/search/authorization/roles/", "authorization/roles"),
    ("/services/authorization/roles/power", "authorization/roles/power"),
    ("/services/authentication/current-context", "authentication/current-context"),
])
def test_users_and_roles_are_served(uri, path):
    # the server reads them as the searcher (edit_user, edit_roles: tests/server/test_rest_command.py)
    assert compile_search(f"| rest {uri}", make_ctx()).post[0]["path"] == path


@pytest.mark.parametrize("query, says", [
    ("| rest /services/cluster/master/peers", "/services/cluster/master/peers is a Splunk-only endpoint"),
    ("| rest /services/apps/local", "a Splunk-only endpoint: Speleo does not serve it"),
    ("| rest /services/authorization/capabilities", "a Splunk-only endpoint"),
    ("| rest /services/nothing/here", "not a REST endpoint of Splunk or Speleo"),
    ("| rest /services/search/jobs/export", "not a feed of entries"),
    ("| rest /services/search/jobs/abc/results", "not a feed of entries"),
    ("| rest server/info", "not a REST URI"),
    ("| rest /services/server/info strict=false", "strict=false is not supported"),
    ("| rest /services/server/info count=-1", "count=-1: give a number from 0"),
    ("| rest /services/server/info timeout=0", "timeout=0: give a number from 1 to 300"),
    ("| rest /services/server/info splunk_server_group=dmc", "splunk_server_group= is not supported"),
    ("| makeresults | append [| rest /services/server/info]", "rest is not supported in a subsearch"),
])
def test_refused_with_a_reason(query, says):
    with pytest.raises(SplError) as e:
        compile_search(query, make_ctx())
    assert says in str(e.value)
    assert isinstance(e.value, SplUnsupportedError) or "REST URI" not in says


def test_a_generating_command():
    with pytest.raises(SplError, match="generating command"):
        compile_search("| makeresults | rest /services/server/info", make_ctx())


def test_unbound_is_refused_never_run_as_anybody():
    compiled = compile_search("| rest /services/server/info", make_ctx())
    with pytest.raises(RestUnavailable, match="reads the running server's REST endpoints as the searcher"):
        apply_post(compiled_table(compiled), compiled.post)


def test_splunk_server_names_this_server_only():
    rows, _, _ = run(f"| rest /services/data/indexes splunk_server={server_name()}", INDEXES)
    assert len(rows) == 2
    assert len(run("| rest /services/data/indexes splunk_server=*", INDEXES)[0]) == 2
    with pytest.raises(Exception, match="Speleo is one server"):
        run("| rest /services/data/indexes splunk_server=idx-peer-07", INDEXES)


def compiled_table(compiled):
    import duckdb

    return duckdb.sql(compiled.sql).to_arrow_table()
