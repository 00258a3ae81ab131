"""`speleo saved ...` (saved searches with Splunk's alert attributes) and `speleo alert ...`.

They read and write the operations database directly (it is shared safely with a running
server, whose scheduler reads every change on its next tick).
"""

from __future__ import annotations

import json
import sys

import click
from rich.markup import escape

from speleo.cli.output import console, new_table
from speleo.config import Home
from speleo.errors import SpeleoError

out = console()
err = console(stderr=True)
OUTPUT = click.option("--output", "-o", type=click.Choice(["table", "json"]), default="table", show_default=True)
OWNER = click.option("--owner", default=None, help="Owner (a web user name, or 'nobody'); needed only when "
                                                  "several owners have a search with that name.")


def _store(home: Home):
    from speleo.alerts.store import for_home

    return for_home(home)


@click.group()
def saved() -> None:
    """Saved searches and alerts: import savedsearches.conf, list, show, enable, disable, remove."""


@saved.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--owner", default="nobody", show_default=True, help="Owner of the imported searches.")
@click.option("--replace", is_flag=True, help="Overwrite saved searches that exist with the same name.")
@OUTPUT
@click.pass_obj
def saved_import(home: Home, file: str, owner: str, replace: bool, output: str) -> None:
    """Import the stanzas of a Splunk savedsearches.conf FILE ([default] applies to all).

    Unknown keys are reported and skipped; a stanza that cannot run (bad cron, unknown
    comparator, SPL that does not parse) is reported and not imported (exit status 1)."""
    from speleo.alerts.conf import read_conf

    store = _store(home)
    owner_id = store.owner_id(owner)
    conf = read_conf(file)
    report = {"file": file, "imported": [], "failed": [], "problems": list(conf.problems)}
    for st in conf.merged():
        try:
            res = store.save(owner_id, st.name, st.settings, replace=replace, actor="import")
        except SpeleoError as e:
            report["failed"].append({"name": st.name, "line": _line_of(st, str(e)), "error": str(e)})
            continue
        report["imported"].append({"name": st.name, "created": res.created, "unknown_keys": res.unknown,
                                   "warnings": res.warnings})
    _print_import(report, output)
    if report["failed"]:
        sys.exit(1)


def _line_of(st, message: str) -> int:
    """The line of the key an import error is about (the first one it names), else the stanza's."""
    import re

    text = message.split(": ", 1)[1] if message.startswith("saved search ") else message
    hits = [(m.start(), st.lines[k]) for k in st.lines
            if (m := re.search(rf"(?<![\w.]){re.escape(k)}(?![\w.])", text))]
    return min(hits)[1] if hits else st.line


def _print_import(report: dict, output: str) -> None:
    if output == "json":
        click.echo(json.dumps(report))
        return
    for p in report["problems"]:
        err.print(f"[yellow]warning:[/yellow] {escape(p)}", highlight=False)
    for r in report["imported"]:
        out.print(f"{'imported' if r['created'] else 'replaced'} {escape(repr(r['name']))}", highlight=False)
        if r["unknown_keys"]:
            err.print(f"  [yellow]ignored keys Speleo does not use:[/yellow] {escape(', '.join(r['unknown_keys']))}",
                      highlight=False)
        for w in r["warnings"]:
            err.print(f"  [yellow]note:[/yellow] {escape(w)}", highlight=False)
    for f in report["failed"]:
        err.print(f"[red]not imported[/red] {escape('[' + f['name'] + ']')} (line {f['line']}): {escape(f['error'])}",
                  highlight=False)
    out.print(f"{len(report['imported'])} imported, {len(report['failed'])} not imported")


def _when(ts) -> str:
    import time

    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts)) if ts else ""


@saved.command("list")
@OUTPUT
@click.pass_obj
def saved_list(home: Home, output: str) -> None:
    """List saved searches: schedule, trigger condition, actions, next run, last status."""
    from speleo.alerts.state import StateStore

    store = _store(home)
    states = StateStore(store.db).states()
    rows = []
    for s in store.list():
        d = s.to_dict()
        st = states.get(s.id)
        d["next_scheduled_time"] = st.next_scheduled if st else None
        d["last_status"] = st.last_status if st else None
        rows.append(d)
    if output == "json":
        click.echo(json.dumps(rows, default=str))
        return
    t = new_table("name", "owner", "schedule", "condition", "actions", "next run", "last", header_style="bold")
    for d in rows:
        sched = d["cron_schedule"] if d["is_scheduled"] else "(not scheduled)"
        if d["disabled"]:
            sched += " [disabled]"
        cond = d["alert_condition"] or (d["alert_type"] if d["alert_type"] in ("always", "custom")
                                        else f"{d['alert_type']} {d['alert_comparator']} {d['alert_threshold']}")
        t.add_row(d["name"], d["owner"], sched, cond, d["actions"], _when(d["next_scheduled_time"]),
                  d["last_status"] or "")
    out.print(t)


@saved.command("show")
@click.argument("name")
@OWNER
@OUTPUT
@click.pass_obj
def saved_show(home: Home, name: str, owner, output: str) -> None:
    """Every attribute of saved search NAME (Splunk's REST spelling, defaults filled in)."""
    store = _store(home)
    d = store.get(name, store.owner_id(owner)).to_dict()
    if output == "json":
        click.echo(json.dumps(d, default=str))
        return
    t = new_table("key", "value", header_style="bold")
    for k in sorted(d):
        t.add_row(k, json.dumps(d[k]) if isinstance(d[k], (list, bool)) else str(d[k]))
    out.print(t)


def _set_disabled(home: Home, name: str, owner, flag: bool, output: str) -> None:
    store = _store(home)
    s = store.set_disabled(name, flag, store.owner_id(owner), actor="cli")
    if output == "json":
        click.echo(json.dumps(s.to_dict(), default=str))
    else:
        err.print(f"saved search '{name}' {'disabled' if flag else 'enabled'}", highlight=False)


@saved.command("enable")
@click.argument("name")
@OWNER
@OUTPUT
@click.pass_obj
def saved_enable(home: Home, name: str, owner, output: str) -> None:
    """Enable saved search NAME (it runs on its schedule again)."""
    _set_disabled(home, name, owner, False, output)


@saved.command("disable")
@click.argument("name")
@OWNER
@OUTPUT
@click.pass_obj
def saved_disable(home: Home, name: str, owner, output: str) -> None:
    """Disable saved search NAME (Splunk `disabled = 1`: it never runs)."""
    _set_disabled(home, name, owner, True, output)


@saved.command("remove")
@click.argument("name")
@OWNER
@OUTPUT
@click.pass_obj
def saved_remove(home: Home, name: str, owner, output: str) -> None:
    """Delete saved search NAME (its run history and fired alerts stay until they expire)."""
    store = _store(home)
    s = store.remove(name, store.owner_id(owner), actor="cli")
    if output == "json":
        click.echo(json.dumps({"removed": s.name, "owner": s.owner}))
    else:
        err.print(f"saved search '{name}' removed", highlight=False)


def install_local_sinks(home: Home) -> None:
    """`| collect` and `| sendemail` for searches the CLI runs itself: collect takes the home's
    writer lock (refused, with a message, while a server writes the home)."""
    from speleo.alerts import spl_sinks
    from speleo.alerts.actions import ServerContext
    from speleo.alerts.indexing import write_events
    from speleo.query.timefmt import local_zone
    from speleo.server.scheduling import email_defaults
    from speleo.service import Service

    def write(index, sourcetype, source, host, events):
        svc = Service(home)
        writer = svc.open_writer()
        try:
            n = write_events(writer.store, svc.catalog, index, sourcetype, source, host, events)
            writer.store.seal()
            return n
        finally:
            writer.close()

    tz = local_zone(home.settings.default_tz)
    spl_sinks.install(ServerContext(home, tz, email_defaults=email_defaults(home, None), write_events=write))


@click.group()
def alert() -> None:
    """Alerts: backtest a saved search over past data, list fired alerts."""


@alert.command("test")
@click.argument("name")
@click.option("--earliest", default="-7d", show_default=True, help="Start of the past range to replay.")
@click.option("--latest", default="now", show_default=True, help="End of the range.")
@OWNER
@OUTPUT
@click.pass_obj
def alert_test(home: Home, name: str, earliest: str, latest: str, owner, output: str) -> None:
    """Replay NAME's schedule over past data with a pinned clock: when it would have fired and
    what it would have sent. Nothing is sent and no scheduler state changes."""
    import time

    from speleo.alerts.actions import ServerContext
    from speleo.alerts.backtest import backtest
    from speleo.query.timefmt import local_zone, to_epoch
    from speleo.server.scheduling import email_defaults, search_function
    from speleo.service import Service

    store = _store(home)
    saved = store.get(name, store.owner_id(owner))
    tz = local_zone(home.settings.default_tz)
    now = time.time()
    start, end = to_epoch(earliest, now, tz) or 0.0, to_epoch(latest, now, tz) or now
    server = ServerContext(home, tz, email_defaults=email_defaults(home, None))
    reports = backtest(saved, search_function(Service(home), tz, 10_000), server, tz, start, end)
    rows = [{**r.run.to_dict(), "would_send": [a for a in r.actions], "triggers": len(r.triggers)} for r in reports]
    if output == "json":
        click.echo(json.dumps(rows, default=str))
        return
    t = new_table("scheduled", "status", "results", "measured", "fires", "would send", "reason", header_style="bold")
    for r in rows:
        sends = "; ".join(f"{a['action']}: {json.dumps(a.get('would_send') or a.get('reason'))[:120]}"
                          for a in r["would_send"])
        fires = "suppressed" if r["suppressed"] and not r["triggers"] else ("yes" if r["triggers"] else "no")
        t.add_row(_when(r["scheduled_time"]), r["status"], str(r["result_count"] or 0),
                  "" if r["measured"] is None else f"{r['measured']:g}", fires, sends, r["reason"] or "")
    out.print(t)
    fired = sum(1 for r in rows if r["triggers"])
    err.print(f"{len(rows)} scheduled runs, {fired} would have fired; nothing was sent", highlight=False)


@alert.command("fired")
@click.option("--name", default=None, help="Only this saved search's fired alerts.")
@OUTPUT
@click.pass_obj
def alert_fired(home: Home, name, output: str) -> None:
    """Fired (triggered) alerts that have not expired, newest first."""
    import time

    from speleo.alerts.state import StateStore

    rows = [f.to_dict() for f in StateStore(_store(home).db).fired(time.time(), name)]
    if output == "json":
        click.echo(json.dumps(rows, default=str))
        return
    t = new_table("triggered", "saved search", "severity", "results", "actions", "sid", "expires", header_style="bold")
    for f in rows:
        t.add_row(_when(f["trigger_time"]), f["savedsearch_name"], str(f["severity"]), str(f["triggered_alerts"]),
                  ",".join(f["actions"]), f["sid"], _when(f["expiration_time"]))
    out.print(t)


def register(cli: click.Group) -> None:
    cli.add_command(saved)
    cli.add_command(alert)
