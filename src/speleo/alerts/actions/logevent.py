"""The log event action (Splunk's "Log Event" alert action, `action.logevent.param.*`).

Indexes one event per trigger built from `param.event` (tokens expanded) into `param.index`
(default main) with `param.sourcetype` (generic_single_line), `param.source`
(alert:$name$) and `param.host` (this server). The defaults are the ones third-party tables
give for Splunk [Unverified].
"""

from __future__ import annotations

from speleo.alerts.actions import ActionContext, ActionError, register_action


def log_event(ctx: ActionContext) -> str:
    if ctx.server.write_events is None:
        raise ActionError(f"alert '{ctx.name}': events can only be indexed by a running server")
    text = ctx.render(ctx.params.get("param.event") or "")
    if not text:
        raise ActionError(f"alert '{ctx.name}': action.logevent.param.event is empty; give the event text")
    index = ctx.render(ctx.params.get("param.index") or "main")
    st = ctx.render(ctx.params.get("param.sourcetype") or "generic_single_line")
    source = ctx.render(ctx.params.get("param.source") or "alert:$name$")
    host = ctx.render(ctx.params.get("param.host") or "") or None
    ctx.server.write_events(index, st, source, host, [{"_time": ctx.trigger_time, "_raw": text}])
    return f"1 event into index '{index}'"


register_action("logevent", log_event, maxtime_secs=60)
