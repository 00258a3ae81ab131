"""The problems API under `/api/v1/problems`, and the incident routes that use problems, searches
and notifications: `/api/v1/incidents/{id}/problems|diagnostics|pin|updates` and the read-only
`/api/v1/status-page` (docs/api.md).

Reading needs `search`; changes need `edit_incidents` (problem management is part of the
incident practice; speleo.server.access). Running a diagnostic or pinning also runs or names a
search: a diagnostic runs as the caller (`search` capability, the caller's indexes). Errors
have the API's one shape (`{"error": {"code", "message"}}`; a refused status change is 409
`invalid_transition` with its `rule`).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request

from speleo.errors import InputError, NotFoundError
from speleo.ops.incidents import updates
from speleo.ops.incidents.models import OPEN_STATUSES
from speleo.ops.incidents.service import Incidents
from speleo.ops.problems import flows
from speleo.ops.problems.service import Problems
from speleo.server.access import EDIT_INCIDENTS, SEARCH, Principal, require
from speleo.server.incidents_api import _body, _source

PREFIX = "/api/v1/problems"
_TIME = (int, float)
CREATE_FIELDS = {"statement": str, "services": list, "root_cause": str, "workaround": str, "known_error": str,
                 "incidents": list}
UPDATE_FIELDS = {"statement": str, "status": str, "services": list, "root_cause": str, "workaround": str,
                 "known_error": str}
LINK_FIELDS = {"incident_id": int, "reason": str, "remove": bool}
PLAN_FIELDS = {"diagnostics": list, "timebox_minutes": int, "people": list, "runbook": str, "communication": dict,
               "owner": str}
SIGNATURE_FIELDS = {"kind": str, "value": str, "service": str, "error": str, "service_field": str,
                    "error_field": str, "saved_search": str}
DIAGNOSTIC_FIELDS = {"problem_id": int, "diagnostic": int}
PIN_FIELDS = {"search": str, "earliest": _TIME, "latest": _TIME, "row": dict, "text": str}
UPDATE_SEND_FIELDS = {"message": str, "template": str, "emails": list, "webhooks": list, "style": str}
MAX_PIN_ROW = 8_000   # characters of one pinned row's JSON


def install(app: FastAPI, runtime) -> None:
    """Add the problems routes and the incident routes that use them."""
    state: dict[str, Any] = {}

    def services() -> tuple[Incidents, Problems]:
        if "svc" not in state:
            from speleo.alerts.actions.incident import services_for

            state["svc"] = services_for(runtime.home, runtime.clock)  # shared with the alert action (one lock)
        return state["svc"]

    async def run(fn, *args, **kw):
        return await asyncio.to_thread(fn, *args, **kw)

    router = APIRouter()

    @router.get(PREFIX)
    async def list_problems(status: str | None = None, limit: int = 100,
                            who: Principal = Depends(require(SEARCH))) -> dict:
        return {"problems": await run(services()[1].list, status, limit)}

    @router.post(PREFIX, status_code=201)
    async def create(request: Request, who: Principal = Depends(require(EDIT_INCIDENTS))) -> dict:
        b = await _body(request, CREATE_FIELDS, ("statement",))
        return await run(services()[1].create, b.pop("statement"), who.name, **b)

    @router.get(PREFIX + "/{problem_id}")
    async def show(problem_id: int, who: Principal = Depends(require(SEARCH))) -> dict:
        return await run(services()[1].get, problem_id)

    @router.patch(PREFIX + "/{problem_id}")
    async def update(problem_id: int, request: Request, who: Principal = Depends(require(EDIT_INCIDENTS))) -> dict:
        b = await _body(request, UPDATE_FIELDS)
        return await run(services()[1].update, problem_id, who.name, **b)

    @router.post(PREFIX + "/{problem_id}/incidents", status_code=201)
    async def link(problem_id: int, request: Request, who: Principal = Depends(require(EDIT_INCIDENTS))) -> dict:
        b = await _body(request, LINK_FIELDS, ("incident_id",))
        return await run(services()[1].link, problem_id, b["incident_id"], who.name, reason=b.get("reason", ""),
                         remove=b.get("remove", False))

    @router.get(PREFIX + "/{problem_id}/plan")
    async def get_plan(problem_id: int, version: int | None = None, who: Principal = Depends(require(SEARCH))) -> dict:
        return await run(services()[1].plan, problem_id, version)

    @router.put(PREFIX + "/{problem_id}/plan", status_code=201)
    async def set_plan(problem_id: int, request: Request, who: Principal = Depends(require(EDIT_INCIDENTS))) -> dict:
        b = await _body(request, PLAN_FIELDS)
        owner = b.pop("owner", None)
        return await run(services()[1].set_plan, problem_id, who.name, b, owner=owner)

    @router.post(PREFIX + "/{problem_id}/plan/review")
    async def review_plan(problem_id: int, who: Principal = Depends(require(EDIT_INCIDENTS))) -> dict:
        return await run(services()[1].review_plan, problem_id, who.name)

    @router.post(PREFIX + "/{problem_id}/signatures", status_code=201)
    async def add_signature(problem_id: int, request: Request,
                            who: Principal = Depends(require(EDIT_INCIDENTS))) -> dict:
        b = await _body(request, SIGNATURE_FIELDS, ("kind",))
        kind, value = b.pop("kind"), b.pop("value", "")
        return await run(services()[1].add_signature, problem_id, kind, value, who.name, b)

    @router.delete(PREFIX + "/{problem_id}/signatures/{signature_id}")
    async def remove_signature(problem_id: int, signature_id: int,
                               who: Principal = Depends(require(EDIT_INCIDENTS))) -> dict:
        return await run(services()[1].remove_signature, problem_id, signature_id, who.name)

    # -- incident routes that use problems, searches and notifications ----------------------
    @router.get("/api/v1/incidents/{incident_id}/problems")
    async def incident_problems(incident_id: int, who: Principal = Depends(require(SEARCH))) -> dict:
        """The problems linked to the incident, their plans, and the time-box countdown."""
        now = runtime.clock.time()
        links = await run(services()[1].links_of_incident, incident_id)
        for lk in links:
            ends = lk["timebox_ends_at"]
            lk["timebox_remaining_secs"] = None if ends is None else max(0.0, ends - now)
            lk["restore_now"] = ends is not None and now >= ends
        return {"now": now, "problems": links}

    @router.post("/api/v1/incidents/{incident_id}/diagnostics", status_code=201)
    async def run_diagnostic(incident_id: int, request: Request,
                             who: Principal = Depends(require(EDIT_INCIDENTS))) -> dict:
        """Run diagnostic number `diagnostic` (from 0) of the problem's current plan as the caller and
        attach its output to the incident's timeline."""
        b = await _body(request, DIAGNOSTIC_FIELDS, ("problem_id", "diagnostic"))
        if not who.can(SEARCH):
            raise InputError("running a diagnostic runs a search: the 'search' capability is needed")
        incidents, problems = services()
        await run(incidents.get, incident_id, 1)   # 404 before any search runs
        plan = await run(problems.plan, b["problem_id"])
        diags = plan["diagnostics"]
        if not 0 <= b["diagnostic"] < len(diags):
            raise NotFoundError(f"problem {b['problem_id']}'s plan v{plan['version']} has {len(diags)} diagnostic(s), "
                                f"numbered from 0")
        d = diags[b["diagnostic"]]
        spl = d.get("search") or await run(_saved_search_text, runtime, d["saved_search"])
        now = runtime.clock.time()
        earliest, latest = runtime.time_bounds(d["earliest"], d["latest"], now)
        from speleo.server.app import SearchRequest, run_search

        res = await run_search(runtime, who, SearchRequest(search=spl, earliest=earliest, latest=latest, limit=50,
                                                           now=now, timeline=False))
        rows = res.get("events") or res.get("results") or []
        return await run(flows.diagnostic_ran, problems, incident_id, b["problem_id"], b["diagnostic"], d, spl,
                         earliest, latest, rows, int(res.get("total") or 0), list(res.get("fields") or []),
                         who.name, _source(who))

    @router.post("/api/v1/incidents/{incident_id}/pin", status_code=201)
    async def pin(incident_id: int, request: Request, who: Principal = Depends(require(EDIT_INCIDENTS))) -> dict:
        """Pin an event or result row from a search ("add to incident"): a `pinned_event` entry with
        the search and its absolute range (its link re-runs them), then the problems' signatures
        are matched against the row."""
        b = await _body(request, PIN_FIELDS, ("search", "row"))
        row = b["row"]
        if len(json.dumps(row, default=str)) > MAX_PIN_ROW:
            raise InputError(f"row: more than {MAX_PIN_ROW} characters of JSON; pin the event itself, not a large table")
        raw = row.get("_raw")
        text = b.get("text") or (f"pinned event: {str(raw)[:300]}" if raw else
                                 "pinned result: " + ", ".join(f"{k}={v}" for k, v in list(row.items())[:8])[:300])
        incidents, problems = services()
        entry = await run(incidents.add_entry, incident_id, "pinned_event", text, who.name, _source(who),
                          at=_row_time(row), search=b["search"], earliest=b.get("earliest"), latest=b.get("latest"),
                          details={"row": row, "pinned_from": "event" if raw else "result"})
        attached = await run(flows.attach_matches, problems, incident_id, rows=[row], actor=who.name,
                             source=_source(who))
        return {**entry, "problems_attached": [a.to_dict() for a in attached]}

    @router.post("/api/v1/incidents/{incident_id}/updates", status_code=201)
    async def send_update(incident_id: int, request: Request,
                          who: Principal = Depends(require(EDIT_INCIDENTS))) -> dict:
        b = await _body(request, UPDATE_SEND_FIELDS, ("message",))
        incidents, _ = services()
        return await run(updates.send, incidents, runtime.notifier, incident_id, who.name, _source(who),
                         message=b["message"], template=b.get("template"), emails=b.get("emails", []),
                         webhooks=b.get("webhooks", []), style=b.get("style", "json"),
                         base_url=f"http://{runtime.bind}:{runtime.port}")

    @router.get("/api/v1/status-page")
    async def status_page(who: Principal = Depends(require(SEARCH))) -> dict:
        """Open and recently resolved incidents for read-only viewers: title, severity, status,
        services, times, and the latest stakeholder update only (no notes, no events)."""
        return {"incidents": await run(_status_page, services()[0])}

    app.include_router(router)
    from speleo.web.ops_pages import install as install_pages  # /incidents, /problems, /status pages

    install_pages(app)


def _row_time(row: dict) -> float | None:
    t = row.get("_time")
    if isinstance(t, (int, float)) and not isinstance(t, bool):
        return float(t)
    return None


def _saved_search_text(runtime, name: str) -> str:
    from speleo.alerts.store import for_home

    return for_home(runtime.home, runtime.clock).get(name).spec["search"]


def _status_page(incidents: Incidents) -> list[dict]:
    out = []
    for inc in incidents.list(limit=50):
        if inc["status"] not in OPEN_STATUSES and inc["status"] != "resolved":
            continue
        full = incidents.get(inc["id"])
        last = [e for e in full["timeline"] if e["kind"] == "update"]
        out.append({k: inc[k] for k in ("id", "title", "severity", "status", "services", "declared_at",
                                        "resolved_at")} | {"latest_update": last[-1]["details"].get("message")
                                                           if last else None,
                                                           "latest_update_at": last[-1]["at"] if last else None})
    return out
