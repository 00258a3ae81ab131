"""Stakeholder updates: a templated message about an incident, sent by email and/or webhook
through `speleo.ops.notify.Notifier`, and kept on the incident's timeline (kind `update`) with
every delivery attempt (channel, target, ok, detail).

Template tokens (`$name$`; an unknown token is refused so a typo never reaches stakeholders):
`$id$`, `$title$`, `$status$`, `$severity$`, `$severity_meaning$`, `$services$` (comma-separated),
`$message$` (the update's own text), `$link$` (the incident page), `$declared$`,
`$impact_started$` (UTC, ISO 8601, or "unknown"). Without a template the message is sent as
written, after a one-line header "[SEV2 investigating] title".
"""

from __future__ import annotations

import datetime as dt
import re

from speleo.errors import InputError
from speleo.ops.incidents.models import SEVERITIES

TOKEN = re.compile(r"\$([a-z_]+)\$")
TOKENS = ("id", "title", "status", "severity", "severity_meaning", "services", "message", "link", "declared",
          "impact_started")
MAX_RECIPIENTS = 50
STYLES = ("json", "slack", "teams")


def _iso(ts: float | None) -> str:
    return "unknown" if ts is None else dt.datetime.fromtimestamp(ts, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def values(inc: dict, message: str, base_url: str = "") -> dict[str, str]:
    return {"id": str(inc["id"]), "title": inc["title"], "status": inc["status"], "severity": inc["severity"],
            "severity_meaning": SEVERITIES.get(inc["severity"], ""), "services": ", ".join(inc.get("services") or []),
            "message": message, "link": f"{base_url}/incidents/{inc['id']}", "declared": _iso(inc.get("declared_at")),
            "impact_started": _iso(inc.get("impact_started_at"))}


def render(template: str, vals: dict[str, str]) -> str:
    """`template` with its tokens replaced; InputError names an unknown token."""
    unknown = sorted({m.group(1) for m in TOKEN.finditer(template)} - set(TOKENS))
    if unknown:
        raise InputError(f"template: unknown token(s) {', '.join('$' + u + '$' for u in unknown)}; "
                         f"known: {', '.join('$' + t + '$' for t in TOKENS)}")
    return TOKEN.sub(lambda m: vals[m.group(1)], template)


def compose(inc: dict, message: str, template: str | None, base_url: str = "") -> tuple[str, str]:
    """(subject, text) of one update."""
    vals = values(inc, message, base_url)
    subject = f"[{inc['severity']} {inc['status']}] incident {inc['id']}: {inc['title']}"
    text = render(template, vals) if template else f"{subject}\n\n{message}\n\n{vals['link']}"
    return subject[:300], text


def send(incidents, notifier, incident_id: int, actor: str, source: str, *, message: str, template: str | None = None,
         emails: list[str] = (), webhooks: list[str] = (), style: str = "json", base_url: str = "") -> dict:
    """Compose, send once to every recipient, and record the update on the timeline with the
    attempts; returns the timeline entry. Delivery failures do not raise (they are in the entry's
    `details.attempts` with ok=false and why); bad input raises InputError before anything is sent."""
    emails, webhooks = list(emails or []), list(webhooks or [])
    if not str(message or "").strip():
        raise InputError("message: say what changed, what is being done and when the next update comes")
    if len(emails) + len(webhooks) > MAX_RECIPIENTS:
        raise InputError(f"{MAX_RECIPIENTS} recipients at most")
    if style not in STYLES:
        raise InputError(f"style: one of {', '.join(STYLES)}")
    for u in webhooks:
        if not str(u).lower().startswith(("http://", "https://")):
            raise InputError(f"webhook '{u}': give an http:// or https:// URL")
    inc = incidents.get(incident_id, timeline_limit=1)
    subject, text = compose(inc, message, template, base_url)
    attempts = []
    ref = ("incident", str(inc["id"]))
    if emails:
        attempts.append(notifier.email(emails, subject, text, ref=ref).to_dict())
    for url in webhooks:
        attempts.append(notifier.webhook(url, title=subject, text=text, link=values(inc, message, base_url)["link"],
                                         style=style, ref=ref).to_dict())
    sent = sum(1 for a in attempts if a["ok"])
    return incidents.add_entry(inc["id"], "update", text, actor, source,
                               details={"subject": subject, "message": message, "template": template or "",
                                        "attempts": attempts, "sent": sent, "failed": len(attempts) - sent})
