"""Running a subsearch before its search: the `CompileContext.run_subsearch` of a real search.

A subsearch whose results are search text (a `search` or `query` field, `return $x`, or the
time range in `earliest`/`latest`) is run first, as Splunk runs every subsearch ("About
subsearches": "the Splunk software processes the subsearch first as a distinct search job"),
and its rows become part of the search (`spl/rawsub.py`). It runs over the same backend, within
the same searcher's scope (indexes and limits), bounded by Splunk's subsearch limits
(limits.conf `[subsearch]`): `maxout` rows (the compiler asks for 10,000) and `maxtime` 60 s.
"""

from __future__ import annotations

import threading

import duckdb

from speleo.query import engine, udf
from speleo.query.failures import SearchFailed
from speleo.query.scope import check_lookup_writes

SUBSEARCH_MAXTIME_SECS = 60.0    # limits.conf [subsearch] maxtime


def runner(home, catalog, scope=None, backend=None, maxtime_secs: float = SUBSEARCH_MAXTIME_SECS,
           check=None, write_lookups: bool = True):
    """`run(compiled, limit) -> (rows as dicts, truncated)` over the home's buckets (or over
    `backend`, ClickHouse, when given) for `scope`'s searcher. Past `maxtime_secs` the embedded
    engine's subsearch is interrupted and the search fails saying so (Splunk finalizes the
    subsearch and uses what it has; on ClickHouse the searcher's own time limit applies).

    A subsearch that writes a lookup (`[search ... | outputlookup t]`, spl/rawsub.py) gets the
    checks the outer search gets before it runs: `check(compiled)` (the server's
    `speleo.server.access.search_guard`) and, with `write_lookups=False` (the searcher lacks
    edit_lookups), ForbiddenError from `check_lookup_writes`; nothing is written then."""
    def run(compiled, limit: int):
        if check is not None:
            check(compiled)
        check_lookup_writes(compiled, write_lookups)
        if backend is not None:
            result = backend.execute(compiled, limit=limit, with_timeline=False, scope=scope)
        else:
            result = _bounded(home, catalog, compiled, limit, scope, maxtime_secs)
        return result.table.to_pylist(), result.truncated
    return run


def _bounded(home, catalog, compiled, limit: int, scope, maxtime_secs: float):
    timers: list[threading.Timer] = []
    fired = threading.Event()

    def watch(con, _plan) -> None:
        def stop() -> None:
            fired.set()
            udf.interrupt(con)
        timer = threading.Timer(maxtime_secs, stop)
        timer.daemon = True
        timers.append(timer)
        timer.start()

    try:
        return engine.execute(home, catalog, compiled, limit=limit, with_timeline=False, scope=scope,
                              on_connection=watch)
    except duckdb.InterruptException:
        if fired.is_set():
            raise SearchFailed(f"a subsearch ran longer than {maxtime_secs:g} s (Splunk's subsearch maxtime) and "
                               "was stopped: narrow its time range or its indexes") from None
        raise
    finally:
        for timer in timers:
            timer.cancel()
