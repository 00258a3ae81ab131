"""What the command line writes: consoles that do not cut piped output, counted words, and the
`--output table|json` option every listing command has.

A terminal gets Rich's tables at its width. Output piped to a file or another program is not a
terminal: Rich would cut it to 80 columns (events wrapped over 15 lines, paths shown as
`…/serv…`), so there the width is unbounded and lines are never folded.
"""

from __future__ import annotations

import json
import sys

from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from rich.console import Console

UNBOUNDED = 1_000_000   # columns of a console that is not a terminal


def _make_console(stderr: bool, options: dict) -> "Console":
    from rich.console import Console

    probe = Console(stderr=stderr, **options)
    if probe.is_terminal:
        return probe
    return Console(stderr=stderr, width=UNBOUNDED, soft_wrap=True, **options)


class _LazyConsole:
    """Stands for a Rich console and makes it on first use: importing Rich's console costs a
    command ~12 ms, and `speleo search --output json` (a script's call) prints nothing with it."""

    def __init__(self, stderr: bool, options: dict) -> None:
        self._args = (stderr, options)
        self._console = None

    @property
    def real(self) -> "Console":
        """The Rich console itself (for Rich objects that take one: `Progress(console=...)`)."""
        if self._console is None:
            self._console = _make_console(*self._args)
        return self._console

    def __getattr__(self, name: str):
        return getattr(self.real, name)


def console(stderr: bool = False, **options) -> "Console":
    """A console on stdout (or stderr) that keeps the terminal's width, and no width when piped
    (`options`: more Rich Console options, e.g. highlight=False). Made on first use."""
    return _LazyConsole(stderr, options)  # type: ignore[return-value]


def plural(n: int, one: str, many: str | None = None) -> str:
    """`1 event`, `2 events`, `1,000 events` (`many` for irregular plurals: batch/batches)."""
    return f"{n:,} {one if n == 1 else (many or one + 's')}"


def output_option(func):
    """`--output/-o table|json` (and `--json`, the older spelling of `--output json`)."""
    func = click.option("--json", "as_json", is_flag=True, hidden=True, help="Same as --output json.")(func)
    return click.option("--output", "-o", "output", type=click.Choice(["table", "json"]), default="table",
                        show_default=True, help="table for people, json for programs (one JSON document).")(func)


def wants_json(output: str, as_json: bool) -> bool:
    return as_json or output == "json"


def print_json(value) -> None:
    sys.stdout.write(json.dumps(value, default=str) + "\n")


def new_table(*columns, **options):
    """A Rich table (the arguments of rich.table.Table); rich.table is imported on first use so
    that commands printing no table, and `speleo --help`, do not load it."""
    from rich.table import Table

    return Table(*columns, **options)
