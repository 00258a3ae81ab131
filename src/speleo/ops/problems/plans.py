"""The plan of attack for a problem's next occurrence: what it holds and how it is checked.

Body (JSON object; every key optional except that a plan must say something):

    {"diagnostics": [{"name": "db pool state", "search": "index=app db_pool | stats max(active) by host",
                      "earliest": "-30m", "latest": "now"},
                     {"name": "errors", "saved_search": "checkout errors"}],
     "timebox_minutes": 10,
     "people": [{"role": "commander", "who": "alice"}, {"role": "dba", "who": "bob"}],
     "runbook": "1. fail the pool over ... 2. ...",
     "communication": {"audience": "support, account managers", "channel": "email",
                       "to": ["support@example.com"], "template": "$title$ is $status$: $summary$"}}

`diagnostics` (20 at most): each a `search` (SPL, checked by the SPL parser) or a `saved_search`
(its name; its search is read when the diagnostic runs), over `earliest`..`latest` (Splunk time
modifiers relative to the moment it runs; default the last 60 minutes). `timebox_minutes`
(1..1440, default 15): how many minutes diagnostics may delay restoring service; the incident
page counts it down from the moment the plan was attached, then says "restore now". `people`:
roles prepared beforehand. `runbook`: the restore steps. `communication`: who is told what,
with a template of stakeholder updates (tokens: speleo.ops.problems.updates).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from speleo.errors import InputError, SpeleoError

MAX_DIAGNOSTICS = 20
MAX_PEOPLE = 50
MAX_TEXT = 20_000
DEFAULT_TIMEBOX = 15
KEYS = ("diagnostics", "timebox_minutes", "people", "runbook", "communication")


def clean(body: Any) -> dict:
    """The checked plan body; raises InputError naming the key (e.g. `diagnostics[2].search`)."""
    if not isinstance(body, dict):
        raise InputError("plan: a JSON object with diagnostics, timebox_minutes, people, runbook, communication")
    unknown = sorted(set(body) - set(KEYS))
    if unknown:
        raise InputError(f"plan: unknown key(s) {', '.join(unknown)}; accepted: {', '.join(KEYS)}")
    out = {"diagnostics": [_diagnostic(i, d) for i, d in enumerate(_list(body, "diagnostics", MAX_DIAGNOSTICS))],
           "timebox_minutes": _timebox(body.get("timebox_minutes", DEFAULT_TIMEBOX)),
           "people": [_person(i, p) for i, p in enumerate(_list(body, "people", MAX_PEOPLE))],
           "runbook": _str("runbook", body.get("runbook", "")),
           "communication": _communication(body.get("communication") or {})}
    if not out["diagnostics"] and not out["runbook"].strip() and not out["people"]:
        raise InputError("plan: give at least diagnostics, people or a restore runbook")
    return out


def _list(body: dict, key: str, most: int) -> list:
    v = body.get(key) or []
    if not isinstance(v, list):
        raise InputError(f"plan.{key}: a list")
    if len(v) > most:
        raise InputError(f"plan.{key}: {len(v)} given, {most} at most")
    return v


def _diagnostic(i: int, d: Any) -> dict:
    where = f"plan.diagnostics[{i}]"
    if not isinstance(d, dict):
        raise InputError(f"{where}: an object with name and search (SPL) or saved_search")
    bad = sorted(set(d) - {"name", "search", "saved_search", "earliest", "latest"})
    if bad:
        raise InputError(f"{where}: unknown key(s) {', '.join(bad)}")
    search, saved = str(d.get("search") or "").strip(), str(d.get("saved_search") or "").strip()
    if bool(search) == bool(saved):
        raise InputError(f"{where}: give either search (SPL) or saved_search (a name), not both or neither")
    if search:
        from speleo.spl import parse

        try:
            parse(search)
        except SpeleoError as e:
            raise InputError(f"{where}.search: {e}") from None
    out = {"name": str(d.get("name") or search or saved)[:200], "earliest": str(d.get("earliest") or "-60m"),
           "latest": str(d.get("latest") or "now")}
    for key in ("earliest", "latest"):
        from speleo.spl import parse_relative_time

        if out[key] != "now":
            try:
                parse_relative_time(out[key], 0.0, dt.timezone.utc)
            except SpeleoError as e:
                raise InputError(f"{where}.{key}: {e} (a Splunk time modifier such as -30m)") from None
    out["search" if search else "saved_search"] = search or saved
    return out


def _timebox(v: Any) -> int:
    if isinstance(v, bool):
        raise InputError("plan.timebox_minutes: a whole number of minutes")
    try:
        n = int(v)
    except (TypeError, ValueError):
        raise InputError(f"plan.timebox_minutes: '{v}' is not a whole number of minutes") from None
    if not 1 <= n <= 1440:
        raise InputError("plan.timebox_minutes: between 1 and 1440 minutes")
    return n


def _person(i: int, p: Any) -> dict:
    if not isinstance(p, dict) or not str(p.get("role") or "").strip() or not str(p.get("who") or "").strip():
        raise InputError(f"plan.people[{i}]: an object with role and who")
    return {"role": str(p["role"]).strip()[:64], "who": str(p["who"]).strip()[:120]}


def _str(key: str, v: Any) -> str:
    if not isinstance(v, str):
        raise InputError(f"plan.{key}: text")
    if len(v) > MAX_TEXT:
        raise InputError(f"plan.{key}: {len(v)} characters, {MAX_TEXT} at most")
    return v


def _communication(c: Any) -> dict:
    if not isinstance(c, dict):
        raise InputError("plan.communication: an object with audience, channel, to, template")
    bad = sorted(set(c) - {"audience", "channel", "to", "template"})
    if bad:
        raise InputError(f"plan.communication: unknown key(s) {', '.join(bad)}")
    channel = str(c.get("channel") or "email")
    if channel not in ("email", "webhook"):
        raise InputError("plan.communication.channel: email or webhook")
    to = c.get("to") or []
    if not isinstance(to, list) or not all(isinstance(t, str) for t in to) or len(to) > 50:
        raise InputError("plan.communication.to: a list of addresses or URLs (50 at most)")
    return {"audience": _str("communication.audience", str(c.get("audience") or "")), "channel": channel,
            "to": to, "template": _str("communication.template", c.get("template") or "")}
