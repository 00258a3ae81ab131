"""rest: the entries of one of Speleo's own REST endpoints as results (Splunk Search Reference:
rest, https://help.splunk.com/splunk-enterprise/spl-search-reference/9.0/search-commands/rest).

`| rest <rest-uri> [count=<int>] [splunk_server=<wc-string>] [strict=true] [timeout=<int>]
[<get-arg-name>=<get-arg-value>]...`: one result per entry of the endpoint's feed, with `title`,
`id`, `author`, `updated`, `published`, the entry's `eai:acl.*` and every key of its `content`
(nested keys joined with dots, lists as multivalue fields), and `splunk_server`.

This module is pure: it checks the endpoint against the table of those Speleo serves
(`ENDPOINTS`) and leaves a post step `{"kind": "rest", ...}`. The rows come from the running
server, read as the searcher: the server's search guard (`speleo.server.access.search_guard`)
binds the step to the searcher's identity, and `speleo.query.restrows` turns the feed into rows;
a search nobody bound (no server, no identity) is refused when it runs. Design:
docs/decisions/0044-rest-command.md.
"""

from __future__ import annotations

import re

from speleo.spl import ast
from speleo.spl.cursor import Cursor, as_bool
from speleo.spl.state import State
from speleo.spl.tokens import T, Token

MAX_ROWS = 10_000          # rows one `| rest` returns at most (count=0, Splunk's "all", means this)
DEFAULT_TIMEOUT_SECS = 60
MAX_TIMEOUT_SECS = 300
OPTIONS = {"count", "splunk_server", "strict", "timeout"}
RESERVED_ARGS = {"output_mode", "count"}   # set by the command itself
COLUMNS = ["title", "id", "author", "updated", "published", "eai:acl.app", "eai:acl.owner", "eai:acl.sharing",
           "splunk_server"]

_NAME = r"[^/]+"
# The GET endpoints of Speleo's Splunk REST API whose answer is a feed of entries (path after
# `/services/`): what `| rest` reads. Anything that is not a feed (search/jobs/<sid>/results) or
# that runs a search (search/jobs/export) is left out on purpose.
ENDPOINTS: dict[str, str] = {
    "server/info": "server/info",
    "authentication/current-context": "authentication/current-context",
    "authentication/users": rf"authentication/users(/{_NAME})?",
    "authorization/roles": rf"authorization/roles(/{_NAME})?",
    "data/indexes": rf"data/indexes(/{_NAME})?",
    "data/inputs/monitor": rf"data/inputs/monitor(/{_NAME})?",
    "data/inputs/http": rf"data/inputs/http(/{_NAME})?",
    "saved/searches": rf"saved/searches(/{_NAME}(/history)?)?",
    "alerts/fired_alerts": rf"alerts/fired_alerts(/{_NAME})?",
    "search/jobs": rf"search/(v2/)?jobs(/(?!export$){_NAME})?",
    "configs/conf-macros": rf"(configs/conf-macros|admin/macros)(/{_NAME})?",
    "data/lookup-table-files": rf"data/lookup-table-files(/{_NAME})?",
    "data/ui/views": rf"data/ui/views(/{_NAME})?",
    "licenser/usage": "licenser/usage",
}
_SERVED = re.compile("|".join(f"(?:{p})" for p in ENDPOINTS.values()))
# First path parts of Splunk's own REST API (Splunk REST API Reference Manual): an endpoint under
# one of them that Speleo does not serve is "a Splunk-only endpoint".
SPLUNK_ROOTS = frozenset("""admin alerts apps authentication authorization catalog cluster collector configs data
deployment directory dmc indexing introspection kvstore licenser messages properties receivers replication saved
scheduled search server shcluster storage workloads""".split())


def parse_restcmd(cur: Cursor, word: Token) -> ast.ArgsCmd:
    """`rest <rest-uri> [key=value]...`: the URI is the first argument; every `key=value` is an
    option of the command (`count`, `splunk_server`, `strict`, `timeout`) or a GET argument."""
    uri = cur.next()
    if uri.kind not in (T.WORD, T.STRING) or uri.kind is T.EOF:
        raise cur.error("expected the REST URI (e.g. /services/server/info)", uri)
    opts: dict[str, str] = {}
    while not cur.at_end():
        key = cur.peek()
        if not (key.kind is T.WORD and cur.peek(1).kind is T.OP and cur.peek(1).value == "="):
            raise cur.error("expected <name>=<value> (count=, splunk_server=, timeout= or a GET argument)", key)
        if key.value.lower() == "splunk_server_group":
            raise cur.unsupported("splunk_server_group= is not supported: Speleo is one server", key)
        if key.value.lower() == "append":
            raise cur.unsupported("append= is not supported: rest is the first command of its search", key)
        cur.i += 2
        value = cur.next()
        if value.kind not in (T.WORD, T.STRING):
            raise cur.error(f"expected a value for {key.value}", value)
        opts[key.value.lower() if key.value.lower() in OPTIONS else key.value] = value.value
    return ast.ArgsCmd("rest", opts, [uri.value])


def endpoint_path(uri: str) -> str | None:
    """The path after `/services/` or `/servicesNS/<owner>/<app>/` (None: neither prefix)."""
    m = re.fullmatch(r"/?(?:services|servicesNS/[^/]+/[^/]+)/(.+?)/?", uri.strip())
    return m.group(1) if m else None


def check_endpoint(uri: str) -> str:
    """The endpoint's path under `/services/` when Speleo serves it for `| rest`; else raises
    ValueError saying why (a Splunk-only endpoint, or no REST endpoint at all)."""
    path = endpoint_path(uri)
    if path is None:
        raise ValueError(f"{uri!r} is not a REST URI: give a path under /services/ or /servicesNS/<owner>/<app>/ "
                         "(e.g. /services/server/info)")
    if _SERVED.fullmatch(path):
        return path
    served = ", ".join(f"/services/{k}" for k in ENDPOINTS)
    if any(path.startswith(k + "/") for k in ENDPOINTS) or path.startswith("search/v2/jobs/"):
        raise ValueError(f"{uri} is not a feed of entries (a job's results, an export that runs a search): "
                         f"| rest reads {served}")
    if path.split("/", 1)[0] in SPLUNK_ROOTS:
        raise ValueError(f"{uri} is a Splunk-only endpoint: Speleo does not serve it. | rest reads {served}")
    raise ValueError(f"{uri} is not a REST endpoint of Splunk or Speleo. | rest reads {served}")


def _int_option(state: State, cmd: ast.ArgsCmd, name: str, default: int, lo: int, hi: int) -> int:
    raw = cmd.options.get(name)
    if raw is None:
        return default
    try:
        v = int(raw)
    except ValueError:
        raise state.fail(f"rest {name}={raw!r}: give a whole number", cmd) from None
    if not lo <= v <= hi:
        raise state.fail(f"rest {name}={raw}: give a number from {lo} to {hi}", cmd)
    return v


def compile_restcmd(state: State, cmd: ast.ArgsCmd) -> None:
    """An empty relation, then the post step that reads the endpoint (query.restrows)."""
    if not state.top_level:
        raise state.fail("rest is not supported in a subsearch", cmd)
    uri = cmd.args[0]
    try:
        path = check_endpoint(uri)
    except ValueError as e:
        raise state.fail(f"rest: {e}", cmd) from None
    if not as_bool(cmd.options.get("strict", "true")):
        raise state.fail("rest strict=false is not supported: an endpoint's error always fails the search", cmd)
    count = _int_option(state, cmd, "count", 0, 0, 2 ** 31 - 1)
    timeout = _int_option(state, cmd, "timeout", DEFAULT_TIMEOUT_SECS, 1, MAX_TIMEOUT_SECS)
    args = {k: v for k, v in cmd.options.items() if k not in OPTIONS and k.lower() not in RESERVED_ARGS}
    if count > MAX_ROWS:
        state.notes.append(f"rest count={count}: at most {MAX_ROWS:,} results are read from an endpoint")
    state.start_generated(0)
    state.post.append({"kind": "rest", "uri": uri, "path": path, "args": args,
                       "count": min(count, MAX_ROWS) if count else MAX_ROWS,
                       "splunk_server": cmd.options.get("splunk_server", "*"), "timeout_secs": timeout,
                       "columns": list(COLUMNS)})
