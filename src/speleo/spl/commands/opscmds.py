"""Commands of operations dashboards and reports: rangemap, concurrency, predict, fieldformat, setfields,
and highlight / iconify (Splunk Search Reference, one page each; cited per command)."""

from __future__ import annotations

import re

from sqlglot import exp

from speleo.spl import ast
from speleo.spl.commands.extra import read_options
from speleo.spl.commands.stats import _assign
from speleo.spl.cursor import Cursor
from speleo.spl.state import State
from speleo.spl.tokens import T, Token

_NUM = r"-?(?:\d+(?:\.\d*)?|\.\d+)"
_RANGE = re.compile(rf"^({_NUM})-({_NUM})$")


# --- rangemap ------------------------------------------------------------------------------------

def parse_rangemap(cur: Cursor, word: Token) -> ast.ArgsCmd:
    """Splunk Search Reference: rangemap. `rangemap field=<field> [<name>=<num>-<num>]...
    [default=<string>]`. A range's bounds are numbers (negative ones too: `Dislike=-5--1`), the
    first not above the second."""
    start = cur.peek()
    opts: dict[str, str] = {}
    ranges = []
    while not cur.at_end():
        key = cur.peek()
        if not (key.kind in (T.WORD, T.STRING) and cur.peek(1).kind is T.OP and cur.peek(1).value == "="):
            raise cur.error("expected field=<field>, <name>=<num>-<num> or default=<string>", key)
        cur.i += 2
        value = cur.next()
        if value.kind not in (T.WORD, T.STRING):
            raise cur.error(f"expected a value for {key.value}", value)
        if key.value.lower() in ("field", "default"):
            opts[key.value.lower()] = value.value
            continue
        m = _RANGE.match(value.value)      # the name is kept as written (it is what `range` shows)
        if not m:
            raise cur.error(f"rangemap {key.value}={value.value}: a range is <number>-<number>, such as 0-10 or "
                            "-5--1", value)
        lo, hi = float(m.group(1)), float(m.group(2))
        if lo > hi:
            raise cur.error(f"rangemap {key.value}={value.value}: the first number must not be above the second", value)
        if any(name == key.value for name, _, _ in ranges):
            raise cur.error(f"rangemap: the range {key.value} is given twice", key)
        ranges.append((key.value, lo, hi))
    if "field" not in opts:
        raise cur.error("rangemap needs field=<field>", start)
    node = ast.ArgsCmd("rangemap", {"field": opts["field"], "default": opts.get("default", "None")}, [])
    node.ranges = ranges            # type: ignore[attr-defined]
    return node


def compile_rangemap(state: State, cmd: ast.ArgsCmd) -> None:
    """The field `range` gets the names of the ranges holding the field's number, bounds
    included, in the order written; none (or a value that is not a number): `default` (the
    text "None" unless given). Overlapping ranges make `range` multivalue (Search Reference:
    "If you have overlapping values, the range field is created as a multivalue field"); without
    an overlap it is a single value. Attribute names are compared case-sensitively."""
    from speleo.spl.functions import text

    ranges = cmd.ranges   # type: ignore[attr-defined]
    value = exp.TryCast(this=text(state.field(cmd.options["field"])), to=exp.DataType.build("DOUBLE"))
    default = exp.Literal.string(cmd.options["default"])

    def inside(lo: float, hi: float) -> exp.Expression:
        return exp.Between(this=value.copy(), low=exp.Literal.number(repr(lo)), high=exp.Literal.number(repr(hi)))

    overlap = any(a[1] <= b[2] and b[1] <= a[2] for i, a in enumerate(ranges) for b in ranges[i + 1:])
    if not overlap:
        ifs = [exp.If(this=inside(lo, hi), true=exp.Literal.string(name)) for name, lo, hi in ranges]
        _assign(state, "range", exp.Case(ifs=ifs, default=default) if ifs else default)
        return
    # the names of the ranges that hold the value, in order; an empty list: [default]
    names = exp.Anonymous(this="list_filter", expressions=[
        exp.Array(expressions=[exp.Case(ifs=[exp.If(this=inside(lo, hi), true=exp.Literal.string(name))])
                               for name, lo, hi in ranges]),
        exp.Lambda(this=exp.Not(this=exp.Is(this=exp.to_identifier("x"), expression=exp.null())),
                   expressions=[exp.to_identifier("x")])])
    empty = exp.EQ(this=exp.Anonymous(this="len", expressions=[names.copy()]), expression=exp.Literal.number(0))
    _assign(state, "range", exp.Case(ifs=[exp.If(this=empty, true=exp.Array(expressions=[default]))], default=names),
            mv=True)


# --- setfields -----------------------------------------------------------------------------------

def parse_setfields(cur: Cursor, word: Token) -> ast.ArgsCmd:
    """Splunk Search Reference: setfields. `setfields <field>=<value>[, <field>=<value>]...`."""
    pairs: dict[str, str] = {}
    while not cur.at_end():
        if cur.accept(T.COMMA):
            continue
        name = cur.name("a field name")
        cur.expect(T.OP, "'='", "=")
        value = cur.peek()
        if value.kind in (T.WORD, T.STRING, T.NUMBER) and value.start == cur.tokens[cur.i - 1].end:
            pairs[name.value] = cur.next().value
        elif value.kind is T.STRING:
            pairs[name.value] = cur.next().value
        else:   # `c=` with nothing after it: an empty value
            pairs[name.value] = ""
    if not pairs:
        raise cur.error("expected <field>=<value>")
    return ast.ArgsCmd("setfields", pairs, [])


def compile_setfields(state: State, cmd: ast.ArgsCmd) -> None:
    """Every result gets each field set to its literal value (text), replacing what it held."""
    from speleo.spl.commands.rows import assign_many

    assign_many(state, {name: exp.Literal.string(value) for name, value in cmd.options.items()})
    for name in cmd.options:
        state.mv.discard(name)


# --- fieldformat ---------------------------------------------------------------------------------

def compile_fieldformat(state: State, cmd: ast.EvalCmd) -> None:
    """Splunk Search Reference: fieldformat. `fieldformat <field>=<eval-expression>` changes how
    a field is shown, not its value: every later command sees the value as it was, and the
    format is applied to the final results (`finish_formats`) when the field is still there.
    Commands that write results out (outputlookup, collect) get the values, unformatted, as the
    Reference says for exports."""
    state.formats.append(cmd)


def finish_formats(state: State) -> None:
    """Apply the fieldformat expressions kept in `state.formats` to the results (last first
    wins per field, as later formats replace earlier ones). With post steps pending (outputlookup,
    a table wildcard...), they are kept for the commands that run after those."""
    if not state.formats:
        return
    cmds, state.formats = state.formats, []
    last: dict[str, int] = {}   # a later fieldformat of a field replaces the earlier one (not formats its output)
    for i, c in enumerate(cmds):
        for name, _ in c.assignments:
            last[name] = i
    cmds = [ast.EvalCmd([(n, e) for n, e in c.assignments if last[n] == i], start=c.start, end=c.end)
            for i, c in enumerate(cmds)]
    cmds = [c for c in cmds if c.assignments]
    if state.post:
        from speleo.spl.commands.continuation import defer_after_post

        for c in cmds:
            defer_after_post(state, c)
        return
    from speleo.spl.commands.evalcmd import compile_eval

    for c in cmds:
        present = set(state.columns)
        if state.has_raw():   # a search-time field of the events is there too
            present |= {name for name, _ in c.assignments if not state.fields_kept and not state.removed(name)}
        kept = [(name, expr) for name, expr in c.assignments if name in present]
        if kept:
            compile_eval(state, ast.EvalCmd(kept, start=c.start, end=c.end))


# --- highlight, iconify ----------------------------------------------------------------------------

def parse_display_only(cur: Cursor, word: Token) -> ast.ArgsCmd:
    """Splunk Search Reference: highlight (`highlight <string>...`), iconify (`iconify
    <field>...`): how Splunk Web shows events, not what a search returns."""
    args = []
    while not cur.at_end():
        if cur.accept(T.COMMA):
            continue
        args.append(cur.next().value)
    if not args:
        raise cur.error(f"{word.value.lower()} needs at least one {'term' if word.is_word('highlight') else 'field'}")
    return ast.ArgsCmd(word.value.lower(), {}, args)


def compile_display_only(state: State, cmd: ast.ArgsCmd) -> None:
    """No change to the results: highlight and iconify only change how Splunk Web draws them
    (Speleo's search page highlights the search's own terms)."""


# --- concurrency ---------------------------------------------------------------------------------

def parse_concurrency(cur: Cursor, word: Token) -> ast.ArgsCmd:
    """Splunk Search Reference: concurrency. `concurrency duration=<field> [start=<field>]
    [output=<field>]`."""
    start = cur.peek()
    opts = read_options(cur, {"duration", "start", "output"})
    cur.expect_end()
    if "duration" not in opts:
        raise cur.error("concurrency needs duration=<field>", start)
    return ast.ArgsCmd("concurrency", opts, [])


def compile_concurrency(state: State, cmd: ast.ArgsCmd) -> None:
    """Search Reference: "An event X is concurrent with event Y if X.start is between Y.start
    and (Y.start + Y.duration)": `output` (default `concurrency`) counts, for each result, the
    results whose span holds its start, itself included (bounds included). Start (default
    `_time`) and duration are numbers in the same unit; a result without both numbers gets no
    value and is not counted, as a result whose duration is negative. Runs on the result table (post step `concurrency`, query/post.py)."""
    if not state.top_level:
        raise state.fail("concurrency is not supported in a subsearch", cmd)
    start, duration = cmd.options.get("start", "_time"), cmd.options["duration"]
    for name in (start, duration):
        if name not in state.columns:
            _assign(state, name, state.field(name))
    extract_for_later(state)
    state.post.append({"kind": "concurrency", "start": start, "duration": duration,
                       "output": cmd.options.get("output", "concurrency"),
                       "columns": [c for c in state.columns if not c.startswith("__speleo")]})


# --- predict -------------------------------------------------------------------------------------

PREDICT_OPTIONS = {"algorithm", "future_timespan", "holdback", "period", "suppress", "correlate_field"}
_BOUND = re.compile(r"(upper|lower)(\d+)$", re.I)


def parse_predict(cur: Cursor, word: Token) -> ast.ArgsCmd:
    """Splunk Search Reference: predict. `predict <field> [AS <newfield>]... [algorithm=LL|LLT|
    LLP|LLP5] [future_timespan=<n>] [holdback=<n>] [period=<n>] [upper<XX>=<field>]
    [lower<YY>=<field>]`; options may come before, between or after the fields and apply to all
    of them. Arguments: each field as `field` or `field\x00alias`."""
    opts: dict[str, str] = {}
    fields: list[str] = []
    while not cur.at_end():
        if cur.accept(T.COMMA):
            continue
        tok = cur.peek()
        if tok.kind in (T.WORD, T.STRING) and cur.peek(1).kind is T.OP and cur.peek(1).value == "=":
            key = tok.value.lower()
            if key not in PREDICT_OPTIONS and not _BOUND.match(key):
                raise cur.error(f"unknown option {tok.value!r} (options: algorithm, future_timespan, holdback, "
                                "period, upper<XX>, lower<XX>)", tok)
            cur.i += 2
            value = cur.next()
            if value.kind not in (T.WORD, T.STRING):
                raise cur.error(f"expected a value for {tok.value}", value)
            opts[key] = value.value
            continue
        if tok.kind not in (T.WORD, T.STRING):
            raise cur.error("expected a field name", tok)
        cur.next()
        name = tok.value
        if cur.accept_word("as"):
            alias = cur.next()
            if alias.kind not in (T.WORD, T.STRING):
                raise cur.error("expected a name after AS", alias)
            name += "\x00" + alias.value
        fields.append(name)
    if not fields:
        raise cur.error("predict needs a field to predict, as in `timechart count | predict count`", word)
    return ast.ArgsCmd("predict", opts, fields)


def compile_predict(state: State, cmd: ast.ArgsCmd) -> None:
    """Splunk Search Reference 9.4: predict. Forecasts each field of a time series (the rows of
    a timechart, in time order) with LL, LLT, LLP or LLP5 (the default; query/forecast.py says
    how they are fitted) and adds, to every row, `prediction(<field>)` (or the AS name) and its
    interval `upper95(prediction(<field>))` / `lower95(...)` (`upper90=<name>` names the upper
    bound and makes it a 90% one), then `future_timespan` rows (default 5) after the last one,
    spaced by the most common step between the rows' `_time`. `holdback=<n>`: the last n rows
    are not used to fit and get forecasts. `period=<n>`: LLP's season in rows (else found by
    autocorrelation; LLP and LLP5 without one run as LLT). LLB and BiLL (`correlate_field`) are
    not provided. Runs on the result table (post step `predict`, query/post.py)."""
    from speleo.query import forecast

    opts = cmd.options
    algorithm = opts.get("algorithm", "LLP5").upper()
    if algorithm in ("LLB", "BILL") or "correlate_field" in opts:
        raise state.fail("predict algorithm=LLB/BiLL (two correlated series) is not supported; "
                                "use LL, LLT, LLP or LLP5", cmd)
    if algorithm not in forecast.ALGORITHMS:
        raise state.fail(f"predict: unknown algorithm {opts['algorithm']!r}: use LL, LLT, LLP or LLP5", cmd)

    def count(key: str, default: int, low: int, high: int) -> int:
        text_ = opts.get(key, str(default))
        try:
            n = int(text_)
        except ValueError:
            raise state.fail(f"predict {key}={text_!r}: expected a whole number", cmd) from None
        if not low <= n <= high:
            raise state.fail(f"predict {key}={n}: must be between {low} and {high:,}", cmd)
        return n

    future = count("future_timespan", 5, 0, forecast.MAX_FUTURE)
    holdback = count("holdback", 0, 0, forecast.MAX_ROWS)
    period = count("period", 0, 0, forecast.MAX_PERIOD) if "period" in opts else None
    if period is not None and period < 2:
        raise state.fail("predict period must be at least 2 rows", cmd)
    if not state.top_level:
        raise state.fail("predict is not supported in a subsearch", cmd)
    if "_time" not in state.columns:
        raise state.fail("predict needs results with _time, as a timechart's", cmd)
    bounds = {"upper": (95, None), "lower": (95, None)}
    for key, value in opts.items():
        m = _BOUND.match(key)
        if m:
            level = int(m.group(2))
            if not 1 <= level <= 99:
                raise state.fail(f"predict {key}: the confidence level must be between 1 and 99", cmd)
            bounds[m.group(1).lower()] = (level, value)
    specs = []
    for arg in cmd.args:
        field, _, alias = arg.partition("\x00")
        out = alias or f"prediction({field})"
        (up, up_name), (low, low_name) = bounds["upper"], bounds["lower"]
        specs.append({"field": field, "out": out, "upper": up_name or f"upper{up}({out})", "upper_level": up,
                      "lower": low_name or f"lower{low}({out})", "lower_level": low})
    names = [n for s in specs for n in (s["out"], s["upper"], s["lower"])]
    if "_time" in names or any(s["field"] == "_time" for s in specs):
        raise state.fail("predict: _time is the series' time; predict a field of it, under another name", cmd)
    if len(set(names)) != len(names):
        raise state.fail("predict: two outputs would have the same name; give each field its own AS name", cmd)
    for spec in specs:   # the fields predicted are read on the result table: extract them now
        if spec["field"] not in state.columns and state.has_raw():
            _assign(state, spec["field"], state.field(spec["field"]))
    extract_for_later(state)
    state.post.append({"kind": "predict", "fields": specs, "algorithm": algorithm, "future": future,
                       "holdback": holdback, "period": period,
                       "columns": list(dict.fromkeys([c for c in state.columns if not c.startswith("__speleo")] + names))})
    state.transforming = True


def extract_for_later(state: State) -> None:
    """Before a step that runs on the result table (a post step): extract the search-time
    fields that later commands name while the events are still there (after the step, `_raw`'s
    fields cannot be read again). An over-estimate: a name that is no field stays empty."""
    if not state.has_raw():
        return
    from speleo.spl.commands.rows import assign_many

    names = sorted(n for n in ast.field_names(state.later) if n not in state.columns and not n.startswith("__speleo"))
    assign_many(state, {n: state.field(n) for n in names})


# --- dbinspect -----------------------------------------------------------------------------------

BUCKETS_TABLE = "__dbinspect__"
DBINSPECT_COLUMNS = ["bucketId", "endEpoch", "eventCount", "guId", "hostCount", "id", "index", "modTime", "path",
                     "rawSize", "sizeOnDiskMB", "sourceCount", "sourceTypeCount", "splunk_server", "startEpoch",
                     "state", "tsidxState"]


def parse_dbinspect(cur: Cursor, word: Token) -> ast.ArgsCmd:
    """Splunk Search Reference: dbinspect. `dbinspect [index=<wc-string>]... [corruptonly=<bool>]
    [cached=<bool>]`; `span=` and `timeformat=` (buckets grouped by time) are refused."""
    indexes: list[str] = []
    opts: dict[str, str] = {}
    while not cur.at_end():
        key = cur.peek()
        if not (key.kind is T.WORD and cur.peek(1).kind is T.OP and cur.peek(1).value == "="):
            raise cur.error("expected index=<name>, corruptonly=<bool> or cached=<bool>", key)
        name = key.value.lower()
        if name in ("span", "timeformat"):
            raise cur.unsupported(f"dbinspect {name}= is not supported: it lists each bucket", key)
        if name not in ("index", "corruptonly", "cached"):
            raise cur.unsupported(f"dbinspect option {key.value!r} is not supported", key)
        cur.i += 2
        value = cur.next()
        if value.kind not in (T.WORD, T.STRING):
            raise cur.error(f"expected a value for {name}", value)
        if name == "index":
            indexes.append(value.value)
        else:
            opts[name] = value.value
    return ast.ArgsCmd("dbinspect", opts, indexes)


def compile_dbinspect(state: State, cmd: ast.ArgsCmd) -> None:
    """One result per bucket of the named indexes (wildcards allowed; `*` leaves out the
    internal indexes, as in a search; none named: the searcher's default indexes) holding events in the search's time range,
    with Splunk's dbinspect fields; `hostCount` and `sourceCount` are empty (Speleo does not count
    them per bucket), `tsidxState` is `full` when the bucket's term index sidecar is written,
    else `none`; `path` is relative to the home. Speleo's buckets are never corrupt (a damaged one is refused when written), so
    `corruptonly=true` lists none. The rows come from the catalog, within the indexes the
    searcher may read (query.engine registers `__dbinspect__`)."""
    from speleo.spl.cursor import as_bool
    from speleo.spl.state import col, star_from

    if not state.top_level:
        raise state.fail("dbinspect is not supported in a subsearch", cmd)
    state.ctes = []
    state.select = star_from(BUCKETS_TABLE)
    if as_bool(cmd.options.get("corruptonly", "false")):
        state.select = state.select.where(exp.false())
    state.columns = list(DBINSPECT_COLUMNS)
    state.events = False
    state.transforming = True
    state.set_order([exp.Ordered(this=col("index")), exp.Ordered(this=col("id"))], {"index", "id"})
    state.events_sql = None
    state.bucket_listing = list(cmd.args)   # [] = the searcher's default indexes
