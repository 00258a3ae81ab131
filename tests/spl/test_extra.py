"""Golden tests for the commands beyond the first subset: AST shapes, positions, unsupported
errors, and result tables worked by hand from the Search Reference definitions.

Events (tests/spl/conftest.py, NOW = 1700000000):
  -10 web1 app "ERROR ... status=500 user=alice"     -20 web1 access status=200 user=bob
  -30 web2 access status=404 user=alice              -40 web2 app status=503 user=carol
  -50 db1 auth status=401 user=dave                  -4000 web1 access status=200 user=bob
  -90000 db1 app status=200 user=erin
"""

from __future__ import annotations

import pytest

from speleo.errors import SplError, SplSyntaxError, SplUnsupportedError
from speleo.spl import ast, compile_search, parse
from tests.spl.conftest import NOW, make_ctx, run
from tests.spl.golden._util import ev

# --- parse: AST goldens ------------------------------------------------------------------------


def test_tstats_datamodel_ast():
    p = parse("| tstats summariesonly=true count min(_time) as firstTime from datamodel=Endpoint.Processes "
              "where Processes.process_name=cmd.exe by Processes.dest _time span=1h")
    cmd = p.commands[0]
    assert isinstance(cmd, ast.TstatsCmd)
    assert cmd.options == {"summariesonly": "true"}
    assert cmd.datamodel == "Endpoint.Processes"
    assert ast.dump(cmd.where) == "FieldCmp(field='Processes.process_name', op='=', value='cmd.exe', quoted=False)"
    assert cmd.by == ["Processes.dest", "_time"] and cmd.by_options == {"span": "1h"}
    assert [a.alias or a.label for a in cmd.aggs] == ["count", "firstTime"]


def test_convert_ast():
    p = parse('x | convert timeformat="%Y" ctime(a) AS b, dur2sec(d)')
    assert ast.dump(p.commands[1]) == ("ConvertCmd(timeformat='%Y', items=[ConvertItem(func='ctime', field='a', "
                                       "alias='b'), ConvertItem(func='dur2sec', field='d', alias=None)])")


def test_lookup_ast():
    p = parse("x | lookup update=true users uid as user, dept OUTPUTNEW name as full_name")
    assert ast.dump(p.commands[1]) == ("LookupCmd(table='users', options={'update': 'true'}, inputs=[('uid', 'user'), "
                                       "('dept', 'dept')], mode='OUTPUTNEW', outputs=[('name', 'full_name')])")


def test_subsearch_positions():
    q = "x | join type=outer user [search y | stats count by user]"
    cmd = parse(q).commands[1]
    assert isinstance(cmd, ast.JoinCmd) and cmd.options == {"type": "outer"} and cmd.fields == ["user"]
    sub = cmd.subsearch
    assert q[sub.start:sub.end].startswith("[search y") and q[sub.end - 1] == "]"
    stats = sub.pipeline.commands[1]
    assert q[stats.start:stats.end].strip() == "stats count by user"


def test_subsearch_in_search_and_appendpipe():
    p = parse("a [search b | fields user] | appendpipe [stats count]")
    assert isinstance(p.commands[0].expr.items[1], ast.Subsearch)
    assert isinstance(p.commands[1].subsearch.pipeline.commands[0], ast.StatsCmd)


def test_transaction_and_foreach():
    t = parse('x | transaction user startswith=(EventCode=4698) endswith="done" maxspan=2m').commands[1]
    assert t.fields == ["user"] and t.options == {"maxspan": "2m"}
    assert ast.dump(t.startswith) == "FieldCmp(field='EventCode', op='=', value='4698', quoted=False)"
    f = parse("x | foreach * [ eval <<FIELD>> = if(<<FIELD>>=\"null\", null(), <<FIELD>>)]").commands[1]
    assert f.fields == ["*"] and isinstance(f.body.commands[0], ast.EvalCmd)


def test_simple_commands_parse():
    for q in ["x | mvexpand limit=5 a", 'x | makemv delim=" " a', "x | nomv a", "| makeresults count=2",
              "x | xyseries a b c", "x | untable a b c", "x | addtotals row=t col=t", "| inputlookup append=t t.csv",
              "x | outputlookup t.csv", "x | chart count over a by b", "x | streamstats count by a",
              "x | rename a.* as *", "x | stats count(eval(a>1)) as n", "x | where a IN (1, 2)",
              'x | replace "a*" with "b" in f', "| from datamodel:Web.Web", "x | spath output=o path=a.b",
              "x | rex max_match=0 \"(?<a>\\d)\"", "x | regex f!=\"^a\"", "x | iplocation src"]:
        assert parse(q).commands


@pytest.mark.parametrize("query, start", [
    ("x | tstats count", 4),                       # generating command not first
    ("x | mvexpand", 12),                          # needs a field
    ("x | convert foo(a)", 12),                    # not a conversion function
    ("x | lookup t", 12),                          # needs a lookup field
])
def test_parse_errors(query, start):
    with pytest.raises(SplSyntaxError) as info:
        parse(query)
    assert info.value.pos.start == start


# --- compile: unsupported names the missing piece ---------------------------------------------------


@pytest.mark.parametrize("query, words", [
    ("| tstats count from datamodel=Nope by Nope.src", "no data model named 'Nope'"),
    ("| tstats count where user=x", "non-indexed field 'user'"),
    ("x | join type=outer2 user [search y | table user]", "join type=outer2"),
    ("x | lookup t a", "lookups need a lookups folder"),
    ("x | transaction user maxevents=3", "maxevents"),
    ("x [search y]", "whole events are not supported"),
    ("x | convert auto(a)", "auto()"),
])
def test_unsupported_at_compile(query, words):
    with pytest.raises(SplUnsupportedError) as info:
        compile_search(query, make_ctx())
    assert words in str(info.value)


# --- results worked by hand ---------------------------------------------------------------------------


def test_tstats_by_host():
    # all 7 events: web1 -10,-20,-4000; web2 -30,-40; db1 -50,-90000
    assert run("| tstats count where index=main by host") == [
        {"host": "db1", "count": 2}, {"host": "web1", "count": 3}, {"host": "web2", "count": 2}]


def test_tstats_time_bounds_and_terms():
    # last hour: -10 app, -20 access, -30 access, -40 app (host web*); -50 is db1
    assert run("| tstats count where host=web* earliest=-1h by sourcetype") == [
        {"sourcetype": "access", "count": 2}, {"sourcetype": "app", "count": 2}]
    c = compile_search("| tstats count where index=main earliest=-1h", make_ctx())
    assert c.indexes == ["main"] and c.earliest == NOW - 3600


def test_tstats_span():
    # 1h buckets: NOW=1700000000 -> 1699999200 holds -10..-50 (5); -4000 -> 1699995600; -90000 -> 1699909200
    rows = run("| tstats count by _time span=1h")
    assert rows == [{"_time": 1699909200.0, "count": 1}, {"_time": 1699995600.0, "count": 1},
                    {"_time": 1699999200.0, "count": 5}]


def test_convert_ctime_mktime():
    rows = run('status=404 | eval t=86400 | convert timeformat="%Y-%m-%d %H:%M" ctime(t) AS c | table t c')
    assert rows == [{"t": 86400, "c": "1970-01-02 00:00"}]
    rows = run('status=404 | eval t="2023-11-14" | convert timeformat="%Y-%m-%d" mktime(t) | table t')
    assert rows == [{"t": 1699920000.0}]
    # default timeformat %m/%d/%Y %H:%M:%S; a value that is not a number is left as it is
    rows = run('status=404 | eval t=0, u="abc" | convert ctime(t) ctime(u) | table t u')
    assert rows == [{"t": "01/01/1970 00:00:00", "u": "abc"}]


def test_convert_numbers():
    rows = run('status=404 | eval d="1+02:00:05", e="00:01:02", f="x", a="10kb", b="1,234.5" '
               '| convert dur2sec(d) dur2sec(e) dur2sec(f) rmunit(a) rmcomma(b) num(user) | table d e f a b user')
    assert rows == [{"d": 93605.0, "e": 62.0, "f": None, "a": 10.0, "b": 1234.5, "user": None}]


def test_rename_wildcard():
    rows = run("| tstats count where index=main by host | rename h* as x_* | rename count as n")
    assert rows[0] == {"x_ost": "db1", "n": 2}


def test_makeresults_and_regex_and_spath():
    assert run("| makeresults count=2 | eval x=1") == [{"_time": NOW, "x": 1}, {"_time": NOW, "x": 1}]
    assert run('status=* | regex user!="^(alice|bob)$" | table user') == [
        {"user": "carol"}, {"user": "dave"}, {"user": "erin"}]
    rows = run('status=404 | eval j="{\\"a\\": {\\"b\\": 5}}" | spath input=j output=o path=a.b | table o')
    assert rows == [{"o": "5"}]


def test_stats_count_eval():
    # status>=400 among the 7: 500, 404, 503, 401 -> 4
    assert run("status=* | stats count(eval(status>=400)) as bad, count") == [{"bad": 4, "count": 7}]


def test_where_in():
    assert run('status=* | where user IN ("alice", "dave") | stats count') == [{"count": 3}]


def test_no_spl_error_escapes_on_corpus_shapes():
    for q in ["| tstats count", "| makeresults", "x | eval a=1 | convert ctime(*)"]:
        try:
            compile_search(q, make_ctx())
        except SplError:
            pass


def test_eval_functions_by_hand():
    rows = run('status=404 | eval a=md5("a"), c=urldecode("a%20b"), d=tostring(cidrmatch("10.0.0.0/8", "10.2.3.4")), '
               'e=tostring(cidrmatch("10.0.0.0/8", "11.2.3.4")), f=tostring(cidrmatch("192.168.1.0/24", user)) '
               '| table a c d e f')
    assert rows == [{"a": "0cc175b9c0f1b6a831c399e269772661", "c": "a b", "d": "True", "e": "False", "f": "False"}]
    # now = 2023-11-14 22:13:20 UTC: -1d@d = 2023-11-13 00:00 UTC = 1699833600; the event is at NOW-30
    rows = run('status=404 | eval j=json_extract("{\\"a\\": [1, {\\"b\\": 2}]}", "a{1}.b"), '
               't=strptime("2023-11-14 01:00", "%Y-%m-%d %H:%M"), r=relative_time(now(), "-1d@d"), '
               's=relative_time(_time, "-1h") | table j t r s')
    assert rows == [{"j": "2", "t": 1699923600.0, "r": 1699833600.0, "s": NOW - 30 - 3600}]
    rows = run('status=404 | eval h=tostring(255, "hex"), c=tostring(1234567, "commas"), '
               'c2=tostring(12345.678, "commas"), d=tostring(93605, "duration"), d2=tostring(62, "duration"), '
               'p=printf("%s=%d", "x", 5) | table h c c2 d d2 p')
    assert rows == [{"h": "0xFF", "c": "1,234,567", "c2": "12,345.68", "d": "1+02:00:05", "d2": "00:01:02",
                     "p": "x=5"}]


def test_multivalue_functions_by_hand():
    # Search Reference: mvindex is 0-based, negative counts from the end, the end index is inclusive;
    # mvcount of a single value is 1 and of a missing field is null; mvappend skips nulls.
    rows = run('status=404 | eval m=split("a,b,c", ","), n=mvcount(m), i=mvindex(m, 0), j=mvindex(m, -1), '
               'k=mvindex(m, 1, 2), o=mvindex(m, 5), s=mvcount(user), z=mvcount(nothing), jn=mvjoin(m, "|"), '
               'ap=mvappend("x", m, nothing, "y"), st=mvsort(split("b,a,c", ",")) | table n i j k o s z jn ap st')
    assert rows == [{"n": 3, "i": "a", "j": "c", "k": ["b", "c"], "o": None, "s": 1, "z": None, "jn": "a|b|c",
                     "ap": ["x", "a", "b", "c", "y"], "st": ["a", "b", "c"]}]
    # values() is a list: alice bob carol dave erin (sorted, distinct)
    rows = run('status=* | stats values(user) as u | eval n=mvcount(u), f=mvindex(u, 0), j=mvjoin(u, ";") '
               '| table n f j')
    assert rows == [{"n": 5, "f": "alice", "j": "alice;bob;carol;dave;erin"}]


def test_streamstats_by_hand():
    # events newest first: web1 web1 web2 web2 db1 web1 db1
    assert run("status=* | streamstats count as n by host | table host n") == [
        {"host": "web1", "n": 1}, {"host": "web1", "n": 2}, {"host": "web2", "n": 1}, {"host": "web2", "n": 2},
        {"host": "db1", "n": 1}, {"host": "web1", "n": 3}, {"host": "db1", "n": 2}]
    # bytes newest first: 100 2000 50 7 (none) 300 10; window=2 sums the result and the one before
    assert [r["s"] for r in run("status=* | streamstats sum(bytes) as s window=2 | table s")] == [
        100, 2100, 2050, 57, 7, 300, 310]
    # current=f: statistics of the results before this one
    rows = run("status=* | streamstats current=f count max(bytes) as m | table count m")
    assert [(r["count"], r["m"]) for r in rows] == [(0, None), (1, 100), (2, 2000), (3, 2000), (4, 2000),
                                                    (5, 2000), (6, 2000)]
    # after stats the order is by host: db1 2, web1 3, web2 2
    assert [r["running"] for r in run("status=* | stats count by host | streamstats sum(count) as running")] == [
        2, 5, 7]


def test_streamstats_unsupported_pieces():
    for q, words in [("x | streamstats time_window=1h current=f count", "time_window"),
                     ("x | sort host | streamstats time_window=1h count", "_time order"),
                     ("x | streamstats window=2 count by host", "global"),
                     ("x | streamstats values(a)", "values(a)")]:
        with pytest.raises(SplUnsupportedError) as info:
            compile_search(q, make_ctx())
        assert words in str(info.value)


def test_streamstats_time_window_counts_the_results_seen_within_the_duration():
    # Search Reference, streamstats time_window: results within the duration of the current one, in
    # _time order. Times (s from now) 0 -60 -120 -400 -410 -1000, hosts h0 h1 alternating.
    rows = ev(*[(t, f"x host=h{i % 2}", f"h{i % 2}") for i, t in enumerate((0, -60, -120, -400, -410, -1000))])
    # events newest first: the newer results seen within 5 minutes (the far end included)
    assert [r["count"] for r in run("* | streamstats time_window=5m count", rows=rows)] == [1, 2, 3, 2, 3, 1]
    assert [r["s"] for r in run("* | eval x=1 | streamstats time_window=2m sum(x) as s", rows=rows)] == [1, 2, 3, 1, 2, 1]
    # oldest first, and per host
    asc = run("* | sort _time | streamstats time_window=5m count", rows=rows)
    assert [r["count"] for r in asc] == [1, 1, 2, 3, 2, 3]
    by = run("* | sort _time | streamstats time_window=5m count by host", rows=rows)
    assert [(r["host"], r["count"]) for r in by] == [("h1", 1), ("h0", 1), ("h1", 1), ("h0", 2), ("h1", 1), ("h0", 2)]


def test_rex_max_match():
    # max_match=0: every match (a multivalue field); max_match=2: the first two; no match: null
    rows = run('status=404 | eval s="k=1 k=22 k=333" | rex field=s max_match=0 "k=(?<v>\\d+)" '
               '| rex field=s max_match=2 "k=(?<w>\\d+)" | rex field=s max_match=0 "z=(?<z>\\d+)" '
               '| eval n=mvcount(v) | table v w z n')
    assert rows == [{"v": ["1", "22", "333"], "w": ["1", "22"], "z": None, "n": 3}]
