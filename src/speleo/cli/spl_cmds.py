"""`speleo explain` and `speleo macro ...`: the SPL tools of the command line.

    speleo explain 'SPL'            AST, SQL, time range and the buckets the search reads
    speleo explain --check FILE     lint JSON lines with a `search` key: one JSON line per search
    speleo macro add NAME DEFINITION [--args a,b] | list | remove NAME | import FILE
    speleo lookup add NAME FILE | list | remove NAME   CSV lookup files in <home>/lookups
"""

from __future__ import annotations

import json
import sys
import time

import click

from speleo.cli.output import plural
from speleo.config import Home
from speleo.errors import SpeleoError, SplError


def _fmt_time(t: float | None) -> str:
    if t is None:
        return "unbounded"
    return f"{t:.0f} ({time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime(t))})"


@click.command("explain")
@click.argument("query", required=False)
@click.option("--check", "check", type=click.Path(dir_okay=False, exists=True, allow_dash=True),
              help="Lint every search of a JSON-lines file (a `search` key per line).")
@click.option("--compile", "also_compile", is_flag=True,
              help="With --check: compile too (unsupported commands and functions count as failures).")
@click.option("--now", "now", type=float, help="Pin the search's 'now' (epoch seconds).")
@click.pass_obj
def explain(home: Home, query: str | None, check: str | None, also_compile: bool, now: float | None) -> None:
    """Show how a search runs: its AST, its SQL, its time range and the buckets it reads."""
    from speleo.query.macrostore import load_macros

    if check:
        _check(home, check, also_compile, now)
        return
    if not query:
        raise click.UsageError("give a search, or --check FILE")
    from speleo import spl
    from speleo.query import engine
    from speleo.service import Service

    macros = load_macros(home)
    pipeline = spl.parse(query, macros)
    click.echo("AST:")
    click.echo("  " + spl.ast.dump(pipeline))
    svc = Service(home)
    compiled = engine.compile_for(query, now=now, macros=macros, tz_name=home.settings.default_tz,
                                  props=svc.props(), lookups_dir=home.lookups_dir)
    plan = engine.plan(svc.catalog, compiled)
    running = engine.specialize(compiled, plan)
    click.echo("SQL:")
    click.echo("  " + running.sql)
    if running is not compiled:
        sts = ", ".join(sorted(running.ctx.field_sql.profile.sourcetypes)) or "none"
        click.echo(f"  (field extractions specialized to the buckets below: sourcetypes {sts})")
    click.echo("Time range:")
    click.echo(f"  earliest: {_fmt_time(compiled.earliest)}")
    click.echo(f"  latest:   {_fmt_time(compiled.latest)}")
    click.echo(f"  indexes:  {', '.join(compiled.indexes) if compiled.indexes else 'all'}")
    if compiled.required_terms:
        click.echo(f"  terms:    {', '.join(compiled.required_terms)}")
    click.echo(f"Buckets: {len(plan.buckets)} to read (skipped: {plan.skipped_index} by index, "
               f"{plan.skipped_time} by time, {plan.skipped_terms} by terms)")
    for b in plan.buckets:
        groups = plan.row_groups.get(b.id)
        extra = f", row groups {groups}" if groups is not None else ""
        click.echo(f"  #{b.id} {b.index_name} {b.state} {_fmt_time(b.min_time)} .. {_fmt_time(b.max_time)} "
                   f"{plural(b.event_count, 'event')}{extra}")


def _check(home: Home, path: str, also_compile: bool, now: float | None) -> None:
    from speleo.query.macrostore import load_macros

    from speleo import spl
    from speleo.query import engine

    macros = load_macros(home)
    stream = sys.stdin if path == "-" else open(path, encoding="utf-8")
    total = ok = 0
    with stream:
        for raw in stream:
            if not raw.strip():
                continue
            total += 1
            try:
                record = json.loads(raw)
                query = record["search"]
            except (ValueError, KeyError, TypeError) as e:
                click.echo(json.dumps({"ok": False, "error": f"not a JSON object with a 'search' key: {e}",
                                       "line": None, "column": None}))
                continue
            try:
                if also_compile:
                    engine.compile_for(query, now=now, macros=macros, tz_name=home.settings.default_tz,
                                       lookups_dir=home.lookups_dir)
                else:
                    spl.parse(query, macros)
            except SplError as e:
                pos = e.pos
                click.echo(json.dumps({"ok": False, "error": e.message if hasattr(e, "message") else str(e),
                                       "line": pos.line if pos else None, "column": pos.column if pos else None}))
                continue
            ok += 1
            click.echo(json.dumps({"ok": True}))
    click.echo(f"{ok}/{total} ok", err=True)


@click.group("macro")
def macro() -> None:
    """Search macros (`name` or `name(args)` in backquotes), kept in <home>/macros.json."""


@macro.command("add")
@click.argument("name")
@click.argument("definition")
@click.option("--args", "args", default="", help="Comma-separated argument names ($name$ in the definition).")
@click.pass_obj
def macro_add(home: Home, name: str, definition: str, args: str) -> None:
    """Add or replace a macro."""
    from speleo.query.macrostore import upsert

    home.ensure()
    upsert(home, [{"name": name, "definition": definition, "arguments": args}])
    click.echo(f"macro {name} saved")


def _jsonl_option(func):
    return click.option("--output", "-o", "output", type=click.Choice(["jsonl", "json"]), default="jsonl",
                        show_default=True, help="jsonl: one JSON object a line; json: one JSON array.")(func)


def _print_records(rows: list[dict], output: str) -> None:
    if output == "json":
        click.echo(json.dumps(rows))
        return
    for r in rows:
        click.echo(json.dumps(r))


@macro.command("list")
@_jsonl_option
@click.pass_obj
def macro_list(home: Home, output: str) -> None:
    """List the macros (name, definition, arguments) as JSON lines, or one JSON array."""
    from speleo.query.macrostore import read_records

    _print_records([{"name": r["name"], "definition": r["definition"], "arguments": r["arguments"]}
                    for r in read_records(home)], output)


@macro.command("remove")
@click.argument("name")
@click.pass_obj
def macro_remove(home: Home, name: str) -> None:
    """Remove a macro: NAME (every argument count) or NAME(N)."""
    from speleo.query.macrostore import remove

    if not remove(home, name):
        raise SpeleoError(f"no macro named {name!r}")
    click.echo(f"macro {name} removed")


@macro.command("import")
@click.argument("file", type=click.Path(dir_okay=False, exists=True, allow_dash=True))
@click.pass_obj
def macro_import(home: Home, file: str) -> None:
    """Import JSON lines with name, definition and arguments (as security_content_macros.jsonl)."""
    from speleo.query.macrostore import upsert

    records = []
    stream = sys.stdin if file == "-" else open(file, encoding="utf-8")
    with stream:
        for n, raw in enumerate(stream, 1):
            if not raw.strip():
                continue
            try:
                records.append(json.loads(raw))
            except ValueError as e:
                raise SpeleoError(f"{file}:{n}: not JSON: {e}") from e
    home.ensure()
    count = upsert(home, records)
    click.echo(f"{plural(count, 'macro')} imported")


@click.group("lookup")
def lookup() -> None:
    """CSV lookup tables (lookup, inputlookup, outputlookup), kept in <home>/lookups."""


def _lookup_file(home: Home, name: str):
    from speleo.spl.commands.lookups import safe_name

    if not safe_name(name):
        raise SpeleoError(f"invalid lookup name {name!r} (no '/', '\\' or '..')")
    return home.lookups_dir / (name if name.lower().endswith(".csv") else name + ".csv")


@lookup.command("add")
@click.argument("name")
@click.argument("file", type=click.Path(dir_okay=False, exists=True))
@click.pass_obj
def lookup_add(home: Home, name: str, file: str) -> None:
    """Add or replace lookup NAME with a CSV file (its first row is the header)."""
    import csv
    import os
    import shutil
    import tempfile

    target = _lookup_file(home, name)
    with open(file, encoding="utf-8", newline="") as f:
        header = next(csv.reader(f), None)
    if not header or any(not h for h in header):
        raise SpeleoError(f"{file}: the first row must name every column")
    home.ensure()
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=".csv")
    os.close(fd)
    shutil.copyfile(file, tmp)
    os.replace(tmp, target)
    click.echo(f"lookup {target.name} saved ({', '.join(header)})")


@lookup.command("list")
@_jsonl_option
@click.pass_obj
def lookup_list(home: Home, output: str) -> None:
    """List the lookup tables (name, columns, bytes) as JSON lines, or one JSON array."""
    import csv

    folder = home.lookups_dir
    rows = []
    for p in sorted(folder.glob("*.csv")) if folder.is_dir() else []:
        with open(p, encoding="utf-8", newline="") as f:
            header = next(csv.reader(f), None) or []
        rows.append({"name": p.name, "columns": header, "bytes": p.stat().st_size})
    _print_records(rows, output)


@lookup.command("remove")
@click.argument("name")
@click.pass_obj
def lookup_remove(home: Home, name: str) -> None:
    """Remove lookup NAME (NAME or NAME.csv)."""
    target = _lookup_file(home, name)
    if not target.is_file():
        raise SpeleoError(f"no lookup named {name!r}")
    target.unlink()
    click.echo(f"lookup {target.name} removed")


def register(cli: click.Group) -> None:
    cli.add_command(explain)
    cli.add_command(macro)
    cli.add_command(lookup)
