"""The reports API: `/api/v1/reports/{response,availability,capacity,disks}` and the SLOs under
`/api/v1/slos` (docs/api.md, docs/reports.md).

Reading a report or an SLO needs `search`; creating or removing an SLO needs
`edit_saved_searches` (an SLO generates shared, scheduled burn-rate alert searches). Report searches run with the caller's
index scope. Errors use the API's one shape `{"error": {"code", "message"}}` (an SLO refused
for a rule also carries `"rule"`).
"""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Depends, FastAPI, Request

from speleo.ops.db import Database
from speleo.ops.reports import availability, capacity, disks, response
from speleo.ops.slo.service import Slos
from speleo.ops.reports.times import parse_time
from speleo.server.access import EDIT_SAVED, SEARCH, Principal, require, search_guard
from speleo.server.incidents_api import _body

PREFIX = "/api/v1/reports"


def install(app: FastAPI, runtime) -> None:
    """Add the report and SLO routes to `app`, over the home's operations database, the server's
    search service and clock."""
    state: dict = {}

    def db() -> Database:
        if "db" not in state:
            state["db"] = Database.for_home(runtime.home)
        return state["db"]

    def now() -> float:
        return runtime.clock.time()

    async def run(fn, *args, **kw):
        return await asyncio.to_thread(fn, *args, **kw)

    ticks = getattr(runtime, "ticks", None)
    if ticks is not None:   # summaries nobody reads are dropped (speleo.ops.reports.rollup.prune)
        ticks.add("report-rollup-prune", lambda t: _prune(db(), t, runtime), every_secs=3600.0)

    router = APIRouter()

    @router.get(PREFIX + "/response")
    async def response_report(since: str | None = None, until: str | None = None, severity: str | None = None,
                              service: str | None = None, who: Principal = Depends(require(SEARCH))) -> dict:
        t = now()
        return await run(response.report, db(), parse_time(since, t, "since"), parse_time(until, t, "until"),
                         severity, service)

    _install_more(router, runtime, db, now, run)
    app.include_router(router)


SLO_FIELDS = {"name": str, "service": str, "good": str, "total": str, "good_kind": str, "total_kind": str,
              "objective": (int, float), "window_days": int, "description": str, "alerts": bool}


def searcher(runtime, who: Principal):
    """The caller's search for the reports: its capabilities, writing-command guard and index scope."""

    def search(spl: str, earliest: float, latest: float, limit: int):
        return runtime.service.search(spl, earliest=earliest, latest=latest, limit=limit, now=runtime.clock.time(),
                                      timeline=False, capabilities=who.capabilities, actor=who.name,
                                      check=search_guard(who), scope=who.scope())

    return search


def _prune(db: Database, now: float, runtime) -> None:
    from speleo.ops.reports.rollup import prune

    n = prune(db, now)
    if n and getattr(runtime, "internal", None) is not None:
        runtime.internal.emit("_internal", "speleo:reports", {"action": "rollup_prune", "deleted": n,
                                                              "reason": "not read for 90 days"},
                              component="reports", level="INFO")


def rollup_for(runtime, db: Database, who: Principal):
    """The reports' hourly summaries (speleo.ops.reports.rollup) as this caller may read them:
    the key holds the caller's capabilities and index scope. None on ClickHouse (the summaries'
    staleness check reads the embedded store's buckets)."""
    from speleo.ops.reports.rollup import Rollup, catalog_fingerprint

    if runtime.service.on_clickhouse:   # no bucket fingerprints the data there: never stale-safe
        return None
    return Rollup(db, catalog_fingerprint(runtime.service.catalog), runtime.clock.time,
                  scope=repr((sorted(who.capabilities or ()), who.scope())))


def slos_for(runtime, db: Database, who: Principal) -> Slos:
    from speleo.alerts.store import for_home

    slos = Slos(db, searcher(runtime, who), for_home(runtime.home, runtime.clock), runtime.clock)
    slos.rollup = rollup_for(runtime, db, who)
    return slos


def _install_more(router: APIRouter, runtime, db, now, run) -> None:
    """The availability report and the SLO routes."""

    @router.get(PREFIX + "/availability")
    async def availability_report(slo: str | None = None, period: str = "day",
                                  who: Principal = Depends(require(SEARCH))) -> dict:
        return await run(availability.report, slos_for(runtime, db(), who), db(), now(), slo, period)

    @router.get(PREFIX + "/capacity")
    async def capacity_report(since: str = "-7d", until: str | None = None, index: str = "metrics",
                              host: str | None = None, forecast_days: float = 7.0, service: str | None = None,
                              who: Principal = Depends(require(SEARCH))) -> dict:
        t = now()
        return await run(capacity.report, searcher(runtime, who), parse_time(since, t, "since"),
                         parse_time(until, t, "until") or t, index, host, forecast_days, rollup_for(runtime, db(), who),
                         service=service)

    @router.get(PREFIX + "/disks")
    async def disks_report(since: str = "-30d", until: str | None = None, index: str = "metrics",
                           who: Principal = Depends(require(SEARCH))) -> dict:
        t = now()
        return await run(disks.report, searcher(runtime, who), parse_time(since, t, "since"),
                         parse_time(until, t, "until") or t, index, rollup_for(runtime, db(), who))

    @router.get("/api/v1/slos")
    async def list_slos(who: Principal = Depends(require(SEARCH))) -> dict:
        return {"slos": await run(slos_for(runtime, db(), who).list)}

    @router.post("/api/v1/slos", status_code=201)
    async def create_slo(request: Request, who: Principal = Depends(require(EDIT_SAVED))) -> dict:
        b = await _body(request, SLO_FIELDS, ("name", "service", "good", "total", "objective"))
        name = b.pop("name")
        return await run(slos_for(runtime, db(), who).create, name, actor=who.name, **b)

    @router.get("/api/v1/slos/{name}")
    async def show_slo(name: str, who: Principal = Depends(require(SEARCH))) -> dict:
        return await run(slos_for(runtime, db(), who).get, name)

    @router.delete("/api/v1/slos/{name}")
    async def remove_slo(name: str, who: Principal = Depends(require(EDIT_SAVED))) -> dict:
        return await run(slos_for(runtime, db(), who).remove, name, who.name)
