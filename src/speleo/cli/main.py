"""The `speleo` command line (Click + Rich).

Commands read the home directly (search, status, index list) and write either through the
running server (when `server.json` names a live one) or by taking the home's writer lock.
Exit status: 0 success, 1 an error, 2 a bad query or bad usage.
"""

from __future__ import annotations

import csv
import json
import os
import re
import sys
import time
from pathlib import Path

import click

from speleo.cli import client
from speleo.cli.output import console, new_table, output_option, plural, print_json, wants_json
from speleo.config import Home, check_index_name
from speleo.errors import SpeleoError, SplError

out = console()
err = console(stderr=True)


# Command groups whose modules load only when the command runs (or `--help` of that command):
# a `speleo search` or `speleo status` then imports none of them. name -> (module, short help);
# tests/cli/test_lazy_commands.py checks each short help against the loaded command's own.
LAZY_COMMANDS: dict[str, tuple[str, str]] = {
    "forward": ("forward_cmds",
               'Follow files and ship them, with host metrics, to an HTTP Event Collector.'),
    "saved": ("alert_cmds",
               'Saved searches and alerts: import savedsearches.conf, list, show, enable, disable, remove.'),
    "alert": ("alert_cmds",
               'Alerts: backtest a saved search over past data, list fired alerts.'),
    "index": ("index_cmds",
               'Create, edit, show and delete indexes; retention, archive and thaw.'),
    "input": ("index_cmds",
               'Inputs: list them, remove one.'),
    "license": ("index_cmds",
               "Daily indexing volume (Splunk's licence usage) and its budget."),
    "incident": ("incident_cmds",
               'Incidents: declare, list, show, acknowledge, update, assign roles, resolve, close.'),
    "postmortem": ("learning_cmds",
               'Post-mortems in three gated phases: timeline, issues, actions (docs/postmortems.md).'),
    "action": ("learning_cmds",
               "Action items: list, backlog, close with evidence, remind; people's email, team and manager."),
    "checklist": ("checks_cmds",
               'Release checklists: DO-CONFIRM templates, runs tied to a release, sign-off.'),
    "review": ("checks_cmds",
               'After-action reviews: goals and targets, observed results, why, sustain/improve actions.'),
    "dashboard": ("dashboard_cmds",
               'Dashboards (Dashboard Studio JSON; Simple XML is converted on import).'),
    "datamodel": ("datamodel_cmds",
               "Data models (Splunk's data model JSON) for tstats, datamodel, from and pivot."),
    "oncall": ("oncall_cmds",
               'On-call: schedules and rotations, escalation policies, contact methods, who is on call, readiness.'),
    "problem": ("problem_cmds",
               'Problems: the causes behind incidents, their plans of attack and signatures.'),
    "report": ("report_cmds",
               'Operations reports: response times, availability (SLOs), capacity, disk health.'),
    "slo": ("report_cmds",
               'Service level objectives: good/total event searches, objective, window; burn-rate alerts.'),
    "history": ("history_cmds",
               'The searches run from the search page, newest first (the search history).'),
    "sourcetype": ("sourcetype_cmds",
               'The built-in sourcetypes and detection (docs/sourcetypes.md).'),
    "migrate": ("migrate_cmds",
               'Copy every bucket of this home (less deleted events) into ClickHouse.'),
    "user": ("user_cmds",
             'Web interface accounts: add, change passwords and roles, disable, sign out, list.'),
    "role": ("user_cmds",
             "Roles (after Splunk's authorize.conf): capabilities, importRoles, srchIndexesAllowed/Default, "
             "and search limits (srchMaxTime, srchJobsQuota; Speleo's srchMaxRowsRead, srchMaxMemory)."),
    "explain": ("spl_cmds",
                'Show how a search runs: its AST, its SQL, its time range and the buckets it reads.'),
    "macro": ("spl_cmds",
              'Search macros (`name` or `name(args)` in backquotes), kept in <home>/macros.json.'),
    "lookup": ("spl_cmds",
               'CSV lookup tables (lookup, inputlookup, outputlookup), kept in <home>/lookups.'),
    "fschange": ("fschange_cmds",
                 'File-change inputs (list, scan, remove, import) and code-roll verification.'),
}

# Subcommands of `speleo add` that load the same way: name -> (module, attribute, short help).
LAZY_ADD_COMMANDS: dict[str, tuple[str, str, str]] = {
    "fschange": ("fschange_cmds", "add_fschange",
                 'Watch the folder PATH recursively: one event per file added, updated, deleted or renamed.'),
}


class SpeleoGroup(click.Group):
    """Renders Speleo errors for a person instead of a traceback; loads `LAZY_COMMANDS` on use."""

    lazy: dict[str, tuple[str, str]] = {}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(self.lazy))

    def get_command(self, ctx: click.Context, name: str):
        cmd = super().get_command(ctx, name)
        if cmd is None and name in self.lazy:
            import importlib

            importlib.import_module(f"speleo.cli.{self.lazy[name][0]}").register(self)
            cmd = super().get_command(ctx, name)
        return cmd

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list of `speleo --help`, with the lazy groups' short help from the table
        (so the help imports none of them)."""
        limit = formatter.width - 6 - max(len(n) for n in self.list_commands(ctx))   # as click.Group does
        rows = []
        for name in self.list_commands(ctx):
            if name in self.lazy and name not in self.commands:
                rows.append((name, click.Command(name, help=self.lazy[name][-1]).get_short_help_str(limit)))
                continue
            cmd = self.get_command(ctx, name)
            if cmd is not None and not cmd.hidden:
                rows.append((name, cmd.get_short_help_str(limit)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except SplError as e:
            err.print(f"[red]error:[/red] {e.render()}" if e.query else f"[red]error:[/red] {e.message}", highlight=False, markup=True)
            sys.exit(2)
        except SpeleoError as e:
            err.print(f"[red]error:[/red] {e}", highlight=False)
            sys.exit(1)


@click.group(cls=SpeleoGroup)
@click.option("--home", type=click.Path(file_okay=False), envvar="SPELEO_HOME",
              help="Folder with Speleo's configuration and data (default ./var/speleo, or $SPELEO_HOME).")
@click.version_option(package_name="speleo")
@click.pass_context
def cli(ctx: click.Context, home: str | None) -> None:
    """Speleo: collect, index and search your logs with SPL."""
    ctx.obj = Home.resolve(home)


def service(home: Home):
    from speleo.service import Service

    return Service(home)


# -- add ---------------------------------------------------------------------------------
class _AddGroup(click.Group):
    """`speleo add`: its `LAZY_ADD_COMMANDS` load when used (see `SpeleoGroup`)."""

    lazy = LAZY_ADD_COMMANDS
    format_commands = SpeleoGroup.format_commands

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(LAZY_ADD_COMMANDS))

    def get_command(self, ctx: click.Context, name: str):
        cmd = super().get_command(ctx, name)
        if cmd is None and name in LAZY_ADD_COMMANDS:
            import importlib

            module, attr, _help = LAZY_ADD_COMMANDS[name]
            cmd = getattr(importlib.import_module(f"speleo.cli.{module}"), attr)
            self.add_command(cmd, name)
        return cmd


@cli.group(cls=_AddGroup)
def add() -> None:
    """Add data: a file once (oneshot) or a persistent monitor input."""


@add.command("oneshot")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--index", required=True, help="Index to put the events in (created if missing).")
@click.option("--sourcetype", help="Sourcetype (default: detected from the file).")
@click.option("--host", help="Host field (default: this machine's name).")
@click.option("--force", is_flag=True, help="Index the content even if it was added before.")
@click.pass_obj
def add_oneshot(home: Home, file: str, index: str, sourcetype: str | None, host: str | None, force: bool) -> None:
    """Index FILE (plain or .gz) once; returns when its events are searchable."""
    check_index_name(index)
    path = Path(file).resolve()
    if client.server_url(home):
        res = client.call(home, "POST", "/api/v1/inputs/oneshot",
                          {"path": str(path), "index": index, "sourcetype": sourcetype, "host": host, "force": force})
    else:
        res = _local_oneshot(home, path, index, sourcetype, host, force).__dict__
    flagged = ", ".join(f"{k}: {v}" for k, v in res["flagged"].items() if v) or "none"
    out.print(
        f"indexed {plural(res['events'], 'event')} ({plural(res['bytes'], 'byte')}) from {res['path']} into index "
        f"'{res['index']}' as sourcetype '{res['sourcetype']}'; flagged: {flagged}"
    )


def _local_oneshot(home, path, index, sourcetype, host, force):
    from speleo.ingest.oneshot import add_oneshot as run

    svc = service(home)
    svc.check_input_path(str(path))
    writer = svc.open_writer()
    try:
        from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn, TransferSpeedColumn

        columns = (BarColumn(), DownloadColumn(), TransferSpeedColumn(), TimeRemainingColumn())
        with Progress("[progress.description]{task.description}", *columns, console=err.real, transient=True) as bar:
            task = bar.add_task(f"indexing {path.name}", total=None)
            return run(writer.ingestor, path, index, sourcetype, host, force,
                       progress=lambda done, total: bar.update(task, completed=done, total=total),
                       forbidden=home.root)
    finally:
        writer.close()


@add.command("monitor")
@click.argument("path", type=click.Path())
@click.option("--index", required=True, help="Index to put the events in (created if missing).")
@click.option("--whitelist", help="Regex: only files whose full path matches are read.")
@click.option("--blacklist", help="Regex: files whose full path matches are skipped.")
@click.option("--sourcetype", help="Sourcetype (default: detected per file).")
@click.option("--host", help="Host field (default: this machine's name).")
@click.option("--head-bytes", type=int, help="Bytes of each file's head that identify it (default 256; raise it "
              "when files start with a longer common banner or header).")
@click.pass_obj
def add_monitor(home: Home, path: str, index: str, whitelist, blacklist, sourcetype, host, head_bytes) -> None:
    """Follow a file or a directory tree; `speleo serve` reads every monitor input."""
    input_id = service(home).add_monitor(path, index, sourcetype, host, whitelist, blacklist, head_bytes)
    client.audit(home, "edit_monitor", "created", object=input_id, path=os.path.realpath(path), target_index=index)
    running = "the running server picks it up within seconds" if client.server_url(home) else "run 'speleo serve' to start reading"
    out.print(f"monitor input {input_id} added for {os.path.realpath(path)} into index '{index}'; {running}")


# -- search ------------------------------------------------------------------------------
@cli.command()
@click.argument("query")
@click.option("--earliest", help="Start of the time range: -24h, -7d@d, an epoch, an ISO 8601 date "
                                  "(2015-05-17, 2015-05-17T10:00+02:00), or 0 for all time (default).")
@click.option("--latest", help="End of the time range (exclusive): now, -1h, an epoch, an ISO 8601 date "
                                "(default: no end).")
@click.option("--output", "-o", type=click.Choice(["table", "json", "jsonl", "csv", "raw"]), default="table",
              show_default=True, help="table; json: one JSON array of the rows; jsonl: one JSON object a line; "
                                      "csv; raw: each event's _raw.")
@click.option("--limit", type=click.IntRange(min=0), default=100, show_default=True, help="Rows to print; 0 = no limit.")
@click.option("--now", "now", type=float, help="Pin the search's 'now' (epoch seconds) for reproducible relative times.")
@click.option("--allow-delete", is_flag=True,
              help="Let a search ending in '| delete' hide what it finds (the home's owner holds delete_by_keyword; "
                   "needs no running server; recorded in _audit).")
@click.pass_obj
def search(home: Home, query: str, earliest, latest, output: str, limit: int, now, allow_delete: bool) -> None:
    """Run an SPL search and print the events or the result table.

    When a server runs for the home, the search goes through it (`POST /api/v1/search`, with at
    most the `search` capability, as locally): the command then loads none of the search engine
    and starts in a fraction of the time. `--allow-delete`, `| collect`, `| sendemail`,
    `| outputlookup` and `| outputcsv` run here, as the home's owner.
    """
    try:
        _search(home, query, earliest, latest, output, limit, now, allow_delete)
    except SpeleoError as e:
        if "delete_by_keyword" in str(e) and not allow_delete:
            raise SpeleoError(f"{e}; the home's owner can run it here with --allow-delete") from None
        raise


# writing commands the home's owner runs on the command line: through the server they would run
# with the `search` capability only and be refused
LOCAL_ONLY = ("collect", "sendemail", "outputlookup", "outputcsv")


def _search(home: Home, query: str, earliest, latest, output: str, limit: int, now, allow_delete: bool) -> None:
    writes = any(word in query for word in LOCAL_ONLY)
    if not allow_delete and not writes and client.server_url(home):
        body = _search_through_server(home, query, earliest, latest, limit, now)
        if body is not None:
            _print_rows(output, body, body["fields"])
            if body.get("truncated") and output == "table":
                err.print(f"[dim]showing {body['count']:,} of "
                          f"{plural(body['total'], 'row' if body['kind'] == 'results' else 'event')}; "
                          "use --limit 0 for all[/dim]")
            return
    from speleo.query import results
    from speleo.query.timefmt import local_zone
    from speleo.query.timefmt import to_epoch

    tz = local_zone(home.settings.default_tz)
    pinned = time.time() if now is None else now
    svc = service(home)
    if "collect" in query or "sendemail" in query:
        from speleo.cli.alert_cmds import install_local_sinks

        install_local_sinks(home)
    import speleo.alerts  # noqa: F401 (provides the home's saved searches to | savedsearch, even through a macro)
    try:
        res = svc.search(query, to_epoch(earliest, pinned, tz), to_epoch(latest, pinned, tz), limit, pinned,
                         timeline=False, capabilities=None if allow_delete else frozenset({"search"}),
                         actor=f"cli:{_os_user()}")
    except SplError as e:
        e.query = e.query or query
        raise
    body = results.to_json(res, tz)   # events with their search-time fields (clientip, status...)
    _print_rows(output, body, body["fields"])
    if res.truncated and output == "table":
        err.print(f"[dim]showing {body['count']:,} of {plural(res.total, 'row' if res.kind == 'results' else 'event')}; "
                  "use --limit 0 for all[/dim]")


def _search_through_server(home: Home, query: str, earliest, latest, limit: int, now) -> dict | None:
    """The API's search body, or None when the server cannot be reached (the caller searches locally)."""
    payload = {"search": query, "earliest": earliest, "latest": latest, "limit": limit,
               "now": time.time() if now is None else now, "timeline": False, "capabilities": ["search"]}
    try:
        return client.call_light(home, "POST", "/api/v1/search", payload)
    except client.Unreachable:
        return None


def _os_user() -> str:
    import getpass

    try:
        return getpass.getuser()
    except Exception:   # no user name (containers): the uid
        return str(os.getuid())


def _print_rows(output: str, body: dict, fields: list[str]) -> None:
    rows = body.get("events", body.get("results", []))
    if output == "jsonl":
        for r in rows:
            sys.stdout.write(json.dumps(r, default=str) + "\n")
    elif output == "json":
        sys.stdout.write(json.dumps(rows, default=str) + "\n")
    elif output == "csv":
        w = csv.DictWriter(sys.stdout, fieldnames=fields, extrasaction="ignore", lineterminator="\n")
        w.writeheader()
        for r in rows:
            w.writerow({k: (json.dumps(v) if isinstance(v, list) else v) for k, v in r.items()})
    elif output == "raw":
        for r in rows:
            sys.stdout.write((r.get("_raw") if "_raw" in r else "\t".join(str(r.get(f, "")) for f in fields)) + "\n")
    else:
        _print_table(body, rows, fields)


def _print_table(body: dict, rows: list[dict], fields: list[str]) -> None:
    if body["kind"] == "events":
        fields = ["_time", "host", "sourcetype", "_raw"]
    table = new_table(show_lines=body["kind"] == "events", header_style="bold")
    for f in fields:
        wide = f == "_raw" and out.is_terminal   # piped: every column as wide as its text
        table.add_column(f, overflow="fold", no_wrap=f == "_time", ratio=4 if wide else None)
    for r in rows:
        table.add_row(*[_cell(r.get(f)) for f in fields])
    out.print(table)
    if body["kind"] == "events":
        err.print(f"[dim]{plural(body['total'], 'event')} matched[/dim]")


def _cell(v) -> str:
    if v is None:
        return ""
    if isinstance(v, list):
        return "\n".join(str(x) for x in v)
    return str(v)


# -- serve -------------------------------------------------------------------------------
@cli.command()
@click.option("--bind", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535), help="HTTP API port.")
@click.option("--monitor", "monitors", multiple=True, type=click.Path(),
              help="Also monitor this path into index main (added as a monitor input if missing).")
@click.option("--hec-port", type=click.IntRange(0, 65535), default=None,
              help="HTTP Event Collector port (default 8088, skipped when taken; 0 disables).")
@click.option("--hec-max-content-length", type=click.IntRange(1), default=838_860_800, show_default=True,
              help="Largest HEC request body in bytes (also after gunzip); larger ones get 413.")
@click.option("--syslog-udp-port", type=click.IntRange(0, 65535), default=0, show_default=True,
              help="Syslog over UDP (0 disables).")
@click.option("--syslog-tcp-port", type=click.IntRange(0, 65535), default=0, show_default=True,
              help="Syslog over TCP, newline or octet-counted framing (0 disables).")
@click.option("--syslog-index", default="main", show_default=True, help="Index for syslog events.")
@click.option("--syslog-tz", default=None, help="Zone of RFC 3164 timestamps (default: the machine's).")
@click.option("--hec-tls-cert", type=click.Path(exists=True, dir_okay=False), default=None,
              help="PEM certificate (chain): HEC serves HTTPS.")
@click.option("--hec-tls-key", type=click.Path(exists=True, dir_okay=False), default=None,
              help="PEM private key of --hec-tls-cert (default: in the certificate file).")
@click.option("--syslog-tls-port", type=click.IntRange(0, 65535), default=0, show_default=True,
              help="Syslog over TLS, RFC 5425 (0 disables); needs --syslog-tls-cert.")
@click.option("--syslog-tls-cert", type=click.Path(exists=True, dir_okay=False), default=None,
              help="PEM certificate (chain) of the syslog TLS listener.")
@click.option("--syslog-tls-key", type=click.Path(exists=True, dir_okay=False), default=None,
              help="PEM private key of --syslog-tls-cert (default: in the certificate file).")
@click.option("--tls-cert", type=click.Path(exists=True, dir_okay=False), default=None,
              help="PEM certificate (chain): the API and web pages (--port) serve HTTPS.")
@click.option("--tls-key", type=click.Path(exists=True, dir_okay=False), default=None,
              help="PEM private key of --tls-cert (default: in the certificate file).")
@click.option("--hec-max-decompressed-length", type=click.IntRange(1), default=104_857_600, show_default=True,
              help="Largest gzip HEC body once decompressed, in bytes; larger ones get 413.")
@click.option("--max-connections", type=click.IntRange(1), default=1000, show_default=True,
              help="Open connections per listener (API, HEC, syslog TCP/TLS); more are refused and counted.")
@click.option("--idle-timeout", type=click.FloatRange(0.1), default=300.0, show_default=True,
              help="Seconds a connection may keep the server waiting without sending a byte before it is closed.")
@click.option("--admin-password-file", type=click.Path(exists=True, dir_okay=False), default=None,
              help="First start: the web user 'admin' gets the password on this file's first line "
                   "(instead of a random one printed once).")
@click.option("--smtp-server", default=None, metavar="HOST:PORT",
              help="Mail server for alert emails (else [email] mailserver in <home>/alert_actions.conf).")
@click.option("--backend", envvar="SPELEO_BACKEND", default=None, metavar="URL",
              help="Store and search events on ClickHouse: clickhouse://USER:PASSWORD@HOST:8123/DB[?cluster=NAME] "
                   "or chdb:///FOLDER (embedded ClickHouse); default: this home's Parquet buckets. "
                   "See docs/scale-out.md.")
@click.pass_obj
def serve(home: Home, bind: str, port: int, monitors, hec_port, hec_max_content_length, syslog_udp_port,
          syslog_tcp_port, syslog_index, syslog_tz, hec_tls_cert, hec_tls_key, syslog_tls_port,
          syslog_tls_cert, syslog_tls_key, tls_cert, tls_key, hec_max_decompressed_length, max_connections,
          idle_timeout, admin_password_file, smtp_server, backend) -> None:
    """Run the server: every monitor input, the journal sealer, the HTTP API, HEC and syslog.

    SIGTERM and SIGINT (Ctrl-C) stop it cleanly (exit status 0): data received is stored and
    the journal sealed."""
    import logging

    from speleo.errors import ConflictError, InputError
    from speleo.server.runner import serve as run

    from speleo.storage.memory import keep_pandas_out

    keep_pandas_out()    # pyarrow would load it (33 MB) for nothing: docs/decisions/0031
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)   # its INFO lines say every plugin it loads
    svc = service(home)
    for m in monitors:
        try:
            svc.add_monitor(m, "main")
        except ConflictError:
            pass
        except InputError as e:
            err.print(f"[yellow]warning:[/yellow] not monitoring {m}: {e}")

    def announce(url: str, rt) -> None:
        out.print(f"Speleo is listening on [bold]{url}[/bold] (home {home.root})")
        out.print(f"API token: in {home.token_path} (send 'Authorization: Bearer <token>')")
        inputs = rt.service.inputs()
        if not inputs:
            out.print("No monitor inputs yet: add one with 'speleo add monitor PATH --index main'")
        for i in inputs:
            out.print(f"monitoring {i['path']} -> index '{i['index']}'")
        for line in rt.network.listening:
            out.print(line)

    from speleo.server.network import NetworkOptions

    check_index_name(syslog_index)
    if hec_tls_key and not hec_tls_cert:
        raise click.UsageError("--hec-tls-key needs --hec-tls-cert")
    if (syslog_tls_cert or syslog_tls_key) and not syslog_tls_port:
        raise click.UsageError("--syslog-tls-cert/--syslog-tls-key need --syslog-tls-port")
    if syslog_tls_port and not syslog_tls_cert:
        raise click.UsageError("--syslog-tls-port needs --syslog-tls-cert")
    if tls_key and not tls_cert:
        raise click.UsageError("--tls-key needs --tls-cert")
    from speleo.ingest.limits import ConnectionLimits

    options = NetworkOptions(hec_port, hec_max_content_length, syslog_udp_port, syslog_tcp_port, syslog_index,
                             syslog_tz, hec_tls_cert=hec_tls_cert, hec_tls_key=hec_tls_key,
                             syslog_tls_port=syslog_tls_port, syslog_tls_cert=syslog_tls_cert,
                             syslog_tls_key=syslog_tls_key, hec_max_decompressed_bytes=hec_max_decompressed_length,
                             limits=ConnectionLimits(max_connections, idle_timeout))
    if smtp_server and not re.fullmatch(r"[^\s:]+(:\d{1,5})?", smtp_server):
        raise click.UsageError(f"--smtp-server {smtp_server!r}: give HOST or HOST:PORT (e.g. mail.example.com:587)")
    if backend:
        from speleo.storage.clickhouse.client import parse_url

        try:
            parse_url(backend)
        except InputError as e:
            raise click.UsageError(f"--backend: {e}") from None
    run(home, bind, port, announce, options, tls_cert=tls_cert, tls_key=tls_key,
        admin_password=_admin_password(admin_password_file), smtp_server=smtp_server, backend=backend)


def _admin_password(path: str | None) -> str | None:
    """The first line of --admin-password-file (at least 8 characters), or None."""
    if path is None:
        return None
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    password = lines[0].strip() if lines else ""
    if len(password) < 8:
        raise click.UsageError(f"--admin-password-file {path}: the first line must hold a password of "
                               "at least 8 characters")
    return password


# -- HEC tokens --------------------------------------------------------------------------
@cli.group()
def token() -> None:
    """HTTP Event Collector tokens: create, list, disable, delete."""


@token.command("create")
@click.argument("name")
@click.option("--index", required=True, help="Default index of the token's events (created if missing).")
@click.option("--allowed-indexes", default="", help="Comma-separated other indexes the token may write to.")
@click.option("--sourcetype", help="Default sourcetype (else 'httpevent').")
@click.option("--ack", is_flag=True, help="Enable indexer acknowledgement (clients must send a channel).")
@click.pass_obj
def token_create(home: Home, name: str, index: str, allowed_indexes: str, sourcetype, ack: bool) -> None:
    """Create token NAME; prints the token alone on standard output (shown only this once)."""
    from speleo.storage import tokens

    allowed = [i.strip() for i in allowed_indexes.split(",") if i.strip()]
    secret = tokens.create_token(service(home).catalog, name, index, allowed, sourcetype, ack)
    client.audit(home, "edit_token_http", "created", object=name, target_index=index, allowed_indexes=allowed)
    click.echo(secret)


@token.command("list")
@output_option
@click.pass_obj
def token_list(home: Home, output: str, as_json: bool) -> None:
    """List tokens and their settings (never the secrets)."""
    from speleo.storage import tokens

    rows = [t.to_dict() for t in tokens.list_tokens(service(home).catalog)]
    if wants_json(output, as_json):
        print_json(rows)
        return
    table = new_table("name", "default index", "allowed indexes", "sourcetype", "ack", "disabled", "created",
                  header_style="bold")
    for r in rows:
        table.add_row(r["name"], r["default_index"], ",".join(r["allowed_indexes"]), r["sourcetype"] or "",
                      "yes" if r["ack"] else "no", "yes" if r["disabled"] else "no", _when(r["created"]))
    out.print(table)


@token.command("disable")
@click.argument("name")
@click.pass_obj
def token_disable(home: Home, name: str) -> None:
    """Disable token NAME (its requests get code 1, Token disabled)."""
    from speleo.storage import tokens

    tokens.set_disabled(service(home).catalog, name, True)
    client.audit(home, "edit_token_http", "disabled", object=name)
    err.print(f"token '{name}' disabled")


@token.command("enable")
@click.argument("name")
@click.pass_obj
def token_enable(home: Home, name: str) -> None:
    """Enable token NAME again."""
    from speleo.storage import tokens

    tokens.set_disabled(service(home).catalog, name, False)
    client.audit(home, "edit_token_http", "enabled", object=name)
    err.print(f"token '{name}' enabled")


@token.command("delete")
@click.argument("name")
@click.pass_obj
def token_delete(home: Home, name: str) -> None:
    """Delete token NAME."""
    from speleo.storage import tokens

    tokens.delete_token(service(home).catalog, name)
    client.audit(home, "edit_token_http", "deleted", object=name)
    err.print(f"token '{name}' deleted")


# -- status ------------------------------------------------------------------------------
@cli.command()
@output_option
@click.pass_obj
def status(home: Home, output: str, as_json: bool) -> None:
    """Inputs, files followed, events indexed, problems (flagged/dropped and why), buckets, disk use."""
    st = service(home).status()
    url = client.server_url(home)
    if url:
        try:
            st["server"] = client.call(home, "GET", "/api/v1/status", timeout=10).get("server")
        except Exception as e:  # the status of a half-up server is still worth printing
            st["server"] = {"error": str(e)}
    if wants_json(output, as_json):
        print_json(st)
        return
    _print_status(st, url)


def _print_status(st: dict, url: str | None) -> None:
    out.print(f"[bold]home[/bold] {st['home']}   server: {url or 'not running'}")
    out.print(f"events indexed: {st['events']:,} in {plural(st['buckets'], 'bucket')}; disk use {_size(st['disk_bytes'])}; "
              f"ingested today: {_size(st['ingested_today']['bytes'])} ({plural(st['ingested_today']['events'], 'event')})")
    lic = st.get("license") or {}
    if lic.get("budget_bytes"):
        over = " [red]EXCEEDED[/red]" if lic["exceeded"] else ""
        out.print(f"licence today: {_size(lic['bytes'])} of {_size(lic['budget_bytes'])} daily budget{over}; "
                  f"warnings in 30 days: {len(lic['warnings_30d'])}")
    dropped = st.get("filtered_today") or []
    if dropped:
        out.print(f"dropped by ingest filters today: {plural(sum(d['events'] for d in dropped), 'event')} "
                  f"({_size(sum(d['bytes'] for d in dropped))}; not counted in the licence record)")
    t = new_table("input", "path", "index", "sourcetype", header_style="bold", title="inputs")
    for i in st["inputs"]:
        t.add_row(str(i["id"]), i["path"], i["index"], i["sourcetype"] or "(auto)")
    out.print(t)
    t = new_table("file", "bytes read", header_style="bold", title="files followed")
    for f in st["files"]:
        t.add_row(f["path"], f"{f['offset']:,}")
    out.print(t)
    ff = (st.get("server") or {}).get("file_following")
    if ff:
        out.print(f"files followed now: {ff['followed']:,}, open {ff['open']:,} (at most {ff['max_open']:,}); "
                  f"changes noticed by {ff['change_notification']}; skipped: {len(ff['skipped']):,} "
                  f"(reasons under problems); identity undecided: {len(ff['undecided']):,}")
    t = new_table("kind", "source", "reason", "count", header_style="bold", title="events flagged or dropped, and errors")
    for p in st["problems"]:
        t.add_row(p["kind"], p["source"], p["reason"], f"{p['count']:,}")
    for reason in st.get("knowledge_problems") or []:
        t.add_row("knowledge skipped", "", reason, "")
    out.print(t)


def _size(n: int | None) -> str:
    n = float(n or 0)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1024 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return ""


def _when(ts: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts)) if ts else ""


cli.lazy = LAZY_COMMANDS   # the other command groups load when used (see LAZY_COMMANDS)

def main() -> None:
    os.umask(0o077)  # the home holds logs, password hashes and tokens: readable by its owner only
    cli(prog_name="speleo")


if __name__ == "__main__":
    main()
