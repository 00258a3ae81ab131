"""The users and roles API: `/api/v1/users` (capability `edit_user`), `/api/v1/roles`
(`edit_roles`), and `/api/v1/me` (any signed-in caller: who am I, what may I do).

Every change goes to the audit trail (`speleo.server.audit`, actions `edit_user` and
`edit_roles`) and to the operations database's change history. Passwords travel only in
request bodies and are never echoed, logged or audited. The CLI's `speleo user` and
`speleo role` commands call these routes when a server runs.
"""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from speleo.errors import ForbiddenError, InputError, ThrottledError
from speleo.ops.roles import CAPABILITIES, LIMITS
from speleo.query.scope import matches
from speleo.server.access import EDIT_ROLES, EDIT_USER, SEARCH, Principal, require
from speleo.server.audit import audit, client_address


class NewUser(BaseModel):
    name: str
    roles: list[str] = Field(default_factory=lambda: ["user"])
    password: str


class UserChange(BaseModel):
    roles: list[str] | None = None
    disabled: bool | None = None
    password: str | None = None


class PasswordChange(BaseModel):
    current: str
    new: str


class RoleBody(BaseModel):
    name: str | None = None
    capabilities: list[str] | None = None
    importRoles: list[str] | None = None
    srchIndexesAllowed: list[str] | None = None
    srchIndexesDefault: list[str] | None = None
    # search limits (speleo.ops.roles.LIMITS): a number, or text with a unit ("10m", "2GB"); null removes it
    srchMaxTime: float | str | None = None
    srchJobsQuota: int | str | None = None
    srchMaxRowsRead: int | str | None = None
    srchMaxMemory: int | str | None = None

    def limits(self) -> dict:
        """The limits the body names (a limit sent as null is removed; one left out is unchanged)."""
        return {k: getattr(self, k) for k in LIMITS if k in self.model_fields_set}


def limits_dict(limits) -> dict:
    """A `SearchLimits` as the API shows it (0: no limit)."""
    return {"srchMaxTime": limits.max_time_secs, "srchJobsQuota": limits.jobs_quota,
            "srchMaxRowsRead": limits.max_rows_read, "srchMaxMemory": limits.max_memory_bytes}


def router(runtime, web) -> APIRouter:
    """The routes over the web's `Users` (and its roles)."""
    users, roles = web.users, web.users.roles
    r = APIRouter(tags=["users and roles"])

    def changed(who: Principal, request: Request, action: str, info: str, **fields) -> None:
        audit(runtime, who, action, info=info, src=client_address(request), **fields)

    @r.get("/api/v1/me")
    async def me(who: Principal = Depends(require(SEARCH))) -> dict:
        """The caller: name, roles, capabilities and the index patterns it may search."""
        return {"name": who.name, "roles": list(who.roles), "capabilities": sorted(who.capabilities),
                "srchIndexesAllowed": None if who.allowed is None else list(who.allowed),
                "srchIndexesDefault": list(who.default), "auth": who.via, "limits": limits_dict(who.limits)}

    @r.post("/api/v1/me/password")
    async def change_own_password(body: PasswordChange, request: Request,
                                  who: Principal = Depends(require(SEARCH))) -> dict:
        """A signed-in user changes its own password (the current one is checked, and throttled
        like a sign-in); every session of the user ends, this one too. Raises ThrottledError,
        ForbiddenError (wrong current password), InputError."""
        if who.via != "session":
            raise InputError("the API token is no user's; an admin sets passwords with PATCH /api/v1/users/{name}")
        src = client_address(request)
        keys = web.throttle.keys(who.name, src)
        wait = web.throttle.retry_after(keys)
        if wait:
            raise ThrottledError(f"too many wrong passwords; try again in {wait} seconds", wait)
        if await asyncio.to_thread(users.authenticate, who.name, body.current) is None:
            web.throttle.failed(keys)
            changed(who, request, "edit_user", "password change failed", object=who.name, reason="wrong password")
            raise ForbiddenError("the current password is wrong")
        ended = await asyncio.to_thread(users.set_password, who.name, body.new, who.name)
        changed(who, request, "edit_user", "password changed", object=who.name, sessions_ended=ended)
        return {"name": who.name, "sessions_ended": ended}

    @r.get("/api/v1/users")
    async def list_users(_: Principal = Depends(require(EDIT_USER))) -> dict:
        out = []
        for u in users.list():
            d = u.to_dict()
            d["sessions"] = users.sessions.live_count(u.id)
            out.append(d)
        return {"users": out}

    def grantable(who: Principal, names: list[str]) -> None:
        """No one without `edit_roles` gives more than they hold: the capabilities and searchable
        indexes of the roles granted (with what they import) must be the caller's own. A caller
        with `edit_roles` may grant any role, as Splunk's admin may (it could make such a role
        anyway; Splunk authorize.conf: grantableRoles, which Speleo does not have). Raises
        ForbiddenError."""
        if who.can(EDIT_ROLES):
            return
        g = roles.grant(list(names))
        extra = sorted(set(g.capabilities) - set(who.capabilities))
        if extra:
            raise ForbiddenError(f"'{who.name}' may not grant {', '.join(names)}: it carries capabilities "
                                 f"'{who.name}' does not hold ({', '.join(extra)})")
        mine = who.scope()
        if mine is not None and any(not any(matches(p, a) for a in mine.allowed) for p in g.allowed):
            raise ForbiddenError(f"'{who.name}' may not grant {', '.join(names)}: it searches indexes "
                                 f"({', '.join(g.allowed)}) beyond those '{who.name}' may ({', '.join(mine.allowed)})")

    @r.post("/api/v1/users", status_code=201)
    async def add_user(body: NewUser, request: Request, who: Principal = Depends(require(EDIT_USER))) -> dict:
        grantable(who, body.roles)
        u = await asyncio.to_thread(users.add, body.name, body.roles, body.password, who.name)
        changed(who, request, "edit_user", "created", object=u.name, roles=list(u.roles))
        return u.to_dict()

    @r.patch("/api/v1/users/{name}")
    async def change_user(name: str, body: UserChange, request: Request,
                          who: Principal = Depends(require(EDIT_USER))) -> dict:
        """Change roles, disable/enable, or set the password (the last two end the user's sessions)."""
        ended = 0
        if body.roles is not None:
            grantable(who, body.roles)
            users.set_roles(name, body.roles, who.name)
            changed(who, request, "edit_user", "roles changed", object=name, roles=body.roles)
        if body.disabled is not None:
            ended += users.set_disabled(name, body.disabled, who.name)
            changed(who, request, "edit_user", "disabled" if body.disabled else "enabled", object=name)
        if body.password is not None:
            ended += await asyncio.to_thread(users.set_password, name, body.password, who.name)
            changed(who, request, "edit_user", "password changed", object=name)
        d = users.by_name(name).to_dict()
        d["sessions_ended"] = ended
        return d

    @r.post("/api/v1/users/{name}/signout")
    async def sign_out(name: str, request: Request, who: Principal = Depends(require(EDIT_USER))) -> dict:
        """End every session of the user ("sign out everywhere")."""
        n = users.sign_out(name, who.name)
        changed(who, request, "edit_user", "signed out everywhere", object=name, sessions_ended=n)
        return {"name": name, "sessions_ended": n}

    @r.get("/api/v1/roles")
    async def list_roles(_: Principal = Depends(require(EDIT_ROLES))) -> dict:
        """Every role, and `capabilities`: every capability a role may grant (Splunk's names)."""
        return {"roles": [x.to_dict() for x in roles.list()], "capabilities": sorted(CAPABILITIES)}

    @r.get("/api/v1/roles/{name}")
    async def show_role(name: str, _: Principal = Depends(require(EDIT_ROLES))) -> dict:
        d = roles.get(name).to_dict()
        g = roles.grant([name])
        d["effective"] = {"capabilities": sorted(g.capabilities), "srchIndexesAllowed": list(g.allowed),
                          "srchIndexesDefault": list(g.default), "limits": limits_dict(g.limits)}
        return d

    @r.post("/api/v1/roles", status_code=201)
    async def create_role(body: RoleBody, request: Request, who: Principal = Depends(require(EDIT_ROLES))) -> dict:
        role = roles.create(body.name or "", body.capabilities or [], body.importRoles or [],
                            body.srchIndexesAllowed or [], body.srchIndexesDefault or [], who.name,
                            limits=body.limits())
        changed(who, request, "edit_roles", "created", object=role.name, **_flat(role.to_dict()))
        return role.to_dict()

    @r.patch("/api/v1/roles/{name}")
    async def edit_role(name: str, body: RoleBody, request: Request,
                        who: Principal = Depends(require(EDIT_ROLES))) -> dict:
        role, diff = roles.edit(name, capabilities=body.capabilities, import_roles=body.importRoles,
                                allowed=body.srchIndexesAllowed, default=body.srchIndexesDefault, actor=who.name,
                                limits=body.limits() or None)
        if diff:
            changed(who, request, "edit_roles", "changed", object=name,
                    **{f"{k}_new": v[1] for k, v in diff.items()}, **{f"{k}_old": v[0] for k, v in diff.items()})
        return role.to_dict()

    @r.delete("/api/v1/roles/{name}", status_code=204)
    async def remove_role(name: str, request: Request, who: Principal = Depends(require(EDIT_ROLES))) -> Response:
        roles.remove(name, who.name)
        changed(who, request, "edit_roles", "removed", object=name)
        return Response(status_code=204)

    return r


def _flat(d: dict) -> dict:
    return {k: v for k, v in d.items() if k not in ("name", "builtin")}
