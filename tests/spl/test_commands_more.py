"""addinfo, filldown, mvcombine, strcat, uniq, replace, makecontinuous, rex mode=sed, fromjson,
xmlkv, transpose, commands after a post step, and the unsupported iplocation / map / mstats /
from. Expected tables are worked by hand from the Splunk Search Reference page of each command
over conftest.EVENTS (newest first):

  1  -10    web1 app    "ERROR: disk full status=500 user=alice bytes=100"
  2  -20    web1 access "GET /index.html status=200 user=bob bytes=2000"
  3  -30    web2 access "GET /missing status=404 user=alice bytes=50"
  4  -40    web2 app    "errors happened status=503 user=carol bytes=7"
  5  -50    db1  auth   "login failed for user=dave status=401"              (no bytes)
  6  -4000  web1 access "GET /a status=200 user=bob bytes=300 path=/a"       (the only path)
  7  -90000 db1  app    "old event status=200 user=erin bytes=10"
"""

from __future__ import annotations

import duckdb
import pytest

from speleo.errors import SplSyntaxError, SplUnsupportedError
from speleo.query.post import apply_post
from speleo.spl import ast, compile_search, parse
from speleo.spl.nodes import re_escape
from tests.spl.conftest import NOW, events_table, make_ctx, run


def full(query: str, rows=None, **kw) -> list[dict]:
    """Compile, run on DuckDB, then apply the post steps on the same connection (as the engine does)."""
    compiled = compile_search(query, make_ctx(**kw))
    con = duckdb.connect()
    con.register("__events__", events_table(rows) if rows is not None else events_table())
    table = apply_post(con.sql(compiled.sql).to_arrow_table(), compiled.post, con)
    return table.to_pylist()


def col(rows: list[dict], name: str) -> list:
    return [r[name] for r in rows]


# --- addinfo -------------------------------------------------------------------------------------


def test_addinfo_time_range_and_search_time():
    # earliest=-1h latest=-10s keeps -20, -30, -40, -50 (latest is exclusive)
    rows = run("earliest=-1h latest=-10s | addinfo | table _time info_min_time info_max_time info_search_time info_sid")
    assert [r["_time"] - NOW for r in rows] == [-20, -30, -40, -50]
    assert {(r["info_min_time"], r["info_max_time"], r["info_search_time"]) for r in rows} == {
        (NOW - 3600, NOW - 10, NOW)}
    assert {r["info_sid"] for r in rows} == {"1700000000.000"}


def test_addinfo_all_time_and_given_sid():
    # Search Reference: with latest=all time, info_max_time is +Infinity; earliest all time is 0
    assert run("| makeresults | addinfo", sid="scheduler__x") == [
        {"_time": NOW, "info_min_time": 0.0, "info_max_time": float("inf"), "info_search_time": NOW,
         "info_sid": "scheduler__x"}]
    # the caller's default time range counts as the search's range
    rows = run("status=404 | addinfo | table info_min_time info_max_time", default_earliest=NOW - 100,
               default_latest=NOW)
    assert rows == [{"info_min_time": NOW - 100, "info_max_time": NOW}]
    # the heartbeat example: age relative to the end of the time range
    rows = run("latest=-5s | stats max(_time) as latest_time by host | addinfo "
               "| eval latest_age = info_max_time - latest_time | table host latest_age")
    assert rows == [{"host": "db1", "latest_age": 45.0}, {"host": "web1", "latest_age": 5.0},
                    {"host": "web2", "latest_age": 25.0}]


# --- filldown ------------------------------------------------------------------------------------


def test_filldown_one_field():
    # dave has no bytes: it takes carol's 7 (the last value above it)
    rows = run("status=* | table user bytes | filldown bytes")
    assert col(rows, "bytes") == ["100", "2000", "50", "7", "7", "300", "10"]
    # no earlier value: stays null
    rows = run('status=* | eval b=if(user="alice", null(), bytes) | table user b | filldown b')
    assert col(rows, "b") == [None, "2000", "2000", "7", "7", "300", "10"]


def test_filldown_follows_the_result_order():
    # reversed: erin 10, bob 300, dave (none -> 300), carol 7, alice 50, bob 2000, alice 100
    rows = run("status=* | reverse | table user bytes | filldown bytes")
    assert col(rows, "bytes") == ["10", "300", "300", "7", "50", "2000", "100"]


def test_filldown_all_fields_and_wildcards():
    # no field list: every field; path only on -4000, so erin (below it) gets /a
    rows = run("status=* | table user bytes path | filldown")
    assert col(rows, "path") == [None] * 5 + ["/a", "/a"]
    assert col(rows, "bytes")[4] == "7"
    rows = run("status=* | table user bytes path | filldown b*")
    assert col(rows, "path") == [None] * 5 + ["/a", None] and col(rows, "bytes")[4] == "7"
    # on events, the fields created in the search
    rows = run("status=* | eval p=path | filldown | table user p")
    assert col(rows, "p") == [None] * 5 + ["/a", "/a"]


def test_filldown_multivalue():
    rows = run('| makeresults count=3 | streamstats count as n | eval m=if(n=1, split("a,b", ","), null()) '
               "| filldown m | table m")
    assert col(rows, "m") == [["a", "b"]] * 3


# --- mvcombine -----------------------------------------------------------------------------------


def test_mvcombine_groups_identical_results():
    # rows alike but for host: app (web1, web2, db1), access (web1, web2, web1), auth (db1), in the
    # order of their first result; every value is kept
    assert run("status=* | table host sourcetype | mvcombine host") == [
        {"host": ["web1", "web2", "db1"], "sourcetype": "app"},
        {"host": ["web1", "web2", "web1"], "sourcetype": "access"},
        {"host": ["db1"], "sourcetype": "auth"}]


def test_mvcombine_after_stats_and_nulls():
    # stats count by host sourcetype: db1/app 1, db1/auth 1, web1/access 2, web1/app 1, web2/access 1,
    # web2/app 1; without sourcetype the count=1 results combine
    assert run("status=* | stats count by host sourcetype | fields - sourcetype | mvcombine host") == [
        {"host": ["db1", "db1", "web1", "web2", "web2"], "count": 1}, {"host": ["web1"], "count": 2}]
    # a missing value adds nothing; a group with no value stays without the field
    assert run("status=* | table sourcetype path | mvcombine path") == [
        {"sourcetype": "app", "path": None}, {"sourcetype": "access", "path": ["/a"]},
        {"sourcetype": "auth", "path": None}]
    # a multivalue value adds its values
    rows = run('| makeresults count=2 | streamstats count as n | eval k="a", v=split(if(n=1, "x,y", "z"), ",") '
               "| table k v | mvcombine delim=\",\" v")
    assert rows == [{"k": "a", "v": ["x", "y", "z"]}]


def test_mvcombine_internal_field_refused():
    with pytest.raises(SplUnsupportedError, match="internal fields"):
        compile_search("x | mvcombine _time", make_ctx())


# --- strcat --------------------------------------------------------------------------------------


def test_strcat_fields_and_strings():
    # the Search Reference example: strcat sourceIP "/" destIP comboIP
    rows = run('status=* | strcat host "/" user hu | table hu')
    assert col(rows, "hu") == ["web1/alice", "web1/bob", "web2/alice", "web2/carol", "db1/dave", "web1/bob",
                               "db1/erin"]
    assert run('| makeresults | strcat "a" "b" x | table x') == [{"x": "ab"}]


def test_strcat_allrequired():
    # allrequired=f (default): a missing field is an empty string
    rows = run('status=* | strcat user "-" path p | table p')
    assert col(rows, "p") == ["alice-", "bob-", "alice-", "carol-", "dave-", "bob-/a", "erin-"]
    # allrequired=t: written only where every field exists; elsewhere the field keeps its value
    rows = run('status=* | eval p="old" | strcat allrequired=t user "-" path p | table p')
    assert col(rows, "p") == ["old"] * 5 + ["bob-/a", "old"]
    rows = run("status=* | strcat allrequired=t user path p | table p")
    assert col(rows, "p") == [None] * 5 + ["bob/a", None]


def test_strcat_ast_and_errors():
    cmd = parse('x | strcat allrequired=t a "-" b c').commands[1]
    assert ast.dump(cmd) == "StrcatCmd(items=[('a', False), ('-', True), ('b', False)], dest='c', allrequired=True)"
    for q in ["x | strcat a", 'x | strcat a "b"']:
        with pytest.raises(SplSyntaxError):
            parse(q)


# --- uniq ----------------------------------------------------------------------------------------


def test_uniq_removes_consecutive_duplicates():
    # hosts: web1 web1 web2 web2 db1 web1 db1 -> the 2nd and 4th repeat the one before them
    assert col(run("status=* | table host | uniq"), "host") == ["web1", "web2", "db1", "web1", "db1"]
    # nulls equal nulls: path is missing on all but -4000
    assert col(run("status=* | table path | uniq"), "path") == [None, "/a", None]
    # every field counts: no two neighbours share host and sourcetype
    assert len(run("status=* | table host sourcetype | uniq")) == 7
    # events differ in _raw: nothing removed
    assert len(run("status=* | uniq")) == 7


# --- replace -------------------------------------------------------------------------------------

HOSTS = ('| makeresults count=4 | streamstats count as n | eval host=case(n=1, "127.0.0.1", n=2, "my localhost", '
         'n=3, "web.localhost", n=4, "other")')


@pytest.mark.parametrize("command, expected", [
    # the Search Reference examples
    ("replace 127.0.0.1 WITH localhost IN host", ["localhost", "my localhost", "web.localhost", "other"]),
    ("replace *localhost WITH localhost IN host", ["127.0.0.1", "localhost", "localhost", "other"]),
    ('replace "* localhost" WITH "localhost *" IN host', ["127.0.0.1", "localhost my", "web.localhost", "other"]),
    # several pairs; a value must match whole
    ('replace "my*" WITH "M", other WITH O, local WITH L IN host', ["127.0.0.1", "M", "web.localhost", "O"]),
    # two wildcards, in order
    ('replace "*.*host" WITH "*:*" IN host', ["127.0.0.1", "my localhost", "web:local", "other"]),
])
def test_replace_examples(command, expected):
    assert col(run(f"{HOSTS} | {command} | table host"), "host") == expected


def test_replace_precedence_and_fields():
    # a later exact value wins; among wildcards the fuller match wins
    q = ('| makeresults count=2 | streamstats count as n | eval f=if(n=1, "abc", "axe") '
         '| replace abc WITH x, abc WITH y, "a*" WITH "1", "ab*" WITH "2" IN f | table f')
    assert col(run(q), "f") == ["y", "1"]
    q = ('| makeresults count=2 | streamstats count as n | eval f=if(n=1, "abd", "axe") '
         '| replace "a*" WITH "1", "ab*" WITH "2" IN f | table f')
    assert col(run(q), "f") == ["2", "1"]
    # without IN: every field not starting with "_"; IN reaches an internal field
    assert run('| makeresults | eval a="x", b="x", _c="x" | replace x WITH y | table a b _c') == [
        {"a": "y", "b": "y", "_c": "x"}]
    assert run('| makeresults | eval _c="x" | replace x WITH y IN _c | table _c') == [{"_c": "y"}]
    # the corpus shape; an empty string value
    assert run('| makeresults | eval src="::ffff:10.1.2.3" | replace "::ffff:*" with * in src | table src') == [
        {"src": "10.1.2.3"}]
    assert run('| makeresults | eval e="" | replace "" WITH "None" IN e | table e') == [{"e": "None"}]
    # on events: host values
    assert col(run('status=* | replace "web*" WITH "W*", db1 WITH DB IN host | table host'), "host") == [
        "W1", "W1", "W2", "W2", "DB", "W1", "DB"]
    with pytest.raises(SplUnsupportedError, match="as many wildcards"):
        compile_search('x | replace a WITH "x*" IN f', make_ctx())


# --- makecontinuous ------------------------------------------------------------------------------


def test_makecontinuous_time():
    # hourly counts: 1699909200 (-90000): 1, 1699995600 (-4000): 1, 1699999200 (-10..-50): 5;
    # every hour in between is added empty: (1699999200 - 1699909200) / 3600 + 1 = 26 buckets
    rows = run("| tstats count by _time span=1h | makecontinuous _time span=1h")
    assert [r["_time"] for r in rows] == [1699909200.0 + 3600 * k for k in range(26)]
    counts = {r["_time"]: r["count"] for r in rows if r["count"] is not None}
    assert counts == {1699909200.0: 1, 1699995600.0: 1, 1699999200.0: 5}


def test_makecontinuous_numbers():
    q = "| makeresults count=3 | streamstats count as n | eval x=n*10+2 | table x n | makecontinuous x span=5"
    # 12, 22, 32 are put in buckets 10, 20, 30; 15 and 25 are added empty
    assert run(q) == [{"x": 10.0, "n": 1}, {"x": 15.0, "n": None}, {"x": 20.0, "n": 2}, {"x": 25.0, "n": None},
                      {"x": 30.0, "n": 3}]
    # start/end: values outside are dropped, the range is extended
    q = ("| makeresults count=3 | streamstats count as n | eval x=n*10 | table x n "
         "| makecontinuous x span=10 start=15 end=50")
    assert run(q) == [{"x": 10.0, "n": None}, {"x": 20.0, "n": 2}, {"x": 30.0, "n": 3}, {"x": 40.0, "n": None},
                      {"x": 50.0, "n": None}]
    for q, words in [("x | makecontinuous x", "needs span="), ("x | makecontinuous x bins=10", "bins="),
                     ("x | makecontinuous _time span=1d", "day")]:
        with pytest.raises(SplUnsupportedError, match=words):
            compile_search(q, make_ctx())


# --- rex mode=sed --------------------------------------------------------------------------------


def _sed(value: str, expr: str) -> str | None:
    esc = value.replace("\\", "\\\\").replace('"', '\\"')
    expr = expr.replace("\\", "\\\\").replace('"', '\\"')
    return run(f'| makeresults | eval f="{esc}" | rex field=f mode=sed "{expr}" | table f')[0]["f"]


@pytest.mark.parametrize("value, expr, expected", [
    ("1234-5678-9012-3456", r"s/(\d{4}-){3}/XXXX-XXXX-XXXX-/g", "XXXX-XXXX-XXXX-3456"),   # the reference example
    ("banana", "s/a/X/", "bXnana"),            # first match only
    ("banana", "s/a/X/g", "bXnXnX"),           # every match
    ("banana", "s/a/X/2", "banXna"),           # the 2nd match
    ("banana", "s/a/X/2g", "banXnX"),          # the 2nd and every later one
    ("banana", "s/a/X/4", "banana"),           # there is no 4th match
    ("123", r"s/\d+/N/2", "123"),              # one match "123", not "12" then "3"
    ("12 34 56", r"s/\d+/N/3", "12 34 N"),
    ("bob@example", r"s/(\w+)@(\w+)/\2 at \1/", "example at bob"),
    ("/a/b", r"s/\//|/g", "|a|b"),             # an escaped delimiter
    ("a,b", "s|,|/|", "a/b"),                  # another delimiter
    ("abc", r"s/b/\\/", "a\\c"),               # a backslash in the replacement
    ("abc", "s/b/&/", "a&c"),
    ("aabbcc", "y/abc/xyz/", "xxyyzz"),
])
def test_rex_sed(value, expr, expected):
    assert _sed(value, expr) == expected


def test_rex_sed_on_raw_and_missing_field():
    rows = run('status=404 | rex mode=sed "s/status=\\d+/status=XXX/" | table _raw')
    assert rows == [{"_raw": "GET /missing status=XXX user=alice bytes=50"}]
    assert run('| makeresults | rex field=nosuch mode=sed "s/a/b/" | table nosuch') == [{"nosuch": None}]
    for q in ['x | rex mode=sed "s/a/b/i"', 'x | rex mode=sed "s/a/b"', 'x | rex mode=sed "y/ab/c/"',
              'x | rex mode=sed "q/a/b/"']:
        with pytest.raises(SplSyntaxError):
            parse(q)


# --- fromjson ------------------------------------------------------------------------------------

OBJECT = '| makeresults | eval object=json_object("name", "Albert", "age", 63)'


def test_fromjson_on_results():
    # the Search Reference example: the keys become fields; prefix= is put before their names
    assert full(f"{OBJECT} | fromjson object | table name age") == [{"name": "Albert", "age": "63"}]
    assert full(f"{OBJECT} | fromjson object prefix=json_ | table json_name json_age") == [
        {"json_name": "Albert", "json_age": "63"}]
    # arrays become multivalue fields, objects JSON text; later commands see the new fields
    q = ('| makeresults | eval o="{\\"l\\": [1, \\"b\\"], \\"d\\": {\\"k\\": true}, \\"n\\": null}" '
         '| fromjson o | eval c=mvcount(l) | table l d n c')
    assert full(q) == [{"l": ["1", "b"], "d": '{"k":true}', "n": None, "c": 2}]
    # not JSON, or no such field: nothing added
    assert full('| makeresults | eval o="nope" | fromjson o | table o') == [{"o": "nope"}]
    assert full("| makeresults | fromjson nosuch | eval x=1 | table x") == [{"x": 1}]


def test_fromjson_on_events():
    rows = [(-1, '{"user": "ann", "n": 5, "tags": ["a"], "o": {"x": 1}}', "h", "json"),
            (-2, "not json user=bob", "h", "kv")]
    q = "* | fromjson _raw | table user n tags o"
    # the fields are read from the JSON first, else key=value extraction (user=bob)
    assert run(q, rows) == [{"user": "ann", "n": "5", "tags": '["a"]', "o": '{"x":1}'},
                            {"user": "bob", "n": None, "tags": None, "o": None}]
    assert run("* | fromjson _raw prefix=j_ | table j_user user", rows) == [
        {"j_user": "ann", "user": None}, {"j_user": None, "user": "bob"}]


# --- xmlkv ---------------------------------------------------------------------------------------

XML = "<game><name>Settlers of Catan</name><category>competitive</category></game>"


def test_xmlkv_on_events():
    rows = [(-1, XML, "h", "xml"), (-2, '<t><Command a="1">cmd.exe</Command><Hidden>true</Hidden></t>', "h", "xml")]
    # the Search Reference example: name and category from _raw
    assert run("* | xmlkv | table name category Command Hidden", rows) == [
        {"name": "Settlers of Catan", "category": "competitive", "Command": None, "Hidden": None},
        {"name": None, "category": None, "Command": "cmd.exe", "Hidden": "true"}]
    # the corpus shape: xmlkv <field>, then a search on a tag
    q = ('* | eval m=_raw | xmlkv m | search Hidden=true | table Command')
    assert run(q, rows) == [{"Command": "cmd.exe"}]


def test_xmlkv_on_results():
    q = f'| makeresults | eval x="{XML}" | xmlkv x | eval c=upper(category) | table name c'
    assert full(q) == [{"name": "Settlers of Catan", "c": "COMPETITIVE"}]


# --- transpose -----------------------------------------------------------------------------------


def test_transpose_default():
    # stats count by host: db1 2, web1 3, web2 2 -> one row per field, one column per result
    assert full("status=* | stats count by host | transpose") == [
        {"column": "host", "row 1": "db1", "row 2": "web1", "row 3": "web2"},
        {"column": "count", "row 1": "2", "row 2": "3", "row 3": "2"}]
    assert full("status=* | stats count by host | transpose 2 column_name=field") == [
        {"field": "host", "row 1": "db1", "row 2": "web1"}, {"field": "count", "row 1": "2", "row 2": "3"}]


def test_transpose_header_field_and_include_empty():
    assert full("status=* | stats count by host | transpose header_field=host") == [
        {"column": "count", "db1": "2", "web1": "3", "web2": "2"}]
    q = "status=* | stats count by host | eval e=null() | transpose"
    assert full(q)[2] == {"column": "e", "row 1": None, "row 2": None, "row 3": None}
    assert [r["column"] for r in full(q + " include_empty=false")] == ["host", "count"]
    # 0: every result
    assert len(full("status=* | table user | transpose 0")[0]) == 8


def test_commands_after_transpose():
    # later commands run on the transposed table, with its columns
    assert full('status=* | stats count by host | transpose | where column="count" | eval s=tonumber(\'row 1\')+1 '
                '| table s') == [{"s": 3.0}]
    assert full("status=* | stats count by host | transpose header_field=host | fields web1") == [{"web1": "3"}]
    # a subsearch after a post step reads the same events
    rows = full("status=* | stats count by host | transpose | append [search status=404 | stats count as c]")
    assert [r.get("c") for r in rows] == [None, None, 1]
    c = compile_search("status=* | stats count | transpose | table column", make_ctx())
    assert [s["kind"] for s in c.post] == ["transpose", "pipeline"] and c.transforming
    # errors in the later commands show when compiling
    with pytest.raises(SplUnsupportedError):
        compile_search("status=* | transpose | convert auto(x)", make_ctx())


def test_commands_after_cluster_and_outputlookup(tmp_path):
    rows = full('status=* | eval _raw=if(user="bob", "user bob logged in", "user x logged in") '
                "| cluster t=0.5 showcount=true | table cluster_count")
    assert rows == [{"cluster_count": 7}]
    # outputlookup writes the results as they are where it stands; the next commands change only the output
    rows = full("status=* | stats count by host | outputlookup hosts.csv | stats sum(count) as n",
                lookups_dir=tmp_path)
    assert rows == [{"n": 7}]
    assert (tmp_path / "hosts.csv").read_text().splitlines() == ["host,count", "db1,2", "web1,3", "web2,2"]


# --- unsupported commands name themselves and the reason ---------------------------------------------


@pytest.mark.parametrize("query, words", [
    ("| mstats avg(cpu) where index=m", "command 'mstats' is not supported: it reads metrics indexes"),
    ("| from savedsearch:foo", "no saved searches here"),
])
def test_unsupported_commands(query, words):
    with pytest.raises(SplUnsupportedError) as info:
        compile_search(query, make_ctx())
    assert words in str(info.value)
    assert info.value.pos.start == query.index(query.split("| ")[-1].split()[0])


# --- SPL -> SQL goldens ------------------------------------------------------------------------------


def test_strcat_sql():
    # written by hand: makeresults numbers its results (hidden __speleo_ord), strcat adds one column
    assert compile_search('| makeresults | strcat "a" "b" x', make_ctx()).sql == (
        "WITH s0 AS (SELECT CAST(1700000000.0 AS DOUBLE) AS \"_time\", range AS \"__speleo_ord\" FROM RANGE(1)), "
        "s1 AS (SELECT *, CONCAT('a', 'b') AS \"x\" FROM s0) "
        "SELECT * EXCLUDE (\"__speleo_ord\") FROM s1 ORDER BY \"__speleo_ord\"")


def test_filldown_sql():
    # written by hand: LAST_VALUE(... IGNORE NULLS) over the rows above, in the result order
    assert compile_search("| makeresults | eval a=1 | filldown a", make_ctx()).sql == (
        "WITH s0 AS (SELECT CAST(1700000000.0 AS DOUBLE) AS \"_time\", range AS \"__speleo_ord\" FROM RANGE(1)), "
        "s1 AS (SELECT *, 1 AS \"a\" FROM s0), "
        "s2 AS (SELECT * REPLACE (LAST_VALUE(\"a\" IGNORE NULLS) OVER (ORDER BY \"__speleo_ord\" "
        "ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS \"a\") FROM s1) "
        "SELECT * EXCLUDE (\"__speleo_ord\") FROM s2 ORDER BY \"__speleo_ord\"")


# --- hostile input stays in literals ------------------------------------------------------------------

HOSTILE = ["'", "''", "\\", "\\'", ";", "--", "/*", "'; DROP TABLE __events__; --", "%", "$1"]


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_strings_are_literals(value):
    quoted = value.replace("\\", "\\\\").replace('"', '\\"')
    assert run(f'| makeresults | strcat "{quoted}" "x" out | table out') == [{"out": value + "x"}]
    if "*" not in value:      # "*" is replace's wildcard
        assert run(f'| makeresults | eval f="a" | replace a WITH "{quoted}" IN f | table f') == [{"f": value}]
        assert run(f'| makeresults | eval f="{quoted}" | replace "{quoted}" WITH ok IN f | table f') == [{"f": "ok"}]
    # sed: the value as the text to find (escaped for the regex) and, with backslashes doubled, as the replacement
    rx = re_escape(value)
    rep = value.replace("\\", "\\\\").replace("/", "\\/")
    expr = f"s/{rx}/[{rep}]/".replace("\\", "\\\\").replace('"', '\\"')
    rows = run(f'| makeresults | eval f="<{quoted}>" | rex field=f mode=sed "{expr}" | table f')
    assert rows == [{"f": f"<[{value}]>"}]
    # no table was dropped
    assert len(run("status=* | table user")) == 7


def test_hostile_wildcard_replace_and_sed_flags():
    # the text a wildcard matched and the literal parts of the replacement both stay text
    q = '| makeresults | eval f="x\'; --\\\\" | replace "x*" WITH "*;\\\\1$1\'" IN f | table f'
    assert run(q) == [{"f": "'; --\\;\\1$1'"}]
    q = '| makeresults | eval f="a\'b" | rex field=f mode=sed "s/\'/\'\';--/g" | table f'
    assert run(q) == [{"f": "a'';--b"}]
