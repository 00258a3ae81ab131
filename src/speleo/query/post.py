"""Steps a compiled search applies to its Arrow result after DuckDB ran it
(`CompiledSearch.post`): what cannot be SQL — writing a lookup file (outputlookup),
log-pattern clustering (cluster, with drain3), and commands whose columns depend on the data
(transpose; fromjson and xmlkv on results). Each step is a plain dict. A "pipeline" step
holds the commands that came after a post step: they are compiled over the table the steps
produced (spl/commands/continuation.py) and run on the search's DuckDB connection."""

from __future__ import annotations

import contextlib
import contextvars
import csv
import itertools
import json
import os
import re
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from speleo.query import relate
from speleo.query import jobrows  # | loadjob: a finished job's results read as the searcher
from speleo.query import restrows  # | rest: a REST feed read as the searcher

HIDDEN = "__speleo"

_MESSAGES: "contextvars.ContextVar[list[str] | None]" = contextvars.ContextVar("speleo_post_messages", default=None)


@contextlib.contextmanager
def collect_messages():
    """`with collect_messages() as said:` the messages steps leave for the searcher (map: runs
    skipped, results past maxsearches) land in the list `said`."""
    said: list[str] = []
    token = _MESSAGES.set(said)
    try:
        yield said
    finally:
        _MESSAGES.reset(token)


def say(message: str) -> None:
    """A message for the searcher (kept when `collect_messages` is active; else dropped)."""
    said = _MESSAGES.get()
    if said is not None and message not in said:
        said.append(message)


def row_wise(steps: list[dict] | None) -> bool:
    """Whether every step maps each row to one row in order (`extracted` and the `table` kept
    after it): the search's LIMIT may then run before them, and they may run batch by batch."""
    return bool(steps) and all(s.get("row_wise") for s in steps)


def apply_post(table: pa.Table, steps: list[dict], con=None) -> pa.Table:
    """Apply the steps in order; `con` is the search's DuckDB connection (where `__events__`
    is registered, for subsearches of commands after a post step); a new one when None."""
    for step in steps:
        if step["kind"] == "pipeline":
            table = _pipeline(table, step, con)
        elif step["kind"] == "map":
            table = _map(table, step, con)
        else:
            table = STEPS[step["kind"]](table, step)
    return table


def set_columns(table: pa.Table, columns: dict[str, pa.Array]) -> pa.Table:
    """`table` with each of `columns` replacing the column of its name, or appended."""
    for name, arr in columns.items():
        if name in table.column_names:
            table = table.set_column(table.column_names.index(name), name, arr)
        else:
            table = table.append_column(name, arr)
    return table


def _cell(v) -> str:
    if v is None:
        return ""
    if isinstance(v, list):
        return "\n".join(_cell(x) for x in v if x is not None)
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def _pivot(table: pa.Table, step: dict) -> pa.Table:
    """timechart by (Splunk Search Reference: timechart): rows of (_time, series, value) become
    one row per bucket start and one column per series (sorted by name; the left-out series
    `dropped` has none; SQL gives the empty buckets of cont=true in it). Missing cells are 0
    when `zero` (count, dc), else null."""
    if table.column("_time").null_count:   # a command made _time null: no bucket, as stats by _time
        table = table.filter(pc.is_valid(table.column("_time")))
    times = [float(t) for t in table.column("_time").to_pylist()]
    series = table.column(step["series"]).to_pylist()
    values = table.column(step["value"])
    cells = dict(zip(zip(times, series), values.to_pylist()))
    names = sorted({s for s in series if s != step["dropped"]})
    last = [n for n in step.get("last", []) if n is not None]   # the NULL, then the OTHER series go last
    names = [n for n in names if n not in last] + [n for n in last if n in names]
    rows = sorted(set(times))
    empty = 0 if step["zero"] else None
    columns = {"_time": pa.array(rows, pa.float64())}
    for name in names:
        columns[name] = pa.array([cells.get((t, name), empty) for t in rows], type=values.type)
    return pa.table(columns)


def _chart_pivot(table: pa.Table, step: dict) -> pa.Table:
    """chart over X by Y in the main search when its cells may hold text (spl/commands/reshape.py
    `_chart_pivot_after`): rows of (X, series, value) become one row per X value, in Splunk's
    automatic order (numbers numerically, then text; the sort page), and one column per series
    sorted by name (as DuckDB's PIVOT orders them; the left-out series `dropped` has none);
    a missing cell is null."""
    key = step["key"]
    xs = table.column(key).to_pylist()
    series = table.column(step["series"]).to_pylist()
    values = table.column(step["value"])
    cells = dict(zip(zip(xs, series), values.to_pylist()))
    names = sorted({s for s in series if s != step["dropped"]})

    def auto(v) -> tuple:
        try:
            n = float(v)
        except (TypeError, ValueError):
            n = None
        return (v is None, n is None, n if n is not None else 0.0, str(v))
    rows = sorted(set(xs), key=auto)
    columns = {key: pa.array(rows, table.schema.field(key).type)}
    for name in names:
        columns[name] = pa.array([cells.get((r, name)) for r in rows], type=values.type)
    return pa.table(columns)


def _outputlookup(table: pa.Table, step: dict) -> pa.Table:
    """Write the rows as CSV (atomically; append=true adds rows under the existing header)."""
    path = Path(step["path"])
    names = [n for n in table.column_names if not n.startswith(HIDDEN)]
    rows = table.select(names).to_pylist()
    if step.get("max") is not None:
        rows = rows[: step["max"]]
    if not rows and not step.get("override_if_empty", True):
        return table
    if not rows and not step.get("create_empty", True) and not path.exists():
        return table
    path.parent.mkdir(parents=True, exist_ok=True)
    header, old = names, []
    if step.get("append") and path.exists():
        with open(path, encoding="utf-8-sig", newline="") as f:
            reader = csv.reader(f)
            header = next(reader, None) or names
            old = list(reader)
        header = header + [n for n in names if n not in header]
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".csv")
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        for r in old:
            w.writerow(r + [""] * (len(header) - len(r)))
        for r in rows:
            w.writerow([_cell(r.get(h)) for h in header])
    os.replace(tmp, path)
    return table


def _cluster(table: pa.Table, step: dict) -> pa.Table:
    """Splunk Search Reference: cluster. Groups results whose field (default _raw) share a log
    pattern (drain3's template miner, similarity threshold `t`, default 0.8); adds
    `cluster_label` (a cluster number, numbered in order of first appearance) and
    `cluster_count`; `showcount=false` leaves the count out; `labelonly=false` (default) keeps
    only the first result of each cluster, in the input order; `showtemplate` (Speleo's own) adds
    `cluster_template`, the cluster's final drain3 template."""
    from drain3 import TemplateMiner
    from drain3.template_miner_config import TemplateMinerConfig

    cfg = TemplateMinerConfig()
    cfg.drain_sim_th = float(step.get("t", 0.8))
    cfg.profiling_enabled = False
    miner = TemplateMiner(config=cfg)
    field = step.get("field", "_raw")
    values = table.column(field).to_pylist() if field in table.column_names else [None] * table.num_rows
    ids = []
    for v in values:
        ids.append(None if v is None else miner.add_log_message(_cell(v))["cluster_id"])
    labels: dict[int, int] = {}
    counts: dict[int, int] = {}
    for i in ids:
        if i is not None:
            labels.setdefault(i, len(labels) + 1)
            counts[i] = counts.get(i, 0) + 1
    label_name, count_name = step.get("labelfield", "cluster_label"), step.get("countfield", "cluster_count")
    out = table
    if not step.get("labelonly", False):
        keep, seen = [], set()
        for n, i in enumerate(ids):
            if i is not None and i not in seen:
                seen.add(i)
                keep.append(n)
        out = table.take(pa.array(keep, pa.int64()))
        ids = [ids[n] for n in keep]
    cols = {label_name: pa.array([labels.get(i) if i is not None else None for i in ids], pa.int64())}
    if step.get("showcount", True):
        cols[count_name] = pa.array([counts.get(i) if i is not None else None for i in ids], pa.int64())
    if step.get("showtemplate", False):   # Speleo: the pattern signature of a problem (docs/incidents.md)
        templates = {i: miner.drain.id_to_cluster[i].get_template() for i in counts}
        cols["cluster_template"] = pa.array([templates.get(i) if i is not None else None for i in ids], pa.string())
    return set_columns(out, cols)


# --- transpose, fromjson, xmlkv ------------------------------------------------------------


def _visible(table: pa.Table, skip=()) -> list[str]:
    return [n for n in table.column_names if not n.startswith(HIDDEN) and n not in skip]


def _transpose(table: pa.Table, step: dict) -> pa.Table:
    """Splunk Search Reference: transpose (see spl/commands/continuation.py)."""
    n, name, header = step["n"], step["column_name"], step.get("header_field")
    rows = table.slice(0, n) if n else table
    fields = [f for f in _visible(table, step.get("skip", ())) if f != header]
    data = {f: rows.column(f).to_pylist() for f in fields}
    if not step.get("include_empty", True):
        fields = [f for f in fields if any(_cell(v) != "" for v in data[f])]
    heads = rows.column(header).to_pylist() if header and header in table.column_names else [None] * rows.num_rows
    out: dict[str, list] = {name: fields}
    for k, head in enumerate(heads):
        label = _cell(head) if head is not None and _cell(head) != "" else f"row {k + 1}"
        if label in out:          # a repeated header value: the first result keeps the column
            continue
        out[label] = [None if data[f][k] is None else _cell(data[f][k]) for f in fields]
    return pa.table({k: pa.array(v, pa.string()) for k, v in out.items()})


def _text(v) -> str:
    """A JSON value as Splunk shows a field value: text; objects and arrays as compact JSON."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (dict, list)):
        return json.dumps(v, separators=(",", ":"), ensure_ascii=False)
    return _cell(v)


def _add_fields(table: pa.Table, found: list[dict]) -> pa.Table:
    """Set the fields found per row (a row without a field keeps its old value); a field with
    a list in any row becomes a list column."""
    names = list(dict.fromkeys(itertools.chain.from_iterable(found)))
    for key in names:
        vals = [row.get(key) for row in found]
        old = table.column(key).to_pylist() if key in table.column_names else [None] * table.num_rows
        if any(isinstance(v, list) for v in vals):
            merged = [v if isinstance(v, list) else [v] if v is not None else
                      (o if isinstance(o, list) else None if o is None else [_cell(o)]) for v, o in zip(vals, old)]
            arr = pa.array([None if m is None else [_cell(x) for x in m] for m in merged], pa.list_(pa.string()))
        else:
            arr = pa.array([v if v is not None else (None if o is None else _cell(o)) for v, o in zip(vals, old)],
                           pa.string())
        table = set_columns(table, {key: arr})
    return table


def _fromjson(table: pa.Table, step: dict) -> pa.Table:
    """Splunk Search Reference: fromjson (see spl/commands/extracts.py): top-level keys."""
    found = []
    for v in table.column(step["field"]).to_pylist():
        try:
            doc = json.loads(v) if isinstance(v, str) else None
        except ValueError:
            doc = None
        row = {}
        if isinstance(doc, dict):
            for k, val in doc.items():
                if val is None:
                    continue
                row[step.get("prefix", "") + k] = [_text(x) for x in val] if isinstance(val, list) else _text(val)
        found.append(row)
    return _add_fields(table, found)


_XML = re.compile(r"<([A-Za-z_][\w.:-]*)(?:\s[^>]*)?>([^<]*)</\1>")


def _xmlkv(table: pa.Table, step: dict) -> pa.Table:
    """Splunk Search Reference: xmlkv (see spl/commands/extracts.py): the first element of each tag."""
    found = []
    for v in table.column(step["field"]).to_pylist():
        row: dict = {}
        for tag, value in _XML.findall(_cell(v)):
            if value != "":
                row.setdefault(tag, value)
        found.append(row)
    return _add_fields(table, found)


def _extracted(table: pa.Table, step: dict) -> pa.Table:
    """The search-time fields of each event (its sourcetype's extractions, JSON, automatic
    key=value: `sourcetypes.extract_fields`, as the events answer shows them) whose names match
    one of `patterns` (fnmatch, `*` wildcards) and are not columns already (a stored field
    wins), as columns; for `table`/`fields` with wildcards (spl/commands/fields.py). A field
    an earlier `fields -` removed (`removed`: names and wildcards) stays out."""
    import fnmatch

    from speleo import sourcetypes
    from speleo.spl.commands.fields import wildcard_matches

    patterns = step["patterns"]
    removed = step.get("removed") or []

    def gone(k: str) -> bool:
        return any(k == r or ("*" in r and wildcard_matches(r, k)) for r in removed)
    have = set(table.column_names)
    cols = {n: table.column(n).to_pylist() for n in ("_raw", "sourcetype", "source", "host") if n in have}
    raws = cols.get("_raw", [None] * table.num_rows)
    found = []
    matched: dict[str, bool] = {}
    for i, raw in enumerate(raws):
        row: dict = {}
        st = cols.get("sourcetype", [None] * table.num_rows)[i]
        if isinstance(raw, str):
            meta = {k: cols[k][i] for k in ("source", "host") if k in cols}
            for k, v in sourcetypes.extract_fields(raw, st or "", meta).items():
                ok = matched.get(k)
                if ok is None:
                    ok = matched[k] = k not in have and any(fnmatch.fnmatchcase(k, p) for p in patterns) \
                        and not gone(k)
                if ok:
                    row[k] = v
        found.append(row)
    return _add_fields(table, found)


# --- commands after a post step -------------------------------------------------------------

_POST_IDS = itertools.count()


def _pipeline(table: pa.Table, step: dict, con) -> pa.Table:
    """Compile the kept commands over this table and run them (then their own post steps)."""
    from speleo.config import duckdb_config
    from speleo.query import udf
    from speleo.spl.commands.continuation import compile_continuation
    from speleo.spl.state import ORD

    names = _visible(table)
    name = f"__speleo_post{next(_POST_IDS)}"
    sql, post = compile_continuation(step, names, name)
    con = con if con is not None else udf.connect(duckdb_config())
    src = table.select(names).append_column(ORD, pa.array(range(table.num_rows), pa.int64()))
    con.register(name, src)
    try:
        out = con.sql(sql).to_arrow_table()
    finally:
        con.unregister(name)
    return apply_post(out, post, con)


def _map(table: pa.Table, step: dict, con) -> pa.Table:
    """map (spl/commands/mapcmd.py): the template run once per result (at most `max`), with
    `$field$` replaced by the result's value, over the search's `__events__`; the results of
    the runs one after another (columns of all of them; a column whose types differ between
    runs becomes text). A run whose values do not make a search (a quote left open, an empty
    value where one is needed) or change its commands is skipped, and said; so are the results
    past `max` and rows past `MAX_ROWS_PER_SEARCH`. A cancel or the searcher's time limit
    stops it between two runs (`udf.stopped`)."""
    from speleo.errors import SplError
    from speleo.query import udf
    from speleo.spl import compile_search
    from speleo.spl.commands.mapcmd import MAX_ROWS_PER_SEARCH, TOKEN, signature
    from speleo.spl.parser import parse_expanded

    if con is None:
        from speleo.errors import InputError

        raise InputError("map needs the events of its search (it cannot run after a post-process search)")
    if table.num_rows > step["max"]:
        say(f"map ran its search for the first {step['max']:,} of {table.num_rows:,} results "
            f"(maxsearches={step['max']:,})")
    outs, skipped = [], []
    for serial, row in enumerate(table.slice(0, step["max"]).to_pylist(), start=1):
        if udf.stopped(con):
            raise udf.PcreStopped(udf.STOP_MARK)

        def value(m: re.Match, row=row, serial=serial) -> str:
            name = m.group(1)
            return str(serial) if name == "_serial_id" else _cell(row.get(name))

        text = TOKEN.sub(value, step["template"])
        try:
            if step.get("signature") and signature(parse_expanded(text, step["ctx"].macros)[0]) != step["signature"]:
                raise SplError("its values change the commands of the search")
            compiled = compile_search(text, step["ctx"])
            if writing_steps(compiled.post):
                # a template that compiled only with real values (`| inputlookup $name$ | outputcsv x`)
                # was never checked for writing commands, nor against the searcher's capabilities
                raise SplError("map's search cannot itself hold outputlookup, outputcsv, collect or sendemail")
            if not compiled.transforming and step.get("fields"):   # events: extract what later commands name
                extract = ", ".join(f"{name}={name}" for name in step["fields"])
                try:
                    compiled = compile_search(f"{text} | eval {extract}", step["ctx"])
                except SplError:   # a name eval reads otherwise (a keyword): the run without it
                    pass
        except SplError as e:
            skipped.append(f"result {serial} ({getattr(e, 'message', str(e))}: {text[:120]!r})")
            continue
        out = con.sql(f"SELECT * FROM ({compiled.sql}) AS q LIMIT {MAX_ROWS_PER_SEARCH + 1}").to_arrow_table()
        if out.num_rows > MAX_ROWS_PER_SEARCH:
            out = out.slice(0, MAX_ROWS_PER_SEARCH)
            say(f"map kept the first {MAX_ROWS_PER_SEARCH:,} rows of a run (result {serial})")
        if compiled.post:
            out = apply_post(out, compiled.post, con)
        outs.append(out.select(_visible(out)))
    if skipped:
        say(f"map skipped {len(skipped):,} run{'s' if len(skipped) != 1 else ''} whose values do not make its "
            f"search: " + "; ".join(skipped[:3]) + ("; ..." if len(skipped) > 3 else ""))
    if step.get("then"):   # appendpipe [| map ... | <then>]: those commands over the runs' results
        outs = [_pipeline(_concat(outs) if outs else pa.table({"_time": pa.array([], pa.float64())}),
                          step["then"], con)]
    if step.get("append"):   # appendpipe [| map ...]: after the input results
        outs.insert(0, table.select(_visible(table)))
    if not outs:
        return pa.table({name: pa.array([], pa.string()) for name in step.get("columns", [])})
    return _concat(outs)


def _concat(outs: list[pa.Table]) -> pa.Table:
    """Tables one after another, with the columns of all (a column whose types differ becomes text)."""
    outs = [t.select(_visible(t)) for t in outs]
    try:
        return pa.concat_tables(outs, promote_options="permissive")
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        types: dict[str, set] = {}
        for t in outs:
            for f in t.schema:
                types.setdefault(f.name, set()).add(f.type)
        mixed = {n for n, ts in types.items() if len(ts) > 1}
        lists = {n for n in mixed if any(pa.types.is_list(t) or pa.types.is_large_list(t) for t in types[n])}
        outs = [_as_lists(t, lists) for t in outs]
        outs = [t.cast(pa.schema([pa.field(f.name, pa.string() if f.name in mixed - lists else f.type)
                                  for f in t.schema])) for t in outs]
        return pa.concat_tables(outs, promote_options="permissive")


def _as_lists(table: pa.Table, names: set[str]) -> pa.Table:
    """The columns `names` of `table` as lists of text: a multivalue column stays one (its values
    as text), a single value becomes a one-value list (a Splunk field with one value), null stays
    null. For tables whose column holds lists on one side and single values on the other."""
    for name in names & set(table.column_names):
        values = table.column(name).to_pylist()
        out = [None if v is None else [None if x is None else _cell(x) for x in v] if isinstance(v, list) else [_cell(v)]
               for v in values]
        table = table.set_column(table.column_names.index(name), name, pa.array(out, pa.list_(pa.string())))
    return table


SINKS: dict = {}
"""Post steps with side effects outside the home's files (`collect` writes events, `sendemail`
mails): registered by the server and the CLI (speleo.alerts.spl_sinks), so that the query layer
needs neither the writer nor SMTP. kind -> fn(table, step)."""


def register_sink(kind: str, fn) -> None:
    SINKS[kind] = fn


def _sink(kind: str):
    def run(table: pa.Table, step: dict) -> pa.Table:
        fn = SINKS.get(kind)
        if fn is None:
            from speleo.errors import InputError

            raise InputError(f"| {kind} cannot run here: it needs Speleo's server (run the search in the web "
                             "page, the API or a scheduled search)")
        fn(table, step)
        return table

    return run


WRITING_KINDS = ("collect", "sendemail", "outputlookup", "outputcsv")
"""Post steps that change something outside the search (events, mail, lookup files)."""


def writing_steps(steps: list[dict]) -> list[str]:
    """The kinds of the writing post steps of a compiled search (`CompiledSearch.post`), also
    those after another post step (kept in a "pipeline" step's probe), in order. The server
    checks the caller's capabilities against them before the search runs."""
    found: list[str] = []
    for step in steps:
        if step["kind"] in WRITING_KINDS:
            found.append(step["kind"])
        elif step["kind"] == "pipeline" and step.get("probe") is not None:
            found += writing_steps(step["probe"].post)
    return found


def _number_text(v) -> str:
    """A number as Splunk prints it: 503, not 503.0."""
    f = float(v)
    return str(int(f)) if f.is_integer() and abs(f) < 1e15 else repr(f)


def _text_extremes(table: pa.Table, step: dict) -> pa.Table:
    """stats min()/max() over values with no number (spl/commands/stats.py `_text_extremes`):
    where a group has no numeric value, its lexicographic min/max (the hidden column) is the
    answer; the column then holds text (numbers written as Splunk prints them). A column whose
    groups all have a number keeps its numbers."""
    for name, hidden in step["pairs"]:
        if hidden not in table.column_names:
            continue
        if name in table.column_names:
            nums, texts = table.column(name).to_pylist(), table.column(hidden).to_pylist()
            if any(n is None and t is not None for n, t in zip(nums, texts)):
                merged = [t if n is None else _number_text(n) for n, t in zip(nums, texts)]
                table = table.set_column(table.column_names.index(name), name, pa.array(merged, pa.string()))
        table = table.drop_columns([hidden])
    return table


def _quantile(sorted_values: list[float], q: float) -> float:
    """The exact interpolated quantile (as DuckDB's quantile_cont and stats perc)."""
    pos = (len(sorted_values) - 1) * q
    lo = int(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


def _as_number(v) -> float | None:
    if isinstance(v, bool) or v is None:
        return None
    if isinstance(v, (int, float)):
        return float(v) if v == v else None
    try:
        f = float(str(v).strip())
    except ValueError:
        return None
    return f if f == f and f not in (float("inf"), float("-inf")) else None


def _outlier(table: pa.Table, step: dict) -> pa.Table:
    """Splunk Search Reference: outlier (spl/commands/events.py compile_outlier)."""
    names = step["fields"] or [c for c in _visible(table) if not c.startswith("_")]
    keep = [True] * table.num_rows
    p = step["param"]
    for name in names:
        if name not in table.column_names:
            continue
        column = table.column(name)
        values = column.to_pylist()
        nums = [_as_number(v) for v in values]
        present = sorted(x for x in nums if x is not None)
        if not present:
            continue
        q1, q3 = _quantile(present, 0.25), _quantile(present, 0.75)
        hi, lo = q3 + p * (q3 - q1), q1 - p * (q3 - q1)
        bound = [hi if x is not None and x > hi else lo if x is not None and step["uselower"] and x < lo else None
                 for x in nums]
        if step["remove"]:
            keep = [k and b is None for k, b in zip(keep, bound)]
            continue
        if all(b is None for b in bound):
            continue
        if step["mark"] or not (pa.types.is_integer(column.type) or pa.types.is_floating(column.type)):
            text = [("000" if step["mark"] else "") + _number_text(b) if b is not None
                    else (None if v is None else _number_text(v) if isinstance(v, (int, float)) and not isinstance(v, bool)
                          else str(v)) for v, b in zip(values, bound)]
            new = pa.array(text, pa.string())
        else:
            new = pa.array([b if b is not None else (None if v is None else float(v)) for v, b in zip(values, bound)],
                           pa.float64())
        table = table.set_column(table.column_names.index(name), name, new)
    if step["remove"]:
        table = table.filter(pa.array(keep, pa.bool_()))
    return table


def _concurrency(table: pa.Table, step: dict) -> pa.Table:
    """Splunk Search Reference: concurrency (spl/commands/opscmds.py compile_concurrency): for
    each result, the results whose [start, start + duration] holds its start, itself included;
    sorted starts and ends make it n log n."""
    import numpy as np

    def numbers(name: str) -> np.ndarray:
        if name not in table.column_names:
            return np.full(table.num_rows, np.nan)
        return np.array([np.nan if (x := _as_number(v)) is None else x for v in table.column(name).to_pylist()],
                        dtype=float)

    start, duration = numbers(step["start"]), numbers(step["duration"])
    ok = ~(np.isnan(start) | np.isnan(duration)) & (np.nan_to_num(duration, nan=-1.0) >= 0)   # a negative span: no span
    starts = np.sort(start[ok])
    ends = np.sort(start[ok] + duration[ok])
    began = np.searchsorted(starts, start, side="right")     # spans starting at or before each start
    ended = np.searchsorted(ends, start, side="left")        # spans ended before it
    out = pa.array([int(b - e) if k else None for b, e, k in zip(began, ended, ok)], pa.int64())
    return set_columns(table, {step["output"]: out})


def _ema(table: pa.Table, step: dict) -> pa.Table:
    """trendline ema<N>(field) (spl/commands/reshape.py compile_trendline): e = alpha * x +
    (1 - alpha) * e, alpha = 2 / (N + 1), seeded with the first number; a row without a number
    keeps the running value."""
    alpha = 2.0 / (step["n"] + 1)
    values = table.column(step["field"]).to_pylist() if step["field"] in table.column_names else [None] * table.num_rows
    out, e = [], None
    for v in values:
        x = _as_number(v)
        if x is not None:
            e = x if e is None else alpha * x + (1 - alpha) * e
        out.append(e)
    return set_columns(table, {step["name"]: pa.array(out, pa.float64())})


def _predict(table: pa.Table, step: dict) -> pa.Table:
    """Splunk Search Reference: predict (spl/commands/opscmds.py compile_predict; the models in
    query/forecast.py): the rows in `_time` order, each field's prediction and interval added,
    then `future` rows after the last, spaced by the most common step between rows."""
    from collections import Counter
    from statistics import NormalDist

    from speleo.errors import InputError
    from speleo.query import forecast

    if "_time" not in table.column_names:
        raise InputError("predict needs results with _time, as a timechart's")
    table = table.filter(pc.is_valid(table.column("_time")))
    table = table.take(pc.sort_indices(table.column("_time")))
    times = [float(t) for t in table.column("_time").to_pylist()]
    steps = Counter(round(b - a, 6) for a, b in zip(times, times[1:]) if b > a)
    span = steps.most_common(1)[0][0] if steps else 0.0
    holdback, future = step["holdback"], step["future"]
    n = table.num_rows
    if n - holdback < 2:
        raise InputError(f"predict needs at least two rows to fit ({n} rows, holdback={holdback})")
    extra = future if span > 0 else 0
    out_columns: dict[str, pa.Array] = {}
    for spec in step["fields"]:
        field = spec["field"]
        if field not in table.column_names:
            raise InputError(f"predict: the results have no field {field!r} (fields: "
                             f"{', '.join(c for c in _visible(table) if c != '_time')[:300]})")
        values = [_as_number(v) for v in table.column(field).to_pylist()]
        try:
            model = forecast.fit(values[:n - holdback], step["algorithm"], step["period"])
        except ValueError as e:
            raise InputError(f"predict {field}: {e}") from None
        z_up = NormalDist().inv_cdf(0.5 + spec["upper_level"] / 200)
        z_low = NormalDist().inv_cdf(0.5 + spec["lower_level"] / 200)
        preds: list[float | None] = list(model.fitted)
        spread: list[float | None] = [None if p is None else 1.0 for p in preds]
        for value, k in model.steps(holdback + extra):
            preds.append(value)
            spread.append(k)
        sigma = model.sigma
        out_columns[spec["out"]] = pa.array(preds, pa.float64())
        out_columns[spec["upper"]] = pa.array([None if p is None else p + z_up * sigma * k
                                               for p, k in zip(preds, spread)], pa.float64())
        out_columns[spec["lower"]] = pa.array([None if p is None else p - z_low * sigma * k
                                               for p, k in zip(preds, spread)], pa.float64())
    if extra:
        last = times[-1]
        more = {name: pa.nulls(extra, table.schema.field(name).type) for name in table.column_names}
        more["_time"] = pa.array([last + span * h for h in range(1, extra + 1)], table.schema.field("_time").type)
        table = pa.concat_tables([table, pa.table(more, schema=table.schema)])
    return set_columns(table, out_columns)


MAX_WRAP_PERIODS = 1000   # timewrap: series per field (a 1s wrap of a year would make millions)


def _wrap_name(step: dict, k: int) -> str:
    """Splunk's relative series names: latest_day, 1day_before, 2days_before (span 2d:
    latest_2days, 2days_before, 4days_before); series=short: s0, s1..."""
    if step["series"] == "short":
        return f"s{k}"
    unit, n = step["unit"], step["n"]
    if k == 0:
        return f"latest_{unit}" if n == 1 else f"latest_{n}{unit}s"
    m = k * n
    return f"{m}{unit}{'s' if m > 1 else ''}_before"


class _CalendarStarts:
    """Starts of timewrap's calendar periods counted back from `end`: start(0) is `months`
    months before the end, start(k) k periods before that, in zone `tz` (the end's day of the
    month, else the month's last day; the end's wall-clock time). Period k is [start(k),
    start(k - 1)), start(-1) being the end."""

    def __init__(self, end: float, months: int, tz: str) -> None:
        import datetime as dt
        from zoneinfo import ZoneInfo

        try:
            self.zone = ZoneInfo(tz)
        except Exception:   # noqa: BLE001 - an offset such as +05:30: a fixed zone
            self.zone = dt.timezone.utc
        self.end = dt.datetime.fromtimestamp(end, self.zone)
        self.months = months
        self.cache: dict[int, float] = {-1: end}
        self.too_old = False

    def start(self, k: int) -> float:
        import calendar
        import datetime as dt

        if k not in self.cache:
            back = (k + 1) * self.months
            y, m = divmod(self.end.year * 12 + self.end.month - 1 - back, 12)
            m += 1
            if y < 1:
                self.cache[k] = float("-inf")
            else:
                day = min(self.end.day, calendar.monthrange(y, m)[1])
                local = dt.datetime(y, m, day, self.end.hour, self.end.minute, self.end.second,
                                    self.end.microsecond, tzinfo=self.zone)
                self.cache[k] = local.timestamp()
        return self.cache[k]

    def move(self, t: float, k: int) -> float:
        """`t` of period k moved to the latest period, keeping its wall-clock distance from its
        period's start (a local midnight stays a local midnight across daylight saving time)."""
        import datetime as dt

        if k == 0:
            return t
        local = dt.datetime.fromtimestamp(t, self.zone).replace(tzinfo=None)
        since = local - dt.datetime.fromtimestamp(self.start(k), self.zone).replace(tzinfo=None)
        target = dt.datetime.fromtimestamp(self.start(0), self.zone).replace(tzinfo=None) + since
        return target.replace(tzinfo=self.zone).timestamp()

    def period_of(self, t: float) -> int | None:
        """The period holding `t` (0 for a time at or after the end); None past MAX_WRAP_PERIODS."""
        if t >= self.start(0):
            return 0
        lo, hi = 0, 1
        while self.start(hi) > t:   # gallop back, then bisect
            lo, hi = hi, hi * 2
            if hi > MAX_WRAP_PERIODS:
                self.too_old = True
                return None
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if self.start(mid) > t:
                lo = mid
            else:
                hi = mid
        return hi


def _calendar_starts(step: dict) -> _CalendarStarts:
    return _CalendarStarts(float(step["end"]), int(step["months"]), step.get("tz") or "UTC")


def _timewrap(table: pa.Table, step: dict) -> pa.Table:
    """Splunk Search Reference: timewrap (spl/commands/reshape.py compile_timewrap): each row
    at time t belongs to period k = ceil((end - t) / period) - 1 (0: the latest; rows at or
    after the end count as the latest) and moves to t + k * period. A period no row falls in
    has no column (an all-time search over old data wraps back from now: the data's periods
    only, not one column per period since)."""
    import math

    period, end = float(step["period"]), float(step["end"])
    series = [c for c in _visible(table) if not c.startswith("_")]
    times = table.column("_time").to_pylist()
    cells: dict[float, dict[tuple[str, int], object]] = {}
    kmax = 0
    seen: set[int] = set()   # the periods rows fall in: one column each (none for a period without rows)
    starts = _calendar_starts(step) if step.get("months") else None
    for i, t in enumerate(times):
        if t is None:
            continue
        if starts is not None:
            k = starts.period_of(float(t))
            if k is None:
                continue   # before the oldest period Speleo keeps: counted below
            moved = starts.move(float(t), k)
        else:
            k = max(0, math.ceil((end - float(t)) / period) - 1)
            moved = float(t) + k * period
        kmax = max(kmax, k)
        seen.add(k)
        row = cells.setdefault(moved, {})
        for name in series:
            row[(name, k)] = table.column(name)[i].as_py()
    if len(seen) > MAX_WRAP_PERIODS or (starts is not None and starts.too_old):
        from speleo.errors import InputError

        count = f"more than {MAX_WRAP_PERIODS:,}" if starts is not None else f"{len(seen):,}"
        what = f"{step['months']} month(s)" if starts is not None else f"{period:g} s"
        raise InputError(f"timewrap would make {count} periods of {what} (at most {MAX_WRAP_PERIODS:,}): use a "
                         "longer span or a shorter time range (periods are counted back from the search's latest "
                         "time, now when it has none: give the search a range around the data)")
    out_times = sorted(cells)
    columns: dict[str, list] = {"_time": out_times}
    types: dict[str, pa.DataType] = {"_time": pa.float64()}
    for name in series:
        for k in sorted(seen, reverse=True):
            col_name = f"{name}_{_wrap_name(step, k)}"
            columns[col_name] = [cells[t].get((name, k)) for t in out_times]
            types[col_name] = table.schema.field(name).type
    return pa.table({n: pa.array(v, types[n]) for n, v in columns.items()})


def _multikv_name(word: str) -> str:
    name = re.sub(r"[^A-Za-z0-9_]", "_", word.replace("%", "pct")).strip("_")
    return name or "Column"


def _multikv(table: pa.Table, step: dict) -> pa.Table:
    """Splunk Search Reference: multikv (spl/commands/extracts.py compile_multikv): one event
    per row of each event's table."""
    carried = [c for c in table.column_names if c != "_raw" and not c.startswith(HIDDEN)]
    raws = table.column("_raw").to_pylist() if "_raw" in table.column_names else [None] * table.num_rows
    other = {c: table.column(c).to_pylist() for c in carried}
    terms = [t.lower() for t in step["filter"]]
    out: list[dict] = []
    names_seen: list[str] = []
    for i, raw in enumerate(raws):
        if not step["rmorig"]:
            out.append({"_raw": raw, **{c: other[c][i] for c in carried}})
        lines = [line for line in (raw or "").splitlines() if line.strip()]
        if not lines:
            continue
        if step["noheader"]:
            names, body = None, lines
        else:
            at = (step["forceheader"] or 1) - 1
            if at >= len(lines):
                continue
            names, body = [_multikv_name(w) for w in lines[at].split()], lines[at + 1:]
        for line in body:
            if terms and not any(t in line.lower() for t in terms):
                continue
            values = line.split(None, len(names) - 1) if names else line.split()
            keys = names or [f"Column_{n + 1}" for n in range(len(values))]
            row = {k: v for k, v in zip(keys, values) if not step["fields"] or k in step["fields"]}
            for k in row:
                if k not in names_seen:
                    names_seen.append(k)
            out.append({"_raw": line, **{c: other[c][i] for c in carried}, **row})
    columns = ["_raw", *carried, *[n for n in names_seen if n not in carried and n != "_raw"]]
    data = {c: [r.get(c) for r in out] for c in columns}
    found = set(names_seen)   # a header naming an existing field (PID after eval PID=1): its values are text

    def typed(c: str, values: list) -> pa.Array:
        if c in found or c not in table.column_names:
            return pa.array([None if v is None else str(v) for v in values], pa.string())
        return pa.array(values, table.schema.field(c).type)

    return pa.table({c: typed(c, v) for c, v in data.items()})


STEPS = {"collect": _sink("collect"), "sendemail": _sink("sendemail"), "outputlookup": _outputlookup,
         "outputcsv": _outputlookup, "cluster": _cluster, "transpose": _transpose, "fromjson": _fromjson,
         "xmlkv": _xmlkv, "pivot": _pivot, "chart_pivot": _chart_pivot, "extracted": _extracted,
         "text_extremes": _text_extremes, "outlier": _outlier,
         "timewrap": _timewrap, "multikv": _multikv, "concurrency": _concurrency,
         "predict": _predict, "ema": _ema, "contingency": relate.contingency, "selfjoin": relate.selfjoin,
         "localize": relate.localize, "rest": restrows.run_step,
         "loadjob": jobrows.run_step,
         "columns": lambda table, step: table}   # chart's SQL PIVOT: later commands see its real columns


def _geostats(table: pa.Table, step: dict) -> pa.Table:
    from speleo.query.geobins import geostats

    return geostats(table, step)


STEPS["geostats"] = _geostats   # spl/commands/geostats.py, query/geobins.py


def _anomalydetection(table: pa.Table, step: dict) -> pa.Table:
    from speleo.query.anomaly import anomalydetection

    return anomalydetection(table, step)


STEPS["anomalydetection"] = _anomalydetection   # spl/commands/anomaly.py, query/anomaly.py


def post_process(base, query: str, limit: int, ctx, check=None):
    """A post-process search (Splunk Simple XML `<search base>`; Dashboard Studio `ds.chain`):
    `query`, SPL starting with `|`, run over the table of `base` (the engine's SearchResult of the
    base search), never again over the events; `ctx` is the compile context
    (`engine.context_for`). Answers a SearchResult of at most `limit` rows (0 = all). As in
    Splunk, only the fields the base search kept are there: a base search of raw events should
    end with `| fields ...`. `check(compiled)` sees the steps (`.post`) before anything runs, as
    the server's search guard does for a search (raises to refuse a writing command). Raises
    SplError for SPL that does not parse or compile."""
    import time as _time

    from speleo import spl
    from speleo.query.engine import SearchResult

    started = _time.monotonic()
    commands = spl.parse(query, ctx.macros).commands
    step = {"kind": "pipeline", "commands": commands, "query": query, "ctx": ctx}
    if check is not None:
        from types import SimpleNamespace

        from speleo.spl.commands.continuation import compile_continuation

        _, steps = compile_continuation(step, _visible(base.table), "__speleo_check")
        check(SimpleNamespace(post=[step] + steps))
    table = apply_post(base.table, [step])
    total = table.num_rows
    truncated = limit > 0 and total > limit
    return SearchResult(kind="results", table=table.slice(0, limit) if truncated else table, truncated=truncated,
                        total=total, earliest=base.earliest, latest=base.latest,
                        elapsed_secs=_time.monotonic() - started, messages=list(base.messages))
