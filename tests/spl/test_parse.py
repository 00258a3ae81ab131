"""SPL -> AST goldens, errors with positions, time modifiers, macros."""

from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from speleo.errors import SplSyntaxError, SplUnsupportedError
from speleo.spl import MacroDef, ast, parse, parse_relative_time

GOLDEN = [
    ("error", "Pipeline(commands=[SearchCmd(expr=Term(text='error', quoted=False))])"),
    ('a b OR c NOT "x y"',
     "Pipeline(commands=[SearchCmd(expr=And(items=[Term(text='a', quoted=False), Or(items=[Term(text='b', quoted=False), "
     "Term(text='c', quoted=False)]), Not(item=Term(text='x y', quoted=True))]))])"),
    ("status>=500 user!=bob x IN (1, \"2\") earliest=-7d@d",
     "Pipeline(commands=[SearchCmd(expr=And(items=[FieldCmp(field='status', op='>=', value='500', quoted=False), "
     "FieldCmp(field='user', op='!=', value='bob', quoted=False), FieldIn(field='x', values=['1', '2']), "
     "TimeBound(which='earliest', text='-7d@d')]))])"),
    ("| stats count, dc(user) as u by host",
     "Pipeline(commands=[StatsCmd(kind='stats', aggs=[Agg(func='count', arg=None, param=None, alias=None, label='count'), "
     "Agg(func='dc', arg='user', param=None, alias='u', label='dc(user)')], by=['host'])])"),
    ("x | eval y=a+2*b . \"s\"",
     "Pipeline(commands=[SearchCmd(expr=Term(text='x', quoted=False)), EvalCmd(assignments=[('y', BinOp(op='.', "
     "left=BinOp(op='+', left=Field(name='a'), right=BinOp(op='*', left=Num(text='2'), right=Field(name='b'))), "
     "right=Str(value='s')))])])"),
    ("x | sort 0 -count, +host | head 5",
     "Pipeline(commands=[SearchCmd(expr=Term(text='x', quoted=False)), SortCmd(keys=[SortKey(field='count', "
     "descending=True, mode='auto'), SortKey(field='host', descending=False, mode='auto')], limit=None), "
     "HeadCmd(count=5, tail=False)])"),
    ("x | timechart span=1h perc95(t) by host",
     "Pipeline(commands=[SearchCmd(expr=Term(text='x', quoted=False)), TimechartCmd(span='1h', aggs=[Agg(func='perc', "
     "arg='t', param=95.0, alias=None, label='perc95(t)')], by='host', limit=10)])"),
]


@pytest.mark.parametrize("query, expected", GOLDEN)
def test_ast_golden(query, expected):
    assert ast.dump(parse(query)) == expected


def test_positions_on_nodes():
    p = parse("foo | where x > 1")
    assert (p.commands[1].start, p.commands[1].end) == (6, 17)


@pytest.mark.parametrize("query, cls, start, suggestion", [
    ("x | stast count", SplSyntaxError, 4, "stats"),
    ("x | kmeans", SplUnsupportedError, 4, None),
    ("x | tstats count", SplSyntaxError, 4, None),
    ("x | stats foo(x)", SplUnsupportedError, 10, None),
    ("x | eval y=lenn(x)", SplUnsupportedError, 11, "len"),
    ('x "unterminated', SplSyntaxError, 2, None),
    ("x | ", SplSyntaxError, 2, None),
    ("x | where (a", SplSyntaxError, 12, None),
    ("x [search y]", SplUnsupportedError, 2, None),
])
def test_errors_have_positions(query, cls, start, suggestion):
    with pytest.raises(cls) as info:
        parse(query) if cls is SplSyntaxError or not any(w in query for w in ("stats foo", "eval", "[")) \
            else _compile(query)
    assert info.value.pos.start == start
    if suggestion:
        assert info.value.suggestion == suggestion


def _compile(query):
    from tests.spl.conftest import make_ctx
    from speleo.spl import compile_search
    return compile_search(query, make_ctx())


NOW = datetime(2024, 3, 13, 15, 30, 45, tzinfo=timezone.utc).timestamp()   # a Wednesday


@pytest.mark.parametrize("text, expected", [
    ("now", "2024-03-13 15:30:45"),
    ("-24h", "2024-03-12 15:30:45"),
    ("+1h", "2024-03-13 16:30:45"),
    ("@d", "2024-03-13 00:00:00"),
    ("-7d@d", "2024-03-06 00:00:00"),
    ("-1d@w0", "2024-03-10 00:00:00"),        # Sunday before (Tue 12th)
    ("@w1", "2024-03-11 00:00:00"),           # Monday
    ("-30m@h", "2024-03-13 15:00:00"),
    ("@mon", "2024-03-01 00:00:00"),
    ("-1mon", "2024-02-13 15:30:45"),
    ("@y", "2024-01-01 00:00:00"),
    ("@q", "2024-01-01 00:00:00"),
    ("@d+8h", "2024-03-13 08:00:00"),
    ("-h", "2024-03-13 14:30:45"),
    ("1700000000", "2023-11-14 22:13:20"),
    ("03/01/2024:10:00:00", "2024-03-01 10:00:00"),
])
def test_relative_time_utc(text, expected):
    got = parse_relative_time(text, NOW, timezone.utc)
    assert datetime.fromtimestamp(got, timezone.utc).strftime("%Y-%m-%d %H:%M:%S") == expected


def test_relative_time_snaps_in_local_zone():
    ny = ZoneInfo("America/New_York")
    got = parse_relative_time("@d", NOW, ny)
    assert datetime.fromtimestamp(got, ny).strftime("%Y-%m-%d %H:%M") == "2024-03-13 00:00"
    # DST started 2024-03-10 in New York: -3d@d is midnight local (EST, UTC-5)
    got = parse_relative_time("-3d@d", NOW, ny)
    assert got == datetime(2024, 3, 10, 5, 0, tzinfo=timezone.utc).timestamp()


@pytest.mark.parametrize("text", ["-24x", "yesterday", "@", "--1h", "rt-5m"])
def test_relative_time_errors(text):
    with pytest.raises(SplSyntaxError):
        parse_relative_time(text, NOW, timezone.utc)


def test_macros_expand():
    macros = {"web": MacroDef("web", "sourcetype=access"),
              "lim(1)": MacroDef("lim", "head $n$", ("n",))}
    p = parse("`web` GET | `lim(3)`", macros)
    assert ast.dump(p.commands[1]) == "HeadCmd(count=3, tail=False)"
    with pytest.raises(SplSyntaxError, match="unknown search macro"):
        parse("`nope`", macros)


@pytest.mark.parametrize("text", ["-10000y", "+9000y", "-99999999999s", "-1000000d", "-3000y@y"])
def test_time_modifier_out_of_range_is_a_syntax_error(text):
    """A range past year 1 or 9999 is the user's error, said as such (not a traceback)."""
    with pytest.raises(SplSyntaxError, match="out of range"):
        parse_relative_time(text, NOW, timezone.utc)


@pytest.mark.parametrize("q", [
    "x | head \u00b2", "x | sort \u00b2 host", "x | top \u00b2 host", "x | rare \u00b2 host", "x | return \u00b2 host",
    "x | tail \u00b2", "x | rex field=_raw \"(?<a>\\d)\" max_match=\u00b2", "x | multikv forceheader=\u00b2",
    "x | geostats binspanlat=\u00b2 count", "x | head \u0663", "x | top \u0663 host"])
def test_non_ascii_digits_are_not_numbers(q):
    # str.isdigit() accepts '²' and Arabic-Indic '٣': int() rejects the first (a ValueError escaped
    # the parser) and reads the second as 3. Neither is a number in SPL: a syntax error or a word.
    from speleo.errors import SpeleoError
    from speleo.spl.compiler import compile_search
    from tests.spl.conftest import make_ctx

    try:
        compile_search(q, make_ctx())
    except SpeleoError:
        pass
