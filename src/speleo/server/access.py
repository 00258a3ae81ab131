"""Who is asking, and may they: the one place the API and the web check access.

Every route declares what it needs with `Depends(require("capability"))`; the dependency
finds the principal (the API token, a signed-in browser session with its CSRF header for
state-changing methods, and later Splunk session keys) and refuses with 401 (nobody) or
403 (not allowed). Capability names follow Splunk's authorize.conf where Splunk has one
(`search`, `schedule_search`, `edit_monitor`, `edit_token_http`, `edit_user`, `indexes_edit`,
`delete_by_keyword`, `admin_all_objects`...).

The roles and their capabilities live in `ROLE_CAPABILITIES` until custom roles exist.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from fastapi import Request

from speleo.errors import AuthError, ForbiddenError
from speleo.server.auth import bearer, token_matches

# Splunk authorize.conf capability names (and Speleo's where Splunk has none)
SEARCH = "search"
SCHEDULE_SEARCH = "schedule_search"
EDIT_SAVED = "edit_saved_searches"   # any owner's saved searches and alerts
EDIT_MONITOR = "edit_monitor"        # monitor, fschange and oneshot inputs
EDIT_TOKEN_HTTP = "edit_token_http"  # HEC tokens
EDIT_USER = "edit_user"
INDEXES_EDIT = "indexes_edit"        # create, edit, delete indexes; retention; thaw
DELETE_BY_KEYWORD = "delete_by_keyword"  # `| delete` and purge: not even admin by default
EDIT_LOOKUPS = "edit_lookups"        # outputlookup, lookup file uploads
LIST_INPUTS = "list_inputs"
ADMIN_ALL = "admin_all_objects"
EDIT_INCIDENTS = "edit_incidents"  # Speleo: declare and change incidents (anyone may declare one)

USER_CAPS = frozenset({SEARCH, EDIT_INCIDENTS})
POWER_CAPS = USER_CAPS | {SCHEDULE_SEARCH, EDIT_LOOKUPS}
ADMIN_CAPS = POWER_CAPS | {EDIT_SAVED, EDIT_MONITOR, EDIT_TOKEN_HTTP, EDIT_USER, INDEXES_EDIT, LIST_INPUTS, ADMIN_ALL}
ROLE_CAPABILITIES: dict[str, frozenset[str]] = {"user": USER_CAPS, "power": POWER_CAPS, "admin": ADMIN_CAPS}
TOKEN_CAPS = ADMIN_CAPS  # the home's API token (file mode 0600) acts as an admin


@dataclass(frozen=True)
class Principal:
    """The authenticated caller: a user name (or "api-token"), its roles and capabilities."""

    name: str
    roles: tuple[str, ...]
    capabilities: frozenset[str]
    via: str  # "token" | "session"
    user_id: int = 0
    extra: dict = field(default_factory=dict, compare=False)

    def can(self, capability: str) -> bool:
        return capability in self.capabilities


def principal(request: Request) -> Principal | None:
    """The caller of a request, or None (no or bad credentials, or a session without CSRF)."""
    app = request.app
    if token_matches(bearer(request.headers.get("authorization")), app.state.token_digest):
        return Principal("api-token", ("admin",), TOKEN_CAPS, "token")
    web = getattr(app.state, "web", None)
    if web is None or not web.session_ok(request):
        return None
    user = web.session(request)[0]
    caps = ROLE_CAPABILITIES.get(user.role, USER_CAPS)
    return Principal(user.name, (user.role,), caps, "session", user.id)


def require(capability: str):
    """A FastAPI dependency: the principal, when it holds `capability`.

    Raises AuthError (401) without valid credentials, ForbiddenError (403) without the capability.
    """

    def dependency(request: Request) -> Principal:
        who = principal(request)
        if who is None:
            raise AuthError("missing or invalid API token (send 'Authorization: Bearer <token>') or session")
        if not who.can(capability):
            raise ForbiddenError(f"'{who.name}' lacks the capability '{capability}' needed here; ask an admin")
        request.state.principal = who
        return who

    dependency.capability = capability  # for the per-route access test
    return dependency
