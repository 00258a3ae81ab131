"""The rows of `| loadjob` (spl/commands/loadjob.py): a finished job's results as an Arrow table.

The step's `load` is bound by the server to the searcher (`speleo.server.loadjob_command`): it
finds the job or the scheduled run, checks the searcher may read it, and answers
`(table, messages)`. An unbound step (a search run with no server, or by code that did not say
who searches) is refused here, never read as anybody. `body_table` turns a web job's JSON rows
back into a table (numbers stay numbers, lists multivalue, `_time` epoch seconds).
"""

from __future__ import annotations

import datetime as dt

import pyarrow as pa

from speleo.errors import SpeleoError
from speleo.query.restrows import column_of


class LoadjobUnavailable(SpeleoError):
    """`| loadjob` ran where no server could find the job as the searcher (HTTP 400)."""

    status = 400
    code = "loadjob_unavailable"


def _epoch(v):
    if isinstance(v, str):
        try:
            return dt.datetime.fromisoformat(v).timestamp()
        except ValueError:
            return None
    return float(v) if isinstance(v, (int, float)) else None


def body_table(rows: list[dict], fields: list[str]) -> pa.Table:
    """A web job's kept rows (`speleo.query.results.to_json`: `_time` as ISO 8601 text) as a table
    with the columns `fields` in order, then any other key the rows hold."""
    names = list(dict.fromkeys([*fields, *(k for r in rows for k in r)]))
    cols = {}
    for n in names:
        values = [r.get(n) for r in rows]
        if n == "_time":
            cols[n] = pa.array([_epoch(v) for v in values], pa.float64())
        else:
            cols[n] = column_of(values)
    return pa.table(cols) if cols else pa.table({"_time": pa.array([], pa.float64())})


def run_step(table: pa.Table, step: dict) -> pa.Table:
    """The post step: the job's results, read as the searcher the step is bound to."""
    from speleo.query.post import say

    load = step.get("load")
    if load is None:
        raise LoadjobUnavailable("| loadjob reads the jobs of the running server as the searcher: run it through "
                                 "'speleo serve' (the web page, the API, or 'speleo search' while a server runs)")
    out, said = load()
    for m in said:
        say(m)
    return out
