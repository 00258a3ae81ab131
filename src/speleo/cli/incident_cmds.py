"""`speleo incident declare|list|show|ack|update|assign|resolve|close`: incident records.

Like the other write commands, a command goes through the running server's API when one runs
for the home (`/api/v1/incidents`, docs/api.md); otherwise it opens the operations database
itself (`speleo.ops.incidents.service`), acting as the local user (source "cli").
Times are epoch seconds or ISO 8601 (`2026-12-04T08:55:00Z`; without a zone: UTC).
"""

from __future__ import annotations

import datetime as dt
import getpass
import json

import click
from rich.markup import escape

from speleo.cli.output import console, new_table
from speleo.cli import client
from speleo.config import Home
from speleo.errors import InputError

out = console(highlight=False)
PREFIX = "/api/v1/incidents"


def _time(value: str | None) -> float | None:
    """Epoch seconds from an epoch number or an ISO 8601 time (UTC when no zone is given)."""
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        t = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InputError(f"'{value}' is not a time: give epoch seconds or ISO 8601 (2026-12-04T08:55:00Z)") from None
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.timezone.utc)
    return t.timestamp()


def _do(home: Home, method: str, path: str, payload: dict | None, local):
    """Call the server when it runs, else `local(incidents, actor)` on the home's database."""
    if client.server_url(home):
        return client.call(home, method, PREFIX + path, payload)
    from speleo.ops.db import Database
    from speleo.ops.incidents.service import Incidents

    return local(Incidents(Database.for_home(home)), getpass.getuser())


def _clean(d: dict) -> dict:
    return {k: v for k, v in d.items() if v is not None}


def _when(ts: float | None) -> str:
    if ts is None:
        return "-"
    return dt.datetime.fromtimestamp(ts, dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%SZ")


def _duration(secs: float | None) -> str:
    if secs is None:
        return "-"
    s = int(round(secs))
    return f"{s // 3600}h{s % 3600 // 60:02d}m{s % 60:02d}s"


def _summary(i: dict) -> str:
    return f"incident {i['id']} [{i['severity']}, {i['status']}] {i['title']}"


@click.group()
def incident() -> None:
    """Incidents: declare, list, show, acknowledge, update, assign roles, resolve, close."""


@incident.command("declare")
@click.argument("title")
@click.option("--severity", "-s", default="SEV3", show_default=True,
              help="SEV1 (critical, major incident) .. SEV4 (low, no user impact); see docs/incidents.md.")
@click.option("--service", "services", multiple=True, help="An affected service (repeatable).")
@click.option("--description", "-d", help="What is known so far.")
@click.option("--impact-started", help="When the impact began (epoch or ISO 8601; often earlier than now).")
@click.option("--detected", help="When it was noticed (default: now).")
@click.option("--dedup-key", help="Alerts with this dedup key join this incident while it is open.")
@click.pass_obj
def declare(home: Home, title, severity, services, description, impact_started, detected, dedup_key) -> None:
    """Declare an incident titled TITLE (status triage); prints its id on standard output."""
    payload = _clean({"title": title, "severity": severity, "services": list(services) or None,
                      "description": description, "impact_started_at": _time(impact_started),
                      "detected_at": _time(detected), "dedup_key": dedup_key})
    inc = _do(home, "POST", "", payload, lambda s, me: s.create(payload.pop("title"), me, "cli", **payload))
    click.echo(inc["id"])
    click.echo(f"declared {_summary(inc)}", err=True)


@incident.command("list")
@click.option("--status", help="Only incidents in this status.")
@click.option("--open", "open_only", is_flag=True, help="Only open incidents (not resolved or closed).")
@click.option("--severity", help="Only this severity.")
@click.option("--service", help="Only incidents affecting this service.")
@click.option("--limit", type=int, default=100, show_default=True)
@click.option("--output", "-o", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.pass_obj
def list_(home: Home, status, open_only, severity, service, limit, output) -> None:
    """List incidents, newest first."""
    from urllib.parse import urlencode

    params = _clean({"status": status, "open": "true" if open_only else None, "severity": severity,
                     "service": service, "limit": limit})
    rows = _do(home, "GET", "?" + urlencode(params), None,
               lambda s, me: {"incidents": s.list(status, open_only, severity, service, limit)})["incidents"]
    if output == "json":
        click.echo(json.dumps(rows, indent=2))
        return
    t = new_table("id", "severity", "status", "title", "services", "declared (UTC)", box=None)
    for i in rows:
        t.add_row(str(i["id"]), i["severity"], i["status"], escape(i["title"]), escape(", ".join(i["services"])),
                  _when(i["declared_at"]))
    out.print(t)
    if not rows:
        click.echo("no incidents", err=True)


@incident.command("show")
@click.argument("incident_id", type=int)
@click.option("--output", "-o", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.pass_obj
def show(home: Home, incident_id: int, output: str) -> None:
    """Show incident INCIDENT_ID: fields, MTTx times, roles and timeline."""
    inc = _do(home, "GET", f"/{incident_id}", None, lambda s, me: s.get(incident_id))
    if output == "json":
        click.echo(json.dumps(inc, indent=2))
        return
    out.print(escape(_summary(inc)))
    out.print(f"services: {escape(', '.join(inc['services']) or '-')}   dedup key: {escape(inc['dedup_key'] or '-')}")
    if inc["description"]:
        out.print(escape(inc["description"]))
    for f in ("impact_started_at", "detected_at", "declared_at", "acknowledged_at", "mitigated_at", "resolved_at",
              "closed_at"):
        out.print(f"  {f[:-3].replace('_', ' '):<16}{_when(inc[f])}")
    d = inc["durations"]
    out.print("  " + "  ".join(f"{k}={_duration(v)}" for k, v in d.items()))
    out.print("roles:")
    for r in inc["roles"]:
        until = "now" if r["renounced_at"] is None else _when(r["renounced_at"])
        out.print(f"  {r['role']:<15}{escape(r['who'])}  {_when(r['assumed_at'])} .. {until}")
    out.print("timeline:")
    for e in inc["timeline"]:
        link = f"  [{escape(e['link'])}]" if e["link"] else ""
        out.print(f"  {_when(e['at'])}  {e['kind']:<12}{escape(e['text'])}  ({escape(e['actor'])}, "
                  f"{escape(e['source'])}){link}")


@incident.command("ack")
@click.argument("incident_id", type=int)
@click.pass_obj
def ack(home: Home, incident_id: int) -> None:
    """Acknowledge INCIDENT_ID: you take it on (triage -> investigating)."""
    inc = _do(home, "POST", f"/{incident_id}/ack", {}, lambda s, me: s.ack(incident_id, me, "cli"))
    click.echo(f"acknowledged {_summary(inc)}", err=True)


@incident.command("update")
@click.argument("incident_id", type=int)
@click.option("--title")
@click.option("--severity", help="SEV1..SEV4")
@click.option("--status", help="triage, investigating, identified, mitigated, resolved, closed")
@click.option("--service", "services", multiple=True, help="The affected services (replaces the list; repeatable).")
@click.option("--description")
@click.option("--impact-started", help="When the impact began (epoch or ISO 8601).")
@click.option("--detected", help="When it was noticed (epoch or ISO 8601).")
@click.option("--note", help="A note for the timeline (also the reason of the change).")
@click.pass_obj
def update(home: Home, incident_id: int, title, severity, status, services, description, impact_started, detected,
           note) -> None:
    """Change fields of INCIDENT_ID; each change goes on the timeline."""
    payload = _clean({"title": title, "severity": severity, "status": status, "services": list(services) or None,
                      "description": description, "impact_started_at": _time(impact_started),
                      "detected_at": _time(detected), "note": note})
    if not payload:
        raise click.UsageError("nothing to change: give --status, --severity, --title, --service, --note ...")
    inc = _do(home, "PATCH", f"/{incident_id}", payload, lambda s, me: s.update(incident_id, me, "cli", **payload))
    click.echo(f"updated {_summary(inc)}", err=True)


@incident.command("assign")
@click.argument("incident_id", type=int)
@click.argument("role")
@click.argument("who")
@click.option("--remove", is_flag=True, help="WHO leaves the role instead.")
@click.pass_obj
def assign(home: Home, incident_id: int, role: str, who: str, remove: bool) -> None:
    """Give WHO the ROLE on INCIDENT_ID (commander, communications, scribe, participant)."""
    _do(home, "POST", f"/{incident_id}/roles", {"role": role, "who": who, "remove": remove},
        lambda s, me: s.assign(incident_id, role, who, me, "cli", remove))
    click.echo(f"{who} {'left' if remove else 'took on'} the role {role} on incident {incident_id}", err=True)


@incident.command("resolve")
@click.argument("incident_id", type=int)
@click.option("--note", help="How service was restored.")
@click.pass_obj
def resolve(home: Home, incident_id: int, note) -> None:
    """Normal service is restored on INCIDENT_ID."""
    inc = _do(home, "POST", f"/{incident_id}/resolve", _clean({"note": note}),
              lambda s, me: s.resolve(incident_id, me, "cli", note))
    click.echo(f"resolved {_summary(inc)}", err=True)


@incident.command("close")
@click.argument("incident_id", type=int)
@click.option("--note", help="What was done after the incident.")
@click.pass_obj
def close(home: Home, incident_id: int, note) -> None:
    """Close the resolved INCIDENT_ID (final)."""
    inc = _do(home, "POST", f"/{incident_id}/close", _clean({"note": note}),
              lambda s, me: s.close(incident_id, me, "cli", note))
    click.echo(f"closed {_summary(inc)}", err=True)


def register(cli: click.Group) -> None:
    cli.add_command(incident)
