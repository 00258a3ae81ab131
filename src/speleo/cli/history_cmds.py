"""`speleo history`: the searches web users ran from the search page (the search history kept
in the operations database, speleo.ops.history), newest first, identical runs folded.

It is `speleo history` rather than `speleo search history` because `speleo search QUERY` takes
any text as its query: "history" is a search for that word. Reading the home directly is an
admin's power already, so the command shows every user's history unless `--user` names one.
"""

from __future__ import annotations

import datetime as dt

import click
from rich.markup import escape
from rich.table import Table

from speleo.cli.output import console, output_option, print_json, wants_json
from speleo.config import Home
from speleo.errors import InputError

out = console(highlight=False)


@click.command("history")
@click.option("--user", "user_name", help="Only this web user's searches.")
@click.option("--contains", default="", help="Only searches whose SPL holds this text (case-insensitive).")
@click.option("--limit", type=click.IntRange(1, 500), default=50, show_default=True, help="Searches to list.")
@output_option
@click.pass_obj
def history(home: Home, user_name: str | None, contains: str, limit: int, output: str, as_json: bool) -> None:
    """The searches run from the search page, newest first (the search history).

    Each with its time range as written, how many times it ran, and the latest run's result
    count; every web user's unless --user names one."""
    from speleo.ops.history import SearchHistory
    from speleo.ops.users import Users

    users = Users(home)
    names = {u.id: u.name for u in users.list()}
    user_id = None
    if user_name:
        user_id = next((i for i, n in names.items() if n == user_name), None)
        if user_id is None:
            raise InputError(f"no web user named {user_name!r} ('speleo user list' shows them)")
    rows = SearchHistory(users.engine).list(user_id, limit, contains)
    for r in rows:
        uid = r.pop("user_id", user_id)
        r["user"] = names.get(uid, f"user {uid}")
    if wants_json(output, as_json):
        print_json(rows)
        return
    if not rows:
        out.print("no searches in the history" + (f" of {user_name}" if user_name else ""))
        return
    t = Table(box=None, pad_edge=False)
    for col in ("last run (UTC)", "user", "range", "runs", "results", "search"):
        t.add_column(col, overflow="fold")
    for r in rows:
        when = dt.datetime.fromtimestamp(r["last_run"], dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
        rng = f"{r['earliest'] or '…'} → {r['latest'] or 'now'}" if r["earliest"] or r["latest"] else "all time"
        res = "" if r["result_count"] is None else f"{r['result_count']:,}"
        t.add_row(when, escape(r["user"]), escape(rng), str(r["runs"]), res, escape(r["search"]))
    out.print(t)


def register(cli: click.Group) -> None:
    cli.add_command(history)
