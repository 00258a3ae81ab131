"""`speleo problem create|list|show|update|link|plan|signature`: problem records (docs/incidents.md).

Through the running server's API when one runs for the home (`/api/v1/problems`), otherwise on
the operations database directly, acting as the local user. Listings take `--output json`.
"""

from __future__ import annotations

import getpass
import json
import sys
from pathlib import Path

import click
from rich.markup import escape

from speleo.cli import client
from speleo.cli.incident_cmds import _clean, _duration, _when
from speleo.cli.output import console, new_table
from speleo.config import Home
from speleo.errors import InputError

out = console(highlight=False)
PREFIX = "/api/v1/problems"
OUTPUT = click.option("--output", "-o", type=click.Choice(["table", "json"]), default="table", show_default=True)


def _do(home: Home, method: str, path: str, payload: dict | None, local):
    """Call the server when it runs, else `local(problems, actor)` on the home's database."""
    if client.server_url(home):
        return client.call(home, method, PREFIX + path, payload)
    from speleo.ops.db import Database
    from speleo.ops.problems.service import Problems

    return local(Problems(Database.for_home(home)), getpass.getuser())


def _summary(p: dict) -> str:
    return f"problem {p['id']} [{p['status']}] {p['statement']}"


@click.group()
def problem() -> None:
    """Problems: the causes behind incidents, their plans of attack and signatures."""


@problem.command("create")
@click.argument("statement")
@click.option("--service", "services", multiple=True, help="An affected service (repeatable).")
@click.option("--root-cause", default="", help="The root cause, when known.")
@click.option("--workaround", default="", help="How to reduce the impact until it is fixed.")
@click.option("--incident", "incidents", type=int, multiple=True, help="Link this incident (repeatable).")
@click.pass_obj
def create(home: Home, statement, services, root_cause, workaround, incidents) -> None:
    """Record a problem (status open) stated as STATEMENT; prints its id."""
    payload = _clean({"statement": statement, "services": list(services) or None, "root_cause": root_cause or None,
                      "workaround": workaround or None, "incidents": list(incidents) or None})
    p = _do(home, "POST", "", payload, lambda s, me: s.create(payload.pop("statement"), me, **payload))
    click.echo(p["id"])
    click.echo(f"created {_summary(p)}", err=True)


@problem.command("list")
@click.option("--status", help="open, under_investigation, known_error, resolved, closed")
@click.option("--limit", type=int, default=100, show_default=True)
@OUTPUT
@click.pass_obj
def list_(home: Home, status, limit, output) -> None:
    """List problems, newest first, with their occurrences (linked incidents)."""
    from urllib.parse import urlencode

    q = urlencode(_clean({"status": status, "limit": limit}))
    rows = _do(home, "GET", "?" + q, None, lambda s, me: {"problems": s.list(status, limit)})["problems"]
    if output == "json":
        click.echo(json.dumps(rows, indent=2))
        return
    t = new_table("id", "status", "statement", "occurrences", "signatures", "created (UTC)", box=None)
    for p in rows:
        t.add_row(str(p["id"]), p["status"], escape(p["statement"]), str(p["occurrences"]), str(p["signatures"]),
                  _when(p["created_at"]))
    out.print(t)
    if not rows:
        click.echo("no problems", err=True)


@problem.command("show")
@click.argument("problem_id", type=int)
@click.option("--output", "-o", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.pass_obj
def show(home: Home, problem_id: int, output: str) -> None:
    """Show PROBLEM_ID: fields, recurrence, linked incidents, plan of attack and signatures."""
    p = _do(home, "GET", f"/{problem_id}", None, lambda s, me: s.get(problem_id))
    if output == "json":
        click.echo(json.dumps(p, indent=2))
        return
    out.print(escape(_summary(p)))
    for f in ("root_cause", "workaround", "known_error"):
        if p[f]:
            out.print(f"{f.replace('_', ' ')}: {escape(p[f])}")
    r = p["recurrence"]
    out.print(f"occurrences: {r['occurrences']}   time lost: {_duration(r['time_lost_secs'])}")
    out.print("incidents:")
    for i in p["incidents"]:
        out.print(f"  {i['incident_id']} [{i['severity']}, {i['status']}] {escape(i['title'])}  "
                  f"({i['how']}: {escape(i['reason'])})")
    plan = p["plan"]
    if plan:
        reviewed = _when(plan["reviewed_at"]) if plan["reviewed_at"] else "never"
        out.print(f"plan of attack v{plan['version']} (owner {escape(plan['owner'])}, reviewed {reviewed}): "
                  f"time-box {plan['timebox_minutes']} min")
        for n, d in enumerate(plan["diagnostics"]):
            out.print(f"  diagnostic {n}: {escape(d['name'])}: {escape(d.get('search') or 'saved search ' + d['saved_search'])}"
                      f" ({d['earliest']} .. {d['latest']})")
    out.print("signatures:")
    for g in p["signatures"]:
        out.print(f"  {g['id']} {g['kind']}: {escape(g['value'])}")


@problem.command("update")
@click.argument("problem_id", type=int)
@click.option("--statement")
@click.option("--status", help="open, under_investigation, known_error, resolved, closed")
@click.option("--service", "services", multiple=True, help="The affected services (replaces the list).")
@click.option("--root-cause")
@click.option("--workaround")
@click.option("--known-error", help="The known error record (what users see, how to recognise it).")
@click.pass_obj
def update(home: Home, problem_id: int, statement, status, services, root_cause, workaround, known_error) -> None:
    """Change fields of PROBLEM_ID (text fields are set before the status moves)."""
    payload = _clean({"statement": statement, "status": status, "services": list(services) or None,
                      "root_cause": root_cause, "workaround": workaround, "known_error": known_error})
    if not payload:
        raise click.UsageError("nothing to change: give --status, --root-cause, --workaround ...")
    p = _do(home, "PATCH", f"/{problem_id}", payload, lambda s, me: s.update(problem_id, me, **payload))
    click.echo(f"updated {_summary(p)}", err=True)


@problem.command("link")
@click.argument("problem_id", type=int)
@click.argument("incident_id", type=int)
@click.option("--reason", default="", help="Why this incident is an occurrence of the problem.")
@click.option("--remove", is_flag=True, help="Unlink instead.")
@click.pass_obj
def link(home: Home, problem_id: int, incident_id: int, reason: str, remove: bool) -> None:
    """Link INCIDENT_ID to PROBLEM_ID (an occurrence of it)."""
    _do(home, "POST", f"/{problem_id}/incidents", {"incident_id": incident_id, "reason": reason, "remove": remove},
        lambda s, me: s.link(problem_id, incident_id, me, reason=reason, remove=remove))
    click.echo(f"incident {incident_id} {'unlinked from' if remove else 'linked to'} problem {problem_id}", err=True)


@problem.command("plan")
@click.argument("problem_id", type=int)
@click.option("--file", "path", help="Set a new version from this JSON file ('-': standard input); see docs/incidents.md.")
@click.option("--owner", help="The plan's owner (default: the previous version's, else you).")
@click.option("--review", is_flag=True, help="Mark the current version reviewed by you, now.")
@click.option("--version", type=int, help="Show this version instead of the current one.")
@click.option("--output", "-o", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.pass_obj
def plan(home: Home, problem_id: int, path, owner, review, version, output) -> None:
    """Show, set (a new version) or review the plan of attack of PROBLEM_ID."""
    if path:
        try:
            text = sys.stdin.read() if path == "-" else Path(path).read_text()
            body = json.loads(text)
        except OSError as e:
            raise InputError(f"--file {path}: {e.strerror or e}") from None
        except ValueError as e:
            raise InputError(f"--file {path}: not JSON: {e}") from None
        if not isinstance(body, dict):
            raise InputError(f"--file {path}: a JSON object (diagnostics, timebox_minutes, people, runbook, communication)")
        payload = {**body, **_clean({"owner": owner})}
        got = _do(home, "PUT", f"/{problem_id}/plan", payload,
                  lambda s, me: s.set_plan(problem_id, me, body, owner=owner))
        click.echo(f"plan of attack v{got['version']} of problem {problem_id} stored", err=True)
    elif review:
        got = _do(home, "POST", f"/{problem_id}/plan/review", {}, lambda s, me: s.review_plan(problem_id, me))
        click.echo(f"plan v{got['version']} of problem {problem_id} reviewed", err=True)
    else:
        q = f"?version={version}" if version is not None else ""
        got = _do(home, "GET", f"/{problem_id}/plan{q}", None, lambda s, me: s.plan(problem_id, version))
    if output == "json":
        click.echo(json.dumps(got, indent=2))
    elif not path and not review:
        out.print(f"plan of attack v{got['version']}, owner {escape(got['owner'])}, reviewed "
                  f"{_when(got['reviewed_at']) if got['reviewed_at'] else 'never'}; time-box {got['timebox_minutes']} min")
        for n, d in enumerate(got["diagnostics"]):
            out.print(f"  diagnostic {n}: {escape(d['name'])}: {escape(d.get('search') or 'saved search ' + d['saved_search'])}")
        for pp in got["people"]:
            out.print(f"  {escape(pp['role'])}: {escape(pp['who'])}")
        if got["runbook"]:
            out.print("restore runbook:\n" + escape(got["runbook"]))
        c = got["communication"]
        if c.get("template"):
            out.print(f"communication ({c['channel']} to {escape(', '.join(c['to']) or '-')}): {escape(c['template'])}")


@problem.group("signature")
def signature() -> None:
    """Signatures that recognise a problem when an incident opens or an alert fires."""


@signature.command("add")
@click.argument("problem_id", type=int)
@click.option("--alert", help="An alert rule (saved search) name.")
@click.option("--pattern", help="A log pattern: a drain3/cluster template with <*> for variable tokens.")
@click.option("--stack-trace", type=click.Path(dir_okay=False, allow_dash=True),
              help="A file holding a stack trace ('-': standard input); its normalised frames are hashed.")
@click.option("--stack-hash", help="The 16-hex-digit hash of normalised frames.")
@click.option("--service", help="With --error: a service + error pair from a saved search's results.")
@click.option("--error", help="The error value paired with --service.")
@click.option("--saved-search", help="The saved search the pair comes from (kept for reference).")
@click.option("--service-field", default="service", show_default=True)
@click.option("--error-field", default="error", show_default=True)
@click.pass_obj
def sig_add(home: Home, problem_id, alert, pattern, stack_trace, stack_hash, service, error, saved_search,
            service_field, error_field) -> None:
    """Add one signature to PROBLEM_ID (give exactly one kind); prints its id."""
    given = [k for k, v in (("alert", alert), ("pattern", pattern), ("stack", stack_trace or stack_hash),
                            ("search", service or error)) if v]
    if len(given) != 1:
        raise click.UsageError("give one of --alert, --pattern, --stack-trace/--stack-hash, --service with --error")
    kind = given[0]
    value = alert or pattern or stack_hash or ""
    if stack_trace:
        value = sys.stdin.read() if stack_trace == "-" else Path(stack_trace).read_text(errors="replace")
    details = _clean({"service": service, "error": error, "saved_search": saved_search,
                      "service_field": service_field, "error_field": error_field}) if kind == "search" else {}
    got = _do(home, "POST", f"/{problem_id}/signatures", {"kind": kind, "value": value, **details},
              lambda s, me: s.add_signature(problem_id, kind, value, me, details))
    click.echo(got["id"])
    click.echo(f"{kind} signature {got['id']} added to problem {problem_id}: {got['value']}", err=True)


@signature.command("list")
@click.argument("problem_id", type=int)
@OUTPUT
@click.pass_obj
def sig_list(home: Home, problem_id: int, output: str) -> None:
    """List the signatures of PROBLEM_ID."""
    rows = _do(home, "GET", f"/{problem_id}", None, lambda s, me: s.get(problem_id))["signatures"]
    if output == "json":
        click.echo(json.dumps(rows, indent=2))
        return
    t = new_table("id", "kind", "value", "created (UTC)", box=None)
    for g in rows:
        t.add_row(str(g["id"]), g["kind"], escape(g["value"]), _when(g["created_at"]))
    out.print(t)
    if not rows:
        click.echo("no signatures", err=True)


@signature.command("remove")
@click.argument("problem_id", type=int)
@click.argument("signature_id", type=int)
@click.pass_obj
def sig_remove(home: Home, problem_id: int, signature_id: int) -> None:
    """Remove signature SIGNATURE_ID from PROBLEM_ID."""
    _do(home, "DELETE", f"/{problem_id}/signatures/{signature_id}", None,
        lambda s, me: s.remove_signature(problem_id, signature_id, me))
    click.echo(f"signature {signature_id} removed from problem {problem_id}", err=True)


def register(cli: click.Group) -> None:
    cli.add_command(problem)
