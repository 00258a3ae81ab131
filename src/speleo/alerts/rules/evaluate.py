"""Rule types as trigger conditions of scheduled saved searches [Speleo extension].

A saved search with `rule.type = frequency|spike|seasonal_spike|flatline|new_term|change|
cardinality` and its options as `rule.<option>` (ElastAlert's names: `rule.num_events = 50`,
`rule.timeframe = 5m`, `rule.query_key = host`...) runs its search over its dispatch range
at each tick; the result rows are the rule's events and each match is one trigger (as in
per-result mode, with its fields as `$result.*$`). Each run rebuilds the rule from that
range, so the range must cover what the rule looks at (2 × timeframe for spike; the history
for new_term: events older than `rule.new_window`, default one schedule period, are the
known terms; several weeks of `timechart count` buckets for seasonal_spike).
"""

from __future__ import annotations

from typing import Any

from speleo.alerts.rules import build, seasonal_spike
from speleo.alerts.rules.base import seconds, ts

LISTS = {"query_key", "compare_key", "fields"}


def options(attrs: dict[str, Any]) -> dict[str, Any]:
    """`rule.<option>` text values -> typed options (numbers, booleans, comma lists)."""
    out: dict[str, Any] = {}
    for k, v in attrs.items():
        if not k.startswith("rule.") or k == "rule.type":
            continue
        name, text = k[5:], str(v).strip()
        if name in LISTS:
            items = [x.strip() for x in text.split(",") if x.strip()]
            out[name] = items if len(items) > 1 or name == "fields" else (items[0] if items else "")
        elif text.lower() in ("true", "false"):
            out[name] = text.lower() == "true"
        else:
            try:
                out[name] = float(text) if "." in text else int(text)
            except ValueError:
                out[name] = text
    return out


def evaluate_rule(kind: str, opts: dict[str, Any], rows: list[dict], scheduled: float, earliest: float | None,
                  period: float) -> list[dict]:
    """The matches of one run (raises InputError for a bad option)."""
    events = [r for r in rows if r.get("_time") not in (None, "")]
    if kind == "seasonal_spike":
        m = seasonal_spike(events, scheduled, opts)
        return [m] if m else []
    if kind == "flatline":
        rule = build(kind, opts, start=earliest if earliest is not None else scheduled - period)
        rule.add(events)
        return rule.tick(scheduled)
    if kind == "new_term":
        cut = scheduled - (seconds(opts["new_window"], "rule.new_window") if opts.get("new_window") else period)
        history = [e for e in events if ts(e) < cut]
        rule = build(kind, {k: v for k, v in opts.items() if k != "new_window"}, history=history)
        return rule.add([e for e in events if ts(e) >= cut])
    return build(kind, opts).add(events)
