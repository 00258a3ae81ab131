"""map (Splunk Search Reference: map,
https://help.splunk.com/splunk-cloud-platform/spl-search-reference/10.0.2503/search-commands/map):
`map search="<string>" [maxsearches=<int>]` runs the search once per input result with
`$field$` replaced by that result's value (default maxsearches=10; 0 is not unlimited).

Events written by hand; the expected rows are counted off them."""

from __future__ import annotations

import pytest

from speleo.errors import SplError
from tests.spl.golden._util import ev, run

EVENTS = ev((-10, "login user=alice ok", "web1"), (-20, "login user=bob failed", "web1"),
            (-30, "login user=alice failed", "web2"), (-40, "logout user=alice", "web2"),
            (-50, "login user=carol ok", "db1"))


def test_one_search_per_result_with_its_values():
    rows = run('* | stats count by user | sort user | map search="search user=$user$ failed | stats count as failures '
               '| eval who=\\"$user$\\""', rows=EVENTS)
    # alice: 1 failed event; bob: 1; carol: 0 (stats count of nothing is one row of 0)
    assert rows == [{"failures": 1, "who": "alice"}, {"failures": 1, "who": "bob"}, {"failures": 0, "who": "carol"}]


def test_maxsearches_serial_id_and_commands_after_map():
    rows = run('| makeresults count=5 | streamstats count as n | map maxsearches=3 '
               'search="| makeresults | eval serial=$_serial_id$, tenfold=$n$*10" | stats sum(tenfold) as total '
               'max(serial) as last')
    assert rows == [{"total": 60, "last": 3}]   # 10 + 20 + 30: the first three results only


def test_events_of_each_run_keep_their_fields():
    rows = run('| makeresults count=2 | streamstats count as n | eval host=if(n=1, "web1", "db1") '
               '| map search="search host=$host$ login" | table host user', rows=EVENTS)
    assert rows == [{"host": "web1", "user": "alice"}, {"host": "web1", "user": "bob"},
                    {"host": "db1", "user": "carol"}]


def test_no_input_results_runs_nothing():
    rows = run('* | where user="nobody" | map search="search user=$user$" | stats count', rows=EVENTS)
    assert rows == [{"count": 0}]


@pytest.mark.parametrize("query, why", [
    ("| makeresults | map", "needs search="),
    ("| makeresults | map mysaved", "saved search name needs a home's saved searches"),
    ('| makeresults | map maxsearches=0 search="search x"', "between 1 and"),
    ('| makeresults | map search="search x | nosuchcommand"', "nosuchcommand"),
])
def test_clear_errors(query, why):
    with pytest.raises(SplError, match=why):
        run(query)


def test_appendpipe_map_appends_the_runs_results():
    """Detection content writes `appendpipe [| map search=...]`: the input results stay, the
    runs' results come after them, and later commands see both."""
    rows = run('* failed | table user host | appendpipe [| map search="search user=$user$ ok | table user host"] '
               '| stats count by user host', rows=EVENTS)
    # failed: (bob, web1), (alice, web2); runs: bob ok -> nothing, alice ok -> (alice, web1)
    assert rows == [{"user": "alice", "host": "web1", "count": 1}, {"user": "alice", "host": "web2", "count": 1},
                    {"user": "bob", "host": "web1", "count": 1}]


def test_appendpipe_map_with_commands_after_it_in_the_brackets():
    # the stats inside the brackets counts the rows of all the runs together: alice's ok event
    # (web1) and carol's (db1) -> one row of 2, after the input rows
    rows = run('* ok | table user | appendpipe [| map search="search user=$user$ ok" | stats count as runs_rows] ',
               rows=EVENTS)
    assert rows == [{"user": "alice", "runs_rows": None}, {"user": "carol", "runs_rows": None},
                    {"user": None, "runs_rows": 2}]


def test_a_value_cannot_add_commands_to_the_search():
    from speleo.query.post import collect_messages
    events = ev((-10, 'user="x | outputlookup stolen.csv" login', "web1"))
    with collect_messages() as said:
        rows = run('* | rex "user=\\"(?<u>[^\\"]+)\\"" | map search="search user=$u$"', rows=events)
    assert rows == [] and "change the commands" in said[0]


def test_a_subsearch_in_a_value_is_skipped_and_said():
    from speleo.query.post import collect_messages
    events = ev((-10, 'user="zz OR [| makeresults | eval user=\\"alice\\" | fields user]" failed', "web1"),
                (-20, "user=alice login ok", "web2"))
    with collect_messages() as said:
        rows = run('* failed | rex "user=\\"(?<u>[^\\"]+)\\"" | map search="search user=$u$ | stats count"',
                   rows=events)
    assert rows == [] and "map skipped 1 run" in said[0] and "result 1" in said[0]


def test_messages_past_maxsearches_and_runs_that_do_not_parse():
    from speleo.query.post import collect_messages
    with collect_messages() as said:
        rows = run('| makeresults count=4 | streamstats count as n | eval v=if(n=2, "a\\"b", "x") '
                   '| map maxsearches=3 search="| makeresults | eval got=\\"$v$\\", n=$n$" | table n', rows=EVENTS)
    assert rows == [{"n": 1}, {"n": 3}]
    assert any("first 3 of 4 results" in m for m in said) and any("result 2" in m for m in said)


def test_tokens_for_lookups_spans_and_indexes_are_checked_per_run():
    rows = run('| makeresults | eval s=3600 | map search="| makeresults | bin _time span=$s$ | eval ok=1" | table ok')
    assert rows == [{"ok": 1}]
    with pytest.raises(SplError, match="tokens read as 0"):
        run('| makeresults | eval m="x" | map search="search `$m$`"')


def test_a_cancel_stops_map_between_two_runs():
    import pyarrow as pa

    from speleo.query import post, udf
    from tests.spl.conftest import make_ctx

    con = udf.connect()
    con.register("__events__", pa.table({"_time": pa.array([], pa.float64())}))
    step = {"kind": "map", "template": "| makeresults", "max": 10, "ctx": make_ctx(), "fields": []}
    table = pa.table({"n": list(range(5))})
    assert post._map(table, step, con).num_rows == 5
    udf.interrupt(con)   # what a cancel and srchMaxTime do
    with pytest.raises(udf.PcreStopped):
        post._map(table, step, con)


class _Saved(dict):
    """Macros with saved searches (as query.macrostore.MacroTable gives them)."""

    def saved_search(self, name):
        from speleo.errors import NotFoundError

        searches = {"failures_of": 'search user=$user$ failed | stats count as failures | eval who="$user$"'}
        if name not in searches:
            raise NotFoundError(f"no saved search named {name!r}")
        return searches[name]


def test_map_runs_a_saved_search_by_name():
    # Search Reference, map: `map <savedsplunkoption>` names a saved search to run per result;
    # same answers as the search= form above
    rows = run("* | stats count by user | sort user | map failures_of", rows=EVENTS, macros=_Saved())
    assert rows == [{"failures": 1, "who": "alice"}, {"failures": 1, "who": "bob"}, {"failures": 0, "who": "carol"}]
    with pytest.raises(SplError, match="no saved search named 'nosuch'"):
        run("* | stats count by user | map nosuch", rows=EVENTS, macros=_Saved())


def test_a_run_that_would_write_is_skipped(tmp_path):
    """A template that compiles only with a result's values (`inputlookup $name$` of a table
    that exists) was never checked for writing commands when the search compiled, nor by the
    server's capability check (search_guard reads the compiled search's steps): its runs must
    not write a lookup or CSV file (nor collect, sendemail)."""
    (tmp_path / "lookups").mkdir()
    (tmp_path / "lookups" / "a.csv").write_text("k,v\n1,2\n")
    for sink in ("outputcsv written", "outputlookup written"):
        rows = run(f'| makeresults | eval name="a" | map search="| inputlookup $name$ | {sink}"',
                   lookups_dir=tmp_path / "lookups")
        assert rows == []
    assert sorted(p.name for p in tmp_path.rglob("*.csv")) == ["a.csv"]
