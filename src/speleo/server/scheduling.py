"""The alert scheduler inside `speleo serve` (speleo.alerts.scheduler), wired to the runtime:
searches through `Service.search` (readers: ingestion never waits) with the saved search owner's
roles, records into `_internal`,
events of actions (log event, summary index) through the writer, and mail defaults from
`<home>/alert_actions.conf` `[email]` overridden by `speleo serve --smtp-server HOST:PORT`.
"""

from __future__ import annotations

import socket

from speleo.alerts import spl_sinks
from speleo.alerts.actions import ServerContext
from speleo.alerts.artifacts import Artifacts
from speleo.alerts.conf import read_conf
from speleo.alerts.indexing import write_events
from speleo.alerts.runner import RUN_OWNER, AlertRunner, SearchOutput
from speleo.alerts.scheduler import Scheduler
from speleo.alerts.state import StateStore
from speleo.alerts.store import for_home
from speleo.errors import ForbiddenError
from speleo.query import results
from speleo.server.access import TOKEN_PRINCIPAL, Principal, search_guard
from speleo.query.timefmt import local_zone


def email_defaults(home, smtp_server: str | None) -> dict[str, str]:
    """`[email]` of `<home>/alert_actions.conf` (Splunk alert_actions.conf), then --smtp-server."""
    path = home.root / "alert_actions.conf"
    out: dict[str, str] = {}
    if path.exists():
        for st in read_conf(path).merged():
            if st.name == "email":
                out.update(st.settings)
    if smtp_server:
        out["mailserver"] = smtp_server
    return out


def search_function(service, tz, max_rows: int, owner_of=None):
    """The runner's search. With `owner_of(user id) -> Principal | None`, a saved search runs with
    its owner's roles (the user id `speleo.alerts.runner.RUN_OWNER` names while it runs): their
    capabilities (writing commands), index scope and search limits, as Splunk runs a scheduled
    search as its owner; `owner_of` answers None for searches owned by the API token or read
    from savedsearches.conf (they run as admin) and raises ForbiddenError for a user who no
    longer exists or is disabled (the run fails, saying so)."""
    def search(query: str, earliest, latest, now) -> SearchOutput:
        who = owner_of(RUN_OWNER.get()) if owner_of is not None and RUN_OWNER.get() is not None else None
        if who is None:
            res = service.search(query, earliest, latest, max_rows, now, timeline=False,
                                 check=search_guard(TOKEN_PRINCIPAL))   # as admin (its | rest reads too)
        else:
            res = service.search(query, earliest, latest, max_rows, now, timeline=False,
                                 capabilities=who.capabilities, actor=who.name, check=search_guard(who),
                                 scope=who.scope())
        return SearchOutput(results.rows(res, tz), res.total, results.fields(res), res.table, res.kind, res.truncated)

    return search


def owner_principals(home):
    """`owner_of` for `search_function`: the Principal of a saved search's owner, from the
    operations database's users and roles (read at each run: a role change counts at the next)."""
    from speleo.ops.saved import API_OWNER
    from speleo.ops.users import Users

    state: dict = {}

    def owner_of(user_id: int | None) -> Principal | None:
        if user_id is None or user_id == API_OWNER:
            return None
        if "users" not in state:
            state["users"] = Users(home)
        users = state["users"]
        user = users.get(user_id)
        if user is None or user.disabled:
            why = "no longer exists" if user is None else f"'{user.name}' is disabled"
            raise ForbiddenError(f"the owner of this saved search (user {user_id}) {why}: it does not run as "
                                 "nobody; give it another owner or remove it")
        grant = users.roles.grant(user.roles)
        return Principal(user.name, grant.roles, grant.capabilities, "scheduler", user.id, grant.allowed,
                         grant.default, limits=grant.limits)

    return owner_of


def server_context(runtime) -> ServerContext:
    home = runtime.home
    tz = local_zone(home.settings.default_tz)

    def write(index, sourcetype, source, host, events):
        with runtime.write_lock:
            return write_events(runtime.writer.store, runtime.service.catalog, index, sourcetype, source, host, events)

    return ServerContext(home, tz, socket.gethostname(), f"http://{runtime.bind}:{runtime.port}",
                         email_defaults(home, getattr(runtime, "smtp_server", None)), write, runtime.clock)


def build_scheduler(runtime) -> Scheduler:
    """The scheduler of a started runtime (not started: call `.start()`)."""
    home = runtime.home
    tz = local_zone(home.settings.default_tz)
    store = for_home(home, runtime.clock)
    states = StateStore(store.db)

    def emit(sourcetype: str, fields: dict) -> None:
        runtime.internal.emit("_internal", sourcetype, fields)

    server = server_context(runtime)
    spl_sinks.install(server)  # | collect and | sendemail in every search of this server
    runner = AlertRunner(search_function(runtime.service, tz, 10_000, owner_principals(home)), states, runtime.clock,
                         tz, server, emit, artifacts=Artifacts.for_home(home, runtime.clock.time))
    return Scheduler(store, states, runner, runtime.clock)
