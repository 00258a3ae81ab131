"""`speleo forward`: the forwarder (follow files, queue on disk, ship over HEC) and its status.

    speleo forward --to URL --token T [--home DIR] [--monitor PATH ...] [--index I] [--sourcetype ST]
                   [--metrics-interval SECS] [--metrics-index I] [--service NAME] [--queue-max-bytes N]
    speleo forward status [--home DIR] [--json]

The forwarder is meant to stay small (under 50 MB of memory), but `speleo`'s command line loads
the search language and pyarrow before any command runs. So `speleo forward`, once its options
are checked, replaces its process (same pid) with `python -m speleo.forward` and the same
options, which loads this module alone; the token travels in `$SPELEO_FORWARD_TOKEN`, not on the
command line. `SPELEO_FORWARD_NO_EXEC=1` keeps it in the first process (bigger; for debugging).
"""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import sys
import time

import click

from speleo.config import check_index_name

DEFAULT_HOME = os.path.join("var", "forwarder")
SERVICE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


@click.group("forward", invoke_without_command=True)
@click.option("--to", "to", help="HEC receiver URL, e.g. http://indexer:8088 (Speleo's or Splunk's).")
@click.option("--token", envvar="SPELEO_FORWARD_TOKEN",
              help="HEC token (or $SPELEO_FORWARD_TOKEN). On a shared machine prefer --token-file: "
                   "command lines are visible to every local user.")
@click.option("--token-file", type=click.Path(dir_okay=False, exists=True),
              help="File holding the HEC token (first line).")
@click.option("--home", "fhome", type=click.Path(file_okay=False), envvar="SPELEO_FORWARDER_HOME",
              help="The forwarder's own folder: queue, checkpoints, status (default ./var/forwarder).")
@click.option("--monitor", "monitors", multiple=True, type=click.Path(),
              help="File or directory tree to follow (repeatable).")
@click.option("--index", default="main", show_default=True, help="Index of the monitored files' events.")
@click.option("--sourcetype", help="Sourcetype of the monitored files (default: detected per file).")
@click.option("--host", "host", help="host field (default: this machine's name).")
@click.option("--metrics-interval", type=click.FloatRange(min=0), default=60.0, show_default=True,
              help="Seconds between host metrics samples (0 disables them).")
@click.option("--metrics-index", default="metrics", show_default=True, help="Index of host metrics.")
@click.option("--service", help="The service this host runs (e.g. checkout): written into each host metrics "
                                "event as `service`, so 'speleo report capacity' shows utilisation per service.")
@click.option("--smart-interval", type=click.FloatRange(min=0), default=3600.0, show_default=True,
              help="Seconds between disk health readings with smartctl --json -a (0 disables them; off "
                   "anyway when smartctl is not installed). Sent to the metrics index as smartctl:json.")
@click.option("--queue-max-bytes", type=click.IntRange(min=1024), default=100 * 1024 * 1024, show_default=True,
              help="Disk queue limit; when full, files are not read further (nothing is dropped).")
@click.option("--insecure", is_flag=True, help="With https: do not verify the receiver's certificate.")
@click.pass_context
def forward(ctx: click.Context, to, token, token_file, fhome, monitors, index, sourcetype, host, metrics_interval,
            metrics_index, service, smart_interval, queue_max_bytes, insecure) -> None:
    """Follow files and ship them, with host metrics, to an HTTP Event Collector."""
    ctx.meta["forward_home"] = fhome
    if ctx.invoked_subcommand is not None:
        return
    if token_file:
        lines = open(token_file, encoding="utf-8").read().strip().splitlines()
        token = lines[0].strip() if lines else ""
    if not to or not token:
        raise click.UsageError("--to URL and a token (--token-file F, $SPELEO_FORWARD_TOKEN or --token T) "
                               "are required (or 'speleo forward status')")
    check_index_name(index)
    check_index_name(metrics_index)
    if service is not None and not SERVICE_NAME.fullmatch(service):
        raise click.BadParameter(f"{service!r}: give letters, digits, '.', '_' or '-' (up to 100, starting with "
                                 "a letter or digit)", param_hint="--service")
    if ctx.parent is not None and os.environ.get("SPELEO_FORWARD_NO_EXEC") != "1":
        _exec_lean(to, token, fhome, monitors, index, sourcetype, host, metrics_interval, metrics_index,
                   queue_max_bytes, insecure, smart_interval, service)
    from pathlib import Path

    from speleo.forward.agent import DEFAULT_HOME as HOME, ForwardOptions, Forwarder

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    opts = ForwardOptions(to=to, token=token, home=Path(fhome) if fhome else HOME, monitors=list(monitors),
                          index=index, sourcetype=sourcetype, host=host, metrics_interval=metrics_interval,
                          metrics_index=metrics_index, queue_max_bytes=queue_max_bytes, verify_tls=not insecure,
                          smart_interval=smart_interval, service=service)
    try:
        fwd = Forwarder(opts)
    except ValueError as e:
        raise click.UsageError(str(e)) from None

    def on_signal(signum, frame) -> None:
        fwd.stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    click.echo(f"forwarding to {to} (home {fwd.home}); following: "
               f"{', '.join(str(Path(m).absolute()) for m in monitors) or 'nothing'}"
               f"{'; host metrics every %gs into %s' % (metrics_interval, metrics_index) if metrics_interval else ''}",
               err=True)
    fwd.run()


def _exec_lean(to, token, fhome, monitors, index, sourcetype, host, metrics_interval, metrics_index,
               queue_max_bytes, insecure, smart_interval=3600.0, service=None) -> None:
    """Become `python -m speleo.forward ...` (see module doc); returns only if exec fails."""
    args = [sys.executable, "-m", "speleo.forward", "--to", to, "--index", index,
            "--metrics-interval", repr(float(metrics_interval)), "--metrics-index", metrics_index,
            "--smart-interval", repr(float(smart_interval)),
            "--queue-max-bytes", str(queue_max_bytes)]
    if fhome:
        args += ["--home", fhome]
    for m in monitors:
        args += ["--monitor", m]
    if sourcetype:
        args += ["--sourcetype", sourcetype]
    if host:
        args += ["--host", host]
    if service:
        args += ["--service", service]
    if insecure:
        args.append("--insecure")
    env = dict(os.environ, SPELEO_FORWARD_TOKEN=token)
    env.pop("SPELEO_FORWARDER_HOME", None)  # --home above says it, when set
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        os.execve(sys.executable, args, env)
    except OSError as e:  # run in this process then: it works, only bigger
        logging.getLogger("speleo.forward").warning("cannot start a lean forwarder process (%s)", e)


@forward.command("status")
@click.option("--home", "fhome", type=click.Path(file_okay=False), help="The forwarder's folder (default ./var/forwarder).")
@click.option("--output", "-o", "output", type=click.Choice(["table", "json"]), default="table", show_default=True,
              help="table for people, json for programs.")
@click.option("--json", "as_json", is_flag=True, hidden=True, help="Same as --output json.")
@click.pass_context
def forward_status(ctx: click.Context, fhome, output: str, as_json: bool) -> None:
    """What the forwarder follows, its queue depth, last error and events sent."""
    from speleo.cli.output import plural
    from speleo.forward.agent import read_status

    home = fhome or ctx.parent.meta.get("forward_home") or DEFAULT_HOME
    st = read_status(home)
    if as_json or output == "json":
        click.echo(json.dumps(st, default=str))
        return
    q = st["queue"]
    state = "running" if st["alive"] else "not running (last status below)"
    w = sys.stdout.write
    w(f"forwarder {state}: pid {st['pid']}, home {st['home']}, to {st['to']}\n")
    w(f"  updated {_when(st['updated'])}; started {_when(st['started'])}\n")
    w(f"  queue: {plural(q['records'], 'record')}, {plural(q['events'], 'event')}, {q['bytes']:,} of "
      f"{plural(q['max_bytes'], 'byte')}"
      f"{' (FULL: reading paused)' if q['full'] else ''}\n")
    w(f"  events read {st['events_read']:,}, sent and acknowledged {st['events_sent']:,} since start "
      f"({st['events_sent_total']:,} in all); batches {st['batches_sent']:,}, retries {st['retries']:,}, "
      f"resent {st['resends']:,}; acknowledgement {'on' if st['ack_mode'] else 'off' if st['ack_mode'] is False else '?'}\n")
    refused = st.get("refused") or {}
    if refused.get("batches"):
        w(f"  REFUSED by the receiver and set aside: {plural(refused['events'], 'event')} in "
          f"{plural(refused['batches'], 'batch', 'batches')}, in {refused['file']}\n")
    if st.get("last_error"):
        w(f"  last error ({_when(st['last_error_at'])}): {st['last_error']}\n")
    else:
        w("  last error: none\n")
    smart = st.get("smart") or {}
    if smart.get("enabled"):
        w(f"  disk health: smartctl {smart['smartctl']} every {smart['interval']:g}s; {plural(smart['errors'], 'error')}"
          + (f" (last: {smart['last_error']})" if smart.get("last_error") else "") + "\n")
    elif "smart" in st:
        w("  disk health: off (smartctl not installed, or --smart-interval 0)\n")
    for i in st["inputs"]:
        w(f"  input {i['path']} -> index {i['index']}" + (f" sourcetype {i['sourcetype']}" if i["sourcetype"] else "") + "\n")
    for f in st["files"]:
        w(f"    file {f['path']}: {plural(f['offset'], 'byte')} read ({f['sourcetype']})\n")
    for p in st.get("problems", []):
        w(f"  problem: {p['kind']} {p['source']}: {p['reason']}\n")


def _when(ts) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts)) if ts else "never"


def register(cli: click.Group) -> None:
    cli.add_command(forward)
