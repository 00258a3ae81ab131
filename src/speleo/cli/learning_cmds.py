"""`speleo postmortem ...` and `speleo action ...`: post-mortems in three gated phases and the
action items they (and reviews, problems) create (docs/postmortems.md).

Like the incident commands, each goes through the running server's API when one runs for the
home (`/api/v1/postmortems`, `/api/v1/actions`), else opens the operations database itself as the
local user. A refused gate exits 1 and says the rule's name (`(rule actions-phase-only)`).
Times are epoch seconds or ISO 8601 (`2026-12-20`, `2026-12-20T09:00:00Z`; without a zone: UTC).
"""

from __future__ import annotations

import getpass
import json
from pathlib import Path
from urllib.parse import urlencode

import click
from rich.markup import escape

from speleo.cli import client
from speleo.cli.incident_cmds import _clean, _time, _when
from speleo.cli.output import console, new_table
from speleo.config import Home

out = console(highlight=False)


def local_services(home: Home) -> dict:
    """The learning-loop services over the home's database (no server running)."""
    from speleo.ops.actions import Actions
    from speleo.ops.checklists import Checklists, service_searcher
    from speleo.ops.db import Database
    from speleo.ops.incidents.service import Incidents
    from speleo.ops.postmortems import Postmortems
    from speleo.ops.reviews import Reviews

    def searcher(spl: str, earliest: float, latest: float):  # opens the indexes only when a check searches
        from speleo.service import Service

        return service_searcher(Service(home))(spl, earliest, latest)

    db = Database.for_home(home)
    actions = Actions.for_home(home.root, db)
    return {"actions": actions, "postmortems": Postmortems(db, None, actions), "incidents": Incidents(db),
            "checklists": Checklists(db, None, searcher), "reviews": Reviews(db, None, searcher, actions),
            "notifier": lambda: __import__("speleo.ops.notify", fromlist=["Notifier"]).Notifier.for_home(home, db)}


def do(home: Home, method: str, path: str, payload: dict | None, local):
    """Call the server's `path` when it runs, else `local(services, actor)`."""
    if client.server_url(home):
        return client.call(home, method, path, payload)
    return local(local_services(home), getpass.getuser())


def emit(data, output: str) -> bool:
    """Print JSON and return True when `output` is json."""
    if output == "json":
        click.echo(json.dumps(data, indent=2))
        return True
    return False


OUTPUT = click.option("--output", "-o", type=click.Choice(["text", "json"]), default="text", show_default=True)
PM = "/api/v1/postmortems"
ACT = "/api/v1/actions"


# -- postmortem ----------------------------------------------------------------------------------
@click.group()
def postmortem() -> None:
    """Post-mortems in three gated phases: timeline, issues, actions (docs/postmortems.md)."""


@postmortem.command("start")
@click.argument("incident", type=int)
@click.option("--facilitator", help="Who runs the meeting and records the agreement.")
@click.option("--attendee", "attendees", multiple=True, help="Someone present (repeatable).")
@click.pass_obj
def pm_start(home: Home, incident: int, facilitator, attendees) -> None:
    """Start the post-mortem of resolved INCIDENT; prints its id. Phase 1: the timeline."""
    p = _clean({"incident": incident, "facilitator": facilitator, "attendees": list(attendees)})
    pm = do(home, "POST", PM, p, lambda s, me: s["postmortems"].start(incident, me, facilitator=facilitator,
                                                                    attendees=attendees))
    click.echo(pm["id"])
    click.echo(f"post-mortem {pm['id']} started in phase {pm['phase']} with {len(pm['entries'])} candidate entries",
               err=True)


@postmortem.command("list")
@click.option("--incident", type=int)
@OUTPUT
@click.pass_obj
def pm_list(home: Home, incident, output) -> None:
    """List post-mortems, newest first."""
    q = "?" + urlencode({"incident": incident}) if incident else ""
    rows = do(home, "GET", PM + q, None, lambda s, me: {"postmortems": s["postmortems"].list(incident)})["postmortems"]
    if emit(rows, output):
        return
    t = new_table("id", "incident", "phase", "facilitator", "title", box=None)
    for r in rows:
        t.add_row(str(r["id"]), str(r["incident_id"]), r["phase"], escape(r["facilitator"] or "-"), escape(r["title"]))
    out.print(t)


@postmortem.command("show")
@click.argument("pm", type=int)
@OUTPUT
@click.pass_obj
def pm_show(home: Home, pm: int, output) -> None:
    """Show PM: its phase, what blocks the next one (the gate), timeline, issues and actions."""
    d = do(home, "GET", f"{PM}/{pm}", None, lambda s, me: s["postmortems"].get(pm))
    if emit(d, output):
        return
    out.print(escape(f"post-mortem {d['id']} (incident {d['incident_id']}): {d['title']}"))
    out.print(f"phase: {d['phase']}   facilitator: {escape(d['facilitator'] or '-')}   attendees: "
              f"{escape(', '.join(d['attendees']) or '-')}")
    for g in d["gate"]:
        out.print(f"  gate: {escape(g['message'])} (rule {g['rule']})")
    out.print("timeline:")
    for e in d["entries"]:
        marks = "".join(m for m, f in ((" [impact start]", e["impact_start"]), (" [detection]", e["detection"]),
                                        (" [late]", e["late"])) if f)
        out.print(f"  {e['id']:>4} {_when(e['at'])} {e['state']:<9} {escape(e['text'])}{marks}  ({escape(e['source'])})")
    for i in d["issues"]:
        out.print(f"issue {i['id']}: {escape(i['text'])} (entries {i['entries']})")
    for a in d["actions"]:
        out.print(f"action {a['id']} (issue {a['source_item']}, {a['type']}, {escape(a['owner'])}, due "
                  f"{_when(a['due_at'])}, {a['status']}): {escape(a['title'])}")
        for w in a["warnings"]:
            out.print(f"    warning: {escape(w)}")


@postmortem.command("advance")
@click.argument("pm", type=int)
@click.option("--agreed", is_flag=True, help="Phase 1: the facilitator records that everyone agrees on the timeline.")
@click.pass_obj
def pm_advance(home: Home, pm: int, agreed: bool) -> None:
    """Move PM to its next phase; refused (exit 1, the rule named) while its gate does not pass."""
    d = do(home, "POST", f"{PM}/{pm}/advance", {"agreed": agreed},
           lambda s, me: s["postmortems"].advance(pm, me, agreed=agreed))
    click.echo(f"post-mortem {pm} is now in phase {d['phase']}", err=True)


@postmortem.command("people")
@click.argument("pm", type=int)
@click.option("--facilitator")
@click.option("--attendee", "attendees", multiple=True, help="Replaces the attendees (repeatable).")
@click.pass_obj
def pm_people(home: Home, pm: int, facilitator, attendees) -> None:
    """Record the facilitator and the attendees of PM."""
    p = _clean({"facilitator": facilitator, "attendees": list(attendees) or None})
    do(home, "POST", f"{PM}/{pm}/people", p,
       lambda s, me: s["postmortems"].set_people(pm, me, facilitator=facilitator, attendees=attendees or None))


@postmortem.command("export")
@click.argument("pm", type=int)
@click.option("--format", "fmt", type=click.Choice(["markdown", "html"]), default="markdown", show_default=True)
@click.option("--file", "path", type=click.Path(dir_okay=False), help="Write here instead of standard output.")
@click.pass_obj
def pm_export_cmd(home: Home, pm: int, fmt: str, path) -> None:
    """Export PM as Markdown or as a printable HTML page."""
    from speleo.ops import pm_export

    d = do(home, "GET", f"{PM}/{pm}", None, lambda s, me: s["postmortems"].get(pm))
    text = pm_export.markdown(d) if fmt == "markdown" else pm_export.printable(d)
    if path:
        Path(path).write_text(text)
    else:
        click.echo(text, nl=False)


@postmortem.group("entry")
def pm_entry() -> None:
    """Phase 1: add, accept, reject, edit and mark timeline entries."""


@pm_entry.command("add")
@click.argument("pm", type=int)
@click.option("--at", required=True, help="When it happened (epoch or ISO 8601).")
@click.option("--text", required=True)
@click.option("--search", help="The search that shows it (its link re-runs it).")
@click.option("--earliest")
@click.option("--latest")
@click.pass_obj
def entry_add(home: Home, pm: int, at, text, search, earliest, latest) -> None:
    """Add an entry to PM's timeline (after phase 1 it is marked late); prints its id."""
    p = _clean({"at": _time(at), "text": text, "search": search, "earliest": _time(earliest), "latest": _time(latest)})
    e = do(home, "POST", f"{PM}/{pm}/entries", p, lambda s, me: s["postmortems"].add_entry(pm, me, **p))
    click.echo(e["id"])


def _entry_change(home: Home, pm: int, entry: int, **changes) -> dict:
    p = _clean(changes)
    return do(home, "PATCH", f"{PM}/{pm}/entries/{entry}", p,
              lambda s, me: s["postmortems"].update_entry(pm, entry, me, **p))


@pm_entry.command("accept")
@click.argument("pm", type=int)
@click.argument("entries", type=int, nargs=-1, required=True)
@click.pass_obj
def entry_accept(home: Home, pm: int, entries) -> None:
    """Accept candidate ENTRIES of PM."""
    for n in entries:
        _entry_change(home, pm, n, state="accepted")


@pm_entry.command("reject")
@click.argument("pm", type=int)
@click.argument("entries", type=int, nargs=-1, required=True)
@click.pass_obj
def entry_reject(home: Home, pm: int, entries) -> None:
    """Reject candidate ENTRIES of PM (they stay, shown as rejected)."""
    for n in entries:
        _entry_change(home, pm, n, state="rejected")


@pm_entry.command("edit")
@click.argument("pm", type=int)
@click.argument("entry", type=int)
@click.option("--text")
@click.option("--at")
@click.option("--impact-start", is_flag=True, help="This entry is where the impact started.")
@click.option("--detection", is_flag=True, help="This entry is where the failure was detected.")
@click.pass_obj
def entry_edit(home: Home, pm: int, entry: int, text, at, impact_start, detection) -> None:
    """Edit or mark ENTRY of PM (marking also accepts it)."""
    _entry_change(home, pm, entry, text=text, at=_time(at), impact_start=impact_start or None,
                  detection=detection or None)


@postmortem.group("issue")
def pm_issue() -> None:
    """Phase 2: issues found by walking the timeline."""


@pm_issue.command("add")
@click.argument("pm", type=int)
@click.option("--text", required=True, help="What went wrong (or well).")
@click.option("--entry", "entries", type=int, multiple=True, help="A timeline entry it concerns (repeatable).")
@click.pass_obj
def issue_add(home: Home, pm: int, text, entries) -> None:
    """Record an issue of PM pointing at timeline entries; prints its id."""
    i = do(home, "POST", f"{PM}/{pm}/issues", {"text": text, "entries": list(entries)},
           lambda s, me: s["postmortems"].add_issue(pm, me, text, entries))
    click.echo(i["id"])


@postmortem.group("action")
def pm_action() -> None:
    """Phase 3: actions, at least one per issue."""


@pm_action.command("add")
@click.argument("pm", type=int)
@click.option("--issue", type=int, help="The issue it addresses.")
@click.option("--owner", help="Exactly one user.")
@click.option("--expected", help="The expected result, measurable.")
@click.option("--due", help="Due date (ISO 8601 or epoch).")
@click.option("--type", "type_", help="detect, prevent, mitigate or process.")
@click.option("--title", help="What will be done, starting with a verb (default: the expected result).")
@click.pass_obj
def action_add(home: Home, pm: int, issue, owner, expected, due, type_, title) -> None:
    """Create an action of PM (phase 3 only); prints its id and any SMART warnings."""
    p = _clean({"issue": issue, "owner": owner, "expected": expected, "due_at": _time(due), "type": type_,
                "title": title})
    a = do(home, "POST", f"{PM}/{pm}/actions", p,
           lambda s, me: s["postmortems"].add_action(pm, me, issue=p.pop("issue", None), **p))
    click.echo(a["id"])
    for w in a["warnings"]:
        click.echo(f"warning: {w}", err=True)


# -- action --------------------------------------------------------------------------------------
@click.group()
def action() -> None:
    """Action items: list, backlog, close with evidence, remind; people's email, team and manager."""


@action.command("list")
@click.option("--status", type=click.Choice(["open", "done"]))
@click.option("--owner")
@click.option("--team")
@click.option("--source", "source_type", help="postmortem, review, problem ...")
@click.option("--overdue", is_flag=True)
@OUTPUT
@click.pass_obj
def action_list(home: Home, status, owner, team, source_type, overdue, output) -> None:
    """List actions, the soonest due first."""
    q = _clean({"status": status, "owner": owner, "team": team, "source_type": source_type,
                "overdue": "true" if overdue else None})
    rows = do(home, "GET", f"{ACT}?{urlencode(q)}", None,
              lambda s, me: {"actions": s["actions"].list(**{**q, "overdue": overdue})})["actions"]
    if emit(rows, output):
        return
    t = new_table("id", "status", "due (UTC)", "owner", "team", "type", "source", "title", box=None)
    for a in rows:
        due = _when(a["due_at"]) + (" OVERDUE" if a["overdue"] else "")
        t.add_row(str(a["id"]), a["status"], due, escape(a["owner"]), escape(a["team"] or "-"), a["type"],
                  f"{a['source_type']} {a['source_id']}", escape(a["title"]))
    out.print(t)


@action.command("backlog")
@OUTPUT
@click.pass_obj
def action_backlog(home: Home, output) -> None:
    """Open and overdue actions by team, owner, source and age."""
    b = do(home, "GET", f"{ACT}/backlog", None, lambda s, me: s["actions"].backlog())
    if emit(b, output):
        return
    out.print(f"{b['open']} open, {b['overdue']} overdue")
    for group in ("by_team", "by_owner", "by_source", "by_age"):
        out.print(group.replace("_", " ") + ":")
        for g in b[group]:
            out.print(f"  {escape(g['key']):<24} {g['open']:>4} open {g['overdue']:>4} overdue")


@action.command("done")
@click.argument("action_id", type=int)
@click.option("--link", help="Evidence: the merged change, the updated runbook (http/https).")
@click.option("--saved-search", help="Evidence: a saved search or alert that now detects the failure mode.")
@click.option("--checklist", help="Evidence: a checklist item, RUN:ITEM.")
@click.pass_obj
def action_done(home: Home, action_id: int, link, saved_search, checklist) -> None:
    """Close ACTION_ID with evidence (one of --link, --saved-search, --checklist)."""
    kind, ev = next(((k, v) for k, v in (("link", link), ("saved_search", saved_search), ("checklist", checklist))
                     if v), (None, None))
    p = _clean({"evidence_kind": kind, "evidence": ev})
    do(home, "POST", f"{ACT}/{action_id}/done", p, lambda s, me: s["actions"].done(action_id, me, kind, ev))
    click.echo(f"action {action_id} done ({kind}: {ev})", err=True)


@action.command("remind")
@click.argument("action_id", type=int)
@click.pass_obj
def action_remind(home: Home, action_id: int) -> None:
    """Email ACTION_ID's owner a reminder now."""
    r = do(home, "POST", f"{ACT}/{action_id}/remind", {},
           lambda s, me: s["actions"].remind(action_id, s["notifier"](), me))
    click.echo(f"reminder {r['outcome']}", err=True)


@action.command("person")
@click.argument("name")
@click.option("--email")
@click.option("--team")
@click.option("--manager", help="The user reminded when NAME's actions stay overdue.")
@click.pass_obj
def action_person(home: Home, name, email, team, manager) -> None:
    """Set NAME's email, team and manager (for reminders and the backlog)."""
    p = _clean({"email": email, "team": team, "manager": manager})
    do(home, "PUT", f"{ACT}/people/{name}", p, lambda s, me: s["actions"].set_person(name, me, **p))


def register(cli: click.Group) -> None:
    cli.add_command(postmortem)
    cli.add_command(action)
