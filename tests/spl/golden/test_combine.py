"""Subsearch filters, join, append, appendpipe, union, lookup, inputlookup.

Splunk Search Reference pages:
"join" (type=inner default, left/outer; max=1 default: the first subsearch row of a key; max=0 all;
overwrite=true default: subsearch fields replace the main ones):
https://help.splunk.com/splunk-enterprise/spl-search-reference/9.2/search-commands/join
"append" (the subsearch's results after the current ones), "appendpipe" (the subpipeline over the
current results, appended), "union":
https://help.splunk.com/splunk-enterprise/spl-search-reference/9.2/search-commands/append
Search Manual "About subsearches" (a subsearch in a search becomes `(f1=v1 AND f2=v2) OR ...`).
"lookup" (OUTPUT overwrites, OUTPUTNEW only fills fields that have no value; matching is
case-sensitive by default; AS renames): https://help.splunk.com/splunk-enterprise/spl-search-reference/9.2/search-commands/lookup
"inputlookup": https://help.splunk.com/splunk-enterprise/spl-search-reference/9.2/search-commands/inputlookup
"""

from __future__ import annotations

import pytest

from tests.spl.golden._util import dump, ev, offsets, run

EVENTS = ev(
    (-10, "user=alice status=500", "web1"),
    (-20, "user=bob status=200", "web1"),
    (-30, "user=alice status=404", "web2"),
    (-40, "user=carol status=503", "web2"),
    (-50, "user=dave status=200", "db1"),
)


@pytest.fixture
def lookups(tmp_path):
    (tmp_path / "users.csv").write_text("user,dept\nalice,eng\nbob,ops\nCAROL,hr\n")
    return tmp_path


@pytest.mark.parametrize("query, expected", [
    ("* [search status=503 | fields user]", [-40]),                       # user=carol
    ("* [search status>=500 | fields user]", [-10, -30, -40]),           # user=alice OR user=carol
    ("* NOT [search status>=500 | fields user]", [-20, -50]),
    ("* [search status=404 | fields host user]", [-30]),                 # host=web2 AND user=alice
    ("status=200 [search host=web1 | fields user]", [-20]),
])
def test_subsearch_filters(query, expected):
    assert offsets(query, EVENTS) == expected


def test_join_inner_and_left():
    q = "* | join {} user [search status=200 | eval s2=status | table user s2] | table user s2"
    assert run(q.format(""), rows=EVENTS) == [{"user": "bob", "s2": "200"}, {"user": "dave", "s2": "200"}]
    rows = run(q.format("type=left"), rows=EVENTS)
    assert [(r["user"], r["s2"]) for r in rows] == [("alice", None), ("bob", "200"), ("alice", None),
                                                   ("carol", None), ("dave", "200")]
    assert run(q.format("type=outer"), rows=EVENTS) == rows


def test_join_max_and_overwrite():
    # subsearch rows (newest first): alice 500, alice 404, carol 503
    sub = "[search status>=400 | table user status]"
    rows = run(f"* | join user {sub} | table user status", rows=EVENTS)
    assert [(r["user"], r["status"]) for r in rows] == [("alice", "500"), ("alice", "500"), ("carol", "503")]
    rows = run(f"* | join overwrite=false user {sub} | table user status", rows=EVENTS)
    assert [(r["user"], r["status"]) for r in rows] == [("alice", "500"), ("alice", "404"), ("carol", "503")]
    rows = run(f"* | join max=0 user {sub} | table user status", rows=EVENTS)
    assert sorted((r["user"], r["status"]) for r in rows) == [
        ("alice", "404"), ("alice", "404"), ("alice", "500"), ("alice", "500"), ("carol", "503")]


def test_append_appendpipe_union():
    assert offsets("status=200 | append [search status=503]", EVENTS) == [-20, -50, -40]
    rows = run('* | stats count by host | appendpipe [stats sum(count) as count | eval host="total"]', rows=EVENTS)
    assert [(r["host"], r["count"]) for r in rows] == [("db1", 1), ("web1", 2), ("web2", 2), ("total", 5)]
    assert offsets("| union [search status=200] [search status=503]", EVENTS) == [-20, -40, -50]


def test_appendpipe_sees_the_search_time_range():
    # addinfo (addinfo page: info_min_time / info_max_time are the search's time bounds) inside appendpipe:
    # earliest=-1h latest=now -> NOW - 3600 and NOW (NOW = 1700000000); the main row has no such fields
    rows = run("* earliest=-1h latest=now | stats count | appendpipe [addinfo | table info_min_time info_max_time]",
               rows=EVENTS)
    assert rows == [{"count": 5, "info_min_time": None, "info_max_time": None},
                    {"count": None, "info_min_time": 1699996400.0, "info_max_time": 1700000000.0}]


@pytest.mark.parametrize("branch, kind", [
    ("stats count as n | outputlookup totals.csv", "outputlookup"),
    ("transpose", "transpose"),
    ("cluster", "cluster"),
])
def test_appendpipe_refuses_steps_that_run_after_the_search(lookups, branch, kind):
    # such a step would run on the whole final result, not on the appendpipe's rows
    from speleo.errors import SplUnsupportedError

    with pytest.raises(SplUnsupportedError, match=f"{kind} inside appendpipe is not supported"):
        run(f"* | stats count by host | appendpipe [{branch}]", rows=EVENTS, lookups_dir=lookups)
    assert not (lookups / "totals.csv").exists()


def test_lookup_output_case_sensitive(lookups):
    rows = run("* | lookup users user OUTPUT dept | table user dept", rows=EVENTS, lookups_dir=lookups)
    # CAROL in the file does not match carol
    assert [(r["user"], r["dept"]) for r in rows] == [("alice", "eng"), ("bob", "ops"), ("alice", "eng"),
                                                     ("carol", None), ("dave", None)]


def test_lookup_as_and_outputnew(lookups):
    rows = run("* | rename user as who | lookup users user AS who OUTPUT dept AS d | table who d",
               rows=EVENTS, lookups_dir=lookups)
    assert [r["d"] for r in rows] == ["eng", "ops", "eng", None, None]
    rows = run('* | eval dept=if(user="bob", "preset", null()) | lookup users user OUTPUTNEW dept | table dept',
               rows=EVENTS, lookups_dir=lookups)
    assert [r["dept"] for r in rows] == ["eng", "preset", "eng", None, None]
    rows = run('* | eval dept=if(user="bob", "preset", null()) | lookup users user OUTPUT dept | table dept',
               rows=EVENTS, lookups_dir=lookups)
    assert [r["dept"] for r in rows][:3] == ["eng", "ops", "eng"]


def test_inputlookup(lookups):
    assert run("| inputlookup users", rows=EVENTS, lookups_dir=lookups) == [
        {"user": "alice", "dept": "eng"}, {"user": "bob", "dept": "ops"}, {"user": "CAROL", "dept": "hr"}]
    assert run("| inputlookup users where dept=HR", rows=EVENTS, lookups_dir=lookups) == [
        {"user": "CAROL", "dept": "hr"}]                            # a search: values case-insensitive


def test_inputlookup_append(lookups):
    # Search Reference, inputlookup: append=true adds the table's rows to the current results.
    # After another inputlookup the second copy was dropped (3 rows, not 6); as the first command
    # there are no results to add to, and it appended the whole index to the table instead.
    users = [{"user": "alice", "dept": "eng"}, {"user": "bob", "dept": "ops"}, {"user": "CAROL", "dept": "hr"}]
    assert run("| inputlookup users | inputlookup append=t users", rows=EVENTS, lookups_dir=lookups) == users + users
    assert run("| inputlookup append=t users", rows=EVENTS, lookups_dir=lookups) == users
    rows = run("user=bob | inputlookup append=true users | table user dept", rows=EVENTS, lookups_dir=lookups)
    n_bob = sum(1 for e in EVENTS if "user=bob" in e[1])
    assert rows == [{"user": "bob", "dept": None}] * n_bob + users


def test_append_keeps_the_events_search_time_fields(lookups):
    # Search Reference, append: the subsearch's results after the current ones, fields by name.
    # An event's user is extracted at search time; the table's user is a column: the events'
    # values were lost (null) once the union had a column of that name. Both directions.
    rows = run("status=200 | append [| inputlookup users] | table user dept", rows=EVENTS, lookups_dir=lookups)
    assert [(r["user"], r["dept"]) for r in rows] == [
        ("bob", None), ("dave", None), ("alice", "eng"), ("bob", "ops"), ("CAROL", "hr")]
    rows = run('| makeresults | eval user="zed" | append [search status=500] | table user', rows=EVENTS)
    assert [r["user"] for r in rows] == ["zed", "alice"]


def test_appendcols_keeps_the_events_search_time_fields():
    # Search Reference, appendcols: the subsearch's first result's fields go to the first result;
    # override=false (default): a field the result has keeps its value. The events' status is
    # extracted at search time: it was replaced by the subsearch's ("x").
    q = '[| makeresults | eval status="x", k=1]'
    rows = run(f"status=200 | appendcols {q} | table user status k", rows=EVENTS)
    assert [(r["user"], r["status"], None if r["k"] is None else str(r["k"])) for r in rows] == [
        ("bob", "200", "1"), ("dave", "200", None)]
    rows = run(f"status=200 | appendcols override=true {q} | table user status", rows=EVENTS)
    assert [(r["user"], r["status"]) for r in rows] == [("bob", "x"), ("dave", "200")]


IPS = ev(
    "src=10.1.2.3 user=ann",       # -10
    "src=10.1.9.9 user=bo_b",      # -20
    "src=192.168.0.7 user=cy",     # -30
    "src=10.2.0.1 user=Ann2",      # -40
)


@pytest.mark.parametrize("query, expected", [
    # Search Manual, "About subsearches": the results become `(src="10.1.0.0/16") OR ...`, a
    # search, where `*` is a wildcard and a CIDR value matches the addresses in its range
    # (Search Reference: search). They were compared as plain text: nothing matched.
    ('* [| makeresults | eval src="10.1.0.0/16" | fields src]', [-10, -20]),
    ('* [| makeresults | eval src="10.0.0.0/8" | fields src]', [-10, -20, -40]),
    ('* [| makeresults | eval src="192.168.0.7/32" | fields src]', [-30]),
    ('* [| makeresults | eval user="ann*" | fields user]', [-10, -40]),   # case-insensitive, as a search
    ('* [| makeresults | eval user="bo_*" | fields user]', [-20]),        # _ is no wildcard
    ('* [| makeresults | eval user="b%" | fields user]', []),             # % is no wildcard
    ('* [| makeresults | eval src="10.1.2.3" | fields src]', [-10]),
    ('* [| makeresults | eval src="10.1.0.0/33" | fields src]', []),      # not a network
])
def test_subsearch_values_are_search_values(query, expected):
    assert offsets(query, IPS) == expected


# --- SPL -> AST ---------------------------------------------------------------------------------


@pytest.mark.parametrize("query, expected", [
    ("x [search y | fields u]",
     "Pipeline(commands=[SearchCmd(expr=And(items=[Term(text='x', quoted=False), Subsearch(pipeline=Pipeline(commands=["
     "SearchCmd(expr=Term(text='y', quoted=False)), FieldsCmd(remove=False, fields=['u'])]))]))])"),
    ("x | join type=left u [search y]",
     "Pipeline(commands=[SearchCmd(expr=Term(text='x', quoted=False)), JoinCmd(options={'type': 'left'}, fields=['u'], "
     "subsearch=Subsearch(pipeline=Pipeline(commands=[SearchCmd(expr=Term(text='y', quoted=False))])))])"),
    ("x | lookup users user AS who OUTPUTNEW dept AS d",
     "Pipeline(commands=[SearchCmd(expr=Term(text='x', quoted=False)), LookupCmd(table='users', options={}, "
     "inputs=[('user', 'who')], mode='OUTPUTNEW', outputs=[('dept', 'd')])])"),
    ("x | appendpipe [stats count]",
     "Pipeline(commands=[SearchCmd(expr=Term(text='x', quoted=False)), AppendCmd(kind='appendpipe', options={}, "
     "subsearch=Subsearch(pipeline=Pipeline(commands=[StatsCmd(kind='stats', aggs=[Agg(func='count', arg=None, "
     "param=None, alias=None, label='count')], by=[])])))])"),
])
def test_combine_ast(query, expected):
    assert dump(query) == expected


# --- SPL -> SQL ---------------------------------------------------------------------------------


def test_append_sql():
    # expected by hand: both searches as self-contained SELECTs tagged with their part and position,
    # UNION ALL BY NAME, ordered by part then position (main results first). Checked against the
    # compiler's text (its first CTE numbers the rows, the hidden order is excluded) and adopted.
    from tests.spl.golden._util import sql

    def part(host, n):
        return (f"SELECT * FROM (WITH s0 AS (SELECT * FROM __events__ WHERE COALESCE(LOWER(CAST(\"host\" AS TEXT)) = "
                f"'{host}', FALSE)) SELECT *, {n} AS \"__speleo_part\", ROW_NUMBER() OVER (ORDER BY \"_time\" DESC) "
                f"AS \"__speleo_pos\" FROM s0) AS \"__speleo_p{n}\"")
    assert sql("host=web1 | append [search host=db1]") == (
        "WITH s0 AS (SELECT * EXCLUDE (\"__speleo_part\", \"__speleo_pos\"), ROW_NUMBER() OVER (ORDER BY "
        "\"__speleo_part\", \"__speleo_pos\") AS \"__speleo_ord\" FROM (" + part("web1", 0) + " UNION ALL BY NAME "
        + part("db1", 1) + ") AS \"__speleo_u\") SELECT * EXCLUDE (\"__speleo_ord\") FROM s0 ORDER BY \"__speleo_ord\"")


# chart/timechart/xyseries with a split inside a subsearch: the later commands of the subsearch
# read the series columns (Search Reference, chart: one column per value of the split-by field).
# conftest EVENTS: web1 alice, bob, bob; web2 alice, carol; db1 dave, erin.
from tests.spl.conftest import EVENTS as BASE_EVENTS  # noqa: E402

CHART = "search * | chart count over host by user"


def test_chart_in_a_subsearch_feeds_its_later_commands():
    # bob: db1 0, web1 2, web2 0 -> z = bob + 1: 1, 3, 1
    rows = run(f"| makeresults | eval host=\"x\" | table host | append [{CHART} | eval z=bob+1 | table host z]",
               rows=BASE_EVENTS)
    assert [(r["host"], r["z"]) for r in rows] == [("x", None), ("db1", 1), ("web1", 3), ("web2", 1)]
    # a series that is not there (no user zed) is empty
    rows = run(f"| makeresults | table _time | append [{CHART} | eval k=coalesce(zed, \"none\") | table host k]",
               rows=BASE_EVENTS)
    assert [r["k"] for r in rows] == [None, "none", "none", "none"]
    # as a filter: hosts where alice has an event (web1, web2); events of web1 and web2: 5
    assert run(f"* [{CHART} | where alice > 0 | fields host] | stats count", rows=BASE_EVENTS) == [{"count": 5}]
    # the series columns still reach the outer search (no hidden column added)
    rows = run(f"| makeresults | table _time | append [{CHART} | where bob > 1] | table host alice bob",
               rows=BASE_EVENTS)
    assert rows == [{"host": None, "alice": None, "bob": None}, {"host": "web1", "alice": 1, "bob": 2}]


def test_timechart_and_xyseries_in_a_subsearch_feed_their_later_commands():
    # NOW is 2023-11-14 22:13:20 UTC: web1's events (-10, -20, -4000 s) are on the 14th (count 3,
    # w = 30); db1's -90000 s event makes the 13th's bucket, where web1 counts 0 (w = 0)
    rows = run("| makeresults | table _time | append [search * | timechart span=1d count by host "
               "| eval w=web1*10 | table w]", rows=BASE_EVENTS)
    assert sorted(r["w"] for r in rows if r["w"] is not None) == [0, 30]
    # xyseries host user bytes: alice's bytes per host: web1 100, web2 50, db1 none
    rows = run("| makeresults | table _time | append [search * | xyseries host user bytes "
               "| eval t=alice.\"!\" | table host t]", rows=BASE_EVENTS)
    assert [(r["host"], r["t"]) for r in rows] == [(None, None), ("web1", "100!"), ("web2", "50!"), ("db1", None)]


def test_chart_in_an_appendpipe_feeds_the_branch_commands():
    # stats count by host user, then the branch: sum(count) over host by user; bob's column:
    # web1 2 (2.0 as a double, written 2), elsewhere empty
    rows = run("* | stats count by host user | appendpipe [chart sum(count) over host by user | eval z=bob "
               "| table host z] | where isnotnull(z)", rows=BASE_EVENTS)
    assert [(r["host"], r["z"]) for r in rows] == [("web1", "2")]
    assert "__speleo_row" not in rows[0]
