"""`speleo checklist template|run|confirm|check|status|signoff|incident` (release checklists) and
`speleo review ...` (after-action reviews); through the server when one runs, else on the
home's database (see `speleo.cli.learning_cmds`). docs/postmortems.md describes both."""

from __future__ import annotations

import json
from pathlib import Path

import click
from rich.markup import escape

from speleo.cli.incident_cmds import _clean, _time, _when
from speleo.cli.learning_cmds import OUTPUT, do, emit, out
from speleo.config import Home
from speleo.errors import InputError

CL = "/api/v1/checklists"
RV = "/api/v1/reviews"


@click.group()
def checklist() -> None:
    """Release checklists: DO-CONFIRM templates, runs tied to a release, sign-off."""


@checklist.group("template")
def template() -> None:
    """Checklist templates per release type."""


@template.command("add")
@click.argument("name")
@click.option("--release-type", required=True, help="e.g. web-deploy, schema-migration.")
@click.option("--pause-point", required=True, help="When the team stops to confirm the list.")
@click.option("--items", "items_file", required=True, type=click.Path(exists=True, dir_okay=False),
              help="A JSON file: a list of items {name, kind, required, ...} (docs/postmortems.md).")
@click.pass_obj
def template_add(home: Home, name, release_type, pause_point, items_file) -> None:
    """Create or replace the template NAME."""
    try:
        items = json.loads(Path(items_file).read_text())
    except ValueError as e:
        raise InputError(f"{items_file}: not JSON ({e})") from None
    p = {"name": name, "release_type": release_type, "pause_point": pause_point, "items": items}
    do(home, "POST", f"{CL}/templates", p,
       lambda s, me: s["checklists"].save_template(name, release_type, pause_point, items, me))


@template.command("list")
@OUTPUT
@click.pass_obj
def template_list(home: Home, output) -> None:
    """List the templates."""
    rows = do(home, "GET", f"{CL}/templates", None, lambda s, me: {"templates": s["checklists"].templates()})["templates"]
    if emit(rows, output):
        return
    for t in rows:
        out.print(f"{escape(t['name'])} ({escape(t['release_type'])}): {len(t['items'])} items; pause point: "
                  f"{escape(t['pause_point'])}")


@checklist.command("run")
@click.argument("template_name")
@click.option("--release", required=True, help="The release's name.")
@click.option("--version", "version", required=True)
@click.option("--at", help="When the release went out (default now).")
@click.pass_obj
def run_cmd(home: Home, template_name, release, version, at) -> None:
    """Record a release and start a run of TEMPLATE_NAME for it; prints the run id."""
    p = _clean({"template": template_name, "release": release, "version": version, "at": _time(at)})
    r = do(home, "POST", f"{CL}/runs", p,
           lambda s, me: s["checklists"].start_run(template_name, release, version, me, at=p.get("at")))
    click.echo(r["id"])


@checklist.command("confirm")
@click.argument("run_id", type=int)
@click.argument("item_id", type=int)
@click.option("--fail", is_flag=True, help="The item did not hold (manual items).")
@click.option("--note", default="")
@click.pass_obj
def confirm(home: Home, run_id, item_id, fail, note) -> None:
    """Confirm a manual item, or re-run an automated one; prints its result."""
    i = do(home, "POST", f"{CL}/runs/{run_id}/items/{item_id}/confirm", {"ok": not fail, "note": note},
           lambda s, me: s["checklists"].confirm(run_id, item_id, me, ok=not fail, note=note))
    click.echo(f"{i['status']}: {i['name']}: {i['evidence'][-1].get('detail', '')}")


@checklist.command("check")
@click.argument("run_id", type=int)
@OUTPUT
@click.pass_obj
def check(home: Home, run_id, output) -> None:
    """Run every automated item of RUN_ID now."""
    r = do(home, "POST", f"{CL}/runs/{run_id}/check", {}, lambda s, me: s["checklists"].check_all(run_id, me))
    _show_run(r, output)


@checklist.command("status")
@click.argument("run_id", type=int)
@OUTPUT
@click.pass_obj
def status(home: Home, run_id, output) -> None:
    """Show RUN_ID: its release, items, evidence, and what blocks the sign-off."""
    _show_run(do(home, "GET", f"{CL}/runs/{run_id}", None, lambda s, me: s["checklists"].status(run_id)), output)


@checklist.command("signoff")
@click.argument("run_id", type=int)
@click.pass_obj
def signoff(home: Home, run_id) -> None:
    """Sign RUN_ID off; refused (exit 1, rule signoff-needs-all-required) while a required item has not passed."""
    do(home, "POST", f"{CL}/runs/{run_id}/signoff", {}, lambda s, me: s["checklists"].sign_off(run_id, me))
    click.echo(f"run {run_id} signed off", err=True)


@checklist.command("incident")
@click.argument("run_id", type=int)
@click.argument("item_id", type=int)
@click.pass_obj
def incident(home: Home, run_id, item_id) -> None:
    """Open an incident for the failed ITEM_ID, linked to the run's release; prints its id."""
    i = do(home, "POST", f"{CL}/runs/{run_id}/items/{item_id}/incident", {},
           lambda s, me: s["checklists"].open_incident(run_id, item_id, me, s["incidents"]))
    click.echo(i["id"])


def _show_run(r: dict, output: str) -> None:
    if emit(r, output):
        return
    rel = r["release"]
    out.print(escape(f"run {r['id']} of {r['template']}: release {rel['name']} {rel['version']} by {rel['who']} at "
                     f"{_when(rel['at'])}"))
    out.print(escape(f"pause point: {r['pause_point']}"))
    for i in r["items"]:
        last = i["evidence"][-1] if i["evidence"] else {}
        out.print(escape(f"  {i['id']:>4} {i['status']:<8} {i['name']} ({i['kind']}"
                         f"{'' if i['required'] else ', optional'}) {last.get('detail', '')}"))
    if r["signed_off_at"]:
        out.print(f"signed off by {escape(r['signed_off_by'])} at {_when(r['signed_off_at'])}")
    elif r["blocking"]:
        out.print(escape(f"sign-off blocked by: {', '.join(r['blocking'])}"))


# -- review ------------------------------------------------------------------------------------
@click.group()
def review() -> None:
    """After-action reviews: goals and targets, observed results, why, sustain/improve actions."""


@review.command("create")
@click.argument("title")
@click.option("--start", required=True, help="Start of the project's or release's window.")
@click.option("--end", required=True)
@click.option("--release", "release_id", type=int)
@click.pass_obj
def review_create(home: Home, title, start, end, release_id) -> None:
    """Create a review of TITLE over START..END; prints its id."""
    p = _clean({"title": title, "window_start": _time(start), "window_end": _time(end), "release_id": release_id})
    r = do(home, "POST", RV, p, lambda s, me: s["reviews"].create(title, p["window_start"], p["window_end"], me,
                                                                   release_id))
    click.echo(r["id"])


@review.command("goal")
@click.argument("review_id", type=int)
@click.option("--text", required=True, help="What was supposed to happen.")
@click.option("--op", required=True, type=click.Choice(["<=", ">=", "<", ">", "=="]))
@click.option("--target", required=True, type=float)
@click.option("--search", help="SPL whose first number (or count) is the observed result.")
@click.pass_obj
def review_goal(home: Home, review_id, text, op, target, search) -> None:
    """Add a goal with a measurable target; prints its id."""
    p = _clean({"text": text, "op": op, "target": target, "search": search})
    g = do(home, "POST", f"{RV}/{review_id}/goals", p,
           lambda s, me: s["reviews"].add_goal(review_id, me, text, op, target, search))
    click.echo(g["id"])


@review.command("observe")
@click.argument("review_id", type=int)
@OUTPUT
@click.pass_obj
def review_observe(home: Home, review_id, output) -> None:
    """Fill the observed results by running each goal's search over the window."""
    _show_review(do(home, "POST", f"{RV}/{review_id}/observe", {},
                    lambda s, me: s["reviews"].observe(review_id, me)), output)


@review.command("update")
@click.argument("review_id", type=int)
@click.option("--went-right")
@click.option("--went-wrong")
@click.option("--goal", type=int)
@click.option("--why", help="Why the goal's result differs (with --goal).")
@click.option("--observed", type=float, help="An observed result measured by hand (with --goal).")
@click.pass_obj
def review_update(home: Home, review_id, went_right, went_wrong, goal, why, observed) -> None:
    """Record what went right and wrong, and why a goal's result differs."""
    p = _clean({"went_right": went_right, "went_wrong": went_wrong, "goal": goal, "why": why, "observed": observed})
    do(home, "PATCH", f"{RV}/{review_id}", p, lambda s, me: s["reviews"].update(review_id, me, **p))


@review.command("action")
@click.argument("review_id", type=int)
@click.option("--kind", required=True, type=click.Choice(["sustain", "improve"]))
@click.option("--title")
@click.option("--owner")
@click.option("--expected")
@click.option("--due")
@click.option("--goal", type=int)
@click.pass_obj
def review_action(home: Home, review_id, kind, title, owner, expected, due, goal) -> None:
    """Add a sustain or improve action (one owner, expected result, due date); prints its id."""
    p = _clean({"kind": kind, "title": title, "owner": owner, "expected": expected, "due_at": _time(due), "goal": goal})
    a = do(home, "POST", f"{RV}/{review_id}/actions", p,
           lambda s, me: s["reviews"].add_action(review_id, me, kind=kind, title=title, owner=owner,
                                                 expected=expected, due_at=p.get("due_at"), goal=goal))
    click.echo(a["id"])


@review.command("finish")
@click.argument("review_id", type=int)
@click.pass_obj
def review_finish(home: Home, review_id) -> None:
    """Finish the review; refused (exit 1, the rule named) without owned actions or observed results."""
    do(home, "POST", f"{RV}/{review_id}/finish", {}, lambda s, me: s["reviews"].finish(review_id, me))
    click.echo(f"review {review_id} finished", err=True)


@review.command("show")
@click.argument("review_id", type=int)
@OUTPUT
@click.pass_obj
def review_show(home: Home, review_id, output) -> None:
    """Show a review: goals, targets, observed results, differences, actions."""
    _show_review(do(home, "GET", f"{RV}/{review_id}", None, lambda s, me: s["reviews"].get(review_id)), output)


@review.command("list")
@OUTPUT
@click.pass_obj
def review_list(home: Home, output) -> None:
    """List reviews."""
    rows = do(home, "GET", RV, None, lambda s, me: {"reviews": s["reviews"].list()})["reviews"]
    if emit(rows, output):
        return
    for r in rows:
        out.print(escape(f"{r['id']:>4} {r['status']:<9} {r['title']}"))


def _show_review(r: dict, output: str) -> None:
    if emit(r, output):
        return
    out.print(escape(f"review {r['id']} ({r['status']}): {r['title']}  {_when(r['window_start'])} .. "
                     f"{_when(r['window_end'])}"))
    for g in r["goals"]:
        met = {True: "met", False: "missed", None: "not observed"}[g["met"]]
        out.print(escape(f"  goal {g['id']}: {g['text']}: target {g['op']} {g['target']:g}, observed "
                         f"{g['observed']}, {met}. {g['why']}"))
    for a in r["actions"]:
        out.print(escape(f"  {a['type']} action {a['id']} ({a['owner']}, due {_when(a['due_at'])}): {a['title']}"))


def register(cli: click.Group) -> None:
    cli.add_command(checklist)
    cli.add_command(review)
