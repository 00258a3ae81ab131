"""The alert scheduler inside `speleo serve` (speleo.alerts.scheduler), wired to the runtime:
searches through `Service.search` (readers: ingestion never waits), records into `_internal`,
events of actions (log event, summary index) through the writer, and mail defaults from
`<home>/alert_actions.conf` `[email]` overridden by `speleo serve --smtp-server HOST:PORT`.
"""

from __future__ import annotations

import socket

from speleo.alerts import spl_sinks
from speleo.alerts.actions import ServerContext
from speleo.alerts.conf import read_conf
from speleo.alerts.indexing import write_events
from speleo.alerts.runner import AlertRunner, SearchOutput
from speleo.alerts.scheduler import Scheduler
from speleo.alerts.state import StateStore
from speleo.alerts.store import for_home
from speleo.query import results
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


def search_function(service, tz, max_rows: int):
    def search(query: str, earliest, latest, now) -> SearchOutput:
        res = service.search(query, earliest, latest, max_rows, now, timeline=False)
        return SearchOutput(results.rows(res, tz), res.total, results.fields(res))

    return search


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
    runner = AlertRunner(search_function(runtime.service, tz, 10_000), states, runtime.clock, tz, server, emit)
    return Scheduler(store, states, runner, runtime.clock)
