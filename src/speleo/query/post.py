"""Steps a compiled search applies to its Arrow result after DuckDB ran it
(`CompiledSearch.post`): what cannot be SQL — writing a lookup file (outputlookup) and
log-pattern clustering (cluster, with drain3). Each step is a plain dict."""

from __future__ import annotations

import csv
import os
import tempfile
from pathlib import Path

import pyarrow as pa

HIDDEN = "__speleo"


def apply_post(table: pa.Table, steps: list[dict]) -> pa.Table:
    for step in steps:
        table = STEPS[step["kind"]](table, step)
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
        with open(path, encoding="utf-8", newline="") as f:
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
    only the first result of each cluster, in the input order."""
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
    for name, arr in cols.items():
        if name in out.column_names:
            out = out.set_column(out.column_names.index(name), name, arr)
        else:
            out = out.append_column(name, arr)
    return out


STEPS = {"outputlookup": _outputlookup, "cluster": _cluster}
