"""map (Splunk Search Reference: map): a search run once per result."""

from __future__ import annotations

import re

from speleo.spl import ast
from speleo.spl.commands.rows import options
from speleo.spl.state import State

TOKEN = re.compile(r"\$([A-Za-z_][\w.]*)\$")
_SIMPLE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
DEFAULT_MAXSEARCHES = 10     # Splunk: maxsearches default
MAX_MAXSEARCHES = 1_000      # Speleo's bound on the searches one map may run
MAX_ROWS_PER_SEARCH = 50_000  # Splunk limits.conf maxresultrows default: rows kept of each search


def signature(pipeline: ast.Pipeline) -> list[str]:
    """The commands of a pipeline, by kind and name: a run whose values changed them (a value
    holding `| delete` or `]`) is refused, so data cannot add commands to the search."""
    return [f"{type(c).__name__}:{getattr(c, 'name', '')}" for c in pipeline.commands]


def sample_text(template: str) -> str:
    """The template with every `$token$` replaced by 0, to check it and plan what it reads."""
    return TOKEN.sub("0", template)


def compile_map(state: State, cmd: ast.ArgsCmd, append: bool = False, then: list | None = None) -> None:
    """Splunk Search Reference: map. `map search="<search>" [maxsearches=<int>]`: for each of the
    first `maxsearches` results (default 10), the search with every `$field$` replaced by that
    result's value of the field (`$_serial_id$`: the result's number, from 1; a field the result
    lacks: nothing) runs over the events of this search's time range, and the results of all
    the runs, in order, are map's results. Each run keeps at most `MAX_ROWS_PER_SEARCH` rows.
    The template is checked when the search compiles (tokens read as 0); a run whose values
    change its commands (a value holding `| ...`) is refused rather than run. A saved search name
    instead of `search=` is not supported. It runs on the result after DuckDB
    (query/post.py `_map`), on the search's connection; on ClickHouse the search runs on
    DuckDB. `append` (`appendpipe [| map ... | <then>]`): the runs' results, through the
    commands `then` (compiled over their table, query/post.py `_pipeline`), come after the input
    results instead of replacing them."""
    from speleo.spl.compiler import _indexes, build_state, parse_expanded

    options(state, cmd, {"search", "maxsearches"})
    template = cmd.options.get("search")
    if template is None:
        if cmd.args:
            raise state.fail("map with a saved search name is not supported: write map search=\"search ...\"", cmd)
        raise state.fail('map needs search="<search>", as in map search="search index=main user=$user$"', cmd)
    try:
        most = int(cmd.options.get("maxsearches", DEFAULT_MAXSEARCHES))
    except ValueError:
        raise state.fail("map maxsearches= must be a whole number", cmd) from None
    if not 1 <= most <= MAX_MAXSEARCHES:
        raise state.fail(f"map maxsearches= must be between 1 and {MAX_MAXSEARCHES:,}", cmd)
    sample = sample_text(template)
    pipeline, text = parse_expanded(sample, state.ctx.macros)
    inner, _earliest, _latest, top = build_state(pipeline, text, state.ctx)
    if inner.post:
        raise state.fail("map's search cannot itself hold outputlookup, cluster or another step on its results", cmd)
    # The runs read the events of any time their tokens may name: the plan is widened to all
    # time for the indexes the template names (the filters of each run still apply).
    state.subs.append((None, None, _indexes(top)))
    state.subs.extend(inner.subs)
    columns = [c for c in inner.columns if not c.startswith("__speleo")]
    # events of a run carry the search-time fields the commands after map name (a table after
    # DuckDB has no extraction of its own)
    named = ast.field_names(list(then or []) + list(state.later))
    later = sorted(n for n in named if _SIMPLE_NAME.match(n) and n not in columns)
    step = {"kind": "map", "template": template, "max": most, "ctx": state.ctx, "fields": later, "append": append,
            "signature": signature(pipeline)}
    if then:
        from speleo.spl.commands.continuation import POST_TABLE, _table_state
        from speleo.spl.compiler import compile_commands

        probe = _table_state(state, state.query, list(dict.fromkeys(columns + later)), POST_TABLE)
        compile_commands(probe, then)    # its errors now, before anything runs
        if probe.post:
            raise state.fail("inside appendpipe, the commands after map cannot hold another step on results", cmd)
        state.subs.extend(probe.subs)
        step["then"] = {"kind": "pipeline", "commands": then, "query": state.query, "ctx": state.ctx,
                        "time_range": tuple(state.time_range)}
        columns = [c for c in probe.columns if not c.startswith("__speleo")]
    if append:
        columns = list(dict.fromkeys([c for c in state.columns if not c.startswith("__speleo")] + columns))
    step["columns"] = columns
    state.post.append(step)
    state.transforming = True
