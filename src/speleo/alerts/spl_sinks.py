"""`| collect` and `| sendemail` in SPL, on the alert actions' code (summary index, email).

`install(server)` registers both as query post-step sinks (speleo.query.post.register_sink)
for a `ServerContext`: the server installs them at start (its writer indexes the events); the
CLI installs them for local searches when no server runs (it then takes the writer lock for
`collect`).
"""

from __future__ import annotations

from speleo.alerts.actions import ActionContext, ServerContext
from speleo.alerts.actions.email import DEFAULTS as EMAIL_DEFAULTS
from speleo.alerts.actions.email import send_email
from speleo.alerts.actions.summary_index import stash_events
from speleo.errors import InputError
from speleo.query.post import HIDDEN, register_sink

# sendemail option -> action.email parameter
EMAIL_OPTIONS = {"server": "mailserver", "message": "message.alert"}


def _rows(table) -> tuple[list[str], list[dict]]:
    names = [n for n in table.column_names if not n.startswith(HIDDEN)]
    return names, table.select(names).to_pylist()


def collect(server: ServerContext, table, step: dict) -> None:
    """Splunk Search Reference: collect. Events keep their `_raw` (with `marker` appended);
    results become stash events like the summary-index action."""
    if server.write_events is None:
        raise InputError("| collect cannot index events here (no writer)")
    if step.get("testmode"):
        return
    names, rows = _rows(table)
    now = float(step.get("now") or 0)
    events = stash_events(rows, step.get("sid") or "adhoc", now, step.get("earliest"), step.get("latest"),
                          {}, server.tz)
    marker = step.get("marker") or ""
    for ev, row in zip(events, rows):
        if row.get("_raw"):
            ev["_raw"] = str(row["_raw"]) + (f", {marker}" if marker else "")
    server.write_events(step["index"], step.get("sourcetype") or "stash", step.get("source") or "speleo:collect",
                        step.get("host"), events)


def sendemail(server: ServerContext, table, step: dict) -> None:
    """Splunk Search Reference: sendemail, through the email action (tokens work: $name$ is
    "sendemail"). Raises the action's error (no recipients, refused by the server)."""
    names, rows = _rows(table)
    params = {**EMAIL_DEFAULTS, **server.email_defaults}
    params["subject"] = "Splunk Results"
    for k, v in step["options"].items():
        params[EMAIL_OPTIONS.get(k, k)] = v
    ctx = ActionContext("sendemail", {}, "nobody", params, rows, rows[0] if rows else {},
                        {"sid": step.get("sid") or "", "resultCount": len(rows)}, float(step.get("now") or 0),
                        server, names)
    try:
        send_email(ctx)
    except Exception as e:
        raise InputError(f"| sendemail: {e}") from e


def install(server: ServerContext) -> None:
    register_sink("collect", lambda table, step: collect(server, table, step))
    register_sink("sendemail", lambda table, step: sendemail(server, table, step))
