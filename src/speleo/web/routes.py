"""Routes of the web interface: /login, /logout, / (search), /overview, /web/api/search."""

from __future__ import annotations

import asyncio
import html
import sys
from dataclasses import dataclass
from importlib import resources
from urllib.parse import quote

from fastapi import APIRouter, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from speleo import sourcetypes
from speleo.errors import AuthError
from speleo.query import results
from speleo.query.timefmt import local_zone
from speleo.web.sessions import COOKIE, LOGIN_COOKIE, Sessions, cookie_flags, csrf_ok, ensure_secret
from speleo.web.users import User, Users

STATIC = resources.files("speleo.web") / "static"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


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


def _page(name: str, **values: str) -> HTMLResponse:
    text = (STATIC / name).read_text(encoding="utf-8")
    for k, v in values.items():
        text = text.replace("{{" + k + "}}", html.escape(v, quote=True))
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
    password = users.ensure_first_admin()
    if password:
        # standard output only, once: never logged, never stored in clear
        print(f"First start: created web user 'admin' with password: {password}\n"
              "  (shown only this once; change it with 'speleo user passwd admin --password-stdin')",
              file=sys.stdout, flush=True)
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
        return _page(name, csrf=data["csrf"], user=user.name, role=user.role)

    @router.get("/", include_in_schema=False)
    async def search_page(request: Request) -> Response:
        return signed_in_page(request, "search.html")

    @router.get("/overview", include_in_schema=False)
    async def overview_page(request: Request) -> Response:
        return signed_in_page(request, "overview.html")

    @router.post("/web/api/search", include_in_schema=False)
    async def web_search(request: Request) -> JSONResponse:
        """The search API's answer, each event with its search-time fields added (session only)."""
        if not web.session_ok(request):
            raise AuthError("sign in first (session cookie and X-CSRF-Token header)")
        from speleo.server.app import SearchRequest

        req = SearchRequest(**(await request.json()))
        earliest, latest = runtime.time_bounds(req.earliest, req.latest, req.now)
        result = await asyncio.to_thread(svc.search, req.search, earliest, latest, req.limit, req.now)
        body = results.to_json(result, local_zone(svc.home.settings.default_tz))
        if body["kind"] == "events":
            await asyncio.to_thread(_add_extracted, body)
        return JSONResponse(body)

    app.include_router(router)
    app.mount("/ui", StaticFiles(directory=str(STATIC)), name="ui")
    return web


def _add_extracted(body: dict) -> None:
    names = list(body["fields"])
    seen = set(names)
    for ev in body["events"]:
        raw, st = ev.get("_raw"), ev.get("sourcetype")
        if not isinstance(raw, str) or not st:
            continue
        for k, v in sourcetypes.extract_fields(raw, st).items():
            if k not in ev:
                ev[k] = v
            if k not in seen:
                seen.add(k)
                names.append(k)
    body["fields"] = names
