"""`speleo oncall schedule|policy|contact|who|escalation|readiness`: on-call records.

Like the other write commands, a command goes through the running server's API when one runs
for the home (`/api/v1/oncall`, docs/api.md); otherwise it opens the operations database itself
(`speleo.ops.oncall`), acting as the local user. Instants are epoch seconds or ISO 8601 (UTC
without a zone); rotation starts are local wall times in the schedule's zone (`2026-03-23T09:00`).
"""

from __future__ import annotations

import datetime as dt
import getpass
import json
import time
from urllib.parse import quote, urlencode

import click
from rich.markup import escape

from speleo.cli import client
from speleo.cli.incident_cmds import _clean, _time, _when
from speleo.cli.output import console, new_table
from speleo.config import Home
from speleo.errors import InputError

out = console(highlight=False)
PREFIX = "/api/v1/oncall"
OUTPUT = click.option("--output", "-o", type=click.Choice(["table", "json"]), default="table", show_default=True)


def _do(home: Home, method: str, path: str, payload: dict | None, local):
    """Call the server when it runs, else `local(oncall, actor)` on the home's database."""
    if client.server_url(home):
        return client.call(home, method, PREFIX + path, payload)
    from speleo.ops.db import Database
    from speleo.ops.oncall.service import OnCall

    return local(OnCall(Database.for_home(home)), getpass.getuser())


def _json(data) -> None:
    click.echo(json.dumps(data, indent=2))


def _local_time(ts: float | None, zone: str) -> str:
    if ts is None:
        return "-"
    from zoneinfo import ZoneInfo

    return dt.datetime.fromtimestamp(ts, ZoneInfo(zone)).strftime("%a %Y-%m-%d %H:%M %Z")


def parse_step(text: str) -> dict:
    """`notify_schedule:primary`, `notify_user:bob`, `wait:5` (minutes), `repeat:2`, `escalate_to:POLICY`,
    or a JSON object. Raises InputError."""
    text = text.strip()
    if text.startswith("{"):
        try:
            return json.loads(text)
        except ValueError as e:
            raise InputError(f"step {text!r}: not JSON ({e})") from None
    kind, _, arg = text.partition(":")
    key = {"notify_schedule": "schedule", "notify_user": "user", "wait": "minutes", "repeat": "times",
           "escalate_to": "policy"}.get(kind)
    if key is None or not arg:
        raise InputError(f"step {text!r}: write KIND:VALUE with KIND one of notify_schedule, notify_user, wait, "
                         "repeat, escalate_to (e.g. wait:5)")
    if key in ("minutes", "times"):
        try:
            return {"kind": kind, key: float(arg) if key == "minutes" else int(arg)}
        except ValueError:
            raise InputError(f"step {text!r}: {key} must be a number") from None
    return {"kind": kind, key: arg}


@click.group()
def oncall() -> None:
    """On-call: schedules and rotations, escalation policies, contact methods, who is on call, readiness."""


# -- schedules ---------------------------------------------------------------------------------
@oncall.group()
def schedule() -> None:
    """Schedules: rotations (layers) and overrides in the schedule's own time zone."""


@schedule.command("create")
@click.argument("name")
@click.option("--tz", "time_zone", required=True, help="IANA time zone of the hand-offs, e.g. Europe/Berlin.")
@click.option("--description", "-d", default="")
@click.pass_obj
def schedule_create(home: Home, name, time_zone, description) -> None:
    """Create the schedule NAME."""
    payload = {"name": name, "time_zone": time_zone, "description": description}
    _do(home, "POST", "/schedules", payload, lambda s, me: s.create_schedule(name, time_zone, me, description))
    click.echo(f"created schedule {name} ({time_zone})", err=True)


@schedule.command("list")
@OUTPUT
@click.pass_obj
def schedule_list(home: Home, output) -> None:
    """List schedules with their rotations and who is on call now."""
    rows = _do(home, "GET", "/schedules", None, lambda s, me: {"schedules": s.list_schedules()})["schedules"]
    now = _do(home, "GET", "/who", None, lambda s, me: {"oncall": [s.who(r["name"]) for r in rows]})["oncall"]
    current = {w["schedule"]: w for w in now}
    if output == "json":
        _json([{**r, "on_call_now": current.get(r["name"], {}).get("user")} for r in rows])
        return
    t = new_table("schedule", "time zone", "rotations", "overrides", "on call now", box=None)
    for r in rows:
        t.add_row(escape(r["name"]), r["time_zone"], str(len(r["rotations"])), str(len(r["overrides"])),
                  escape(current.get(r["name"], {}).get("user") or "(nobody: a gap)"))
    out.print(t)
    if not rows:
        click.echo("no schedules ('speleo oncall schedule create NAME --tz ZONE')", err=True)


@schedule.command("show")
@click.argument("name")
@click.option("--days", type=int, default=7, show_default=True, help="Shifts over this many days from now.")
@OUTPUT
@click.pass_obj
def schedule_show(home: Home, name, days, output) -> None:
    """Show schedule NAME: rotations, overrides, and the shifts and gaps of the next DAYS days."""
    sc = _do(home, "GET", f"/schedules/{quote(name)}", None, lambda s, me: s.get_schedule(name))
    a = time.time()
    sh = _do(home, "GET", f"/schedules/{quote(name)}/shifts?" + urlencode({"start": a, "end": a + days * 86400}), None,
             lambda s, me: s.shifts(name, a, a + days * 86400))
    if output == "json":
        _json({**sc, "shifts": sh["shifts"], "gaps": sh["gaps"]})
        return
    tz = sc["time_zone"]
    out.print(f"schedule {escape(sc['name'])} ({tz})")
    for r in sc["rotations"]:
        every = {"daily": "every day", "weekly": "every week"}.get(r["kind"], f"every {r['length']} {r['unit']}")
        out.print(f"  rotation {escape(r['name'])} (layer {r['layer']}): {escape(', '.join(r['users']))}, {every}, "
                  f"hand-off {r['handoff']} from {r['start_local']}" + (f" until {r['end_local']}" if r["end_local"] else ""))
    for o in sc["overrides"]:
        out.print(f"  override {o['id']}: {escape(o['user'])} {_local_time(o['start'], tz)} .. {_local_time(o['end'], tz)}"
                  + (f" ({escape(o['reason'])})" if o["reason"] else ""))
    t = new_table("from", "to", "on call", "by", box=None)
    for x in sh["shifts"]:
        t.add_row(_local_time(x["start"], tz), _local_time(x["end"], tz), escape(x["user"]),
                  escape(x["rotation"] or x["source"]))
    for g in sh["gaps"]:
        t.add_row(_local_time(g["start"], tz), _local_time(g["end"], tz), "[bold red]nobody (gap)[/]", "")
    out.print(t)


@schedule.command("delete")
@click.argument("name")
@click.pass_obj
def schedule_delete(home: Home, name) -> None:
    """Delete schedule NAME (refused while a policy notifies it)."""
    _do(home, "DELETE", f"/schedules/{quote(name)}", None, lambda s, me: s.delete_schedule(name, me))
    click.echo(f"deleted schedule {name}", err=True)


@schedule.command("rotation")
@click.argument("schedule_name")
@click.option("--users", required=True, help="Who takes turns, in order: alice,bob,carol.")
@click.option("--start", required=True, help="First hand-off, local wall time in the schedule's zone: 2026-03-23T09:00.")
@click.option("--kind", type=click.Choice(["daily", "weekly", "custom"]), default="weekly", show_default=True)
@click.option("--length", type=int, help="custom: shift length in --unit.")
@click.option("--unit", type=click.Choice(["hours", "days", "weeks"]), help="custom: unit of --length.")
@click.option("--layer", type=int, default=0, show_default=True, help="Higher layers win where rotations overlap.")
@click.option("--name", help="Rotation name (default rotation-N).")
@click.option("--end", help="Last hand-off, local wall time (default: none).")
@click.pass_obj
def schedule_rotation(home: Home, schedule_name, users, start, kind, length, unit, layer, name, end) -> None:
    """Add a rotation to SCHEDULE_NAME."""
    payload = _clean({"users": [u.strip() for u in users.split(",") if u.strip()], "start": start, "kind": kind,
                      "length": length, "unit": unit, "layer": layer, "name": name, "end": end})
    r = _do(home, "POST", f"/schedules/{quote(schedule_name)}/rotations", payload,
            lambda s, me: s.add_rotation(schedule_name, me, **payload))
    click.echo(f"added rotation {r['name']} to {schedule_name}", err=True)


@schedule.command("override")
@click.argument("schedule_name")
@click.argument("user")
@click.option("--start", required=True, help="Epoch seconds or ISO 8601 (UTC without a zone).")
@click.option("--end", required=True, help="Epoch seconds or ISO 8601.")
@click.option("--reason", default="")
@click.pass_obj
def schedule_override(home: Home, schedule_name, user, start, end, reason) -> None:
    """USER is on call in SCHEDULE_NAME from --start to --end, above every rotation."""
    payload = {"user": user, "start": _time(start), "end": _time(end), "reason": reason}
    o = _do(home, "POST", f"/schedules/{quote(schedule_name)}/overrides", payload,
            lambda s, me: s.add_override(schedule_name, user, payload["start"], payload["end"], me, reason))
    click.echo(o["id"])
    click.echo(f"override {o['id']}: {user} on call in {schedule_name} {_when(o['start'])} .. {_when(o['end'])}", err=True)


@schedule.command("unoverride")
@click.argument("schedule_name")
@click.argument("override_id", type=int)
@click.pass_obj
def schedule_unoverride(home: Home, schedule_name, override_id) -> None:
    """Remove override OVERRIDE_ID from SCHEDULE_NAME."""
    _do(home, "DELETE", f"/schedules/{quote(schedule_name)}/overrides/{override_id}", None,
        lambda s, me: s.remove_override(schedule_name, override_id, me))
    click.echo(f"removed override {override_id}", err=True)


@oncall.command("who")
@click.argument("schedule_name", required=False)
@click.option("--at", help="At this instant (epoch or ISO 8601; default now).")
@OUTPUT
@click.pass_obj
def who(home: Home, schedule_name, at, output) -> None:
    """Who is on call now (or --at) in SCHEDULE_NAME, or in every schedule."""
    params = _clean({"schedule": schedule_name, "at": _time(at)})

    def local(s, me):
        names = [schedule_name] if schedule_name else [r["name"] for r in s.list_schedules()]
        return {"oncall": [s.who(n, params.get("at")) for n in names]}

    rows = _do(home, "GET", "/who?" + urlencode(params), None, local)["oncall"]
    if output == "json":
        _json(rows)
        return
    t = new_table("schedule", "on call", "until", box=None)
    for w in rows:
        t.add_row(escape(w["schedule"]), escape(w["user"] or "nobody (a gap)"),
                  _local_time(w["until"], w["time_zone"]))
    out.print(t)


# -- policies ----------------------------------------------------------------------------------
@oncall.group()
def policy() -> None:
    """Escalation policies: notify, wait, repeat, escalate."""


@policy.command("create")
@click.argument("name")
@click.option("--step", "steps", multiple=True, required=True,
              help="In order: notify_schedule:NAME, notify_user:NAME, wait:MINUTES, repeat:TIMES, escalate_to:POLICY.")
@click.option("--service", "services", multiple=True, help="Incidents on this service start this policy (repeatable).")
@click.option("--default", "default", is_flag=True, help="Incidents no policy's services match start this one.")
@click.option("--description", "-d", default="")
@click.option("--replace", is_flag=True, help="Redefine the policy NAME if it exists.")
@click.pass_obj
def policy_create(home: Home, name, steps, services, default, description, replace) -> None:
    """Create escalation policy NAME from its --step options."""
    parsed = [parse_step(x) for x in steps]
    payload = {"steps": parsed, "services": list(services), "default": default, "description": description}
    p = _do(home, "PUT" if replace else "POST", f"/policies/{quote(name)}" if replace else "/policies",
            payload if replace else {"name": name, **payload},
            lambda s, me: s.create_policy(name, parsed, me, services=services, default=default,
                                          description=description, replace=replace))
    click.echo(f"{'replaced' if replace else 'created'} escalation policy {p['name']} ({len(p['steps'])} steps)", err=True)


@policy.command("list")
@OUTPUT
@click.pass_obj
def policy_list(home: Home, output) -> None:
    """List escalation policies."""
    rows = _do(home, "GET", "/policies", None, lambda s, me: {"policies": s.list_policies()})["policies"]
    if output == "json":
        _json(rows)
        return
    t = new_table("policy", "default", "services", "steps", box=None)
    for p in rows:
        t.add_row(escape(p["name"]), "yes" if p["default"] else "", escape(", ".join(p["services"])),
                  escape(" -> ".join(_step_text(s) for s in p["steps"])))
    out.print(t)


def _step_text(st: dict) -> str:
    k = st["kind"]
    v = next(v for key, v in st.items() if key != "kind")
    if k == "wait":
        return f"wait {float(v):g} min"
    if k == "repeat":
        return f"repeat x{v}"
    return f"{k.replace('_', ' ')} {v}"


@policy.command("show")
@click.argument("name")
@OUTPUT
@click.pass_obj
def policy_show(home: Home, name, output) -> None:
    """Show escalation policy NAME and its unrolled chain of notifications."""
    p = _do(home, "GET", f"/policies/{quote(name)}", None, lambda s, me: s.get_policy(name))
    if output == "json":
        _json(p)
        return
    out.print(f"policy {escape(p['name'])}" + (" (default)" if p["default"] else "")
              + (f", services {escape(', '.join(p['services']))}" if p["services"] else ""))
    for i, st in enumerate(p["steps"], 1):
        out.print(f"  {i}. {escape(_step_text(st))}")
    out.print("chain:")
    for c in p["chain"]:
        out.print(f"  +{c['after_secs'] / 60:g} min  {c['kind'].replace('_', ' ')} {escape(c['target'])}")


@policy.command("delete")
@click.argument("name")
@click.pass_obj
def policy_delete(home: Home, name) -> None:
    """Delete escalation policy NAME."""
    _do(home, "DELETE", f"/policies/{quote(name)}", None, lambda s, me: s.delete_policy(name, me))
    click.echo(f"deleted escalation policy {name}", err=True)


# -- contact methods ---------------------------------------------------------------------------
@oncall.group()
def contact() -> None:
    """Users' contact methods: email addresses and webhook URLs."""


@contact.command("add")
@click.argument("user")
@click.argument("kind", type=click.Choice(["email", "webhook"]))
@click.argument("target")
@click.option("--style", type=click.Choice(["json", "slack", "teams"]), default="json", show_default=True,
              help="Webhook payload: plain JSON, a Slack or a Microsoft Teams incoming webhook.")
@click.pass_obj
def contact_add(home: Home, user, kind, target, style) -> None:
    """Reach USER by KIND (email or webhook) at TARGET."""
    payload = {"user": user, "kind": kind, "target": target, "style": style}
    c = _do(home, "POST", "/contacts", payload, lambda s, me: s.add_contact(user, kind, target, me, style))
    click.echo(c["id"])


@contact.command("list")
@click.option("--user")
@OUTPUT
@click.pass_obj
def contact_list(home: Home, user, output) -> None:
    """List contact methods."""
    rows = _do(home, "GET", "/contacts?" + urlencode(_clean({"user": user})), None,
               lambda s, me: {"contacts": s.contacts(user)})["contacts"]
    if output == "json":
        _json(rows)
        return
    t = new_table("id", "user", "kind", "target", "style", box=None)
    for c in rows:
        t.add_row(str(c["id"]), escape(c["user"]), c["kind"], escape(c["target"]), c["style"] if c["kind"] == "webhook" else "")
    out.print(t)


@contact.command("remove")
@click.argument("contact_id", type=int)
@click.pass_obj
def contact_remove(home: Home, contact_id) -> None:
    """Remove contact method CONTACT_ID."""
    _do(home, "DELETE", f"/contacts/{contact_id}", None, lambda s, me: s.remove_contact(contact_id, me))
    click.echo(f"removed contact {contact_id}", err=True)


# -- escalations and readiness -----------------------------------------------------------------
def _escalations(s):
    from speleo.ops.oncall.escalation import Escalations

    return Escalations(s.db, None, s)


@oncall.command("escalations")
@click.option("--incident", "incident_id", type=int, help="The chain of this incident, with every delivery attempt.")
@OUTPUT
@click.pass_obj
def escalations(home: Home, incident_id, output) -> None:
    """List escalation chains (newest first), or show one incident's chain."""
    if incident_id is not None:
        rows = [_do(home, "GET", f"/escalations/{incident_id}", None,
                    lambda s, me: _escalations(s).for_incident(incident_id))]
    else:
        rows = _do(home, "GET", "/escalations", None, lambda s, me: {"escalations": _escalations(s).list()})["escalations"]
    if output == "json":
        _json(rows[0] if incident_id is not None else rows)
        return
    for e in rows:
        out.print(f"incident {e['incident_id']}: policy {escape(e['policy'] or '-')}, {e['state']} "
                  f"(started {_when(e['started_at'])}){' - ' + escape(e['reason']) if e['state'] == 'no_policy' else ''}")
        for st in e["steps"]:
            o = st["outcome"] if isinstance(st["outcome"], dict) else {}
            who_ = ", ".join(o.get("people", [])) if o else ""
            out.print(f"  {st['seq']}. due {_when(st['due_at'])}  {st['kind'].replace('_', ' ')} {escape(st['target'])}"
                      f"  {st['state']}" + (f" -> {escape(who_)}" if who_ else ""))
            for a in st.get("attempts", []):
                out.print(f"       {_when(a['at'])} {a['channel']} {escape(a['target'])}: "
                          f"{'ok' if a['ok'] else 'FAILED'} {escape(a['detail'])}")


@oncall.command("page")
@click.argument("incident_id", type=int)
@click.option("--policy", "policy_name", required=True, help="The escalation policy to run.")
@click.pass_obj
def page(home: Home, incident_id, policy_name) -> None:
    """Start escalation policy --policy on INCIDENT_ID by hand (when it has no chain yet)."""
    if not client.server_url(home):
        raise InputError("paging needs the running server (it sends the notifications): start 'speleo serve'")
    e = client.call(home, "POST", PREFIX + "/escalations", {"incident_id": incident_id, "policy": policy_name})
    click.echo(f"started policy {e['policy']} on incident {incident_id}", err=True)


@oncall.command("readiness")
@click.option("--days", type=int, default=14, show_default=True, help="Look this many days ahead for gaps.")
@OUTPUT
@click.pass_obj
def readiness_cmd(home: Home, days, output) -> None:
    """Check on-call readiness: schedule gaps ahead, people without a contact method, policies that
    reach no one. Exits 1 when there is a problem."""
    from speleo.ops.oncall import readiness

    r = _do(home, "GET", f"/readiness?days={days}", None, lambda s, me: readiness.check(s.db, time.time(), days))
    if output == "json":
        _json(r)
    else:
        for g in r["gaps"]:
            out.print(f"gap in schedule {escape(g['schedule'])}: {g['start_local']} .. {g['end_local']} ({g['hours']:g} h)")
        for u in r["users_without_contact"]:
            out.print(f"user {escape(u)} is on call or in a policy but has no contact method "
                      f"('speleo oncall contact add {escape(u)} email ADDRESS')")
        for p in r["unreachable_policies"]:
            out.print(f"policy {escape(p['policy'])} reaches no one: {escape(p['why'])}")
        out.print(f"ready: no problem over the next {days} days" if r["ok"] else f"{r['problems']} problem(s)")
    if not r["ok"]:
        raise SystemExit(1)


def register(cli: click.Group) -> None:
    cli.add_command(oncall)
