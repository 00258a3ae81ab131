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

from fastapi import APIRouter, Depends, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from speleo.errors import InputError, ThrottledError
from speleo.ops.history import SearchHistory
from speleo.ops.saved import API_OWNER, SavedSearches
from speleo.ops.sessions import SessionStore, WebSession
from speleo.ops.users import User, Users
from speleo.server.access import EDIT_LOOKUPS, SEARCH, Principal, require, search_guard
from speleo.server.audit import audit, client_address
from speleo.server.throttle import LoginThrottle, sign_in
from speleo.web import search_api
from speleo.web import source as source_view
from speleo.web.jobs import Jobs, add_waiter, remove_waiter
from speleo.web.sessions import COOKIE, LOGIN_COOKIE, Sessions, cookie_flags, csrf_ok, ensure_secret

STATIC = resources.files("speleo.web") / "static"
# npm installs the charting library here (`make`: cd src/speleo/web && npm ci); absent -> SVG charts
NODE_MODULES = Path(__file__).resolve().parent / "node_modules"
VENDOR = {"chart.js": NODE_MODULES / "chart.js" / "dist"}
CHART_JS = "/static/vendor/chart.js/chart.umd.min.js"
MAX_JOB_WAIT_SECS = 10.0   # GET /web/api/jobs/{id}?wait= at most
MAX_WAITS_PER_USER = 32    # long polls one user may hold open at once; more answer at once


def vendor_available() -> bool:
    """Chart.js is installed (SPELEO_WEB_NO_VENDOR=1 forces the SVG fallback, for tests)."""
    return not os.environ.get("SPELEO_WEB_NO_VENDOR") and (VENDOR["chart.js"] / "chart.umd.min.js").is_file()


@dataclass
class Web:
    users: Users
    sessions: Sessions
    throttle: LoginThrottle

    def session(self, request: Request) -> tuple[User, WebSession] | None:
        """The signed-in, enabled user and the live server-side session of a request, or None."""
        session = self.sessions.find(request.cookies.get(COOKIE))
        if session is None:
            return None
        user = self.users.get(session.user_id)
        if user is None or user.disabled:
            return None
        return user, session

    @staticmethod
    def csrf_ok(session: WebSession, presented: str | None) -> bool:
        return csrf_ok(session, presented)


SITE_NAV = (("/", "Search"), ("/dashboards", "Dashboards"), ("/overview", "Overview"), ("/alerts", "Alerts"),
            ("/incidents", "Incidents"), ("/problems", "Problems"), ("/status", "Status"), ("/oncall", "On-call"),
            ("/postmortems", "Post-mortems"), ("/actions", "Actions"), ("/checklists", "Checklists"),
            ("/reports/response", "Reports"), ("/indexes", "Indexes"), ("/jobs", "Jobs"), ("/admin", "Admin"))


def site_nav(path: str) -> str:
    """The one navigation bar of every signed-in page, the link of `path`'s section marked current."""
    section = "/dashboards" if path.startswith("/app/dashboards/") else \
        "/reports/response" if path.startswith("/reports/") else path
    links = []
    for href, label in SITE_NAV:
        here = section == href or (href != "/" and section.startswith(href + "/"))
        badge = ' <span id="fired-count" class="badge"></span>' if href == "/alerts" else ""
        current = ' aria-current="page"' if here else ""
        links.append(f'<a href="{href}"{current}>{label}{badge}</a>')
    return "".join(links)


def _page(name: str, raw: dict | None = None, path: str = "", **values: str) -> HTMLResponse:
    """A static page with its `{{placeholders}}` filled (values escaped, `raw` markup as is) and
    the site's navigation bar for `path` in `{{site_nav}}`."""
    text = (STATIC / name).read_text(encoding="utf-8").replace("{{site_nav}}", site_nav(path))
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


async def _search_request(request: Request):
    """The body of a web search as the search API's `SearchRequest`. Raises InputError."""
    from pydantic import ValidationError

    from speleo.server.app import SearchRequest

    try:
        body = await request.json()
        return SearchRequest(**body) if isinstance(body, dict) else SearchRequest.model_validate(body)
    except (ValueError, ValidationError) as e:
        raise InputError(f"send a JSON object like the search API's: {{search, earliest, latest, limit}} ({e})") from None


def install(app: FastAPI, runtime, admin_password: str | None = None) -> Web:
    """Add the web routes to `app`; creates the first admin when there is no user: with
    `admin_password` when given (`speleo serve --admin-password-file`), else a random password
    printed once on standard output."""
    home = runtime.home
    users = Users(home)
    given = admin_password or getattr(runtime, "admin_password", None)   # speleo serve --admin-password-file
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
    clock = runtime.clock
    web = Web(users, Sessions(ensure_secret(home), SessionStore(users.db, clock)), LoginThrottle(clock))
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
        """Sign in. Failures are throttled per account and per client address (429 with
        Retry-After) and every attempt goes to the audit trail (never the password)."""
        if not web.sessions.login_ok(request.cookies.get(LOGIN_COOKIE), csrf):
            return login_page(request, "The form expired; please sign in again.", 400)
        src = client_address(request)
        name = name.strip()[:64]
        try:
            user = await asyncio.to_thread(sign_in, runtime, web, name, password, src, "web")
        except ThrottledError as e:
            resp = login_page(request, f"Too many failed sign-ins; try again in {e.retry_after} seconds.", 429)
            resp.headers["Retry-After"] = str(e.retry_after)
            return resp
        if user is None:
            return login_page(request, "Wrong user name or password.", 401)
        value, session = web.sessions.issue(user.id, src)
        audit(runtime, user.name, "login attempt", info="succeeded", src=src, session=session.key[:16])
        resp = RedirectResponse(_safe_next(next), status_code=303)
        resp.set_cookie(COOKIE, value, max_age=web.sessions.max_age, **cookie_flags(request))
        resp.delete_cookie(LOGIN_COOKIE, path="/")
        return resp

    @router.post("/logout", include_in_schema=False)
    async def logout(request: Request, csrf: str = Form("")) -> Response:
        """Sign out: the server-side session is revoked, so a copy of the cookie is worthless."""
        found = web.session(request)
        if found is None or not csrf_ok(found[1], csrf):
            return RedirectResponse("/login", status_code=303)
        web.sessions.revoke(request.cookies.get(COOKIE), "logout")
        audit(runtime, found[0].name, "logout", info="succeeded", src=client_address(request),
              session=found[1].key[:16])
        resp = RedirectResponse("/login", status_code=303)
        resp.delete_cookie(COOKIE, path="/")
        return resp

    def signed_in_page(request: Request, name: str) -> Response:
        found = web.session(request)
        if found is None:
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse("/login?next=" + quote(target, safe=""), status_code=303)
        user, session = found
        scripts = f'<script src="{CHART_JS}"></script>' if vendor_available() else ""
        return _page(name, raw={"vendor_scripts": scripts}, path=request.url.path, csrf=session.csrf, user=user.name,
                     role=", ".join(user.roles))

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

    @router.get("/oncall", include_in_schema=False)
    async def oncall_page(request: Request) -> Response:
        """On-call: who is on call now, a schedule's week/month calendar, policies (static/oncall.js)."""
        return signed_in_page(request, "oncall.html")

    @router.get("/alerts", include_in_schema=False)
    async def alerts_page(request: Request) -> Response:
        """Saved searches and alerts, their history and fired alerts (over the Splunk REST routes)."""
        return signed_in_page(request, "alerts.html")

    @router.get("/postmortems", include_in_schema=False)
    @router.get("/actions", include_in_schema=False)
    @router.get("/checklists", include_in_schema=False)
    async def learning_page(request: Request) -> Response:
        """Post-mortems (phase and gate), the action backlog, checklist runs (static/learning.js)."""
        return signed_in_page(request, "learning.html")

    @router.get("/reports/{kind}", include_in_schema=False)
    async def report_page(request: Request, kind: str) -> Response:
        """The report pages (static/reports.js over /api/v1/reports/KIND; an unknown KIND shows
        the response report); printable."""
        return signed_in_page(request, "reports.html")

    @router.get("/dashboards", include_in_schema=False)
    async def dashboards_page(request: Request) -> Response:
        """The dashboards list (static/dashboards.js over /api/v1/dashboards)."""
        return signed_in_page(request, "dashboards.html")

    @router.get("/app/dashboards/{name}", include_in_schema=False)
    async def dashboard_page(request: Request, name: str) -> Response:
        """One dashboard (static/dashboard.js); a stable URL that headless Chromium prints."""
        return signed_in_page(request, "dashboard.html")

    @router.post("/web/api/search", include_in_schema=False)
    async def web_search(request: Request, who: Principal = Depends(require(SEARCH))) -> JSONResponse:
        """The search API's answer, each event with its search-time fields added."""
        from speleo.server.app import run_search

        req = await _search_request(request)
        body = await run_search(runtime, who, req, client_address(request))
        return JSONResponse(body)

    # -- search jobs ------------------------------------------------------------------------
    jobs = Jobs(svc, clock=runtime.clock.time)
    app.state.web_jobs = jobs
    waiting: dict[int, int] = {}   # user id -> long polls open (the event loop's thread only)
    history = SearchHistory(users.engine)
    search_api.install(router, runtime, history)   # /web/api/history, /web/api/live (real-time)

    @router.post("/web/api/jobs", include_in_schema=False, status_code=202)
    async def job_start(request: Request, who: Principal = Depends(require(SEARCH))) -> JSONResponse:
        """Start a search job: the search API's body, plus `base_job` (run `search`, starting
        with `|`, over that job's result: post-process), `keep` (keep the result for
        post-processes), `share` (reuse an identical job of the last 30 s: dashboards) and
        `after` (reuse only a job opened after this time: a refresh wants newer results)."""
        req = await _search_request(request)
        extra = await request.json()
        src = client_address(request)

        remember = bool(extra.get("history"))   # the search page's own searches (not dashboards' panels)

        def finished(job) -> None:
            audit(runtime, who, "search", info=job.state, search=job.search, search_et=job.earliest,
                  search_lt=job.latest, total_run_time=round((job.finished or job.started) - job.started, 3),
                  result_count=job.total, search_id=job.id, src=src, via_jobs=1)
            if remember:
                search_api.record_run(history, job, req.earliest, req.latest)

        if extra.get("base_job"):
            job = jobs.start_chain(who.user_id, str(extra["base_job"]), req.search, req.limit, on_finished=finished,
                                   check=search_guard(who), share_extra=tuple(sorted(who.capabilities)))
            return JSONResponse(await asyncio.to_thread(job.to_dict), status_code=202)
        earliest, latest = runtime.time_bounds(req.earliest, req.latest, req.now)
        key = None
        if extra.get("share"):   # the range as written: "-24h" asked twice is the same search
            key = (req.search, str(req.earliest), str(req.latest), req.now, req.limit, repr(who.scope()),
                   tuple(sorted(who.capabilities)))
        job = jobs.start(who.user_id, req.search, earliest, latest, req.limit, req.now, scope=who.scope(),
                         write_lookups=who.can(EDIT_LOOKUPS), on_finished=finished,
                         check=search_guard(who), share_key=key, keep=bool(extra.get("keep")),
                         after=float(extra["after"]) if isinstance(extra.get("after"), (int, float)) else None)
        return JSONResponse(await asyncio.to_thread(job.to_dict), status_code=202)

    @router.get("/web/api/jobs/{job_id}", include_in_schema=False)
    async def job_get(job_id: str, wait: float = 0.0, who: Principal = Depends(require(SEARCH))) -> JSONResponse:
        """A job's state and result. `wait` (seconds, at most 10): answer when the job ends or
        that time passed, whichever comes first (a long poll: a page learns of the end at once
        without asking four times a second)."""
        job = jobs.get(who.user_id, job_id)
        wait = min(wait, MAX_JOB_WAIT_SECS) if wait > 0 else 0.0   # nan and negative: no wait
        if wait and not job.ended.is_set() and waiting.get(who.user_id, 0) < MAX_WAITS_PER_USER:
            waiting[who.user_id] = waiting.get(who.user_id, 0) + 1
            loop, ended = asyncio.get_running_loop(), asyncio.Event()
            add_waiter(job, loop, ended)
            try:
                await asyncio.wait_for(ended.wait(), wait)
            except asyncio.TimeoutError:
                pass
            finally:
                remove_waiter(job, loop, ended)
                waiting[who.user_id] -= 1
        return JSONResponse(await asyncio.to_thread(job.to_dict))   # a partial result is converted here

    @router.delete("/web/api/jobs/{job_id}", include_in_schema=False)
    async def job_cancel(job_id: str, who: Principal = Depends(require(SEARCH))) -> JSONResponse:
        return JSONResponse(jobs.cancel(who.user_id, job_id).to_dict())

    @router.get("/web/api/jobs", include_in_schema=False)
    async def job_list(who: Principal = Depends(require(SEARCH))) -> JSONResponse:
        """Your running and recent search jobs (the jobs page)."""
        return JSONResponse({"jobs": jobs.summaries(who.user_id)})

    @router.get("/web/api/jobs/{job_id}/rows", include_in_schema=False)
    async def job_rows(job_id: str, offset: int = 0, count: int = 50,
                       who: Principal = Depends(require(SEARCH))) -> JSONResponse:
        """Any page of a done job's events or results (not only the first 1,000)."""
        return JSONResponse(await asyncio.to_thread(jobs.rows, who.user_id, job_id, offset, count))

    @router.get("/web/api/jobs/{job_id}/export", include_in_schema=False)
    async def job_export(job_id: str, format: str = "csv", internal: bool = False,
                         who: Principal = Depends(require(SEARCH))) -> Response:
        """Every row of a done job, streamed as CSV or JSON lines (a download)."""
        from fastapi.responses import StreamingResponse

        chunks = jobs.export(who.user_id, job_id, format, internal)
        media = "text/csv" if format == "csv" else "application/x-ndjson"
        name = f"speleo-{job_id}.{'csv' if format == 'csv' else 'jsonl'}"
        return StreamingResponse(chunks, media_type=media,
                                 headers={"Content-Disposition": f'attachment; filename="{name}"'})

    @router.get("/web/api/jobs/{job_id}/summary", include_in_schema=False)
    async def job_summary(job_id: str, who: Principal = Depends(require(SEARCH))) -> JSONResponse:
        """Field summaries over the job's matching events (or a labelled sample)."""
        return JSONResponse(await asyncio.to_thread(jobs.summary, who.user_id, job_id))

    @router.get("/web/api/jobs/{job_id}/inspect", include_in_schema=False)
    async def job_inspect(job_id: str, who: Principal = Depends(require(SEARCH))) -> JSONResponse:
        """The job inspector: phases, buckets and row groups, the SQL, the search log."""
        return JSONResponse(jobs.inspect(who.user_id, job_id))

    @router.get("/admin", include_in_schema=False)
    async def admin_page(request: Request) -> Response:
        """Data inputs, uploads, HEC tokens, users and roles (static/admin.js)."""
        return signed_in_page(request, "admin.html")

    @router.get("/jobs", include_in_schema=False)
    async def jobs_page(request: Request) -> Response:
        """Your search jobs and the inspector of each (static/jobs.js)."""
        return signed_in_page(request, "jobs.html")

    # -- show source ------------------------------------------------------------------------
    @router.get("/web/api/source", include_in_schema=False)
    async def show_source(index: str, source: str, offset: int, time: float | None = None, lines: int = 10,
                          who: Principal = Depends(require(SEARCH))) -> JSONResponse:
        body = await asyncio.to_thread(source_view.context, svc, index, source, offset, time, lines, who.scope())
        return JSONResponse(body)

    # -- saved searches (session or API token) ----------------------------------------------
    saved = SavedSearches(users)

    def owner_of(who: Principal) -> tuple[int, bool]:
        """(owner id, whether the caller sees everyone's: the API token)."""
        return (API_OWNER, True) if who.via == "token" else (who.user_id, False)

    def saved_dict(s, names: dict) -> dict:
        d = s.to_dict()
        d["owner"] = "api token" if s.owner_id == API_OWNER else names.get(s.owner_id, f"user {s.owner_id}")
        return d

    @router.get("/api/v1/saved-searches", tags=["saved searches"])
    async def saved_list(who: Principal = Depends(require(SEARCH))) -> dict:
        """Your saved searches (with the API token: everyone's)."""
        owner, token = owner_of(who)
        names = {u.id: u.name for u in users.list()}
        return {"saved_searches": [saved_dict(s, names) for s in saved.list(None if token else owner)]}

    @router.post("/api/v1/saved-searches", tags=["saved searches"], status_code=201)
    async def saved_create(request: Request, who: Principal = Depends(require(SEARCH))) -> JSONResponse:
        """Save {name, search, earliest?, latest?, replace?}; names are unique per owner (409)."""
        owner, _ = owner_of(who)
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
    async def saved_get(saved_id: int, who: Principal = Depends(require(SEARCH))) -> dict:
        owner, token = owner_of(who)
        names = {u.id: u.name for u in users.list()}
        return saved_dict(saved.get(None if token else owner, saved_id), names)

    @router.delete("/api/v1/saved-searches/{saved_id}", tags=["saved searches"], status_code=204)
    async def saved_delete(saved_id: int, who: Principal = Depends(require(SEARCH))) -> Response:
        owner, token = owner_of(who)
        saved.delete(None if token else owner, saved_id)
        from speleo.alerts.artifacts import Artifacts

        Artifacts.for_home(runtime.home).forget(saved_id)   # its scheduled runs' kept results (| loadjob) go too
        return Response(status_code=204)

    from speleo.web import reports  # the `report` alert action (scheduled PDF/PNG/CSV reports)

    reports.install(runtime, web)
    app.include_router(router)
    app.mount("/ui", StaticFiles(directory=str(STATIC)), name="ui")
    for name, folder in VENDOR.items():  # only each package's dist folder, not all of node_modules
        if folder.is_dir():
            app.mount(f"/static/vendor/{name}", StaticFiles(directory=str(folder)), name=f"vendor-{name}")
    return web

