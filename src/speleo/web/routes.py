"""Routes of the web interface: /login, /logout, / (search), /overview, /web/api/search,
/web/api/jobs (search jobs), /web/api/source ("show source"), /api/v1/saved-searches and
/static/vendor/ (front-end packages installed by npm into src/speleo/web/node_modules)."""

from __future__ import annotations

import asyncio
import html
import os
import sys
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from urllib.parse import quote

from fastapi import APIRouter, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from speleo.errors import AuthError, InputError
from speleo.query import results
from speleo.query.timefmt import local_zone
from speleo.server.access import search_guard, session_principal
from speleo.server.auth import bearer, digest, token_matches
from speleo.web import source as source_view
from speleo.web.jobs import Jobs
from speleo.ops.saved import API_OWNER, SavedSearches
from speleo.web.sessions import COOKIE, LOGIN_COOKIE, Sessions, cookie_flags, csrf_ok, ensure_secret
from speleo.ops.users import User, Users

STATIC = resources.files("speleo.web") / "static"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
# npm installs the charting library here (`make`: cd src/speleo/web && npm ci); absent -> SVG charts
NODE_MODULES = Path(__file__).resolve().parent / "node_modules"
VENDOR = {"chart.js": NODE_MODULES / "chart.js" / "dist"}
CHART_JS = "/static/vendor/chart.js/chart.umd.min.js"


def vendor_available() -> bool:
    """Chart.js is installed (SPELEO_WEB_NO_VENDOR=1 forces the SVG fallback, for tests)."""
    return not os.environ.get("SPELEO_WEB_NO_VENDOR") and (VENDOR["chart.js"] / "chart.umd.min.js").is_file()


@dataclass
class Web:
    users: Users
    sessions: Sessions

    def session(self, request: Request) -> tuple[User, dict] | None:
        """The signed-in user and session data of a request, or None."""
        data = self.sessions.read(request.cookies.get(COOKIE))
        if data is None:
            return None
        user = self.users.get(int(data["uid"]))
        if user is None or user.password_changed != data.get("pwc"):
            return None
        return user, data

    def session_ok(self, request: Request) -> bool:
        """True for a valid session; state-changing methods also need the X-CSRF-Token header."""
        found = self.session(request)
        if found is None:
            return False
        return request.method in SAFE_METHODS or csrf_ok(found[1], request.headers.get("x-csrf-token"))


def _page(name: str, raw: dict | None = None, **values: str) -> HTMLResponse:
    text = (STATIC / name).read_text(encoding="utf-8")
    for k, v in values.items():
        text = text.replace("{{" + k + "}}", html.escape(v, quote=True))
    for k, v in (raw or {}).items():  # trusted markup written here, never user input
        text = text.replace("{{" + k + "}}", v)
    resp = HTMLResponse(text)
    resp.headers["Cache-Control"] = "no-store"
    resp.headers["X-Frame-Options"] = "DENY"
    resp.headers["Content-Security-Policy"] = (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'"
    )
    return resp


def _safe_next(target: str | None) -> str:
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def install(app: FastAPI, runtime) -> Web:
    """Add the web routes to `app`; creates the first admin (password printed once)."""
    home = runtime.home
    users = Users(home)
    given = getattr(runtime, "admin_password", None)   # speleo serve --admin-password-file
    password = users.ensure_first_admin(given)
    if password and given is None:
        # standard output only, once: never logged by Speleo, never stored in clear
        print(f"First start: created web user 'admin' with password: {password}\n"
              "  Shown only this once, but whatever keeps this output (journald, a log file, the terminal)\n"
              "  keeps the password too: change it now with 'speleo user passwd admin --password-stdin',\n"
              "  or start the first time with --admin-password-file FILE to never print it.",
              file=sys.stdout, flush=True)
    elif password:
        print("First start: created web user 'admin' with the password of --admin-password-file", flush=True)
    web = Web(users, Sessions(ensure_secret(home)))
    app.state.web = web
    svc = runtime.service
    router = APIRouter()

    def login_page(request: Request, error: str = "", status: int = 200) -> Response:
        cookie, token = web.sessions.login_token()
        resp = _page("login.html", csrf=token, next=_safe_next(request.query_params.get("next")), error=error)
        resp.status_code = status
        resp.set_cookie(LOGIN_COOKIE, cookie, max_age=3600, **cookie_flags(request))
        return resp

    @router.get("/login", include_in_schema=False)
    async def login_get(request: Request) -> Response:
        return login_page(request)

    @router.post("/login", include_in_schema=False)
    async def login_post(request: Request, name: str = Form(""), password: str = Form(""),
                         csrf: str = Form(""), next: str = Form("/")) -> Response:
        if not web.sessions.login_ok(request.cookies.get(LOGIN_COOKIE), csrf):
            return login_page(request, "The form expired; please sign in again.", 400)
        user = await asyncio.to_thread(users.authenticate, name, password)
        if user is None:
            return login_page(request, "Wrong user name or password.", 401)
        value, _ = web.sessions.issue(user.id, user.password_changed)
        resp = RedirectResponse(_safe_next(next), status_code=303)
        resp.set_cookie(COOKIE, value, max_age=7 * 24 * 3600, **cookie_flags(request))
        resp.delete_cookie(LOGIN_COOKIE, path="/")
        return resp

    @router.post("/logout", include_in_schema=False)
    async def logout(request: Request, csrf: str = Form("")) -> Response:
        found = web.session(request)
        if found is None or not csrf_ok(found[1], csrf):
            return RedirectResponse("/login", status_code=303)
        resp = RedirectResponse("/login", status_code=303)
        resp.delete_cookie(COOKIE, path="/")
        return resp

    def signed_in_page(request: Request, name: str) -> Response:
        found = web.session(request)
        if found is None:
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse("/login?next=" + quote(target, safe=""), status_code=303)
        user, data = found
        scripts = f'<script src="{CHART_JS}"></script>' if vendor_available() else ""
        return _page(name, raw={"vendor_scripts": scripts}, csrf=data["csrf"], user=user.name, role=user.role)

    @router.get("/favicon.ico", include_in_schema=False)
    async def favicon() -> Response:
        """The icon (SVG; browsers ask for /favicon.ico even when the page names none)."""
        return Response((STATIC / "favicon.svg").read_bytes(), media_type="image/svg+xml",
                        headers={"Cache-Control": "public, max-age=86400"})

    @router.get("/", include_in_schema=False)
    async def search_page(request: Request) -> Response:
        return signed_in_page(request, "search.html")

    @router.get("/overview", include_in_schema=False)
    async def overview_page(request: Request) -> Response:
        return signed_in_page(request, "overview.html")

    @router.get("/indexes", include_in_schema=False)
    async def indexes_page(request: Request) -> Response:
        """Indexes: settings, buckets, archives, retention, the licence record (static/indexes.js)."""
        return signed_in_page(request, "indexes.html")

    @router.get("/alerts", include_in_schema=False)
    async def alerts_page(request: Request) -> Response:
        """Saved searches and alerts, their history and fired alerts (over the Splunk REST routes)."""
        return signed_in_page(request, "alerts.html")

    def session_user(request: Request) -> User:
        """The signed-in user (state-changing methods need the X-CSRF-Token header too)."""
        found = web.session(request)
        if found is None or not web.session_ok(request):
            raise AuthError("sign in first (session cookie and X-CSRF-Token header)")
        return found[0]

    @router.post("/web/api/search", include_in_schema=False)
    async def web_search(request: Request) -> JSONResponse:
        """The search API's answer, each event with its search-time fields added (session only)."""
        user = session_user(request)
        from speleo.server.app import SearchRequest

        req = SearchRequest(**(await request.json()))
        earliest, latest = runtime.time_bounds(req.earliest, req.latest, req.now)
        result = await asyncio.to_thread(svc.search, req.search, earliest, latest, req.limit, req.now,
                                         check=search_guard(session_principal(user)))
        body = await asyncio.to_thread(results.to_json, result, local_zone(svc.home.settings.default_tz))
        return JSONResponse(body)

    # -- search jobs ------------------------------------------------------------------------
    jobs = Jobs(svc)
    app.state.web_jobs = jobs

    @router.post("/web/api/jobs", include_in_schema=False, status_code=202)
    async def job_start(request: Request) -> JSONResponse:
        user = session_user(request)
        from speleo.server.app import SearchRequest

        req = SearchRequest(**(await request.json()))
        earliest, latest = runtime.time_bounds(req.earliest, req.latest, req.now)
        job = jobs.start(user.id, req.search, earliest, latest, req.limit, req.now,
                         check=search_guard(session_principal(user)))
        return JSONResponse(job.to_dict(), status_code=202)

    @router.get("/web/api/jobs/{job_id}", include_in_schema=False)
    async def job_get(request: Request, job_id: str) -> JSONResponse:
        job = jobs.get(session_user(request).id, job_id)
        return JSONResponse(await asyncio.to_thread(job.to_dict))   # a partial result is converted here

    @router.delete("/web/api/jobs/{job_id}", include_in_schema=False)
    async def job_cancel(request: Request, job_id: str) -> JSONResponse:
        return JSONResponse(jobs.cancel(session_user(request).id, job_id).to_dict())

    # -- show source ------------------------------------------------------------------------
    @router.get("/web/api/source", include_in_schema=False)
    async def show_source(request: Request, index: str, source: str, offset: int,
                          time: float | None = None, lines: int = 10) -> JSONResponse:
        session_user(request)
        body = await asyncio.to_thread(source_view.context, svc, index, source, offset, time, lines)
        return JSONResponse(body)

    # -- saved searches (session or API token) ----------------------------------------------
    saved = SavedSearches(users)
    token_digest = digest(runtime.api_token)

    def owner_of(request: Request) -> tuple[int, bool]:
        """(owner id, whether the caller used the API token)."""
        if web.session_ok(request):
            return web.session(request)[0].id, False
        if token_matches(bearer(request.headers.get("authorization")), token_digest):
            return API_OWNER, True
        raise AuthError("missing or invalid API token (send 'Authorization: Bearer <token>') or session")

    def saved_dict(s, names: dict) -> dict:
        d = s.to_dict()
        d["owner"] = "api token" if s.owner_id == API_OWNER else names.get(s.owner_id, f"user {s.owner_id}")
        return d

    @router.get("/api/v1/saved-searches", tags=["saved searches"])
    async def saved_list(request: Request) -> dict:
        """Your saved searches (with the API token: everyone's)."""
        owner, token = owner_of(request)
        names = {u.id: u.name for u in users.list()}
        return {"saved_searches": [saved_dict(s, names) for s in saved.list(None if token else owner)]}

    @router.post("/api/v1/saved-searches", tags=["saved searches"], status_code=201)
    async def saved_create(request: Request) -> JSONResponse:
        """Save {name, search, earliest?, latest?, replace?}; names are unique per owner (409)."""
        owner, _ = owner_of(request)
        try:
            b = await request.json()
        except ValueError:
            raise InputError("send a JSON object {name, search, earliest, latest}") from None
        if not isinstance(b, dict):
            raise InputError("send a JSON object {name, search, earliest, latest}")
        s, created = saved.save(owner, str(b.get("name") or ""), str(b.get("search") or ""),
                                b.get("earliest"), b.get("latest"), bool(b.get("replace")))
        names = {u.id: u.name for u in users.list()}
        return JSONResponse(saved_dict(s, names), status_code=201 if created else 200)

    @router.get("/api/v1/saved-searches/{saved_id}", tags=["saved searches"])
    async def saved_get(request: Request, saved_id: int) -> dict:
        owner, token = owner_of(request)
        names = {u.id: u.name for u in users.list()}
        return saved_dict(saved.get(None if token else owner, saved_id), names)

    @router.delete("/api/v1/saved-searches/{saved_id}", tags=["saved searches"], status_code=204)
    async def saved_delete(request: Request, saved_id: int) -> Response:
        owner, token = owner_of(request)
        saved.delete(None if token else owner, saved_id)
        return Response(status_code=204)

    app.include_router(router)
    app.mount("/ui", StaticFiles(directory=str(STATIC)), name="ui")
    for name, folder in VENDOR.items():  # only each package's dist folder, not all of node_modules
        if folder.is_dir():
            app.mount(f"/static/vendor/{name}", StaticFiles(directory=str(folder)), name=f"vendor-{name}")
    return web

