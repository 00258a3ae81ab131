"""Commands that relate results to one another: contingency (aliases counttable, ctable),
selfjoin and localize (Splunk Search Reference, one page each; cited per command). Each runs
on the Arrow result after the SQL (query/relate.py): contingency's columns are the data's
values, selfjoin pairs results in an order no SQL join gives cheaply, localize walks the
events' times."""

from __future__ import annotations

import re

from sqlglot import exp

from speleo.spl import ast
from speleo.spl.commands.extra import is_option
from speleo.spl.cursor import Cursor
from speleo.spl.state import State, col, ident, tbl
from speleo.spl.tokens import T, Token

_BOOLS = ("true", "t", "1", "yes", "y", "false", "f", "0", "no", "n")


def _read_args(cur: Cursor, word: Token, allowed: tuple[str, ...]) -> tuple[dict[str, tuple[str, Token]], list[Token]]:
    """`key=value` options (anywhere) and field names; an unknown option is a syntax error
    naming the allowed ones, at the option."""
    opts: dict[str, tuple[str, Token]] = {}
    fields: list[Token] = []
    while not cur.at_end():
        if cur.accept(T.COMMA):
            continue
        tok = cur.peek()
        if is_option(cur):
            key = tok.value.lower()
            if key not in allowed:
                raise cur.error(f"unknown option {tok.value!r} (options: {', '.join(allowed)})", tok)
            cur.i += 2
            value = cur.next()
            if value.kind not in (T.WORD, T.STRING, T.NUMBER):
                raise cur.error(f"expected a value for {tok.value}", value)
            opts[key] = (value.value, value)
            continue
        fields.append(cur.name())
    return opts, fields


def _bool(cur: Cursor, opts: dict[str, tuple[str, Token]], key: str, default: str) -> str:
    value, tok = opts.get(key, (default, None))
    if value.lower() not in _BOOLS:
        raise cur.error(f"{key}={value!r}: expected true or false", tok)
    return value


def _int(cur: Cursor, opts: dict[str, tuple[str, Token]], key: str, default: int) -> int:
    if key not in opts:
        return default
    value, tok = opts[key]
    if not re.fullmatch(r"\d+", value):
        raise cur.error(f"{key}={value!r}: expected a whole number, 0 or more", tok)
    return int(value)


def _visible(state: State) -> list[str]:
    return [c for c in state.columns if not c.startswith("__speleo")]


# --- contingency ---------------------------------------------------------------------------------

CONTINGENCY_OPTIONS = ("maxrows", "maxcols", "mincolcover", "minrowcover", "usetotal", "totalstr")
MAX_VALUES = 1000   # limits.conf [ctable] maxvalues: the most rows or columns a table gets


def parse_contingency(cur: Cursor, word: Token) -> ast.ArgsCmd:
    """Splunk Search Reference: contingency
    (https://help.splunk.com/splunk-enterprise/spl-search-reference/9.4/search-commands/contingency).
    `contingency [maxrows=<int>] [maxcols=<int>] [mincolcover=<num>] [minrowcover=<num>]
    [usetotal=<bool>] [totalstr=<string>] <field1> <field2>`; aliases counttable, ctable.
    Options may also come after the fields. Wildcards in the field names are refused, as the
    Reference says."""
    opts, fields = _read_args(cur, word, CONTINGENCY_OPTIONS)
    if len(fields) != 2:
        at = fields[2] if len(fields) > 2 else cur.peek()
        raise cur.error(f"needs exactly two fields, <field1> (rows) and <field2> "
                        f"(columns); {len(fields)} given", at)
    for f in fields:
        if "*" in f.value:
            raise cur.error("a field name cannot hold a wildcard", f)
    out = {"maxrows": str(_int(cur, opts, "maxrows", MAX_VALUES)), "maxcols": str(_int(cur, opts, "maxcols", MAX_VALUES)),
           "usetotal": _bool(cur, opts, "usetotal", "true"), "totalstr": opts.get("totalstr", ("TOTAL", None))[0]}
    for key in ("mincolcover", "minrowcover"):
        value, tok = opts.get(key, ("1.0", None))
        try:
            ratio = float(value)
        except ValueError:
            ratio = -1.0
        if not 0 < ratio <= 1:
            raise cur.error(f"{key}={value!r}: expected a fraction above 0 and at most 1 (1.0 = every value)", tok)
        out[key] = repr(ratio)
    if not out["totalstr"]:
        raise cur.error("totalstr must not be empty", opts["totalstr"][1])
    return ast.ArgsCmd("contingency", out, [f.value for f in fields])


def compile_contingency(state: State, cmd: ast.ArgsCmd) -> None:
    """A co-occurrence table of two fields: one row per value of <field1> (its name heads the
    first column), one column per value of <field2>, each cell the number of results holding
    both values (0 when none). The SQL counts each pair of values (GROUP BY); the post step
    `contingency` (query/relate.py) makes the table:
    - a result missing either field is not counted (the Reference: "the count of events in
      which both of the cross-tabulated field values exist"); an empty value is `EMPTY_STR`,
      as the Reference says; a multivalue field counts under each of its distinct values
      (the Reference is silent; stats by does the same);
    - rows and columns by descending count, ties by value (the Reference is silent on ties);
    - maxrows / maxcols (default 1000): the most rows / columns kept, the least common left
      out; 0, and any value above 1000, mean 1000 (the Reference: 0 means the limit of
      limits.conf [ctable] maxvalues, 1000, and more than 1000 values are never used); the
      search's messages say how many values were left out;
    - minrowcover / mincolcover (default 1.0): the most common values are kept until they hold
      at least that fraction of the counted results (at least one value is kept); maxrows /
      maxcols win when reached first (the Reference's "the maximum rows or columns take
      precedence"). Speleo reads the cover over the whole field, not per row or column;
    - usetotal=true (default): a last column and a last row named by totalstr (default
      "TOTAL") with the sums of the cells shown (values left out are not in them; the
      Reference's totals are "of the counts of values that are in the table");
    - a column whose value is the name of the first column or of the totals column gets
      `_1` added (`_2`... while taken), so no value hides another column (Speleo's choice).
    Not in a subsearch."""
    if not state.top_level:
        raise state.fail("contingency is not supported in a subsearch", cmd)
    from speleo.spl.commands.stats import _become_table

    row_field, col_field = cmd.args
    row, column = state.field(row_field), state.field(col_field)
    state.wrap()
    src = state.select.args["from_"].this.copy()
    present = exp.and_(exp.Not(this=exp.Is(this=row.copy(), expression=exp.null())),
                       exp.Not(this=exp.Is(this=column.copy(), expression=exp.null())))
    state.select = exp.select(exp.alias_(row.copy(), ident("__speleo_row")), exp.alias_(column.copy(), ident("__speleo_col")),
                              exp.alias_(exp.Count(this=exp.Star()), ident("__speleo_n"))) \
        .from_(tbl(src)).where(present, copy=False).group_by(row, column, copy=False)
    _become_table(state, ["__speleo_row", "__speleo_col", "__speleo_n"])
    opts = cmd.options
    total = opts["totalstr"] if opts["usetotal"].lower() in ("true", "t", "1", "yes", "y") else None
    state.post.append({"kind": "contingency", "row_field": row_field, "col_field": col_field,
                       "maxrows": int(opts["maxrows"]), "maxcols": int(opts["maxcols"]),
                       "minrowcover": float(opts["minrowcover"]), "mincolcover": float(opts["mincolcover"]),
                       "total": total, "columns": [row_field] + ([total] if total else [])})


# --- selfjoin --------------------------------------------------------------------------------------

SELFJOIN_OPTIONS = ("overwrite", "max", "keepsingle")


def parse_selfjoin(cur: Cursor, word: Token) -> ast.ArgsCmd:
    """Splunk Search Reference: selfjoin
    (https://help.splunk.com/splunk-enterprise/spl-search-reference/9.2/search-commands/selfjoin).
    `selfjoin [overwrite=<bool>] [max=<int>] [keepsingle=<bool>] <field>...`; options may also
    come after the fields."""
    opts, fields = _read_args(cur, word, SELFJOIN_OPTIONS)
    if not fields:
        raise cur.error("needs the fields to join on, as in `selfjoin id`", cur.peek())
    for f in fields:
        if "*" in f.value:
            raise cur.error("a field name cannot hold a wildcard", f)
    out = {"overwrite": _bool(cur, opts, "overwrite", "true"), "max": str(_int(cur, opts, "max", 1)),
           "keepsingle": _bool(cur, opts, "keepsingle", "false")}
    return ast.ArgsCmd("selfjoin", out, list(dict.fromkeys(f.value for f in fields)))


def compile_selfjoin(state: State, cmd: ast.ArgsCmd) -> None:
    """Each result joined with the other results having the same values in the join fields.
    What rows come out follows the Reference's extended example (five results on one key give
    four: "Row 1 is joined with row 2 and returned as row 2", ..., "Row 5 has no other row to
    join with"):
    - the results of one key are put in time order, oldest first ("the last result row, based
      on the _time value, takes precedence"); results of equal or no `_time` keep Splunk's
      search order, newest first, so the later of them in the results comes first (the
      Reference is silent; this matches Splunk's output for results without `_time`); a
      result without `_time` counts as the oldest;
    - each result (the main result) is joined with the `max` results after it (default 1;
      0: every result after it); each join is one row, in the place of the other result (then
      of the main one);
    - overwrite=true (default): the other result's fields replace the main result's, a field
      it lacks keeps the main result's value; overwrite=false: the other way round;
    - keepsingle=true keeps, unchanged, a result whose key no other result has (default false:
      left out); the last result of a key with several is never kept on its own (the
      Reference's row 5); a result missing a join field is left out (Speleo's choice, as join
      and stats do);
    - key values compare exactly (case-sensitive; a multivalue field as a whole);
    - at most 100,000 main results are joined (the Reference's limit) and at most 1,000,000
      rows come out; the search's messages say when either cut.
    Search-time fields of events that later commands name are extracted first; others are
    read again from the `_raw` the output row holds (the other result's, with overwrite). A
    post step (`selfjoin`, query/relate.py). Not in a subsearch."""
    if not state.top_level:
        raise state.fail("selfjoin is not supported in a subsearch", cmd)
    from speleo.spl.commands.opscmds import extract_for_later
    from speleo.spl.commands.stats import _assign

    for name in cmd.args:
        if name not in state.columns:
            _assign(state, name, state.field(name))
    extract_for_later(state)
    truthy = ("true", "t", "1", "yes", "y")
    state.post.append({"kind": "selfjoin", "fields": list(cmd.args), "max": int(cmd.options["max"]),
                       "overwrite": cmd.options["overwrite"].lower() in truthy,
                       "keepsingle": cmd.options["keepsingle"].lower() in truthy, "columns": _visible(state)})


# --- localize --------------------------------------------------------------------------------------

LOCALIZE_OPTIONS = ("maxpause", "timeafter", "timebefore")
_DURATION = re.compile(r"(\d+)(s|m|h|d)?")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400, None: 1}
LOCALIZE_COLUMNS = ["_time", "starttime", "endtime", "duration", "count", "density"]


def parse_localize(cur: Cursor, word: Token) -> ast.ArgsCmd:
    """Splunk Search Reference: localize
    (https://help.splunk.com/splunk-enterprise/spl-search-reference/9.0/search-commands/localize).
    `localize [maxpause=<int>(s|m|h|d)] [timeafter=<int>(s|m|h|d)] [timebefore=<int>(s|m|h|d)]`;
    a number without a unit is seconds (Speleo). Options hold seconds in the node."""
    opts, fields = _read_args(cur, word, LOCALIZE_OPTIONS)
    if fields:
        raise cur.error("takes only maxpause=, timeafter= and timebefore=", fields[0])
    out = {}
    for key, default in (("maxpause", "60"), ("timeafter", "30"), ("timebefore", "30")):
        value, tok = opts.get(key, (default, None))
        m = _DURATION.fullmatch(value.strip().lower())
        if not m:
            raise cur.error(f"{key}={value!r}: expected a whole number with s, m, h or d, such as 5m", tok)
        out[key] = str(int(m.group(1)) * _UNIT[m.group(2)])
    return ast.ArgsCmd("localize", out, [])


def compile_localize(state: State, cmd: ast.ArgsCmd) -> None:
    """One result per region of time where consecutive results are at most `maxpause` apart
    (inclusive; default 1m), newest region first (the Reference: "returned in search order, or
    descending time"). Fields (the Reference names starttime and endtime and describes the
    others without naming them; the names `duration`, `count`, `density` are Speleo's):
    `_time` the region's first result's time ("the time of each region is the initial
    pre-expanded start-time"), `starttime` that time minus `timebefore` (default 30s),
    `endtime` the region's last result's time plus `timeafter` (default 30s), `duration` =
    endtime - starttime in seconds (the expanded range, the one map would search), `count` the
    results in it, `density` = count / duration (events per second; none when the duration is
    0). Results without `_time` are left out. The SQL keeps `_time` only; the post step
    `localize` (query/relate.py) finds the regions. Not in a subsearch."""
    if not state.top_level:
        raise state.fail("localize is not supported in a subsearch", cmd)
    if "_time" not in state.columns:
        raise state.fail("localize needs results with _time", cmd)
    from speleo.spl.commands.stats import _become_table

    state.wrap()
    src = state.select.args["from_"].this.copy()
    state.select = exp.select(col("_time")).from_(tbl(src)) \
        .where(exp.Not(this=exp.Is(this=col("_time"), expression=exp.null())), copy=False)
    _become_table(state, ["_time"])
    state.post.append({"kind": "localize", "maxpause": int(cmd.options["maxpause"]),
                       "timeafter": int(cmd.options["timeafter"]), "timebefore": int(cmd.options["timebefore"]),
                       "columns": list(LOCALIZE_COLUMNS)})
