"""inputcsv and outputcsv (Splunk Search Reference 9.4, search-commands/inputcsv, outputcsv):
the files live in the home's `csv` folder (Splunk: $SPLUNK_HOME/var/run/splunk/csv), beside
and apart from the lookups; outputcsv adds `.csv` to a name without it ("If the filename does
not have an extension, .csv is appended"); inputcsv reads the rows back, with `start=`, `max=`
and `where`. Names with a path are refused, as for lookups."""

from __future__ import annotations

import csv

import pytest

from speleo.errors import SplError
from speleo.query.post import writing_steps
from speleo.spl import compile_search
from tests.spl.conftest import make_ctx
from tests.spl.golden._util import run


@pytest.fixture
def home(tmp_path):
    (tmp_path / "lookups").mkdir()
    return tmp_path


def test_outputcsv_writes_the_results_and_inputcsv_reads_them_back(home):
    # the default events: hosts web1 (3 events), web2 (2), db1 (2)
    out = run("* | stats count by host | sort host | outputcsv hosts", lookups_dir=home / "lookups")
    assert [(r["host"], r["count"]) for r in out] == [("db1", 2), ("web1", 3), ("web2", 2)]
    with open(home / "csv" / "hosts.csv", newline="") as f:
        assert list(csv.reader(f)) == [["host", "count"], ["db1", "2"], ["web1", "3"], ["web2", "2"]]
    assert not (home / "lookups" / "hosts.csv").exists()
    back = run("| inputcsv hosts.csv", lookups_dir=home / "lookups")
    assert back == [{"host": "db1", "count": "2"}, {"host": "web1", "count": "3"}, {"host": "web2", "count": "2"}]
    assert run("| inputcsv start=1 max=1 hosts", lookups_dir=home / "lookups") == [{"host": "web1", "count": "3"}]
    assert run("| inputcsv hosts where host=web*", lookups_dir=home / "lookups") == back[1:]


def test_outputcsv_append_adds_rows_under_the_header(home):
    run("* | stats count by host | sort host | head 1 | outputcsv hosts", lookups_dir=home / "lookups")
    run("* | stats count by host | sort host | tail 1 | outputcsv append=true hosts", lookups_dir=home / "lookups")
    with open(home / "csv" / "hosts.csv", newline="") as f:
        assert list(csv.reader(f)) == [["host", "count"], ["db1", "2"], ["web2", "2"]]


def test_outputcsv_is_a_writing_command_that_needs_edit_lookups(home):
    compiled = compile_search("* | stats count | outputcsv n", make_ctx(lookups_dir=home / "lookups"))
    assert writing_steps(compiled.post) == ["outputcsv"]
    from speleo.errors import ForbiddenError
    from speleo.query.scope import check_lookup_writes

    with pytest.raises(ForbiddenError, match="edit_lookups"):
        check_lookup_writes(compiled, allowed=False)


@pytest.mark.parametrize("query, why", [
    ("| inputcsv ../lookups/x.csv", "invalid CSV file name"),
    ("* | outputcsv ../../etc/x", "invalid"),
    ("| inputcsv missing", "not found in csv/"),
    ("| inputcsv events=true x", "events=true is not supported"),
    ("* | outputcsv dispatch=true x", "dispatch=true"),
    ("* | outputcsv x.csv.gz", "does not compress"),
])
def test_bad_names_and_options_are_refused(home, query, why):
    with pytest.raises(SplError, match=why):
        run(query, lookups_dir=home / "lookups")


NUMBERS = "name,n\na,3\nb,12\nc,7.5\nd,x\ne,\n"


@pytest.mark.parametrize("command", ["inputcsv", "inputlookup"])
def test_numbers_in_a_csv_compare_and_add_up_as_numbers(home, command):
    # inputcsv and inputlookup read the same file alike: a value that is a number compares as one
    # (as text "12" < "5" and "x" > "5"; as numbers 12 and 7.5 are > 5 and "x" is not a number)
    folder = home / ("csv" if command == "inputcsv" else "lookups")
    folder.mkdir(exist_ok=True)
    (folder / "f.csv").write_text(NUMBERS)
    lk = home / "lookups"
    assert [r["name"] for r in run(f"| {command} f.csv | where n > 5", lookups_dir=lk)] == ["b", "c"]
    assert [r["name"] for r in run(f"| {command} f.csv where n>5", lookups_dir=lk)] == ["b", "c"]
    # sum 3 + 12 + 7.5 = 22.5 (x and the empty value are not numbers); max 12, min 3
    assert run(f"| {command} f.csv | stats sum(n) as s max(n) as hi min(n) as lo", lookups_dir=lk) == [
        {"s": 22.5, "hi": 12.0, "lo": 3.0}]
    # sort: numbers by value (3, 7.5, 12), then text, then no value
    assert [r["name"] for r in run(f"| {command} f.csv | sort n", lookups_dir=lk)] == ["a", "c", "b", "d", "e"]
    assert [r["t"] for r in run(f"| {command} f.csv | eval t=typeof(n) | table t", lookups_dir=lk)] == [
        "Number", "Number", "Number", "String", "Invalid"]
