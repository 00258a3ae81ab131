"""`/api/v1/checklists` (release checklists) and `/api/v1/reviews` (after-action reviews): thin
routes over `speleo.ops.checklists` and `speleo.ops.reviews` (docs/api.md). Reading needs
`search`, every change `edit_incidents`; a refused sign-off or finish answers 409 with the rule."""

from __future__ import annotations

from fastapi import APIRouter, Depends, FastAPI, Request

from speleo.server.access import EDIT_INCIDENTS, SEARCH, Principal, require
from speleo.server.incidents_api import _body

_T = (int, float)
TEMPLATE_FIELDS = {"name": str, "release_type": str, "pause_point": str, "items": list}
RUN_FIELDS = {"template": str, "release": str, "version": str, "at": _T, "window_secs": _T}
CONFIRM_FIELDS = {"ok": bool, "note": str}
REVIEW_FIELDS = {"title": str, "window_start": _T, "window_end": _T, "release_id": int}
GOAL_FIELDS = {"text": str, "op": str, "target": _T, "search": str}
REVIEW_EDIT_FIELDS = {"went_right": str, "went_wrong": str, "goal": int, "why": str, "observed": _T}
REVIEW_ACTION_FIELDS = {"kind": str, "title": str, "owner": str, "expected": str, "due_at": _T, "goal": int}


def install(app: FastAPI, runtime) -> None:
    from speleo.server.learning_api import run, services

    chk = lambda: services(runtime)["checklists"]  # noqa: E731
    rev = lambda: services(runtime)["reviews"]  # noqa: E731
    c = APIRouter(prefix="/api/v1/checklists")

    @c.get("/templates")
    async def templates(who: Principal = Depends(require(SEARCH))) -> dict:
        return {"templates": await run(chk().templates)}

    @c.post("/templates", status_code=201)
    async def save_template(request: Request, who: Principal = Depends(require(EDIT_INCIDENTS))) -> dict:
        b = await _body(request, TEMPLATE_FIELDS, ("name", "release_type", "pause_point", "items"))
        return await run(chk().save_template, b["name"], b["release_type"], b["pause_point"], b["items"], who.name)

    @c.get("/runs")
    async def runs(who: Principal = Depends(require(SEARCH))) -> dict:
        return {"runs": await run(chk().runs)}

    @c.post("/runs", status_code=201)
    async def start_run(request: Request, who: Principal = Depends(require(EDIT_INCIDENTS))) -> dict:
        b = await _body(request, RUN_FIELDS, ("template", "release", "version"))
        return await run(chk().start_run, b.pop("template"), b.pop("release"), b.pop("version"), who.name, **b)

    @c.get("/runs/{run_id}")
    async def status(run_id: int, who: Principal = Depends(require(SEARCH))) -> dict:
        return await run(chk().status, run_id)

    @c.post("/runs/{run_id}/check")
    async def check(run_id: int, who: Principal = Depends(require(EDIT_INCIDENTS))) -> dict:
        return await run(chk().check_all, run_id, who.name)

    @c.post("/runs/{run_id}/items/{item_id}/confirm")
    async def confirm(run_id: int, item_id: int, request: Request,
                      who: Principal = Depends(require(EDIT_INCIDENTS))) -> dict:
        b = await _body(request, CONFIRM_FIELDS)
        return await run(chk().confirm, run_id, item_id, who.name, ok=b.get("ok", True), note=b.get("note", ""))

    @c.post("/runs/{run_id}/items/{item_id}/incident", status_code=201)
    async def incident(run_id: int, item_id: int, who: Principal = Depends(require(EDIT_INCIDENTS))) -> dict:
        return await run(chk().open_incident, run_id, item_id, who.name, services(runtime)["incidents"])

    @c.post("/runs/{run_id}/signoff")
    async def signoff(run_id: int, who: Principal = Depends(require(EDIT_INCIDENTS))) -> dict:
        return await run(chk().sign_off, run_id, who.name)

    @c.get("/releases")
    async def releases(start: float = 0, end: float = 32503680000, who: Principal = Depends(require(SEARCH))) -> dict:
        return {"releases": await run(chk().releases_between, start, end)}

    app.include_router(c)
    r = APIRouter(prefix="/api/v1/reviews")

    @r.get("")
    async def list_reviews(who: Principal = Depends(require(SEARCH))) -> dict:
        return {"reviews": await run(rev().list)}

    @r.post("", status_code=201)
    async def create(request: Request, who: Principal = Depends(require(EDIT_INCIDENTS))) -> dict:
        b = await _body(request, REVIEW_FIELDS, ("title", "window_start", "window_end"))
        return await run(rev().create, b["title"], b["window_start"], b["window_end"], who.name, b.get("release_id"))

    @r.get("/{review_id}")
    async def show(review_id: int, who: Principal = Depends(require(SEARCH))) -> dict:
        return await run(rev().get, review_id)

    @r.patch("/{review_id}")
    async def update(review_id: int, request: Request, who: Principal = Depends(require(EDIT_INCIDENTS))) -> dict:
        b = await _body(request, REVIEW_EDIT_FIELDS)
        return await run(rev().update, review_id, who.name, **b)

    @r.post("/{review_id}/goals", status_code=201)
    async def goal(review_id: int, request: Request, who: Principal = Depends(require(EDIT_INCIDENTS))) -> dict:
        b = await _body(request, GOAL_FIELDS, ("text", "op", "target"))
        return await run(rev().add_goal, review_id, who.name, b["text"], b["op"], b["target"], b.get("search"))

    @r.post("/{review_id}/observe")
    async def observe(review_id: int, who: Principal = Depends(require(EDIT_INCIDENTS))) -> dict:
        return await run(rev().observe, review_id, who.name)

    @r.post("/{review_id}/actions", status_code=201)
    async def action(review_id: int, request: Request, who: Principal = Depends(require(EDIT_INCIDENTS))) -> dict:
        b = await _body(request, REVIEW_ACTION_FIELDS, ("kind",))
        return await run(rev().add_action, review_id, who.name, kind=b.pop("kind"), title=b.get("title"),
                         owner=b.get("owner"), expected=b.get("expected"), due_at=b.get("due_at"), goal=b.get("goal"))

    @r.post("/{review_id}/finish")
    async def finish(review_id: int, who: Principal = Depends(require(EDIT_INCIDENTS))) -> dict:
        return await run(rev().finish, review_id, who.name)

    app.include_router(r)
