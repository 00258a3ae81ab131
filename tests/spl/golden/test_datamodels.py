"""Data models: a root dataset's constraints, child datasets that add theirs, extracted and
calculated (Eval, Rex) fields, tag / eventtype constraints; `tstats ... from datamodel=`,
`nodename`, `datamodel <model> <dataset> search`, `from datamodel:`, `pivot`.

Splunk Knowledge Manager Manual, "About data models" (a child dataset inherits its parent's
constraints and fields); Search Reference: "tstats" (`from datamodel=<model>.<dataset>`, fields
named `<dataset>.<field>`, `nodename`), "datamodel", "from", "pivot".
https://help.splunk.com/en/splunk-enterprise/spl-search-reference/9.4/search-commands/tstats

The model (written here) selects events tagged `login` (the event type `auth_events`) and
computes `action` from the raw words; `Failed` adds `action="failure"`, `Root_Failed` adds
`user=root`. Events (newest first; NOW = 1700000000):
  -10  db1   auth "login failed user=root src=10.0.0.1"      login, failure, root
  -20  db1   auth "login failed user=bob src=10.0.0.2"       login, failure
  -30  web1  auth "login accepted user=root src=10.0.0.1"    login, success
  -40  web1  auth "login failed user=root src=10.0.0.3"      login, failure, root
  -50  web1  app  "login failed user=eve"                    not sourcetype=auth: outside the model
  -4000 db1  auth "login accepted user=carol src=10.0.0.2"   login, success
"""

from __future__ import annotations

import pytest

from speleo import knowledge
from speleo.errors import SplError
from speleo.spl import compile_search
from tests.spl.conftest import make_ctx
from tests.spl.golden._util import ev, run

MODEL = {
    "modelName": "Logins",
    "displayName": "Logins",
    "objects": [
        {"objectName": "Login", "parentName": "BaseEvent",
         "constraints": [{"search": "tag=login"}],
         "fields": [{"fieldName": "user", "type": "string"}, {"fieldName": "src", "type": "ipv4"}],
         "calculations": [
             {"calculationType": "Eval", "expression": 'if(searchmatch("failed"), "failure", "success")',
              "outputFields": [{"fieldName": "action", "type": "string"}]},
             {"calculationType": "Rex", "inputField": "_raw", "expression": "^(?<verb>\\w+)",
              "outputFields": [{"fieldName": "verb", "type": "string"}]}]},
        {"objectName": "Failed", "parentName": "Login", "constraints": [{"search": 'action="failure"'}]},
        {"objectName": "Root_Failed", "parentName": "Failed", "constraints": [{"search": "user=root"}]},
    ],
}
EVENTTYPES = "[auth_events]\nsearch = sourcetype=auth\n"
TAGS = "[eventtype=auth_events]\nlogin = enabled\n"
K = knowledge.from_text(EVENTTYPES, TAGS, [MODEL], base=False)
EVENTS = ev((-10, "login failed user=root src=10.0.0.1", "db1", "auth"),
            (-20, "login failed user=bob src=10.0.0.2", "db1", "auth"),
            (-30, "login accepted user=root src=10.0.0.1", "web1", "auth"),
            (-40, "login failed user=root src=10.0.0.3", "web1", "auth"),
            (-50, "login failed user=eve", "web1", "app"),
            (-4000, "login accepted user=carol src=10.0.0.2", "db1", "auth"))


def q(query):
    return run(query, rows=EVENTS, knowledge=K)


def test_root_dataset_count_by_host():
    # the 5 auth events: db1 -10 -20 -4000, web1 -30 -40
    assert q("| tstats count from datamodel=Logins by host") == [
        {"host": "db1", "count": 3}, {"host": "web1", "count": 2}]


def test_calculated_field_by():
    # action: failed at -10 -20 -40; success at -30 -4000
    assert q("| tstats count from datamodel=Logins.Login by Login.action") == [
        {"Login.action": "failure", "count": 3}, {"Login.action": "success", "count": 2}]


def test_child_inherits_constraints():
    # Failed: -10 root, -20 bob, -40 root; Root_Failed: -10, -40
    assert q("| tstats count from datamodel=Logins.Failed by Login.user") == [
        {"Login.user": "bob", "count": 1}, {"Login.user": "root", "count": 2}]
    assert q("| tstats count from datamodel=Logins.Root_Failed by host") == [
        {"host": "db1", "count": 1}, {"host": "web1", "count": 1}]


def test_nodename_picks_the_child():
    assert q("| tstats count from datamodel=Logins where nodename=Login.Failed by Failed.src") == [
        {"Failed.src": "10.0.0.1", "count": 1}, {"Failed.src": "10.0.0.2", "count": 1},
        {"Failed.src": "10.0.0.3", "count": 1}]


def test_where_on_dataset_fields_and_span_and_dc():
    # success events in the last hour: -30 only (-4000 is older than 1h)
    assert q('| tstats count from datamodel=Logins where Login.action=success earliest=-1h by Login.user') == [
        {"Login.user": "root", "count": 1}]
    # by _time span=1h: -10..-40 in 1699999200 (4), -4000 in 1699995600 (1)
    assert q("| tstats count dc(Login.src) as srcs from datamodel=Logins by _time span=1h") == [
        {"_time": 1699995600.0, "count": 1, "srcs": 1}, {"_time": 1699999200.0, "count": 4, "srcs": 3}]


def test_rex_calculation_and_fillnull_value():
    assert q("| tstats count from datamodel=Logins by Login.verb") == [{"Login.verb": "login", "count": 5}]
    # a field no event has: without fillnull_value nothing groups; with it every event is under "none"
    model2 = {**MODEL, "objects": [{**MODEL["objects"][0],
                                    "fields": MODEL["objects"][0]["fields"] + [{"fieldName": "app"}]}]}
    k2 = knowledge.from_text(EVENTTYPES, TAGS, [model2], base=False)
    assert run("| tstats count from datamodel=Logins by Login.app", rows=EVENTS, knowledge=k2) == []
    assert run("| tstats count from datamodel=Logins by Login.app fillnull_value=none", rows=EVENTS,
               knowledge=k2) == [{"Login.app": "none", "count": 5}]


def test_prestats_then_stats():
    assert q("| tstats prestats=t count from datamodel=Logins.Failed by Failed.user | stats count by Failed.user") == [
        {"Failed.user": "bob", "count": 1}, {"Failed.user": "root", "count": 2}]


def test_datamodel_search_command():
    # fields are named after the root dataset (Login.*), also for the child Failed
    rows = q("| datamodel Logins Failed search | table Login.user Login.action host")
    assert rows == [{"Login.user": "root", "Login.action": "failure", "host": "db1"},
                    {"Login.user": "bob", "Login.action": "failure", "host": "db1"},
                    {"Login.user": "root", "Login.action": "failure", "host": "web1"}]


def test_from_datamodel_gives_bare_field_names():
    assert q("| from datamodel:Logins.Root_Failed | table action user host") == [
        {"action": "failure", "user": "root", "host": "db1"}, {"action": "failure", "user": "root", "host": "web1"}]


def test_pivot_count_and_stats_by():
    assert q("| pivot Logins Login count(Login) AS n SPLITROW action AS act") == [
        {"act": "failure", "n": 3}, {"act": "success", "n": 2}]
    assert q("| pivot Logins Failed dc(src) AS sources SPLITROW host") == [
        {"host": "db1", "sources": 2}, {"host": "web1", "sources": 1}]


def test_pivot_filters():
    # the model's 5 events: db1 root/failed, db1 bob/failed, web1 root/accepted, web1 root/failed,
    # db1 carol/accepted (src 10.0.0.1, .2, .1, .3, .2)
    assert q("| pivot Logins Login count(Login) AS n SPLITROW host FILTER user is root") == [
        {"host": "db1", "n": 1}, {"host": "web1", "n": 2}]
    assert q("| pivot Logins Login count(Login) AS n SPLITROW host FILTER user isNot root") == [
        {"host": "db1", "n": 2}]
    assert q("| pivot Logins Login count(Login) AS n SPLITROW user FILTER user in (bob, carol)") == [
        {"user": "bob", "n": 1}, {"user": "carol", "n": 1}]
    # a list longer than eval's in() takes (999 values): 1200 numbers, then carol
    many = ", ".join(str(i) for i in range(1200))
    assert q(f"| pivot Logins Login count(Login) AS n SPLITROW user FILTER user in ({many}, carol)") == [
        {"user": "carol", "n": 1}]
    # src ending in .2: bob and carol; containing "0.0.1": root twice (db1, web1); starting with "ca"
    assert q('| pivot Logins Login count(Login) AS n SPLITROW user FILTER src endsWith ".2"') == [
        {"user": "bob", "n": 1}, {"user": "carol", "n": 1}]
    assert q('| pivot Logins Login count(Login) AS n SPLITROW user FILTER src contains 0.0.1') == [
        {"user": "root", "n": 2}]
    assert q("| pivot Logins Login count(Login) AS n SPLITROW user FILTER user startsWith ca") == [
        {"user": "carol", "n": 1}]
    # a "." in a value is a dot, not any character: no src contains "0x0"
    assert q("| pivot Logins Login count(Login) AS n SPLITROW user FILTER src contains 0.0x") == []
    # every user name holds an "o": nothing "does not contain" it; two filters both apply
    assert q("| pivot Logins Login count(Login) AS n SPLITROW user FILTER user doesNotContain o") == []
    assert q("| pivot Logins Login count(Login) AS n SPLITROW host FILTER user is root FILTER action is failure") == [
        {"host": "db1", "n": 1}, {"host": "web1", "n": 1}]


def test_pivot_string_filters_compare_as_search_does():
    # Search Reference, pivot (a wrapper around stats; its filters are the search's field
    # comparisons): is/isNot/in/contains/startsWith/endsWith ignore case, as `user=ROOT` does.
    # root has 3 events (db1 failed, web1 accepted, web1 failed), bob 1 (failed), carol 1 (accepted)
    assert q("| pivot Logins Login count(Login) AS n SPLITROW host FILTER user is ROOT") == [
        {"host": "db1", "n": 1}, {"host": "web1", "n": 2}]
    assert q("| pivot Logins Login count(Login) AS n SPLITROW user FILTER action isNot FAILURE") == [
        {"user": "carol", "n": 1}, {"user": "root", "n": 1}]
    assert q("| pivot Logins Login count(Login) AS n SPLITROW user FILTER user in (BOB, Carol)") == [
        {"user": "bob", "n": 1}, {"user": "carol", "n": 1}]
    assert q("| pivot Logins Login count(Login) AS n SPLITROW user FILTER user startsWith CA") == [
        {"user": "carol", "n": 1}]
    # every name but bob's holds an r (root, carol): R too
    assert q("| pivot Logins Login count(Login) AS n SPLITROW user FILTER user doesNotContain R") == [
        {"user": "bob", "n": 1}]
    # a number compares as a number too (src is text: 10.0.0.1 is not 10.0.0.10)
    assert q("| pivot Logins Login count(Login) AS n SPLITROW user FILTER src isNot 10.0.0.1") == [
        {"user": "bob", "n": 1}, {"user": "carol", "n": 1}, {"user": "root", "n": 1}]
    # regex stays case-sensitive (match())
    assert q('| pivot Logins Login count(Login) AS n SPLITROW user FILTER user regex "^R"') == []


def test_pivot_summaries_keep_whole_numbers_and_skip_empty_results():
    # count and dc cells sum to whole numbers: db1 n 3 (root, bob, carol), d 2 (src .1, .2);
    # web1 n 2, d 2 (.1, .3); ALL row: 5, 4; ALL column 5, 4, 9
    rows = q("| pivot Logins Login count(Login) AS n dc(src) AS d SPLITROW host ROWSUMMARY 1 COLSUMMARY 1")
    assert rows == [{"host": "db1", "n": 3, "d": 2, "ALL": 5}, {"host": "web1", "n": 2, "d": 2, "ALL": 4},
                    {"host": "ALL", "n": 5, "d": 4, "ALL": 9}]
    assert all(isinstance(r[c], int) for r in rows for c in ("n", "d", "ALL"))
    # a cell with decimals: avg(linecount) is 1.0 on each host; the sums are 1 + 3 = 4.0, 1 + 2 = 3.0
    rows = q("| pivot Logins Login avg(linecount) AS a count(Login) AS n SPLITROW host ROWSUMMARY 1 COLSUMMARY 1")
    assert [(r["host"], r["a"], r["n"], r["ALL"]) for r in rows] == [
        ("db1", 1.0, 3, 4.0), ("web1", 1.0, 2, 3.0), ("ALL", 2.0, 5, 7.0)]
    # no event passes the filter: no rows, and no ALL row under them
    assert q("| pivot Logins Login count(Login) AS n SPLITROW host FILTER user is nobody ROWSUMMARY 1 COLSUMMARY 1") == []


def test_pivot_sort_as_the_pivot_editor_writes_it():
    # `SORT <rows> [-]<field>` (Splunk's Pivot editor writes `SORT 100 _time`; the Search Reference
    # lists `rowsort [options]`): users bob 1, carol 1, root 3
    assert q("| pivot Logins Login count(Login) AS n SPLITROW user SORT 100 user") == [
        {"user": "bob", "n": 1}, {"user": "carol", "n": 1}, {"user": "root", "n": 3}]
    # by a cell, descending, 2 rows (ties keep their order: bob before carol)
    assert q("| pivot Logins Login count(Login) AS n SPLITROW user SORT 2 -n") == [
        {"user": "root", "n": 3}, {"user": "bob", "n": 1}]
    # by the SPLITROW field under its label; the COLSUMMARY row stays last
    assert q("| pivot Logins Login count(Login) AS n SPLITROW user AS who SORT 0 -user") == [
        {"who": "root", "n": 3}, {"who": "carol", "n": 1}, {"who": "bob", "n": 1}]
    assert q("| pivot Logins Login count(Login) AS n SPLITROW host SORT 0 -host ROWSUMMARY 1 COLSUMMARY 1") == [
        {"host": "web1", "n": 2, "ALL": 2}, {"host": "db1", "n": 3, "ALL": 3}, {"host": "ALL", "n": 5, "ALL": 5}]
    # the editor's whole tail: hours 21:00 (1 event) and 22:00 (4); -_time: the latest first, 1 row
    assert q("| pivot Logins Login count(Login) AS n SPLITROW _time AS _time PERIOD auto SORT 100 _time "
             "ROWSUMMARY 0 COLSUMMARY 0 NUMCOLS 0 SHOWOTHER 1") == [
        {"_time": 1_699_995_600, "n": 1}, {"_time": 1_699_999_200, "n": 4}]
    assert q("| pivot Logins Login count(Login) AS n SPLITROW _time PERIOD auto SORT 1 -_time") == [
        {"_time": 1_699_999_200, "n": 4}]
    # with SPLITCOL: rows by host descending, 1 row (web1: failure 1, success 1)
    assert q("| pivot Logins Login count(Login) AS n SPLITROW host SPLITCOL action SORT 1 -host") == [
        {"host": "web1", "failure": 1, "success": 1}]


def test_pivot_limit_splitcol_and_summaries():
    # LIMIT user BY top 1 count: root has 3 events; bottom 2 by dc(src): bob 1, carol 1 (root 2)
    assert q("| pivot Logins Login count(Login) AS n SPLITROW user LIMIT user BY top 1 count(Login)") == [
        {"user": "root", "n": 3}]
    assert q("| pivot Logins Login count(Login) AS n SPLITROW user LIMIT user BY bottom 2 dc(src)") == [
        {"user": "bob", "n": 1}, {"user": "carol", "n": 1}]
    # SPLITCOL action: db1 failure 2 success 1; web1 failure 1 success 1
    assert q("| pivot Logins Login count(Login) AS n SPLITROW host SPLITCOL action") == [
        {"host": "db1", "failure": 2, "success": 1}, {"host": "web1", "failure": 1, "success": 1}]
    # ROWSUMMARY / COLSUMMARY: a column and a last row named ALL with the sums
    rows = q("| pivot Logins Login count(Login) AS n SPLITROW host ROWSUMMARY 1 COLSUMMARY 1")
    assert [(r["host"], r["n"], r["ALL"]) for r in rows] == [("db1", 3, 3), ("web1", 2, 2), ("ALL", 5, 5)]
    # PERIOD hour on _time: -10..-40 in one hour, -4000 in the one before
    rows = q("| pivot Logins Login count(Login) AS n SPLITROW _time PERIOD hour")
    assert [r["n"] for r in rows] == [1, 4]
    # PERIOD auto on _time: time buckets as timechart without span= picks them (1 hour here), not
    # bin's numeric ranges: 21:06:40 in the 21:00 hour, the other four in 22:00
    assert q("| pivot Logins Login count(Login) AS n SPLITROW _time PERIOD auto") == [
        {"_time": 1_699_995_600, "n": 1}, {"_time": 1_699_999_200, "n": 4}]


@pytest.mark.parametrize("query, words", [
    ("| tstats count from datamodel=Nope", "no data model named 'Nope'"),
    ("| tstats count from datamodel=Logins.Nope", "data model 'Logins' has no dataset 'Nope'"),
    ("| pivot Logins Login count(Login) SORT 10 user", "not a SPLITROW field or cell label"),
    ("| pivot Logins Login count(Login) SPLITROW user SORT ten user", "SORT takes the number of rows"),
    ("| pivot Logins Login count(Login) SPLITROW user SORT \u00b2 user", "SORT takes the number of rows"),   # isdigit()
    ("| pivot Logins Login count(Login) SPLITROW user ROWSORT user", "pivot ROWSORT is not supported"),
    ("| pivot Logins Login count(Login) SPLITROW user TOP 1 count(Login)", "pivot TOP is not supported"),
    ("| pivot Logins Login count(Login) SPLITROW host PERIOD day", "PERIOD splits _time"),
    ("| pivot Logins Login count(Login) FILTER user resembles root", "expected a filter type"),
    ("| pivot Logins Login count(Login) SPLITROW _time PERIOD fortnight", "found 'fortnight'"),
    ("| pivot Logins Login count(Login) FILTER user in ()", "in () needs at least one value"),
    ("| pivot Logins Login count(Login) AS n SPLITROW host AS n", "two columns would be named 'n'"),
    ("| pivot Logins Login count(Login) AS ALL SPLITROW host ROWSUMMARY 1", "two columns would be named 'ALL'"),
    ("| pivot Logins Login count(Login) SPLITROW host SPLITCOL user NUMCOLS -3", "NUMCOLS takes a number of columns, 0"),
    ("| pivot Logins Login count(Login) SPLITCOL user", "SPLITCOL needs exactly one SPLITROW"),
    ("| pivot Logins Login count(Login) SPLITROW host SPLITCOL user ROWSUMMARY 1", "addtotals"),
    ("| datamodel Logins Login", "datamodel needs a model, a dataset and 'search' or 'flat'"),
    ("| tstats count from datamodel=Risk.All_Risk", "data model 'Risk' is Splunk-only: Splunk Enterprise Security"),
])
def test_errors_name_what_is_wrong(query, words):
    with pytest.raises(SplError) as info:
        compile_search(query, make_ctx(knowledge=K))
    assert words in info.value.message


def test_bad_model_json_is_refused_with_where():
    from speleo.datamodels import parse_datamodel
    from speleo.errors import InputError

    bad = {"modelName": "X", "objects": [{"objectName": "A", "parentName": "Missing"}]}
    with pytest.raises(InputError) as info:
        parse_datamodel(bad, "x.json")
    assert "x.json" in str(info.value) and "parentName 'Missing'" in str(info.value)


def test_a_rex_calculation_reading_a_group_after_the_ninth():
    # RE2 in DuckDB extracts groups 0..9 only. "login failed ...": groups 1-5 the letters of
    # "login", 6-9 "f", "a", "i", "l", group 10 (rest) the remaining "ed"; "login accepted": "epted"
    import copy

    model = copy.deepcopy(MODEL)
    model["objects"][0]["calculations"].append(
        {"calculationType": "Rex", "inputField": "_raw", "expression": r"^(\w)(\w)(\w)(\w)(\w) (\w)(\w)(\w)(\w)(?<rest>\w+)",
         "outputFields": [{"fieldName": "rest", "type": "string"}]})
    k = knowledge.from_text(EVENTTYPES, TAGS, [model], base=False)
    rows = run("| from datamodel:Logins.Login | stats count by rest", rows=EVENTS, knowledge=k)
    # tag=login: the five sourcetype=auth events: -10, -20, -40 failed; -30, -4000 accepted
    assert rows == [{"rest": "ed", "count": 3}, {"rest": "pted", "count": 2}]
