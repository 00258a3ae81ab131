"""Who is asking, and may they: the one place the API and the web check access.

Every route declares what it needs with `Depends(require("capability"))`; the dependency
finds the principal (the API token, or a signed-in browser session with its CSRF header for
state-changing methods) and refuses with 401 (nobody) or 403 (not allowed). Capability names
follow Splunk's authorize.conf (`search`, `schedule_search`, `edit_monitor`, `edit_token_http`,
`edit_user`, `edit_roles`, `indexes_edit`, `delete_by_keyword`, `admin_all_objects`...; the
list is `speleo.ops.roles.CAPABILITIES`).

A session's capabilities and searchable indexes come from its user's roles, imports included
(`speleo.ops.roles.Roles.grant`), read on every request: a role edit or a revoked session counts
at once. The home's API token (file mode 0600, for the local CLI) acts as `admin` and may search
every index. `Principal.scope()` is what the query layer needs to restrict a search.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from speleo.errors import AuthError, ForbiddenError
from speleo.ops.roles import (  # noqa: F401 - the capability names, importable from here
    ADMIN_ALL, BUILTIN, CAPABILITIES, DELETE_BY_KEYWORD, EDIT_INCIDENTS, EDIT_LOOKUPS, EDIT_MONITOR, EDIT_ROLES, EDIT_SAVED,
    EDIT_TOKEN_HTTP, EDIT_USER, INDEXES_EDIT, LIST_INPUTS, SCHEDULE_SEARCH, SEARCH,
)
from speleo.query.scope import NO_LIMITS, IndexScope, SearchLimits
from speleo.server.auth import bearer, token_matches

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}

# The built-in roles' capabilities with imports applied, as shipped (a home may edit its roles).
USER_CAPS = frozenset(BUILTIN["user"][0])
POWER_CAPS = USER_CAPS | set(BUILTIN["power"][0])
ADMIN_CAPS = POWER_CAPS | set(BUILTIN["admin"][0])
ROLE_CAPABILITIES: dict[str, frozenset[str]] = {"user": USER_CAPS, "power": POWER_CAPS, "admin": ADMIN_CAPS}
TOKEN_CAPS = ADMIN_CAPS  # the home's API token acts as an admin

# Search commands that write, and the capability each needs (docs/decisions/0013-attack2-search-sinks.md):
# outputlookup writes a lookup file (edit_lookups); collect indexes events and sendemail mails
# anyone, the side effects of an alert action, so they need what scheduling an alert needs.
SINK_CAPABILITIES = {"outputlookup": EDIT_LOOKUPS, "outputcsv": EDIT_LOOKUPS, "collect": SCHEDULE_SEARCH,
                     "sendemail": SCHEDULE_SEARCH}


@dataclass(frozen=True)
class Principal:
    """The authenticated caller: a user name (or "api-token"), its roles, capabilities and
    index patterns (`allowed` None = every index)."""

    name: str
    roles: tuple[str, ...]
    capabilities: frozenset[str]
    via: str  # "token" | "session"
    user_id: int = 0
    allowed: tuple[str, ...] | None = None
    default: tuple[str, ...] = ("*",)
    session_key: str | None = None   # the stored hash of the session (safe to log)
    limits: SearchLimits = NO_LIMITS  # what one search of this caller may cost (its roles' limits)

    def can(self, capability: str) -> bool:
        return capability in self.capabilities

    def need(self, capability: str) -> None:
        """Raises ForbiddenError without `capability`."""
        if not self.can(capability):
            raise ForbiddenError(f"'{self.name}' lacks the capability '{capability}' needed here; ask an admin")

    def scope(self) -> IndexScope | None:
        """The indexes this caller may search (None: every index)."""
        return None if self.allowed is None else IndexScope(self.allowed, self.default, self.limits)


TOKEN_PRINCIPAL = Principal("api-token", ("admin",), TOKEN_CAPS, "token")


def principal(request: Request) -> Principal | None:
    """The caller of a request, or None (no or bad credentials, a disabled user, an ended
    session, or a session without its CSRF header on a state-changing method)."""
    app = request.app
    inproc = request.scope.get("speleo.rest_principal")   # `| rest` of a search (server.rest_command): its searcher
    if isinstance(inproc, Principal):
        return inproc
    if token_matches(bearer(request.headers.get("authorization")), app.state.token_digest):
        return TOKEN_PRINCIPAL
    web = getattr(app.state, "web", None)
    found = web.session(request) if web is not None else None
    if found is None:
        return _header_principal(request, web)
    user, session = found
    if request.method not in SAFE_METHODS and not web.csrf_ok(session, request.headers.get("x-csrf-token")):
        return None
    grant = web.users.roles.grant(user.roles)
    return Principal(user.name, grant.roles, grant.capabilities, "session", user.id, grant.allowed, grant.default,
                     session.key, grant.limits)


def _header_principal(request: Request, web) -> Principal | None:
    """A user signed in by header, as Splunk's REST clients do: `Authorization: Splunk <session
    key>` (from `POST /services/auth/login`) or `Basic` (user and password): no CSRF token needed,
    a browser never sends these on its own (`speleo.server.splunk_auth`)."""
    if web is None or not request.headers.get("authorization"):
        return None
    from speleo.server.splunk_auth import header_user

    user = header_user(request, web)
    if user is None:
        return None
    via = "basic" if request.headers["authorization"].lower().startswith("basic") else "splunk-session"
    grant = web.users.roles.grant(user.roles)
    return Principal(user.name, grant.roles, grant.capabilities, via, user.id, grant.allowed, grant.default,
                     limits=grant.limits)


def search_guard(who: Principal):
    """A check for `Service.search(check=...)`: raises ForbiddenError (403) before the search
    runs when it has a writing command (`| outputlookup`, `| collect`, `| sendemail`, also after
    another post step) whose capability (`SINK_CAPABILITIES`) `who` lacks. Binds the search's
    `| rest` reads to `who` (`speleo.server.rest_command`: the routes' own checks apply) and its
    `| loadjob` reads too (`speleo.server.loadjob_command`: only jobs and runs `who` may see).
    Its `reader` attribute (`saved_reader(who)`) is what the search's `| savedsearch` may expand
    (`query.macrostore.load_macros(reader=...)`: never another user's private saved search)."""
    from speleo.query.post import writing_steps
    from speleo.server import loadjob_command, rest_command

    def check(compiled) -> None:
        rest_command.bind(compiled, who)
        loadjob_command.bind(compiled, who)
        for kind in writing_steps(compiled.post):
            cap = SINK_CAPABILITIES[kind]
            if not who.can(cap):
                raise ForbiddenError(f"'{who.name}' lacks the capability '{cap}' that '| {kind}' needs; "
                                     "ask an admin, or search without it")

    check.reader = saved_reader(who)   # `| savedsearch` in the search: the saved searches `who` may read
    return check


def saved_reader(who: Principal):
    """`(SavedSearch) -> bool`: whether `who` may read (and so run with `| savedsearch`) a saved
    search, by Splunk's sharing (`speleo.server.rest_saved.visible_to`); for
    `query.macrostore.load_macros(reader=...)`."""
    def reader(saved) -> bool:
        from speleo.server.rest_saved import visible_to

        return visible_to(who, saved)
    return reader


def require(capability: str):
    """A FastAPI dependency: the principal, when it holds `capability`.

    Raises AuthError (401) without valid credentials, ForbiddenError (403) without the capability.
    """

    def dependency(request: Request) -> Principal:
        who = principal(request)
        if who is None:
            raise AuthError("missing or invalid API token (send 'Authorization: Bearer <token>') or session")
        who.need(capability)
        request.state.principal = who
        return who

    dependency.capability = capability  # for the per-route access test
    return dependency
