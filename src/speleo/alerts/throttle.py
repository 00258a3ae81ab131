"""Throttling (Splunk savedsearches.conf `alert.suppress`, `.period`, `.fields`, `.group_name`;
Alerting Manual "Throttle alerts").

- Digest mode: after a trigger that ran its actions, the whole alert is suppressed for the
  period (one key, `DIGEST_KEY`).
- Per-result mode: each result's key is its values of `alert.suppress.fields`; a result whose
  key fired within the period is dropped, results with new keys still fire. Splunk shows the
  key as an MD5 (`suppressionKey`); so does Speleo. A missing field counts as empty text, a
  multivalue field as its values joined by a newline, in stored order [Decision].
- `alert.suppress.group_name`: saved searches of the same owner with the same group name share
  their keys, so a trigger of one silences the others for the triggering search's period.
- A manual suppression (REST `POST saved/searches/{name}/suppress expiration=N`) silences
  every trigger of the search until it expires.
Keys are claimed atomically when a trigger passes (so two searches of one group cannot both
fire) and live in the ops DB (`alert_throttle`) so a restart does not forget them; an edit of the
saved search deletes them (speleo.alerts.store).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from speleo.alerts.spec import AlertSpec

DIGEST_KEY = "__digest__"


def scope(spec: AlertSpec, saved_id: int, owner_id: int) -> str:
    group = str(spec["alert.suppress.group_name"] or "").strip()
    return f"group:{owner_id}:{group}" if group else f"search:{saved_id}"


def _value(v) -> str:
    if v is None:
        return ""
    if isinstance(v, list):
        return "\n".join(_value(x) for x in v)
    return str(v)


def result_key(row: dict, fields: list[str]) -> str:
    """The MD5 suppression key of one result (hex)."""
    text = "\x1f".join(f"{f}={_value(row.get(f))}" for f in fields)
    return hashlib.md5(text.encode("utf-8"), usedforsecurity=False).hexdigest()


@dataclass
class Throttled:
    """What survives throttling: the rows to act on, and how many were suppressed."""

    rows: list[dict]
    keys: list[str]
    suppressed: int
    reason: str = ""


def apply(spec: AlertSpec, saved_id: int, owner_id: int, rows: list[dict], states, now: float,
          suppressed_until: float | None) -> Throttled:
    """Drop what is suppressed. Digest mode: `rows` is the one trigger's rows (all or none
    survive); per-result mode: each row is a trigger."""
    if suppressed_until and suppressed_until > now:
        return Throttled([], [], len(rows) or 1, f"suppressed by hand until {suppressed_until:.0f}")
    if not spec["alert.suppress"]:
        return Throttled(rows, [], 0)
    sc = scope(spec, saved_id, owner_id)
    until = now + spec.suppress_period()
    if spec.digest:
        if not states.claim(sc, [DIGEST_KEY], saved_id, now, until):
            return Throttled([], [], 1, f"throttled: the alert fired within alert.suppress.period ({sc})")
        return Throttled(rows, [DIGEST_KEY], 0)
    fields = list(spec["alert.suppress.fields"])
    keys = [result_key(r, fields) for r in rows]
    taken = set(states.claim(sc, sorted(set(keys)), saved_id, now, until))
    keep, kept_keys = [], []
    for r, k in zip(rows, keys):
        if k in taken:
            taken.discard(k)
            keep.append(r)
            kept_keys.append(k)
    dropped = len(rows) - len(keep)
    return Throttled(keep, kept_keys, dropped, f"{dropped} result(s) throttled by {', '.join(fields)}" if dropped else "")
