"""`speleo datamodel import|list|show|remove`: the data models of the home
(`<home>/datamodels/<modelName>.json`, Splunk's data model JSON; speleo.datamodels) beside the
shipped CIM models. Searches read the files when they change, so these commands work the same
whether a server runs or not.

    speleo datamodel import FILE|APP_DIR [--replace]   a model file, or every default/data/models/*.json
    speleo datamodel list [--output json]              shipped and home models
    speleo datamodel show NAME [--output json]         datasets, lineage, constraints, fields
    speleo datamodel remove NAME                       a home model (a shipped one comes back)
    speleo datamodel accelerate NAME [--earliest T] [--off]   keep summaries for tstats (datamodels.conf)
    speleo datamodel summarize [NAME]...               build the summaries now (the server does it too)
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


def _acceleration(home: Home, model) -> dict:
    """The model's acceleration status (query.acceleration.status)."""
    from speleo import knowledge
    from speleo.query import acceleration
    from speleo.storage.catalog import Catalog

    from speleo import sourcetypes

    k = knowledge.load(home.root)
    props = sourcetypes.load_props(home.props_path) if home.props_path.exists() else None
    if not k.acceleration(model.name).enabled or not home.catalog_path.exists():
        return acceleration.status(home, None, k, model, props)
    catalog = Catalog(home.catalog_path)
    try:
        return acceleration.status(home, catalog, k, model, props)
    finally:
        catalog.close()


def _accel_text(a: dict) -> str:
    if not a["accelerated"]:
        return "no"
    since = f" since {a['earliest_time']}" if a["earliest_time"] else ""
    text = f"yes{since}: {a['complete'] * 100:.0f}% summarized ({a['summarized']}/{a['buckets']} buckets)"
    return text + (f"; {a['problem']}" if a.get("problem") else "")


@datamodel.command("list")
@output_option
@click.pass_obj
def list_(home: Home, output: str, as_json: bool) -> None:
    """List the data models: name, datasets, where each comes from (shipped or a home file)
    and its acceleration (how much of the data its summaries cover)."""
    models = sorted(_all(home).values(), key=lambda m: m.name.lower())
    rows = [{"name": m.name, "display_name": m.display_name, "datasets": list(m.datasets),
             "source": m.source, "description": m.description, "acceleration": _acceleration(home, m)}
            for m in models]
    if wants_json(output, as_json):
        print_json(rows)
        return
    t = new_table("name", "datasets", "source", "accelerated")
    for r in rows:
        t.add_row(escape(r["name"]), escape(", ".join(r["datasets"])), escape(r["source"]),
                  escape(_accel_text(r["acceleration"])))
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
    summary["acceleration"] = _acceleration(home, model)
    for d in summary["datasets"]:
        d["fields"] = [{"name": f.name, "type": f.type, "calculated": model.calculation(d["name"], f.name) is not None}
                       for f in model.fields(d["name"]).values()]
    if wants_json(output, as_json):
        print_json(summary)
        return
    out.print(f"[bold]{escape(model.name)}[/bold] ({escape(model.source)}) {escape(model.description)}")
    out.print(f"accelerated: {escape(_accel_text(summary['acceleration']))}")
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


@datamodel.command("accelerate")
@click.argument("name")
@click.option("--earliest", default="", metavar="TIME",
              help="Summarize only buckets with events after this relative time (-1mon, -7d@d; default: all).")
@click.option("--allow-old-summaries", is_flag=True,
              help="Let tstats read summaries built from an older definition of the model until rebuilt.")
@click.option("--off", is_flag=True, help="Turn acceleration off (its summaries are removed).")
@click.pass_obj
def accelerate(home: Home, name: str, earliest: str, allow_old_summaries: bool, off: bool) -> None:
    """Accelerate model NAME: keep a summary of its datasets per bucket, which tstats reads
    instead of the events (Splunk datamodels.conf: acceleration). A running server builds the
    summaries in the background; `speleo datamodel summarize` builds them now."""
    from speleo import knowledge
    from speleo.spl.timemod import parse_relative_time

    k = knowledge.load(home.root)
    model = k.datamodel(name)                     # NotFoundError names the known ones
    if earliest:
        from datetime import timezone

        try:
            parse_relative_time(earliest, 0.0, timezone.utc)
        except Exception as e:   # noqa: BLE001 - SplSyntaxError and friends: said to the person
            raise InputError(f"--earliest {earliest!r} is not a relative time such as -1mon or -7d@d ({e})") from None
    home.ensure()
    path = knowledge.write_acceleration(home.root, model.name,
                                        knowledge.Acceleration(not off, earliest, allow_old_summaries))
    if off:
        from speleo.query import acceleration

        acceleration.build(home, _NoCatalog(), knowledge=knowledge.load(home.root), models=[])
        click.echo(f"data model {model.name}: acceleration off, summaries removed ({path})", err=True)
    else:
        click.echo(f"data model {model.name}: accelerated{' since ' + earliest if earliest else ''} ({path}); "
                   f"summaries are built by a running server, or now by 'speleo datamodel summarize {model.name}'",
                   err=True)


class _NoCatalog:
    """A catalog with no buckets (removing the summaries of models no longer accelerated)."""

    def live_buckets(self):
        return []

    def retired_buckets(self):
        return []


@datamodel.command("summarize")
@click.argument("names", nargs=-1)
@output_option
@click.pass_obj
def summarize(home: Home, names: tuple[str, ...], output: str, as_json: bool) -> None:
    """Build the summaries of the accelerated models (NAMES: only these) now, with progress;
    a running server does the same in the background."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    from speleo import knowledge
    from speleo.query import acceleration
    from speleo.service import Service

    k = knowledge.load(home.root)
    for n in names:
        if not k.acceleration(k.datamodel(n).name).enabled:
            raise InputError(f"data model {k.datamodel(n).name} is not accelerated: "
                             f"'speleo datamodel accelerate {k.datamodel(n).name}' first")
    if not k.accelerated():
        raise InputError("no data model is accelerated: 'speleo datamodel accelerate NAME' first")
    svc = Service(home)
    try:
        with Progress("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
                      TimeRemainingColumn(), console=err.real, transient=True) as bar:
            task = bar.add_task("summarizing", total=None)

            def step(done: int, total: int, what: str) -> None:
                bar.update(task, completed=done, total=total, description=f"summarizing {what}")

            report = acceleration.build(home, svc.catalog, props=svc.props(), knowledge=k,
                                        models=list(names) or None, progress=step, retry=False)
    finally:
        svc.catalog.close()
    result = report.as_dict()
    if wants_json(output, as_json):
        print_json(result)
    else:
        out.print(f"built {plural(report.built, 'summary', 'summaries')} of {plural(report.events, 'event')} "
                  f"({plural(report.bytes, 'byte')}) in {report.seconds:.1f} s; removed {report.removed} stale")
        for path, why in report.failed.items():
            err.print(f"[red]failed[/red] {escape(path)}: {escape(why)} (tried again next time)")
    if report.failed:
        raise SystemExit(1)


def register(cli: click.Group) -> None:
    cli.add_command(datamodel)
