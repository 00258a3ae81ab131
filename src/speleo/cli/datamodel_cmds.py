"""`speleo datamodel import|list|show|remove`: the data models of the home
(`<home>/datamodels/<modelName>.json`, Splunk's data model JSON; speleo.datamodels) beside the
shipped CIM models. Searches read the files when they change, so these commands work the same
whether a server runs or not.

    speleo datamodel import FILE|APP_DIR [--replace]   a model file, or every default/data/models/*.json
    speleo datamodel list [--output json]              shipped and home models
    speleo datamodel show NAME [--output json]         datasets, lineage, constraints, fields
    speleo datamodel remove NAME                       a home model (a shipped one comes back)
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path

import click
from rich.markup import escape

from speleo import datamodels as dm
from speleo.cli.output import console, new_table, output_option, plural, print_json, wants_json
from speleo.config import Home
from speleo.errors import InputError, NotFoundError

out = console(highlight=False)
err = console(stderr=True, highlight=False)
_SAFE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}$")


def _folder(home: Home) -> Path:
    return home.root / "datamodels"


def _model_files(path: Path) -> list[Path]:
    """The model files of FILE, or of a Splunk app folder (default/data/models/*.json, then
    local/data/models/*.json), or of a folder of *.json files."""
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise InputError(f"{path}: no such file or folder")
    for sub in ("default/data/models", "local/data/models", "data/models", "."):
        found = sorted((path / sub).glob("*.json"))
        if found:
            return found
    raise InputError(f"{path}: no data model JSON here (looked in default/data/models, local/data/models "
                     "and the folder itself)")


def _write(folder: Path, model: dm.DataModel) -> Path:
    if not _SAFE_NAME.match(model.name):
        raise InputError(f"modelName {model.name!r} cannot name a file: use letters, digits, '_', '-' and '.'")
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{model.name}.json"
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".json")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(model.raw, f, indent=2)
        f.write("\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, target)
    return target


@click.group("datamodel")
def datamodel() -> None:
    """Data models (Splunk's data model JSON) for tstats, datamodel, from and pivot."""


@datamodel.command("import")
@click.argument("source", type=click.Path(exists=True, path_type=Path))
@click.option("--replace", is_flag=True, help="Replace a home model of the same name.")
@click.pass_obj
def import_(home: Home, source: Path, replace: bool) -> None:
    """Import a data model JSON file, or every model of a Splunk app folder
    (default/data/models/*.json). Each file is checked whole before anything is written; a
    model named like a shipped one replaces it for this home."""
    files = _model_files(source)
    models = [dm.read_datamodel(p, str(p)) for p in files]      # InputError names the file
    folder = _folder(home)
    for m in models:
        if (folder / f"{m.name}.json").exists() and not replace:
            raise InputError(f"the home already has a data model {m.name!r}: add --replace to replace it")
    home.ensure()
    shipped = dm.shipped()
    for m in models:
        target = _write(folder, m)
        note = " (replaces the shipped model)" if m.name in shipped else ""
        click.echo(f"imported data model {m.name} ({plural(len(m.datasets), 'dataset')}) into {target}{note}",
                   err=True)


def _all(home: Home) -> dict[str, dm.DataModel]:
    from speleo import knowledge

    k = knowledge.load(home.root)
    for p in k.problems:
        err.print(f"warning: {escape(p)}")
    return k.datamodels


@datamodel.command("list")
@output_option
@click.pass_obj
def list_(home: Home, output: str, as_json: bool) -> None:
    """List the data models: name, datasets, where each comes from (shipped or a home file)."""
    rows = [{"name": m.name, "display_name": m.display_name, "datasets": list(m.datasets),
             "source": m.source, "description": m.description} for m in sorted(_all(home).values(),
                                                                                key=lambda m: m.name.lower())]
    if wants_json(output, as_json):
        print_json(rows)
        return
    t = new_table("name", "datasets", "source")
    for r in rows:
        t.add_row(escape(r["name"]), escape(", ".join(r["datasets"])), escape(r["source"]))
    out.print(t)


@datamodel.command("show")
@click.argument("name")
@output_option
@click.pass_obj
def show(home: Home, name: str, output: str, as_json: bool) -> None:
    """Show model NAME: each dataset's lineage, constraints (its own and inherited) and fields."""
    from speleo.knowledge import Knowledge

    model = Knowledge(datamodels=_all(home)).datamodel(name)
    summary = model.summary()
    for d in summary["datasets"]:
        d["fields"] = [{"name": f.name, "type": f.type, "calculated": model.calculation(d["name"], f.name) is not None}
                       for f in model.fields(d["name"]).values()]
    if wants_json(output, as_json):
        print_json(summary)
        return
    out.print(f"[bold]{escape(model.name)}[/bold] ({escape(model.source)}) {escape(model.description)}")
    for d in summary["datasets"]:
        out.print(f"\n[bold]{escape(d['lineage'])}[/bold]")
        out.print(f"  constraints: {escape(' | '.join(d['constraints']) or '(none)')}")
        out.print("  fields: " + escape(", ".join(f["name"] + ("*" if f["calculated"] else "") for f in d["fields"])))
    out.print("\n(* calculated)")


@datamodel.command("remove")
@click.argument("name")
@click.pass_obj
def remove(home: Home, name: str) -> None:
    """Remove home model NAME (a shipped model of that name is used again)."""
    target = _folder(home) / f"{name}.json"
    if not _SAFE_NAME.match(name) or not target.is_file():
        raise NotFoundError(f"the home has no data model file {name}.json (shipped models cannot be removed)")
    target.unlink()
    click.echo(f"data model {name} removed", err=True)


def register(cli: click.Group) -> None:
    cli.add_command(datamodel)
