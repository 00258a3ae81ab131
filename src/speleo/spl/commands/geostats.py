"""geostats: statistics of events binned on a latitude/longitude grid at several zoom levels.

Splunk Search Reference 9.4, geostats
(https://help.splunk.com/en/splunk-enterprise/spl-search-reference/9.4/search-commands/geostats):
`geostats [translatetoxy=<bool>] [latfield=<string>] [longfield=<string>] [globallimit=<int>]
[locallimit=<int>] [outputlatfield=<string>] [outputlongfield=<string>] [binspanlat=<float>
binspanlong=<float>] [maxzoomlevel=<int>] <stats-agg-term>... [<by-clause>]`.

DuckDB groups the events per zoom level, grid cell and series (any stats function works, as
in chart); the post step `geostats` (query/geobins.py) turns those groups into one row per
cell, with the series as columns.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlglot import exp

from speleo.spl import ast
from speleo.spl.commands.extra import _aggs, is_option
from speleo.spl.cursor import Cursor
from speleo.spl.state import State, col, ident, tbl
from speleo.spl.tokens import T, Token, is_digits

MAX_ZOOM = 20            # maxzoomlevel: 0..20 (a level-20 cell of the default grid is about 2 m tall)
MAX_CELLS = 200_000      # (zoom level, cell, series) groups read from DuckDB; levels past it are left out
HIDDEN = "__speleo_geo_"
ZL, Y, X, SERIES = HIDDEN + "zl", HIDDEN + "y", HIDDEN + "x", HIDDEN + "series"
LAT, LON, SLAT, SLON, N = HIDDEN + "lat", HIDDEN + "lon", HIDDEN + "slat", HIDDEN + "slon", HIDDEN + "n"

_INTS = {"globallimit": (0, 10_000), "locallimit": (0, 10_000), "maxzoomlevel": (0, MAX_ZOOM)}
_SPANS = {"binspanlat": 180.0, "binspanlong": 360.0}
_NAMES = {"latfield", "longfield", "outputlatfield", "outputlongfield"}
OPTIONS = set(_INTS) | set(_SPANS) | _NAMES | {"translatetoxy"}
_BOOLS = ("true", "t", "1", "yes", "y", "false", "f", "0", "no", "n")


@dataclass
class GeostatsCmd(ast.Command):
    options: dict[str, str]
    aggs: list[ast.Agg]
    by: str | None = field(default=None)


def parse_geostats(cur: Cursor, word: Token) -> GeostatsCmd:
    """Options may come before the functions, between them and `by`, or after the by-field;
    each value is checked where it is written."""
    opts: dict[str, str] = {}
    _options(cur, opts)
    aggs = _aggs(cur, ("by",))
    if not aggs:
        raise cur.error("geostats needs a statistical function, as in `geostats count` or "
                        "`geostats avg(bytes) by status`", cur.peek() if not cur.at_end() else word)
    _options(cur, opts)
    by = None
    if cur.accept_word("by"):
        by = cur.name("the by-field").value
        if not cur.at_end() and not is_option(cur):
            raise cur.error("geostats takes one by-field", cur.peek())
    _options(cur, opts)
    cur.expect_end()
    return GeostatsCmd(opts, aggs, by)


def _options(cur: Cursor, opts: dict[str, str]) -> None:
    while is_option(cur):
        key = cur.peek()
        name = key.value.lower()
        if name not in OPTIONS:
            raise cur.error(f"geostats: unknown option {key.value!r} (options: {', '.join(sorted(OPTIONS))})", key)
        cur.i += 2
        value = cur.next()
        if value.kind not in (T.WORD, T.STRING, T.NUMBER):
            raise cur.error(f"geostats: expected a value for {name}", value)
        opts[name] = _checked(cur, name, value)


def _checked(cur: Cursor, name: str, tok: Token) -> str:
    text_ = tok.value
    if name in _INTS:
        lo, hi = _INTS[name]
        if not is_digits(text_) or not lo <= int(text_) <= hi:
            raise cur.error(f"geostats {name}={text_}: expected a whole number from {lo} to {hi:,}", tok)
    elif name in _SPANS:
        try:
            span = float(text_)
        except ValueError:
            span = float("nan")
        if not 0.0001 <= span <= _SPANS[name]:   # finer cells than 0.0001 degrees (11 m) would overflow their numbers
            raise cur.error(f"geostats {name}={text_}: expected a number of degrees from 0.0001 to "
                            f"{_SPANS[name]:g}", tok)
    elif name == "translatetoxy" and text_.lower() not in _BOOLS:
        raise cur.error(f"geostats translatetoxy={text_}: expected true or false", tok)
    elif name in _NAMES and not text_:
        raise cur.error(f"geostats {name}= needs a field name", tok)
    return text_


def compile_geostats(state: State, cmd: GeostatsCmd) -> None:
    """The Reference's defaults: latfield `lat`, longfield `lon` (iplocation's fields),
    outputlatfield `latitude`, outputlongfield `longitude`, binspanlat 22.5 and binspanlong 45
    (an 8x8 grid at level 0), maxzoomlevel 9 ("10 zoom levels are created, 0-9"), globallimit
    and locallimit 10. "At each level of zoom, the number of bins is doubled in both
    dimensions": every event is counted once at each level 0..maxzoomlevel, and each level's
    cells are rows of their own, named by `geobin` = `bin_id_zl_<level>_y_<row>_x_<column>` (row
    0 starts at latitude -90, column 0 at longitude -180; the visualization keeps one level).

    Choices where the Reference is silent: the output latitude/longitude of a cell is the
    mean of its events' coordinates (all series together); an event whose latitude is not a
    number in [-90, 90] or longitude in [-180, 180] is left out, as is one without a by-field
    value (as stats by); a cell's row holds `geobin`, the function columns, then latitude and
    longitude (the column order of the Reference's example), rows by level, then row, then
    column. binspanlat and binspanlong may each be given alone. The rows are bounded: at most
    200,000 (level, cell, series) groups are read, and the levels past the last complete one
    are left out with a message. See query/geobins.py for `by`, globallimit, locallimit and
    translatetoxy."""
    from speleo.spl.commands.aggregates import agg_name, agg_sql
    from speleo.spl.commands.opscmds import extract_for_later
    from speleo.spl.commands.rows import assign_many
    from speleo.spl.commands.stats import _assign, _become_table, _text_extremes, text_extremes_after
    from speleo.spl.cursor import as_bool
    from speleo.spl.functions import text

    if not state.top_level:
        raise state.fail("geostats is not supported in a subsearch", cmd)
    o = cmd.options
    span_lat, span_lon = float(o.get("binspanlat", "22.5")), float(o.get("binspanlong", "45.0"))
    levels = int(o.get("maxzoomlevel", "9"))
    names = [agg_name(a) for a in cmd.aggs]
    if len(set(names)) != len(names):
        raise state.fail("geostats: two functions have the same name; give one an AS name", cmd)
    double = exp.DataType.build("DOUBLE")
    values = {LAT: exp.TryCast(this=text(state.field(o.get("latfield", "lat"))), to=double),
              LON: exp.TryCast(this=text(state.field(o.get("longfield", "lon"))), to=double)}
    if cmd.by:
        values[SERIES] = text(state.field(cmd.by))
    assign_many(state, values)
    cond = exp.and_(exp.Between(this=col(LAT), low=exp.Literal.number(-90), high=exp.Literal.number(90)),
                    exp.Between(this=col(LON), low=exp.Literal.number(-180), high=exp.Literal.number(180)))
    if cmd.by:
        cond = exp.and_(cond, exp.Not(this=exp.Is(this=col(SERIES), expression=exp.null())))
    state.filter(cond)
    extract_for_later(state)
    _assign(state, ZL, exp.Unnest(expressions=[exp.Anonymous(this="range", expressions=[
        exp.Literal.number(0), exp.Literal.number(levels + 1)])]))
    assign_many(state, {Y: _cell(col(LAT), 90.0, span_lat, 180.0), X: _cell(col(LON), 180.0, span_lon, 360.0)})
    state.wrap()
    src = state.select.args["from_"].this.copy()
    keys = [ZL, Y, X] + ([SERIES] if cmd.by else [])
    cols = [col(k) for k in keys] + [exp.alias_(agg_sql(state, a), ident(n)) for a, n in zip(cmd.aggs, names)]
    cols += [exp.alias_(exp.Sum(this=col(LAT)), ident(SLAT)), exp.alias_(exp.Sum(this=col(LON)), ident(SLON)),
             exp.alias_(exp.Count(this=exp.Star()), ident(N))]
    texts = _text_extremes(state, cmd.aggs)   # min()/max() over text as stats: lexicographic where no number
    cols += [exp.alias_(v, ident(hidden)) for _n, hidden, v in texts]
    grouped = exp.select(*cols).from_(tbl(src)).group_by(*[col(k) for k in keys], copy=False) \
        .order_by(*[col(k) for k in keys], copy=False).limit(MAX_CELLS + 1, copy=False)
    state.ctes.append((f"s{len(state.ctes)}", grouped))
    state.select = exp.select(exp.Star()).from_(tbl(state.ctes[-1][0]))
    _become_table(state, keys + names + [SLAT, SLON, N])
    state.set_order([exp.Ordered(this=col(k)) for k in keys], set(keys))
    text_extremes_after(state, texts)   # each (cell, series) row's text min/max before the cells are laid out
    out_lat, out_lon = o.get("outputlatfield", "latitude"), o.get("outputlongfield", "longitude")
    taken = [n for n in names if n in ("geobin", out_lat, out_lon) or n == cmd.by]
    if taken or out_lat == out_lon or "geobin" in (out_lat, out_lon):
        raise state.fail(f"geostats: the output name {(taken or [out_lat])[0]!r} is used twice (geobin, "
                         f"{out_lat}, {out_lon} and the functions' names must differ); rename it with AS", cmd)
    translate = as_bool(o.get("translatetoxy", "true"))
    expected = ["geobin"] + ([cmd.by] if cmd.by and not translate else []) + ([] if cmd.by and translate else names)
    state.post.append({"kind": "geostats", "aggs": names, "by": cmd.by, "translate": translate,
                       "zero": [n for a, n in zip(cmd.aggs, names) if a.func in ("count", "dc", "distinct_count")],
                       "globallimit": int(o.get("globallimit", "10")), "locallimit": int(o.get("locallimit", "10")),
                       "lat": out_lat, "lon": out_lon, "max_cells": MAX_CELLS,
                       "columns": expected + [out_lat, out_lon]})


def _cell(value: exp.Expression, offset: float, span: float, extent: float) -> exp.Expression:
    """The cell index of `value` at zoom level ZL: floor((value + offset) * 2^zl / span), the
    top edge (latitude 90, longitude 180) in the last cell."""
    scale = exp.Pow(this=exp.Literal.number(2), expression=col(ZL))
    shifted = exp.Paren(this=exp.Add(this=value, expression=exp.Literal.number(repr(offset))))
    index = exp.Floor(this=exp.Div(this=exp.Paren(this=exp.Mul(this=shifted, expression=scale)),
                                   expression=exp.Literal.number(repr(span))))
    cells = exp.Ceil(this=exp.Div(this=exp.Paren(this=exp.Mul(this=exp.Literal.number(repr(extent)),
                                                               expression=scale.copy())),
                                  expression=exp.Literal.number(repr(span))))
    last = exp.Sub(this=cells, expression=exp.Literal.number(1))
    return exp.Cast(this=exp.Least(this=index, expressions=[last]), to=exp.DataType.build("BIGINT"))
