"""HTTP routes for indexes, retention, archives and inputs.

Splunk's REST shape of indexes (`/services/data/indexes`) is in `server.splunk_data`.
Speleo's own API: `/api/v1/indexes[/{name}]` (JSON bodies),
`POST /api/v1/retention/run`, `POST /api/v1/indexes/{name}/thaw|unthaw`, `DELETE /api/v1/inputs/{id}`.

Reads need `search`; changes need `indexes_edit`; removing an input needs `edit_monitor`
(`edit_token_http` for a HEC token input `http://NAME`).
"""

from __future__ import annotations

import asyncio
import time

from fastapi import Depends, FastAPI, Request
from pydantic import BaseModel, Field

from speleo.errors import ForbiddenError, NotFoundError
from speleo.server.access import EDIT_MONITOR, EDIT_TOKEN_HTTP, INDEXES_EDIT, SEARCH, Principal, require
from speleo.server.audit import audit, client_address


class IndexRequest(BaseModel):
    name: str
    settings: dict[str, str | int | float | None] = Field(default_factory=dict,
                                                          description="settings under Splunk's indexes.conf names")


class RangeRequest(BaseModel):
    earliest: float | None = Field(None, description="epoch seconds UTC, or null for no bound")
    latest: float | None = None


class RetentionRequest(BaseModel):
    now: float | None = Field(None, description="evaluate ages at this epoch (default: the server's clock)")


def envelope(entries: list[dict]) -> dict:
    return {"links": {}, "origin": "/services/data/indexes", "updated": _iso(time.time()), "generator": {},
            "entry": entries, "paging": {"total": len(entries), "perPage": 30, "offset": 0}, "messages": []}


def _iso(ts: float | None) -> str | None:
    return None if ts is None else time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(ts))


def no_script(fields: dict) -> dict:
    """`coldToFrozenScript` runs a program on the server: settable from its command line only."""
    if fields.get("coldToFrozenScript"):
        raise ForbiddenError("coldToFrozenScript runs a program on the server; set it with "
                             "'speleo index edit NAME --frozen-script ...' on the server's machine")
    return fields


def install(app: FastAPI, runtime) -> None:
    """Add the routes to the app of a running server (`server.runner.Runtime`)."""
    svc = runtime.service

    def lifecycle(fn):
        return asyncio.to_thread(svc.with_lifecycle, fn, runtime.lifecycle_emit)

    # -- Speleo's API ---------------------------------------------------------------------------
    @app.get("/api/v1/indexes")
    async def indexes(who: Principal = Depends(require(SEARCH))) -> list:
        """The indexes the caller's roles may search (srchIndexesAllowed)."""
        scope = who.scope()
        return [i for i in svc.indexes() if scope is None or scope.permits(i["name"])]

    @app.post("/api/v1/indexes", status_code=201)
    async def create_index(req: IndexRequest, request: Request, who: Principal = Depends(require(INDEXES_EDIT))) -> dict:
        settings = await asyncio.to_thread(svc.create_index, req.name, no_script(req.settings))
        audit(runtime, who, "indexes_edit", info="created", object=req.name, src=client_address(request))
        return {"name": req.name, "settings": settings}

    @app.get("/api/v1/indexes/{name}")
    async def show_index(name: str, now: float | None = None, who: Principal = Depends(require(SEARCH))) -> dict:
        scope = who.scope()
        if scope is not None and not scope.permits(name):   # as if it did not exist
            raise NotFoundError(f"no index named '{name}' (see 'speleo index list')")
        return await asyncio.to_thread(svc.index, name, now)

    @app.patch("/api/v1/indexes/{name}", dependencies=[Depends(require(INDEXES_EDIT))])
    async def edit_index(name: str, settings: dict[str, str | int | float | None]) -> dict:
        return {"name": name, "settings": await asyncio.to_thread(svc.edit_index, name, no_script(settings))}

    @app.delete("/api/v1/indexes/{name}", dependencies=[Depends(require(INDEXES_EDIT))])
    async def delete_index(name: str) -> dict:
        return await asyncio.to_thread(svc.delete_index, name)

    @app.post("/api/v1/retention/run", dependencies=[Depends(require(INDEXES_EDIT))])
    async def retention_run(req: RetentionRequest) -> dict:
        return (await lifecycle(lambda lc: lc.run_retention(req.now))).__dict__

    @app.post("/api/v1/indexes/{name}/thaw", dependencies=[Depends(require(INDEXES_EDIT))])
    async def thaw(name: str, req: RangeRequest) -> dict:
        return {"thawed": await lifecycle(lambda lc: lc.thaw(name, req.earliest, req.latest))}

    @app.post("/api/v1/indexes/{name}/unthaw", dependencies=[Depends(require(INDEXES_EDIT))])
    async def unthaw(name: str, req: RangeRequest) -> dict:
        return {"unthawed": await lifecycle(lambda lc: lc.unthaw(name, req.earliest, req.latest))}

    # -- the licence record ---------------------------------------------------------------------
    @app.get("/services/licenser/usage", dependencies=[Depends(require(SEARCH))])
    async def splunk_license() -> dict:
        st = svc.license_usage("index", 1)["status"]
        content = {"quota": st["budget_bytes"] or 0, "slaves_usage_bytes": st["bytes"], "day": st["day"],
                   "exceeded": st["exceeded"], "warnings_30d": len(st["warnings_30d"])}
        body = envelope([{"name": "license_usage", "id": "/services/licenser/usage/license_usage", "content": content}])
        body["origin"] = "/services/licenser/usage"
        return body

    @app.get("/api/v1/license/usage", dependencies=[Depends(require(SEARCH))])
    async def license_usage(by: str = "index", days: int = 30) -> dict:
        return svc.license_usage(by, days)

    @app.delete("/api/v1/inputs/{input_id}", dependencies=[Depends(require(EDIT_MONITOR))])
    async def remove_input(input_id: int) -> dict:
        if svc.input_kind(str(input_id)) == "fschange":   # its baseline goes too
            from speleo.alerts.fschange.inputs import remove_input as remove_fschange

            return remove_fschange(svc, str(input_id)) | {"kind": "fschange"}
        return svc.remove_input(str(input_id))

    @app.delete("/api/v1/inputs/http/{token_name}", dependencies=[Depends(require(EDIT_TOKEN_HTTP))])
    async def remove_hec_input(token_name: str) -> dict:
        return svc.remove_input(f"http://{token_name}")
