"""lookup / inputlookup / outputlookup, append*, join, union, multisearch and subsearch filters.

Expected tables are worked by hand from the Splunk Search Reference definitions over the
seven events of conftest.EVENTS (newest first: -10 alice 500, -20 bob 200, -30 alice 404,
-40 carol 503, -50 dave 401, -4000 bob 200, -90000 erin 200).
"""

from __future__ import annotations

import pyarrow as pa
import pytest
from click.testing import CliRunner

from speleo.errors import SplUnsupportedError
from speleo.query.post import apply_post
from speleo.spl import compile_search
from tests.spl.conftest import make_ctx, run


@pytest.fixture
def lookups(tmp_path):
    (tmp_path / "depts.csv").write_text("user,dept\nalice,eng\nbob,ops\n")
    (tmp_path / "multi.csv").write_text("user,dept,level\nalice,eng,3\nbob,ops,1\nbob,sec,2\n")
    return tmp_path


def test_lookup_output_and_all_columns(lookups):
    # lookup fields compare exactly; no OUTPUT clause: every other column is an output
    rows = run("user=a* OR user=c* | lookup depts user OUTPUT dept | table user dept", lookups_dir=lookups)
    assert rows == [{"user": "alice", "dept": "eng"}, {"user": "alice", "dept": "eng"},
                    {"user": "carol", "dept": None}]
    rows = run("user=bob | lookup depts user | table user dept", lookups_dir=lookups)
    assert rows == [{"user": "bob", "dept": "ops"}] * 2


def test_lookup_as_outputnew_and_multiple_matches(lookups):
    # OUTPUTNEW leaves a field that exists (host) alone
    rows = run("user=alice | lookup depts user AS user OUTPUTNEW dept AS host | table host", lookups_dir=lookups)
    assert rows == [{"host": "web1"}, {"host": "web2"}]
    # two rows for bob: multivalue outputs in file order
    rows = run("user=bob earliest=-1h | lookup multi user OUTPUT dept level", lookups_dir=lookups)
    assert (rows[0]["dept"], rows[0]["level"]) == (["ops", "sec"], ["1", "2"])


def test_lookup_names_are_confined(lookups):
    for name in ("../x", "a/b", "..", ".hidden"):
        with pytest.raises(SplUnsupportedError):
            compile_search(f"* | lookup {name} user", make_ctx(lookups_dir=lookups))
    with pytest.raises(SplUnsupportedError, match="not found"):
        compile_search("* | lookup nope user", make_ctx(lookups_dir=lookups))


def test_inputlookup(lookups):
    assert run("| inputlookup multi where dept=sec", lookups_dir=lookups) == [
        {"user": "bob", "dept": "sec", "level": "2"}]
    assert run("| inputlookup multi.csv max=1", lookups_dir=lookups) == [
        {"user": "alice", "dept": "eng", "level": "3"}]
    assert run("| inputlookup start=1 multi", lookups_dir=lookups) == [
        {"user": "bob", "dept": "ops", "level": "1"}, {"user": "bob", "dept": "sec", "level": "2"}]


def test_outputlookup_is_a_post_step(lookups):
    c = compile_search("* | stats count by user | outputlookup counts.csv", make_ctx(lookups_dir=lookups))
    assert c.post and c.post[0]["kind"] == "outputlookup"
    table = pa.table({"user": ["a", "b"], "count": [2, 1], "__speleo_ord": [1, 2]})
    assert apply_post(table, c.post) is table
    assert (lookups / "counts.csv").read_text().splitlines() == ["user,count", "a,2", "b,1"]
    c = compile_search("* | table user | outputlookup append=true counts", make_ctx(lookups_dir=lookups))
    apply_post(pa.table({"user": ["c"]}), c.post)
    assert (lookups / "counts.csv").read_text().splitlines() == ["user,count", "a,2", "b,1", "c,"]


def test_lookup_cli(tmp_path):
    from speleo.cli.main import cli

    src = tmp_path / "in.csv"
    src.write_text("ip,owner\n10.0.0.1,alice\n")
    home = tmp_path / "home"
    r = CliRunner()
    assert r.invoke(cli, ["--home", str(home), "lookup", "add", "owners", str(src)]).exit_code == 0
    out = r.invoke(cli, ["--home", str(home), "lookup", "list"]).output
    assert '"name": "owners.csv"' in out and '"columns": ["ip", "owner"]' in out
    assert r.invoke(cli, ["--home", str(home), "lookup", "add", "../x", str(src)]).exit_code != 0
    assert r.invoke(cli, ["--home", str(home), "lookup", "remove", "owners"]).exit_code == 0
    assert r.invoke(cli, ["--home", str(home), "lookup", "list"]).output == ""


def test_append_appendcols_appendpipe():
    # append: the subsearch's results after the main results
    assert [r["user"] for r in run("status=200 | append [search status=404] | table user")] == \
        ["bob", "bob", "erin", "alice"]
    # appendcols: row by row; override=false keeps the main value of a field both have
    rows = run("status=200 | appendcols [search status=40* | eval n=user | table n host] | table user n host")
    assert rows == [{"user": "bob", "n": "alice", "host": "web1"}, {"user": "bob", "n": "dave", "host": "web1"},
                    {"user": "erin", "n": None, "host": "db1"}]
    # appendpipe: the subpipeline over the current results, appended
    rows = run("* | stats count by host | appendpipe [stats sum(count) as count | eval host=\"all\"]")
    assert [(r["host"], r["count"]) for r in rows] == [("db1", 2), ("web1", 3), ("web2", 2), ("all", 7)]


def test_join_inner_left_and_max():
    # sub: users with status>=500 -> alice (web1, newest first), carol (web2)
    q = "* | join {} user [search status>=500 | eval h=host | table user h] | table user h"
    assert run(q.format("")) == [{"user": "alice", "h": "web1"}, {"user": "alice", "h": "web1"},
                                 {"user": "carol", "h": "web2"}]
    rows = run(q.format("type=left"))
    assert [(r["user"], r["h"]) for r in rows] == [("alice", "web1"), ("bob", None), ("alice", "web1"),
                                                  ("carol", "web2"), ("dave", None), ("bob", None), ("erin", None)]
    # max=0: every match; alice has two status=4xx/5xx events in the subsearch
    rows = run("status=500 | join max=0 user [search status>=400 | eval s=status | table user s] | table user s")
    assert sorted(r["s"] for r in rows) == ["404", "500"]


def test_subsearch_filter_and_not():
    # [search status=500 | fields user] -> (user=alice)
    assert [r["_offset"] for r in run("* [search status=500 | fields user]")] == [0, 2]
    assert [r["_offset"] for r in run("* NOT [search status=500 | fields user]")] == [1, 3, 4, 5, 6]
    # two fields: (host=web2 AND user=carol)
    assert [r["_offset"] for r in run("* [search status=503 | table host user]")] == [3]
    with pytest.raises(SplUnsupportedError, match="whole events"):
        compile_search("* [search status=503]", make_ctx())


def test_union_and_multisearch_merge_by_time():
    for cmd in ("union", "multisearch"):
        rows = run(f"| {cmd} [search status=404] [search user=bob]")
        assert [r["_offset"] for r in rows] == [1, 2, 5]


def test_subsearch_widens_the_plan():
    c = compile_search("index=main earliest=-1h x | append [search index=other earliest=-2h y]", make_ctx())
    assert c.indexes == ["main", "other"] and c.required_terms == [] and c.earliest == 1_700_000_000 - 7200
