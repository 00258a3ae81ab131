"""`speleo license ...`: the daily budget and the licence record (`speleo.storage.license`)."""

from __future__ import annotations

import json

import click

from speleo.cli.output import console, new_table
from speleo.config import Home

out = console()


def _service(home: Home):
    from speleo.service import Service

    return Service(home)


@click.group()
def license() -> None:  # noqa: A001 (the command's name)
    """Daily indexing volume (Splunk's licence usage) and its budget."""


@license.group("budget")
def budget() -> None:
    """The daily budget: a warning (never a stop) when a day indexes more."""


@budget.command("set")
@click.argument("size")
@click.pass_obj
def budget_set(home: Home, size: str) -> None:
    """Set the daily budget to SIZE (500MB, 10GB)."""
    from speleo.storage import indexconf, license as lic

    n = indexconf.parse_size(size, "SIZE")
    lic.set_budget(_service(home).catalog, n)
    out.print(f"daily budget set to {size} ({n:,} bytes)")


@budget.command("clear")
@click.pass_obj
def budget_clear(home: Home) -> None:
    """Remove the daily budget."""
    from speleo.storage import license as lic

    lic.set_budget(_service(home).catalog, None)
    out.print("daily budget removed")


@license.command("usage")
@click.option("--by", type=click.Choice(["index", "sourcetype", "host", "source"]), default="index", show_default=True)
@click.option("--days", type=click.IntRange(1, 3660), default=30, show_default=True)
@click.option("--output", "-o", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.pass_obj
def usage(home: Home, by: str, days: int, output: str) -> None:
    """Bytes indexed per day (server's zone), by index, sourcetype, host or source; internal
    indexes and summary data (stash) are not counted."""
    body = _service(home).license_usage(by, days)
    if output == "json":
        click.echo(json.dumps(body))
        return
    st = body["status"]
    quota = f" of {st['budget_bytes']:,} budget" + (" [red]EXCEEDED[/red]" if st["exceeded"] else "") if st["budget_bytes"] else ""
    out.print(f"today ({st['day']}): {st['bytes']:,} bytes{quota}; warnings in 30 days: {len(st['warnings_30d'])}")
    t = new_table("day", by, "bytes", "events", header_style="bold")
    for r in body["rows"]:
        t.add_row(r["day"], str(r[by]), f"{r['bytes']:,}", f"{r['events']:,}")
    out.print(t)
