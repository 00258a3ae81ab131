"""The on-call API under `/api/v1/oncall` (docs/api.md): thin routes over `speleo.ops.oncall`,
and the on-call ticks (escalation steps every second, the readiness report once a day).

Reading needs `search`; setting up schedules, rotations, policies and contact methods needs
`edit_user` (it decides who gets woken up); adding or removing an override and starting an
escalation by hand need `edit_incidents`. Errors use the API's shape `{"error": {"code", "message"}}`.
"""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Depends, FastAPI, Request

from speleo.ops.db import Database
from speleo.ops.oncall import readiness
from speleo.ops.oncall.escalation import Escalations
from speleo.ops.oncall.service import OnCall
from speleo.server.access import EDIT_INCIDENTS, EDIT_USER, SEARCH, Principal, require
from speleo.server.incidents_api import _TIME, _body

PREFIX = "/api/v1/oncall"
SCHEDULE_FIELDS = {"name": str, "time_zone": str, "description": str}
ROTATION_FIELDS = {"name": str, "users": list, "start": str, "kind": str, "length": int, "unit": str, "layer": int,
                   "end": str}
OVERRIDE_FIELDS = {"user": str, "start": _TIME, "end": _TIME, "reason": str}
POLICY_FIELDS = {"name": str, "steps": list, "services": list, "default": bool, "description": str}
CONTACT_FIELDS = {"user": str, "kind": str, "target": str, "style": str}
START_FIELDS = {"incident_id": int, "policy": str}


def install(app: FastAPI, runtime) -> None:
    """Add the on-call routes to `app` and the on-call ticks to `runtime.ticks`."""
    state: dict = {}

    def oc() -> OnCall:
        if "oc" not in state:
            state["oc"] = OnCall(Database.for_home(runtime.home), runtime.clock)
        return state["oc"]

    def esc() -> Escalations:
        if "esc" not in state:
            state["esc"] = Escalations(Database.for_home(runtime.home), runtime.notifier, oc(),
                                       base_url=f"http://{runtime.bind}:{runtime.port}")
        return state["esc"]

    def emit(fields: dict) -> None:
        runtime.internal.emit("_internal", "speleo:oncall", fields, component="oncall",
                              level="INFO" if fields.get("ok") else "WARN")

    ticks = getattr(runtime, "ticks", None)
    if ticks is not None:
        ticks.add("oncall-escalation", lambda now: esc().tick(now), every_secs=1.0)
        ticks.add("oncall-readiness", lambda now: readiness.daily(oc().db, now, emit), every_secs=300.0)

    router = APIRouter(prefix=PREFIX)

    async def run(fn, *args, **kw):
        return await asyncio.to_thread(fn, *args, **kw)

    # -- schedules ---------------------------------------------------------------------------
    @router.get("/schedules")
    async def list_schedules(who: Principal = Depends(require(SEARCH))) -> dict:
        return {"schedules": await run(oc().list_schedules)}

    @router.post("/schedules", status_code=201)
    async def create_schedule(request: Request, who: Principal = Depends(require(EDIT_USER))) -> dict:
        b = await _body(request, SCHEDULE_FIELDS, ("name", "time_zone"))
        return await run(oc().create_schedule, b["name"], b["time_zone"], who.name, b.get("description", ""))

    @router.get("/schedules/{name}")
    async def show_schedule(name: str, who: Principal = Depends(require(SEARCH))) -> dict:
        return await run(oc().get_schedule, name)

    @router.delete("/schedules/{name}")
    async def delete_schedule(name: str, who: Principal = Depends(require(EDIT_USER))) -> dict:
        await run(oc().delete_schedule, name, who.name)
        return {"deleted": name}

    @router.post("/schedules/{name}/rotations", status_code=201)
    async def add_rotation(name: str, request: Request, who: Principal = Depends(require(EDIT_USER))) -> dict:
        b = await _body(request, ROTATION_FIELDS, ("users", "start"))
        return await run(oc().add_rotation, name, who.name, **b)

    @router.delete("/schedules/{name}/rotations/{rotation}")
    async def remove_rotation(name: str, rotation: str, who: Principal = Depends(require(EDIT_USER))) -> dict:
        await run(oc().remove_rotation, name, rotation, who.name)
        return {"deleted": rotation}

    @router.post("/schedules/{name}/overrides", status_code=201)
    async def add_override(name: str, request: Request, who: Principal = Depends(require(EDIT_INCIDENTS))) -> dict:
        b = await _body(request, OVERRIDE_FIELDS, ("user", "start", "end"))
        return await run(oc().add_override, name, b["user"], b["start"], b["end"], who.name, b.get("reason", ""))

    @router.delete("/schedules/{name}/overrides/{override_id}")
    async def remove_override(name: str, override_id: int, who: Principal = Depends(require(EDIT_INCIDENTS))) -> dict:
        await run(oc().remove_override, name, override_id, who.name)
        return {"deleted": override_id}

    @router.get("/schedules/{name}/shifts")
    async def shifts(name: str, start: float | None = None, end: float | None = None,
                     who: Principal = Depends(require(SEARCH))) -> dict:
        a = runtime.clock.time() if start is None else start
        return await run(oc().shifts, name, a, a + 7 * 86400 if end is None else end)

    @router.get("/who")
    async def who_is_on_call(schedule: str | None = None, at: float | None = None,
                             who: Principal = Depends(require(SEARCH))) -> dict:
        names = [schedule] if schedule else [s["name"] for s in await run(oc().list_schedules)]
        return {"oncall": [await run(oc().who, n, at) for n in names]}

    # -- policies ----------------------------------------------------------------------------
    @router.get("/policies")
    async def list_policies(who: Principal = Depends(require(SEARCH))) -> dict:
        return {"policies": await run(oc().list_policies)}

    @router.post("/policies", status_code=201)
    async def create_policy(request: Request, who: Principal = Depends(require(EDIT_USER))) -> dict:
        b = await _body(request, POLICY_FIELDS, ("name", "steps"))
        return await run(oc().create_policy, b["name"], b["steps"], who.name, services=b.get("services", []),
                         default=b.get("default", False), description=b.get("description", ""))

    @router.get("/policies/{name}")
    async def show_policy(name: str, who: Principal = Depends(require(SEARCH))) -> dict:
        return await run(oc().get_policy, name)

    @router.put("/policies/{name}")
    async def replace_policy(name: str, request: Request, who: Principal = Depends(require(EDIT_USER))) -> dict:
        b = await _body(request, {k: v for k, v in POLICY_FIELDS.items() if k != "name"}, ("steps",))
        return await run(oc().create_policy, name, b["steps"], who.name, services=b.get("services", []),
                         default=b.get("default", False), description=b.get("description", ""), replace=True)

    @router.delete("/policies/{name}")
    async def delete_policy(name: str, who: Principal = Depends(require(EDIT_USER))) -> dict:
        await run(oc().delete_policy, name, who.name)
        return {"deleted": name}

    # -- contact methods ---------------------------------------------------------------------
    @router.get("/contacts")
    async def list_contacts(user: str | None = None, who: Principal = Depends(require(EDIT_USER))) -> dict:
        return {"contacts": await run(oc().contacts, user)}

    @router.post("/contacts", status_code=201)
    async def add_contact(request: Request, who: Principal = Depends(require(EDIT_USER))) -> dict:
        b = await _body(request, CONTACT_FIELDS, ("user", "kind", "target"))
        return await run(oc().add_contact, b["user"], b["kind"], b["target"], who.name, b.get("style", "json"))

    @router.delete("/contacts/{contact_id}")
    async def remove_contact(contact_id: int, who: Principal = Depends(require(EDIT_USER))) -> dict:
        await run(oc().remove_contact, contact_id, who.name)
        return {"deleted": contact_id}

    # -- escalations and readiness -----------------------------------------------------------
    @router.get("/escalations")
    async def list_escalations(limit: int = 100, who: Principal = Depends(require(SEARCH))) -> dict:
        return {"escalations": await run(esc().list, limit)}

    @router.post("/escalations", status_code=201)
    async def start_escalation(request: Request, who: Principal = Depends(require(EDIT_INCIDENTS))) -> dict:
        b = await _body(request, START_FIELDS, ("incident_id", "policy"))
        return await run(esc().start, b["incident_id"], b["policy"], who.name)

    @router.get("/escalations/{incident_id}")
    async def show_escalation(incident_id: int, who: Principal = Depends(require(SEARCH))) -> dict:
        return await run(esc().for_incident, incident_id)

    @router.get("/readiness")
    async def check_readiness(days: int = readiness.DEFAULT_DAYS, who: Principal = Depends(require(SEARCH))) -> dict:
        from speleo.errors import InputError

        if not 1 <= days <= 90:
            raise InputError("days: from 1 to 90")
        return await run(readiness.check, oc().db, runtime.clock.time(), days)

    app.include_router(router)
