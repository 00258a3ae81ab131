"""`speleo add fschange` and `speleo fschange ...`: file-change inputs and code-roll checks.

Registered on the main command by `register(cli)`; the work is in `speleo.alerts.fschange`.
"""

from __future__ import annotations

import json
import os
import sys
import time

import click
from rich.markup import escape

from speleo.cli.output import console, new_table
from speleo.cli import client
from speleo.config import Home
from speleo.errors import InputError, StorageError

out = console()
err = console(stderr=True)


def _service(home: Home):
    from speleo.service import Service

    return Service(home)


@click.command("fschange")
@click.argument("path", type=click.Path())
@click.option("--index", required=True, help="Index for the fs_notification events (created if missing).")
@click.option("--poll-period", type=click.FloatRange(min=0.1), default=3600.0, show_default=True,
              help="Seconds between full rescans (Splunk pollPeriod); inotify reports most changes within a second.")
@click.option("--hash", "hash_algo", type=click.Choice(["sha256", "none"]), default="sha256", show_default=True,
              help="Content hash of each file (a change of content is then reported even when size and time stay).")
@click.option("--hash-max-size", type=int, default=-1, show_default=True,
              help="Largest file hashed, in bytes (-1: no limit; Splunk hashMaxSize).")
@click.option("--filter", "filters", multiple=True, metavar="GLOB",
              help="Skip paths matching GLOB (relative to PATH, or a file name); '+GLOB' keeps only matching files. Repeatable; the first match decides.")
@click.option("--no-recurse", is_flag=True, help="Watch only the folder's direct entries (Splunk recurse=false).")
@click.option("--emit-baseline", is_flag=True,
              help="Send one 'add' event per existing file on the first scan (Splunk's behaviour); by default the first scan is recorded silently as the baseline.")
@click.option("--sourcetype", help="Sourcetype (default fs_notification).")
@click.option("--host", help="Host field (default: this machine's name).")
@click.pass_obj
def add_fschange(home: Home, path, index, poll_period, hash_algo, hash_max_size, filters, no_recurse,
                 emit_baseline, sourcetype, host) -> None:
    """Watch the folder PATH recursively: one event per file added, updated, deleted or renamed."""
    from speleo.alerts.fschange import inputs
    from speleo.alerts.fschange.settings import Filter, FsChangeSettings

    settings = FsChangeSettings(poll_period_secs=poll_period, hash_algo=hash_algo, hash_max_size=hash_max_size,
                                recurse=not no_recurse, filters=tuple(Filter.parse(f) for f in filters),
                                emit_baseline=emit_baseline)
    input_id = inputs.add_input(_service(home), path, index, settings, sourcetype, host)
    running = ("the running server scans it within seconds" if client.server_url(home)
               else "run 'speleo serve' (or 'speleo fschange scan') to record its baseline")
    out.print(f"fschange input {input_id} added for {os.path.realpath(path)} into index '{index}'; {running}")


@click.group("fschange")
def fschange() -> None:
    """File-change inputs (list, scan, remove, import) and code-roll verification."""


@fschange.command("list")
@click.option("--output", "-o", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.pass_obj
def fschange_list(home: Home, output: str) -> None:
    """List fschange inputs with their settings and last full scan."""
    from speleo.alerts.fschange import inputs

    rows = inputs.list_inputs(_service(home))
    if output == "json":
        click.echo(json.dumps(rows))
        return
    t = new_table("id", "path", "index", "poll s", "hash", "filters", "files", "last scan", header_style="bold")
    for r in rows:
        scan = r.get("last_scan") or {}
        t.add_row(str(r["id"]), r["path"], r["index"], f"{r.get('poll_period_secs', 0):g}", r.get("hash", ""),
                  " ".join(r.get("filters", [])), str(scan.get("files", "")),
                  time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(scan["at"])) if scan.get("at") else "never")
    out.print(t)


@fschange.command("remove")
@click.argument("ref")
@click.pass_obj
def fschange_remove(home: Home, ref: str) -> None:
    """Remove input REF (its id or folder) and its baseline; its events stay in the index."""
    from speleo.alerts.fschange import inputs

    item = inputs.remove_input(_service(home), ref)
    err.print(f"fschange input {item['id']} ({item['path']}) removed")


@fschange.command("scan")
@click.argument("ref", required=False)
@click.option("--output", "-o", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.pass_obj
def fschange_scan(home: Home, ref: str | None, output: str) -> None:
    """Scan input REF (or every input) once now, without a server; the first scan records the baseline."""
    from speleo.alerts.fschange import inputs
    from speleo.alerts.fschange.runner import FsChangeInput
    from speleo.ingest.internal import InternalLog

    if client.server_url(home):
        raise StorageError("a server is running for this home and scans every fschange input itself "
                           "(on inotify events and every poll period); stop it to scan from the command line")
    svc = _service(home)
    rows = [inputs.get_input(svc, ref)] if ref else inputs.list_inputs(svc)
    writer = svc.open_writer()
    reports = []
    try:
        internal = InternalLog(writer.store)
        for row in rows:
            inp = FsChangeInput(row, home.root, writer.store, svc.catalog, internal)
            try:
                inp.start()
                reports.append(inp.scan().as_fields(row["path"]))
            finally:
                inp.close()
        writer.store.seal()
    finally:
        writer.close()
    if output == "json":
        click.echo(json.dumps(reports))
        return
    for r in reports:
        out.print(f"input {r['input']} {r['path']}: {r['scan']} scan of {r['files']:,} entries, "
                  f"{r['changes']:,} changes, {r['hashed']:,} hashed, {r['problems']} problems, {r['seconds']} s")


@fschange.command("manifest")
@click.argument("path", type=click.Path(exists=True, file_okay=False))
@click.pass_obj
def fschange_manifest(home: Home, path: str) -> None:
    """Print a sha256sum-style manifest of the files under PATH (for a later 'verify')."""
    from speleo.alerts.fschange.manifest import from_tree
    from speleo.alerts.fschange.scanner import Scanner, display
    from speleo.alerts.fschange.settings import FsChangeSettings

    root = os.path.realpath(path)
    res = Scanner(root, FsChangeSettings(), skip_under=str(home.root)).scan()
    sys.stdout.write(from_tree(root, res.entries))
    for p in res.problems:
        err.print(f"[yellow]warning:[/yellow] {escape(display(p.path))}: {escape(p.reason)}", highlight=False)


@fschange.command("lookup")
@click.argument("path", type=click.Path())
@click.option("--manifest", "manifest_file", required=True, type=click.Path(dir_okay=False),
              help="sha256sum output, a list of paths expected to change, or a JSON manifest.")
@click.option("--name", required=True, help="Lookup table name (written to <home>/lookups/NAME.csv).")
@click.pass_obj
def fschange_lookup(home: Home, path: str, manifest_file: str, name: str) -> None:
    """Save a release manifest as lookup NAME (path, expected_sha256) for a code-roll alert in SPL."""
    from speleo.alerts.fschange import manifest as mf
    from speleo.spl.commands.lookups import safe_name

    if not safe_name(name):
        raise InputError(f"invalid lookup name {name!r} (no '/', '\\' or '..')")
    m = mf.load(manifest_file)
    target = home.ensure().lookups_dir / (name if name.lower().endswith(".csv") else name + ".csv")
    tmp = target.with_suffix(".tmp")
    tmp.write_text(mf.lookup_csv(m, os.path.realpath(path)))
    os.replace(tmp, target)
    out.print(f"lookup {target.name} saved: {len(m.entries):,} paths under {os.path.realpath(path)}")


@fschange.command("verify")
@click.argument("path", type=click.Path())
@click.option("--manifest", "manifest_file", required=True, type=click.Path(dir_okay=False),
              help="sha256sum output, a list of paths expected to change, or a JSON manifest.")
@click.option("--since", default="-24h", show_default=True,
              help="Changes seen since this time (-2h, an epoch, 2026-12-04T02:00:00...): the roll's start.")
@click.option("--tree", is_flag=True, help="Compare the tree as it is now instead of the changes seen in the index.")
@click.option("--index", default=None,
              help="Index holding the fs_notification events (default: that of the fschange input watching PATH, else every index).")
@click.option("--output", "-o", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.pass_obj
def fschange_verify(home: Home, path, manifest_file, since, tree, index, output) -> None:
    """Check a code roll under PATH against a release manifest.

    Lists files changed as expected, unexpected, missing and with other content; exit status 0
    when everything matches, else a bitmask: 1 unexpected, 2 missing, 4 other content, 8 unreadable."""
    from speleo.alerts.fschange import manifest as mf
    from speleo.alerts.fschange import verify as vf

    root = os.path.realpath(path)
    if not os.path.isdir(root):
        raise InputError(f"{root}: not a folder")
    manifest = mf.load(manifest_file)
    if tree:
        report = _verify_tree(home, root, manifest)
    else:
        rows = _change_rows(home, index or _index_watching(home, root), since)
        report = vf.check(vf.observed_from_rows(rows, root), manifest, _current(home, root), root)
    if output == "json":
        click.echo(json.dumps(report.to_dict()))
    else:
        out.print(report.message(), highlight=False)
    sys.exit(report.exit_code)


def _index_watching(home: Home, root: str) -> str:
    """The index of the fschange input whose folder holds `root` (the closest), else `*`."""
    from speleo.alerts.fschange import inputs

    best = None
    for item in inputs.list_inputs(_service(home)):
        p = item["path"].rstrip("/")
        if (root == p or root.startswith(p + "/")) and (best is None or len(p) > len(best["path"])):
            best = item
    return best["index"] if best else "*"


def _verify_tree(home: Home, root: str, manifest):
    from speleo.alerts.fschange import verify as vf
    from speleo.alerts.fschange.scanner import Scanner
    from speleo.alerts.fschange.settings import FsChangeSettings

    res = Scanner(root, FsChangeSettings(), skip_under=str(home.root)).scan()
    unreadable = [p.path for p in res.problems if p.reason.startswith("unreadable")]
    return vf.check_tree(root, res.entries, manifest, unreadable)


def _current(home: Home, root: str):
    from speleo.alerts.fschange import verify as vf
    from speleo.alerts.fschange.scanner import hash_file

    return vf.current_hashes(root, lambda p: hash_file(p)[0])


def _change_rows(home: Home, index: str, since: str) -> list[dict]:
    """fs_notification results since `since` (oldest first)."""
    from speleo.config import check_index_name
    from speleo.query.timefmt import local_zone, to_epoch

    if index != "*":
        check_index_name(index)
    now = time.time()
    earliest = to_epoch(since, now, local_zone(home.settings.default_tz))
    query = (f"search index={index} (sourcetype=fs_notification OR sourcetype=audittrail) "
             "| table _time action path hash old_path type isdir")
    res = _service(home).search(query, earliest, None, limit=0, now=now, timeline=False)
    return sorted(res.table.to_pylist(), key=lambda r: float(r.get("_time") or 0))


@fschange.command("import")
@click.argument("conf", type=click.Path(exists=True, dir_okay=False))
@click.option("--index", default="main", show_default=True, help="Index when a stanza names none.")
@click.pass_obj
def fschange_import(home: Home, conf: str, index: str) -> None:
    """Add the [fschange:PATH] stanzas of a Splunk inputs.conf (with their [filter:...] stanzas)."""
    from speleo.alerts.fschange import conf as fconf
    from speleo.alerts.fschange import inputs
    from speleo.errors import ConflictError

    svc = _service(home)
    parsed = fconf.read_inputs_conf(conf, default_index=index)
    for note in parsed.notes:
        err.print(f"[yellow]note:[/yellow] {note}", highlight=False)
    for st in parsed.inputs:
        try:
            iid = inputs.add_input(svc, st.path, st.index, st.settings, st.sourcetype, st.host)
            out.print(f"fschange input {iid} added for {st.path} into index '{st.settings.signedaudit and '_audit' or st.index}' "
                      f"(from {conf} line {st.line})")
        except (ConflictError, InputError) as e:
            err.print(f"[yellow]skipped[/yellow] [fschange:{st.path}] (line {st.line}): {e}", highlight=False)


def register(cli: click.Group) -> None:
    """Add the `speleo fschange` group (`speleo add fschange` is `add_fschange`, loaded by
    `speleo.cli.main.LAZY_ADD_COMMANDS`)."""
    cli.add_command(fschange)
