"""geostats' step on the result (spl/commands/geostats.py compiles the grouping; Splunk Search
Reference 9.4, geostats): the (zoom level, cell, series) groups DuckDB computed, in level,
row, column, series order, become one row per cell.

- Without `by`: `geobin`, the function columns, latitude, longitude.
- With `by` (translatetoxy=true, the default): one column per series, as chart names them
  (the series value; `<function>: <value>` with several functions), sorted by name, then
  `OTHER`. globallimit=N (default 10; 0 = no limit) keeps the N series with the largest total
  of the first function over all events (the Reference: "the number of named categories to
  add to each pie chart"), the others are added together into OTHER ("only works intuitively
  for count and additive statistics", as the Reference warns); locallimit=N (default 10; 0 = no
  limit), a choice where the Reference only says "the top N values are filtered based on the
  sum of each series": within each cell, the N kept series with the largest first-function
  values keep their columns and the others are added to that cell's OTHER. An empty cell is 0
  for count and dc, else empty.
- translatetoxy=false: one row per cell and series, the by-field holding the series (no
  limits, no OTHER), "broken down by category" as the Reference says.
"""

from __future__ import annotations

import pyarrow as pa

from speleo.spl.commands.geostats import LAT, LON, N, SERIES, SLAT, SLON, X, Y, ZL

OTHER = "OTHER"


def geostats(table: pa.Table, step: dict) -> pa.Table:
    table = _complete_levels(table, step["max_cells"])
    keys = list(zip(*(table.column(c).to_pylist() for c in (ZL, Y, X)))) if table.num_rows else []
    aggs = step["aggs"]
    values = {a: table.column(a).to_pylist() for a in aggs}
    series = table.column(SERIES).to_pylist() if step["by"] else [None] * table.num_rows
    slat, slon, n = (table.column(c).to_pylist() for c in (SLAT, SLON, N))
    cells: dict[tuple, dict] = {}   # (zl, y, x) -> sums of coordinates and the series' values, in order
    for i, key in enumerate(keys):
        cell = cells.setdefault(key, {"slat": 0.0, "slon": 0.0, "n": 0, "series": {}})
        cell["slat"] += slat[i]
        cell["slon"] += slon[i]
        cell["n"] += n[i]
        cell["series"][series[i]] = {a: values[a][i] for a in aggs}
    if not step["by"]:
        rows = [{a: c["series"][None][a] for a in aggs} for c in cells.values()]
        return _table(cells, rows, aggs, step)
    if not step["translate"]:
        rows, where = [], []
        for key, c in cells.items():
            for name, vals in c["series"].items():
                rows.append({step["by"]: name, **vals})
                where.append(key)
        return _table(cells, rows, [step["by"]] + aggs, step, where)
    return _pivot(cells, step)


def _complete_levels(table: pa.Table, max_cells: int) -> pa.Table:
    """Past `max_cells` groups (DuckDB read one more), keep only the zoom levels read whole."""
    if table.num_rows <= max_cells:
        return table
    from speleo.errors import InputError
    from speleo.query.post import say

    levels = table.column(ZL).to_pylist()
    last = levels[-1]
    if last == levels[0]:
        raise InputError(f"geostats: more than {max_cells:,} cells at zoom level 0; raise binspanlat and "
                         "binspanlong")
    say(f"geostats: more than {max_cells:,} cells; zoom levels {last} and above are left out "
        "(lower maxzoomlevel or raise binspanlat/binspanlong)")
    keep = sum(1 for z in levels if z < last)
    return table.slice(0, keep)


def _pivot(cells: dict, step: dict) -> pa.Table:
    aggs, first = step["aggs"], step["aggs"][0]
    totals: dict[str, float] = {}
    lowest = min((k[0] for k in cells), default=0)   # every event once: the lowest zoom level
    for key, c in cells.items():
        if key[0] == lowest:
            for name, vals in c["series"].items():
                totals[name] = totals.get(name, 0.0) + (_number(vals[first]) or 0.0)
    ranked = sorted(totals, key=lambda s: (-totals[s], s))
    limit = step["globallimit"]
    kept = set(ranked[:limit] if limit else ranked)
    other = len(kept) < len(ranked)
    rows = []
    for c in cells.values():
        named = {s: v for s, v in c["series"].items() if s in kept}
        rest = [v for s, v in c["series"].items() if s not in kept]
        local = step["locallimit"]
        if local and len(named) > local:
            order = sorted(named, key=lambda s: (-(_number(named[s][first]) or 0.0), s))
            rest += [named.pop(s) for s in order[local:]]
            other = True
        row = {}
        for name, vals in named.items():
            for a in aggs:
                row[_column(a, name, aggs)] = vals[a]
        if rest:
            for a in aggs:
                row[_column(a, OTHER, aggs)] = _sum([v[a] for v in rest])
        rows.append(row)
    names = sorted(kept) + ([OTHER] if other else [])
    columns = [_column(a, s, aggs) for s in names for a in aggs]
    for row in rows:
        for a in aggs:
            for s in names:
                row.setdefault(_column(a, s, aggs), 0 if a in step["zero"] else None)
    return _table(cells, rows, columns, step)


def _column(agg: str, series: str, aggs: list[str]) -> str:
    return series if len(aggs) == 1 else f"{agg}: {series}"


def _number(v) -> float | None:
    if isinstance(v, bool) or v is None:
        return None
    if isinstance(v, (int, float)):
        return float(v)
    try:
        return float(str(v))
    except ValueError:
        return None


def _sum(values: list):
    nums = [_number(v) for v in values]
    nums = [x for x in nums if x is not None]
    if not nums:
        return None
    total = sum(nums)
    return int(total) if all(isinstance(v, int) and not isinstance(v, bool) for v in values if v is not None) \
        else total


def _table(cells: dict, rows: list[dict], columns: list[str], step: dict, where: list | None = None) -> pa.Table:
    where = where if where is not None else list(cells)
    out: dict[str, pa.Array] = {
        "geobin": pa.array([f"bin_id_zl_{z}_y_{y}_x_{x}" for z, y, x in where], pa.string())}
    for name in columns:
        out[name] = _array([r.get(name) for r in rows])
    out[step["lat"]] = pa.array([cells[k]["slat"] / cells[k]["n"] for k in where], pa.float64())
    out[step["lon"]] = pa.array([cells[k]["slon"] / cells[k]["n"] for k in where], pa.float64())
    return pa.table(out)


def _array(values: list) -> pa.Array:
    try:
        return pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return pa.array([None if v is None else str(v) for v in values], pa.string())
