"""`speleo user`: web accounts (add, passwd, list). Passwords come on standard input only."""

from __future__ import annotations

import sys

import click

from speleo.cli.output import output_option, print_json, wants_json
from speleo.config import Home


def _read_password(password_stdin: bool) -> str:
    if not password_stdin:
        if not sys.stdin.isatty():
            raise click.UsageError("pass --password-stdin to read the password from standard input")
        return click.prompt("Password", hide_input=True, confirmation_prompt=True)
    line = sys.stdin.readline()
    return line.rstrip("\r\n")


@click.group()
def user() -> None:
    """Web interface accounts: add, change passwords, list."""


@user.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(["admin", "user"]), default="user", show_default=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of standard input.")
@click.pass_obj
def user_add(home: Home, name: str, role: str, password_stdin: bool) -> None:
    """Create web user NAME."""
    from speleo.ops.users import Users

    Users(home).add(name, role, _read_password(password_stdin))
    click.echo(f"user '{name}' created ({role})", err=True)


@user.command("passwd")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of standard input.")
@click.pass_obj
def user_passwd(home: Home, name: str, password_stdin: bool) -> None:
    """Set the password of web user NAME (ends the user's open sessions)."""
    from speleo.ops.users import Users

    Users(home).set_password(name, _read_password(password_stdin))
    click.echo(f"password of '{name}' changed", err=True)


@user.command("list")
@output_option
@click.pass_obj
def user_list(home: Home, output: str, as_json: bool) -> None:
    """List web users and their roles (table: one `name<TAB>role` line each)."""
    from speleo.ops.users import Users

    users = Users(home).list()
    if wants_json(output, as_json):
        print_json([{"name": u.name, "role": u.role} for u in users])
        return
    for u in users:
        click.echo(f"{u.name}\t{u.role}")
