"""Commands that write values out as text for people or other programs: reltime and tojson
(Splunk Search Reference, one page each; cited per command)."""

from __future__ import annotations

from sqlglot import exp

from speleo.spl import ast
from speleo.spl.commands.extra import read_options
from speleo.spl.cursor import Cursor
from speleo.spl.state import State
from speleo.spl.tokens import Token

# --- reltime ---------------------------------------------------------------------------------------

# (seconds, name) from the largest unit down: a month is 30 days and a year 365 (the page gives
# "5 days ago, 1 minute ago, 2 years ago" as examples and no calendar rule)
_UNITS = ((365 * 86400, "year"), (30 * 86400, "month"), (86400, "day"), (3600, "hour"), (60, "minute"), (1, "second"))
MAX_TIMEFIELDS = 100


def parse_reltime(cur: Cursor, word: Token) -> ast.ArgsCmd:
    """Splunk Search Reference: reltime
    (https://help.splunk.com/splunk-enterprise/spl-search-reference/9.1/search-commands/reltime).
    `reltime [timefield=<field-list>] [prefix=<string>]`: the field list is comma-separated
    (quoted when it holds several)."""
    opts = read_options(cur, {"timefield", "prefix"})
    cur.expect_end()
    fields = [f.strip() for f in opts.get("timefield", "_time").split(",")]
    if any(not f for f in fields):
        raise cur.error(f"reltime timefield={opts['timefield']!r}: a field name is empty", word)
    if len(fields) > MAX_TIMEFIELDS:
        raise cur.error(f"reltime takes at most {MAX_TIMEFIELDS} time fields", word)
    return ast.ArgsCmd("reltime", {k: v for k, v in opts.items() if k == "prefix"}, list(dict.fromkeys(fields)))


def reltime_names(cmd: ast.ArgsCmd) -> list[tuple[str, str]]:
    """(time field, relative-time field) pairs. Search Reference: one time field and no prefix
    gives `reltime`; a prefix gives <prefix><field>; several fields without a prefix are
    prefixed `reltime_`."""
    prefix = cmd.options.get("prefix")
    if prefix is None and len(cmd.args) == 1:
        return [(cmd.args[0], "reltime")]
    return [(f, (prefix if prefix is not None else "reltime_") + f) for f in cmd.args]


def compile_reltime(state: State, cmd: ast.ArgsCmd) -> None:
    """Each time field's value (epoch seconds) against the search's now (`CompileContext.now`,
    the start of the search): the largest whole unit that fits, "<n> <unit>[s] ago" for the
    past, "in <n> <unit>[s]" for the future, "now" under one second. A value that is not a
    number gives no relative time."""
    from speleo.spl.commands.rows import assign_many
    from speleo.spl.functions import num

    values = {}
    for field, name in reltime_names(cmd):
        t = num(state.field(field))
        values[name] = relative_text(exp.Sub(this=_double(state.ctx.now), expression=t))
    assign_many(state, values)
    for name in values:
        state.mv.discard(name)


def _double(value: float) -> exp.Expression:
    return exp.Cast(this=exp.Literal.string(repr(float(value))), to=exp.DataType.build("DOUBLE"))


def relative_text(diff: exp.Expression) -> exp.Expression:
    """`diff` seconds (now - time; negative: the future) as reltime's text."""
    # NaN and infinities (tonumber("inf")): no relative time, rather than a failed cast to BIGINT
    # (NULL before any cast: ClickHouse computes every branch of a CASE)
    diff = exp.Case(ifs=[exp.If(this=exp.Anonymous(this="isfinite", expressions=[diff.copy()]), true=diff)])
    size = exp.Abs(this=diff.copy())
    ifs = [exp.If(this=exp.Is(this=diff.copy(), expression=exp.null()), true=exp.null()),
           exp.If(this=exp.LT(this=size.copy(), expression=exp.Literal.number(1)), true=exp.Literal.string("now"))]
    for seconds, unit in _UNITS:
        n = exp.Cast(this=exp.Floor(this=exp.Div(this=size.copy(), expression=exp.Literal.number(seconds))),
                     to=exp.DataType.build("BIGINT"))
        words = exp.DPipe(this=exp.Cast(this=n.copy(), to=exp.DataType.build("VARCHAR")), expression=exp.Case(
            ifs=[exp.If(this=exp.EQ(this=n.copy(), expression=exp.Literal.number(1)),
                        true=exp.Literal.string(f" {unit}"))], default=exp.Literal.string(f" {unit}s")))
        text = exp.Case(ifs=[exp.If(this=exp.LT(this=diff.copy(), expression=exp.Literal.number(0)),
                                    true=exp.DPipe(this=exp.Literal.string("in "), expression=words.copy()))],
                        default=exp.DPipe(this=words, expression=exp.Literal.string(" ago")))
        ifs.append(exp.If(this=exp.GTE(this=size.copy(), expression=exp.Literal.number(seconds)), true=text))
    return exp.Case(ifs=ifs)


# --- tojson ----------------------------------------------------------------------------------------

TOJSON_TYPES = ("auto", "bool", "json", "none", "num", "str")
MAX_TOJSON_FIELDS = 1000
_TRUE, _FALSE = ("true", "t", "yes", "y"), ("false", "f", "no", "n")


def parse_tojson(cur: Cursor, word: Token) -> ast.ArgsCmd:
    """Splunk Search Reference: tojson
    (https://help.splunk.com/splunk-enterprise/spl-search-reference/9.2/search-commands/tojson).
    `tojson [<type>(<wc-field>)]... [default_type=<type>] [fill_null=<bool>]
    [include_internal=<bool>] [output_field=<string>]`, <type> one of auto, bool, json, none,
    num, str; a bare field name is none(<field>). Speleo also reads `auto=<bool>` (auto(*) when
    true, as Splunk's older syntax)."""
    from speleo.spl.commands.extra import is_option
    from speleo.spl.cursor import as_bool
    from speleo.spl.tokens import T

    specs: list[str] = []   # "<type>:<field pattern>"
    opts: dict[str, str] = {}
    while not cur.at_end():
        if cur.accept(T.COMMA):
            continue
        if is_option(cur):
            read_options(cur, {"default_type", "fill_null", "include_internal", "output_field", "auto"}, opts)
            continue
        tok = cur.next()
        if tok.kind is not T.WORD:
            raise cur.error("expected <type>(<field>), a field name or an option", tok)
        if cur.peek().kind is T.LPAREN and cur.peek().start == tok.end:
            kind = tok.value.lower()
            if kind not in TOJSON_TYPES:
                raise cur.error(f"tojson: unknown type function {tok.value!r} (one of {', '.join(TOJSON_TYPES)})", tok)
            cur.next()
            field = cur.next()
            if field.kind is not T.WORD:
                raise cur.error(f"expected a field name inside {tok.value}()", field)
            cur.expect(T.RPAREN, f"')' after {tok.value}({field.value}")
            specs.append(f"{kind}:{field.value}")
        else:
            specs.append(f"none:{tok.value}")
        if len(specs) > MAX_TOJSON_FIELDS:
            raise cur.error(f"tojson takes at most {MAX_TOJSON_FIELDS} field arguments", tok)
    if opts.get("default_type", "none").lower() not in TOJSON_TYPES:
        raise cur.error(f"tojson default_type={opts['default_type']!r}: one of {', '.join(TOJSON_TYPES)}", word)
    for key in ("fill_null", "include_internal", "auto"):
        if key in opts and opts[key].lower() not in ("true", "t", "1", "yes", "y", "false", "f", "0", "no", "n"):
            raise cur.error(f"tojson {key}={opts[key]!r}: expected true or false", word)
    if as_bool(opts.get("auto", "false")):
        specs.append("auto:*")
    opts.pop("auto", None)
    return ast.ArgsCmd("tojson", opts, specs or ["none:*"])


def tojson_fields(state: State, cmd: ast.ArgsCmd) -> list[tuple[str, str]]:
    """(field, type) pairs in the order named; a wildcard's matches among the result's fields in
    alphabetical order; a field named again takes its later type. Fields whose names start with
    `_` (`_time`, `_raw`) only match a wildcard with include_internal=true; Speleo's storage
    columns (`_offset`, `_flags`, `_fields`) never do. `none` is `default_type`."""
    import fnmatch

    from speleo.spl.commands.rows import STORAGE_COLUMNS
    from speleo.spl.cursor import as_bool

    internal = as_bool(cmd.options.get("include_internal", "false"))
    default = cmd.options.get("default_type", "none").lower()
    out: dict[str, str] = {}
    for spec in cmd.args:
        kind, pattern = spec.split(":", 1)
        kind = default if kind == "none" else kind
        if "*" not in pattern:
            out.pop(pattern, None)
            out[pattern] = kind
            continue
        for name in sorted(state.columns):
            if name.startswith("__speleo") or name in STORAGE_COLUMNS or (name.startswith("_") and not internal):
                continue
            if fnmatch.fnmatchcase(name, pattern):
                out.pop(name, None)
                out[name] = kind
    return list(out.items())


def compile_tojson(state: State, cmd: ast.ArgsCmd) -> None:
    """Each result's fields as one JSON object (text) in `output_field` (default `_raw`): each
    value typed by its function (Search Reference, tojson, "Usage"):
    - none (and default_type=none): numbers as numbers, other values as strings;
    - str: the value as a string; num: a number, a value that is not one skipped;
    - bool: true for true/t/yes/y, false for false/f/no/n (any case), a number true unless 0,
      anything else skipped;
    - json: the value's JSON text when it is valid JSON, else skipped;
    - auto: a number when it reads as one, true/false for "true"/"false", null for "null",
      else a string.
    A multivalue field is an array of its values, each typed; a field without a value is left
    out; a skipped value is left out, or null with fill_null=true. Keys keep the field names;
    with wildcards over events' search-time fields, the last command of a search sees every
    field (fields.extracted_first), elsewhere the fields known when compiling."""
    from speleo.spl.commands.fields import extracted_first
    from speleo.spl.commands.rows import assign_many
    from speleo.spl.cursor import as_bool

    if extracted_first(state, [spec.split(":", 1)[1] for spec in cmd.args], cmd):
        return
    fill = as_bool(cmd.options.get("fill_null", "false"))
    parts = [_json_pair(name, _json_value(state, name, kind, fill)) for name, kind in tojson_fields(state, cmd)]
    body = exp.Anonymous(this="concat_ws", expressions=[exp.Literal.string(","), *parts]) if parts \
        else exp.Literal.string("")
    output = cmd.options.get("output_field", "_raw")
    assign_many(state, {output: exp.DPipe(this=exp.DPipe(this=exp.Literal.string("{"), expression=body),
                                          expression=exp.Literal.string("}"))})
    state.mv.discard(output)


def _json_pair(name: str, value: exp.Expression) -> exp.Expression:
    import json

    return exp.DPipe(this=exp.Literal.string(json.dumps(name) + ":"), expression=value)


def _json_value(state: State, name: str, kind: str, fill: bool) -> exp.Expression:
    """The JSON text of field `name` typed by `kind`; NULL leaves the key out."""
    from speleo.spl.functions import mv, number_text, numeric_type

    e = state.field(name)
    lst = mv((e, "mv" if name in state.mv and name in state.columns else "any"))
    x = exp.to_identifier("__x")
    element = _json_element(exp.column("__x"), kind, fill)
    if fill:   # a skipped value is null (array_to_string would drop a NULL element)
        element = exp.Coalesce(this=element, expressions=[exp.Literal.string("null")])
    conv = exp.Anonymous(this="list_transform", expressions=[lst.copy(), exp.Lambda(this=element, expressions=[x])])
    if not fill:
        conv = exp.Anonymous(this="list_filter", expressions=[conv, exp.Lambda(
            this=exp.Not(this=exp.Is(this=exp.column("__y"), expression=exp.null())),
            expressions=[exp.to_identifier("__y")])])
    n_in = exp.Anonymous(this="len", expressions=[lst.copy()])
    n_out = exp.Anonymous(this="len", expressions=[conv.copy()])
    one = exp.Anonymous(this="list_extract", expressions=[conv.copy(), exp.Literal.number(1)])
    array = exp.DPipe(this=exp.DPipe(this=exp.Literal.string("["), expression=exp.Anonymous(
        this="array_to_string", expressions=[conv.copy(), exp.Literal.string(",")])), expression=exp.Literal.string("]"))
    skipped = exp.Literal.string("null") if fill else exp.null()
    value = exp.Case(ifs=[exp.If(this=exp.Is(this=lst.copy(), expression=exp.null()), true=exp.null()),
                          exp.If(this=exp.EQ(this=n_out.copy(), expression=exp.Literal.number(0)), true=skipped),
                          exp.If(this=exp.EQ(this=n_in, expression=exp.Literal.number(1)), true=one)],
                     default=array)
    if kind not in ("none", "num", "auto"):
        return value
    # a number column (a count, _time) is a number as it is (finite); text goes through the rules above
    numeric = numeric_type(e)
    finite = exp.Anonymous(this="isfinite", expressions=[exp.Cast(this=e.copy(), to=exp.DataType.build("DOUBLE"))])
    as_number = exp.Case(ifs=[exp.If(this=finite, true=number_text(e.copy()))], default=skipped.copy())
    return exp.Case(ifs=[exp.If(this=exp.and_(numeric, exp.Not(this=exp.Is(this=e.copy(), expression=exp.null()))),
                                true=as_number)], default=value)


def _json_element(x: exp.Expression, kind: str, fill: bool) -> exp.Expression:
    """One value (text) as JSON by `kind`; NULL when the type function skips it."""
    from speleo.spl.functions import number_text

    as_string = exp.Cast(this=exp.Anonymous(this="to_json", expressions=[x.copy()]), to=exp.DataType.build("VARCHAR"))
    number = exp.TryCast(this=x.copy(), to=exp.DataType.build("DOUBLE"))
    is_number = exp.and_(exp.Not(this=exp.Is(this=number.copy(), expression=exp.null())),
                         exp.Anonymous(this="isfinite", expressions=[number.copy()]))
    low = exp.Lower(this=exp.Anonymous(this="trim", expressions=[x.copy()]))

    def one_of(words: tuple[str, ...]) -> exp.Expression:
        return exp.In(this=low.copy(), expressions=[exp.Literal.string(w) for w in words])

    if kind in ("none", "str"):
        return as_string
    if kind == "num":
        return exp.Case(ifs=[exp.If(this=is_number, true=number_text(number))])
    if kind == "bool":
        return exp.Case(ifs=[exp.If(this=is_number, true=exp.Case(
                                 ifs=[exp.If(this=exp.EQ(this=number.copy(), expression=exp.Literal.number(0)),
                                             true=exp.Literal.string("false"))], default=exp.Literal.string("true"))),
                             exp.If(this=one_of(_TRUE), true=exp.Literal.string("true")),
                             exp.If(this=one_of(_FALSE), true=exp.Literal.string("false"))])
    if kind == "json":
        valid = exp.Coalesce(this=exp.Anonymous(this="json_valid", expressions=[x.copy()]), expressions=[exp.false()])
        return exp.Case(ifs=[exp.If(this=valid, true=exp.Cast(this=exp.Anonymous(this="json", expressions=[x.copy()]),
                                                                to=exp.DataType.build("VARCHAR")))])
    # auto
    return exp.Case(ifs=[exp.If(this=is_number, true=number_text(number.copy())),
                         exp.If(this=exp.In(this=x.copy(), expressions=[exp.Literal.string("true"),
                                                                        exp.Literal.string("false"),
                                                                        exp.Literal.string("null")]),
                                true=x.copy())],
                    default=as_string)
