"""`table *` over events: the event's fields, not Speleo's storage columns nor `_indextime`
(Splunk Search Reference, fields/table: internal fields other than _time and _raw are shown
only when named); `table _*` names them."""

from __future__ import annotations

from tests.spl.golden._util import ev, run


def test_table_star_leaves_out_internal_columns():
    rows = run("* | table *", rows=ev("a=1 b=2"))
    assert list(rows[0]) == ["_time", "_raw", "host", "source", "sourcetype", "index", "linecount", "a", "b"]


def test_an_underscore_wildcard_or_the_name_shows_them():
    rows = run("* | table _*", rows=ev("a=1 b=2"))
    assert {"_indextime", "_offset"} <= set(rows[0])
    rows = run("* | table _indextime a", rows=ev("a=1 b=2"))
    assert list(rows[0]) == ["_indextime", "a"]


def test_fields_star_keeps_the_fields_extracted_later():
    # Search Reference, fields: `fields *` keeps every field; a and b are extracted at search time
    rows = run("* | fields * | table *", rows=ev("a=1 b=2"))
    assert rows[0]["a"] == "1" and rows[0]["b"] == "2"
    assert run("* | fields * | stats count by b", rows=ev("a=1 b=2", "a=3 b=2")) == [{"b": "2", "count": 2}]
