"""gentimes (Splunk Search Reference: gentimes): one result per time range."""

from __future__ import annotations

import datetime as dt
import re

from sqlglot import exp

from speleo.spl import ast
from speleo.spl.nodes import StrfTime
from speleo.spl.state import ORD, State, col, ident

MAX_ROWS = 10_000
_DATE = re.compile(r"(\d\d?)/(\d\d?)/(\d{4})(?::(\d\d?):(\d\d):(\d\d))?")
_STEP = re.compile(r"(\d+)([smhd]?)")


def _when(state: State, value: str, cmd: ast.ArgsCmd) -> dt.datetime:
    """MM/DD/YYYY[:HH:MM:SS] in the search's zone, or a whole number of days from today's midnight
    (negative: in the past)."""
    tz = state.ctx.tz
    midnight = dt.datetime.fromtimestamp(state.ctx.now, tz).replace(hour=0, minute=0, second=0, microsecond=0)
    if re.fullmatch(r"-?\d+", value):
        return midnight + dt.timedelta(days=int(value))
    m = _DATE.fullmatch(value)
    if not m:
        raise state.fail(f"gentimes: {value!r} is not MM/DD/YYYY[:HH:MM:SS] or a number of days", cmd)
    month, day, year, hh, mm, ss = (int(g) if g else 0 for g in m.groups())
    try:
        return dt.datetime(year, month, day, hh, mm, ss, tzinfo=tz)
    except ValueError as e:
        raise state.fail(f"gentimes: {value!r} is not a valid date ({e})", cmd) from None


def compile_gentimes(state: State, cmd: ast.ArgsCmd) -> None:
    """`| gentimes start=<time> [end=<time>] [increment=<n>[s|m|h|d]]`: results with `starttime`
    and `endtime` (epoch seconds; endtime is one second before the next range starts) and
    `starthuman` / `endhuman`, from start up to end (default: today's midnight; exclusive);
    increment default 1d (days follow the calendar in the search's zone). At most 10,000."""
    unknown = set(cmd.options) - {"start", "end", "increment"}
    if unknown or cmd.args:
        raise state.fail("gentimes takes start=, end= and increment=", cmd)
    if "start" not in cmd.options:
        raise state.fail("gentimes needs start=", cmd)
    start = _when(state, cmd.options["start"], cmd)
    end = _when(state, cmd.options.get("end", "0"), cmd)
    m = _STEP.fullmatch(cmd.options.get("increment", "1d"))
    if not m or int(m.group(1)) < 1:
        raise state.fail("gentimes increment= must be a positive number with s, m, h or d", cmd)
    n, unit = int(m.group(1)), m.group(2) or "s"
    step = dt.timedelta(days=n) if unit == "d" else dt.timedelta(seconds=n * {"s": 1, "m": 60, "h": 3600}[unit])
    rows: list[tuple[float, float]] = []
    t = start
    while t < end:
        nxt = (t.replace(tzinfo=None) + step).replace(tzinfo=t.tzinfo) if unit == "d" else t + step
        if len(rows) >= MAX_ROWS:
            raise state.fail(f"gentimes would make more than {MAX_ROWS:,} results", cmd)
        rows.append((t.timestamp(), nxt.timestamp() - 1))
        t = nxt
    double = exp.DataType.build("DOUBLE[]")
    starts = exp.Cast(this=exp.Array(expressions=[exp.Literal.number(repr(a)) for a, _ in rows]), to=double)
    ends = exp.Cast(this=exp.Array(expressions=[exp.Literal.number(repr(b)) for _, b in rows]), to=double.copy())
    idx = exp.Anonymous(this="generate_subscripts", expressions=[starts.copy(), exp.Literal.number(1)])
    inner = exp.select(exp.alias_(exp.Anonymous(this="unnest", expressions=[starts]), ident("starttime")),
                       exp.alias_(exp.Anonymous(this="unnest", expressions=[ends]), ident("endtime")),
                       exp.alias_(idx, ident(ORD)))
    human = "%a %b %d %H:%M:%S %Y"
    state.ctes = []
    state.select = exp.select(
        col("starttime"), col("endtime"),
        exp.alias_(StrfTime(this=col("starttime"), format=exp.Literal.string(human), tz=state.tz_literal()),
                   ident("starthuman")),
        exp.alias_(StrfTime(this=col("endtime"), format=exp.Literal.string(human), tz=state.tz_literal()),
                   ident("endhuman")),
        col(ORD)).from_(inner.subquery("__speleo_g"))
    state.columns = ["starttime", "endtime", "starthuman", "endhuman"]
    state.events = False
    state.transforming = True
    state.set_order([exp.Ordered(this=col(ORD))], {ORD})
    state.hidden_ord = True
    state.events_sql = None
