"""Splunk REST search jobs (Splunk REST API reference, search/jobs and search/v2/jobs; the calls
splunk-sdk-python makes: docs/api.md, ../shared/docs/specs/splunk-features.md section 5).

`POST search/jobs` (and `search/v2/jobs`) starts a job with `exec_mode` normal (answers the sid
at once: 201 `<response><sid>`), blocking (answers when it is done) or oneshot (answers the
results themselves); `GET search/jobs/{sid}` is its status (an Atom `<entry>` at the root, or
JSON with `output_mode=json`, with `eai:acl`); `results`, `results_preview`, `events` page
through every row the job kept (`count`, default 100, 0 = all; `offset`); `summary`, `timeline`;
`control` (cancel, pause, unpause, finalize, touch, setttl and accepted no-ops); `DELETE`;
`search/jobs/export` runs a search and streams its rows. Every path also answers under
`/servicesNS/{owner}/{app}/` and with GET or POST for reading (v1 uses GET, v2 POST).

Jobs are the web page's jobs (`speleo.web.jobs.Jobs`, `keep_result=True`): the same limits of
running jobs per user (4) and kept jobs per user (50), a ttl (Splunk's default 600 s, `timeout`
or `control action=setttl` change it, at most MAX_TTL_SECS), and at most MAX_JOB_ROWS rows kept
per job (a WARN message says so when a job found more). A user sees only their own jobs.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Iterator

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from speleo.errors import ConflictError, InputError, SpeleoError
from speleo.server.access import EDIT_LOOKUPS, SEARCH, Principal, require, saved_reader, search_guard
from speleo.server.audit import audit, client_address
from speleo.server import splunk_results as sr
from speleo.server.splunk_envelope import _atom_entry, entry, feed, form, sid_response, wants_json
from speleo.server.splunk_routing import SplunkRoute, add_routes

MAX_JOB_ROWS = 500_000        # rows a REST job keeps at most (events newest first)
DEFAULT_TTL_SECS = 600        # Splunk's default job ttl
MAX_TTL_SECS = 86_400
BLOCKING_WAIT_SECS = 3600     # a blocking or oneshot request waits this long at most
CONTROL_NOOPS = ("setpriority", "enablepreview", "disablepreview", "save", "unsave")


def _int(params: dict, name: str, default: int, lo: int = 0, hi: int | None = None) -> int:
    raw = params.get(name)
    if raw in (None, ""):
        return default
    try:
        v = int(float(raw))
    except ValueError:
        raise InputError(f"{name}={raw!r}: give a whole number") from None
    if v < lo or (hi is not None and v > hi):
        raise InputError(f"{name}={raw!r}: give a number from {lo}" + (f" to {hi}" if hi is not None else ""))
    return v


def _mode(params: dict, default: str = "xml") -> str:
    try:
        return sr.mode_of(params, default)
    except ValueError as e:
        raise InputError(str(e)) from None


class JobsRest:
    """The handlers, over a running server and the web's job machinery (`app.state.web_jobs`)."""

    def __init__(self, runtime) -> None:
        self.rt = runtime

    @staticmethod
    def jobs(request: Request):
        return request.app.state.web_jobs

    @staticmethod
    def who(request: Request) -> Principal:
        return request.state.principal

    def tz(self):
        from speleo.query.timefmt import local_zone

        return local_zone(self.rt.home.settings.default_tz)

    # -- starting ---------------------------------------------------------------------------------
    def start(self, request: Request, params: dict, limit: int, app: str | None, exec_mode: str):
        search = (params.get("search") or "").strip()
        if not search:
            raise InputError("search: required (the SPL to run, e.g. 'search index=main error' or '| makeresults')")
        now = params.get("now") or None
        try:
            now_f = float(now) if now else None
        except ValueError:
            raise InputError(f"now={now!r}: give epoch seconds (UTC)") from None
        earliest, latest = self.rt.time_bounds(params.get("earliest_time") or None, params.get("latest_time") or None,
                                               now_f)
        ttl = _int(params, "timeout", DEFAULT_TTL_SECS, 1, MAX_TTL_SECS)
        meta = {"label": params.get("label") or "", "earliest_time": params.get("earliest_time") or "",
                "latest_time": params.get("latest_time") or ""}
        return self.start_search(request, search, earliest, latest, now_f, limit, app, exec_mode, ttl, meta)

    def start_search(self, request: Request, search: str, earliest: float | None, latest: float | None,
                     now: float | None, limit: int, app: str | None, exec_mode: str, ttl: float = DEFAULT_TTL_SECS,
                     meta: dict | None = None, job_id: str | None = None):
        """Start a job of the caller (audited when it ends). Raises ConflictError (too many jobs)."""
        who = self.who(request)
        src = client_address(request)
        runtime = self.rt

        def finished(job) -> None:
            audit(runtime, who, "search", info=job.state, search=job.search, search_et=job.earliest,
                  search_lt=job.latest, total_run_time=round((job.finished or job.started) - job.started, 3),
                  result_count=job.total, search_id=job.id, src=src, via_rest=1)

        meta = {"label": "", "earliest_time": "", "latest_time": "", **(meta or {}), "owner": who.name,
                "app": app if app and app != "-" else "search", "exec_mode": exec_mode, "paused": False}
        return self.jobs(request).start(who.user_id, search, earliest, latest, limit, now, scope=who.scope(),
                                        write_lookups=who.can(EDIT_LOOKUPS), on_finished=finished,
                                        check=search_guard(who), keep_result=True, ttl_secs=ttl, meta=meta,
                                        job_id=job_id)

    @staticmethod
    async def wait(job, event, secs: float = BLOCKING_WAIT_SECS) -> None:
        """Wait for `event` of `job` off the event loop, keeping the job from looking abandoned."""
        deadline = time.monotonic() + secs
        while not event.is_set() and time.monotonic() < deadline:
            job.seen = time.monotonic()
            await asyncio.to_thread(event.wait, 1.0)

    @staticmethod
    def raise_failed(job) -> None:
        """A job that failed before it ran (a syntax error, a refused command): 400 with its message."""
        if job.state == "failed" and job.error:
            err = SpeleoError(job.error.get("message", "the search failed"))
            err.status = 403 if job.error.get("code") == "forbidden" else 400
            raise err

    async def create(self, request: Request, owner: str | None = None, app: str | None = None) -> Response:
        params = await form(request)
        exec_mode = (params.get("exec_mode") or "normal").lower()
        if exec_mode not in ("normal", "blocking", "oneshot"):
            raise InputError(f"exec_mode={exec_mode!r}: use normal, blocking or oneshot")
        if exec_mode == "oneshot":
            return await self.oneshot(request, params, app)
        job = self.start(request, params, _int(params, "max_count", MAX_JOB_ROWS, 0, MAX_JOB_ROWS) or MAX_JOB_ROWS,
                         app, exec_mode)
        await self.wait(job, job.compiled, 30)
        self.raise_failed(job)
        if exec_mode == "blocking":
            await self.wait(job, job.ended)
        return sid_response(request, job.id, params)

    async def oneshot(self, request: Request, params: dict, app: str | None) -> Response:
        mode = _mode(params)
        count = _int(params, "count", 100)
        offset = _int(params, "offset", 0)
        limit = MAX_JOB_ROWS if count == 0 else min(offset + count, MAX_JOB_ROWS)
        job = self.start(request, params, limit, app, "oneshot")
        jobs = self.jobs(request)
        try:
            await self.wait(job, job.ended)
        except BaseException:
            jobs.remove(job.owner, job.id)   # the client went away: stop the search
            raise
        jobs.forget(job)   # a oneshot's job is not kept
        self.raise_failed(job)
        return self.results_response(job, mode, offset, count, preview=False)

    # -- reading a job ----------------------------------------------------------------------------
    def get(self, request: Request, sid: str):
        return self.jobs(request).get(self.who(request).user_id, sid)

    def state(self, job) -> str:
        if job.state == "running":
            return "PAUSED" if job.meta.get("paused") else ("RUNNING" if job.compiled.is_set() else "PARSING")
        return {"done": "DONE", "failed": "FAILED", "cancelled": "FAILED"}[job.state]

    def counts(self, job) -> tuple[int, int]:
        """(eventCount, resultCount) so far."""
        res = job.result if job.result is not None else job.partial
        if res is None:
            return 0, 0
        rows = res.table.num_rows
        return (res.total if res.kind == "events" else rows), rows

    def content(self, job) -> dict:
        events, results_n = self.counts(job)
        done = job.state != "running"
        if done:
            progress = 1.0
        elif job.bytes and job.bytes_done is not None:
            progress = job.bytes_done / job.bytes
        else:
            p = job.progress()
            progress = (p or 0.0) / 100.0
        end = job.finished or time.time()
        res = job.result
        msgs: dict = {}
        if job.error:
            msgs["fatal"] = [job.error.get("message", "")]
        if res is not None and res.truncated:
            msgs["warn"] = [f"the job kept the first {res.table.num_rows} of {res.total} results"]
        tz = self.tz()
        c = {
            "sid": job.id, "label": job.meta.get("label", ""), "dispatchState": self.state(job),
            "isDone": done, "isFailed": job.state == "failed", "isFinalized": job.finalized,
            "isPaused": bool(job.meta.get("paused")) and not done, "isPreviewEnabled": False, "isSaved": False,
            "isSavedSearch": False, "isZombie": False, "isRealTimeSearch": False, "isEventsPreviewEnabled": False,
            "doneProgress": f"{min(max(progress, 0.0), 1.0):.5f}", "eventCount": events, "resultCount": results_n,
            "scanCount": events, "eventAvailableCount": events if (res is None or res.kind == "events") else 0,
            "resultPreviewCount": results_n, "eventIsStreaming": True, "eventIsTruncated": bool(res and res.truncated),
            "earliestTime": sr.splunk_time(job.earliest, tz) if job.earliest is not None else "",
            "latestTime": sr.splunk_time(job.latest, tz) if job.latest is not None else "",
            "cursorTime": sr.splunk_time(job.latest or end, tz), "runDuration": f"{end - job.started:.3f}",
            "ttl": int(max(0, job.ttl_secs - (time.time() - job.finished))) if job.finished else int(job.ttl_secs),
            "priority": 5, "search": job.search, "eventSearch": job.search, "reportSearch": "",
            "messages": msgs, "request": {"search": job.search, "earliest_time": job.meta.get("earliest_time", ""),
                                          "latest_time": job.meta.get("latest_time", "")},
            "searchProviders": ["speleo"], "delegate": "", "provenance": f"rest:{job.meta.get('exec_mode', '')}",
            "statusBuckets": 0, "published": sr.splunk_time(job.started, tz),
        }
        if job.error:
            c["error"] = job.error
        return c

    def entry(self, request: Request, job) -> dict:
        base = str(request.base_url).rstrip("/")
        e = entry(base, "search/jobs", job.id, self.content(job), job.meta.get("owner", "nobody"),
                  job.meta.get("app", "search"), "global",
                  ("results", "results_preview", "events", "summary", "timeline", "control"))
        e["acl"]["ttl"] = str(int(job.ttl_secs))
        e["name"] = job.search
        return e

    async def status(self, request: Request, sid: str, owner: str | None = None, app: str | None = None) -> Response:
        job = self.get(request, sid)
        e = await asyncio.to_thread(self.entry, request, job)
        if wants_json(request):
            return feed(request, "search/jobs", [e])
        atom = _atom_entry(e).replace("<entry>", '<entry xmlns="http://www.w3.org/2005/Atom" '
                                      'xmlns:s="http://dev.splunk.com/ns/rest">', 1)
        return Response('<?xml version="1.0" encoding="UTF-8"?>\n' + atom, media_type="text/xml; charset=utf-8")

    async def list(self, request: Request, owner: str | None = None, app: str | None = None) -> Response:
        params = await form(request)
        jobs = self.jobs(request).list(self.who(request).user_id)
        entries = await asyncio.to_thread(lambda: [self.entry(request, j) for j in jobs])
        return feed(request, "search/jobs", entries, params)

    def results_response(self, job, mode: str, offset: int, count: int, preview: bool,
                         result=None) -> Response:
        res = result if result is not None else job.result
        msgs = sr.messages_of(res)
        if job.state == "failed" and job.error:
            msgs.append({"type": "FATAL", "text": job.error.get("message", "the search failed")})
        if res is not None and res.truncated and not preview:
            msgs.append({"type": "WARN", "text": f"the job kept the first {res.table.num_rows} of {res.total} "
                                                 "results"})
        return StreamingResponse(self.document(mode, res, offset, count, preview, msgs), media_type=sr.MEDIA[mode])

    def document(self, mode: str, res, offset: int, count: int, preview: bool, msgs: list) -> Iterator[str]:
        """A results document, converted and sent EXPORT_CHUNK_ROWS rows at a time (one JSON line)."""
        tz = self.tz()
        total = 0 if res is None else res.table.num_rows
        end = total if count == 0 else min(total, offset + count)
        step = sr.EXPORT_CHUNK_ROWS
        if mode == "json":
            first = sr.page(res, offset, min(step, max(end - offset, 0)), tz)
            names = sr.names_of(res, first)
            yield (json.dumps({"preview": preview, "init_offset": offset, "messages": msgs,
                               "fields": [{"name": n} for n in names]}, separators=(",", ":"))[:-1] + ',"results":[')
            sep = ""
            for start in range(offset, max(end, offset), step):
                rows = first if start == offset else sr.page(res, start, min(step, end - start), tz)
                if rows:
                    yield sep + ",".join(json.dumps(r, separators=(",", ":")) for r in rows)
                    sep = ","
            yield '],"highlighted":{}}\n'
            return
        first = sr.page(res, offset, min(step, max(end - offset, 0)), tz)
        names = sr.names_of(res, first)
        if mode == "xml":
            yield sr.xml_head(names, preview, msgs)
        for start in range(offset, max(end, offset), step):
            rows = first if start == offset else sr.page(res, start, min(step, end - start), tz)
            if mode == "xml":
                yield "".join(sr.xml_row(r, start + i) for i, r in enumerate(rows))
            elif mode == "csv":
                yield sr.csv_text(names, rows, header=start == offset)
            else:
                yield sr.raw_text(rows)
        if mode == "csv" and end <= offset:
            yield sr.csv_text(names, [], header=True)
        if mode == "xml":
            yield "</results>\n"

    async def results(self, request: Request, sid: str, owner: str | None = None, app: str | None = None) -> Response:
        return await self._read(request, sid, "results")

    async def preview(self, request: Request, sid: str, owner: str | None = None, app: str | None = None) -> Response:
        return await self._read(request, sid, "results_preview")

    async def events(self, request: Request, sid: str, owner: str | None = None, app: str | None = None) -> Response:
        return await self._read(request, sid, "events")

    async def _read(self, request: Request, sid: str, what: str) -> Response:
        params = await form(request)
        job = self.get(request, sid)
        mode, count, offset = _mode(params), _int(params, "count", 100), _int(params, "offset", 0)
        if job.state == "running":
            if what != "results_preview" or job.partial is None:
                return Response(status_code=204)
            return self.results_response(job, mode, offset, count, True, job.partial)
        if what == "events" and job.result is not None and job.result.kind != "events":
            return Response(sr.document(mode, None, [], offset, False, [
                {"type": "INFO", "text": "a transforming search keeps its results, not the events it read: "
                                         "read 'results'"}]), media_type=sr.MEDIA[mode])
        return self.results_response(job, mode, offset, count, False)

    async def summary(self, request: Request, sid: str, owner: str | None = None, app: str | None = None) -> Response:
        params = await form(request)
        job = self.get(request, sid)
        if job.state == "running":
            return Response(status_code=204)
        top = _int(params, "top_count", 10, 1, 1000)
        body = await asyncio.to_thread(field_summary, job.result, top, self.tz())
        if wants_json(request, params):
            return JSONResponse(body)
        return Response(summary_xml(body), media_type="text/xml; charset=utf-8")

    async def timeline(self, request: Request, sid: str, owner: str | None = None, app: str | None = None) -> Response:
        params = await form(request)
        job = self.get(request, sid)
        res = job.result if job.result is not None else job.partial
        tz = self.tz()
        span = (res.span if res is not None else None) or 0
        buckets = [{"earliest_time": t, "earliest_time_rendered": sr.splunk_time(t, tz), "duration": span,
                    "total_count": c, "available_count": c, "is_finalized": job.state != "running"}
                   for t, c in (res.timeline if res is not None else [])]
        body = {"event_count": sum(b["total_count"] for b in buckets), "cursor_time": job.latest or 0,
                "buckets": buckets, "is_done": job.state != "running"}
        if wants_json(request, params):
            return JSONResponse(body)
        rows = "".join(f'<bucket a="{int(b["earliest_time"])}" c="{b["total_count"]}" d="{span}" '
                       f'f="{int(b["is_finalized"])}" t="{b["earliest_time"]}">{b["earliest_time_rendered"]}</bucket>'
                       for b in buckets)
        return Response(f'<?xml version="1.0" encoding="UTF-8"?>\n<timeline c="{body["event_count"]}" '
                        f'cursor="{body["cursor_time"]}" d="{int(body["is_done"])}">{rows}</timeline>\n',
                        media_type="text/xml; charset=utf-8")

    # -- changing a job ---------------------------------------------------------------------------
    async def control(self, request: Request, sid: str, owner: str | None = None, app: str | None = None) -> Response:
        params = await form(request)
        action = (params.get("action") or "").lower()
        jobs, uid = self.jobs(request), self.who(request).user_id
        job = self.get(request, sid)
        if action == "cancel":
            jobs.remove(uid, sid)
        elif action == "finalize":
            jobs.finalize(uid, sid)
        elif action in ("pause", "unpause"):
            job.meta["paused"] = action == "pause" and job.state == "running"
        elif action == "touch":
            job.seen = time.monotonic()
            if job.finished:
                job.finished = time.time()
        elif action == "setttl":
            job.ttl_secs = _int(params, "ttl", DEFAULT_TTL_SECS, 1, MAX_TTL_SECS)
            if job.finished:
                job.finished = time.time()
        elif action not in CONTROL_NOOPS:
            raise InputError(f"action={action!r}: use cancel, finalize, pause, unpause, touch, setttl, "
                             "setpriority, enablepreview or disablepreview")
        return message_response(request, params, f"Search job {action}: {sid}")

    async def delete(self, request: Request, sid: str, owner: str | None = None, app: str | None = None) -> Response:
        self.jobs(request).remove(self.who(request).user_id, sid)
        return message_response(request, dict(request.query_params), f"Search job cancelled and removed: {sid}")

    # -- export -----------------------------------------------------------------------------------
    async def export_as_read(self, request: Request, params: dict, mode: str) -> Response | None:
        """A search for raw events streamed while it runs (`query.stream.events_as_read`: the
        newest rows leave as soon as the buckets that hold them are read, every row of the
        answer, memory bounded); None for any other search, or when the home searches on
        ClickHouse (the job path below). Raises
        SplError (a bad search: before any byte is sent)."""
        from speleo.query import engine, stream
        from speleo.query.macrostore import load_macros

        search = (params.get("search") or "").strip()
        if not search or getattr(self.rt.service, "on_clickhouse", False):   # buckets of this home only
            return None
        who, rt = self.who(request), self.rt
        try:
            now = float(params["now"]) if params.get("now") else time.time()
        except ValueError:
            raise InputError(f"now={params.get('now')!r}: give epoch seconds (UTC)") from None
        earliest, latest = rt.time_bounds(params.get("earliest_time") or None, params.get("latest_time") or None, now)
        svc = rt.service
        try:
            compiled = await asyncio.to_thread(
                engine.compile_for, search, now=now, earliest=earliest, latest=latest,
                macros=load_macros(svc.home, saved_reader(who)),
                tz_name=svc.home.settings.default_tz, props=svc.props(), lookups_dir=svc.home.lookups_dir,
                run_subsearch=_runs_on_the_job_path)
        except _RunsFirst:   # a subsearch that runs before the search (gives text, writes a lookup): the job path
            return None      # runs it once, with the searcher's checks
        if not engine.batchable(compiled):
            return None
        search_guard(who)(compiled)
        src, started, sent = client_address(request), time.monotonic(), [0]

        def tables():
            state = "failed"
            try:
                for t in stream.events_as_read(svc.home, svc.catalog, compiled, scope=who.scope()):
                    sent[0] += t.num_rows
                    yield t
                state = "done"
            except GeneratorExit:
                state = "cancelled"
                raise
            finally:
                audit(rt, who, "search", info=state, search=search, search_et=earliest, search_lt=latest,
                      total_run_time=round(time.monotonic() - started, 3), result_count=sent[0], src=src,
                      via_rest=1, export=1)

        return StreamingResponse(sr.export_tables(mode, "events", tables(), self.tz()), media_type=sr.MEDIA[mode])

    async def export(self, request: Request, owner: str | None = None, app: str | None = None) -> Response:
        """Run the search and stream its rows (JSON lines, XML, CSV or raw), converted chunk by chunk."""
        params = await form(request)
        if params.get("exec_mode"):
            raise InputError("exec_mode: export takes none (it always streams)")
        mode = _mode(params)
        streamed = await self.export_as_read(request, params, mode)
        if streamed is not None:
            return streamed
        job = self.start(request, params, MAX_JOB_ROWS, app, "export")
        jobs = self.jobs(request)
        try:
            await self.wait(job, job.ended)
        except BaseException:
            jobs.remove(job.owner, job.id)   # the client went away: stop the search
            raise
        jobs.forget(job)   # the rows leave with the response; the job is not kept
        self.raise_failed(job)
        if job.state != "done":
            raise ConflictError(f"the export's search {job.state}: {(job.error or {}).get('message', '')}".strip())
        msgs = sr.messages_of(job.result)
        if job.result is not None and job.result.truncated:
            msgs.append({"type": "WARN", "text": f"export stopped at {MAX_JOB_ROWS} rows of {job.result.total}"})
        return StreamingResponse(sr.export_chunks(mode, job.result, self.tz(), msgs), media_type=sr.MEDIA[mode])


def message_response(request: Request, params: dict, text: str) -> Response:
    if wants_json(request, params):
        return JSONResponse({"messages": [{"type": "INFO", "text": text}]})
    from xml.sax.saxutils import escape

    return Response(f'<?xml version="1.0" encoding="UTF-8"?>\n<response><messages><msg type="INFO">{escape(text)}'
                    "</msg></messages></response>\n", media_type="text/xml; charset=utf-8")


def field_summary(result, top: int, tz) -> dict:
    """Per field (search-time fields included): how many rows have it, distinct values, the
    `top` most common values, and for numeric fields min, max and mean (over every kept row)."""
    from collections import Counter

    if result is None:
        return {"event_count": 0, "fields": {}}
    counters: dict[str, Counter] = {}
    step = sr.EXPORT_CHUNK_ROWS
    for start in range(0, result.table.num_rows, step):
        for row in sr.page(result, start, step, tz):
            for k, v in row.items():
                if k == "_raw":
                    continue
                counters.setdefault(k, Counter()).update(v if isinstance(v, list) else [v])
    out: dict = {}
    for name, counts in counters.items():
        f = {"count": sum(counts.values()), "distinct_count": len(counts),
             "modes": [{"value": v, "count": c} for v, c in counts.most_common(top)]}
        nums = []
        for v, c in counts.items():
            try:
                nums += [float(v)] * c
            except ValueError:
                pass
        if nums and name != "_time":
            f.update(numeric_count=len(nums), min=min(nums), max=max(nums), mean=sum(nums) / len(nums))
        out[name] = f
    return {"event_count": result.table.num_rows, "fields": out}


def summary_xml(body: dict) -> str:
    from xml.sax.saxutils import escape, quoteattr

    parts = []
    for name, f in body["fields"].items():
        modes = "".join(f"<value c='{m['count']}'><text>{escape(str(m['value']))}</text></value>" for m in f["modes"])
        nums = "".join(f"<{k}>{f[k]}</{k}>" for k in ("min", "max", "mean") if k in f)
        parts.append(f"<field k={quoteattr(name)} c='{f['count']}' nc='{f.get('numeric_count', 0)}' "
                     f"dc='{f['distinct_count']}'>{nums}<modes>{modes}</modes></field>")
    return (f"<?xml version='1.0' encoding='UTF-8'?>\n<summary count='{body['event_count']}'>"
            f"{''.join(parts)}</summary>\n")


def install(app: FastAPI, runtime) -> None:
    """Add the routes, v1 (`search/jobs`) and v2 (`search/v2/jobs`), under both prefixes."""
    h = JobsRest(runtime)
    app.state.splunk_jobs = h   # rest_saved's dispatch starts its job here
    router = APIRouter(route_class=SplunkRoute)
    read = [Depends(require(SEARCH))]
    routes = []
    for base in ("search/jobs", "search/v2/jobs"):
        routes += [(base + "/export", "POST", h.export, read), (base + "/export", "GET", h.export, read),
                   (base, "GET", h.list, read), (base, "POST", h.create, read),
                   (base + "/{sid}", "GET", h.status, read), (base + "/{sid}", "DELETE", h.delete, read)]
        for sub, fn in (("results", h.results), ("results_preview", h.preview), ("events", h.events),
                        ("summary", h.summary), ("timeline", h.timeline)):
            routes += [(f"{base}/{{sid}}/{sub}", "GET", fn, read), (f"{base}/{{sid}}/{sub}", "POST", fn, read)]
        routes.append((base + "/{sid}/control", "POST", h.control, read))
    add_routes(router, routes)
    app.include_router(router)


class _RunsFirst(SpeleoError):
    """A subsearch must run before the search compiles (spl/rawsub.py): not the streaming export's
    (a SpeleoError so that the compile lets it through)."""


def _runs_on_the_job_path(compiled, limit: int):
    """The streaming export's `run_subsearch`: never runs one (the job path does, once, with the
    searcher's checks: a subsearch that writes a lookup must not run twice)."""
    raise _RunsFirst()
