"""The reports API: `/api/v1/reports/{response,availability,capacity,disks}` and the SLOs under
`/api/v1/slos` (docs/api.md, docs/reports.md).

Reading a report or an SLO needs `search`; creating or removing an SLO needs `schedule_search`
(an SLO generates scheduled burn-rate alert searches). Report searches run with the caller's
index scope. Errors use the API's one shape `{"error": {"code", "message"}}` (an SLO refused
for a rule also carries `"rule"`).
"""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Depends, FastAPI, Request

from speleo.ops.db import Database
from speleo.ops.reports import response
from speleo.ops.reports.times import parse_time
from speleo.server.access import SCHEDULE_SEARCH, SEARCH, Principal, require
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

    router = APIRouter()

    @router.get(PREFIX + "/response")
    async def response_report(since: str | None = None, until: str | None = None, severity: str | None = None,
                              service: str | None = None, who: Principal = Depends(require(SEARCH))) -> dict:
        t = now()
        return await run(response.report, db(), parse_time(since, t, "since"), parse_time(until, t, "until"),
                         severity, service)

    _install_more(router, runtime, db, now, run)
    app.include_router(router)


def _install_more(router: APIRouter, runtime, db, now, run) -> None:
    """The routes of the other reports and the SLOs (filled in below as they exist)."""
