"""Eval expressions to sqlglot (Splunk Search Reference: eval, "Evaluation functions").

Null rules follow Splunk: arithmetic and `.` with a null operand give null; a
comparison with null is false in `where`. Field values are strings when they come
from search-time extraction, so arithmetic converts with TRY_CAST(... AS DOUBLE)
(a non-numeric string becomes null, as in Splunk). A light static typing ("num",
"str", "bool", "any") picks numeric or string comparison and keeps CASE / COALESCE
branches of one SQL type.
"""

from __future__ import annotations

import difflib
import re
import threading
from collections.abc import Callable

from sqlglot import exp

from speleo.errors import SplSyntaxError, SplUnsupportedError

from speleo.spl import ast
from speleo.spl.nodes import NumText, PcreMatch, PcreReplace, RegexMatch, RegexReplace, StrfTime
from speleo.spl.state import State

Typed = tuple[exp.Expression, str]
DOUBLE = exp.DataType.build("DOUBLE")
VARCHAR = exp.DataType.build("VARCHAR")


def num(e: exp.Expression) -> exp.Expression:
    return exp.TryCast(this=e, to=DOUBLE.copy())


def text(e: exp.Expression) -> exp.Expression:
    return exp.Cast(this=e, to=VARCHAR.copy())


def shown(e: exp.Expression) -> exp.Expression:
    """`e` as text the way Splunk prints a value: a computed whole number without ".0"
    (NumText: `"a".tonumber("12")` is "a12", `values()` of 5.0 is "5"); a string literal or an
    expression already cast to text stays as it is. For values people see (concatenation,
    values(), multivalue lists); comparisons keep `text`."""
    if isinstance(e, exp.Literal) and e.is_string:
        return e
    if isinstance(e, exp.Cast) and e.to.this == exp.DataType.Type.VARCHAR:
        return e
    return NumText(this=e)


def text_any(e: exp.Expression) -> exp.Expression:
    """A value of a type unknown when compiling, as the text Splunk shows for it: a number
    column (stats' min(_time), a count, `eval x=2.5`) without a ".0" when whole, anything else
    cast to VARCHAR (NumText; DuckDB folds its `typeof()` when it binds)."""
    return NumText(this=e)


_NUMERIC_TYPES = ("DOUBLE", "FLOAT", "BIGINT", "INTEGER", "SMALLINT", "TINYINT", "HUGEINT", "UBIGINT", "UINTEGER",
                  "USMALLINT", "UTINYINT")


def numeric_type(e: exp.Expression) -> exp.Expression:
    """Whether `e`'s SQL type is a number (integers, floating point, DECIMAL: `eval x=2.5`),
    decided by DuckDB when it binds the query."""
    kind = exp.Anonymous(this="typeof", expressions=[e.copy()])
    return exp.or_(exp.In(this=kind, expressions=[exp.Literal.string(t) for t in _NUMERIC_TYPES]),
                   exp.Like(this=kind.copy(), expression=exp.Literal.string("DECIMAL%")))


def as_kind(t: Typed, kind: str) -> exp.Expression:
    """`t` as a number or as text; a number as text the way Splunk prints it (12, not 12.0)."""
    e, k = t
    if k == kind or kind == "any":
        return e
    if kind == "num":
        return num(e)
    return shown(e) if k == "num" else text(e)


def unify(items: list[Typed]) -> tuple[list[exp.Expression], str]:
    """Give branches one SQL type: their common kind, else VARCHAR. When a branch is multivalue
    (a list), every branch becomes a list (a single value: a one-value list), so if/case/coalesce
    keep the values instead of printing the list as text "[x, y]"."""
    kinds = {k for e, k in items if not isinstance(e, exp.Null)}
    if "mv" in kinds:
        return [mv(t) if not isinstance(t[0], exp.Null) else t[0] for t in items], "mv"
    if kinds == {"any"} and sum(not isinstance(e, exp.Null) for e, _k in items) > 1:
        # fields whose SQL types are unknown (a count beside an extracted text): each as its
        # text, so the branches have one type whatever the columns hold
        return [text_any(e) if not isinstance(e, exp.Null) else e for e, _k in items], "str"
    kind = kinds.pop() if len(kinds) == 1 else ("str" if kinds else "any")
    return [as_kind(t, kind) if not isinstance(t[0], exp.Null) else t[0] for t in items], kind


def pcre_feature(pattern: str) -> str | None:
    """What of `pattern` RE2 (DuckDB's engine) cannot run, else None: look-around, atomic
    groups, back-references (`\\1`, `\\g`, `\\k`, `(?P=name)`), conditionals, recursion, branch
    resets, possessive quantifiers. Escapes and character classes are read as such (`\\\\1` is a
    backslash then 1)."""
    from speleo.spl.regexwalk import structural

    i = 0
    while i < len(pattern) - 1:
        if pattern[i] == "\\":
            if pattern[i + 1] in "123456789gk":
                return "back-references"
            i += 2
            continue
        i += 1
    for i in structural(pattern):
        c, rest = pattern[i], pattern[i + 1:i + 4]
        if c == "(" and rest.startswith("?"):
            kind = rest[1:]
            if kind[:1] in ("=", "!") or kind[:2] in ("<=", "<!"):
                return "look-around assertions"
            if kind[:1] == ">":
                return "atomic groups"
            if kind[:2] == "P=":
                return "back-references"
            if kind[:1] == "(":
                return "conditionals"
            if kind[:1] == "|":
                return "branch resets"
            if kind[:1] in ("R", "&") or kind[:2] == "P>" or kind[:1].isdigit() \
                    or (kind[:1] in ("+", "-") and kind[1:2].isdigit()):   # (?-i) is a flag, (?-1) recursion
                return "recursion"
            if kind[:1] == "#":
                return "comments"
        elif c in "*+?}" and rest[:1] == "+":
            return "possessive quantifiers"
    return None


# `(?<name>` not after an odd number of backslashes: `\\(?<a>` is an optional "(" then "<a>"
_NAMED = re.compile(r"(?<!\\)((?:\\\\)*)\(\?<(?=[A-Za-z_])")
# the same in RE2 (no look-behind), for a computed pattern: the character before is kept
_NAMED_SQL = r"(^|[^\\])((?:\\\\)*)\(\?<([A-Za-z_])"


def re2_named(pattern: str) -> str:
    """PCRE's named groups `(?<name>...)` written as RE2's `(?P<name>...)`; an escaped `\\(`
    (a literal parenthesis: `\\(?<a>` is an optional "(" then "<a>") is left alone."""
    return _NAMED.sub(lambda m: m.group(1) + "(?P<", pattern)


def regex_literal(pattern: str, state=None, node=None) -> exp.Literal:
    """Splunk/PCRE named groups `(?<name>` become RE2's `(?P<name>`.

    Raises SplUnsupportedError for what RE2 (DuckDB's engine) cannot run, SplSyntaxError for
    an invalid pattern, at the node's position when `state` and `node` are given.
    """
    converted = re2_named(pattern)
    query = state.query if state is not None else ""
    start, end = (node.start, max(node.end, node.start + 1)) if node is not None else (0, None)
    what = pcre_feature(converted)
    if what is not None:
        raise SplUnsupportedError(f"regular expression uses {what}, which RE2 does not support: {pattern!r}",
                                  query, start, end)
    try:
        re.compile(converted)
    except re.error as e:
        if not _re2_accepts(converted):   # RE2 has \x{hhhh}, \pL, \p{Greek}, \z, \C, which Python's re lacks
            raise SplSyntaxError(f"invalid regular expression {pattern!r}: {e}", query, start, end) from None
    return exp.Literal.string(converted)


_RE2_LOCK = threading.Lock()
_RE2_CON: list = []


def _re2_accepts(pattern: str) -> bool:
    """Whether RE2, the engine the search runs the pattern with (DuckDB's regexp functions;
    ClickHouse's too), accepts `pattern`: asked of DuckDB itself when Python's `re` refuses
    syntax RE2 has."""
    import duckdb

    with _RE2_LOCK:
        if not _RE2_CON:
            _RE2_CON.append(duckdb.connect())
        try:
            _RE2_CON[0].execute("SELECT regexp_matches('', ?)", [pattern]).fetchall()
        except duckdb.Error:
            return False
    return True


RE2_MAX_GROUP = 9   # DuckDB's regexp_extract reads groups 0..9 ("Group index must be between 0 and 9")


def group_pattern(literal: exp.Literal, index: int) -> tuple[exp.Literal, int]:
    """The pattern (a regex_literal) and group number to extract the `index`-th capturing group
    with RE2: as they are up to group 9; a later group becomes group 1 of the same pattern with
    the other groups non-capturing (regexwalk.only_group), which matches the same text."""
    if index <= RE2_MAX_GROUP:
        return literal, index
    from speleo.spl.regexwalk import only_group

    return exp.Literal.string(only_group(literal.this, index)), 1


def match_node(text_expr: exp.Expression, pattern: str, state=None, node=None) -> exp.Expression:
    """Whether `pattern` (a literal) matches in `text_expr`: RE2 (RegexMatch) when it can run
    the pattern, else the `regex` package (PcreMatch, query/udf.py: look-around,
    back-references, atomic groups, possessive quantifiers; bounded per event). Raises
    SplSyntaxError for a pattern neither accepts."""
    literal = pcre_pattern(pattern, state, node)
    if literal is None:
        return RegexMatch(this=text_expr, expression=regex_literal(pattern, state, node))
    return PcreMatch(this=text_expr, expression=literal)


def pcre_pattern(pattern: str, state=None, node=None) -> exp.Literal | None:
    """The pattern as a literal for the PCRE functions when RE2 cannot run it, else None (use
    regex_literal). Raises SplSyntaxError when the `regex` package refuses it too."""
    if pcre_feature(re2_named(pattern)) is None:
        return None
    import regex

    query = state.query if state is not None else ""
    start, end = (node.start, max(node.end, node.start + 1)) if node is not None else (0, None)
    original, pattern = pattern, _pcre_hex_escapes(pattern)
    try:
        regex.compile(pattern, regex.ASCII)
    except regex.error as e:
        raise SplSyntaxError(f"invalid regular expression {original!r}: {e}", query, start, end) from None
    return exp.Literal.string(pattern)


_HEX_BRACED = re.compile(r"(?<!\\)((?:\\\\)*)\\x\{([0-9A-Fa-f]{1,8})\}")


def _pcre_hex_escapes(pattern: str) -> str:
    """PCRE's `\\x{hhhh}` as `\\Uhhhhhhhh`, which the `regex` package reads (it lacks the braced
    form); an escaped backslash before `x` is left alone."""
    return _HEX_BRACED.sub(lambda m: f"{m.group(1)}\\U{int(m.group(2), 16):08x}", pattern)


def pcre_template(replacement: str, pattern: str, state=None, node=None) -> str:
    """Splunk's replace() replacement (`\\1`..`\\9` a group, `\\0` the match, `\\\\` one backslash,
    as on the RE2 path) as a template of the `regex` package (`\\g<1>`); any other backslash is
    literal.
    Raises SplSyntaxError for a group the pattern does not have."""
    import regex

    try:
        return replacement_template(replacement, regex.compile(pattern, regex.ASCII).groups)
    except ValueError as e:
        query = state.query if state is not None else ""
        start, end = (node.start, max(node.end, node.start + 1)) if node is not None else (0, None)
        raise SplSyntaxError(str(e), query, start, end) from None


def replacement_template(replacement: str, groups: int) -> str:
    """`replacement` in Splunk's syntax as a `regex` package template, for a pattern with
    `groups` groups (also at run time, for a computed pattern: query/udf.py). Raises ValueError
    for a group the pattern does not have."""
    out, i = [], 0
    while i < len(replacement):
        c = replacement[i]
        if c == "\\" and i + 1 < len(replacement) and replacement[i + 1].isdigit():
            n = int(replacement[i + 1])
            if n > groups:
                raise ValueError(f"replacement {replacement!r} names group {n}, but the pattern has {groups}")
            out.append(f"\\g<{n}>")
            i += 2
            continue
        if c == "\\" and replacement[i + 1:i + 2] == "\\":   # an escaped backslash: one backslash, as RE2's rewrite
            out.append("\\\\")
            i += 2
            continue
        out.append("\\\\" if c == "\\" else c)
        i += 1
    return "".join(out)


# --- expressions ---------------------------------------------------------------------


def compile_expr(state: State, node: ast.Node) -> Typed:
    """One eval expression as (sqlglot expression, static kind)."""
    if isinstance(node, ast.Num):
        return exp.Literal.number(node.text), "num"
    if isinstance(node, ast.Str):
        return exp.Literal.string(node.value), "str"
    if isinstance(node, ast.Field):
        return _field(state, node.name)
    if isinstance(node, ast.UnOp):
        return _unop(state, node)
    if isinstance(node, ast.BinOp):
        return _binop(state, node)
    if isinstance(node, ast.Call):
        return _call(state, node)
    raise state.fail(f"unsupported expression {type(node).__name__}", node)


def compile_condition(state: State, node: ast.Node) -> exp.Expression:
    """A boolean for where/if/case: null counts as false."""
    e, kind = compile_expr(state, node)
    if kind != "bool":
        e = exp.Not(this=exp.Is(this=e, expression=exp.null()))
    return exp.Coalesce(this=e, expressions=[exp.false()])


def _field(state: State, name: str) -> Typed:
    e = state.field(name)
    if name in ("_time", "_indextime", "linecount", "_offset") and name in state.columns:
        return e, "num"
    if name in state.mv and name in state.columns and name not in state.bindings:
        return e, "mv"                      # a column known to hold a list (State.mv)
    return e, "any"


def _shown(t: Typed) -> exp.Expression:
    e, kind = t
    return e if kind == "str" else shown(e)


def _wide(e: exp.Expression) -> exp.Expression:
    """A whole-number literal as BIGINT in arithmetic: DuckDB types `86400` as INTEGER, and
    `86400*40000` (or `_time - 86400*40000`) would overflow 32 bits, where Splunk's eval
    computes it."""
    if isinstance(e, exp.Literal) and not e.is_string and re.fullmatch(r"\d+", e.this or ""):
        return exp.Cast(this=e, to=exp.DataType.build("BIGINT"))
    return e


def _unop(state: State, node: ast.UnOp) -> Typed:
    if node.op == "NOT":
        return exp.Not(this=exp.paren(compile_condition(state, node.operand))), "bool"
    return exp.Neg(this=exp.paren(as_kind(compile_expr(state, node.operand), "num"))), "num"


_ARITH = {"+": exp.Add, "-": exp.Sub, "*": exp.Mul, "/": exp.Div, "%": exp.Mod}
_CMP = {"=": exp.EQ, "!=": exp.NEQ, "<": exp.LT, "<=": exp.LTE, ">": exp.GT, ">=": exp.GTE}
_BOOL = {"AND": exp.And, "OR": exp.Or, "XOR": exp.Xor}


def _binop(state: State, node: ast.BinOp) -> Typed:
    if node.op in _BOOL:
        left, right = compile_condition(state, node.left), compile_condition(state, node.right)
        return _BOOL[node.op](this=left, expression=right), "bool"
    left, right = compile_expr(state, node.left), compile_expr(state, node.right)
    if node.op == "." or (node.op == "+" and "str" in (left[1], right[1])):
        if "mv" in (left[1], right[1]):
            # the eval page's "." joins single values; on a multivalue operand Splunk's eval gives no
            # value (mvjoin()/mvmap() join or map the values): null, not the list printed as "[a, b]"
            return exp.Cast(this=exp.null(), to=VARCHAR.copy()), "str"
        return exp.DPipe(this=_shown(left), expression=_shown(right)), "str"
    if node.op in _ARITH:
        l, r = exp.paren(_wide(as_kind(left, "num"))), exp.paren(_wide(as_kind(right, "num")))
        if node.op == "/":
            return exp.Div(this=l, expression=r, typed=False, safe=True), "num"
        return _ARITH[node.op](this=l, expression=r), "num"
    if node.op == "LIKE":
        return exp.Like(this=as_kind(left, "str"), expression=as_kind(right, "str")), "bool"
    return compare(node.op, left, right), "bool"


def compare(op: str, left: Typed, right: Typed) -> exp.Expression:
    """Splunk comparison: numeric when both sides are numbers, else string. A multivalue side
    (kind "mv": makemv, split(), mvappend(), values()) compares each of its values and the
    comparison is true when any value makes it true, for every operator, `!=` too (Splunk's
    behaviour, issue 15; the where and eval pages of the Search Reference do not spell it out);
    a value of a list is text, compared as a number when both sides are numbers. A list
    without values (null) makes the comparison null."""
    if left[1] == "mv" or right[1] == "mv":
        return _any_of(op, left, right)
    cls = _CMP[op]
    if "num" in (left[1], right[1]) and "str" not in (left[1], right[1]):
        return cls(this=as_kind(left, "num"), expression=as_kind(right, "num"))
    if "str" in (left[1], right[1]) or left[1] == right[1] == "bool":
        return cls(this=as_kind(left, "str"), expression=as_kind(right, "str"))
    ln, rn = num(left[0].copy()), num(right[0].copy())
    both = exp.and_(exp.Not(this=exp.Is(this=ln.copy(), expression=exp.null())),
                    exp.Not(this=exp.Is(this=rn.copy(), expression=exp.null())))
    return exp.Case(ifs=[exp.If(this=both, true=cls(this=ln, expression=rn))],
                    default=cls(this=text(left[0].copy()), expression=text(right[0].copy())))


def _any_of(op: str, left: Typed, right: Typed) -> exp.Expression:
    """`left op right` true when some value of the multivalue side(s) makes it true (DuckDB
    lambdas: len(list_filter(list, v -> v op other)) > 0; two lists: any pair)."""
    if left[1] == "mv":
        var = exp.to_identifier("__cl")
        inner = compare(op, (exp.column("__cl"), "any"), right)
        lst = left[0]
    else:
        var = exp.to_identifier("__cr")
        inner = compare(op, left, (exp.column("__cr"), "any"))
        lst = right[0]
    cond = exp.Coalesce(this=inner, expressions=[exp.false()])
    hits = exp.Anonymous(this="list_filter", expressions=[lst.copy(), exp.Lambda(this=cond, expressions=[var])])
    return exp.GT(this=exp.Anonymous(this="len", expressions=[hits]), expression=exp.Literal.number(0))


# --- functions -------------------------------------------------------------------------


def _call(state: State, node: ast.Call) -> Typed:
    spec = FUNCTIONS.get(node.name)
    if spec is None:
        known = sorted(FUNCTIONS)
        close = difflib.get_close_matches(node.name, known, n=1)
        raise SplUnsupportedError(f"eval function {node.name!r} is not supported", state.query,
                                  node.start, node.end, suggestion=close[0] if close else None)
    lo, hi, fn = spec
    if not lo <= len(node.args) <= hi:
        raise state.fail(f"{node.name}() takes {lo}..{hi} arguments, got {len(node.args)}", node)
    return fn(state, node.args)


def _args(state: State, args: list[ast.Node]) -> list[Typed]:
    return [compile_expr(state, a) for a in args]


def _if(state: State, args: list[ast.Node]) -> Typed:
    branches, kind = unify(_args(state, args[1:]))
    cond = compile_condition(state, args[0])
    return exp.Case(ifs=[exp.If(this=cond, true=branches[0])], default=branches[1]), kind


def _case(state: State, args: list[ast.Node]) -> Typed:
    if len(args) % 2:
        raise state.fail("case() takes pairs of condition, value", args[-1])
    values, kind = unify(_args(state, args[1::2]))
    ifs = [exp.If(this=compile_condition(state, c), true=v) for c, v in zip(args[0::2], values)]
    return exp.Case(ifs=ifs), kind


def _coalesce(state: State, args: list[ast.Node]) -> Typed:
    values, kind = unify(_args(state, args))
    return exp.Coalesce(this=values[0], expressions=values[1:]), kind


def _substr(state: State, args: list[ast.Node]) -> Typed:
    t = _args(state, args)
    parts = {"this": as_kind(t[0], "str"), "start": exp.Cast(this=as_kind(t[1], "num"), to=exp.DataType.build("BIGINT"))}
    if len(t) > 2:
        parts["length"] = exp.Cast(this=as_kind(t[2], "num"), to=exp.DataType.build("BIGINT"))
    return exp.Substring(**parts), "str"


def _round(state: State, args: list[ast.Node]) -> Typed:
    t = _args(state, args)
    digits = exp.Cast(this=as_kind(t[1], "num"), to=exp.DataType.build("INT")) if len(t) > 1 else exp.Literal.number(0)
    return exp.Round(this=as_kind(t[0], "num"), decimals=digits), "num"


def _tostring(state: State, args: list[ast.Node]) -> Typed:
    if len(args) > 1:
        raise state.fail("tostring() formats are not supported", args[1])
    e, kind = compile_expr(state, args[0])
    if kind == "num":
        return number_text(e), "str"   # Splunk prints whole numbers without a decimal part
    if kind == "bool":                 # Search Reference: Conversion functions, tostring: "True" / "False"
        return exp.Case(ifs=[exp.If(this=e, true=exp.Literal.string("True")),
                             exp.If(this=exp.Not(this=exp.paren(e.copy())), true=exp.Literal.string("False"))]), "str"
    return text(e), "str"


def check_time_format(state: State, node: ast.Node, parse: bool = False) -> None:
    """A literal Splunk time format with an unknown variable is an error at its place."""
    from speleo.spl.timefmt import is_epoch_format, strftime_pieces, strptime_format

    if isinstance(node, ast.Str) and not (parse and is_epoch_format(node.value)):
        try:
            strptime_format(node.value) if parse else strftime_pieces(node.value)
        except SplSyntaxError as e:
            raise SplSyntaxError(e.message, state.query, node.start,
                                 max(node.end, node.start + 1)) from None


def time_parse(value: exp.Expression, fmt: str | None, fmt_expr: exp.Expression, tz: exp.Expression) -> exp.Expression:
    """Text read with a Splunk time format -> epoch seconds (null when it does not parse).
    Search Reference: strptime; wall-clock times are in the search's zone unless the format
    reads one (%z, %Z); %s reads epoch seconds."""
    from speleo.spl.timefmt import is_epoch_format, strptime_format

    if fmt is not None and is_epoch_format(fmt):
        return num(value)
    has_zone = False
    if fmt is not None:
        duck, has_zone = strptime_format(fmt)
        fmt_expr = exp.Literal.string(duck)
    parsed = exp.Anonymous(this="try_strptime", expressions=[value, fmt_expr])
    if not has_zone:
        parsed = exp.Anonymous(this="timezone", expressions=[tz, parsed])
    return exp.Cast(this=exp.Anonymous(this="epoch", expressions=[parsed]), to=DOUBLE.copy())


def _strftime(state: State, args: list[ast.Node]) -> Typed:
    check_time_format(state, args[1])
    t = _args(state, args)
    return StrfTime(this=as_kind(t[0], "num"), format=as_kind(t[1], "str"), tz=state.tz_literal()), "str"


def regex_arg(state: State, node: ast.Node) -> exp.Expression:
    """The regular expression argument of match()/replace()/mvfind(): a literal is checked when
    compiling (regex_literal); a computed one (a field, a concatenation) is used as it is, its
    PCRE named groups `(?<name>` rewritten for RE2 at run time (an invalid one fails the search
    with the engine's message)."""
    if isinstance(node, ast.Str):
        return regex_literal(node.value, state, node)
    return _re2_named(computed_pattern(state, node))


def computed_pattern(state: State, node: ast.Node) -> exp.Expression:
    """A computed regular expression (a field, a concatenation) as text, as written."""
    return as_kind(compile_expr(state, node), "str")


def _re2_named(pattern: exp.Expression) -> exp.Expression:
    return exp.Anonymous(this="regexp_replace", expressions=[
        pattern, exp.Literal.string(_NAMED_SQL), exp.Literal.string(r"\1\2(?P<\3"), exp.Literal.string("g")])


def computed_match(state: State, text_expr: exp.Expression, node: ast.Node) -> exp.Expression:
    """A match of a computed pattern: RE2 for the patterns it runs; a pattern that uses what RE2
    cannot (look-around, back-references... decided per value: `RegexMatch.pcre`) runs in the
    `regex` package as a literal one does, never with another meaning."""
    pattern = computed_pattern(state, node)
    return RegexMatch(this=text_expr, expression=_re2_named(pattern), pcre=pattern.copy())


def _match(state: State, args: list[ast.Node]) -> Typed:
    s = as_kind(compile_expr(state, args[0]), "str")
    if isinstance(args[1], ast.Str):
        return match_node(s, args[1].value, state, args[1]), "bool"
    return computed_match(state, s, args[1]), "bool"


def _replace(state: State, args: list[ast.Node]) -> Typed:
    t = _args(state, args)
    pcre = pcre_pattern(args[1].value, state, args[1]) if isinstance(args[1], ast.Str) else None
    if pcre is not None:   # look-around, back-references: the regex package
        replacement = as_kind(t[2], "str")
        if isinstance(args[2], ast.Str):   # Splunk's \1 as the regex package's \g<1> (one syntax on both paths)
            replacement = exp.Literal.string(pcre_template(args[2].value, args[1].value, state, args[2]))
        return PcreReplace(this=as_kind(t[0], "str"), expression=pcre, replacement=replacement), "str"
    if isinstance(args[1], ast.Str):
        return RegexReplace(this=as_kind(t[0], "str"), expression=regex_arg(state, args[1]),
                            replacement=as_kind(t[2], "str")), "str"
    pattern = computed_pattern(state, args[1])
    return RegexReplace(this=as_kind(t[0], "str"), expression=_re2_named(pattern), replacement=as_kind(t[2], "str"),
                        pcre=pattern.copy()), "str"


def _like(state: State, args: list[ast.Node]) -> Typed:
    t = _args(state, args)
    return exp.Like(this=as_kind(t[0], "str"), expression=as_kind(t[1], "str")), "bool"


def _isnull(negate: bool) -> Callable:
    def fn(state: State, args: list[ast.Node]) -> Typed:
        e = exp.Is(this=compile_expr(state, args[0])[0], expression=exp.null())
        return (exp.Not(this=e) if negate else e), "bool"
    return fn


def _num_fn(build: Callable[[exp.Expression], exp.Expression], integer: bool = False) -> Callable:
    def fn(state: State, args: list[ast.Node]) -> Typed:
        e = build(as_kind(compile_expr(state, args[0]), "num"))
        return (exp.Cast(this=e, to=exp.DataType.build("BIGINT")) if integer else e), "num"
    return fn


def _str_fn(build: Callable[[exp.Expression], exp.Expression], kind: str = "str") -> Callable:
    def fn(state: State, args: list[ast.Node]) -> Typed:
        return build(as_kind(compile_expr(state, args[0]), "str")), kind
    return fn


def _trim(side: str) -> Callable:
    def fn(state: State, args: list[ast.Node]) -> Typed:
        t = _args(state, args)
        chars = as_kind(t[1], "str") if len(t) > 1 else exp.Literal.string(" \t")
        return exp.Anonymous(this=side, expressions=[as_kind(t[0], "str"), chars]), "str"
    return fn


def number_text(e: exp.Expression) -> exp.Expression:
    """A number as Splunk prints it: whole numbers without a decimal part ("3", not "3.0")."""
    whole = exp.and_(exp.EQ(this=exp.Floor(this=num(e.copy())), expression=num(e.copy())),
                     exp.LT(this=exp.Abs(this=num(e.copy())), expression=exp.Literal.number("1e15")))
    as_int = text(exp.Cast(this=num(e.copy()), to=exp.DataType.build("BIGINT")))
    return exp.Case(ifs=[exp.If(this=whole, true=as_int)], default=text(e))


def _minmax(cls: type) -> Callable:
    """Splunk Search Reference, Mathematical functions, min(X,...)/max(X,...): values that are
    numbers (or read as numbers) compare numerically and sort below strings; strings compare
    lexicographically. min(3, 11, "abc") = 3, max(3, 11, "abc") = "abc". Null arguments are
    ignored. All-numeric arguments keep a numeric result."""
    def fn(state: State, args: list[ast.Node]) -> Typed:
        typed = _args(state, args)
        nums = [as_kind(x, "num") for x in typed]
        if all(k == "num" for _e, k in typed):
            return cls(this=nums[0], expressions=nums[1:]), "num"
        strs = [exp.Case(ifs=[exp.If(this=exp.Is(this=n.copy(), expression=exp.null()), true=as_kind(x, "str"))])
                for n, x in zip(nums, typed)]
        name = "least" if cls is exp.Least else "greatest"   # DuckDB's: null arguments are skipped
        by_num = number_text(exp.Anonymous(this=name, expressions=[n.copy() for n in nums]))
        by_str = exp.Anonymous(this=name, expressions=strs)
        first, second = (by_num, by_str) if cls is exp.Least else (by_str, by_num)
        return exp.Coalesce(this=first, expressions=[second]), "str"
    return fn


def _const(build: Callable[[State], exp.Expression], kind: str) -> Callable:
    return lambda state, args: (build(state), kind)


def _pow(state: State, args: list[ast.Node]) -> Typed:
    t = [as_kind(x, "num") for x in _args(state, args)]
    return exp.Pow(this=t[0], expression=t[1]), "num"


def _log(state: State, args: list[ast.Node]) -> Typed:
    t = [as_kind(x, "num") for x in _args(state, args)]
    base = t[1] if len(t) > 1 else exp.Literal.number(10)
    return exp.Div(this=exp.Ln(this=t[0]), expression=exp.Ln(this=base)), "num"


FUNCTIONS: dict[str, tuple[int, int, Callable[[State, list[ast.Node]], Typed]]] = {
    "if": (3, 3, _if),
    "case": (2, 100, _case),
    "coalesce": (1, 100, _coalesce),
    "len": (1, 1, _str_fn(lambda e: exp.Length(this=e), "num")),
    "lower": (1, 1, _str_fn(lambda e: exp.Lower(this=e))),
    "upper": (1, 1, _str_fn(lambda e: exp.Upper(this=e))),
    "substr": (2, 3, _substr),
    "round": (1, 2, _round),
    "tostring": (1, 2, _tostring),
    "strftime": (2, 2, _strftime),
    "isnull": (1, 1, _isnull(False)),
    "isnotnull": (1, 1, _isnull(True)),
    "null": (0, 0, _const(lambda s: exp.null(), "any")),
    "now": (0, 0, _const(lambda s: exp.Literal.number(repr(float(s.ctx.now))), "num")),
    "time": (0, 0, _const(lambda s: exp.Literal.number(repr(float(s.ctx.now))), "num")),
    "true": (0, 0, _const(lambda s: exp.true(), "bool")),
    "false": (0, 0, _const(lambda s: exp.false(), "bool")),
    "pi": (0, 0, _const(lambda s: exp.Anonymous(this="pi", expressions=[]), "num")),
    "match": (2, 2, _match),
    "like": (2, 2, _like),
    "replace": (3, 3, _replace),
    "floor": (1, 1, _num_fn(lambda e: exp.Floor(this=e), integer=True)),
    "ceil": (1, 1, _num_fn(lambda e: exp.Ceil(this=e), integer=True)),
    "ceiling": (1, 1, _num_fn(lambda e: exp.Ceil(this=e), integer=True)),
    "abs": (1, 1, _num_fn(lambda e: exp.Abs(this=e))),
    "sqrt": (1, 1, _num_fn(lambda e: exp.Sqrt(this=e))),
    "exp": (1, 1, _num_fn(lambda e: exp.Exp(this=e))),
    "ln": (1, 1, _num_fn(lambda e: exp.Ln(this=e))),
    "log": (1, 2, _log),
    "pow": (2, 2, _pow),
    "trim": (1, 2, _trim("trim")),
    "ltrim": (1, 2, _trim("ltrim")),
    "rtrim": (1, 2, _trim("rtrim")),
    "min": (1, 100, _minmax(exp.Least)),
    "max": (1, 100, _minmax(exp.Greatest)),
}


# --- more functions (Splunk Search Reference: "Evaluation functions") ---------------------------------


def _in(state: State, args: list[ast.Node]) -> Typed:
    """in(field, v1, v2...): true when the value equals one of the values."""
    t = _args(state, args)
    tests = [compare("=", t[0], v) for v in t[1:]]
    return exp.Coalesce(this=exp.or_(*[exp.paren(x) for x in tests]), expressions=[exp.false()]), "bool"


def _fn(name: str, kind: str = "str", arg_kind: str = "str") -> Callable:
    def fn(state: State, args: list[ast.Node]) -> Typed:
        return exp.Anonymous(this=name, expressions=[as_kind(t, arg_kind) for t in _args(state, args)]), kind
    return fn


def _nullif(state: State, args: list[ast.Node]) -> Typed:
    values, kind = unify(_args(state, args))
    return exp.Nullif(this=values[0], expression=values[1]), kind


def _literal_text(state: State, node: ast.Node, what: str) -> str:
    if not isinstance(node, ast.Str):
        raise state.fail(f"{what} must be a literal string", node)
    return node.value


def _cidrmatch(state: State, args: list[ast.Node]) -> Typed:
    """cidrmatch("10.0.0.0/8", ip): IPv4 only; the CIDR must be a literal."""
    import ipaddress

    try:
        net = ipaddress.IPv4Network(_literal_text(state, args[0], "cidrmatch's CIDR"), strict=False)
    except ValueError:
        raise state.fail("cidrmatch() needs an IPv4 CIDR such as 10.0.0.0/8", args[0]) from None
    ip = as_kind(compile_expr(state, args[1]), "str")
    return in_network(ip, net), "bool"


def in_network(ip: exp.Expression, net) -> exp.Expression:
    """Never-null condition: the text `ip` is an IPv4 address (dotted quad) inside the
    `ipaddress.IPv4Network` `net` (its bounds are numbers, never SQL text from the search)."""
    pattern = r"^\s*(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\s*$"
    octets = [num(exp.Anonymous(this="regexp_extract", expressions=[ip.copy(), exp.Literal.string(pattern),
                                                                     exp.Literal.number(i)])) for i in range(1, 5)]
    value = octets[0]
    for o in octets[1:]:
        value = exp.Add(this=exp.Mul(this=exp.paren(value), expression=exp.Literal.number(256)), expression=o)
    ok = RegexMatch(this=ip.copy(), expression=exp.Literal.string(pattern))
    inside = exp.Between(this=value, low=exp.Literal.number(int(net.network_address)),
                         high=exp.Literal.number(int(net.broadcast_address)))
    return exp.Coalesce(this=exp.and_(ok, exp.paren(inside)), expressions=[exp.false()])


_DOTTED_QUAD = r"^\s*(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})"
_CIDR_TEXT = r"^\s*\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}/(\d{1,2})\s*$"


def _ipv4_number(textual: exp.Expression) -> exp.Expression:
    """The dotted quad at the start of `textual` as a BIGINT (null when there is none)."""
    octets = [exp.Cast(this=exp.Nullif(this=exp.Anonymous(this="regexp_extract", expressions=[
        textual.copy(), exp.Literal.string(_DOTTED_QUAD), exp.Literal.number(i)]), expression=exp.Literal.string("")),
        to=exp.DataType.build("BIGINT")) for i in range(1, 5)]
    value = octets[0]
    for o in octets[1:]:
        value = exp.Add(this=exp.Mul(this=exp.paren(value), expression=exp.Literal.number(256)), expression=o)
    return value


def in_network_value(ip: exp.Expression, cidr: exp.Expression) -> exp.Expression:
    """Never-null condition: the text `cidr` (a value known only when the search runs, such as a
    subsearch's result) is an IPv4 network `a.b.c.d/n` and the text `ip` an address inside it:
    both addresses agree on their first n bits."""
    prefix = exp.Cast(this=exp.Anonymous(this="regexp_extract", expressions=[
        cidr.copy(), exp.Literal.string(_CIDR_TEXT), exp.Literal.number(1)]), to=exp.DataType.build("BIGINT"))
    shift = exp.Sub(this=exp.Literal.number(32), expression=prefix)
    same = exp.EQ(this=exp.BitwiseRightShift(this=exp.paren(_ipv4_number(ip)), expression=exp.paren(shift)),
                  expression=exp.BitwiseRightShift(this=exp.paren(_ipv4_number(cidr)), expression=exp.paren(shift.copy())))
    ok = exp.and_(RegexMatch(this=cidr.copy(), expression=exp.Literal.string(_CIDR_TEXT)),
                  RegexMatch(this=ip.copy(), expression=exp.Literal.string(_DOTTED_QUAD + r"\s*$")),
                  exp.LTE(this=prefix.copy(), expression=exp.Literal.number(32)))
    return exp.Coalesce(this=exp.Case(ifs=[exp.If(this=ok, true=same)]), expressions=[exp.false()])


def _json_path(path: str) -> str:
    """Splunk json path `a.b{1}.c` -> JSONPath `$."a"."b"[1]."c"`."""
    out = "$"
    for part in path.split(".") if path else []:
        m = re.fullmatch(r"([^{}]*)((?:\{\d*\})*)", part)
        if not m:
            raise ValueError(path)
        if m.group(1):
            out += '."' + m.group(1).replace('"', '\\"') + '"'
        for idx in re.findall(r"\{(\d*)\}", m.group(2)):
            if idx == "":
                raise ValueError(path)
            out += f"[{idx}]"
    return out


def _json_extract(state: State, args: list[ast.Node]) -> Typed:
    """json_extract(json, path): the value at the path as text (objects/arrays as JSON text)."""
    src = as_kind(compile_expr(state, args[0]), "str")
    if len(args) == 1:
        return src, "str"
    path = _literal_text(state, args[1], "json_extract's path")
    try:
        jpath = _json_path(path)
    except ValueError:
        raise state.fail("json_extract() paths with {} (all array items) are not supported", args[1]) from None
    valid = exp.Coalesce(this=exp.Anonymous(this="json_valid", expressions=[src.copy()]), expressions=[exp.false()])
    doc = exp.Case(ifs=[exp.If(this=valid, true=exp.Cast(this=src, to=exp.DataType.build("JSON")))])
    return exp.Anonymous(this="json_extract_string", expressions=[doc, exp.Literal.string(jpath)]), "str"


def _strptime(state: State, args: list[ast.Node]) -> Typed:
    check_time_format(state, args[1], parse=True)
    t = _args(state, args)
    fmt = args[1].value if isinstance(args[1], ast.Str) else None
    return time_parse(as_kind(t[0], "str"), fmt, as_kind(t[1], "str"), state.tz_literal()), "num"


def _tostring_fmt(state: State, args: list[ast.Node]) -> Typed:
    if len(args) == 1:
        return _tostring(state, args)
    fmt = _literal_text(state, args[1], "tostring's format").lower()
    x = as_kind(compile_expr(state, args[0]), "num")
    big = exp.DataType.build("BIGINT")
    if fmt == "hex":      # tostring(255, "hex") = "0xFF"
        return exp.Anonymous(this="printf", expressions=[exp.Literal.string("0x%X"), exp.Cast(this=x, to=big)]), "str"
    if fmt == "commas":   # thousands separators; decimals rounded to two places
        whole = exp.EQ(this=exp.Floor(this=x.copy()), expression=x.copy())
        ints = exp.Anonymous(this="format", expressions=[exp.Literal.string("{:,}"), exp.Cast(this=x.copy(), to=big)])
        decs = exp.Anonymous(this="format", expressions=[exp.Literal.string("{:,.2f}"), x.copy()])
        return exp.Case(ifs=[exp.If(this=whole, true=ints)], default=decs), "str"
    if fmt == "duration":  # seconds -> [D+]HH:MM:SS
        s = exp.Cast(this=exp.Floor(this=x), to=big)
        d = exp.Anonymous(this="printf", expressions=[
            exp.Literal.string("%d+"), exp.IntDiv(this=s.copy(), expression=exp.Literal.number(86400))])
        hms = exp.Anonymous(this="printf", expressions=[
            exp.Literal.string("%02d:%02d:%02d"),
            exp.Mod(this=exp.IntDiv(this=s.copy(), expression=exp.Literal.number(3600)), expression=exp.Literal.number(24)),
            exp.Mod(this=exp.IntDiv(this=s.copy(), expression=exp.Literal.number(60)), expression=exp.Literal.number(60)),
            exp.Mod(this=s.copy(), expression=exp.Literal.number(60))])
        days = exp.GTE(this=s.copy(), expression=exp.Literal.number(86400))
        return exp.Case(ifs=[exp.If(this=days, true=exp.DPipe(this=d, expression=hms.copy()))], default=hms), "str"
    raise state.fail(f"tostring() format {fmt!r} is not supported (hex, commas, duration)", args[1])


def _printf(state: State, args: list[ast.Node]) -> Typed:
    t = _args(state, args)
    return exp.Anonymous(this="printf", expressions=[as_kind(t[0], "str")] + [x[0] for x in t[1:]]), "str"


FUNCTIONS.update({
    "in": (2, 1000, _in),
    "nullif": (2, 2, _nullif),
    "md5": (1, 1, _fn("md5")),
    "sha1": (1, 1, _fn("sha1")),
    "sha256": (1, 1, _fn("sha256")),
    "urldecode": (1, 1, _fn("url_decode")),
    "cidrmatch": (2, 2, _cidrmatch),
    "json_extract": (1, 2, _json_extract),
    "strptime": (2, 2, _strptime),
    "tostring": (1, 2, _tostring_fmt),
    "printf": (1, 100, _printf),
})


# --- multivalue functions ------------------------------------------------------------------------------
# A multivalue value is a DuckDB VARCHAR[] (kind "mv"). A field of unknown kind may hold a list
# (values(), list(), split()) or one value; `mv()` turns either into a list at run time.


def mv(t: Typed) -> exp.Expression:
    e, kind = t
    if kind == "mv":
        return e
    if kind in ("str", "num", "bool"):
        one = number_text(e.copy()) if kind == "num" else text(e.copy())
        return exp.Case(ifs=[exp.If(this=exp.Is(this=e.copy(), expression=exp.null()), true=exp.null())],
                        default=exp.Array(expressions=[one]))
    as_json = exp.Anonymous(this="to_json", expressions=[e.copy()])
    is_list = exp.EQ(this=exp.Anonymous(this="json_type", expressions=[as_json.copy()]),
                     expression=exp.Literal.string("ARRAY"))
    lst = exp.Anonymous(this="from_json", expressions=[as_json, exp.Literal.string('["VARCHAR"]')])
    return exp.Case(ifs=[exp.If(this=exp.Is(this=e.copy(), expression=exp.null()), true=exp.null()),
                         exp.If(this=is_list, true=lst)],
                    default=exp.Array(expressions=[text_any(e.copy())]))


def _split(state: State, args: list[ast.Node]) -> Typed:
    t = _args(state, args)
    return exp.Anonymous(this="string_split", expressions=[as_kind(t[0], "str"), as_kind(t[1], "str")]), "mv"


def _mvcount(state: State, args: list[ast.Node]) -> Typed:
    return exp.Anonymous(this="len", expressions=[mv(compile_expr(state, args[0]))]), "num"


def _index_arg(state: State, node: ast.Node) -> exp.Expression:
    """Splunk's 0-based index (negative from the end) -> DuckDB's 1-based (negative from the end)."""
    i = exp.Cast(this=as_kind(compile_expr(state, node), "num"), to=exp.DataType.build("BIGINT"))
    return exp.Case(ifs=[exp.If(this=exp.GTE(this=i.copy(), expression=exp.Literal.number(0)),
                                true=exp.Add(this=i.copy(), expression=exp.Literal.number(1)))], default=i)


def _mvindex(state: State, args: list[ast.Node]) -> Typed:
    """mvindex(mv, start[, end]): 0-based, negative from the end, end inclusive; null out of range."""
    lst = mv(compile_expr(state, args[0]))
    start = _index_arg(state, args[1])
    if len(args) == 2:
        return exp.Anonymous(this="list_extract", expressions=[lst, start]), "str"
    end = _index_arg(state, args[2])
    sliced = exp.Anonymous(this="list_slice", expressions=[lst, start, end])
    return exp.Nullif(this=sliced, expression=exp.Cast(this=exp.Array(expressions=[]),
                                                        to=exp.DataType.build("VARCHAR[]"))), "mv"


def _mvjoin(state: State, args: list[ast.Node]) -> Typed:
    t = _args(state, args)
    return exp.Anonymous(this="array_to_string", expressions=[mv(t[0]), as_kind(t[1], "str")]), "str"


def _mvappend(state: State, args: list[ast.Node]) -> Typed:
    """mvappend(a, b, ...): the values of every argument in order (null arguments skipped)."""
    lists = [exp.Coalesce(this=mv(t), expressions=[exp.Cast(this=exp.Array(expressions=[]),
                                                               to=exp.DataType.build("VARCHAR[]"))])
             for t in _args(state, args)]
    out = lists[0]
    for lst in lists[1:]:
        out = exp.Anonymous(this="list_concat", expressions=[out, lst])
    return out, "mv"


def _mvlist_fn(name: str) -> Callable:
    def fn(state: State, args: list[ast.Node]) -> Typed:
        return exp.Anonymous(this=name, expressions=[mv(compile_expr(state, args[0]))]), "mv"
    return fn


FUNCTIONS.update({
    "split": (2, 2, _split),
    "mvcount": (1, 1, _mvcount),
    "mvindex": (2, 3, _mvindex),
    "mvjoin": (2, 2, _mvjoin),
    "mvappend": (1, 100, _mvappend),
    "mvsort": (1, 1, _mvlist_fn("list_sort")),
})


# --- multivalue functions with DuckDB lambdas (sqlglot renders `LAMBDA x : body`) -----------------------------


def _lambda(body: exp.Expression) -> exp.Lambda:
    return exp.Lambda(this=body, expressions=[exp.to_identifier("__v")])


def _bound(state: State, name: str, body: Callable[[], Typed]) -> Typed:
    """Compile with field `name` bound to the lambda variable (a value of the list)."""
    old = state.bindings.get(name)
    state.bindings[name] = exp.column("__v")
    try:
        return body()
    finally:
        if old is None:
            state.bindings.pop(name, None)
        else:
            state.bindings[name] = old


def _fields_in(node: ast.Node) -> list[str]:
    if isinstance(node, ast.Field):
        return [node.name]
    out: list[str] = []
    for v in vars(node).values():
        for item in v if isinstance(v, list) else [v]:
            if isinstance(item, ast.Node):
                out += [f for f in _fields_in(item) if f not in out]
    return out


def _mvfind(state: State, args: list[ast.Node]) -> Typed:
    """mvfind(mv, regex): the 0-based index of the first value matching the regex, else null
    (a literal regex RE2 refuses runs in the regex package, as match() does)."""
    lst = mv(compile_expr(state, args[0]))
    if isinstance(args[1], ast.Str):   # a literal: RE2, or the regex package for what RE2 refuses
        test = match_node(exp.column("__v"), args[1].value, state, args[1])
    else:
        test = computed_match(state, exp.column("__v"), args[1])
    hits = exp.Anonymous(this="list_transform", expressions=[lst, _lambda(exp.Coalesce(
        this=test, expressions=[exp.false()]))])
    pos = exp.Anonymous(this="list_position", expressions=[hits, exp.true()])
    return exp.Sub(this=pos, expression=exp.Literal.number(1)), "num"


def _mvfilter(state: State, args: list[ast.Node]) -> Typed:
    """mvfilter(<predicate over one field>): the values of that field for which the predicate is
    true (null when none)."""
    names = [n for n in _fields_in(args[0])]
    if len(names) != 1:
        raise state.fail("mvfilter() needs an expression over exactly one field", args[0])
    lst = mv(compile_expr(state, ast.Field(names[0], start=args[0].start, end=args[0].end)))
    cond = _bound(state, names[0], lambda: (compile_condition(state, args[0]), "bool"))[0]
    out = exp.Anonymous(this="list_filter", expressions=[lst, _lambda(cond)])
    return exp.Nullif(this=out, expression=exp.Cast(this=exp.Array(expressions=[]),
                                                     to=exp.DataType.build("VARCHAR[]"))), "mv"


def _mvmap(state: State, args: list[ast.Node]) -> Typed:
    """mvmap(mv, expression): the expression for each value (the field name stands for the value)."""
    if not isinstance(args[0], ast.Field):
        raise state.fail("mvmap() needs a field as its first argument", args[0])
    lst = mv(compile_expr(state, args[0]))
    body = _bound(state, args[0].name, lambda: compile_expr(state, args[1]))
    return exp.Anonymous(this="list_transform", expressions=[lst, _lambda(text(body[0]))]), "mv"


def _mvzip(state: State, args: list[ast.Node]) -> Typed:
    """mvzip(a, b[, delim]): a[i] . delim . b[i] for each i up to the shorter list (delim ",")."""
    a, b = mv(compile_expr(state, args[0])), mv(compile_expr(state, args[1]))
    delim = as_kind(compile_expr(state, args[2]), "str") if len(args) > 2 else exp.Literal.string(",")
    n = exp.Least(this=exp.Anonymous(this="len", expressions=[a.copy()]),
                  expressions=[exp.Anonymous(this="len", expressions=[b.copy()])])
    idx = exp.Anonymous(this="generate_series", expressions=[exp.Literal.number(1), n])
    item = exp.DPipe(this=exp.DPipe(this=exp.Anonymous(this="list_extract", expressions=[a, exp.column("__v")]),
                                    expression=delim),
                     expression=exp.Anonymous(this="list_extract", expressions=[b, exp.column("__v")]))
    return exp.Anonymous(this="list_transform", expressions=[idx, _lambda(item)]), "mv"


def _mvdedup(state: State, args: list[ast.Node]) -> Typed:
    """mvdedup(mv): the values without repeats, each at its first position ("Multivalue eval
    functions", https://help.splunk.com/splunk-enterprise/spl-search-reference/9.2/evaluation-functions/multivalue-eval-functions).
    DuckDB's list_distinct does not keep the order: keep value v at 1-based index i when the first
    position of v in the list is i (`LAMBDA __v, __i : list_position(l, __v) = __i`)."""
    lst = mv(compile_expr(state, args[0]))
    first = exp.EQ(this=exp.Anonymous(this="list_position", expressions=[lst.copy(), exp.column("__v")]),
                   expression=exp.column("__i"))
    keep = exp.Lambda(this=first, expressions=[exp.to_identifier("__v"), exp.to_identifier("__i")])
    return exp.Anonymous(this="list_filter", expressions=[lst, keep]), "mv"


FUNCTIONS.update({
    "mvdedup": (1, 1, _mvdedup),
    "mvfind": (2, 2, _mvfind),
    "mvfilter": (1, 1, _mvfilter),
    "mvmap": (2, 2, _mvmap),
    "mvzip": (2, 3, _mvzip),
})


# More functions live in evalfuncs.py (informational, validate, searchmatch, mvrange, json_object,
# tonumber with a base, relative_time on fields); importing it registers them into FUNCTIONS.
from speleo.spl import evalfuncs as _evalfuncs  # noqa: E402,F401  (registration side effect)
