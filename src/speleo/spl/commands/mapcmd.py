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
    """The commands of a pipeline, by kind and name, and how many subsearches it holds: a run
    whose values changed them (a value holding `| delete` or `[| inputlookup ...]`) is skipped,
    so data cannot add commands to the search."""
    return [f"{type(c).__name__}:{getattr(c, 'name', '')}" for c in pipeline.commands] + \
        [f"subsearches:{_subsearches(pipeline)}"]


def _subsearches(node) -> int:
    import dataclasses

    if isinstance(node, ast.Subsearch):
        return 1 + _subsearches(node.pipeline)
    if isinstance(node, (list, tuple)):
        return sum(_subsearches(x) for x in node)
    if dataclasses.is_dataclass(node) and not isinstance(node, type):
        return sum(_subsearches(getattr(node, f.name)) for f in dataclasses.fields(node))
    return 0


_TOKEN_IN_INDEX = re.compile(r"\bindex\s*(?:=|!=|\s+IN\s*\()[^|]*?\$[A-Za-z_]", re.I)
_TOKEN_IN_TIME = re.compile(r"\b(?:earliest|latest|starttime|endtime|starttimeu|endtimeu)\s*=\s*\S*\$[A-Za-z_]", re.I)


def sample_text(template: str, value: str = "0") -> str:
    """The template with every `$token$` replaced by `value`, to check it and plan what it reads."""
    return TOKEN.sub(value, template)


def _saved_template(state: State, cmd: ast.ArgsCmd, name: str) -> str:
    """The text of the saved search `name` (Splunk Search Reference: map, `<savedsplunkoption>`),
    from the home's saved searches (the same source as `| savedsearch`)."""
    from speleo.errors import SpeleoError

    look = getattr(state.ctx.macros, "saved_search", None)
    if look is None:
        raise state.fail("map with a saved search name needs a home's saved searches (none here)", cmd)
    try:
        text = look(name)
    except SpeleoError as e:
        raise state.fail(f"map {name}: {e}", cmd) from None
    return text


def compile_map(state: State, cmd: ast.ArgsCmd, append: bool = False, then: list | None = None) -> None:
    """Splunk Search Reference: map. `map search="<search>" [maxsearches=<int>]`: for each of the
    first `maxsearches` results (default 10), the search with every `$field$` replaced by that
    result's value of the field (`$_serial_id$`: the result's number, from 1; a field the result
    lacks: nothing) runs over the events of this search's time range, and the results of all
    the runs, in order, are map's results. Each run keeps at most `MAX_ROWS_PER_SEARCH` rows.
    The template is checked when the search compiles (tokens read as 0, or 1 where 0 is
    refused); a run whose values change its commands (a value holding `| ...` or a subsearch)
    or do not make a search is skipped and said (query/post.py `say`). `map <name>`: the saved
    search of that name is the template ("<savedsplunkoption>"). It runs on the result after DuckDB
    (query/post.py `_map`), on the search's connection; on ClickHouse the search runs on
    DuckDB. `append` (`appendpipe [| map ... | <then>]`): the runs' results, through the
    commands `then` (compiled over their table, query/post.py `_pipeline`), come after the input
    results instead of replacing them."""
    from speleo.spl.compiler import _indexes, build_state, parse_expanded

    options(state, cmd, {"search", "maxsearches"})
    template = cmd.options.get("search")
    if template is None and len(cmd.args) == 1:
        template = _saved_template(state, cmd, cmd.args[0])
    elif template is None:
        raise state.fail('map needs search="<search>" or the name of a saved search, as in '
                         'map search="search index=main user=$user$"', cmd)
    elif cmd.args:
        raise state.fail("map takes search=\"...\" or a saved search's name, not both", cmd)
    try:
        most = int(cmd.options.get("maxsearches", DEFAULT_MAXSEARCHES))
    except ValueError:
        raise state.fail("map maxsearches= must be a whole number", cmd) from None
    if not 1 <= most <= MAX_MAXSEARCHES:
        raise state.fail(f"map maxsearches= must be between 1 and {MAX_MAXSEARCHES:,}", cmd)
    if not template.strip():
        raise state.fail('map search= is empty: write the search to run, as map search="search user=$user$"', cmd)
    # The template is compiled with its tokens read as 0, to check it and learn what it reads.
    # Where a token stands for an index or a time, the plan reads every index the searcher may
    # (or all time) and each run's own filter narrows it; a template that needs real values to
    # compile at all (`| inputlookup $name$`, a span) is checked run by run instead.
    from speleo.errors import SplError

    try:
        pipeline, text = parse_expanded(sample_text(template), state.ctx.macros)
    except SplError as e:
        try:   # a token where 0 is refused (span=$s$): read as 1
            pipeline, text = parse_expanded(sample_text(template, "1"), state.ctx.macros)
        except SplError:
            raise state.fail(f"map's search does not parse with its tokens read as 0 ({e.message}); a token "
                             "may stand for values, not for a macro name or a command", cmd) from None
    try:
        inner, earliest, latest, top = build_state(pipeline, text, state.ctx)
    except SplError:
        if not TOKEN.search(template):
            raise                                     # no token: the template itself is wrong
        inner, earliest, latest, top = None, None, None, None
    if inner is not None and inner.post:
        raise state.fail("map's search cannot itself hold outputlookup, cluster or another step on its results", cmd)
    indexes = None if inner is None or _TOKEN_IN_INDEX.search(template) else _indexes(top)
    if inner is None or _TOKEN_IN_TIME.search(template):
        earliest, latest = None, None
    state.subs.append((earliest, latest, indexes))
    if inner is not None:
        state.subs.extend(inner.subs)
    columns = [c for c in inner.columns if not c.startswith("__speleo")] if inner is not None else []
    # events of a run carry the search-time fields the commands after map name (a table after
    # DuckDB has no extraction of its own)
    named = ast.field_names(list(then or []) + list(state.later))
    later = sorted(n for n in named if _SIMPLE_NAME.match(n) and n not in columns)
    step = {"kind": "map", "template": template, "max": most, "ctx": _without_summaries(state.ctx), "fields": later, "append": append,
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


def _without_summaries(ctx):
    """The compile context of map's runs: they read the search's events, so a tstats in them
    computes from the events (acceleration summaries would need their own `__events__`). A
    subsearch of a run that would write (`[search ... | outputlookup t]`, which runs first:
    spl/rawsub.py) is refused as map refuses writing commands in its search (query/post.py)."""
    import dataclasses

    from speleo.errors import SplError
    from speleo.spl.commands.datamodel import knowledge_of_ctx
    from speleo.spl.rawsub import FILE_WRITERS, SINKS, _post_kinds

    k = knowledge_of_ctx(ctx)
    ctx = dataclasses.replace(ctx, knowledge=dataclasses.replace(
        k, summaries_off="inside map tstats computes from the events"))
    run = ctx.run_subsearch
    if run is None:
        return ctx

    def no_writes(compiled, limit: int):
        if any(kind in FILE_WRITERS + SINKS for kind in _post_kinds(compiled.post)):
            raise SplError("map's search cannot hold outputlookup or outputcsv, in a subsearch either")
        return run(compiled, limit)
    return dataclasses.replace(ctx, run_subsearch=no_writes)
