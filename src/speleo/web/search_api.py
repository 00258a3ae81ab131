"""The search page's own routes beside its jobs: the search history (`/web/api/history`) and
real-time searches (`POST /web/api/live`).

A real-time search (Splunk's `earliest=rt-5m latest=rt`) is polled by the page: each call runs
the search over the sliding window [now - window, now] (the server's clock) and answers the
events indexed after the caller's `cursor` (an `_indextime`, epoch seconds), at most
`LIVE_MAX_EVENTS`, with the new cursor; a transforming search answers its whole result over the
window each time (a windowed real-time report). The page stops by not calling again: nothing
runs on the server between two calls, so an abandoned tab costs nothing.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time

import pyarrow as pa
import pyarrow.compute as pc
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from speleo.errors import InputError
from speleo.ops.history import SearchHistory
from speleo.query import results
from speleo.query.timefmt import local_zone
from speleo.server.access import EDIT_LOOKUPS, SEARCH, Principal, require, search_guard
from speleo.server.audit import audit, client_address

LIVE_MAX_EVENTS = 1000            # events one poll answers at most (the newest)
LIVE_WINDOW_SECS = (1.0, 30 * 86400.0)   # the window a real-time search may slide over


def record_run(history: SearchHistory, job, earliest, latest) -> None:
    """Add a finished web job to its owner's history (`earliest`/`latest` as the page sent them)."""
    end = job.finished or time.time()
    history.record(job.owner, job.search, earliest, latest, ran_at=job.started, state=job.state,
                   result_count=job.total, run_secs=end - job.started)


def new_rows(table: pa.Table, cursor: float | None) -> tuple[pa.Table, float | None]:
    """The rows of an event table indexed after `cursor` (all when None) and the new cursor:
    the largest `_indextime` seen (the old cursor when nothing is newer)."""
    if "_indextime" not in table.column_names or table.num_rows == 0:
        return table, cursor
    newest = pc.max(table["_indextime"]).as_py()
    if cursor is not None:
        table = table.filter(pc.greater(table["_indextime"], pa.scalar(float(cursor))))
    if newest is None:
        return table, cursor
    return table, newest if cursor is None else max(cursor, newest)


def _live_params(body) -> tuple[str, float, float | None]:
    if not isinstance(body, dict):
        raise InputError("send a JSON object {search, window_secs, cursor}")
    search = str(body.get("search") or "").strip()
    if not search:
        raise InputError("search: the SPL text is empty")
    try:
        window = float(body.get("window_secs", 300))
        cursor = None if body.get("cursor") is None else float(body["cursor"])
    except (TypeError, ValueError):
        raise InputError("window_secs and cursor are numbers of seconds (cursor: an _indextime, or null)") from None
    lo, hi = LIVE_WINDOW_SECS
    if not lo <= window <= hi:
        raise InputError(f"window_secs: between {lo:g} and {hi:g} seconds (a real-time window of up to 30 days)")
    return search, window, cursor


def install(router: APIRouter, runtime, history: SearchHistory) -> None:
    """Add the history and real-time routes to the web's `router`."""
    svc = runtime.service

    @router.get("/web/api/history", include_in_schema=False)
    async def history_list(limit: int = 50, contains: str = "",
                           who: Principal = Depends(require(SEARCH))) -> JSONResponse:
        """Your searches, newest first, identical ones folded (`runs`); `contains` filters."""
        rows = await asyncio.to_thread(history.list, who.user_id, limit, contains[:200])
        return JSONResponse({"history": rows})

    @router.delete("/web/api/history", include_in_schema=False)
    async def history_clear(who: Principal = Depends(require(SEARCH))) -> JSONResponse:
        """Forget your search history."""
        return JSONResponse({"removed": await asyncio.to_thread(history.clear, who.user_id)})

    @router.post("/web/api/live", include_in_schema=False)
    async def live(request: Request, who: Principal = Depends(require(SEARCH))) -> JSONResponse:
        """One poll of a real-time search: {search, window_secs, cursor} -> the search API's
        body with only the events indexed after `cursor`, plus `cursor` (see the module doc).
        The first poll (no cursor) goes to the audit trail and the search history."""
        try:
            body = await request.json()
        except ValueError:
            raise InputError("send a JSON object {search, window_secs, cursor}") from None
        search, window, cursor = _live_params(body)
        now = runtime.clock.time()
        caps = who.capabilities - {"delete_by_keyword"}   # a sliding window never deletes
        started = time.monotonic()
        result = await asyncio.to_thread(svc.search, search, now - window, None, LIVE_MAX_EVENTS, now, False,
                                         caps, who.name, search_guard(who), scope=who.scope(),
                                         write_lookups=who.can(EDIT_LOOKUPS))
        table, new_cursor = (new_rows(result.table, cursor) if result.kind == "events" else (result.table, None))
        in_window = result.total
        if result.kind == "events":
            result = dataclasses.replace(result, table=table, total=table.num_rows)
        out = await asyncio.to_thread(results.to_json, result, local_zone(svc.home.settings.default_tz))
        out.update(cursor=new_cursor, window_secs=window, now=now, in_window=in_window)
        if cursor is None:
            audit(runtime, who, "search", info="completed", search=search, search_et=now - window, search_lt=None,
                  total_run_time=round(time.monotonic() - started, 3), result_count=in_window,
                  src=client_address(request), realtime=1)
            written = body.get("earliest") if str(body.get("earliest") or "").startswith("rt") else f"rt-{window:g}s"
            await asyncio.to_thread(history.record, who.user_id, search, written, "rt", time.time(),
                                    "realtime", in_window, time.monotonic() - started)
        return JSONResponse(out)
