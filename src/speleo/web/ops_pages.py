"""The operations pages: incidents list and incident page (timeline, roles, plan of attack with
the time-box countdown, diagnostics, stakeholder updates), problems list and problem page, and
the read-only status page. Static HTML + JavaScript in `static/` over `/api/v1/incidents`,
`/api/v1/problems` and `/api/v1/status-page`; a signed-in session is needed (else the sign-in
page), and the API routes check each capability."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import RedirectResponse, Response

PAGES = {"/incidents": "incidents.html", "/incidents/{item_id}": "incident.html", "/problems": "problems.html",
         "/problems/{item_id}": "problem.html", "/status": "status.html"}


def install(app: FastAPI) -> None:
    """Add the pages to `app` (the web's sessions are read from `app.state.web` per request)."""
    from speleo.web.routes import _page

    router = APIRouter()

    def page(request: Request, name: str, item_id: int | None = None) -> Response:
        found = app.state.web.session(request)
        if found is None:
            target = request.url.path
            return RedirectResponse("/login?next=" + quote(target, safe=""), status_code=303)
        user, session = found
        return _page(name, csrf=session.csrf, user=user.name, item=str(item_id or ""))

    for path, name in PAGES.items():
        if "{item_id}" in path:
            def handler(request: Request, item_id: int, name=name) -> Response:
                return page(request, name, item_id)
        else:
            def handler(request: Request, name=name) -> Response:
                return page(request, name)
        router.add_api_route(path, handler, methods=["GET"], include_in_schema=False)
    app.include_router(router)
