"""The learning-loop API (docs/api.md): `/api/v1/postmortems` and `/api/v1/actions`; the
checklists and reviews routes are in `speleo.server.checks_api`.

Thin routes over `speleo.ops.postmortems` and `speleo.ops.actions`. Reading needs `search`,
every change `edit_incidents` (speleo.server.access). A refused gate answers 409 (a missing field
400) in the API's error shape with the rule: `{"error": {"code", "message", "rule"}}`. The action
reminders run on the server's ops tick (`runtime.ticks`, every `REMIND_EVERY` seconds) and go out
through `runtime.notifier`.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, PlainTextResponse

from speleo.errors import InputError
from speleo.ops.actions import Actions
from speleo.ops.db import Database
from speleo.ops.postmortems import Postmortems
from speleo.server.access import EDIT_INCIDENTS, SEARCH, Principal, require
from speleo.server.incidents_api import _body

REMIND_EVERY = 30.0  # seconds between passes of the reminder tick
_lock = threading.Lock()  # the services are made once, by whichever thread asks first
_T = (int, float)
START_FIELDS = {"incident": int, "facilitator": str, "attendees": list}
PEOPLE_FIELDS = {"facilitator": str, "attendees": list}
ENTRY_FIELDS = {"at": _T, "text": str, "search": str, "earliest": _T, "latest": _T}
ENTRY_EDIT_FIELDS = {"state": str, "text": str, "at": _T, "impact_start": bool, "detection": bool}
ISSUE_FIELDS = {"text": str, "entries": list}
PM_ACTION_FIELDS = {"issue": int, "title": str, "owner": str, "expected": str, "due_at": _T, "type": str}
ACTION_FIELDS = {"source_type": str, "source_id": (str, int), "source_item": int, "title": str, "owner": str,
                 "expected": str, "due_at": _T, "type": str}
DONE_FIELDS = {"evidence_kind": str, "evidence": str}
PERSON_FIELDS = {"email": str, "team": str, "manager": str}


async def run(fn, *args, **kw):
    return await asyncio.to_thread(fn, *args, **kw)


def services(runtime) -> dict[str, Any]:
    """The runtime's learning-loop services (`runtime.learning`), made once under a lock."""
    with _lock:
        return _services(runtime)


def _services(runtime) -> dict[str, Any]:
    svc = getattr(runtime, "learning", None)
    if svc is None:
        from speleo.ops.checklists import Checklists, service_searcher
        from speleo.ops.incidents.service import Incidents
        from speleo.ops.reviews import Reviews

        db = Database.for_home(runtime.home)
        actions = Actions.for_home(runtime.home.root, db, runtime.clock)
        searcher = service_searcher(runtime.service)
        svc = {"actions": actions, "postmortems": Postmortems(db, runtime.clock, actions),
               "checklists": Checklists(db, runtime.clock, searcher), "incidents": Incidents(db, runtime.clock),
               "reviews": Reviews(db, runtime.clock, searcher, actions)}
        runtime.learning = svc
    return svc


def install(app: FastAPI, runtime) -> None:
    """Add the post-mortem and action routes, and the reminder tick (when the runtime has ticks)."""
    ticks = getattr(runtime, "ticks", None)
    if ticks is not None:
        ticks.add("action-reminders", lambda now: services(runtime)["actions"].run_due(now, runtime.notifier),
                  REMIND_EVERY)
    _postmortems(app, runtime)
    _actions(app, runtime)
    from speleo.server import checks_api

    checks_api.install(app, runtime)


def _postmortems(app: FastAPI, runtime) -> None:
    r = APIRouter(prefix="/api/v1/postmortems")
    pms = lambda: services(runtime)["postmortems"]  # noqa: E731

    @r.get("")
    async def list_pms(incident: int | None = None, who: Principal = Depends(require(SEARCH))) -> dict:
        return {"postmortems": await run(pms().list, incident)}

    @r.post("", status_code=201)
    async def start(request: Request, who: Principal = Depends(require(EDIT_INCIDENTS))) -> dict:
        b = await _body(request, START_FIELDS, ("incident",))
        return await run(pms().start, b["incident"], who.name, facilitator=b.get("facilitator"),
                         attendees=_strs(b.get("attendees", []), "attendees"))

    @r.get("/{pm_id}")
    async def show(pm_id: int, who: Principal = Depends(require(SEARCH))) -> dict:
        return await run(pms().get, pm_id)

    @r.get("/{pm_id}/export")
    async def export(pm_id: int, format: str = "markdown", who: Principal = Depends(require(SEARCH))):
        from speleo.ops import pm_export

        pm = await run(pms().get, pm_id)
        if format == "markdown":
            return PlainTextResponse(pm_export.markdown(pm), media_type="text/markdown; charset=utf-8")
        if format == "html":
            return HTMLResponse(pm_export.printable(pm))
        raise InputError(f"format: '{format}' is not markdown or html")

    @r.post("/{pm_id}/advance")
    async def advance(pm_id: int, request: Request, who: Principal = Depends(require(EDIT_INCIDENTS))) -> dict:
        b = await _body(request, {"agreed": bool})
        return await run(pms().advance, pm_id, who.name, agreed=b.get("agreed", False))

    @r.post("/{pm_id}/people")
    async def people(pm_id: int, request: Request, who: Principal = Depends(require(EDIT_INCIDENTS))) -> dict:
        b = await _body(request, PEOPLE_FIELDS)
        att = _strs(b["attendees"], "attendees") if "attendees" in b else None
        return await run(pms().set_people, pm_id, who.name, facilitator=b.get("facilitator"), attendees=att)

    @r.post("/{pm_id}/entries", status_code=201)
    async def add_entry(pm_id: int, request: Request, who: Principal = Depends(require(EDIT_INCIDENTS))) -> dict:
        b = await _body(request, ENTRY_FIELDS, ("at", "text"))
        return await run(pms().add_entry, pm_id, who.name, **b)

    @r.patch("/{pm_id}/entries/{entry_id}")
    async def edit_entry(pm_id: int, entry_id: int, request: Request,
                         who: Principal = Depends(require(EDIT_INCIDENTS))) -> dict:
        b = await _body(request, ENTRY_EDIT_FIELDS)
        return await run(pms().update_entry, pm_id, entry_id, who.name, **b)

    @r.post("/{pm_id}/issues", status_code=201)
    async def add_issue(pm_id: int, request: Request, who: Principal = Depends(require(EDIT_INCIDENTS))) -> dict:
        b = await _body(request, ISSUE_FIELDS, ("text",))
        return await run(pms().add_issue, pm_id, who.name, b["text"], b.get("entries", []))

    @r.post("/{pm_id}/actions", status_code=201)
    async def add_action(pm_id: int, request: Request, who: Principal = Depends(require(EDIT_INCIDENTS))) -> dict:
        b = await _body(request, PM_ACTION_FIELDS)
        return await run(pms().add_action, pm_id, who.name, issue=b.pop("issue", None), **b)

    app.include_router(r)


def _actions(app: FastAPI, runtime) -> None:
    r = APIRouter(prefix="/api/v1/actions")
    acts = lambda: services(runtime)["actions"]  # noqa: E731

    @r.get("")
    async def list_actions(status: str | None = None, owner: str | None = None, team: str | None = None,
                           source_type: str | None = None, source_id: str | None = None, overdue: bool = False,
                           who: Principal = Depends(require(SEARCH))) -> dict:
        return {"actions": await run(acts().list, status=status, owner=owner, team=team, source_type=source_type,
                                     source_id=source_id, overdue=overdue)}

    @r.get("/backlog")
    async def backlog(who: Principal = Depends(require(SEARCH))) -> dict:
        return await run(acts().backlog)

    @r.get("/people")
    async def people(who: Principal = Depends(require(SEARCH))) -> dict:
        return {"people": await run(acts().people)}

    @r.put("/people/{name}")
    async def set_person(name: str, request: Request, who: Principal = Depends(require(EDIT_INCIDENTS))) -> dict:
        b = await _body(request, PERSON_FIELDS)
        return await run(acts().set_person, name, who.name, **b)

    @r.post("", status_code=201)
    async def create(request: Request, who: Principal = Depends(require(EDIT_INCIDENTS))) -> dict:
        b = await _body(request, ACTION_FIELDS, ("source_type", "source_id"))
        return await run(acts().create, b.pop("source_type"), b.pop("source_id"), who.name, **b)

    @r.get("/{action_id}")
    async def show(action_id: int, who: Principal = Depends(require(SEARCH))) -> dict:
        return await run(acts().get, action_id)

    @r.post("/{action_id}/done")
    async def done(action_id: int, request: Request, who: Principal = Depends(require(EDIT_INCIDENTS))) -> dict:
        b = await _body(request, DONE_FIELDS)
        return await run(acts().done, action_id, who.name, b.get("evidence_kind"), b.get("evidence"))

    @r.post("/{action_id}/remind")
    async def remind(action_id: int, who: Principal = Depends(require(EDIT_INCIDENTS))) -> dict:
        return await run(acts().remind, action_id, runtime.notifier, who.name)

    app.include_router(r)


def _strs(v: list, field: str) -> list[str]:
    if not all(isinstance(x, str) for x in v):
        raise InputError(f"field '{field}': a list of user names")
    return v
