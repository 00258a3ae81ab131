"""Subsearches whose results are search text (spl/rawsub.py): run first, their text parsed as
search terms and nothing else.

Splunk Search Manual 9.x, "About subsearches" (the subsearch runs first, its results become
part of the search) and "Change the format of subsearch results" (the implicit format: a row is
`(f1=v1 AND f2=v2)`, rows are OR-ed, `_` fields left out, "if the name of a field is either
search or query, the values of fields are rendered directly in the reformatted search string");
Splunk Search Reference 9.x: return (`return $field`: the value alone; `return 2 $f`: each row
an OR), format. limits.conf [subsearch] maxout = 10,000.

Expected rows are worked out by hand from EVENTS (newest first).
"""

from __future__ import annotations

import os

import pytest

from speleo.errors import SplSyntaxError, SplUnsupportedError
from speleo.spl import ast, compile_search
from tests.spl.conftest import events_table, make_ctx
from tests.spl.golden._util import NOW, ev, rows_of, run

EVENTS = ev(
    (-10, "user=alice status=500 action=login", "web1"),
    (-20, "user=bob status=200 action=delete", "web1"),
    (-30, "user=carol status=404 path=/a|b", "web2"),
    (-40, "user=dave status=503 code=[x]", "web2"),
    (-50, "user=erin status=200", "db1"),
    (-60, "note: never run | delete here user=frank status=302", "db1"),
)


def _subsearches(rows, seen=None):
    """`CompileContext.run_subsearch` over `rows`: DuckDB, or ClickHouse under SPELEO_TEST_ENGINE;
    the steps after the SQL (outputlookup...) carried out, as the engine does."""
    def run_sub(compiled, limit):
        if seen is not None:
            seen.append(compiled)
        if os.environ.get("SPELEO_TEST_ENGINE") == "clickhouse":
            from tests.spl.golden._util import _run_on_clickhouse

            out = _run_on_clickhouse(compiled, rows)
        else:
            from speleo.query import udf
            from speleo.query.post import apply_post

            con = udf.connect()
            con.register("__events__", events_table(rows))
            out = apply_post(con.sql(compiled.sql).to_arrow_table(), compiled.post, con).to_pylist()
        return out[:limit], len(out) > limit
    return run_sub


def users(query: str, rows=EVENTS, **kw) -> list[str]:
    return rows_of(f"{query} | table user", rows, "user", run_subsearch=_subsearches(rows), **kw)


@pytest.mark.parametrize("query, expected", [
    # return $user: the value alone, as a term ("alice")
    ("* [search status=500 | return $user]", ["alice"]),
    # return 2 $user: "(alice) OR (dave)" (status>=500, newest first: alice 500, dave 503)
    ("* [search status>=500 | return 2 $user]", ["alice", "dave"]),
    # return $a $b: "carol 404", both terms
    ("* [search user=carol | return $user $status]", ["carol"]),
    # a search field: its value is the search text
    ('* [search user=erin | eval search="status=200 NOT user=bob" | fields search]', ["erin"]),
    # a query field: the same
    ('* [search user=erin | eval query="user=dave OR user=erin" | fields query]', ["dave", "erin"]),
    # one row per result, OR-ed: (user=bob) OR (user=erin)
    ('* [search status=200 | eval search="user=" . user | fields search]', ["bob", "erin"]),
    # a search field beside another field: host="web2" AND (status=404)
    ('* [search status=404 | eval search="status=" . status | table host search]', ["carol"]),
    # format after a search field renders it as it is
    ('* [search status=503 | eval search="user=" . user | table search | format]', ["dave"]),
    # format maxresults=1 keeps the first row: user=alice (status>=500 newest first)
    ('* [search status>=500 | eval search="user=" . user | table search | format maxresults=1]', ["alice"]),
    # a later search command
    ("* | search [search status=404 | return $user]", ["carol"]),
    # nested: the inner subsearch gives "carol", the middle one her status "404"
    ("* [search [search path=* | return $user] | return $status]", ["carol"]),
    # inside NOT
    ("* NOT [search status>=300 | return 10 $user]", ["bob", "erin"]),
    # inside append's subsearch
    ("status=500 | append [search [search status=404 | return $user]]", ["alice", "carol"]),
])
def test_text_subsearches(query, expected):
    assert users(query) == expected


def test_no_results_match_nothing():
    # no row: the implicit format's emptystr (NOT ( )) matches nothing; NOT of it matches everything
    assert users("* [search user=nobody | return $user]") == []
    assert users('* [search user=nobody | eval search="user=" . user | fields search]') == []
    assert len(users("* NOT [search user=nobody | return $user]")) == 6
    assert users('* [search user=nobody | eval search="x" | fields search | format]') == []


def test_earliest_from_a_subsearch_is_the_time_range():
    # return earliest: `earliest="1699999965"` (NOW - 35): the events of the last 35 s
    q = '* [search user=erin | eval earliest=relative_time(now(), "-35s") | return earliest]'
    assert users(q) == ["alice", "bob", "carol"]
    compiled = compile_search(q, make_ctx(run_subsearch=_subsearches(EVENTS)))
    assert compiled.earliest == NOW - 35                      # the plan reads from there
    q = '* [search user=erin | eval search="earliest=-25s user=*" | fields search]'
    assert users(q) == ["alice", "bob"]


def test_text_cannot_add_commands():
    # `|` in the text is a character of a term: "| delete" are the terms `|` and `delete`,
    # found together only in frank's event; nothing is deleted and no command is added
    seen = []
    q = '* [search user=erin | eval search="| delete" | fields search] | table user'
    compiled = compile_search(q, make_ctx(run_subsearch=_subsearches(EVENTS, seen)))
    assert [type(c).__name__ for c in compiled.ast.commands] == ["SearchCmd", "TableCmd"]
    assert not ast.contains(compiled.ast, (ast.Subsearch,))
    assert users('* [search user=erin | eval search="| delete" | fields search]') == ["frank"]
    # a command after a pipe stays terms: `user=bob`, `|`, `stats`, `count` (no event has them all)
    assert users('* [search user=erin | eval search="user=bob | stats count" | fields search]') == []
    # `[` ... `]` is no subsearch: the field value "[x]" and the term "[x]" (dave's event)
    assert users('* [search user=erin | eval search="code=[x]" | fields search]') == ["dave"]
    assert users('* [search user=erin | eval search="[x]" | fields search]') == ["dave"]
    assert users('* [search user=erin | eval search="[| inputlookup secrets.csv]" | fields search]') == []
    # the value as a field value: path="/a|b"
    assert users('* [search user=erin | eval search="path=/a|b" | fields search]') == ["carol"]
    # a backtick is no macro
    assert users('* [search user=erin | eval search="`evil` user=carol" | fields search]') == []


def test_text_that_does_not_parse_is_an_error_at_the_subsearch():
    q = '* [search user=erin | eval search="alice) | delete | search (bob" | fields search] | table user'
    with pytest.raises(SplSyntaxError) as err:
        compile_search(q, make_ctx(run_subsearch=_subsearches(EVENTS)))
    assert "does not parse" in err.value.message and "alice) | delete" in err.value.message
    assert (err.value.pos.start, err.value.pos.end) == (2, q.index("] | table") + 1)
    with pytest.raises(SplSyntaxError, match="does not parse"):
        compile_search('* [search user=erin | eval search="user=\\"bob" | fields search]',
                       make_ctx(run_subsearch=_subsearches(EVENTS)))


def _subsearches_with_steps(rows, seen=None):
    """As `_subsearches`: the steps after the search (outputlookup...) are carried out there too."""
    return _subsearches(rows, seen)


def test_outputlookup_inside_a_subsearch_writes_and_its_results_filter(tmp_path):
    # Splunk runs the subsearch first, as a search of its own: status>=500 is alice (web1) and dave (web2);
    # stats by host writes hot.csv (sorted by host), then `where`/`fields` after outputlookup give the
    # filter host="web1" OR host="web2": alice, bob (web1), carol, dave (web2), newest first
    seen = []
    q = "* [search status>=500 | stats count by host | outputlookup hot.csv | where count>0 | fields host]"
    got = rows_of(f"{q} | table user", EVENTS, "user", run_subsearch=_subsearches_with_steps(EVENTS, seen),
                  lookups_dir=tmp_path)
    assert got == ["alice", "bob", "carol", "dave"]
    assert (tmp_path / "hot.csv").read_text().splitlines() == ["host,count", "web1,1", "web2,1"]
    assert [s["kind"] for s in seen[0].post][:1] == ["outputlookup"]


def test_outputcsv_inside_a_subsearch_runs_first_too(tmp_path):
    q = "* [search user=erin | table host | outputcsv erin_hosts] | table user"
    got = rows_of(q, EVENTS, "user", run_subsearch=_subsearches_with_steps(EVENTS), lookups_dir=tmp_path)
    # host=db1: erin and frank
    assert got == ["erin", "frank"]
    assert (tmp_path.parent / "csv" / "erin_hosts.csv").read_text().splitlines() == ["host", "db1"]


def test_steps_after_the_search_stay_refused_inside_without_a_runner_or_with_collect(tmp_path):
    # compiling alone (no runner: nothing runs first), and collect / sendemail in a subsearch
    q = "* [search user=erin | eval x=1 | outputlookup out.csv | return $x]"
    with pytest.raises(SplUnsupportedError, match="outputlookup inside a subsearch"):
        compile_search(q, make_ctx(lookups_dir=tmp_path))
    with pytest.raises(SplUnsupportedError, match="collect inside a subsearch"):
        compile_search("* [search user=erin | outputlookup out.csv | collect index=summary | fields host]",
                       make_ctx(run_subsearch=_subsearches_with_steps(EVENTS), lookups_dir=tmp_path))
    assert not (tmp_path / "out.csv").exists()


def test_maxout():
    # 10,001 results: the first 10,000 are used (the same row, once), and the searcher is told
    many = ev(*[(-100 - i, f"n={i}") for i in range(10_001)])
    q = '* [search n=* | eval search="user=alice" | fields search] | table user'
    compiled = compile_search(q, make_ctx(run_subsearch=_subsearches(many)))
    assert any("10,000" in m for m in compiled.messages)
    assert compiled.ast.commands[0].expr.items[1] == ast.FieldCmp("user", "=", "alice", False)


def test_without_a_runner_it_is_refused():
    with pytest.raises(SplUnsupportedError, match="runs before the search"):
        run("* [search status=500 | return $user]", rows=EVENTS)


def test_too_many_values_of_search_text_are_refused():
    # 1,001 distinct values: each would be a term compiled into the search (1,000 took ~9 s of
    # compiling and 300 MB); the search is refused at the subsearch, with the way out
    many = ev(*[(-100 - i, f"n={i}") for i in range(1_001)])
    q = '* [search n=* | eval search="n=".n | fields search] | table user'
    with pytest.raises(SplUnsupportedError, match="more than 1,000 values"):
        compile_search(q, make_ctx(run_subsearch=_subsearches(many)))
    # one row holding 1,001 values (a multivalue field) counts every value
    q = '* [search n=0 | eval search=mvrange(0, 1001) | fields search] | table user'
    with pytest.raises(SplUnsupportedError, match="more than 1,000 values"):
        compile_search(q, make_ctx(run_subsearch=_subsearches(many)))


def test_a_map_run_does_not_write_through_a_subsearch(tmp_path):
    # map refuses writing commands in its search; a subsearch that would write is refused in its runs too
    from speleo.query.post import collect_messages

    q = ('| makeresults | eval h="web1" | map search="search host=$h$ '
         '[search status=500 | table host | outputlookup m.csv] | table user"')
    with collect_messages() as said:
        got = rows_of(q, EVENTS, "user", run_subsearch=_subsearches_with_steps(EVENTS), lookups_dir=tmp_path)
    assert got == [] and not (tmp_path / "m.csv").exists()
    assert any("cannot hold outputlookup" in m for m in said)
