"""The operations pages: incidents list and incident page (timeline, roles, plan of attack with
the time-box countdown, diagnostics, stakeholder updates), problems list and problem page, and
the read-only status page. Static HTML + JavaScript in `static/` over `/api/v1/incidents`,
`/api/v1/problems` and `/api/v1/status-page`; a signed-in session is needed (else the sign-in
page), and the API routes check each capability."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import RedirectResponse, Response

# path -> (page name: static/<name>.part.html and static/<name>.js, title, its nav entry)
PAGES = {"/incidents": ("incidents", "Incidents", "incidents"), "/incidents/{item_id}": ("incident", "Incident", "incidents"),
         "/problems": ("problems", "Problems", "problems"), "/problems/{item_id}": ("problem", "Problem", "problems"),
         "/status": ("status", "Status", "status")}


def install(app: FastAPI) -> None:
    """Add the pages to `app` (the web's sessions are read from `app.state.web` per request)."""
    from speleo.web.routes import STATIC, _page

    router = APIRouter()

    def page(request: Request, name: tuple[str, str, str], item_id: int | None = None) -> Response:
        found = app.state.web.session(request)
        if found is None:
            target = request.url.path
            return RedirectResponse("/login?next=" + quote(target, safe=""), status_code=303)
        user, session = found
        part, title, _ = name
        raw = {"content": (STATIC / f"{part}.part.html").read_text(encoding="utf-8"), "script": f"{part}.js"}
        return _page("ops.html", raw=raw, path=request.url.path, csrf=session.csrf, user=user.name, item=str(item_id or ""), title=title)

    for path, name in PAGES.items():
        if "{item_id}" in path:
            def handler(request: Request, item_id: int, name=name) -> Response:
                return page(request, name, item_id)
        else:
            def handler(request: Request, name=name) -> Response:
                return page(request, name)
        router.add_api_route(path, handler, methods=["GET"], include_in_schema=False)
    app.include_router(router)
