"""The summary-index action (Splunk `action.summary_index`, the `collect` command's format).

Each result becomes one event with sourcetype `stash` in `action.summary_index._name`
(default `summary`): `_raw` is the result as `field="value"` pairs after a time stamp and
`search_name`, `search_now`, `info_min_time`, `info_max_time`, like Splunk's stash events;
every extra `action.summary_index.<field> = <value>` is added to each event. An event's time is
the result's `_time`, else the start of the search's time range (`info_min_time`), else the
scheduled time. The fields are also indexed fields, so `index=summary search_name="x"` works.
"""

from __future__ import annotations

import datetime as dt

from speleo.alerts.actions import ActionContext, ActionError, register_action

SKIP = {"_raw", "_time", "_indextime", "_offset", "_flags", "_fields", "linecount", "index", "sourcetype"}


def _epoch(v) -> float | None:
    if v is None or v == "":
        return None
    if isinstance(v, (int, float)):
        return float(v)
    try:
        return dt.datetime.fromisoformat(str(v)).timestamp()
    except ValueError:
        try:
            return float(v)
        except ValueError:
            return None


def _quote(v) -> str:
    text = "\n".join(map(str, v)) if isinstance(v, list) else str(v)
    return text.replace("\\", "\\\\").replace('"', '\\"')


def stash_events(rows: list[dict], search_name: str, now: float, info_min: float | None, info_max: float | None,
                 extra: dict[str, str], tz: dt.tzinfo) -> list[dict]:
    """Results -> stash events (dicts with `_time`, `_raw`, `host`, `fields`)."""
    out = []
    for r in rows:
        when = _epoch(r.get("_time")) or info_min or now
        fields = {"search_name": search_name, "search_now": f"{now:.3f}",
                  "info_min_time": f"{info_min or 0:.3f}", "info_max_time": f"{info_max or now:.3f}"}
        fields.update({k: v for k, v in r.items() if k not in SKIP and v not in (None, "")})
        fields.update(extra)
        stamp = dt.datetime.fromtimestamp(when, tz).strftime("%m/%d/%Y %H:%M:%S %z")
        raw = stamp + ", " + ", ".join(f'{k}="{_quote(v)}"' for k, v in fields.items())
        out.append({"_time": when, "_raw": raw, "host": r.get("host"), "fields": fields})
    return out


def summary_index(ctx: ActionContext) -> str:
    if ctx.server.write_events is None:
        raise ActionError(f"alert '{ctx.name}': the summary index can only be written by a running server")
    index = ctx.params.get("_name") or "summary"
    extra = {k: ctx.render(v) for k, v in ctx.params.items() if not k.startswith("_") and k not in ("inline",)}
    events = stash_events(ctx.rows, ctx.name, float(ctx.job.get("scheduledTime") or ctx.trigger_time),
                          ctx.job.get("earliest"), ctx.job.get("latest"), extra, ctx.server.tz)
    n = ctx.server.write_events(index, "stash", f"alert:{ctx.name}", None, events)
    return f"{n} events into index '{index}' (sourcetype stash)"


register_action("summary_index", summary_index, maxtime_secs=300)
