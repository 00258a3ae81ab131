"""The rows of `| rest` (spl/commands/restcmd.py): a Splunk REST feed (the JSON envelope of
`speleo.server.splunk_envelope.feed`) as an Arrow table, one row per entry.

Fields: `title` (the entry's name), `id`, `author`, `updated`, `published` (the entry's, else its
content's), `eai:acl.*` (the entry's ACL, nested keys joined with dots), every key of the
entry's `content` (nested keys joined with dots; lists become multivalue fields; booleans 1/0, as
Splunk's Atom renders them) and `splunk_server`. A key that looks like a secret (`SECRET`: a
password, token, session key or hash) is never a field, whatever the endpoint answers; how many
were left out is said to the searcher.

The feed is read by the step's `fetch`, which the server binds to the searcher
(`speleo.server.rest_command`); an unbound step (a search run with no server, or by code that
did not say who searches) is refused here, never run as anybody.
"""

from __future__ import annotations

import fnmatch
import re
import socket

import pyarrow as pa

from speleo.errors import InputError, SpeleoError

SECRET = re.compile(r"(password|passwd|secret|token|session_?key|api_?key|(^|_)hash)$", re.IGNORECASE)
META = ("title", "id", "author", "updated", "published")


class RestUnavailable(SpeleoError):
    """`| rest` ran where no server could answer it as the searcher (HTTP 400)."""

    status = 400
    code = "rest_unavailable"


def flatten(prefix: str, value, out: dict) -> None:
    """`value` under `prefix`: dicts flattened with dots, the rest as a field value."""
    if isinstance(value, dict):
        for k, v in value.items():
            flatten(f"{prefix}.{k}" if prefix else str(k), v, out)
    else:
        out[prefix] = value


def _cell(v):
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, (list, tuple)):
        return [None if x is None else str(int(x) if isinstance(x, bool) else x) for x in v]
    if isinstance(v, dict):   # inside a list: kept as its text
        return str(v)
    return v


def entry_row(entry: dict, server: str) -> tuple[dict, int]:
    """One entry as a row, and how many secret-looking keys were left out."""
    fields: dict = {}
    flatten("", entry.get("content") or {}, fields)
    acl: dict = {}
    flatten("eai:acl", entry.get("acl") or {}, acl)
    row = {"title": entry.get("name"), "id": entry.get("id"), "author": entry.get("author"),
           "updated": entry.get("updated"), "published": entry.get("published", fields.get("published"))}
    row.update(acl)
    dropped = 0
    for k, v in fields.items():
        if SECRET.search(k.rsplit(".", 1)[-1]):
            dropped += 1
        elif k not in row:
            row[k] = v
    row["splunk_server"] = server
    return {k: _cell(v) for k, v in row.items()}, dropped


def column_of(values: list) -> pa.Array:
    """One column: numbers stay numbers, lists are multivalue text, anything mixed is text."""
    kinds = {type(v) for v in values if v is not None}
    if kinds and kinds <= {int}:
        return pa.array(values, pa.int64())
    if kinds and kinds <= {int, float}:
        return pa.array([None if v is None else float(v) for v in values], pa.float64())
    if list in kinds:
        return pa.array([None if v is None else v if isinstance(v, list) else [str(v)] for v in values],
                        pa.list_(pa.string()))
    return pa.array([None if v is None else str(v) for v in values], pa.string())


def feed_table(feed: dict, server: str, count: int) -> tuple[pa.Table, list[str]]:
    """The feed's first `count` entries as a table, and the messages for the searcher."""
    entries = list(feed.get("entry") or [])
    said = []
    total = (feed.get("paging") or {}).get("total", len(entries))
    if len(entries) > count or total > min(len(entries), count):
        said.append(f"rest: read {min(len(entries), count):,} of the endpoint's {total:,} entries (count=)")
    rows, dropped = [], 0
    for e in entries[:count]:
        row, n = entry_row(e, server)
        rows.append(row)
        dropped += n
    if dropped:
        said.append(f"rest: {dropped} secret-looking field value(s) left out (passwords, tokens, keys, hashes)")
    names = list(dict.fromkeys([*META, *(k for r in rows for k in r)]))
    return pa.table({n: column_of([r.get(n) for r in rows]) for n in names}), said


def server_name() -> str:
    """This server's name: `splunk_server` of every row (server/info's serverName)."""
    return socket.gethostname()


def run_step(table: pa.Table, step: dict) -> pa.Table:
    """The post step: read the feed as the searcher the step is bound to, then its rows."""
    from speleo.query.post import say

    server = server_name()
    pattern = step.get("splunk_server") or "*"
    if pattern.lower() != "local" and not fnmatch.fnmatchcase(server.lower(), pattern.lower()):
        raise InputError(f"rest splunk_server={pattern}: Speleo is one server, named {server!r} "
                         "(use splunk_server=local, or leave it out)")
    fetch = step.get("fetch")
    if fetch is None:
        raise RestUnavailable("| rest reads the running server's REST endpoints as the searcher: run it through "
                              "'speleo serve' (the web page, the API, or 'speleo search' while a server runs)")
    out, said = feed_table(fetch(), server, int(step["count"]))
    for m in said:
        say(m)
    return out
