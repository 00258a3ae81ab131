"""collect and sendemail: commands whose work happens after the search ran, on its results
(post steps "collect" and "sendemail" in query/post.py, carried out by the sinks the server
or the CLI registers: speleo.alerts.spl_sinks, the same code as the alert actions).

Splunk Search Reference: collect (`index=` default summary, `source=`, `sourcetype=` default
stash, `marker=`, `testmode=`), sendemail (`to=` required, `cc=`, `bcc=`, `from=`,
`subject=`, `message=`, `sendresults=`, `inline=`, `format=`, `sendcsv=`, `server=`,
`use_ssl=`, `use_tls=`). The results pass through unchanged.
"""

from __future__ import annotations

from speleo.spl import ast
from speleo.spl.cursor import as_bool
from speleo.spl.state import State


def _after(state: State, step: dict) -> None:
    step.update(now=state.ctx.now, earliest=state.ctx.default_earliest, latest=state.ctx.default_latest,
                sid=state.ctx.sid)
    state.post.append(step)
    if state.events:
        state.transforming = True


def compile_collect(state: State, cmd: ast.ArgsCmd) -> None:
    o = cmd.options
    index = o.get("index", "summary")
    if index.startswith("_"):
        raise state.fail(f"collect index={index}: indexes starting with '_' are Speleo's own", cmd)
    _after(state, {"kind": "collect", "index": index, "source": o.get("source"),
                   "sourcetype": o.get("sourcetype", "stash"), "marker": o.get("marker", ""),
                   "host": o.get("host"), "testmode": as_bool(o.get("testmode", "false"))})


def compile_sendemail(state: State, cmd: ast.ArgsCmd) -> None:
    o = dict(cmd.options)
    if not o.get("to"):
        raise state.fail("sendemail needs to=<address>[,<address>...]", cmd)
    _after(state, {"kind": "sendemail", "options": o})
