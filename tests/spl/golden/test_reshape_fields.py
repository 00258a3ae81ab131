"""table, fields, rename, xyseries, untable, addtotals, addcoltotals.

Splunk Search Reference pages:
"table": https://help.splunk.com/splunk-enterprise/spl-search-reference/9.2/search-commands/table
"fields" (`fields a` keeps the internal fields _time and _raw unless removed):
https://help.splunk.com/splunk-enterprise/spl-search-reference/9.2/search-commands/fields
"rename" (`rename EU* AS EMEA*`; quotes for a phrase):
https://help.splunk.com/splunk-enterprise/spl-search-reference/9.2/search-commands/rename
"xyseries", "untable": https://help.splunk.com/splunk-enterprise/spl-search-reference/9.2/search-commands/xyseries
"addtotals" (sum of the numeric fields of each result; col=true appends a result with the column
sums, labelfield/label name it): https://help.splunk.com/splunk-cloud-platform/spl-search-reference/10.0.2503/search-commands/addtotals
"addcoltotals" (appends a result with the sum of each numeric field, or of the listed fields):
https://help.splunk.com/splunk-cloud-platform/spl-search-reference/9.3.2408/search-commands/addcoltotals
"""

from __future__ import annotations

import pytest

from speleo.errors import SplError

from tests.spl.golden._util import NOW, dump, ev, run, sql

EVENTS = ev(
    (-10, "user=alice bytes=100 region=eu", "web1", "access"),
    (-20, "user=bob bytes=200", "web1", "app"),
    (-30, "user=alice bytes=abc", "web2", "access"),
    (-40, "user=carol bytes=50 region=us", "web2", "access"),
    (-50, "user=dave", "db1", "auth"),
)


def test_table_keeps_the_listed_fields_in_order():
    rows = run("* | table bytes user", rows=EVENTS)
    assert [list(r) for r in rows] == [["bytes", "user"]] * 5
    assert [(r["bytes"], r["user"]) for r in rows] == [
        ("100", "alice"), ("200", "bob"), ("abc", "alice"), ("50", "carol"), (None, "dave")]


def test_table_wildcard_over_created_fields():
    rows = run("user=dave | eval b1=1, b2=2, c=3 | table user b*", rows=EVENTS)
    assert rows == [{"user": "dave", "b1": 1, "b2": 2}]


def test_table_wildcard_over_extracted_fields():
    rows = run("user=carol | table user re*", rows=EVENTS)
    assert rows == [{"user": "carol", "region": "us"}]
    # every event: fields the events lack are empty; a field no event has is no column; the
    # stored host is not replaced; later commands see the extracted columns
    rows = run("* | table host us* re* by*", rows=EVENTS)
    assert rows == [{"host": h, "user": u, "region": r, "bytes": b} for h, u, r, b in (
        ("web1", "alice", "eu", "100"), ("web1", "bob", None, "200"), ("web2", "alice", None, "abc"),
        ("web2", "carol", "us", "50"), ("db1", "dave", None, None))]
    # not the last command: the wildcards match the fields known when compiling (a documented
    # difference; matching the extracted ones would read every event in Python)
    assert run("* | table user re* | where isnotnull(user) | stats count", rows=EVENTS) == [{"count": 5}]


def test_fields_wildcards_match_fields_later_commands_read():
    # "fields re*" keeps the search-time field region, which the stats after it reads: by hand,
    # region is eu on the first event and us on the fourth
    assert run("* | fields re* | stats count by region", rows=EVENTS) == [
        {"region": "eu", "count": 1}, {"region": "us", "count": 1}]
    # the bytes of alice (100, abc) and bob (200), carol (50); dave has none
    assert run("* | fields us*, by* | stats sum(bytes) as b by user", rows=EVENTS) == [
        {"user": "alice", "b": 100.0}, {"user": "bob", "b": 200.0}, {"user": "carol", "b": 50.0},
        {"user": "dave", "b": None}]
    # not the last command of a table: region is kept for the where after it (events 1 and 4)
    assert run("* | table user re* | where isnotnull(region) | stats count", rows=EVENTS) == [{"count": 2}]


def test_fields_removes_search_time_fields_for_later_commands():
    # Search Reference, fields: what `fields` leaves out is gone for the commands after it,
    # extracted or not; a later eval can set it again
    assert run("* | fields host | stats count by user", rows=EVENTS) == []
    assert run("* | fields - user | stats count by user", rows=EVENTS) == []
    assert run('* | fields - user | eval user="x" | stats count by user', rows=EVENTS) == [{"user": "x", "count": 5}]
    assert run("* | fields host user | stats count by user", rows=EVENTS) == [
        {"user": "alice", "count": 2}, {"user": "bob", "count": 1}, {"user": "carol", "count": 1},
        {"user": "dave", "count": 1}]


def test_fields_remove_and_keep():
    rows = run("* | table user bytes region | fields - bytes", rows=EVENTS)
    assert list(rows[0]) == ["user", "region"]
    rows = run("* | fields + user | fields - _raw", rows=EVENTS)
    assert list(rows[0]) == ["user", "_time"] and rows[0]["user"] == "alice"


def test_fields_minus_star_keeps_only_the_internal_fields():
    # Search Reference, fields: the internal fields (leading underscore: _raw, _time) stay unless
    # named, and "to specify the wildcard pattern for internal fields, use _*": so `fields - *`
    # removes host, source, sourcetype, index, linecount and every search-time field
    rows = run("* | fields - *", rows=EVENTS)
    assert len(rows) == 5 and all(k.startswith("_") for r in rows for k in r)
    assert (rows[0]["_raw"], rows[0]["_time"]) == ("user=alice bytes=100 region=eu", NOW - 10)
    assert run("* | fields - * | table _time host user", rows=EVENTS)[0] == {"_time": NOW - 10, "host": None,
                                                                            "user": None}
    # a wildcard not starting with _ leaves _time alone (`*e*` would match it otherwise); `_*` takes it
    assert list(run("* | fields - *e* | table _time host user", rows=EVENTS)[0].values()) == [NOW - 10, "web1", None]
    assert "_time" not in run("* | fields - _* | head 1", rows=EVENTS)[0]
    # a last `table *` (which adds the search-time fields of each event) adds none of those removed
    assert [list(r) for r in run("* | fields - * | table *", rows=EVENTS)] == [["_time", "_raw"]] * 5
    assert [sorted(r) for r in run("* | fields - user | table *", rows=EVENTS)][0] == [
        "_raw", "_time", "bytes", "host", "index", "linecount", "region", "source", "sourcetype"]
    # results with no field left are no results; the commands after it still see them
    assert run("* | stats count by host | fields - *", rows=EVENTS) == []
    assert run("* | stats count by host | fields - * | stats count", rows=EVENTS) == [{"count": 3}]


def test_rename_plain_phrase_and_wildcard():
    rows = run('* | rename user as "User Name" | table "User Name" host', rows=EVENTS)
    assert [r["User Name"] for r in rows] == ["alice", "bob", "alice", "carol", "dave"]
    rows = run("user=dave | eval EU_UK=1, EU_DE=2 | rename EU* as EMEA* | table EMEA_UK EMEA_DE EU_UK", rows=EVENTS)
    assert rows == [{"EMEA_UK": 1, "EMEA_DE": 2, "EU_UK": None}]


def test_rename_onto_an_existing_field_replaces_it():
    rows = run("* | rename user as host | table host", rows=EVENTS)
    assert [r["host"] for r in rows] == ["alice", "bob", "alice", "carol", "dave"]


def test_rename_chain_in_order():
    # renames are applied left to right
    rows = run("user=dave | rename user as a, a as b | table b", rows=EVENTS)
    assert rows == [{"b": "dave"}]


def test_xyseries():
    rows = run("* | stats count by host sourcetype | xyseries host sourcetype count", rows=EVENTS)
    norm = [{k: (None if v is None else str(v)) for k, v in r.items()} for r in rows]
    assert norm == [
        {"host": "db1", "access": None, "app": None, "auth": "1"},
        {"host": "web1", "access": "1", "app": "1", "auth": None},
        {"host": "web2", "access": "2", "app": None, "auth": None},
    ]


def test_untable():
    rows = run("* | stats count, dc(user) as u by host | untable host name value", rows=EVENTS)
    assert [(r["host"], r["name"], str(r["value"])) for r in rows] == [
        ("db1", "count", "1"), ("db1", "u", "1"), ("web1", "count", "2"), ("web1", "u", "2"),
        ("web2", "count", "2"), ("web2", "u", "2")]


def test_commands_after_xyseries_read_its_series_columns():
    # the table of test_xyseries: db1 auth 1; web1 access 1 app 1; web2 access 2. addtotals sums
    # each row's numeric fields (db1 1, web1 2, web2 2); fillnull fills the empty cells of every
    # field (Search Reference: fillnull, with no field list: all fields). Both saw no series
    # columns (Total null, cells left null) when the columns came from a SQL PIVOT.
    rows = run("* | stats count by host sourcetype | xyseries host sourcetype count | addtotals | table host Total",
               rows=EVENTS)
    assert [(r["host"], r["Total"]) for r in rows] == [("db1", 1), ("web1", 2), ("web2", 2)]
    rows = run("* | stats count by host sourcetype | xyseries host sourcetype count | fillnull value=0", rows=EVENTS)
    assert [(r["host"], str(r["access"]), str(r["app"]), str(r["auth"])) for r in rows] == [
        ("db1", "0", "0", "1"), ("web1", "1", "1", "0"), ("web2", "2", "0", "0")]


def test_untable_after_chart_and_timechart_by():
    # chart count over host by sourcetype: db1 access 0 app 0 auth 1; web1 1 1 0; web2 2 0 0
    # (count cells are 0 when empty). untable gives one row per (host, series): 9 rows whose
    # values sum to the 5 events; it was refused ("needs fields besides the x field") because
    # the series columns are known only once the chart ran.
    rows = run("* | chart count over host by sourcetype | untable host st c", rows=EVENTS)
    assert [(r["host"], r["st"], str(r["c"])) for r in rows] == [
        ("db1", "access", "0"), ("db1", "app", "0"), ("db1", "auth", "1"),
        ("web1", "access", "1"), ("web1", "app", "1"), ("web1", "auth", "0"),
        ("web2", "access", "2"), ("web2", "app", "0"), ("web2", "auth", "0")]
    rows = run("* | timechart span=1h count by host | untable _time host c | stats sum(c) as n by host",
               rows=EVENTS)
    assert [(r["host"], r["n"]) for r in rows] == [("db1", 1), ("web1", 2), ("web2", 2)]


def test_untable_without_other_fields_gives_nothing():
    # each result gives one row per field besides x: with none, there is no result
    assert run("* | stats count by host | fields host | untable host name value", rows=EVENTS) == []


def test_untable_after_chart_by_inside_append_is_refused_not_empty():
    # inside append the chart's series are not known when untable compiles: an error, never a
    # silently empty result
    with pytest.raises(SplError, match="untable inside a subsearch"):
        run("* | stats count | append [search * | chart count over host by sourcetype | untable host st c]",
            rows=EVENTS)


def test_addtotals_row_totals_of_numeric_fields():
    # db1 has no bytes: its total is its count; host (text) is not summed
    rows = run("* | stats count, sum(bytes) as b by host | addtotals", rows=EVENTS)
    assert [(r["host"], r["count"], r["b"], r["Total"]) for r in rows] == [
        ("db1", 1, None, 1), ("web1", 2, 300, 302), ("web2", 2, 50, 52)]


def test_addtotals_col_label_fieldname():
    rows = run("* | stats count, sum(bytes) as b by host | addtotals fieldname=T col=t labelfield=host label=ALL",
               rows=EVENTS)
    assert [(r["host"], r["count"], r["b"], r["T"]) for r in rows] == [
        ("db1", 1, None, 1), ("web1", 2, 300, 302), ("web2", 2, 50, 52), ("ALL", 5, 350, 355)]


def test_addtotals_field_list():
    rows = run("* | stats count, sum(bytes) as b, dc(user) as u by host | search b=* | addtotals b u", rows=EVENTS)
    assert [(r["host"], r["Total"]) for r in rows] == [("web1", 302), ("web2", 52)]


def test_addcoltotals():
    rows = run("* | stats count, dc(user) as u by host | addcoltotals", rows=EVENTS)
    assert rows[-1] == {"host": None, "count": 5, "u": 5}
    rows = run("* | stats count, dc(user) as u by host | addcoltotals u labelfield=host label=ALL", rows=EVENTS)
    assert rows[-1] == {"host": "ALL", "count": None, "u": 5}
    assert len(rows) == 4


# --- SPL -> AST ---------------------------------------------------------------------------------


@pytest.mark.parametrize("query, expected", [
    ("x | table a, b* | fields - c",
     "Pipeline(commands=[SearchCmd(expr=Term(text='x', quoted=False)), TableCmd(fields=['a', 'b*']), "
     "FieldsCmd(remove=True, fields=['c'])])"),
    ('x | rename a as b, c* as "d *"',
     "Pipeline(commands=[SearchCmd(expr=Term(text='x', quoted=False)), RenameCmd(pairs=[('a', 'b'), ('c*', 'd *')])])"),
    ("x | xyseries h s c | addtotals col=t a b",
     "Pipeline(commands=[SearchCmd(expr=Term(text='x', quoted=False)), ArgsCmd(name='xyseries', options={}, "
     "args=['h', 's', 'c']), ArgsCmd(name='addtotals', options={'col': 't'}, args=['a', 'b'])])"),
])
def test_reshape_ast(query, expected):
    assert dump(query) == expected


# --- SPL -> SQL ---------------------------------------------------------------------------------


def test_table_sql():
    # expected by hand: a projection of the two columns over the events, order pinned before it
    assert sql("* | table host source") == (
        "WITH s0 AS (SELECT * FROM __events__ WHERE TRUE), "
        "s1 AS (SELECT *, ROW_NUMBER() OVER (ORDER BY \"_time\" DESC) AS \"__speleo_ord\" FROM s0), "
        "s2 AS (SELECT \"host\" AS \"host\", \"source\" AS \"source\", \"__speleo_ord\" FROM s1) "
        "SELECT * EXCLUDE (\"__speleo_ord\") FROM s2 ORDER BY \"__speleo_ord\" ASC")


def test_commands_that_extract_again_after_fields():
    # Search Reference: spath, extract: they read _raw again, so what they find exists after a
    # `fields` that left it out (bytes of alice: 100 and abc, of bob 200; carol 50)
    rows = run("* | fields host _raw | extract | stats count by user", rows=EVENTS)
    assert rows == [{"user": "alice", "count": 2}, {"user": "bob", "count": 1}, {"user": "carol", "count": 1},
                    {"user": "dave", "count": 1}]
    assert run("* | fields - user | extract | stats count by user", rows=EVENTS)[0] == {"user": "alice", "count": 2}
