"""Commands after a post step, and transpose.

A post step (outputlookup, cluster, transpose, fromjson / xmlkv on results: query/post.py)
runs on the Arrow result after DuckDB. The commands after it are kept in a "pipeline" post
step: when the search runs, the table the post steps produced is registered in DuckDB and
those commands are compiled over it with its real columns (`compile_continuation`), then
run. They are also compiled once when the search is compiled, over the columns the post
step is expected to give, so that errors show up before the search runs.
"""

from __future__ import annotations

from sqlglot import exp

from speleo.spl import ast
from speleo.spl.commands.rows import STORAGE_COLUMNS, known, options
from speleo.spl.cursor import as_bool
from speleo.spl.state import ORD, col, State, tbl

POST_TABLE = "__speleo_post"


def compile_transpose(state: State, cmd: ast.ArgsCmd) -> None:
    """Splunk Search Reference: transpose. `transpose [N] [column_name=<name>]
    [header_field=<field>] [include_empty=<bool>]`: the first N results (default 5; 0 = all)
    become columns and the fields become rows. The first column (`column_name`, default
    "column") holds the field names; the result columns are "row 1", "row 2"... or the values
    of `header_field` (that field is then not a row). `include_empty=false` leaves out the
    fields with no value in any of the results. Values are text (multivalue values joined by
    newlines). It runs on the Arrow result after DuckDB (its columns depend on the data)."""
    options(state, cmd, {"column_name", "header_field", "include_empty"})
    if len(cmd.args) > 1:
        raise state.fail("transpose takes one number", cmd)
    try:
        n = int(cmd.args[0]) if cmd.args else 5
    except ValueError:
        raise state.fail(f"transpose expects a number of results, not {cmd.args[0]!r}", cmd) from None
    if n < 0:
        raise state.fail("transpose expects a number of results >= 0", cmd)
    name = cmd.options.get("column_name", "column")
    header = cmd.options.get("header_field")
    predicted = [name] + ([f"row {k}" for k in range(1, n + 1)] if not header else [])
    state.post.append({"kind": "transpose", "n": n, "column_name": name, "header_field": header,
                       "include_empty": as_bool(cmd.options.get("include_empty", "true")),
                       "skip": list(STORAGE_COLUMNS), "columns": predicted})
    state.transforming = True


def _expected_columns(state: State, step: dict) -> list[str]:
    if "columns" in step:
        return list(step["columns"])
    cols = known(state)
    if step["kind"] == "cluster":
        cols += [step["labelfield"]] + ([step["countfield"]] if step.get("showcount") else [])
        cols += ["cluster_template"] if step.get("showtemplate") else []
    return list(dict.fromkeys(cols))


def _table_state(state_or_ctx, query: str, columns: list[str], table: str) -> State:
    ctx = state_or_ctx.ctx if isinstance(state_or_ctx, State) else state_or_ctx
    st = State(ctx=ctx, query=query, select=exp.select(exp.Star()).from_(exp.Table(this=exp.to_identifier(table, quoted=True))),
               columns=[c for c in columns if c != ORD], events=False, transforming=True)
    st.set_order([exp.Ordered(this=col(ORD))], {ORD})
    st.hidden_ord = True
    st.top_level = True   # the steps it adds are applied after it (compile_continuation returns them)
    if isinstance(state_or_ctx, State):
        st.time_range = state_or_ctx.time_range   # addinfo after a post step: the search's range
    return st


def defer_after_post(state: State, cmd: ast.Command) -> bool:
    """Called before each command: after a post step, the command is kept for later (and
    compiled once over the expected columns, for its errors). True when it was kept."""
    if not state.post:
        return False
    from speleo.spl.compiler import compile_commands

    last = state.post[-1]
    if last["kind"] != "pipeline":
        expected = _expected_columns(state, last)
        last = {"kind": "pipeline", "commands": [], "query": state.query, "ctx": state.ctx,
                "probe": _table_state(state, state.query, expected, POST_TABLE),
                "time_range": tuple(state.time_range)}
        state.post.append(last)
    probe: State = last["probe"]
    before = len(probe.subs)
    compile_commands(probe, [cmd])
    state.subs.extend(probe.subs[before:])
    last["commands"].append(cmd)
    if probe.transforming:
        state.transforming = True
    return True


def compile_continuation(step: dict, columns: list[str], table: str) -> tuple[str, list]:
    """SQL of the kept commands over `table` (its columns and a hidden `__speleo_ord` with the
    row order), and the post steps they add."""
    from speleo.spl.compiler import _final_sql, compile_commands

    st = _table_state(step["ctx"], step["query"], columns, table)
    st.time_range = tuple(step.get("time_range") or (None, None))   # addinfo, timechart bounds
    compile_commands(st, step["commands"])
    from speleo.spl.commands.opscmds import finish_formats

    finish_formats(st)
    return _final_sql(st), list(st.post)
