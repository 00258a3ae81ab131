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
from rich.table import Table

from speleo.cli import client
from speleo.cli.output import console
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
    t = Table("by", "key", "incidents", "MTTD", "MTTA", "MTTM", "MTTR", box=None)
    groups = [("all", {"key": "all", **rep["overall"]})] + [(g, x) for g, xs in rep["by"].items() for x in xs]
    for g, f in groups:
        cells = [f"{duration(f[m]['mean'])} / {duration(f[m]['median'])} / {duration(f[m]['p90'])} (n={f[m]['n']})"
                 for m in ("mttd", "mtta", "mttm", "mttr")]
        t.add_row(g, escape(str(f["key"])), str(f["incidents"]), *cells)
    out.print(t)


def register(cli: click.Group) -> None:
    cli.add_command(report)
