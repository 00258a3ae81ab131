"""multikv (Splunk Search Reference: multikv,
https://help.splunk.com/en/splunk-enterprise/spl-search-reference/9.4/search-commands/multikv):
an event holding a table becomes one event per row, fields named by the header.

The events are `ps` output written by hand; every expected value is read off that text."""

from __future__ import annotations

import pytest

from speleo.errors import SplError
from tests.spl.golden._util import ev, run

PS = """  PID USER     %CPU %MEM COMMAND
    1 root      0.0  0.1 /sbin/init splash
  812 www-data  12.5  3.2 nginx: worker process
  901 postgres   4.0  8.8 postgres -D /var/lib/postgresql"""
EVENTS = ev((-10, PS, "db1", "ps"), (-20, PS.replace("12.5", "30.0"), "web1", "ps"))


def test_one_event_per_row_with_the_header_names():
    rows = run("* | multikv | table host PID USER pctCPU pctMEM COMMAND", rows=EVENTS)
    assert rows[:3] == [
        {"host": "db1", "PID": "1", "USER": "root", "pctCPU": "0.0", "pctMEM": "0.1", "COMMAND": "/sbin/init splash"},
        {"host": "db1", "PID": "812", "USER": "www-data", "pctCPU": "12.5", "pctMEM": "3.2",
         "COMMAND": "nginx: worker process"},
        {"host": "db1", "PID": "901", "USER": "postgres", "pctCPU": "4.0", "pctMEM": "8.8",
         "COMMAND": "postgres -D /var/lib/postgresql"}]
    assert len(rows) == 6 and rows[4]["pctCPU"] == "30.0"


def test_fields_filter_and_later_commands():
    rows = run("* | multikv fields COMMAND pctCPU filter nginx | stats sum(pctCPU) as cpu by host", rows=EVENTS)
    assert rows == [{"host": "db1", "cpu": 12.5}, {"host": "web1", "cpu": 30.0}]
    rows = run("* | multikv fields PID | table PID USER", rows=EVENTS)
    assert {r["USER"] for r in rows} == {None} and sorted({r["PID"] for r in rows}) == ["1", "812", "901"]


def test_rmorig_noheader_and_forceheader():
    assert len(run("* | multikv rmorig=false", rows=EVENTS)) == 2 + 6
    rows = run("* | multikv noheader=true | head 1 | table Column_1 Column_5", rows=EVENTS)
    assert rows == [{"Column_1": "PID", "Column_5": "COMMAND"}]
    # line 2 as the header: its words name the fields of the two lines below it ("/sbin/init"
    # reads sbin_init)
    rows = run("* | multikv forceheader=2 | head 1 | table root sbin_init splash", rows=EVENTS)
    assert rows == [{"root": "www-data", "sbin_init": "nginx:", "splash": "worker process"}]


@pytest.mark.parametrize("bad, why", [("conf=ps", "conf"), ("forceheader=0", "line number"), ("COMMAND", "unexpected")])
def test_bad_options(bad, why):
    with pytest.raises(SplError, match=why):
        run(f"* | multikv {bad}", rows=EVENTS)


def test_a_header_naming_an_existing_numeric_field():
    # eval PID=1 makes a number; the table's PID values (text) take its place
    rows = run("* | eval PID=1 | multikv | head 2 | table PID", rows=EVENTS)
    assert rows == [{"PID": "1"}, {"PID": "812"}]


# the table held in a search-time field: `tbl` (rex below) is the ps text after "tbl="; the
# event's own _raw is a single line
WRAPPED = ev((-10, "kind=ps tbl=" + PS.replace("\n", "|"), "db1", "wrapped"))


def test_a_table_in_another_field_through_eval_raw():
    # multikv reads _raw only; eval _raw=<field> hands it the table of a search-time field (kind, a
    # search-time field of the event, is kept by naming it before _raw changes: docs/spl.md)
    q = ('* | rex "tbl=(?<tbl>.*)" | eval kind=kind | eval _raw=replace(tbl, "\\|", "\n") '
         '| multikv fields PID USER | table host kind PID USER')
    assert run(q, rows=WRAPPED) == [
        {"host": "db1", "kind": "ps", "PID": "1", "USER": "root"},
        {"host": "db1", "kind": "ps", "PID": "812", "USER": "www-data"},
        {"host": "db1", "kind": "ps", "PID": "901", "USER": "postgres"}]
    # results without events: makeresults' _raw
    q = '| makeresults | eval _raw="NAME SIZE\na 10\nb 20" | multikv | stats sum(SIZE) as total'
    assert run(q, rows=WRAPPED) == [{"total": 30.0}]
    # results without _raw are refused with the way to do it
    with pytest.raises(SplError, match="eval _raw=<field>"):
        run("* | stats count by host | multikv", rows=WRAPPED)
