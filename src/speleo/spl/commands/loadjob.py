"""loadjob: the results of a finished search job, or of a saved search's latest scheduled run,
as this search's results (Splunk Search Reference: loadjob).

`| loadjob <sid> [events=<bool>] [ignore_running=<bool>]`
`| loadjob savedsearch="<user>:<app>:<search name>" [artifact_offset=<int>] [job_delegate=scheduler]
[events=<bool>] [ignore_running=<bool>]`

Where the results come from (the server binds the step: `speleo.server.loadjob_command`):
- a scheduled run's artifact (`speleo.alerts.artifacts`): what the scheduler kept of each
  successful run of a saved search, for its `dispatch.ttl`; `savedsearch=` reads the newest one,
  `artifact_offset=N` the N-th older one, and a sid of the form `scheduler__...` reads that run;
- a search job of the searcher's (the web page's or the REST API's, `speleo.web.jobs`), while the
  server keeps it (its ttl).

Speleo's choices where the Reference leaves room: `events=true` reads the events only of a job
whose answer is events (the events a transforming search read are not kept: refused, saying so);
`job_delegate=` takes only `scheduler` (Speleo keeps scheduled runs, not other users' dispatches
of a saved search); a running job is never read (`ignore_running=false` is refused: Speleo keeps
a run's results only when it has finished). The results are at most what the job kept: the
scheduler keeps 10,000 rows of a run, a REST job its row limit, a web job its page's rows.
"""

from __future__ import annotations

from speleo.spl import ast
from speleo.spl.commands.extra import is_option, read_options
from speleo.spl.cursor import Cursor, as_bool
from speleo.spl.state import State
from speleo.spl.tokens import T, Token

OPTIONS = {"savedsearch", "events", "job_delegate", "artifact_offset", "ignore_running"}
MAX_OFFSET = 10_000


def parse_loadjob(cur: Cursor, word: Token) -> ast.ArgsCmd:
    """`loadjob <sid> | savedsearch=<user:app:name>` and options. A sid is read as written (the
    characters up to the next space: job ids hold `-`, `_` and `.`)."""
    opts: dict[str, str] = {}
    sid: str | None = None
    while not cur.at_end():
        if is_option(cur):
            read_options(cur, OPTIONS, opts)
            continue
        first = cur.next()
        if sid is not None:
            raise cur.error("loadjob takes one search id (or savedsearch=)", first)
        if first.kind is T.STRING:
            sid = first.value
            continue
        if first.kind is T.SUBSEARCH:
            raise cur.error("expected a search id or savedsearch=\"<user>:<app>:<name>\"", first)
        end = first.end
        while not cur.at_end() and cur.peek().start == end and cur.peek().kind is not T.SUBSEARCH:
            end = cur.next().end
        sid = cur.query[first.start:end]
    return ast.ArgsCmd("loadjob", opts, [sid] if sid is not None else [])


def saved_search_ref(text: str) -> tuple[str, str, str]:
    """`"<user>:<app>:<search name>"` as (user, app, name); the name may hold colons. Raises
    ValueError saying what is expected."""
    parts = text.split(":", 2)
    if len(parts) != 3 or not all(p.strip() for p in parts):
        raise ValueError(f"savedsearch={text!r}: write \"<user>:<app>:<search name>\", e.g. "
                         "savedsearch=\"admin:search:Errors by host\"")
    return parts[0].strip(), parts[1].strip(), parts[2].strip()


def compile_loadjob(state: State, cmd: ast.ArgsCmd) -> None:
    """An empty relation, then the post step that reads the job's results (query.jobrows)."""
    if not state.top_level:
        raise state.fail("loadjob is not supported in a subsearch: run it as its own search "
                         "(or use | savedsearch <name> inside the subsearch)", cmd)
    ref = cmd.options.get("savedsearch")
    sid = cmd.args[0] if cmd.args else None
    if (ref is None) == (sid is None):
        raise state.fail("loadjob needs a search id or savedsearch=\"<user>:<app>:<search name>\" (one of the two)",
                         cmd)
    step: dict = {"kind": "loadjob", "sid": sid, "savedsearch": None, "offset": 0,
                  "events": as_bool(cmd.options.get("events", "false"))}
    if ref is not None:
        try:
            step["savedsearch"] = list(saved_search_ref(ref))
        except ValueError as e:
            raise state.fail(f"loadjob {e}", cmd) from None
        raw = cmd.options.get("artifact_offset", "0")
        try:
            step["offset"] = int(raw)
        except ValueError:
            raise state.fail(f"loadjob artifact_offset={raw!r}: give a whole number from 0 (the newest run)", cmd) \
                from None
        if not 0 <= step["offset"] <= MAX_OFFSET:
            raise state.fail(f"loadjob artifact_offset={raw}: give a whole number from 0 (the newest run) "
                             f"to {MAX_OFFSET}", cmd)
        delegate = cmd.options.get("job_delegate", "scheduler")
        if delegate.lower() != "scheduler":
            raise state.fail(f"loadjob job_delegate={delegate!r}: Speleo keeps the results of the scheduler's runs "
                             "only (job_delegate=scheduler, the default)", cmd)
    elif "artifact_offset" in cmd.options or "job_delegate" in cmd.options:
        raise state.fail("loadjob artifact_offset= and job_delegate= go with savedsearch=, not with a search id", cmd)
    if not as_bool(cmd.options.get("ignore_running", "true")):
        raise state.fail("loadjob ignore_running=false is not supported: Speleo keeps a job's results only once "
                         "it has finished", cmd)
    state.start_generated(0)
    state.post.append(step)
