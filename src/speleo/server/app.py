"""The HTTP API (FastAPI). Every endpoint but `/health` needs the API token or a session with
the route's capability (`speleo.server.access.require`). Searches read only the indexes the
caller's roles allow, and go to the audit trail (`speleo.server.audit`) with every
administrative change.

Every error of every route is `{"error": {code, message, ...}}` with its status
(`server.httperrors`); an SPL error carries its line, column and character span. The OpenAPI
document (`/api/v1/openapi.json`) and its page (`/api/v1/docs`) need the token or a session.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from pathlib import Path

from fastapi import Depends, FastAPI, Request
from pydantic import BaseModel, Field

from speleo import __version__
from speleo.errors import InputError
from speleo.query import results
from speleo.query.timefmt import local_zone
from speleo.server import apidocs, httperrors
from speleo.server.access import EDIT_LOOKUPS, EDIT_MONITOR, LIST_INPUTS, SEARCH, Principal, require, search_guard
from speleo.server.audit import audit, audit_router, client_address
from speleo.server.auth import digest

log = logging.getLogger("speleo.api")


class SearchRequest(BaseModel):
    search: str = Field(..., description="SPL text")
    earliest: str | float | None = Field(None, description="time modifier (-24h, @d, epoch) or null for all time")
    latest: str | float | None = None
    limit: int = Field(100, ge=0, description="rows returned; 0 = no limit")
    now: float | None = Field(None, description="pin the search's now (epoch seconds UTC)")
    timeline: bool = Field(True, description="also count events per time bucket (the search page's timeline)")
    capabilities: list[str] | None = Field(None, max_length=64, description=(
        "run with at most these capabilities (intersected with the caller's); `speleo search` sends "
        "[\"search\"] so that a search through the server can write or delete no more than one run locally"))


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


async def run_search(runtime, who: Principal, req: SearchRequest, src: str | None = None) -> dict:
    """Run a search for `who` (its roles' indexes; `outputlookup` only with edit_lookups) and
    record it in the audit trail (who, the search, its range, how long, how many results);
    returns the search API's JSON body. Raises SplError, ForbiddenError, SearchFailed."""
    svc = runtime.service
    if req.capabilities is not None:   # narrowing only: never more than the caller holds
        who = dataclasses.replace(who, capabilities=who.capabilities & frozenset(req.capabilities))
    earliest, latest = runtime.time_bounds(req.earliest, req.latest, req.now)
    started = time.monotonic()
    fields = {"search": req.search, "search_et": earliest, "search_lt": latest, "src": src}
    try:
        result = await asyncio.to_thread(svc.search, req.search, earliest, latest, req.limit, req.now, req.timeline,
                                         who.capabilities, who.name, search_guard(who), scope=who.scope(),
                                         write_lookups=who.can(EDIT_LOOKUPS))
    except Exception as e:
        audit(runtime, who, "search", info="failed", reason=type(e).__name__,
              total_run_time=round(time.monotonic() - started, 3), **fields)
        raise
    audit(runtime, who, "search", info="completed", total_run_time=round(time.monotonic() - started, 3),
          result_count=result.total, **fields)
    return await asyncio.to_thread(results.to_json, result, local_zone(svc.home.settings.default_tz))


def redact_status(body: dict) -> dict:
    """The status without input paths (for callers without `list_inputs`): inputs, files
    followed and problems keep their counts and indexes, their paths (and problem sources)
    become null; the home is hidden (`<home>` in the skipped knowledge's file names)."""
    home = body.get("home") or ""
    body["knowledge_problems"] = [p.replace(home, "<home>") if home else p for p in body.get("knowledge_problems", [])]
    body["home"] = None
    body["inputs"] = [{**i, "path": None, "whitelist": None, "blacklist": None} for i in body.get("inputs", [])]
    body["files"] = [{**f, "path": None} for f in body.get("files", [])]
    body["problems"] = [{**p, "source": None} for p in body.get("problems", [])]
    server = body.get("server")
    if isinstance(server, dict) and "files_followed" in server:
        server["files_followed"] = None
    body["redacted"] = True
    return body


def build_app(runtime, admin_password: str | None = None) -> FastAPI:
    """The ASGI app over a running `speleo.server.runner.Runtime`; `admin_password` sets the
    first admin's password when the home has no user yet (see `speleo.web.routes.install`)."""
    app = FastAPI(title="Speleo", version=__version__, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.token_digest = digest(runtime.api_token)
    svc = runtime.service

    httperrors.install(app)

    @app.get("/health")
    async def health() -> dict:
        return {"status": "ok", "version": __version__}

    @app.post("/api/v1/search")
    async def search(req: SearchRequest, request: Request, who: Principal = Depends(require(SEARCH))) -> dict:
        return await run_search(runtime, who, req, client_address(request))

    @app.get("/api/v1/status")
    async def status(who: Principal = Depends(require(SEARCH))) -> dict:
        body = await asyncio.to_thread(svc.status)
        body["server"] = runtime.info()
        throttle = app.state.web.throttle
        body["server"]["sign_in_throttle"] = {"tracked_keys": throttle.tracked(), "refusals": throttle.lockouts}
        return body if who.can(LIST_INPUTS) else redact_status(body)

    @app.post("/api/v1/inputs/monitor", status_code=201)
    async def add_monitor(req: MonitorRequest, request: Request, who: Principal = Depends(require(EDIT_MONITOR))) -> dict:
        input_id = svc.add_monitor(req.path, req.index, req.sourcetype, req.host, req.whitelist, req.blacklist,
                                   req.head_bytes)
        audit(runtime, who, "edit_monitor", info="created", object=input_id, path=req.path, target_index=req.index,
              src=client_address(request))
        return {"id": input_id}

    @app.post("/api/v1/inputs/oneshot")
    async def oneshot(req: OneshotRequest, request: Request, who: Principal = Depends(require(EDIT_MONITOR))) -> dict:
        if not Path(req.path).is_absolute():
            raise InputError(f"path must be absolute: {req.path}")
        svc.check_input_path(req.path)
        res = await asyncio.to_thread(runtime.oneshot, req)
        audit(runtime, who, "edit_monitor", info="oneshot", path=req.path, target_index=req.index,
              src=client_address(request))
        return res.__dict__

    from speleo.server import index_routes  # indexes, retention, archives, input removal

    index_routes.install(app, runtime)
    from speleo.server import rest_saved  # Splunk REST: saved/searches, alerts/fired_alerts

    rest_saved.install(app, runtime)
    from speleo.server import splunk_auth, splunk_data, splunk_jobs, splunk_knowledge  # Splunk REST

    splunk_auth.install(app, runtime)   # auth/login, server/info, authentication/current-context
    splunk_jobs.install(app, runtime)   # search/jobs, search/v2/jobs
    splunk_data.install(app, runtime)   # data/indexes, data/inputs/http, data/inputs/monitor
    splunk_knowledge.install(app, runtime)   # macros, lookup table files
    from speleo.server import grafana  # the Grafana JSON data-source protocol under /grafana/

    grafana.install(app, runtime)
    from speleo.server import incidents_api; incidents_api.install(app, runtime)  # noqa: E702  (/api/v1/incidents)
    from speleo.server import learning_api; learning_api.install(app, runtime)  # noqa: E702  (postmortems, actions, checklists, reviews)
    from speleo.server import dashboards_api; dashboards_api.install(app, runtime)  # noqa: E702  (dashboards, data/ui/views)
    from speleo.server import oncall_api; oncall_api.install(app, runtime)  # noqa: E702  (/api/v1/oncall, on-call ticks)
    from speleo.server import problems_api; problems_api.install(app, runtime)  # noqa: E702  (/api/v1/problems)
    from speleo.server import reports_api; reports_api.install(app, runtime)  # noqa: E702  (/api/v1/reports, /api/v1/slos)
    from speleo.server import admin_api; admin_api.install(app, runtime)  # noqa: E702  (HEC tokens, uploads: the admin page)

    from speleo.server.users_api import router as users_router  # users and roles (edit_user, edit_roles)
    from speleo.web import install as install_web  # sign-in, search and overview pages

    web = install_web(app, runtime, admin_password)
    app.include_router(users_router(runtime, web))
    app.include_router(audit_router(runtime))
    apidocs.install(app, require(SEARCH))
    from speleo.server import rest_command; rest_command.install(app)  # noqa: E702  (| rest and | loadjob read it)
    return app
