"""`speleo dashboard import|export|list|remove`: the dashboard files of the home
(`<home>/dashboards/<name>.json`, speleo.dashboards.store). The files are read by the server on
every request, so these commands work the same whether a server runs or not.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.markup import escape

from speleo.cli.output import console, new_table, output_option, print_json, wants_json
from speleo.config import Home
from speleo.dashboards import model
from speleo.dashboards.store import DashboardStore, dumps
from speleo.errors import InputError

out = console(highlight=False)
err = console(stderr=True, highlight=False)


def _store(home: Home) -> DashboardStore:
    return DashboardStore(home.root)


@click.group()
def dashboard() -> None:
    """Dashboards (Dashboard Studio JSON; Simple XML is converted on import)."""


@dashboard.command("import")
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--name", help="Dashboard name (default: the file name without its extension).")
@click.option("--replace", is_flag=True, help="Replace a dashboard of that name.")
@click.pass_obj
def import_(home: Home, file: str, name: str | None, replace: bool) -> None:
    """Import FILE (JSON or Simple XML; '-' reads standard input). Conversion warnings are
    printed; they never stop the import."""
    if file == "-":
        if not name:
            raise InputError("give --name when reading the dashboard from standard input")
        text = sys.stdin.read()
    else:
        try:
            text = Path(file).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise InputError(f"cannot read {file}: {e}") from None
    name = model.check_name(name or Path(file).stem)
    d = _store(home).put(name, text, replace=replace)
    for w in d.warnings:
        err.print(f"warning: {escape(w)}")
    click.echo(f"imported dashboard {name} ({len(d.definition.get('visualizations') or {})} panels, "
               f"from {d.source_format}) into {_store(home).path(name)}", err=True)


@dashboard.command("export")
@click.argument("name")
@click.option("--file", "-f", "dest", type=click.Path(dir_okay=False), help="Write here instead of standard output.")
@click.pass_obj
def export(home: Home, name: str, dest: str | None) -> None:
    """Print dashboard NAME as its JSON (the file's text)."""
    text = dumps(_store(home).get(name).definition)
    if dest:
        Path(dest).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)


@dashboard.command("list")
@output_option
@click.pass_obj
def list_(home: Home, output: str, as_json: bool) -> None:
    """List the dashboards."""
    rows = [d.summary() for d in _store(home).list()]
    if wants_json(output, as_json):
        print_json(rows)
        return
    if not rows:
        out.print("no dashboards (add one with 'speleo dashboard import FILE')")
        return
    t = new_table("name", "title", "panels", "warnings")
    for r in rows:
        t.add_row(escape(r["name"]), escape(r["title"]), str(r["panels"]), str(len(r["warnings"])))
    out.print(t)


@dashboard.command("remove")
@click.argument("name")
@click.pass_obj
def remove(home: Home, name: str) -> None:
    """Remove dashboard NAME (its file)."""
    _store(home).remove(name)
    click.echo(f"removed dashboard {name}", err=True)


def register(cli: click.Group) -> None:
    cli.add_command(dashboard)
