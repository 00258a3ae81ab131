"""The Grafana JSON data-source protocol under `/grafana/` (the SimpleJSON / "JSON" data source
plugins; splunk-features.md section 4.3), so Grafana draws Speleo data without a paid plugin.

- `GET /grafana/` -> 200 (the data source's "Save & test").
- `POST /grafana/search` `{"target": "..."}` -> the saved searches' names containing the text
  (what the query editor offers); `POST /grafana/metrics` the same as `[{"text", "value"}]`.
- `POST /grafana/query` `{"range": {"from", "to"} (ISO 8601), "intervalMs", "maxDataPoints",
  "targets": [{"target", "refId", "type": "timeserie"|"table"}]}`: each target is SPL, or the
  name of a saved search (its search runs). A result whose first column is `_time` (timechart)
  becomes one series per other column, `{"target": column, "datapoints": [[value, epoch_ms]]}`
  (oldest first); anything else, or `"type": "table"`, becomes `{"type": "table", "columns":
  [{"text", "type"}], "rows": [[...]]}`.
- `POST /grafana/annotations` `{"range", "annotation": {"name", "query"?}}` -> the fired alerts
  triggered inside the range (of the saved search named by `query` when given), `{"annotation",
  "time" (epoch ms), "title", "text", "tags"}`.
- `POST /grafana/tag-keys` and `/grafana/tag-values` -> `[]` (no ad-hoc filters).

Every route needs the `search` capability (Grafana sends Basic auth or a Bearer token; the
Splunk session keys of `/services/auth/login` work too); searches read only the caller's indexes
and are audited. A target's rows are capped at MAX_ROWS.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import math
import time

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse

from speleo.errors import InputError, NotFoundError
from speleo.server.access import EDIT_LOOKUPS, SEARCH, Principal, require, search_guard
from speleo.server.audit import audit, client_address

MAX_ROWS = 10_000
MAX_TARGETS = 20


def grafana_time(value, name: str) -> float:
    """An ISO 8601 time of Grafana's `range` (`2025-01-01T00:00:00.000Z`) or epoch ms -> epoch seconds."""
    if isinstance(value, (int, float)):
        return float(value) / 1000.0
    if not isinstance(value, str) or not value:
        raise InputError(f"range.{name}: give an ISO 8601 time like 2025-01-01T00:00:00.000Z")
    try:
        return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise InputError(f"range.{name}={value!r}: give an ISO 8601 time like 2025-01-01T00:00:00.000Z") from None


def _number(v):
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, (int, float)):
        return None if isinstance(v, float) and (math.isnan(v) or math.isinf(v)) else v
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def to_series(table) -> list[dict]:
    """A timechart table (first column `_time`, epoch seconds) -> one series per other column."""
    times = table.column("_time").to_pylist()
    order = sorted(range(len(times)), key=lambda i: (times[i] is None, times[i]))
    out = []
    for name in table.column_names:
        if name == "_time" or name.startswith("_"):
            continue
        values = table.column(name).to_pylist()
        points = [[_number(values[i]), int(float(times[i]) * 1000)] for i in order if times[i] is not None]
        out.append({"target": name, "datapoints": points})
    return out


def to_table(table) -> dict:
    import pyarrow as pa

    columns = []
    for f in table.schema:
        if f.name in ("_offset", "_flags", "_fields", "_indextime", "linecount"):
            continue
        kind = "time" if f.name == "_time" else "number" if pa.types.is_integer(f.type) or \
            pa.types.is_floating(f.type) else "string"
        columns.append((f.name, kind))
    data = {n: table.column(n).to_pylist() for n, _ in columns}
    rows = []
    for i in range(table.num_rows):
        row = []
        for name, kind in columns:
            v = data[name][i]
            if kind == "time" and isinstance(v, (int, float)):
                v = int(v * 1000)
            elif kind == "number":
                v = _number(v)
            elif v is not None and not isinstance(v, str):
                v = str(v)
            row.append(v)
        rows.append(row)
    return {"type": "table", "columns": [{"text": n, "type": k} for n, k in columns], "rows": rows}


class GrafanaRoutes:
    def __init__(self, runtime) -> None:
        self.rt = runtime

    def saved_names(self) -> list[str]:
        return [s.name for s in self.rt.scheduler.store.list(None)]

    def query_of(self, target: str) -> str:
        """A saved search's search when `target` names one, else `target` itself (SPL)."""
        for s in self.rt.scheduler.store.list(None):
            if s.name == target:
                return str(s.spec["search"])
        return target

    def run(self, who: Principal, spl: str, earliest: float, latest: float, src: str):
        started = time.monotonic()
        svc = self.rt.service
        try:
            res = svc.search(spl, earliest, latest, MAX_ROWS, None, False, who.capabilities, who.name,
                             search_guard(who), scope=who.scope(), write_lookups=who.can(EDIT_LOOKUPS))
        except Exception as e:
            audit(self.rt, who, "search", info="failed", search=spl, reason=type(e).__name__, src=src, via_grafana=1)
            raise
        audit(self.rt, who, "search", info="completed", search=spl, search_et=earliest, search_lt=latest,
              total_run_time=round(time.monotonic() - started, 3), result_count=res.total, src=src, via_grafana=1)
        return res

    async def query(self, request: Request, who: Principal) -> list:
        body = await _json(request)
        rng = body.get("range") or {}
        earliest, latest = grafana_time(rng.get("from"), "from"), grafana_time(rng.get("to"), "to")
        targets = [t for t in (body.get("targets") or []) if isinstance(t, dict) and not t.get("hide")]
        if len(targets) > MAX_TARGETS:
            raise InputError(f"targets: at most {MAX_TARGETS} per query")
        out: list = []
        for t in targets:
            target = str(t.get("target") or "").strip()
            if not target:
                continue
            res = await asyncio.to_thread(self.run, who, self.query_of(target), earliest, latest,
                                          client_address(request))
            table = res.table
            if t.get("type") != "table" and res.kind == "results" and table.num_rows and \
                    table.column_names and table.column_names[0] == "_time":
                series = to_series(table)
                for s in series:
                    s["refId"] = t.get("refId")
                out += series
            else:
                out.append({**to_table(table), "refId": t.get("refId")})
        return out

    async def annotations(self, request: Request) -> list:
        body = await _json(request)
        rng = body.get("range") or {}
        earliest, latest = grafana_time(rng.get("from"), "from"), grafana_time(rng.get("to"), "to")
        ann = body.get("annotation") or {}
        name = str(ann.get("query") or "").strip() or None
        if name is not None and name not in self.saved_names():
            raise NotFoundError(f"annotation.query: no saved search named '{name}'")
        fired = self.rt.scheduler.states.fired(0.0, name)
        return [{"annotation": ann, "time": int(f.trigger_time * 1000), "title": f.savedsearch_name,
                 "text": f"{f.savedsearch_name}: {f.triggered_alerts} alert(s), sid {f.sid}",
                 "tags": [f"severity:{f.severity}", f.alert_type]}
                for f in fired if earliest <= f.trigger_time <= latest]


async def _json(request: Request) -> dict:
    try:
        body = await request.json()
    except ValueError:
        raise InputError("send a JSON object (Grafana's request body)") from None
    if not isinstance(body, dict):
        raise InputError("send a JSON object (Grafana's request body)")
    return body


def install(app: FastAPI, runtime) -> None:
    g = GrafanaRoutes(runtime)
    r = APIRouter(prefix="/grafana", tags=["grafana"])

    @r.get("/")
    async def test_connection(who: Principal = Depends(require(SEARCH))) -> dict:
        """The data source's "Save & test"."""
        return {"status": "ok", "message": "Speleo"}

    @r.post("/search")
    async def search(request: Request, who: Principal = Depends(require(SEARCH))) -> list:
        """Saved search names containing `target`."""
        body = await _json(request)
        text = str(body.get("target") or "").lower()
        return [n for n in g.saved_names() if text in n.lower()]

    @r.post("/metrics")
    async def metrics(request: Request, who: Principal = Depends(require(SEARCH))) -> list:
        body = await _json(request)
        text = str(body.get("metric") or body.get("target") or "").lower()
        return [{"text": n, "value": n} for n in g.saved_names() if text in n.lower()]

    @r.post("/query")
    async def query(request: Request, who: Principal = Depends(require(SEARCH))) -> JSONResponse:
        return JSONResponse(await g.query(request, who))

    @r.post("/annotations")
    async def annotations(request: Request, who: Principal = Depends(require(SEARCH))) -> list:
        return await g.annotations(request)

    @r.post("/tag-keys")
    async def tag_keys(who: Principal = Depends(require(SEARCH))) -> list:
        return []

    @r.post("/tag-values")
    async def tag_values(who: Principal = Depends(require(SEARCH))) -> list:
        return []

    app.include_router(r)
