"""`speleo sourcetype list|detect`: the built-in sourcetypes (docs/sourcetypes.md), and the
sourcetype a file would be given, without indexing it.

    speleo sourcetype list [--output json]            name, breaking, time settings, fields
    speleo sourcetype detect FILE... [--output json]  the sourcetype each file gets, and why
"""

from __future__ import annotations

import re
from pathlib import Path

import click
from rich.markup import escape

from speleo import sourcetypes
from speleo.cli.output import console, new_table, output_option, print_json, wants_json
from speleo.config import Home
from speleo.ingest.tailing import sample_lines

out = console(highlight=False)


@click.group("sourcetype")
def sourcetype() -> None:
    """The built-in sourcetypes and detection (docs/sourcetypes.md)."""


def describe(st: sourcetypes.Sourcetype) -> dict:
    """One sourcetype as a listing row: breaking (`line`, `breaker: REGEX`, `timestamp`), time
    settings, and the fields its extractions name (sorted)."""
    breaking = "line" if not st.should_linemerge else f"breaker: {st.line_breaker}" if st.line_breaker else "timestamp"
    names = sorted({n for ex in st.extractions for n in re.compile(ex.regex).groupindex})
    return {"name": st.name, "breaking": breaking, "time_format": st.time_format, "time_prefix": st.time_prefix,
            "json": st.json, "fields": names, "description": st.description}


@sourcetype.command("list")
@output_option
def list_(output: str, as_json: bool) -> None:
    """List the built-in sourcetypes."""
    rows = [describe(st) for st in sourcetypes.BUILTIN.values()]
    if wants_json(output, as_json):
        print_json(rows)
        return
    table = new_table("sourcetype", "breaking", "time", "description")
    for r in rows:
        time = r["time_format"] or (f"after {r['time_prefix']}" if r["time_prefix"] else "automatic")
        table.add_row(escape(r["name"]), escape(r["breaking"]), escape(time), escape(r["description"]))
    out.print(table)


@sourcetype.command("detect")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@output_option
@click.pass_obj
def detect(home: Home, files: tuple[Path, ...], output: str, as_json: bool) -> None:
    """Show the sourcetype each FILE would be given (props.toml first, then its content)."""
    props = sourcetypes.load_props(home.props_path) if home.props_path.exists() else None
    rows = []
    for path in files:
        source = str(path.resolve())
        assigned = props.sourcetype_for(source) if props else None
        name = assigned or sourcetypes.detect(source, sample_lines(sourcetypes.detection_sample(source, b"")))
        rows.append({"file": str(path), "sourcetype": name, "by": "props.toml" if assigned else "content"})
    if wants_json(output, as_json):
        print_json(rows)
        return
    for r in rows:
        out.print(f"{escape(r['file'])}: {escape(r['sourcetype'])} (by {r['by']})")


def register(cli: click.Group) -> None:
    cli.add_command(sourcetype)
