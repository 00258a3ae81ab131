"""The `incident` alert action: a firing opens an incident, or joins the open one with its dedup key.

Configured with Splunk's custom alert action keys (alert_actions.conf / savedsearches.conf):

    actions = incident                       (or action.incident = 1)
    action.incident.param.severity = SEV2    (SEV1..SEV4 or 1..4; default SEV3)
    action.incident.param.service = checkout,payments   (affected services, comma-separated)
    action.incident.param.dedup_key = db:$result.host$  (default: the saved search's name)

Tokens are expanded (`$result.host$` per result in per-result mode). The grouping rule is
`speleo.ops.incidents.flows.open_or_join_from_alert` (one incident per dedup key while it is
open; the reason is kept on the firing's timeline entry). The firing's entry carries the saved
search's text and the run's absolute range, so its link re-runs exactly that search over
exactly that range. Then the problems' signatures are matched against the alert's name and
its result rows (`speleo.ops.problems.flows.attach_matches`): a matching problem and its plan
of attack are attached to the incident with the reason.
"""

from __future__ import annotations

import threading

from speleo.alerts.actions import ActionContext, ActionError, register_action
from speleo.errors import SpeleoError

_services: dict[str, tuple] = {}
_lock = threading.Lock()
MAX_ROWS_MATCHED = 10_000   # result rows of one trigger matched against the signatures


def services_for(home, clock):
    """(Incidents, Problems) of the home's operations database, one pair per database and clock
    in this process (the incidents' alert lock serialises open-or-join)."""
    from speleo.clock import SystemClock
    from speleo.ops.db import Database
    from speleo.ops.incidents.service import Incidents
    from speleo.ops.problems.service import Problems

    db = Database.for_home(home)
    key = f"{db.url}|{id(clock)}"
    with _lock:
        if key not in _services:
            clock = clock or SystemClock()
            _services[key] = (Incidents(db, clock), Problems(db, clock))
        return _services[key]


def open_incident(ctx: ActionContext) -> str:
    from speleo.ops.incidents.flows import open_or_join_from_alert
    from speleo.ops.problems.flows import attach_matches

    incidents, problems = services_for(ctx.server.home, ctx.server.clock)
    severity = ctx.render(ctx.params.get("param.severity") or "").strip() or None
    services = [s.strip() for s in ctx.render(ctx.params.get("param.service") or "").split(",") if s.strip()]
    dedup = ctx.render(ctx.params.get("param.dedup_key") or "").strip() or ctx.name
    try:
        grouping = open_or_join_from_alert(
            incidents, alert_name=ctx.name, search=str(ctx.job.get("search") or ctx.attrs.get("search") or ""),
            earliest=ctx.job.get("earliest"), latest=ctx.job.get("latest"), fired_at=ctx.trigger_time,
            severity=severity, services=services, dedup_key=dedup, result_count=len(ctx.rows),
            details={"sid": str(ctx.job.get("sid", "")), "owner": ctx.owner})
        attached = attach_matches(problems, grouping.incident_id, alert_names=[ctx.name],
                                  rows=ctx.rows[:MAX_ROWS_MATCHED], actor=f"alert:{ctx.name}", source=f"alert:{ctx.name}")
    except SpeleoError as e:
        raise ActionError(f"alert '{ctx.name}': action.incident could not open or join an incident: {e}") from None
    said = f"incident {grouping.incident_id}: {grouping.reason}"
    if len(ctx.rows) > MAX_ROWS_MATCHED:
        said += (f"; signatures matched against the first {MAX_ROWS_MATCHED} of {len(ctx.rows)} results "
                 f"({len(ctx.rows) - MAX_ROWS_MATCHED} not looked at)")
    if attached:
        said += "; known problem(s) " + ", ".join(str(a.problem_id) for a in attached) + " matched"
    return said


register_action("incident", open_incident, track_alert=True, maxtime_secs=60)
