"""More eval functions (Splunk Search Reference: "Evaluation functions"), registered into
`functions.FUNCTIONS` when this module is imported (functions.py imports it at its end).

Informational: isnum, isint, isstr, isbool, typeof. Comparison and conditional: validate,
searchmatch. Mathematical: exact. Statistical eval: random. Multivalue: mvrange.
JSON: json_object. Conversion: tonumber with a base. Date and time: relative_time on a
field, with snapping computed in SQL in the configured time zone.

Every value taken from the query stays a literal of the sqlglot tree (never SQL text).
"""

from __future__ import annotations

import re

from sqlglot import exp

from speleo.errors import SplError, SplSyntaxError
from speleo.spl import ast
from speleo.spl.functions import (
    DOUBLE, FUNCTIONS, Typed, _literal_text, as_kind, compile_condition, compile_expr, mv, num, text,
    unify,
)
from speleo.spl.nodes import RegexMatch
from speleo.spl.state import State
from speleo.spl.timemod import MODIFIER_PART, UNITS

BIGINT = exp.DataType.build("BIGINT")
# A field value "looks like a number" for Splunk's eval (integers, decimals, exponents).
_NUMERIC_TEXT = r"^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$"
MVRANGE_MAX = 10_000


def _s(value: str) -> exp.Literal:
    return exp.Literal.string(value)


def _n(value) -> exp.Literal:
    return exp.Literal.number(value)


def _fn(name: str, *args: exp.Expression) -> exp.Anonymous:
    return exp.Anonymous(this=name, expressions=list(args))


def _is_null(e: exp.Expression) -> exp.Expression:
    return exp.Is(this=e, expression=exp.null())


def _lambda(body: exp.Expression, *names: str) -> exp.Lambda:
    return exp.Lambda(this=body, expressions=[exp.to_identifier(n) for n in names])


# --- informational functions ------------------------------------------------------------


def _text_type(t: exp.Expression) -> exp.Expression:
    """'Number' when the text looks like a number, else 'String' (a field value's type)."""
    return exp.Case(ifs=[exp.If(this=RegexMatch(this=t, expression=_s(_NUMERIC_TEXT)), true=_s("Number"))],
                    default=_s("String"))


def value_type(t: Typed) -> exp.Expression:
    """The Splunk type name of a value: Number, String, Bool, Multivalue or Invalid (null).

    Static kinds decide when known; a field of unknown kind is inspected at run time: a list
    of two or more values is Multivalue, a one-value list is typed by its value, text that
    looks like a number is a Number (as Splunk treats extracted field values)."""
    e, kind = t
    if isinstance(e, exp.Null):
        return _s("Invalid")
    fixed = {"num": "Number", "str": "String", "bool": "Bool"}
    if kind in fixed:
        return exp.Case(ifs=[exp.If(this=_is_null(e.copy()), true=_s("Invalid"))], default=_s(fixed[kind]))
    j = _fn("to_json", e.copy())
    if kind == "mv":
        n = _fn("len", e.copy())
        first = _fn("list_extract", e.copy(), _n(1))
        return exp.Case(ifs=[exp.If(this=_is_null(e.copy()), true=_s("Invalid")),
                             exp.If(this=exp.GT(this=n, expression=_n(1)), true=_s("Multivalue")),
                             exp.If(this=exp.EQ(this=n.copy(), expression=_n(0)), true=_s("Invalid"))],
                        default=_text_type(first))
    jt = _fn("json_type", j.copy())
    n = _fn("json_array_length", j.copy())
    in_list = exp.Case(ifs=[exp.If(this=exp.GT(this=n, expression=_n(1)), true=_s("Multivalue")),
                            exp.If(this=exp.EQ(this=n.copy(), expression=_n(0)), true=_s("Invalid"))],
                       default=_text_type(_fn("json_extract_string", j.copy(), _s("$[0]"))))
    numeric = exp.In(this=jt.copy(), expressions=[_s("BIGINT"), _s("UBIGINT"), _s("DOUBLE")])
    return exp.Case(ifs=[exp.If(this=_is_null(e.copy()), true=_s("Invalid")),
                         exp.If(this=exp.EQ(this=jt.copy(), expression=_s("ARRAY")), true=in_list),
                         exp.If(this=exp.EQ(this=jt.copy(), expression=_s("BOOLEAN")), true=_s("Bool")),
                         exp.If(this=numeric, true=_s("Number"))],
                    default=_text_type(_fn("json_extract_string", j, _s("$"))))


def _typeof(state: State, args: list[ast.Node]) -> Typed:
    """typeof(X) (Search Reference: Informational functions; its example gives
    "NumberStringBoolInvalid"): "Number", "String", "Bool",
    "Multivalue" (two or more values) or "Invalid" (null, missing field)."""
    return value_type(compile_expr(state, args[0])), "str"


def _is_type(name: str):
    def fn(state: State, args: list[ast.Node]) -> Typed:
        """isnum / isstr / isbool (Search Reference: Informational functions): TRUE when the value
        has that type (see typeof); null gives FALSE."""
        return exp.EQ(this=value_type(compile_expr(state, args[0])), expression=_s(name)), "bool"
    return fn


def _isint(state: State, args: list[ast.Node]) -> Typed:
    """isint(X) (Search Reference: Informational functions): TRUE for a Number without a
    fractional part."""
    t = compile_expr(state, args[0])
    whole = exp.EQ(this=exp.Floor(this=num(t[0].copy())), expression=num(t[0].copy()))
    is_num = exp.EQ(this=value_type(t), expression=_s("Number"))
    return exp.Coalesce(this=exp.and_(is_num, whole), expressions=[exp.false()]), "bool"


# --- comparison and conditional functions ---------------------------------------------------


def _validate(state: State, args: list[ast.Node]) -> Typed:
    """validate(cond1, value1, cond2, value2, ...) (Search Reference: Comparison and Conditional
    functions): the value of the first condition that is not TRUE (null counts as FALSE); null
    when every condition holds."""
    if len(args) % 2:
        raise state.fail("validate() takes pairs of condition, value", args[-1])
    values, kind = unify([compile_expr(state, a) for a in args[1::2]])
    ifs = [exp.If(this=exp.Not(this=exp.paren(compile_condition(state, c))), true=v)
           for c, v in zip(args[0::2], values)]
    return exp.Case(ifs=ifs), kind


def _searchmatch(state: State, args: list[ast.Node]) -> Typed:
    """searchmatch("search string") (Search Reference: Comparison and Conditional functions):
    TRUE when the event matches the search expression, as the search command matches it
    (terms and phrases over _raw, field comparisons, boolean operators)."""
    from speleo.spl.commands.search import search_condition
    from speleo.spl.cursor import Cursor
    from speleo.spl.exprparse import parse_search_expr
    from speleo.spl.tokens import lex

    source = _literal_text(state, args[0], "searchmatch's search string")
    try:
        node = parse_search_expr(Cursor(source, lex(source, 0, len(source), "search"), "searchmatch"))
    except SplError as err:       # re-anchored on the string argument in the whole query
        raise type(err)(f"searchmatch(): {err.message}", state.query, args[0].start, args[0].end) from None
    if node is None:
        return exp.true(), "bool"

    def check(n: ast.Node) -> None:
        if isinstance(n, ast.Subsearch):
            raise state.fail("searchmatch() does not support subsearches", args[0])
        for v in vars(n).values():
            for item in v if isinstance(v, list) else [v]:
                if isinstance(item, ast.Node):
                    check(item)

    check(node)
    return exp.Coalesce(this=exp.paren(search_condition(state, node)), expressions=[exp.false()]), "bool"


# --- mathematical and statistical eval functions ------------------------------------------------


def _exact(state: State, args: list[ast.Node]) -> Typed:
    """exact(X) (Search Reference: Mathematical functions): X as a number, computed in double
    precision (DuckDB arithmetic is already exact double precision)."""
    return exp.Cast(this=as_kind(compile_expr(state, args[0]), "num"), to=DOUBLE.copy()), "num"


def _random(state: State, args: list[ast.Node]) -> Typed:
    """random() (Search Reference: Statistical eval functions): a pseudo-random integer from 0
    to 2^31-1, drawn anew for each result."""
    r = exp.Mul(this=_fn("random"), expression=_n(2147483648))
    return exp.Cast(this=exp.Floor(this=r), to=BIGINT.copy()), "num"


# --- multivalue and JSON functions --------------------------------------------------------------------------


_STEP_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def _whole(e: exp.Expression) -> exp.Expression:
    """A whole number small enough for BIGINT (larger ones, inf and nan stay doubles)."""
    return exp.and_(exp.EQ(this=exp.Floor(this=e.copy()), expression=e.copy()),
                    exp.LT(this=exp.Abs(this=e.copy()), expression=exp.Literal.number("1e15")))


def _number_text(e: exp.Expression) -> exp.Expression:
    """A number as Splunk prints it: whole numbers without a decimal part."""
    whole = _whole(e)
    return exp.Case(ifs=[exp.If(this=whole, true=text(exp.Cast(this=e.copy(), to=BIGINT.copy())))], default=text(e))


def _mvrange(state: State, args: list[ast.Node]) -> Typed:
    """mvrange(start, end[, step]) (Search Reference: Multivalue eval functions): the numbers
    start, start+step, ... below `end` (end excluded) as a multivalue; step defaults to 1 and
    may be a literal time span ("7d": s, m, h, d, w). Null for a zero step or an empty range;
    at most MVRANGE_MAX values."""
    start = as_kind(compile_expr(state, args[0]), "num")
    end = as_kind(compile_expr(state, args[1]), "num")
    step: exp.Expression = _n(1)
    if len(args) > 2:
        if isinstance(args[2], ast.Str) and not re.fullmatch(r"\s*[+-]?[\d.]+\s*", args[2].value):
            m = re.fullmatch(r"\s*(\d+)\s*([smhdw])\s*", args[2].value)
            if not m:
                raise state.fail("mvrange() step must be a number or a span such as 7d (s, m, h, d, w)", args[2])
            step = _n(int(m.group(1)) * _STEP_SECONDS[m.group(2)])
        else:
            step = as_kind(compile_expr(state, args[2]), "num")
    count = exp.Ceil(this=exp.Div(this=exp.paren(exp.Sub(this=end, expression=start.copy())),
                                  expression=exp.Nullif(this=step.copy(), expression=_n(0))))
    count = exp.Cast(this=exp.Least(this=count, expressions=[_n(MVRANGE_MAX)]), to=BIGINT.copy())
    item = exp.Add(this=start.copy(), expression=exp.Mul(this=exp.column("__i"), expression=step.copy()))
    values = _fn("list_transform", _fn("range", _n(0), exp.Greatest(this=count, expressions=[_n(0)])),
                 _lambda(_number_text(exp.Cast(this=item, to=DOUBLE.copy())), "__i"))
    return exp.Case(ifs=[exp.If(this=exp.GT(this=count.copy(), expression=_n(0)), true=values)]), "mv"


def _json_value(t: Typed) -> exp.Expression:
    """One value as JSON: numbers (and field values that look like numbers) as JSON numbers
    (whole ones without a decimal part), booleans, multivalues as arrays, else strings."""
    e, kind = t
    if isinstance(e, exp.Null):
        return exp.Cast(this=exp.null(), to=exp.DataType.build("JSON"))
    if kind == "mv":
        return _fn("to_json", e)
    if kind == "bool":
        return _fn("to_json", e)
    if kind == "str":
        return _fn("to_json", text(e))
    n = num(e.copy())
    whole = _whole(n)
    as_number = exp.Case(ifs=[exp.If(this=whole, true=_fn("to_json", exp.Cast(this=n.copy(), to=BIGINT.copy())))],
                         default=_fn("to_json", n.copy()))
    if kind == "num":
        return as_number
    j = _fn("to_json", e.copy())
    jt = _fn("json_type", j.copy())
    looks_numeric = RegexMatch(this=_fn("json_extract_string", j.copy(), _s("$")), expression=_s(_NUMERIC_TEXT))
    return exp.Case(ifs=[exp.If(this=exp.In(this=jt, expressions=[_s("ARRAY"), _s("BOOLEAN")]), true=j),
                         exp.If(this=looks_numeric, true=as_number)],
                    default=_fn("to_json", _fn("json_extract_string", j.copy(), _s("$"))))


def _json_object(state: State, args: list[ast.Node]) -> Typed:
    """json_object(key1, value1, ...) (Search Reference: JSON functions): a JSON object as
    text; keys are strings, values keep their type (see _json_value); null values are JSON
    null. json_object() is "{}"."""
    if len(args) % 2:
        raise state.fail("json_object() takes pairs of key, value", args[-1])
    parts: list[exp.Expression] = []
    for k, v in zip(args[0::2], args[1::2]):
        parts += [as_kind(compile_expr(state, k), "str"), _json_value(compile_expr(state, v))]
    return text(_fn("json_object", *parts)), "str"


# --- conversion functions -------------------------------------------------------------------------------------

_DIGITS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _tonumber(state: State, args: list[ast.Node]) -> Typed:
    """tonumber(X[, base]) (Search Reference: Conversion functions): X read as a number in
    `base` (2 to 36, default 10; a literal); null when X is not a valid number in that base.
    Base 16 accepts a 0x prefix; a sign is allowed. tonumber("0A4", 16) = 164."""
    x = as_kind(compile_expr(state, args[0]), "str")
    base = 10
    if len(args) > 1:
        node = args[1]
        if not (isinstance(node, ast.Num) and re.fullmatch(r"\d+", node.text)):
            raise state.fail("tonumber() needs a literal integer base from 2 to 36", node)
        base = int(node.text)
        if not 2 <= base <= 36:
            raise state.fail("tonumber() base must be from 2 to 36", node)
    if base == 10:
        return num(x), "num"
    digits = _DIGITS[:base]
    klass = "[" + (f"0-{digits[-1]}" if base <= 10 else f"0-9A-{digits[-1]}") + "]"
    prefix = "(?:0X)?" if base == 16 else ""
    pattern = _s(rf"^\s*([+-]?){prefix}({klass}+)\s*$")
    up = exp.Upper(this=x)
    body = _fn("regexp_extract", up.copy(), pattern.copy(), _n(2))
    sign = _fn("regexp_extract", up.copy(), pattern.copy(), _n(1))
    values = _fn("list_transform", _fn("string_split", body, _s("")),
                 _lambda(exp.Cast(this=exp.Sub(this=_fn("strpos", _s(_DIGITS), exp.column("__c")), expression=_n(1)),
                                  to=DOUBLE.copy()), "__c"))
    acc = exp.Add(this=exp.Mul(this=exp.column("__a"), expression=_n(base)), expression=exp.column("__b"))
    value = _fn("list_reduce", values, _lambda(acc, "__a", "__b"))
    signed = exp.Case(ifs=[exp.If(this=exp.EQ(this=sign, expression=_s("-")), true=exp.Neg(this=value.copy()))],
                      default=value)
    return exp.Case(ifs=[exp.If(this=RegexMatch(this=up, expression=pattern), true=signed)]), "num"


# --- date and time functions ------------------------------------------------------------------------------------

_TRUNC = {"m": "minute", "h": "hour", "d": "day", "mon": "month", "q": "quarter", "y": "year"}


def _local(e: exp.Expression, tz: exp.Literal) -> exp.Expression:
    """Epoch seconds -> wall-clock TIMESTAMP in tz (null beyond the year 30000)."""
    in_range = exp.LT(this=exp.Abs(this=e.copy()), expression=exp.Literal.number("1e12"))
    return _fn("timezone", tz.copy(), _fn("to_timestamp", exp.Case(ifs=[exp.If(this=in_range, true=e)])))


def _epoch(local: exp.Expression, tz: exp.Literal) -> exp.Expression:
    """Wall-clock TIMESTAMP in tz -> epoch seconds."""
    return exp.Cast(this=_fn("epoch", _fn("timezone", tz.copy(), local)), to=DOUBLE.copy())


def relative_time_sql(state: State, base: exp.Expression, spec: str, node: ast.Node) -> exp.Expression:
    """Apply a chain of offsets and snaps (Search Reference: Time modifiers) to epoch seconds
    in SQL: s/m/h offsets are exact durations, d/w/mon/q/y offsets move the local calendar,
    snaps round down in the configured time zone (@w0 = Sunday ... @w6 = Saturday)."""
    raw = spec.strip()
    tz = state.tz_literal()
    if raw.lower().startswith("rt"):
        raise state.fail(f"real-time modifier {spec!r} is not supported", node)
    pos, e = 0, base
    while pos < len(raw):
        m = MODIFIER_PART.match(raw, pos)
        unit = UNITS.get((m.group(3) or m.group(4)).lower()) if m else None
        if unit is None:
            raise SplSyntaxError(f"invalid time modifier {spec!r}", state.query, node.start, max(node.end, node.start + 1))
        if m.group(1):
            n = int(m.group(2) or 1) * (-1 if m.group(1) == "-" else 1)
            if unit in ("s", "m", "h"):
                e = exp.Add(this=exp.paren(e), expression=_n(n * _STEP_SECONDS[unit]))
            else:
                count, what = (n * 7, "DAY") if unit == "w" else (n, "DAY") if unit == "d" else \
                    (n * {"mon": 1, "q": 3, "y": 12}[unit], "MONTH")
                shifted = exp.Add(this=_local(e, tz), expression=exp.Interval(this=_s(str(count)), unit=exp.var(what)))
                e = _epoch(shifted, tz)
        elif unit == "s":
            e = exp.Floor(this=e)
        elif unit in ("m", "h"):
            # Back by the wall-clock time past the minute / hour: exact even in the hour a
            # DST change repeats (the offset of the instant is kept).
            local = _local(e.copy(), tz)
            past = exp.Sub(this=_fn("epoch", local), expression=_fn("epoch", _fn("date_trunc", _s(_TRUNC[unit]),
                                                                                   local.copy())))
            e = exp.Sub(this=exp.paren(e), expression=exp.paren(past))
        elif unit == "w":
            day = _fn("date_trunc", _s("day"), _local(e, tz))
            back = exp.Mod(this=exp.paren(exp.Add(this=exp.Sub(this=_fn("dayofweek", day.copy()),
                                                                expression=_n(int(m.group(5) or 0) % 7)),
                                                  expression=_n(7))), expression=_n(7))
            e = _epoch(exp.Sub(this=day, expression=_fn("to_days", back)), tz)
        else:
            e = _epoch(_fn("date_trunc", _s(_TRUNC[unit]), _local(e, tz)), tz)
        pos = m.end()
    return e


def _relative_time(state: State, args: list[ast.Node]) -> Typed:
    """relative_time(X, "modifier") (Search Reference: Date and Time functions): epoch time X
    moved by a relative time modifier such as "-1d@d" or "@w1+8h". With now()/time() or a
    number it is computed when compiling; with a field, in SQL; a modifier that is not a literal
    (computed per event) is applied per event in Python (udf speleo_relative_time)."""
    from speleo.spl.timemod import parse_relative_time

    if not isinstance(args[1], ast.Str):   # a modifier computed per event ("+" . days . "d"): in Python
        from speleo.spl.state import tz_name

        modifier = as_kind(compile_expr(state, args[1]), "str")
        return exp.Anonymous(this="speleo_relative_time", expressions=[
            as_kind(compile_expr(state, args[0]), "num"), modifier, exp.Literal.string(tz_name(state.ctx.tz))]), "num"
    spec = _literal_text(state, args[1], "relative_time's modifier")
    base, raw = args[0], spec.strip()
    if isinstance(base, ast.Call) and base.name in ("now", "time") and not base.args:
        at = state.ctx.now
    elif isinstance(base, ast.Num):
        at = float(base.text)
    elif raw.lower() in ("", "now"):
        return as_kind(compile_expr(state, base), "num"), "num"
    elif re.fullmatch(r"\d+(\.\d+)?|\d\d?/\d\d?/\d{4}:\d\d?:\d\d?:\d\d?", raw):
        at = state.ctx.now          # an absolute time: the same for every X
    else:
        return relative_time_sql(state, as_kind(compile_expr(state, base), "num"), spec, args[1]), "num"
    try:
        value = parse_relative_time(spec, at, state.ctx.tz)
    except SplSyntaxError:
        raise SplSyntaxError(f"invalid time modifier {spec!r}", state.query, args[1].start,
                             max(args[1].end, args[1].start + 1)) from None
    return exp.Cast(this=exp.Literal.number(repr(float(value))), to=DOUBLE.copy()), "num"


FUNCTIONS.update({
    "typeof": (1, 1, _typeof),
    "isnum": (1, 1, _is_type("Number")),
    "isstr": (1, 1, _is_type("String")),
    "isbool": (1, 1, _is_type("Bool")),
    "isint": (1, 1, _isint),
    "validate": (2, 100, _validate),
    "searchmatch": (1, 1, _searchmatch),
    "exact": (1, 1, _exact),
    "random": (0, 0, _random),
    "mvrange": (2, 3, _mvrange),
    "json_object": (0, 100, _json_object),
    "tonumber": (1, 2, _tonumber),
    "relative_time": (2, 2, _relative_time),
})
