"""The HTTP API (FastAPI). Every endpoint but `/health` needs the API token or a session with
the route's capability (`speleo.server.access.require`).

Every error of every route is `{"error": {code, message, ...}}` with its status
(`server.httperrors`); an SPL error carries its line, column and character span. The OpenAPI
document (`/api/v1/openapi.json`) and its page (`/api/v1/docs`) need the token or a session.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from fastapi import Depends, FastAPI
from pydantic import BaseModel, Field

from speleo import __version__
from speleo.errors import InputError
from speleo.query import results
from speleo.query.timefmt import local_zone
from speleo.server import apidocs, httperrors
from speleo.server.access import EDIT_MONITOR, SEARCH, Principal, require, search_guard
from speleo.server.auth import digest

log = logging.getLogger("speleo.api")


class SearchRequest(BaseModel):
    search: str = Field(..., description="SPL text")
    earliest: str | float | None = Field(None, description="time modifier (-24h, @d, epoch) or null for all time")
    latest: str | float | None = None
    limit: int = Field(100, ge=0, description="rows returned; 0 = no limit")
    now: float | None = Field(None, description="pin the search's now (epoch seconds UTC)")


class OneshotRequest(BaseModel):
    path: str
    index: str = "main"
    sourcetype: str | None = None
    host: str | None = None
    force: bool = False


class MonitorRequest(BaseModel):
    path: str
    index: str = "main"
    sourcetype: str | None = None
    host: str | None = None
    whitelist: str | None = None
    blacklist: str | None = None
    head_bytes: int | None = None


def build_app(runtime) -> FastAPI:
    """The ASGI app over a running `speleo.server.runner.Runtime`."""
    app = FastAPI(title="Speleo", version=__version__, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.token_digest = digest(runtime.api_token)
    svc = runtime.service

    httperrors.install(app)

    @app.get("/health")
    async def health() -> dict:
        return {"status": "ok", "version": __version__}

    @app.post("/api/v1/search")
    async def search(req: SearchRequest, who: Principal = Depends(require(SEARCH))) -> dict:
        earliest, latest = runtime.time_bounds(req.earliest, req.latest, req.now)
        result = await asyncio.to_thread(svc.search, req.search, earliest, latest, req.limit, req.now, True,
                                         who.capabilities, who.name, search_guard(who))
        return await asyncio.to_thread(results.to_json, result, local_zone(svc.home.settings.default_tz))

    @app.get("/api/v1/status", dependencies=[Depends(require(SEARCH))])
    async def status() -> dict:
        body = await asyncio.to_thread(svc.status)
        body["server"] = runtime.info()
        return body

    @app.post("/api/v1/inputs/monitor", dependencies=[Depends(require(EDIT_MONITOR))], status_code=201)
    async def add_monitor(req: MonitorRequest) -> dict:
        return {"id": svc.add_monitor(req.path, req.index, req.sourcetype, req.host, req.whitelist, req.blacklist,
                                      req.head_bytes)}

    @app.post("/api/v1/inputs/oneshot", dependencies=[Depends(require(EDIT_MONITOR))])
    async def oneshot(req: OneshotRequest) -> dict:
        if not Path(req.path).is_absolute():
            raise InputError(f"path must be absolute: {req.path}")
        svc.check_input_path(req.path)
        res = await asyncio.to_thread(runtime.oneshot, req)
        return res.__dict__

    from speleo.server import index_routes  # indexes, retention, archives, input removal

    index_routes.install(app, runtime)
    from speleo.server import rest_saved  # Splunk REST: saved/searches, alerts/fired_alerts

    rest_saved.install(app, runtime)
    from speleo.server import incidents_api; incidents_api.install(app, runtime)  # noqa: E702  (/api/v1/incidents)

    from speleo.web import install as install_web  # sign-in, search and overview pages

    install_web(app, runtime)
    apidocs.install(app, require(SEARCH))
    return app
