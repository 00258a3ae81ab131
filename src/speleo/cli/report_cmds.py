"""`speleo report response|availability|capacity|disks` and `speleo slo create|list|show|remove`.

A command asks the running server when one runs for the home (`/api/v1/reports/...`,
`/api/v1/slos`, docs/api.md); otherwise it opens the home's operations database (and, for the
reports that search, the home's indexes) itself. `--output table|json|csv` (CSV: one header
line, then one line per row; durations in seconds). See docs/reports.md.
"""

from __future__ import annotations

import csv
import io
import json
import sys
import time
from urllib.parse import urlencode

import click
from rich.markup import escape

from speleo.cli import client
from speleo.cli.output import console, new_table
from speleo.config import Home

out = console(highlight=False)
OUTPUT = click.option("--output", "-o", type=click.Choice(["table", "json", "csv"]), default="table",
                      show_default=True, help="table for people; json (one document) or csv for programs.")


def _fetch(home: Home, path: str, params: dict, local):
    """GET the report from the server when it runs, else `local()` on the home itself."""
    params = {k: v for k, v in params.items() if v is not None}
    if client.server_url(home):
        return client.call(home, "GET", path + ("?" + urlencode(params) if params else ""))
    return local()


def duration(secs: float | None) -> str:
    """`3d04h`, `2h05m`, `4m10s`, `12s` (None: `-`)."""
    if secs is None:
        return "-"
    s = int(round(secs))
    sign, s = ("-", -s) if s < 0 else ("", s)
    if s >= 86400:
        return f"{sign}{s // 86400}d{s % 86400 // 3600:02d}h"
    if s >= 3600:
        return f"{sign}{s // 3600}h{s % 3600 // 60:02d}m"
    if s >= 60:
        return f"{sign}{s // 60}m{s % 60:02d}s"
    return f"{sign}{s}s"


def write_csv(rows: list[dict]) -> None:
    buf = io.StringIO()
    if rows:
        w = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    sys.stdout.write(buf.getvalue())


def emit(rep: dict, rows: list[dict], output: str, table) -> None:
    """Print `rep` as JSON, its `rows` as CSV, or call `table(rep)` for people."""
    if output == "json":
        click.echo(json.dumps(rep, indent=2, default=str))
    elif output == "csv":
        write_csv(rows)
    else:
        table(rep)


@click.group()
def report() -> None:
    """Operations reports: response times, availability (SLOs), capacity, disk health."""


@report.command("response")
@click.option("--since", help="Incidents declared from (epoch, ISO 8601 or relative like -90d).")
@click.option("--until", help="... until (exclusive; default: now).")
@click.option("--severity", help="Only this severity (SEV1..SEV4).")
@click.option("--service", help="Only incidents affecting this service.")
@OUTPUT
@click.pass_obj
def response_cmd(home: Home, since, until, severity, service, output) -> None:
    """MTTD, MTTA, MTTM and MTTR (mean, median, p90) by severity, service and month."""
    from speleo.ops.reports import response

    def local():
        from speleo.ops.db import Database
        from speleo.ops.reports.times import parse_time

        now = time.time()
        return response.report(Database.for_home(home), parse_time(since, now, "--since"),
                               parse_time(until, now, "--until"), severity, service)

    rep = _fetch(home, "/api/v1/reports/response",
                 {"since": since, "until": until, "severity": severity, "service": service}, local)
    emit(rep, response.rows(rep), output, _response_table)


def _response_table(rep: dict) -> None:
    for d in rep["definitions"]:
        out.print(f"{d['measure']} ({d['name']}) = {d['definition']}")
    out.print("mean / median / p90 per measure; n = incidents with both timestamps\n")
    t = new_table("by", "key", "incidents", "MTTD", "MTTA", "MTTM", "MTTR", box=None)
    groups = [("all", {"key": "all", **rep["overall"]})] + [(g, x) for g, xs in rep["by"].items() for x in xs]
    for g, f in groups:
        cells = [f"{duration(f[m]['mean'])} / {duration(f[m]['median'])} / {duration(f[m]['p90'])} (n={f[m]['n']})"
                 for m in ("mttd", "mtta", "mttm", "mttr")]
        t.add_row(g, escape(str(f["key"])), str(f["incidents"]), *cells)
    out.print(t)




# -- capacity and disks ------------------------------------------------------------------------
def _local_search_and_rollup(home: Home):
    """(search, rollup) over the home without a server: the home owner's search and the reports'
    hourly summaries in its operations database (speleo.ops.reports.rollup)."""
    import time

    from speleo.ops.db import Database
    from speleo.ops.reports.rollup import Rollup, catalog_fingerprint
    from speleo.service import Service

    svc = Service(home)

    def search(spl, earliest, latest, limit):
        return svc.search(spl, earliest=earliest, latest=latest, limit=limit, timeline=False, capabilities=None)

    if svc.on_clickhouse:
        return search, None
    return search, Rollup(Database.for_home(home), catalog_fingerprint(svc.catalog), time.time, scope="local")


def _bounds(since, until, default_since: str) -> tuple[float, float]:
    from speleo.ops.reports.times import parse_time

    now = time.time()
    return parse_time(since or default_since, now, "--since"), parse_time(until, now, "--until") or now


def _bytes(v) -> str:
    if v is None:
        return "-"
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(v) < 1024 or unit == "TB":
            return f"{v:,.1f} {unit}"
        v /= 1024
    return "-"


@report.command("capacity")
@click.option("--since", help="From (epoch, ISO 8601 or relative like -7d; default -7d).")
@click.option("--until", help="Until (default: now).")
@click.option("--index", default="metrics", show_default=True, help="The forwarder's metrics index.")
@click.option("--host", help="Only this host.")
@click.option("--service", help="Only the hosts of this service (the forwarder's --service).")
@click.option("--forecast-days", type=click.FloatRange(min=0.01), default=7.0, show_default=True,
              help="Days of recent usage the days-until-full forecast is fitted on.")
@OUTPUT
@click.pass_obj
def capacity_cmd(home: Home, since, until, index, host, service, forecast_days, output) -> None:
    """CPU, memory, disk and network use per host and service, and days until each file system is full."""
    from speleo.ops.reports import capacity

    def local():
        lo, hi = _bounds(since, until, "-7d")
        search, rollup = _local_search_and_rollup(home)
        return capacity.report(search, lo, hi, index, host, forecast_days, rollup=rollup, service=service)

    rep = _fetch(home, "/api/v1/reports/capacity", {"since": since, "until": until, "index": index, "host": host,
                                                   "service": service, "forecast_days": forecast_days}, local)
    emit(rep, capacity.rows(rep), output, _capacity_table)


def _capacity_table(rep: dict) -> None:
    if rep.get("services"):
        t = new_table("service", "hosts", "cpu avg/max", "memory avg/max", "fullest disk avg/max", "net in avg",
                      "net out avg", box=None)
        for sv in rep["services"]:
            t.add_row(escape(sv["service"]), escape(", ".join(sv["hosts"])),
                      f"{_num(sv['cpu_avg'], 1)} / {_num(sv['cpu_max'], 1)} %",
                      f"{_num(sv['memory_avg'], 1)} / {_num(sv['memory_max'], 1)} %",
                      f"{_num(sv['disk_avg'], 1)} / {_num(sv['disk_max'], 1)} %",
                      _bytes(sv["net_recv_avg"]) + "/s", _bytes(sv["net_sent_avg"]) + "/s")
        out.print(t)
    t = new_table("host", "service", "cpu avg/max", "memory avg/max", "fullest disk avg/max", "net in avg",
                  "net out avg", box=None)
    for h in rep["hosts"]:
        t.add_row(escape(h["host"]), escape(", ".join(h.get("services") or [])) or "-",
                  f"{_num(h['cpu_avg'], 1)} / {_num(h['cpu_max'], 1)} %",
                  f"{_num(h['memory_avg'], 1)} / {_num(h['memory_max'], 1)} %",
                  f"{_num(h['disk_avg'], 1)} / {_num(h['disk_max'], 1)} %",
                  _bytes(h["net_recv_avg"]) + "/s", _bytes(h["net_sent_avg"]) + "/s")
    out.print(t)
    if not rep["hosts"]:
        click.echo("no host metrics in this range (sourcetype speleo:metrics; see 'speleo forward')", err=True)
    t = new_table("host", "mount", "used", "total", "growth per day", "days until full", box=None)
    for f in rep["filesystems"]:
        left = f["status"] if f["days_until_full"] is None else f"{f['days_until_full']:.1f} ({_utc(f['full_at'])})"
        t.add_row(escape(f["host"]), escape(f["mount"]), _bytes(f["used"]), _bytes(f["total"]),
                  _bytes(f["growth_bytes_per_day"]), left)
    out.print(t)


@report.command("disks")
@click.option("--since", help="From (epoch, ISO 8601 or relative like -30d; default -30d).")
@click.option("--until", help="Until (default: now).")
@click.option("--index", default="metrics", show_default=True, help="The index of the smartctl:json events.")
@OUTPUT
@click.pass_obj
def disks_cmd(home: Home, since, until, index, output) -> None:
    """Each drive's failure-predicting SMART figures, their trend and a risk rating."""
    from speleo.ops.reports import disks

    def local():
        lo, hi = _bounds(since, until, "-30d")
        search, rollup = _local_search_and_rollup(home)
        return disks.report(search, lo, hi, index, rollup=rollup)

    rep = _fetch(home, "/api/v1/reports/disks", {"since": since, "until": until, "index": index}, local)
    emit(rep, disks.rows(rep), output, _disks_table)


def _disks_table(rep: dict) -> None:
    t = new_table("risk", "host", "device", "model", "serial", "figures (first -> last)", "why", box=None)
    for d in rep["drives"]:
        figs = ", ".join(f"{n} {a['first']}->{a['last']}" for n, a in d["attributes"].items() if a["first"] or a["last"])
        t.add_row(d["risk"].upper() if d["risk"] in ("failing", "high") else d["risk"], escape(d["host"]),
                  escape(d["device"]), escape(d["model"] or "-"), escape(d["serial"] or "-"), escape(figs or "all 0"),
                  escape("; ".join(d["reasons"]) or "-"))
    out.print(t)
    if not rep["drives"]:
        click.echo("no smartctl:json events in this range (the forwarder sends them where smartctl is installed)",
                   err=True)
    for f in rep["flagged"]:
        out.print(f"flagged: {escape(f['host'])} at {_utc(f['time'])}: {escape(f['reason'])}")
    if rep.get("truncated"):
        click.echo("more smartctl documents than one report reads: the newest were used; narrow --since", err=True)


# -- availability and SLOs ------------------------------------------------------------------
def _local_slos(home: Home):
    """The SLO service on the home itself (no server): the home's search, saved searches, now."""
    from speleo.alerts.store import for_home
    from speleo.ops.db import Database
    from speleo.ops.slo.service import Slos
    from speleo.service import Service

    svc = Service(home)

    def search(spl, earliest, latest, limit):
        return svc.search(spl, earliest=earliest, latest=latest, limit=limit, timeline=False, capabilities=None)

    from speleo.ops.reports.rollup import Rollup, catalog_fingerprint

    db = Database.for_home(home)
    slos = Slos(db, search, for_home(home))
    slos.rollup = None if svc.on_clickhouse else Rollup(db, catalog_fingerprint(svc.catalog), time.time, scope="local")
    return slos, db


@report.command("availability")
@click.option("--slo", "slo_name", help="Only this SLO (default: every SLO).")
@click.option("--period", type=click.Choice(["day", "week", "month"]), default="day", show_default=True,
              help="The periods availability is given for (UTC).")
@OUTPUT
@click.pass_obj
def availability_cmd(home: Home, slo_name, period, output) -> None:
    """Availability per SLO and period, error budget left, burn rates, bad periods, incidents."""
    from speleo.ops.reports import availability

    def local():
        slos, db = _local_slos(home)
        return availability.report(slos, db, time.time(), slo_name, period)

    rep = _fetch(home, "/api/v1/reports/availability", {"slo": slo_name, "period": period}, local)
    emit(rep, availability.rows(rep), output, _availability_table)


def _pct(v) -> str:
    return "-" if v is None else f"{v * 100:.3f}%"


def _num(v, digits: int = 2) -> str:
    return "-" if v is None else f"{v:.{digits}f}"


def _availability_table(rep: dict) -> None:
    if not rep["slos"]:
        click.echo("no SLOs (create one with 'speleo slo create')", err=True)
    for r in rep["slos"]:
        s = r["slo"]
        out.print(f"[bold]{escape(s['name'])}[/bold] ({escape(s['service'])}): objective {s['objective']}% over "
                  f"{s['window_days']} days; availability {_pct(r['availability'])} "
                  f"({r['good']:,} good of {r['total']:,}); budget left {_pct(r['budget_left'])}; "
                  f"burn rate {_num(r['burn_rate'])}")
        t = new_table("period", "good", "total", "availability", "met", box=None)
        for p in r["periods"]:
            t.add_row(p["period"], f"{p['good']:,}", f"{p['total']:,}", _pct(p["availability"]),
                      {True: "yes", False: "NO", None: "-"}[p["met"]])
        out.print(t)
        for w in r["burn_windows"]:
            out.print(f"  burn {w['alert']}: {_times(w['burn_long'])} over {w['long']}, {_times(w['burn_short'])} over "
                      f"{w['short']} (alert at {w['factor']}x){'  FIRING' if w['firing'] else ''}")
        for b in r["bad_periods"][:20]:
            out.print(f"  bad period {_utc(b['start'])} .. {_utc(b['end'])}: {b['bad']:,} bad of {b['total']:,}")
        for i in r["incidents"]:
            out.print(f"  incident {i['id']} [{i['severity']}] consumed {i['bad_events']:,} bad events "
                      f"({_pct(i['budget_share'])} of the budget)")


def _times(v) -> str:
    return "- (no events)" if v is None else f"{v:.2f}x"


def _utc(ts: float) -> str:
    import datetime as dt

    return dt.datetime.fromtimestamp(ts, dt.timezone.utc).strftime("%Y-%m-%d %H:%M")


@click.group()
def slo() -> None:
    """Service level objectives: good/total event searches, objective, window; burn-rate alerts."""


def _slo_call(home: Home, method: str, path: str, payload, local):
    if client.server_url(home):
        return client.call(home, method, "/api/v1/slos" + path, payload)
    slos, _ = _local_slos(home)
    return local(slos)


@slo.command("create")
@click.argument("name")
@click.option("--service", required=True, help="The service the SLO is about (incidents of it are matched).")
@click.option("--good", help="SPL of the good events, e.g. 'index=web status<500'.")
@click.option("--total", help="SPL of all valid events, e.g. 'index=web'.")
@click.option("--good-saved", help="... or the name of a saved search giving the good events.")
@click.option("--total-saved", help="... or the name of a saved search giving all valid events.")
@click.option("--objective", type=float, required=True, help="Percent of good events, e.g. 99.9.")
@click.option("--window", "window_days", type=int, default=30, show_default=True, help="Rolling window, days.")
@click.option("--description", default="")
@click.option("--no-alerts", is_flag=True, help="Do not generate the burn-rate alert saved searches.")
@click.pass_obj
def slo_create(home: Home, name, service, good, total, good_saved, total_saved, objective, window_days, description,
               no_alerts) -> None:
    """Create the SLO NAME; refused (exit 1, the rule named) when its searches give no event counts."""
    if bool(good) == bool(good_saved) or bool(total) == bool(total_saved):
        raise click.UsageError("give the good events with --good or --good-saved, and all events with --total "
                               "or --total-saved (one of each)")
    payload = {"name": name, "service": service, "good": good or good_saved, "total": total or total_saved,
               "good_kind": "saved" if good_saved else "spl", "total_kind": "saved" if total_saved else "spl",
               "objective": objective, "window_days": window_days, "description": description,
               "alerts": not no_alerts}
    import getpass

    def local(slos):
        p = dict(payload)
        return slos.create(p.pop("name"), actor=getpass.getuser(), **p)

    got = _slo_call(home, "POST", "", payload, local)
    click.echo(f"created SLO {got['name']}: {got['objective']}% over {got['window_days']} days; alerts: "
               f"{', '.join(got['alerts']) or 'none'}", err=True)


@slo.command("list")
@OUTPUT
@click.pass_obj
def slo_list(home: Home, output) -> None:
    """List the SLOs."""
    rows = _slo_call(home, "GET", "", None, lambda slos: {"slos": slos.list()})["slos"]
    if output == "json":
        click.echo(json.dumps(rows, indent=2))
        return
    if output == "csv":
        write_csv([{k: v for k, v in r.items() if k != "alerts"} for r in rows])
        return
    t = new_table("name", "service", "objective", "window", "good", "total", box=None)
    for r in rows:
        t.add_row(escape(r["name"]), escape(r["service"]), f"{r['objective']}%", f"{r['window_days']} d",
                  escape(r["good"]), escape(r["total"]))
    out.print(t)
    if not rows:
        click.echo("no SLOs", err=True)


@slo.command("show")
@click.argument("name")
@click.option("--output", "-o", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.pass_obj
def slo_show(home: Home, name, output) -> None:
    """Show the SLO NAME and its generated alerts."""
    from urllib.parse import quote

    got = _slo_call(home, "GET", "/" + quote(name, safe=""), None, lambda slos: slos.get(name))
    if output == "json":
        click.echo(json.dumps(got, indent=2))
        return
    for k in ("name", "service", "description", "objective", "window_days", "good", "good_kind", "total",
              "total_kind", "created_by"):
        out.print(f"{k:<12} {escape(str(got[k]))}")
    out.print(f"{'alerts':<12} {escape(', '.join(got['alerts']) or '-')}")


@slo.command("remove")
@click.argument("name")
@click.pass_obj
def slo_remove(home: Home, name) -> None:
    """Remove the SLO NAME and its generated alerts."""
    import getpass
    from urllib.parse import quote

    _slo_call(home, "DELETE", "/" + quote(name, safe=""), None, lambda slos: slos.remove(name, getpass.getuser()))
    click.echo(f"removed SLO {name}", err=True)


def register(cli: click.Group) -> None:
    cli.add_command(report)
    cli.add_command(slo)
