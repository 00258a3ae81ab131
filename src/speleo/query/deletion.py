"""`... | delete`: which events a delete search finds, and its answer (Splunk Search Reference:
delete). Splunk's rules: `delete` needs the `delete_by_keyword` capability, which no role has
by default, not even admin (Splunk ships a `can_delete` role for it); it comes last, after
streaming commands only; events are hidden, not removed from disk (`speleo index purge`
removes them). The tombstones are `storage.tombstones`.
"""

from __future__ import annotations

import pyarrow as pa

from speleo.config import INTERNAL_INDEXES
from speleo.errors import InputError, SplError
from speleo.spl.commands.deletecmd import DeleteCmd
from speleo.spl.parser import parse_expanded
from speleo.storage import tombstones

CAPABILITY = "delete_by_keyword"   # Splunk authorize.conf (speleo.server.access.DELETE_BY_KEYWORD)
EVENT_COLUMNS = ("_time", "_raw", "source", "host", "_offset", "_indextime", "index")


def split_delete(query: str, macros) -> tuple[object | None, str]:
    """(pipeline, the search before `| delete`) when the query ends in `delete`, else (None, query).

    Raises SplError when `delete` follows a command that is not streaming (stats, head, sort...)."""
    if "delete" not in query.lower():
        return None, query
    try:
        pipeline, text = parse_expanded(query, macros)
    except SplError:
        return None, query   # the normal path reports the error with its position
    cmds = pipeline.commands
    if not cmds or not isinstance(cmds[-1], DeleteCmd):
        return None, query
    from speleo.query.engine import _PER_EVENT_COMMANDS

    for c in cmds[:-1]:
        if not isinstance(c, _PER_EVENT_COMMANDS):
            raise SplError(f"delete must follow streaming commands only (search, where, eval, rex...); "
                               f"'{text[c.start:c.end].split()[0]}' changes the events", text, c.start, c.end)
    before = text[: cmds[-1].start].rstrip().rstrip("|").rstrip()
    if not before:
        raise SplError("delete needs a search before it, e.g. index=main password=* | delete", text, 0, len(text))
    return pipeline, before


def check_targets(found, scope) -> None:
    """The indexes a delete would write to are those its rows name (`index`): a command before
    `delete` may have changed that field (`eval index="other"`). Raises ForbiddenError for an
    index the searcher's roles may not search (speleo.query.scope.IndexScope; None: every index)."""
    from speleo.errors import ForbiddenError

    table = found.table
    if scope is None or table.num_rows == 0 or "index" not in table.column_names:
        return
    refused = sorted(i for i in set(table.column("index").to_pylist()) if i is None or not scope.permits(i))
    if refused:
        raise ForbiddenError(f"delete would change index(es) {', '.join(map(str, refused))}, which your roles may "
                             "not search (srchIndexesAllowed); nothing was deleted")


def delete_found(catalog, found, actor: str, backend=None) -> dict[str, int]:
    """Tombstones for the events of a search result (or, with a ClickHouse `backend`, its
    lightweight DELETE: `query.clickhouse.ClickHouseBackend.delete_events`); returns how many were
    deleted per index. Raises InputError for events of `_audit` (the audit trail is never deleted)."""
    table = found.table
    if table.num_rows == 0:
        return {}
    missing = [c for c in EVENT_COLUMNS if c not in table.column_names]
    if missing:
        raise InputError(f"delete needs whole events; the search removed {', '.join(missing)}")
    if "_audit" in set(table.column("index").to_pylist()):
        raise InputError(f"events of '_audit' cannot be deleted (the audit trail); narrow the search "
                         f"(internal indexes: {', '.join(INTERNAL_INDEXES)})")
    if backend is not None:
        return backend.delete_events(table.select(list(EVENT_COLUMNS)))
    return tombstones.add(catalog, table.select(list(EVENT_COLUMNS)), actor)


def result_table(counts: dict[str, int], found):
    """Splunk's answer to delete: one row per index with `index`, `deleted`, `errors`."""
    from speleo.query.engine import SearchResult

    names = sorted(counts)
    table = pa.table({"index": names, "deleted": [counts[n] for n in names], "errors": [0] * len(names)})
    return SearchResult(kind="results", table=table, truncated=False, total=len(names),
                        earliest=found.earliest, latest=found.latest, scanned=found.scanned)
