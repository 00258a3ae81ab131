"""The response report: MTTD, MTTA, MTTM and MTTR by severity, service and month.

Computed from the incident records' stored timestamps (`speleo.ops.incidents.models.TIMESTAMPS`),
never from stored means (learning-loop spec section 4.3). Definitions (seconds):

- MTTD (time to detect)    = detected_at     - impact_started_at
- MTTA (time to acknowledge) = acknowledged_at - detected_at (the first alert or report)
- MTTM (time to mitigate)  = mitigated_at    - impact_started_at
- MTTR (time to restore)   = resolved_at     - impact_started_at

An incident lacking either timestamp of a measure is left out of that measure only; each figure
says how many incidents it covers (`n`) and the report how many lacked it (`missing`). Each
measure is given as mean, median and p90 (`speleo.ops.reports.stats`). Incidents are selected
and grouped by `declared_at` (month: the UTC calendar month it was declared in); an incident with
several services counts once in each; one without a service is grouped under "(none)".
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict

from sqlalchemy import select

from speleo.errors import InputError
from speleo.ops.db import Database
from speleo.ops.incidents.models import IncidentRow
from speleo.ops.incidents.service import durations
from speleo.ops.reports.stats import summary

MEASURES: dict[str, tuple[str, str, str]] = {
    # name: (duration key of speleo.ops.incidents.service.durations, definition, plain name)
    "mttd": ("ttd", "detected_at - impact_started_at", "mean time to detect"),
    "mtta": ("tta", "acknowledged_at - detected_at", "mean time to acknowledge"),
    "mttm": ("ttm", "mitigated_at - impact_started_at", "mean time to mitigate"),
    "mttr": ("ttr", "resolved_at - impact_started_at", "mean time to restore"),
}
GROUPINGS = ("severity", "service", "month")
NO_SERVICE = "(none)"
_COLUMNS = ("id", "severity", "services", "impact_started_at", "detected_at", "declared_at", "acknowledged_at",
            "mitigated_at", "resolved_at", "closed_at")


def definitions() -> list[dict]:
    """The measures' definitions, as shown on the page, in the CLI and in docs/reports.md."""
    return [{"measure": m.upper(), "name": name, "definition": d} for m, (_, d, name) in MEASURES.items()]


def month_of(ts: float) -> str:
    """`YYYY-MM`, the UTC calendar month of epoch seconds `ts`."""
    return dt.datetime.fromtimestamp(ts, dt.timezone.utc).strftime("%Y-%m")


def load(db: Database, since: float | None = None, until: float | None = None,
         severity: str | None = None, service: str | None = None) -> list[dict]:
    """The incidents declared in [since, until) (epoch seconds UTC; None: unbounded) as dicts with
    their timestamps, `services` (a list) and `durations`, optionally of one severity/service."""
    cols = [getattr(IncidentRow, c) for c in _COLUMNS]
    q = select(*cols)
    if since is not None:
        q = q.where(IncidentRow.declared_at >= since)
    if until is not None:
        q = q.where(IncidentRow.declared_at < until)
    if severity:
        q = q.where(IncidentRow.severity == severity.upper())
    out = []
    with db.session() as s:
        for row in s.execute(q):
            d = dict(zip(_COLUMNS, row))
            d["services"] = json.loads(d["services"] or "[]")
            if service and service not in d["services"]:
                continue
            d["durations"] = durations(d)
            out.append(d)
    return out


def _keys(inc: dict, grouping: str) -> list[str]:
    if grouping == "severity":
        return [inc["severity"]]
    if grouping == "month":
        return [month_of(inc["declared_at"])]
    return list(dict.fromkeys(inc["services"])) or [NO_SERVICE]


def figures(incidents: list[dict]) -> dict:
    """`{"incidents": n, "mttd": summary, ..., "missing": {"mttd": k, ...}}` over `incidents`."""
    out: dict = {"incidents": len(incidents), "missing": {}}
    for m, (key, _, _) in MEASURES.items():
        vals = [i["durations"][key] for i in incidents if i["durations"][key] is not None]
        out[m] = summary(vals)
        out["missing"][m] = len(incidents) - len(vals)
    return out


def report(db: Database, since: float | None = None, until: float | None = None, severity: str | None = None,
           service: str | None = None, groupings: tuple[str, ...] = GROUPINGS) -> dict:
    """The response report.

    Shape: `{"report": "response", "since", "until", "definitions": [...], "overall": figures,
    "by": {"severity": [{"key", **figures}], "service": [...], "month": [...]}}`; figures are
    seconds (see `figures`). Raises InputError for an unknown grouping."""
    bad = [g for g in groupings if g not in GROUPINGS]
    if bad:
        raise InputError(f"unknown grouping {', '.join(bad)}; choose from {', '.join(GROUPINGS)}")
    incs = load(db, since, until, severity, service)
    by: dict[str, list[dict]] = {}
    for g in groupings:
        groups: dict[str, list[dict]] = defaultdict(list)
        for inc in incs:
            for k in _keys(inc, g):
                groups[k].append(inc)
        by[g] = [{"key": k, **figures(groups[k])} for k in sorted(groups)]
    return {"report": "response", "since": since, "until": until, "severity": severity, "service": service,
            "definitions": definitions(), "overall": figures(incs), "by": by}


def rows(rep: dict) -> list[dict]:
    """The report flattened for a table or CSV: one row per (grouping, key) with each measure's
    mean/median/p90 in seconds (`mttd_mean`, ...) and counts."""
    out = [_flat("all", "all", rep["overall"])]
    for g, groups in rep["by"].items():
        out.extend(_flat(g, x["key"], x) for x in groups)
    return out


def _flat(grouping: str, key: str, f: dict) -> dict:
    row = {"grouping": grouping, "key": key, "incidents": f["incidents"]}
    for m in MEASURES:
        for stat in ("mean", "median", "p90"):
            row[f"{m}_{stat}"] = f[m][stat]
        row[f"{m}_n"] = f[m]["n"]
    return row
