"""`speleo user` (web accounts: add, passwd, list, roles, disable, enable, signout) and
`speleo role` (list, show, create, edit, remove). Passwords come on standard input only.

When a server runs for the home, every change goes through its API (`/api/v1/users`,
`/api/v1/roles`) with the home's API token, so the server audits it in `_audit`; otherwise the
command changes the operations database itself and writes the audit event through the home's
journal (taking the writer lock for a moment). Either way the change history of the record
(`record_changes`) names the actor. Reading the home directly is already an admin's power
(the files are the data), so these commands need no sign-in.
"""

from __future__ import annotations

import json
import sys

import click

from speleo.cli import client
from speleo.config import Home

OUTPUT = click.option("--output", "-o", type=click.Choice(["table", "json"]), default="table", show_default=True)


def _read_password(password_stdin: bool) -> str:
    if not password_stdin:
        if not sys.stdin.isatty():
            raise click.UsageError("pass --password-stdin to read the password from standard input")
        return click.prompt("Password", hide_input=True, confirmation_prompt=True)
    line = sys.stdin.readline()
    return line.rstrip("\r\n")


def _actor() -> str:
    return f"cli:{client.login_name()}"


def _users(home: Home):
    from speleo.ops.users import Users

    return Users(home)


def _remote(home: Home) -> bool:
    return client.server_url(home) is not None


def _change_user(home: Home, name: str, change: dict, info: str) -> dict:
    """PATCH a user through the server, or change it here; returns the user's dict."""
    if _remote(home):
        return client.call(home, "PATCH", f"/api/v1/users/{name}", change)
    users, actor, ended = _users(home), _actor(), 0
    if "roles" in change:
        users.set_roles(name, change["roles"], actor)
    if "disabled" in change:
        ended += users.set_disabled(name, change["disabled"], actor)
    if "password" in change:
        ended += users.set_password(name, change["password"], actor)
    client.audit(home, "edit_user", info, object=name, roles=change.get("roles"))
    d = users.by_name(name).to_dict()
    d["sessions_ended"] = ended
    return d


@click.group()
def user() -> None:
    """Web interface accounts: add, change passwords and roles, disable, sign out, list."""


@user.command("add")
@click.argument("name")
@click.option("--role", "roles", multiple=True, default=("user",), show_default=True,
              help="A role of the user (repeat for several; see 'speleo role list').")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of standard input.")
@click.pass_obj
def user_add(home: Home, name: str, roles: tuple[str, ...], password_stdin: bool) -> None:
    """Create web user NAME."""
    password = _read_password(password_stdin)
    if _remote(home):
        client.call(home, "POST", "/api/v1/users", {"name": name, "roles": list(roles), "password": password})
    else:
        _users(home).add(name, list(roles), password, _actor())
        client.audit(home, "edit_user", "created", object=name, roles=list(roles))
    click.echo(f"user '{name}' created ({', '.join(roles)})", err=True)


@user.command("passwd")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of standard input.")
@click.pass_obj
def user_passwd(home: Home, name: str, password_stdin: bool) -> None:
    """Set the password of web user NAME (ends the user's open sessions)."""
    d = _change_user(home, name, {"password": _read_password(password_stdin)}, "password changed")
    click.echo(f"password of '{name}' changed ({d['sessions_ended']} session(s) ended)", err=True)


@user.command("roles")
@click.argument("name")
@click.option("--role", "roles", multiple=True, required=True, help="A role (repeat for several).")
@click.pass_obj
def user_roles(home: Home, name: str, roles: tuple[str, ...]) -> None:
    """Replace the roles of web user NAME."""
    d = _change_user(home, name, {"roles": list(roles)}, "roles changed")
    click.echo(f"roles of '{name}': {', '.join(d['roles'])}", err=True)


@user.command("disable")
@click.argument("name")
@click.pass_obj
def user_disable(home: Home, name: str) -> None:
    """Disable web user NAME: it cannot sign in, and its sessions end now."""
    d = _change_user(home, name, {"disabled": True}, "disabled")
    click.echo(f"user '{name}' disabled ({d['sessions_ended']} session(s) ended)", err=True)


@user.command("enable")
@click.argument("name")
@click.pass_obj
def user_enable(home: Home, name: str) -> None:
    """Enable web user NAME again."""
    _change_user(home, name, {"disabled": False}, "enabled")
    click.echo(f"user '{name}' enabled", err=True)


@user.command("signout")
@click.argument("name")
@click.pass_obj
def user_signout(home: Home, name: str) -> None:
    """End every session of web user NAME ("sign out everywhere")."""
    if _remote(home):
        n = client.call(home, "POST", f"/api/v1/users/{name}/signout")["sessions_ended"]
    else:
        n = _users(home).sign_out(name, _actor())
        client.audit(home, "edit_user", "signed out everywhere", object=name, sessions_ended=n)
    click.echo(f"{n} session(s) of '{name}' ended", err=True)


@user.command("list")
@OUTPUT
@click.pass_obj
def user_list(home: Home, output: str) -> None:
    """List web users, their roles and whether they are disabled."""
    users = _users(home)
    rows = [u.to_dict() for u in users.list()]
    if output == "json":
        click.echo(json.dumps(rows, indent=2))
        return
    for r in rows:
        click.echo(f"{r['name']}\t{','.join(r['roles'])}" + ("\tdisabled" if r["disabled"] else ""))


# -- roles ------------------------------------------------------------------------------------

def _split(values: tuple[str, ...]) -> list[str]:
    """Repeated options, each possibly a `;` or `,` separated list (as authorize.conf writes them)."""
    out: list[str] = []
    for v in values:
        out += [x.strip() for x in v.replace(";", ",").split(",") if x.strip()]
    return out


def _role_options(fn):
    fn = click.option("--capability", "capabilities", multiple=True, help="A capability (repeat, or a;b).")(fn)
    fn = click.option("--import-role", "imports", multiple=True, help="importRoles: a role whose settings add up.")(fn)
    fn = click.option("--allowed", multiple=True, help="srchIndexesAllowed: an index pattern (*, _*, web-*).")(fn)
    fn = click.option("--default", "defaults", multiple=True, help="srchIndexesDefault: an index pattern.")(fn)
    fn = click.option("--max-time", help="srchMaxTime: how long one search may run (seconds, or 90s, 10m, 2h, 1d; "
                                         "0 for no limit; '' to unset).")(fn)
    fn = click.option("--jobs-quota", help="srchJobsQuota: searches of one user running at once (0: the server's 4).")(fn)
    fn = click.option("--max-rows-read", help="srchMaxRowsRead: events one search may read (0 for no limit).")(fn)
    fn = click.option("--max-memory", help="srchMaxMemory: memory of one search (bytes, or 512MB, 2GB; 0 for no limit).")(fn)
    return fn


def _number(v) -> str:
    """A limit for people: whole numbers with thousands separators, others as they are."""
    if isinstance(v, (int, float)) and float(v).is_integer():
        return f"{int(v):,}"
    return str(v)


def _limits(max_time, jobs_quota, max_rows_read, max_memory) -> dict:
    """The limits given on the command line (see speleo.ops.roles.check_limits)."""
    given = {"srchMaxTime": max_time, "srchJobsQuota": jobs_quota, "srchMaxRowsRead": max_rows_read,
             "srchMaxMemory": max_memory}
    return {k: (v if v != "" else None) for k, v in given.items() if v is not None}


@click.group()
def role() -> None:
    """Roles (after Splunk's authorize.conf): capabilities, importRoles, srchIndexesAllowed/Default, and
    search limits (srchMaxTime, srchJobsQuota; Speleo's srchMaxRowsRead, srchMaxMemory)."""


@role.command("list")
@OUTPUT
@click.pass_obj
def role_list(home: Home, output: str) -> None:
    """List roles with their own capabilities and index patterns."""
    rows = [r.to_dict() for r in _users(home).roles.list()]
    if output == "json":
        click.echo(json.dumps(rows, indent=2))
        return
    from speleo.ops.roles import LIMITS

    for r in rows:
        limits = "".join(f"\t{k}={_number(r[k])}" for k in LIMITS if r.get(k) is not None)
        click.echo(f"{r['name']}\tcapabilities={';'.join(r['capabilities'])}\timportRoles={';'.join(r['importRoles'])}"
                   f"\tsrchIndexesAllowed={';'.join(r['srchIndexesAllowed'])}"
                   f"\tsrchIndexesDefault={';'.join(r['srchIndexesDefault'])}{limits}")


@role.command("show")
@click.argument("name")
@OUTPUT
@click.pass_obj
def role_show(home: Home, name: str, output: str) -> None:
    """Show role NAME and what it adds up to with its imported roles."""
    from speleo.ops.roles import LIMITS

    roles = _users(home).roles
    d = roles.get(name).to_dict()
    g = roles.grant([name])
    lim = g.limits
    d["effective"] = {"capabilities": sorted(g.capabilities), "srchIndexesAllowed": list(g.allowed),
                      "srchIndexesDefault": list(g.default),
                      "limits": {"srchMaxTime": lim.max_time_secs, "srchJobsQuota": lim.jobs_quota,
                                 "srchMaxRowsRead": lim.max_rows_read, "srchMaxMemory": lim.max_memory_bytes}}
    if output == "json":
        click.echo(json.dumps(d, indent=2))
        return
    for k in ("name", "capabilities", "importRoles", "srchIndexesAllowed", "srchIndexesDefault", *LIMITS):
        v = d[k]
        shown = ";".join(v) if isinstance(v, list) else "not set" if v is None else _number(v)
        click.echo(f"{k}: {shown}")
    for k, v in d["effective"].items():
        if k == "limits":
            click.echo("effective limits: " + ", ".join(f"{n}={_number(x)}" if x else f"{n}=none" for n, x in v.items()))
        else:
            click.echo(f"effective {k}: {';'.join(v)}")


@role.command("create")
@click.argument("name")
@_role_options
@click.pass_obj
def role_create(home: Home, name: str, capabilities, imports, allowed, defaults, max_time, jobs_quota,
                max_rows_read, max_memory) -> None:
    """Create custom role NAME."""
    limits = _limits(max_time, jobs_quota, max_rows_read, max_memory)
    body = {"name": name, "capabilities": _split(capabilities), "importRoles": _split(imports),
            "srchIndexesAllowed": _split(allowed), "srchIndexesDefault": _split(defaults), **limits}
    if _remote(home):
        client.call(home, "POST", "/api/v1/roles", body)
    else:
        _users(home).roles.create(name, body["capabilities"], body["importRoles"], body["srchIndexesAllowed"],
                                  body["srchIndexesDefault"], _actor(), limits=limits)
        client.audit(home, "edit_roles", "created", object=name)
    click.echo(f"role '{name}' created", err=True)


@role.command("edit")
@click.argument("name")
@_role_options
@click.pass_obj
def role_edit(home: Home, name: str, capabilities, imports, allowed, defaults, max_time, jobs_quota,
              max_rows_read, max_memory) -> None:
    """Replace the settings given of role NAME (the others stay)."""
    body = {k: _split(v) for k, v in (("capabilities", capabilities), ("importRoles", imports),
                                      ("srchIndexesAllowed", allowed), ("srchIndexesDefault", defaults)) if v}
    limits = _limits(max_time, jobs_quota, max_rows_read, max_memory)
    if not body and not limits:
        raise click.UsageError("nothing to change: give --capability, --import-role, --allowed, --default, "
                               "--max-time, --jobs-quota, --max-rows-read or --max-memory")
    if _remote(home):
        client.call(home, "PATCH", f"/api/v1/roles/{name}", {**body, **limits})
    else:
        _, diff = _users(home).roles.edit(name, capabilities=body.get("capabilities"),
                                          import_roles=body.get("importRoles"),
                                          allowed=body.get("srchIndexesAllowed"),
                                          default=body.get("srchIndexesDefault"), actor=_actor(),
                                          limits=limits or None)
        if diff:
            client.audit(home, "edit_roles", "changed", object=name, fields=sorted(diff))
    click.echo(f"role '{name}' changed", err=True)


@role.command("remove")
@click.argument("name")
@click.pass_obj
def role_remove(home: Home, name: str) -> None:
    """Remove custom role NAME (its users lose it)."""
    if _remote(home):
        client.call(home, "DELETE", f"/api/v1/roles/{name}")
    else:
        _users(home).roles.remove(name, _actor())
        client.audit(home, "edit_roles", "removed", object=name)
    click.echo(f"role '{name}' removed", err=True)


def register(cli: click.Group) -> None:
    """Add the `speleo user` and `speleo role` groups (loaded lazily: `speleo.cli.main.LAZY_COMMANDS`)."""
    cli.add_command(user)
    cli.add_command(role)
