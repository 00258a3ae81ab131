"""Hostile input never reaches SQL text unquoted; nothing but SplError escapes."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from speleo.errors import SplError
from speleo.spl import MacroDef, compile_search, macro_table, parse
from tests.spl.conftest import EVENTS, make_ctx, run

HOSTILE = ["'", "''", "\\", "\\'", ";", "--", "/*", "*/", "DROP TABLE __events__", "'; DROP TABLE x; --",
           '\\"', "%", "_", "$1", "\x00x", "é", "NULL", "select"]


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_values_are_literals(value):
    quoted = value.replace("\\", "\\\\").replace('"', '\\"')
    for q in [f'"{quoted}"', f'user="{quoted}"', f'| where user="{quoted}"', f'x | eval a="{quoted}" | table a',
              f'| stats count by "{quoted}"', f'user!="{quoted}" | table user']:
        rows = run(q)
        assert isinstance(rows, list)
    rows = run(f'status=404 | eval a="{quoted}" | table a')
    assert rows == [{"a": value}]


@pytest.mark.parametrize("name", ["a'b", 'a"b', "a;b", "select", "a--b", "a/*b", "a b"])
def test_hostile_field_names(name):
    esc = name.replace('"', '\\"')
    rows = run(f'status=404 | eval "{esc}"=1 | table "{esc}"')
    assert rows == [{name: 1}]
    rows = run(f'status=404 | stats count as "{esc}"')
    assert rows == [{name: 1}]


def test_like_metacharacters_in_values_are_escaped():
    rows = [(-1, "v=50%off", "h", "t"), (-2, "v=50xoff", "h", "t")]
    assert len(run('v="50%off"', rows)) == 1
    assert len(run('v="50%*"', rows)) == 1
    assert len(run('"50%off"', rows)) == 1


def test_no_table_dropped():
    con = duckdb.connect()
    from tests.spl.conftest import events_table
    con.register("__events__", events_table())
    c = compile_search("x'; DROP TABLE __events__; -- | stats count", make_ctx())
    con.sql(c.sql).fetchall()
    assert con.sql("SELECT count(*) FROM __events__").fetchall()[0][0] == len(EVENTS)


ALPHABET = st.sampled_from(list("ab =!<>()\"',|*[]`\\-+.%$@:;") + ["AND", "OR", "NOT", "IN", "| stats ",
                            "| eval ", "| where ", "count", "by", "as", "| sort ", "| top ", "| rex ", "earliest=",
                            "| timechart span=1h ", "if(", "| head ", "| table ", "| rename ", "| dedup ", "-7d@d",
                            "| bin ", "| fillnull ", "| eventstats ", "perc95(", "values(", "\n",
                            "| tstats ", "from ", "datamodel=", "where ", "span=1h ", "| convert ", "ctime(",
                            "timeformat=", "| spath ", "path=", "| lookup ", "OUTPUT ", "| inputlookup ", "| join ",
                            "| appendpipe ", "| transaction ", "startswith=", "| foreach ", "<<FIELD>>", "| chart ",
                            "over ", "| streamstats ", "| regex ", "| makeresults ", "count=", "| mvexpand ",
                            ".* as *", "eval(", "| replace ", "with ", "mvindex(", "split(", "cidrmatch(",
                            "json_extract(", "relative_time(", "tostring(", "[search ", "{}"])


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(ALPHABET, max_size=25).map("".join))
def test_fuzz_only_spl_errors(query):
    try:
        compiled = compile_search(query, make_ctx())
    except SplError:
        return
    assert isinstance(compiled.sql, str)


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=60))
def test_fuzz_any_text(query):
    try:
        parse(query)
    except SplError:
        pass


DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "spl-corpus"


def test_corpus_parse_rate(capsys):
    searches = DATA / "security_content_searches.jsonl"
    if not searches.exists():
        pytest.skip("spl corpus not available")
    macros = macro_table(json.loads(line) for line in (DATA / "security_content_macros.jsonl").open())
    # Stand-ins for macros the corpus uses but does not ship: Splunk ES's standard
    # drop_dm_object_name, and the per-detection `*_filter` macros (empty by default).
    macros["drop_dm_object_name(1)"] = MacroDef("drop_dm_object_name", "rename $name$.* as *", ("name",))
    for line in searches.open():
        for name in re.findall(r"`([a-z0-9_]+_filter)`", json.loads(line)["search"]):
            macros.setdefault(name, MacroDef(name, "search *"))
    total = parsed = compiled = 0
    missing_parse: Counter[str] = Counter()
    missing_compile: Counter[str] = Counter()
    for line in searches.open():
        query = json.loads(line)["search"]
        total += 1
        try:
            parse(query, macros)
            parsed += 1
        except SplError as e:
            missing_parse[_piece(e)] += 1
            continue
        try:
            compile_search(query, make_ctx(macros=macros))
            compiled += 1
        except SplError as e:
            missing_compile[_piece(e)] += 1
    with capsys.disabled():
        print(f"\nSPL corpus: {parsed}/{total} parse ({100 * parsed / total:.1f}%), "
              f"{compiled}/{total} compile ({100 * compiled / total:.1f}%)")
        print("  not parsed: " + "; ".join(f"{n} x {k}" for k, n in missing_parse.most_common(8)))
        print("  not compiled: " + "; ".join(f"{n} x {k}" for k, n in missing_compile.most_common(8)))
    assert parsed / total >= 0.98


def _piece(e: SplError) -> str:
    """The missing piece an error names: its message without the 'found ...' tail."""
    text = str(e.message if hasattr(e, "message") else e).splitlines()[0]
    return re.sub(r"\s*\([^)]*\)", "", re.sub(r",? found .*$", "", text))[:80]
