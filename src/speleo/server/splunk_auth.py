"""Splunk REST authentication: `POST /services/auth/login` (session keys), the credentials of
`Authorization: Splunk <key>` and `Authorization: Basic ...`, `GET /services/server/info` and
`GET /services/authentication/current-context` (Splunk REST API reference, auth/login,
server/info, authentication/current-context; splunk-sdk-python's `binding.Context.login`), and
the users and roles as Splunk's feeds: `GET /services/authentication/users[/<name>]` (capability
`edit_user`, as `/api/v1/users`) and `GET /services/authorization/roles[/<name>]` (`edit_roles`,
as `/api/v1/roles`); Splunk REST API Reference, "Access endpoint descriptions":
authentication/users, authorization/roles. They never hold a password hash, a session or a token:
the users' records they are built from carry none (`speleo.ops.users.User`).

A session key is a server-side session of the operations database (`speleo.ops.sessions`, the
same sessions the web's cookies name: revocable, idle and absolute timeouts; "sign out
everywhere" ends them). Sent in a header, it needs no CSRF token (a browser never adds it on its
own). Failed logins, by form or by Basic auth, are throttled per account and client address as
the web's sign-in is (`server.throttle`; 429 with Retry-After) and go to the audit trail.

`server/info` reports version 9.2.0 (numbers only: the SDK passes each part to `int()`), which
makes splunk-sdk-python use the v2 search endpoints (`search/v2/jobs`, POST for results).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import platform
import socket
import time
from xml.sax.saxutils import escape

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import Response

from speleo.errors import AuthError
from speleo.server.access import EDIT_ROLES, EDIT_USER, SEARCH, Principal, require
from speleo.server.audit import audit, client_address
from speleo.server.splunk_envelope import SPLUNK_VERSION, entry, feed, form
from speleo.server.throttle import sign_in
from speleo.server.splunk_routing import SplunkRoute, add_routes


def header_credentials(header: str | None) -> tuple[str, str] | None:
    """(scheme, value) of an Authorization header: ("splunk"|"bearer", key) or ("basic", "user:pw")."""
    if not header:
        return None
    scheme, _, value = header.strip().partition(" ")
    scheme, value = scheme.lower(), value.strip()
    if not value:
        return None
    if scheme == "basic":
        try:
            return "basic", base64.b64decode(value, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
    if scheme in ("splunk", "bearer"):
        return scheme, value
    return None


def header_user(request: Request, web):
    """The enabled user of a request's `Authorization: Splunk|Bearer <session key>` or `Basic`
    header, or None. A wrong Basic password counts as a failed sign-in (throttled, audited)."""
    creds = header_credentials(request.headers.get("authorization"))
    if creds is None or web is None:
        return None
    scheme, value = creds
    if scheme in ("splunk", "bearer"):
        session = web.sessions.store.find(value)
        if session is None:
            return None
        user = web.users.get(session.user_id)
        return None if user is None or user.disabled else user
    name, _, password = value.partition(":")
    return check_password(request, web, name, password, "basic")


def check_password(request: Request, web, name: str, password: str, how: str):
    """The user when `password` is theirs (`server.throttle.sign_in`: throttled, failures
    audited); a `login` success is audited here. Raises ThrottledError (429)."""
    runtime = request.app.state.runtime
    src = client_address(request)
    user = sign_in(runtime, web, name.strip()[:64], password, src, how)
    if user is not None and how == "login":
        audit(runtime, user.name, "login attempt", info="succeeded", src=src, via=how)
    return user


class AuthRest:
    def __init__(self, runtime) -> None:
        self.rt = runtime

    async def login(self, request: Request) -> Response:
        """`username`, `password` (form, JSON or query) -> `<response><sessionKey>`; 401 when wrong."""
        params = await form(request)
        web = request.app.state.web
        user = await asyncio.to_thread(check_password, request, web, params.get("username", ""),
                                       params.get("password", ""), "login")
        if user is None:
            raise AuthError("Login failed: wrong user name or password")
        key, _ = web.sessions.store.create(user.id, client_address(request))
        if (params.get("output_mode") or "").lower() == "json":
            from fastapi.responses import JSONResponse

            return JSONResponse({"sessionKey": key, "message": "", "code": ""})
        return Response(f'<?xml version="1.0" encoding="UTF-8"?>\n<response>\n  <sessionKey>{escape(key)}'
                        "</sessionKey>\n</response>\n", media_type="text/xml; charset=utf-8")

    async def server_info(self, request: Request) -> Response:
        from speleo import __version__

        content = {"version": SPLUNK_VERSION, "build": f"speleo-{__version__}", "serverName": socket.gethostname(),
                   "product_type": "enterprise", "os_name": platform.system(),
                   "cpu_arch": platform.machine(), "guid": self.rt.home.root.name,
                   "startup_time": int(self.rt.started), "server_roles": ["indexer", "search_head"],
                   "isFree": False, "isTrial": False, "mode": "normal", "health_info": "green",
                   "speleo_version": __version__, "now": time.time()}
        base = str(request.base_url).rstrip("/")
        return feed(request, "server/info", [entry(base, "server/info", "server-info", content, "nobody", "system",
                                                   "system")])

    async def current_context(self, request: Request) -> Response:
        who: Principal = request.state.principal
        content = {"username": who.name, "realname": "", "email": "", "roles": list(who.roles),
                   "capabilities": sorted(who.capabilities), "defaultApp": "search", "type": "Speleo",
                   "auth": who.via}
        base = str(request.base_url).rstrip("/")
        return feed(request, "authentication/current-context",
                    [entry(base, "authentication/current-context", "context", content, who.name, "system", "user")])


    def _user_entry(self, request: Request, user) -> dict:
        """Splunk's user content: `roles`, `capabilities` (the roles' grant, imports applied),
        `defaultApp`, `realname`, `email`, `type`; Speleo's `disabled`."""
        web = request.app.state.web
        grant = web.users.roles.grant(user.roles)
        content = {"roles": list(user.roles), "capabilities": sorted(grant.capabilities), "defaultApp": "search",
                   "realname": "", "email": "", "type": "Speleo", "disabled": user.disabled}
        return entry(str(request.base_url).rstrip("/"), "authentication/users", user.name, content, "nobody",
                     "system", "system")

    async def users(self, request: Request) -> Response:
        web = request.app.state.web
        users = await asyncio.to_thread(web.users.list)
        return feed(request, "authentication/users", [self._user_entry(request, u) for u in users])

    async def user(self, request: Request, name: str) -> Response:
        """One user; NotFoundError (404) for an unknown name."""
        web = request.app.state.web
        user = await asyncio.to_thread(web.users.by_name, name)
        return feed(request, "authentication/users", [self._user_entry(request, user)])

    def _role_entry(self, request: Request, role) -> dict:
        """Splunk's role content: its own `capabilities`, `imported_roles`, `imported_capabilities`
        (what the imports add), `srchIndexesAllowed`, `srchIndexesDefault`, `imported_srchIndexesAllowed`,
        and each search limit the role sets (`srchJobsQuota`, `srchMaxTime`...)."""
        roles = request.app.state.web.users.roles
        grant = roles.grant([role.name])
        own = set(role.capabilities)
        content = {"capabilities": sorted(own), "imported_roles": list(role.import_roles),
                   "imported_capabilities": sorted(set(grant.capabilities) - own),
                   "srchIndexesAllowed": list(role.srch_indexes_allowed),
                   "srchIndexesDefault": list(role.srch_indexes_default),
                   "imported_srchIndexesAllowed": [p for p in grant.allowed if p not in role.srch_indexes_allowed],
                   "builtin": role.builtin, **dict(role.limits)}
        return entry(str(request.base_url).rstrip("/"), "authorization/roles", role.name, content, "nobody",
                     "system", "system")

    async def roles(self, request: Request) -> Response:
        roles = request.app.state.web.users.roles
        found = await asyncio.to_thread(roles.list)
        return feed(request, "authorization/roles", [self._role_entry(request, r) for r in found])

    async def role(self, request: Request, name: str) -> Response:
        """One role; NotFoundError (404) for an unknown name."""
        roles = request.app.state.web.users.roles
        found = await asyncio.to_thread(roles.get, name)
        return feed(request, "authorization/roles", [self._role_entry(request, found)])


def install(app: FastAPI, runtime) -> None:
    """Add the routes under `/services/` and `/servicesNS/{owner}/{app}/`."""
    app.state.runtime = runtime
    h = AuthRest(runtime)
    router = APIRouter(route_class=SplunkRoute)
    read = [Depends(require(SEARCH))]
    add_routes(router, [("auth/login", "POST", h.login, []),
                        ("server/info", "GET", h.server_info, read),
                        ("authentication/current-context", "GET", h.current_context, read),
                        ("authentication/users", "GET", h.users, [Depends(require(EDIT_USER))]),
                        ("authentication/users/{name}", "GET", h.user, [Depends(require(EDIT_USER))]),
                        ("authorization/roles", "GET", h.roles, [Depends(require(EDIT_ROLES))]),
                        ("authorization/roles/{name}", "GET", h.role, [Depends(require(EDIT_ROLES))])])
    app.include_router(router)
