"""Issue 9, the command line piped to a file: no 80-column cut, CSV with "\\n", counted words
right ("1 event matched"), ISO dates in --earliest, and `--output json` on every listing."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

import pytest

from tests.conftest import run_cli

LINES = [
    '10.0.0.1 - - [17/May/2015:10:05:03 +0000] "GET /a/very/long/path/' + "x" * 150 + ' HTTP/1.1" 200 100 "-" "curl/8"',
    '10.0.0.2 - - [18/May/2015:11:00:00 +0000] "GET /b HTTP/1.1" 404 5 "-" "curl/8"',
    '10.0.0.3 - - [19/May/2015:12:00:00 +0000] "GET /c HTTP/1.1" 404 7 "-" "curl/8"',
]


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    root = tmp_path_factory.mktemp("cliout")
    log = root / "access.log"
    log.write_text("\n".join(LINES) + "\n")
    h = root / "home"
    run_cli(h, "add", "oneshot", str(log), "--index", "web", "--sourcetype", "access_combined")
    (root / "nothing-yet").mkdir()
    run_cli(h, "add", "monitor", str(root / "nothing-yet"), "--index", "web")
    return h


def test_piped_events_are_not_cut_to_80_columns(home):
    out = run_cli(home, "search", "index=web 10.0.0.1").stdout
    assert any(LINES[0] in line for line in out.splitlines()), out   # the whole event on one line
    st = run_cli(home, "status").stdout
    assert str(home.parent / "nothing-yet") in st                     # the monitored path, not "…/noth…"


def test_csv_lines_end_with_a_newline_only(home):
    out = run_cli(home, "search", "index=web | stats count by status | sort status", "--output", "csv").stdout
    assert "\r" not in out
    assert list(csv.reader(io.StringIO(out))) == [["status", "count"], ["200", "1"], ["404", "2"]]


def test_counted_words_agree_with_the_count(home):
    one = run_cli(home, "search", "index=web 10.0.0.1")
    assert "1 event matched" in one.stderr and "events matched" not in one.stderr
    two = run_cli(home, "search", "index=web status=404")
    assert "2 events matched" in two.stderr
    added = run_cli(home, "add", "oneshot", str(home.parent / "access.log"), "--index", "other", "--force").stdout
    assert "indexed 3 events" in added


def test_earliest_takes_the_iso_dates_the_web_takes(home):
    # the events of 18 and 19 May 2015 (UTC), computed from the lines above
    since = dt.datetime(2015, 5, 18, tzinfo=dt.timezone.utc).isoformat()
    rows = [json.loads(x) for x in run_cli(home, "search", "index=web", "--earliest", since, "--output",
                                           "jsonl").stdout.splitlines()]
    assert sorted(r["_raw"] for r in rows) == sorted(LINES[1:])
    rows = run_cli(home, "search", "index=web", "--earliest", "2015-05-19T00:00:00Z", "--latest",
                   "2015-05-20", "--output", "jsonl").stdout.splitlines()
    assert [json.loads(x)["_raw"] for x in rows] == [LINES[2]]


@pytest.mark.parametrize("args,key", [(["index", "list"], "name"), (["input", "list"], "path"),
                                      (["token", "list"], None), (["user", "list"], None),
                                      (["macro", "list"], None), (["lookup", "list"], None)])
def test_every_listing_has_output_json(home, args, key):
    rows = json.loads(run_cli(home, *args, "--output", "json").stdout)
    assert isinstance(rows, list)
    if key:
        assert rows and all(key in r for r in rows)


def test_status_output_json(home):
    st = json.loads(run_cli(home, "status", "--output", "json").stdout)
    assert st["events"] >= 3 and st["inputs"][0]["path"] == str(home.parent / "nothing-yet")
