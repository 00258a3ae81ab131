"""autoregress and require (Splunk Search Reference: autoregress, require)."""

from __future__ import annotations

import re

from sqlglot import exp

from speleo.spl import ast
from speleo.spl.commands.reshape import _opts, _prev
from speleo.spl.commands.stats import _assign
from speleo.spl.state import State, tbl


def compile_autoregress(state: State, cmd: ast.ArgsCmd) -> None:
    """`autoregress <field> [AS <newfield>] [p=<n>|<start>-<end>]`: copies of the field's value
    from n results earlier (in the current order) into `<field>_p<n>` for each n of the range
    (default p=1); `AS` names the copy when there is one. The first results get no value."""
    _opts(state, cmd, {"p"})
    args = cmd.args
    if len(args) == 3 and args[1].lower() == "as":
        field, alias = args[0], args[2]
    elif len(args) == 1:
        field, alias = args[0], None
    else:
        raise state.fail("autoregress takes one field [AS newfield] [p=<n>|<start>-<end>]", cmd)
    m = re.fullmatch(r"(\d+)(?:-(\d+))?", cmd.options.get("p", "1"))
    if not m or int(m.group(1)) < 1 or (m.group(2) and int(m.group(2)) < int(m.group(1))):
        raise state.fail("autoregress p= must be a number of results (1 or more) or a range such as 2-5", cmd)
    lags = range(int(m.group(1)), int(m.group(2) or m.group(1)) + 1)
    if alias is not None and len(lags) > 1:
        raise state.fail("autoregress AS names one copy: use it with a single p", cmd)
    names = [alias] if alias else [f"{field}_p{n}" for n in lags]
    state.protect_order(set(names))
    for name, n in zip(names, lags):
        _assign(state, name, _prev(state, state.field(field), n))


def compile_require(state: State, cmd: ast.ArgsCmd) -> None:
    """The search fails ("require: the search returned no results") when the commands before
    `require` give no results; otherwise the results pass unchanged."""
    _opts(state, cmd, set())
    if cmd.args:
        raise state.fail("require takes no arguments", cmd)
    state.wrap()
    src = state.select.args["from_"].this.copy()
    none = exp.EQ(this=exp.Count(this=exp.Star()), expression=exp.Literal.number(0))
    fail = exp.Anonymous(this="error", expressions=[exp.Literal.string(
        "require: the search before `require` returned no results")])
    guard = exp.select(exp.Case(ifs=[exp.If(this=none, true=fail)], default=exp.true())).from_(tbl(src))
    state.filter(exp.Subquery(this=guard))
