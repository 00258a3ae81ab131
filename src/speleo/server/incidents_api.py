"""The incidents API under `/api/v1/incidents` (docs/api.md): thin routes over `speleo.ops.incidents`.

Reading needs `search`; every change needs `edit_incidents` (speleo.server.access). Bodies are
JSON objects; unknown or mistyped fields are refused with a 400 in the API's error shape
(`{"error": {"code", "message"}}`), a refused status change with 409 and the rule
(`{"error": {"code": "invalid_transition", "message", "rule"}}`). The actor of each change is
the caller (the user's name, or "api-token"); the timeline source is "api" or "web".
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request

from speleo.errors import InputError
from speleo.ops.db import Database
from speleo.ops.incidents.service import Incidents
from speleo.server.access import EDIT_INCIDENTS, SEARCH, Principal, require

PREFIX = "/api/v1/incidents"
MAX_BODY = 256 * 1024  # bytes

_TIME = (int, float)
CREATE_FIELDS = {"title": str, "severity": (str, int), "services": list, "description": str,
                 "impact_started_at": _TIME, "detected_at": _TIME, "dedup_key": str}
UPDATE_FIELDS = {"title": str, "severity": (str, int), "status": str, "services": list, "description": str,
                 "impact_started_at": _TIME, "detected_at": _TIME, "note": str}
ROLE_FIELDS = {"role": str, "who": str, "remove": bool}
NOTE_FIELDS = {"note": str}
ENTRY_FIELDS = {"kind": str, "text": str, "at": _TIME, "search": str, "earliest": _TIME, "latest": _TIME,
                "details": dict}


async def _body(request: Request, fields: dict[str, Any], required: tuple[str, ...] = ()) -> dict:
    """The request's JSON object, checked against `fields` (name -> type); None values are dropped."""
    raw = await request.body()
    if len(raw) > MAX_BODY:
        raise InputError(f"request body: {len(raw)} bytes, {MAX_BODY} at most")
    if not raw.strip():
        data: Any = {}
    else:
        try:
            data = json.loads(raw)
        except ValueError as e:
            raise InputError(f"request body is not JSON: {e}") from None
    if not isinstance(data, dict):
        raise InputError("request body: send a JSON object")
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise InputError(f"unknown field(s) {', '.join(unknown)}; accepted: {', '.join(fields)}")
    out = {}
    for k, v in data.items():
        if v is None:
            continue
        if isinstance(v, bool) and fields[k] is not bool or not isinstance(v, fields[k]):
            raise InputError(f"field '{k}': wrong type ({type(v).__name__})")
        out[k] = v
    missing = [k for k in required if k not in out]
    if missing:
        raise InputError(f"missing field(s): {', '.join(missing)}")
    return out


def _source(who: Principal) -> str:
    return "web" if who.via == "session" else "api"


def _match_description(runtime, incident_id: int, description: str, actor: str, source: str) -> list[dict]:
    """Match the problems' signatures against a declared incident's description (as one event)."""
    from speleo.alerts.actions.incident import services_for
    from speleo.ops.problems.flows import attach_matches

    problems = services_for(runtime.home, runtime.clock)[1]
    return [a.to_dict() for a in attach_matches(problems, incident_id, rows=[{"_raw": description}], actor=actor,
                                                source=source)]


def install(app: FastAPI, runtime) -> None:
    """Add the incidents routes to `app`, over the home's operations database and the server's clock."""
    state: dict[str, Incidents] = {}

    def incidents() -> Incidents:
        if "svc" not in state:
            state["svc"] = Incidents(Database.for_home(runtime.home), runtime.clock)
        return state["svc"]

    router = APIRouter(prefix=PREFIX)

    async def run(fn, *args, **kw):
        return await asyncio.to_thread(fn, *args, **kw)

    @router.get("")
    async def list_incidents(status: str | None = None, open: bool = False, severity: str | None = None,
                             service: str | None = None, limit: int = 100,
                             who: Principal = Depends(require(SEARCH))) -> dict:
        return {"incidents": await run(incidents().list, status, open, severity, service, limit)}

    @router.post("", status_code=201)
    async def declare(request: Request, who: Principal = Depends(require(EDIT_INCIDENTS))) -> dict:
        b = await _body(request, CREATE_FIELDS, ("title",))
        inc = await run(incidents().create, b.pop("title"), who.name, _source(who), **b)
        if b.get("description"):   # an error or stack trace pasted by the declarer can recognise a known problem
            inc["problems_attached"] = await run(_match_description, runtime, inc["id"], b["description"], who.name,
                                                 _source(who))
        return inc

    @router.get("/{incident_id}")
    async def show(incident_id: int, who: Principal = Depends(require(SEARCH))) -> dict:
        return await run(incidents().get, incident_id)

    @router.patch("/{incident_id}")
    async def update(incident_id: int, request: Request, who: Principal = Depends(require(EDIT_INCIDENTS))) -> dict:
        b = await _body(request, UPDATE_FIELDS)
        return await run(incidents().update, incident_id, who.name, _source(who), **b)

    @router.post("/{incident_id}/ack")
    async def ack(incident_id: int, who: Principal = Depends(require(EDIT_INCIDENTS))) -> dict:
        return await run(incidents().ack, incident_id, who.name, _source(who))

    @router.post("/{incident_id}/roles")
    async def assign(incident_id: int, request: Request, who: Principal = Depends(require(EDIT_INCIDENTS))) -> dict:
        b = await _body(request, ROLE_FIELDS, ("role", "who"))
        return await run(incidents().assign, incident_id, b["role"], b["who"], who.name, _source(who),
                         b.get("remove", False))

    @router.post("/{incident_id}/resolve")
    async def resolve(incident_id: int, request: Request, who: Principal = Depends(require(EDIT_INCIDENTS))) -> dict:
        b = await _body(request, NOTE_FIELDS)
        return await run(incidents().resolve, incident_id, who.name, _source(who), b.get("note"))

    @router.post("/{incident_id}/close")
    async def close(incident_id: int, request: Request, who: Principal = Depends(require(EDIT_INCIDENTS))) -> dict:
        b = await _body(request, NOTE_FIELDS)
        return await run(incidents().close, incident_id, who.name, _source(who), b.get("note"))

    @router.post("/{incident_id}/timeline", status_code=201)
    async def add_entry(incident_id: int, request: Request, who: Principal = Depends(require(EDIT_INCIDENTS))) -> dict:
        b = await _body(request, ENTRY_FIELDS, ("kind", "text"))
        return await run(incidents().add_entry, incident_id, b.pop("kind"), b.pop("text"), who.name,
                         _source(who), **b)

    app.include_router(router)
