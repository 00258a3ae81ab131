"""`speleo migrate --to URL`: copy this home's events into ClickHouse (docs/scale-out.md).

    speleo migrate --to clickhouse://USER:PASSWORD@HOST:8123/speleo [--index NAME]... [--output json]
"""

from __future__ import annotations

import click

from speleo.cli.output import console, output_option, plural, print_json, wants_json
from speleo.config import Home

out = console(highlight=False)


@click.command("migrate")
@click.option("--to", "target", required=True, metavar="URL",
              help="The ClickHouse backend: clickhouse://USER:PASSWORD@HOST:8123/DB[?cluster=NAME] or chdb:///FOLDER.")
@click.option("--index", "indexes", multiple=True, help="Copy only this index (repeatable); default: every index.")
@output_option
@click.pass_obj
def migrate(home: Home, target: str, indexes: tuple[str, ...], output: str, as_json: bool) -> None:
    """Copy every bucket of this home (less deleted events) into ClickHouse.

    Stop the server first: the copy takes the home's writer lock (a merge during the copy would
    send events twice). Running it again sends nothing twice (deduplication tokens)."""
    from speleo.query.backend import open_backend
    from speleo.query.migrate import migrate as run
    from speleo.service import Service

    svc = Service(home, backend="")
    svc.open_writer()                  # the lock; recovery seals what the journal holds into buckets
    try:
        backend = open_backend(target)
        quiet = wants_json(output, as_json)
        report = run(svc.home, svc.catalog, backend, list(indexes) or None,
                     None if quiet else lambda r: out.print(f"{r['index']}: {r['bucket']} ({plural(r['events'], 'event')})"))
    finally:
        svc.writer.close()
    if quiet:
        print_json(report)
        return
    out.print(f"copied {plural(report['events'], 'event')} from {plural(report['buckets'], 'bucket')} "
              f"of {plural(len(report['indexes']), 'index', 'indexes')} to {backend.display}")


def register(cli: click.Group) -> None:
    cli.add_command(migrate)
