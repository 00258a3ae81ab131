"""The summary-indexing commands sistats, sitop, sirare, sichart and sitimechart.

Splunk Search Reference: sistats, sitop, sirare, sichart, sitimechart. In Splunk each produces
the "prestats" form of its non-si counterpart, to be written into a summary index with `collect`
(or a scheduled search's summary_index action); `stats`/`top`/`rare`/`chart`/`timechart` over
that summary index, or straight after the si* command, then give the answer the non-si command
gives over the original events.

Speleo's prestats form is the one `tstats prestats=t` already uses: the events themselves,
here narrowed to the fields the statistics read (`_time`, the by/over fields, the functions'
fields, the fields an `eval(...)` argument names) and turned into results. Every later command
therefore computes exactly what it computes over the original events, for every function
(dc, median, percentiles and values included, which Splunk's partial sums only approximate or
keep as value lists). Through `collect` each row becomes one stash event (its `_time`, its
`host`, the fields as indexed fields: speleo.alerts.actions.summary_index), so
`index=summary | stats ...` reads the same fields back. The price: the summary index holds one
event per original event instead of one row per group (docs/spl.md says so).

Errors: a wildcard field (`avg(x*)`) is refused, as the fields it would match are not known
when the search is compiled.
"""

from __future__ import annotations

from speleo.spl import ast
from speleo.spl.commands.fields import _project
from speleo.spl.state import State

# si-command -> the command that reads its output
COUNTERPART = {"sistats": "stats", "sitop": "top", "sirare": "rare", "sichart": "chart", "sitimechart": "timechart"}


def _agg_fields(aggs: list[ast.Agg]) -> list[str]:
    out: list[str] = []
    for a in aggs:
        if a.expr is not None:
            out += sorted(ast.field_names([a.expr]))
        elif a.arg:
            out.append(a.arg)
    return out


def prestats_fields(cmd: ast.Command) -> list[str]:
    """The fields the counterpart command reads, `_time` first (timechart, sparklines, earliest/
    latest and per_* functions need it; collect stamps each summary event with it)."""
    if isinstance(cmd, ast.TopCmd):
        names = list(cmd.by) + list(cmd.fields)
    elif isinstance(cmd, ast.StatsCmd):
        names = list(cmd.by) + _agg_fields(cmd.aggs)
    elif isinstance(cmd, ast.ChartCmd):
        names = ([cmd.over] if cmd.over else []) + list(cmd.by) + _agg_fields(cmd.aggs)
    elif isinstance(cmd, ast.TimechartCmd):
        names = ([cmd.by] if cmd.by else []) + _agg_fields(cmd.aggs)
    else:   # pragma: no cover - the command table pairs each si-command with one of the above parsers
        raise TypeError(type(cmd).__name__)
    return list(dict.fromkeys(["_time", *names]))


def compile_prestats(word: str):
    """The compiler of si-command `word`: project the events onto `prestats_fields`."""
    def compile_si(state: State, cmd: ast.Command) -> None:
        names = prestats_fields(cmd)
        wild = [n for n in names if "*" in n]
        if wild:
            raise state.fail(f"{word}: the wildcard field {wild[0]!r} is not supported (name the fields; Speleo "
                             f"keeps the fields {COUNTERPART[word]} will read, and a wildcard's are not known "
                             "before the events are read)", cmd)
        _project(state, [(n, state.field(n)) for n in names])
        state.events = False
        state.transforming = True
    compile_si.__doc__ = f"Splunk Search Reference: {word}. See speleo.spl.commands.summarycmds."
    return compile_si
