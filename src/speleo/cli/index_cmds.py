"""`speleo index ...` and `speleo input remove`: indexes, their settings, retention, archives.

Settings take Splunk's indexes.conf names through friendly options (`--max-age 30d` is
`frozenTimePeriodInSecs`, `--max-size 500MB` is `maxTotalDataSizeMB`...) or `--set NAME=VALUE`
with the Splunk name itself. Commands that move buckets (retention, thaw, unthaw, delete) go
through the running server when there is one, else take the home's writer lock.
"""

from __future__ import annotations

import json
import time

import click

from speleo.cli.output import console, new_table, output_option, print_json, wants_json
from speleo.cli import client
from speleo.config import Home

out = console()

SETTING_OPTIONS = (
    ("max_age", "frozenTimePeriodInSecs", "Maximum age of the newest event of a bucket (30d, 12h, 3600s)."),
    ("max_size", "maxTotalDataSizeMB", "Maximum size of hot+warm+cold buckets (500MB, 10GB)."),
    ("max_data_size", "maxDataSize", "Largest warm bucket, raw text (750MB, or auto)."),
    ("max_hot_span", "maxHotSpanSecs", "Largest time span of a warm bucket (90d; at least 1h)."),
    ("max_warm_count", "maxWarmDBCount", "Warm buckets kept before the oldest roll to cold (0 = at once)."),
    ("home_path", "homePath", "Folder of hot and warm buckets (default <home>/indexes/NAME)."),
    ("cold_path", "coldPath", "Folder of cold buckets, e.g. on a slower disk."),
    ("thawed_path", "thawedPath", "Folder of thawed buckets."),
    ("frozen_dir", "coldToFrozenDir", "Archive frozen buckets here (a folder or s3://bucket/prefix) instead of deleting them."),
    ("volume", "volume", "Volume whose size cap this index shares."),
    ("promoted_fields", "promotedFields", "On the ClickHouse backend: indexed fields (a,b,c) that get a column of "
     "their own in the index's table, for faster field=value searches."),
    ("cold_compression", "coldCompressionLevel", "zstd level (1-22) a warm bucket is rewritten at when it rolls "
     "to cold (Speleo's own setting; default 15; 0 copies it unchanged)."),
    ("frozen_script", "coldToFrozenScript", "Run '<interpreter> <script>' on each bucket before it is deleted; "
     "a non-zero exit keeps the bucket (coldToFrozenDir wins when both are set)."),
)

LABELS = {splunk: f"--{opt.replace('_', '-')} ({splunk})" for opt, splunk, _ in SETTING_OPTIONS}


def setting_options(fn):
    for opt, splunk, help_text in reversed(SETTING_OPTIONS):
        fn = click.option(f"--{opt.replace('_', '-')}", opt, default=None, help=f"{help_text} [{splunk}]")(fn)
    return click.option("--set", "raw_settings", multiple=True, metavar="NAME=VALUE",
                        help="A setting by its Splunk name, e.g. --set frozenTimePeriodInSecs=86400.")(fn)


def collect_settings(kw: dict, raw_settings: tuple[str, ...]) -> dict:
    """Settings under Splunk's names from the friendly options and `--set NAME=VALUE`."""
    params = {splunk: kw[opt] for opt, splunk, _ in SETTING_OPTIONS if kw.get(opt) is not None}
    for item in raw_settings:
        name, sep, value = item.partition("=")
        if not sep:
            raise click.UsageError(f"--set {item!r}: write NAME=VALUE, e.g. --set maxWarmDBCount=10")
        params[name.strip()] = value
    return params


def _service(home: Home):
    from speleo.service import Service

    return Service(home)


def _echo_json(body) -> None:
    click.echo(json.dumps(body, indent=2, default=str))


def _size(n) -> str:
    from speleo.cli.main import _size as size

    return size(n)


def _when(ts) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(ts)) + "Z" if ts is not None else ""


def _epoch(value: str | None, home: Home) -> float | None:
    from speleo.query.timefmt import local_zone, to_epoch

    return to_epoch(value, time.time(), local_zone(home.settings.default_tz))


@click.group()
def index() -> None:
    """Create, edit, show and delete indexes; retention, archive and thaw."""


@index.command("create")
@click.argument("name")
@setting_options
@click.pass_obj
def index_create(home: Home, name: str, raw_settings, **kw) -> None:
    """Create index NAME, optionally with retention and storage settings."""
    settings = _service(home).create_index(name, collect_settings(kw, raw_settings), LABELS)
    client.audit(home, "indexes_edit", "created", object=name)
    age = settings["frozenTimePeriodInSecs"]
    out.print(f"index '{name}' created; maximum age {f'{age:,} s' if age else 'none'}, "
              f"maximum size {settings['maxTotalDataSizeMB']:,} MB")


@index.command("edit")
@click.argument("name")
@setting_options
@click.pass_obj
def index_edit(home: Home, name: str, raw_settings, **kw) -> None:
    """Change settings of index NAME (an empty value restores the default). Applies from the
    next retention run on; no bucket is rewritten (on ClickHouse the server sets the table's TTL
    at its next retention check)."""
    params = collect_settings(kw, raw_settings)
    if not params:
        raise click.UsageError("nothing to change: give at least one setting (see --help)")
    settings = _service(home).edit_index(name, params, LABELS)
    out.print(f"index '{name}' updated: " + ", ".join(f"{k}={settings[k]}" for k in params))


@index.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (same as --output json).")
@click.option("--output", "-o", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.pass_obj
def index_list(home: Home, as_json: bool, output: str) -> None:
    """List indexes with events, buckets, size and time range."""
    rows = _service(home).indexes()
    if as_json or output == "json":
        click.echo(json.dumps(rows))
        return
    table = new_table("index", "events", "buckets", "size on disk", "raw size", "earliest", "latest", header_style="bold")
    for r in rows:
        table.add_row(r["name"], f"{r['events']:,}", str(r["buckets"]), _size(r["size_bytes"]), _size(r["raw_bytes"]),
                      _when(r["earliest"]), _when(r["latest"]))
    out.print(table)


@index.command("show")
@click.argument("name")
@click.option("--output", "-o", type=click.Choice(["table", "json"]), default="json", show_default=True)
@click.option("--now", type=float, help="Judge ages at this epoch (default: now).")
@click.pass_obj
def index_show(home: Home, name: str, output: str, now) -> None:
    """Show index NAME: settings, buckets by state with time range and size measured on disk,
    buckets kept only by a newer (future-dated) event, archives."""
    body = _service(home).index(name, now)
    if output == "json":
        _echo_json(body)
        return
    out.print(f"[bold]{name}[/bold]: {body['events']:,} events, {_size(body['disk_bytes'])} on disk")
    out.print(", ".join(f"{k}={v}" for k, v in body["settings"].items()), highlight=False)
    t = new_table("id", "state", "earliest", "latest", "events", "on disk", "note", header_style="bold", title="buckets")
    for b in body["buckets"]:
        note = "kept by a newer event" if b["kept_by_newer_event"] else ""
        note += (" future-dated" if b["future_dated"] else "") + (" FILE MISSING" if b["disk_bytes"] is None else "")
        t.add_row(str(b["id"]), b["state"], _when(b["earliest"]), _when(b["latest"]), f"{b['events']:,}",
                  _size(b["disk_bytes"]), note.strip())
    out.print(t)
    if body["archives"]:
        t = new_table("location", "earliest", "latest", "events", "size", header_style="bold", title="archives (frozen)")
        for a in body["archives"]:
            t.add_row(a["location"], _when(a["min_time"]), _when(a["max_time"]), f"{a['event_count']:,}", _size(a["size_bytes"]))
        out.print(t)


@index.command("delete")
@click.argument("name")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_obj
def index_delete(home: Home, name: str, yes: bool) -> None:
    """Delete index NAME with all its buckets (archives stay where they are)."""
    shown = _service(home).index(name)
    if not yes:
        click.confirm(f"Delete index '{name}' and its {shown['events']:,} events "
                      f"({_size(shown['disk_bytes'])} on disk)? This cannot be undone", abort=True)
    if client.server_url(home):
        res = client.call(home, "DELETE", f"/api/v1/indexes/{name}")
    else:
        res = _service(home).delete_index(name)
    out.print(f"index '{name}' deleted: {res['buckets']} buckets, {_size(res['freed_bytes'])} freed")


@index.group("retention")
def retention() -> None:
    """Retention: freeze old buckets, enforce size caps, roll warm buckets to cold."""


@retention.command("run")
@click.option("--now", type=float, help="Evaluate ages at this epoch (default: now), for scripts and tests.")
@click.option("--output", "-o", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.pass_obj
def retention_run(home: Home, now, output: str) -> None:
    """Apply every index's retention settings once, now."""
    if client.server_url(home):
        body = client.call(home, "POST", "/api/v1/retention/run", {"now": now})
    else:
        body = _service(home).with_lifecycle(lambda lc: lc.run_retention(now).__dict__)
    if output == "json":
        _echo_json(body)
        return
    def what(row: dict) -> str:   # a bucket (embedded store) or a day partition (ClickHouse)
        return f"bucket {row['bucket']}" if "bucket" in row else f"day {row.get('partition', '?')}"

    for a in body["actions"]:
        out.print(f"{a['action']}: {what(a)} of index '{a['idx']}' ({a['reason']})", highlight=False)
    for f in body["failures"]:
        out.print(f"[red]failed[/red]: {f['action']} {what(f)} of '{f['idx']}': {f['error']} (retried next run)",
                  highlight=False)
    if not body["actions"] and not body["failures"]:
        out.print("nothing to do: every index is within its limits")


def _thaw_or_unthaw(home: Home, verb: str, name: str, lo, hi) -> list[dict]:
    """Thaw or unthaw through the running server, or with this process's writer."""
    if client.server_url(home):
        return client.call(home, "POST", f"/api/v1/indexes/{name}/{verb}", {"earliest": lo, "latest": hi})[f"{verb}ed"]
    return _service(home).with_lifecycle(lambda lc: getattr(lc, verb)(name, lo, hi))


@index.command("thaw")
@click.argument("name")
@click.option("--earliest", help="Start of the range (epoch or time modifier such as -30d).")
@click.option("--latest", help="End of the range (epoch or time modifier).")
@click.pass_obj
def index_thaw(home: Home, name: str, earliest, latest) -> None:
    """Bring archived (frozen) buckets of NAME in a time range back as searchable thawed buckets."""
    from speleo.storage.lifecycle import check_range

    lo, hi = _epoch(earliest, home), _epoch(latest, home)
    check_range(lo, hi)
    rows = _thaw_or_unthaw(home, "thaw", name, lo, hi)
    out.print(f"thawed {len(rows)} buckets ({sum(r['events'] for r in rows):,} events) of index '{name}'")


@index.command("unthaw")
@click.argument("name")
@click.option("--earliest", help="Start of the range (default: all thawed buckets).")
@click.option("--latest", help="End of the range.")
@click.pass_obj
def index_unthaw(home: Home, name: str, earliest, latest) -> None:
    """Let thawed buckets of NAME go again (the archive keeps its copy)."""
    rows = _thaw_or_unthaw(home, "unthaw", name, _epoch(earliest, home), _epoch(latest, home))
    out.print(f"unthawed {len(rows)} buckets of index '{name}'")


@index.command("purge")
@click.argument("name")
@click.option("--search", "spl", required=True, help="SPL finding the events to remove, e.g. 'password=*'.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_obj
def index_purge(home: Home, name: str, spl: str, yes: bool) -> None:
    """Remove the events of NAME that a search finds from disk for good (leaked secrets,
    personal data): the buckets holding them are rewritten without them. Needs no running
    server (stop it first). Archives in coldToFrozenDir are not rewritten."""
    if client.server_url(home):
        raise click.ClickException("a server is running for this home; stop it, then purge (purge takes the writer)")
    if not yes:
        click.confirm(f"Remove every event of index '{name}' matching {spl!r} from disk? This cannot be undone",
                      abort=True)
    res = _service(home).purge(name, spl)
    out.print(f"purged {res['events_removed']:,} events from {res['buckets_rewritten']} buckets of '{name}' "
              f"({_size(res['bytes_before'])} rewritten to {_size(res['bytes_after'])})")


@index.command("build-term-index")
@output_option
@click.pass_obj
def index_build_term_index(home: Home, output: str, as_json: bool) -> None:
    """Write the term index sidecar of every warm, cold or thawed bucket that lacks one (buckets
    written before sidecars existed, thawed ones, or one whose sidecar was found corrupt). A
    running server does this by itself in the background; this command is for a stopped home."""
    if client.server_url(home):
        raise click.ClickException("a server is running for this home: it builds missing term indexes itself, "
                                   "one bucket at a time; nothing to do here")
    started = time.monotonic()
    writer = _service(home).open_writer()
    try:
        built = writer.store.build_missing_sidecars()
    finally:
        writer.close()
    body = {"buckets_indexed": built, "seconds": round(time.monotonic() - started, 3)}
    if wants_json(output, as_json):
        print_json(body)
        return
    out.print(f"wrote the term index of {built} buckets in {body['seconds']:.1f} s" if built
              else "every warm, cold and thawed bucket has its term index")


@index.group("volume")
def volume() -> None:
    """Volumes: a size cap shared by several indexes (Splunk [volume:NAME] maxVolumeDataSizeMB)."""


@volume.command("set")
@click.argument("name")
@click.option("--max-size", required=True, help="Size cap of all indexes on the volume (10GB) [maxVolumeDataSizeMB].")
@click.pass_obj
def volume_set(home: Home, name: str, max_size: str) -> None:
    """Create volume NAME or change its cap; assign indexes with 'speleo index edit X --volume NAME'."""
    from speleo.storage import indexconf

    v = indexconf.set_volume(_service(home).catalog, name, max_size)
    out.print(f"volume '{v.name}': maximum {_size(v.max_size_bytes)}")


@click.group()
def input() -> None:  # noqa: A001 (the command's name)
    """Inputs: list them, remove one."""


@input.command("list")
@output_option
@click.pass_obj
def input_list(home: Home, output: str, as_json: bool) -> None:
    """List monitor inputs: id, path, index, sourcetype, host, whitelist, blacklist."""
    rows = _service(home).inputs()
    if wants_json(output, as_json):
        print_json(rows)
        return
    table = new_table("id", "path", "index", "sourcetype", "host", "whitelist", "blacklist", "disabled", header_style="bold")
    for r in rows:
        table.add_row(str(r["id"]), r["path"], r["index"], r["sourcetype"] or "(auto)", r["host"] or "",
                      r["whitelist"] or "", r["blacklist"] or "", "yes" if r["disabled"] else "no")
    out.print(table)


@input.command("remove")
@click.argument("input_id")
@click.pass_obj
def input_remove(home: Home, input_id: str) -> None:
    """Remove input INPUT_ID (monitor, fschange, syslog...), or a HEC token input named
    http://NAME. The events it indexed stay."""
    svc = _service(home)
    if svc.input_kind(input_id) == "fschange":   # its baseline goes too
        from speleo.alerts.fschange.inputs import remove_input

        res = remove_input(svc, input_id) | {"kind": "fschange"}
    else:
        res = svc.remove_input(input_id)
    out.print(f"input {res['id']} ({res['kind']}) removed; its events stay searchable")


def register(cli: click.Group) -> None:
    from speleo.cli.license_cmds import license

    cli.add_command(index)
    cli.add_command(input)
    cli.add_command(license)
