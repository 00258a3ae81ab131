"""Post steps of the commands that relate results to one another (spl/commands/relatecmds.py
says what each does and why): contingency's table, selfjoin's pairs, localize's regions.
Each is `fn(table, step) -> table` on the Arrow result, registered in query/post.py STEPS."""

from __future__ import annotations

from collections import defaultdict

import pyarrow as pa
import pyarrow.compute as pc

MAX_MAIN_RESULTS = 100_000      # selfjoin: the Reference's "maximum number of main results"
MAX_SELFJOIN_ROWS = 1_000_000   # selfjoin: rows out (max=0 on a key shared by n results makes n(n-1)/2)
MAX_VALUES = 1000               # contingency: limits.conf [ctable] maxvalues


def _say(message: str) -> None:
    from speleo.query.post import say

    say(message)


# --- contingency -----------------------------------------------------------------------------------

def _text(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def _values(v) -> list[str]:
    """The distinct texts of a value (a list: each of its values); "" is EMPTY_STR."""
    items = v if isinstance(v, list) else [v]
    return list(dict.fromkeys("EMPTY_STR" if t == "" else t for t in (_text(x) for x in items if x is not None)))


def _kept(totals: dict[str, int], limit: int, cover: float, grand: int) -> list[str]:
    """The values by descending count (ties by value), the most common first, until `limit`
    or until they hold `cover` of `grand` (at least one)."""
    order = sorted(totals, key=lambda v: (-totals[v], v))
    kept, held = [], 0
    for v in order[:limit]:
        if kept and held >= cover * grand:
            break
        kept.append(v)
        held += totals[v]
    return kept


def contingency(table: pa.Table, step: dict) -> pa.Table:
    """Rows (_, col, n) of counted pairs -> the co-occurrence table."""
    cells: dict[tuple[str, str], int] = defaultdict(int)
    for r, c, n in zip(table.column("__speleo_row").to_pylist(), table.column("__speleo_col").to_pylist(),
                       table.column("__speleo_n").to_pylist()):
        for rv in _values(r):
            for cv in _values(c):
                cells[(rv, cv)] += n
    row_totals: dict[str, int] = defaultdict(int)
    col_totals: dict[str, int] = defaultdict(int)
    for (rv, cv), n in cells.items():
        row_totals[rv] += n
        col_totals[cv] += n
    grand = sum(cells.values())
    limits = {k: min(step[k] or MAX_VALUES, MAX_VALUES) for k in ("maxrows", "maxcols")}
    rows = _kept(row_totals, limits["maxrows"], step["minrowcover"], grand)
    cols = _kept(col_totals, limits["maxcols"], step["mincolcover"], grand)
    for kept, every, field in ((rows, row_totals, step["row_field"]), (cols, col_totals, step["col_field"])):
        if len(kept) < len(every):
            left = len(every) - len(kept)
            _say(f"contingency left out the {left:,} least common value{'s' if left != 1 else ''} of {field}")
    first, total = step["row_field"], step["total"]
    taken = {first} | ({total} if total else set())
    names = []
    for cv in cols:
        name, k = cv, 0
        while name in taken:
            k += 1
            name = f"{cv}_{k}"
        taken.add(name)
        names.append(name)
    data: dict[str, list] = {first: list(rows)}
    for cv, name in zip(cols, names):
        data[name] = [cells.get((rv, cv), 0) for rv in rows]
    if total and rows:   # no pair counted: no results (not a lone TOTAL row)
        data[total] = [sum(data[n][i] for n in names) for i in range(len(rows))]
        data[first].append(total)
        for name in names + [total]:
            data[name].append(sum(data[name]))
    elif total:
        data[total] = []
    schema = pa.schema([pa.field(first, pa.string())] + [pa.field(n, pa.int64()) for n in data if n != first])
    return pa.table(data, schema=schema)


# --- selfjoin --------------------------------------------------------------------------------------

def _key(values: list) -> object:
    return tuple(tuple(v) if isinstance(v, list) else v for v in values)


def _pairs(table: pa.Table, step: dict) -> list[tuple[int, int]]:
    """(main, other) row indices in output order; (i, i) is a result kept alone."""
    keys = [table.column(f).to_pylist() for f in step["fields"]]
    times = table.column("_time").to_pylist() if "_time" in table.column_names else [None] * table.num_rows
    groups: dict[object, list[int]] = defaultdict(list)
    for i in range(table.num_rows):
        values = [k[i] for k in keys]
        if any(v is None for v in values):
            continue
        groups[_key(values)].append(i)
    limit = step["max"]
    pairs: list[tuple[int, int]] = []
    mains = 0
    for members in groups.values():
        if len(members) == 1:
            if step["keepsingle"]:
                pairs.append((members[0], members[0]))
            continue
        # oldest first; equal or no _time: the later result first (Splunk's search order is newest first)
        members.sort(key=lambda i: (float("-inf") if times[i] is None else times[i], -i))
        for n, main in enumerate(members[:-1]):
            if mains == MAX_MAIN_RESULTS:
                _say(f"selfjoin joined the first {MAX_MAIN_RESULTS:,} main results only")
                break
            mains += 1
            others = members[n + 1:] if limit == 0 else members[n + 1:n + 1 + limit]
            pairs.extend((main, o) for o in others)
        if len(pairs) > MAX_SELFJOIN_ROWS:
            break
    if len(pairs) > MAX_SELFJOIN_ROWS:
        _say(f"selfjoin kept the first {MAX_SELFJOIN_ROWS:,} joined rows")
    pairs.sort(key=lambda p: (p[1], p[0]))
    return pairs[:MAX_SELFJOIN_ROWS]


def selfjoin(table: pa.Table, step: dict) -> pa.Table:
    """Each (main, other) pair as one row: with overwrite, the other's value where it has one,
    else the main's; without, the other way round."""
    pairs = _pairs(table, step)
    main = pa.array([m for m, _ in pairs], pa.int64())
    other = pa.array([o for _, o in pairs], pa.int64())
    first, second = (other, main) if step["overwrite"] else (main, other)
    columns = []
    for name in table.column_names:
        column = table.column(name).combine_chunks()
        a, b = column.take(first), column.take(second)
        columns.append(b if pa.types.is_null(column.type) else pc.if_else(pc.is_valid(a), a, b))
    return pa.table(columns, names=table.column_names)


# --- localize --------------------------------------------------------------------------------------

def localize(table: pa.Table, step: dict) -> pa.Table:
    """Regions of `_time` whose consecutive times are at most maxpause apart, newest first."""
    import numpy as np

    times = np.sort(np.array([t for t in table.column("_time").to_pylist() if t is not None], dtype=float))
    if times.size:
        breaks = np.flatnonzero(np.diff(times) > step["maxpause"]) + 1
        starts = np.concatenate(([0], breaks))
        ends = np.concatenate((breaks, [times.size])) - 1
    else:
        starts = ends = np.array([], dtype=int)
    first, last = times[starts], times[ends]
    count = (ends - starts + 1).astype(np.int64)
    start_time = first - step["timebefore"]
    end_time = last + step["timeafter"]
    duration = end_time - start_time
    density = [None if d == 0 else float(n / d) for n, d in zip(count, duration)]
    back = slice(None, None, -1)    # newest region first
    return pa.table({"_time": pa.array(first[back], pa.float64()), "starttime": pa.array(start_time[back], pa.float64()),
                     "endtime": pa.array(end_time[back], pa.float64()), "duration": pa.array(duration[back], pa.float64()),
                     "count": pa.array(count[back], pa.int64()), "density": pa.array(density[::-1], pa.float64())})
