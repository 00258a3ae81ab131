"""Search jobs of the web interface: a search runs in a background thread, per user.

`POST /web/api/jobs` starts one and answers its id at once; `GET /web/api/jobs/{id}` reports its
state (running, done, failed, cancelled), the elapsed time, the progress DuckDB reports for the
query step running now (`query_progress()`, a percentage of that step: a search runs one or two
steps, the rows then the timeline), and the answer when done; `DELETE` cancels it by
interrupting its DuckDB connection. A search for raw events runs over its buckets in batches,
newest first (`engine.execute_incremental`): while it runs, `partial` holds what was found so far
(the newest events, the running count and timeline) and `progress` the buckets and bytes done.
Jobs live in memory: a finished job is forgotten `KEEP_SECS` after it ended (or its own `ttl_secs`,
Splunk's job ttl, set by the REST API), a running job nobody asked about for `ABANDON_SECS` is
cancelled, and a user keeps at most `MAX_JOBS_PER_USER` jobs (the oldest finished ones go first).

The Splunk REST API (`speleo.server.splunk_jobs`) starts its jobs here too with `keep_result=True`:
the job then keeps the engine's `SearchResult` (Arrow, at most the job's row limit) instead of the
web page's JSON body, so results can be paged through and rendered in Splunk's formats, and
`finalize` (stop now, keep what was found) ends it with its last partial result.

Job reuse (Splunk's search job reuse): a search started with the same `share_key` (the SPL, the
range as written, the limit, the caller's index scope and capabilities) within `SHARE_SECS` of
an identical job that has not failed or been cancelled gets that job, not a new one: the job
gains the caller as a viewer and counts the reuse (`reused` in its JSON), so ten browsers
refreshing one dashboard run each search once. A viewer's cancel only detaches it; the job stops
when its last viewer cancels.

Post-process (Simple XML `<search base>`, Studio `ds.chain`): `start_chain` runs SPL that starts
with a command over the finished result of a base job (kept for that purpose, at most
`BASE_MAX_ROWS` rows), never again over the events (`speleo.query.post.post_process`).
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import secrets
import threading
import time
from dataclasses import dataclass, field

import pyarrow as pa

from speleo.errors import ConflictError, InputError, NotFoundError, SpeleoError
from speleo.query import engine, failures, results, stream, udf
from speleo.query.results import add_extracted  # noqa: F401 (moved to the query layer; kept importable)
from speleo.query.scope import check_lookup_writes
from speleo.query.timefmt import local_zone
from speleo.web import dispatch

KEEP_SECS = 10 * 60
ABANDON_SECS = 2 * 60
MAX_RUNNING_PER_USER = 4
MAX_JOBS_PER_USER = 50    # running and finished jobs kept per user
PARTIAL_MAX_ROWS = 1000   # events in a partial result at most
SHARE_SECS = 30.0         # an identical search started within this many seconds reuses the job
BASE_MAX_ROWS = 50_000    # rows a base search keeps for its post-process searches
MAX_PAGE_ROWS = 1000      # rows in one page of GET /web/api/jobs/{id}/rows at most
SUMMARY_MAX_EVENTS = 100_000   # events read for field summaries at most (more: a sample, said so)
MAX_DISTINCT = 1000       # distinct values counted per field in a summary


@dataclass
class Job:
    id: str
    owner: int
    search: str
    earliest: float | None
    latest: float | None
    started: float = field(default_factory=time.time)
    state: str = "running"  # running | done | failed | cancelled
    finished: float | None = None
    seen: float = field(default_factory=time.monotonic)
    body: dict | None = None
    error: dict | None = None
    con: object = None
    buckets: int | None = None
    bytes: int | None = None
    buckets_done: int | None = None   # batched event searches only
    bytes_done: int | None = None
    partial: object = None            # the engine's SearchResult so far (batched event searches)
    partial_seq: int = 0
    partial_body: tuple[int, dict] | None = None   # (partial_seq, its JSON), made when asked for
    span_range: tuple[float, float] | None = None  # the time range the whole timeline will cover
    axis: tuple[float, float] | None = None        # the timeline's x axis: the whole range searched
    plan_info: dict | None = None                  # what the planner chose (the job inspector)
    tz: object = None
    cancel_asked: bool = False
    scope: object = None              # the owner's speleo.query.scope.IndexScope (None: every index)
    write_lookups: bool = True        # the owner holds edit_lookups
    on_finished: object = None        # called with the job when it ends (the audit trail)
    total: int | None = None          # events or result rows of the answer
    keep_result: bool = False         # keep the SearchResult (REST API) instead of the JSON body
    result: object = None             # the engine's SearchResult when keep_result
    ttl_secs: float = KEEP_SECS       # forgotten this long after it ended (Splunk: the job's ttl)
    finalize_asked: bool = False      # stop now and keep the partial result as the answer
    finalized: bool = False
    meta: dict = field(default_factory=dict)   # what the REST API records about the job (label, app...)
    compiled: threading.Event = field(default_factory=threading.Event)   # set once compiled (or failed)
    ended: threading.Event = field(default_factory=threading.Event)      # set once it ended
    waiters: list = field(default_factory=list)   # (event loop, asyncio.Event) of long polls, set when it ends
    compiled_search: object = None    # the compiled search (pages, export and summaries run it again)
    log: list = field(default_factory=list)      # the search log: (epoch, level, text)
    phases: list = field(default_factory=list)   # (name, seconds) in the order they ran
    lock: threading.Lock = field(default_factory=threading.Lock)
    viewers: set = field(default_factory=set)   # owners sharing this job (reuse), the first included
    share_key: tuple | None = None
    reused: int = 0                   # times another start was answered with this job
    keep: bool = False                # keep `result` for post-process searches (a base search)
    base: str | None = None           # the base job of a post-process search
    opened: float = 0.0               # when it started by the Jobs' clock (reuse window)
    now: float | None = None          # the `now` its range was resolved with (to compile it again after a restart)
    kind: str | None = None           # "events" | "results" once done (kept for a job loaded without its body)
    stored: bool = False              # loaded from its dispatch folder: its result is read when first asked for

    def record(self) -> dict:
        """What `speleo.web.dispatch` keeps of the job (JSON-able; the result table goes apart)."""
        scope = self.scope
        return {"id": self.id, "owner": self.owner, "viewers": sorted(self.viewers), "search": self.search,
                "earliest": self.earliest, "latest": self.latest, "now": self.now, "started": self.started,
                "finished": self.finished, "state": self.state, "total": self.total, "error": self.error,
                "ttl_secs": self.ttl_secs, "meta": self.meta, "keep_result": self.keep_result, "keep": self.keep,
                "base": self.base, "finalized": self.finalized, "write_lookups": self.write_lookups,
                "kind": (self.body or {}).get("kind") or getattr(self.result, "kind", None) or self.kind,
                "scope": None if scope is None else {"allowed": list(scope.allowed), "default": list(scope.default),
                                                     "limits": dataclasses.asdict(scope.limits)},
                "body": self.body, "log": self.log[-200:], "phases": self.phases, "plan_info": self.plan_info,
                "buckets": self.buckets, "bytes": self.bytes, "span_range": self.span_range, "axis": self.axis}

    def progress(self) -> float | None:
        """Percent of the current query step (DuckDB's estimate), or None when unknown."""
        con = self.con
        if con is None or self.state != "running":
            return None
        try:
            p = float(con.query_progress())
        except Exception:  # noqa: BLE001 - the connection may be closing
            return None
        return round(p, 1) if p >= 0 else None

    def partial_dict(self) -> dict | None:
        """The JSON of the partial result (made once per batch, when first asked for)."""
        with self.lock:
            if self.state != "running" or self.partial is None:
                return None
            seq, partial, made = self.partial_seq, self.partial, self.partial_body
        if made is not None and made[0] == seq:
            return made[1]
        if partial.table.num_rows > PARTIAL_MAX_ROWS:   # a job asked for every row: partials show the newest
            partial = dataclasses.replace(partial, table=partial.table.slice(0, PARTIAL_MAX_ROWS), truncated=True)
        body = results.to_json(partial, self.tz)   # events with their search-time fields
        body["partial"] = True
        if self.span_range is not None:  # so the page can draw the timeline over the whole range already
            body["timeline"]["earliest_epoch"], body["timeline"]["latest_epoch"] = self.span_range
        if self.axis is not None:
            body["timeline"]["axis_earliest"], body["timeline"]["axis_latest"] = self.axis
        with self.lock:
            if self.partial_body is None or self.partial_body[0] < seq:
                self.partial_body = (seq, body)
        return body

    def summary_dict(self) -> dict:
        """The job without its rows (the jobs page)."""
        end = self.finished or time.time()
        return {"id": self.id, "state": self.state, "search": self.search, "earliest": self.earliest,
                "latest": self.latest, "started": self.started, "elapsed_secs": round(end - self.started, 3),
                "total": self.total, "kind": (self.body or {}).get("kind") or self.kind, "buckets": self.buckets,
                "bytes": self.bytes}

    def to_dict(self) -> dict:
        """The job as `GET /web/api/jobs/{id}` answers it (may convert a partial result: call
        it off the event loop)."""
        partial = self.partial_dict()
        end = self.finished or time.time()
        progress = {"step_percent": self.progress(), "buckets": self.buckets, "bytes": self.bytes}
        if self.buckets_done is not None and self.buckets is not None:  # batched: the share of bytes read
            progress["buckets_done"], progress["bytes_done"] = self.buckets_done, self.bytes_done
            progress["percent"] = round(100.0 * (self.bytes_done / self.bytes if self.bytes else
                                                 self.buckets_done / max(self.buckets, 1)), 1)
        out = {
            "id": self.id, "state": self.state, "search": self.search,
            "earliest": self.earliest, "latest": self.latest,
            "started": self.started, "elapsed_secs": round(end - self.started, 3),
            "progress": progress, "reused": self.reused, "viewers": len(self.viewers), "opened": self.opened,
        }
        if self.base is not None:
            out["base"] = self.base
        if self.body is not None:
            out["result"] = self.body
            out["pages"] = {"kept_rows": len(self.body.get("events") or self.body.get("results") or []),
                            "total": self.total, "rows_url": f"/web/api/jobs/{self.id}/rows",
                            "export_url": f"/web/api/jobs/{self.id}/export"}
        elif partial is not None:
            out["partial"] = partial
        if self.error is not None:
            out["error"] = self.error
        return out


class Jobs:
    """The running and recent search jobs of one server."""

    def __init__(self, service, clock=time.time, persist: bool = True) -> None:
        """`clock()`: epoch seconds (injectable: job reuse compares start times). `persist`: keep
        each job in `<home>/dispatch` (speleo.web.dispatch) so it outlives a restart."""
        self.svc = service
        self.clock = clock
        self.jobs: dict[str, Job] = {}
        self.lock = threading.Lock()
        self.persist = persist
        self.store_errors = 0          # dispatch folders that could not be written or read
        self._loaded = not persist

    # -- the dispatch folder (speleo.web.dispatch) ---------------------------------------------
    def _store(self, job: Job, result=None) -> None:
        if not self.persist:
            return
        try:
            dispatch.save(self.svc.home, job.record(), result)
        except (OSError, TypeError, ValueError, pa.ArrowException) as e:   # a full disk, a value JSON cannot
            self._count_store_error("search job not kept on disk (it lives in memory only)", e)   # hold

    def _count_store_error(self, what: str, e: Exception | str) -> None:
        """Count a dispatch folder problem, shown by `speleo status` with its reason."""
        self.store_errors += 1
        try:
            self.svc.catalog.count_problem("error", "dispatch", f"{what}: {str(e)[:200]}")
        except Exception:  # noqa: BLE001 - the catalog itself failing: the counter above stays
            pass

    def _unstore(self, job_id: str) -> None:
        if self.persist:
            dispatch.remove(self.svc.home, job_id)

    def _load_stored(self) -> None:
        """The jobs of the dispatch folder (once, at the first use): unexpired ones come back as
        they ended; one that was running when the server stopped is failed, saying so."""
        self._loaded = True
        now = time.time()
        tz = local_zone(self.svc.home.settings.default_tz)
        for rec in dispatch.records(self.svc.home):
            if "unreadable" in rec:
                self._count_store_error(f"search job {rec['id']} could not be read again and was removed",
                                        rec["unreadable"])
                dispatch.remove(self.svc.home, rec["id"])
                continue
            if rec["state"] != "running" and rec.get("finished") is not None \
                    and now - rec["finished"] > rec.get("ttl_secs", KEEP_SECS):
                dispatch.remove(self.svc.home, rec["id"])
                continue
            job = _job_of(rec, tz)
            if rec["state"] == "running":
                job.state, job.error, job.finished = "failed", dict(dispatch.INTERRUPTED), now
                job.log.append((now, "ERROR", dispatch.INTERRUPTED["message"]))
                self._store(job)
            self.jobs[job.id] = job

    def _restore(self, job: Job) -> None:
        """Read a loaded job's kept result, and compile its search again (pages, exports)."""
        with job.lock:
            if not job.stored:
                return
            job.stored = False
        if job.keep_result or job.keep:
            rec = dispatch.load(self.svc.home, job.id)
            job.result = dispatch.result(self.svc.home, rec) if rec is not None else None
        if job.state == "done" and job.compiled_search is None:
            from speleo.query.macrostore import load_macros

            svc = self.svc
            try:
                job.compiled_search = engine.compile_for(
                    job.search, now=job.now, earliest=job.earliest, latest=job.latest, macros=load_macros(svc.home),
                    tz_name=svc.home.settings.default_tz, props=svc.props(), lookups_dir=svc.home.lookups_dir)
            except SpeleoError:   # a macro changed since: the kept rows only
                job.compiled_search = None

    def _expire(self) -> None:
        if not self._loaded:
            with self.lock:
                if not self._loaded:
                    self._load_stored()
        now, mono = time.time(), time.monotonic()
        gone = []
        with self.lock:
            for jid, job in list(self.jobs.items()):
                if job.state == "running" and mono - job.seen > ABANDON_SECS:
                    self._cancel(job)
                if job.finished is not None and now - job.finished > job.ttl_secs:
                    del self.jobs[jid]
                    gone.append(jid)
        for jid in gone:
            self._unstore(jid)

    def _make_room(self, owner: int) -> None:
        """Forget the oldest finished jobs of `owner` beyond MAX_JOBS_PER_USER - 1 (under the lock).
        Raises ConflictError when every kept job of theirs is still running."""
        mine = sorted((j for j in self.jobs.values() if j.owner == owner), key=lambda j: j.started)
        finished = [j for j in mine if j.state != "running"]
        while len(mine) >= MAX_JOBS_PER_USER and finished:
            old = finished.pop(0)
            mine.remove(old)
            del self.jobs[old.id]
            self._unstore(old.id)
        if len(mine) >= MAX_JOBS_PER_USER:
            raise ConflictError(f"{len(mine)} search jobs of yours are kept already; delete one or wait")

    def _shared(self, owner: int, share_key: tuple | None, after: float | None = None) -> Job | None:
        """An identical job started less than SHARE_SECS ago, and after `after` (by the Jobs'
        clock: a refresh asks for a job newer than the one it showed) (call with self.lock held)."""
        if share_key is None:
            return None
        now = self.clock()
        for job in self.jobs.values():
            if job.share_key == share_key and job.state in ("running", "done") and now - job.opened < SHARE_SECS \
                    and (after is None or job.opened > after):
                job.viewers.add(owner)
                job.reused += 1
                job.seen = time.monotonic()
                job.log.append((time.time(), "INFO", f"reused: an identical search asked {now - job.opened:.1f} s "
                                f"after this job opened was answered by it (reuse {job.reused}, "
                                f"{len(job.viewers)} viewer(s))"))
                return job
        return None

    def _per_searcher(self, share_key: tuple | None, search: str, owner: int) -> tuple | None:
        """`share_key` with the owner in it when the search reads `| rest` or `| loadjob`, also in
        a subsearch (its rows are the searcher's own: their jobs, their name, the saved searches
        they may read), or cannot be parsed: never shared between users."""
        if share_key is None:
            return None
        from speleo.query.macrostore import load_macros
        from speleo.spl.parser import parse_expanded

        try:
            commands = parse_expanded(search, load_macros(self.svc.home))[0].commands
        except Exception:  # noqa: BLE001 - it fails when it runs; not shared meanwhile
            commands = None
        if commands is None or _reads_as_searcher(commands):
            return (*share_key, ("owner", owner))
        return share_key

    def _new(self, owner: int, search: str, earliest, latest, *, share_key=None, job_id: str | None = None,
             meta: dict | None = None, **kw) -> Job:
        """A new job of `owner` (call with self.lock held). Raises ConflictError (too many running
        or kept, or `job_id` taken)."""
        running = sum(1 for j in self.jobs.values() if j.owner == owner and j.state == "running")
        scope = kw.get("scope")
        quota = (scope.limits.jobs_quota if scope is not None else 0) or MAX_RUNNING_PER_USER
        if running >= quota:
            why = " (your roles' srchJobsQuota)" if quota != MAX_RUNNING_PER_USER else ""
            raise ConflictError(f"{running} searches of yours are running already, the most allowed at once{why}; "
                                "cancel one or wait")
        self._make_room(owner)
        if job_id is not None and job_id in self.jobs:
            raise ConflictError(f"a search job {job_id!r} exists already")
        job = Job(job_id or secrets.token_urlsafe(12), owner, search, earliest, latest, opened=self.clock(),
                  tz=local_zone(self.svc.home.settings.default_tz), viewers={owner}, share_key=share_key,
                  meta=dict(meta or {}), **kw)
        self.jobs[job.id] = job
        return job

    def start(self, owner: int, search: str, earliest, latest, limit: int, now: float | None, *,
              scope=None, write_lookups: bool = True, on_finished=None, check=None, keep_result: bool = False,
              ttl_secs: float = KEEP_SECS, meta: dict | None = None, job_id: str | None = None,
              share_key: tuple | None = None, keep: bool = False, after: float | None = None) -> Job:
        """Start a job of `owner`, or answer an identical one of the last SHARE_SECS when
        `share_key` is given (see the module doc); `scope` and `write_lookups` restrict it as
        `Service.search` does, and `check(compiled)` runs before the search does (raises to refuse
        it); `on_finished(job)` is called once when it ends. `keep_result`, `ttl_secs` and `meta`:
        see the module doc; `job_id` names the job (a saved search's dispatch gives its run's sid);
        `keep` keeps the result for post-process searches; `after`: reuse only a job opened after
        that time (a refresh). Raises ConflictError (too many running or kept, or `job_id` taken)."""
        self._expire()
        share_key = self._per_searcher(share_key, search, owner)
        with self.lock:
            job = self._shared(owner, share_key, after)
            if job is not None:
                if keep and not job.keep:
                    job.keep = True   # too late if it ended: its post-processes say so
                return job
            job = self._new(owner, search, earliest, latest, share_key=share_key, job_id=job_id, meta=meta,
                            scope=scope, write_lookups=write_lookups, on_finished=on_finished,
                            keep_result=keep_result, ttl_secs=ttl_secs, keep=keep, now=now)
        self._store(job)   # a job found running at the next start was cut short: it says so
        threading.Thread(target=self._run, args=(job, BASE_MAX_ROWS if keep else limit, now, check),
                         name=f"search-job-{job.id}", daemon=True).start()
        return job

    def start_chain(self, owner: int, base_id: str, query: str, limit: int, *, on_finished=None, check=None,
                    share_extra: tuple = ()) -> Job:
        """A post-process job: `query` (SPL starting with `|`) over the result of the base job
        `base_id` once it is done (shared like `start` when another viewer asks for the same);
        `check(compiled)` as for `start` (the search guard of writing commands); `share_extra`
        joins the share key (the caller's capabilities: a job is shared only between equals).
        Raises NotFoundError (no such base job of yours), ConflictError (too many)."""
        base = self.get(owner, base_id)
        if not query.lstrip().startswith("|"):
            query = "| " + query
        key = self._per_searcher(("chain", base_id, query, limit, share_extra), query, owner)
        with self.lock:
            job = self._shared(owner, key)
            if job is not None:
                return job
            job = self._new(owner, query, base.earliest, base.latest, share_key=key, scope=base.scope,
                            on_finished=on_finished, base=base_id)
        self._store(job)
        threading.Thread(target=self._run_chain, args=(job, base, limit, check), name=f"search-job-{job.id}",
                         daemon=True).start()
        return job

    def _run_chain(self, job: Job, base: Job, limit: int, check=None) -> None:
        from speleo.query.post import post_process

        try:
            while not base.ended.wait(0.2):
                if job.cancel_asked:
                    return
            if base.state != "done" or base.result is None:
                why = base.error["message"] if base.error else f"it is {base.state}"
                if base.state == "done":
                    why = "it ended before it was made a base search (start it with keep: true)"
                raise SpeleoError(f"the base search did not give results to post-process: {why}")
            from speleo.query.macrostore import load_macros

            svc = self.svc
            ctx = engine.context_for(earliest=base.result.earliest, latest=base.result.latest,
                                     macros=load_macros(svc.home, getattr(check, "reader", None)),
                                     tz_name=svc.home.settings.default_tz,
                                     props=svc.props(), lookups_dir=svc.home.lookups_dir)
            self._finish(job, post_process(base.result, job.search, limit, ctx, check))
        except Exception as e:  # noqa: BLE001 - a bug or DuckDB's refusal: a Speleo error for the user
            self._fail(job, e)
        finally:
            self._ended(job)

    def _ended(self, job: Job) -> None:
        with job.lock:
            job.con = None
            job.partial = job.partial_body = None
            if job.finished is None:
                job.finished = time.time()
        job.compiled.set()
        job.ended.set()
        wake_waiters(job)
        if job.on_finished is not None:
            job.on_finished(job)
        if job.id in self.jobs:   # not a oneshot or export already forgotten
            self._store(job, job.result if job.state == "done" else None)

    def get(self, owner: int, job_id: str) -> Job:
        self._expire()
        job = self.jobs.get(job_id)
        if job is None or owner not in job.viewers:  # other users' jobs do not exist for you
            raise NotFoundError(f"no search job {job_id!r} (jobs are kept {KEEP_SECS // 60} minutes)")
        job.seen = time.monotonic()
        if job.stored:
            self._restore(job)
        return job

    def list(self, owner: int) -> list[Job]:
        """The jobs of `owner`, newest first."""
        self._expire()
        with self.lock:
            mine = sorted((j for j in self.jobs.values() if owner in j.viewers), key=lambda j: -j.started)
        for job in mine:
            if job.stored:
                self._restore(job)
        return mine

    def forget(self, job: Job) -> None:
        """Drop a job from the table (a REST oneshot or export whose rows leave with the answer)."""
        with self.lock:
            self.jobs.pop(job.id, None)
        self._unstore(job.id)

    def remove(self, owner: int, job_id: str) -> Job:
        """Cancel a job when running and forget it (Splunk: DELETE, control cancel). Raises NotFoundError."""
        job = self.get(owner, job_id)
        with self.lock:
            self._cancel(job)
            self.jobs.pop(job.id, None)
        self._unstore(job.id)
        return job

    def finalize(self, owner: int, job_id: str) -> Job:
        """Stop a running job; it ends `done` with what it found so far (its last partial result)."""
        job = self.get(owner, job_id)
        with job.lock:
            if job.state == "running":
                job.finalize_asked = True
                if job.con is not None:
                    try:
                        udf.interrupt(job.con)   # also stops its PCRE functions at once
                    except Exception:  # noqa: BLE001
                        pass
        return job

    def cancel(self, owner: int, job_id: str) -> Job:
        job = self.get(owner, job_id)
        with self.lock:
            if len(job.viewers) > 1:   # a shared job: only this viewer leaves it
                job.viewers.discard(owner)
            else:
                self._cancel(job)
        return job

    def summaries(self, owner: int) -> list[dict]:
        """The owner's jobs (running and kept), newest first, without their results."""
        self._expire()
        mine = [j for j in self.jobs.values() if owner in j.viewers]
        return [j.summary_dict() for j in sorted(mine, key=lambda j: j.started, reverse=True)]

    def done_job(self, owner: int, job_id: str) -> Job:
        """A finished job of `owner` (ConflictError while it runs or when it failed)."""
        job = self.get(owner, job_id)
        if job.state != "done" or job.compiled_search is None:
            raise ConflictError(f"search job {job_id} is {job.state}: rows can be read once it is done")
        return job

    def rows(self, owner: int, job_id: str, offset: int, count: int) -> dict:
        """Rows `offset` .. `offset + count` of a done job's answer (any page, not only the kept
        ones: later pages run the search again, `speleo.query.stream`). Shape:
        {kind, offset, count, total, fields, events|results}."""
        job = self.done_job(owner, job_id)
        count = max(1, min(int(count), MAX_PAGE_ROWS))
        offset = max(0, int(offset))
        key = "events" if job.body["kind"] == "events" else "results"
        kept = job.body[key]
        if offset + count <= len(kept) or len(kept) >= (job.total or 0):
            page = kept[offset:offset + count]
            names = job.body["fields"]
        else:
            table = pa.concat_tables(list(self._stream(job, offset, count)) or [pa.table({})],
                                     promote_options="permissive")
            page, names = job_rows(job, table)
        return {"kind": job.body["kind"], "offset": offset, "count": len(page), "total": job.total,
                "fields": names, key: page}

    def _stream(self, job: Job, offset: int = 0, limit: int = 0):
        return stream.tables(self.svc.home, self.svc.catalog, job.compiled_search, offset=offset, limit=limit,
                             scope=job.scope)

    def export(self, owner: int, job_id: str, fmt: str, internal: bool = False):
        """Every row of a done job's answer as text chunks (CSV with a header line, or JSON
        lines), streamed: memory stays bounded whatever the number of rows. The CSV's columns
        are those of the kept rows (Speleo's own columns only when `internal`)."""
        job = self.done_job(owner, job_id)
        if fmt not in ("csv", "json"):
            raise InputError(f"export format {fmt!r}: use csv or json")
        names = [n for n in job.body["fields"] if internal or n not in results.HIDDEN]
        return export_chunks(job, self._stream(job), names, fmt)

    def summary(self, owner: int, job_id: str) -> dict:
        """Field summaries of a done event search: per field the events that have it, distinct
        values, the top 10, and min/max/mean when every value is a number. Over every matching
        event up to `SUMMARY_MAX_EVENTS` (newest first), else over the newest that many: the
        answer says which (`sample`, `events_read`, `total`)."""
        job = self.done_job(owner, job_id)
        if job.body["kind"] != "events":
            raise ConflictError("field summaries are for event searches; this search transforms events")
        acc = FieldSummaries()
        read = 0
        for table in self._stream(job, 0, SUMMARY_MAX_EVENTS):
            evs, _ = job_rows(job, table)
            acc.add(evs)
            read += len(evs)
        total = job.total or 0
        return {"total": total, "events_read": read, "sample": read < total, "fields": acc.result()}

    def inspect(self, owner: int, job_id: str) -> dict:
        """The job inspector: phases and their seconds, what the planner read and skipped, the
        SQL that ran, the search log, and `sharing`: {reused (times another identical search
        was answered by this job), viewers, share_secs, shareable (started to be shared:
        dashboards), base (the base job of a post-process, else None)}."""
        job = self.get(owner, job_id)
        out = job.summary_dict()
        out["phases"] = [{"name": n, "secs": s} for n, s in job.phases]
        out["plan"] = job.plan_info
        out["scanned"] = (job.body or {}).get("scanned")
        out["log"] = [{"time": t, "level": lv, "text": x} for t, lv, x in job.log]
        out["sharing"] = {"reused": job.reused, "viewers": len(job.viewers), "share_secs": SHARE_SECS,
                          "shareable": job.share_key is not None, "base": job.base}
        return out

    def _cancel(self, job: Job) -> None:
        with job.lock:
            if job.state != "running":
                return
            job.cancel_asked = True
            job.state = "cancelled"
            job.finished = time.time()
            if job.con is not None:
                try:
                    udf.interrupt(job.con)   # also stops its PCRE functions at once
                except Exception:  # noqa: BLE001
                    pass

    def _run(self, job: Job, limit: int, now: float | None, check=None) -> None:
        from speleo.query.macrostore import load_macros

        svc = self.svc

        def hook(con, plan) -> None:
            con.execute("SET enable_progress_bar = true")
            con.execute("SET enable_progress_bar_print = false")
            with job.lock:
                job.con = con
                job.buckets = len(plan.buckets)
                job.bytes = sum(b.size_bytes for b in plan.buckets)
                if plan.buckets:
                    c = plan.compiled
                    job.span_range = (max(min(b.min_time for b in plan.buckets), c.earliest or float("-inf")),
                                      min(max(b.max_time for b in plan.buckets), c.latest or float("inf")))
                    job.axis = axis_range(c.earliest, c.latest, job.span_range, now or job.started)
                job.plan_info = {"buckets": len(plan.buckets), "row_groups_read_partially":
                                 sum(len(g) for g in plan.row_groups.values()),
                                 "buckets_skipped_by_time": plan.skipped_time,
                                 "buckets_skipped_by_terms": plan.skipped_terms,
                                 "row_groups_skipped_by_terms": plan.skipped_row_groups,
                                 "sql": plan.compiled.sql, "events_sql": plan.compiled.events_sql}
                if job.cancel_asked:
                    raise _Cancelled()

        def on_partial(partial, progress: dict) -> None:
            with job.lock:
                if job.cancel_asked:
                    raise _Cancelled()
                if job.finalize_asked:
                    job.partial = partial
                    raise _Cancelled()
                job.partial, job.partial_seq = partial, job.partial_seq + 1
                job.buckets_done, job.bytes_done = progress["buckets_done"], progress["bytes_done"]
                if job.buckets is None:   # ClickHouse: time slices stand for buckets
                    job.buckets = progress["buckets"]

        def note(level: str, text: str) -> None:
            job.log.append((time.time(), level, text))

        mark = [time.monotonic()]

        def phase(name: str) -> None:
            now_m = time.monotonic()
            job.phases.append((name, round(now_m - mark[0], 4)))
            mark[0] = now_m

        try:
            note("INFO", f"search: {job.search}")
            compiled = engine.compile_for(job.search, now=now, earliest=job.earliest, latest=job.latest,
                                          macros=load_macros(svc.home, getattr(check, "reader", None)),
                                          tz_name=svc.home.settings.default_tz,
                                          props=svc.props(), lookups_dir=svc.home.lookups_dir,
                                          run_subsearch=svc.subsearch_runner(job.scope, check, job.write_lookups))
            if check is not None:
                check(compiled)
            check_lookup_writes(compiled, job.write_lookups)
            job.compiled_search = compiled
            job.compiled.set()
            phase("parse and compile")
            note("INFO", f"compiled: {'transforming' if compiled.transforming else 'events'} search, "
                         f"earliest={compiled.earliest} latest={compiled.latest}")
            if engine.batchable(compiled):
                job.buckets_done = job.bytes_done = 0
                note("INFO", "events newest first: buckets are read in batches (partial results)")
            if svc.on_clickhouse:        # the search backend of the server: partial results by time slices
                with job.lock:
                    job.bytes = 0
                result = svc.backend.execute_incremental(compiled, limit=limit, on_partial=on_partial,
                                                         should_stop=lambda: job.cancel_asked or job.finalize_asked,
                                                         scope=job.scope)
            else:
                result = engine.execute_incremental(svc.home, svc.catalog, compiled, limit=limit,
                                                    on_partial=on_partial, on_connection=hook,
                                                    should_stop=lambda: job.cancel_asked or job.finalize_asked,
                                                    scope=job.scope)
            phase("run (plan, read buckets, DuckDB, timeline)")
            self._finish(job, result)
            phase("results to JSON (search-time fields)")
            for m in result.messages:
                note("WARN", m)
            note("INFO", f"done: {result.total} {result.kind}, {result.scanned.get('buckets_read', 0)} buckets read")
        except Exception as e:  # noqa: BLE001 - a finalized job ends with what it found
            if job.finalize_asked and not job.cancel_asked:
                self._finish(job, job.partial, finalized=True)
                note("INFO", "finalized: the answer is what was found so far")
            else:
                self._fail(job, e)
                note("ERROR" if job.state == "failed" else "INFO", str((job.error or {}).get("message") or "cancelled"))
        finally:
            self._ended(job)

    @staticmethod
    def _finish(job: Job, result, finalized: bool = False) -> None:
        if result is None:   # finalized before anything was found
            import pyarrow as pa

            result = engine.SearchResult("events", pa.table({}), False, 0)
        job.total = result.total
        body = None if job.keep_result else results.to_json(result, job.tz)
        if body is not None and job.span_range is not None:   # the timeline's axis: the whole range searched
            body["timeline"]["earliest_epoch"], body["timeline"]["latest_epoch"] = job.span_range
        if body is not None and job.axis is not None:
            body["timeline"]["axis_earliest"], body["timeline"]["axis_latest"] = job.axis
        with job.lock:
            if job.state == "running":
                kept = result if (job.keep_result or job.keep) else None
                job.body, job.result, job.state, job.finalized = body, kept, "done", finalized
            job.partial = job.partial_body = None

    @staticmethod
    def _fail(job: Job, e: Exception) -> None:
        if isinstance(e, SpeleoError):
            error = e.to_dict()
        else:  # interrupted queries land here too
            error = failures.translate(e, job.search).to_dict()
        with job.lock:
            if job.state == "running":
                job.error, job.state = error, "failed"


class _Cancelled(Exception):
    pass


def _job_of(rec: dict, tz) -> Job:
    """A Job from its dispatch record (speleo.web.dispatch), without its result table yet."""
    from speleo.query.scope import IndexScope, SearchLimits

    sc = rec.get("scope")
    scope = None if sc is None else IndexScope(tuple(sc["allowed"]), tuple(sc["default"]),
                                               SearchLimits(**sc.get("limits", {})))
    job = Job(rec["id"], rec["owner"], rec["search"], rec.get("earliest"), rec.get("latest"), started=rec["started"],
              state=rec["state"], finished=rec.get("finished"), body=rec.get("body"), error=rec.get("error"),
              total=rec.get("total"), ttl_secs=rec.get("ttl_secs", KEEP_SECS), meta=rec.get("meta") or {},
              keep_result=bool(rec.get("keep_result")), keep=bool(rec.get("keep")), base=rec.get("base"),
              finalized=bool(rec.get("finalized")), write_lookups=bool(rec.get("write_lookups", True)),
              viewers=set(rec.get("viewers") or [rec["owner"]]), scope=scope, tz=tz, now=rec.get("now"),
              kind=rec.get("kind"), log=[tuple(x) for x in rec.get("log") or []],
              phases=[tuple(x) for x in rec.get("phases") or []], plan_info=rec.get("plan_info"),
              buckets=rec.get("buckets"), bytes=rec.get("bytes"),
              span_range=tuple(rec["span_range"]) if rec.get("span_range") else None,
              axis=tuple(rec["axis"]) if rec.get("axis") else None, stored=True)
    job.compiled.set()
    job.ended.set()
    return job



def axis_range(earliest: float | None, latest: float | None, data: tuple[float, float],
               now: float) -> tuple[float, float]:
    """The timeline's x axis (epoch seconds): the range searched where it is bounded (a search
    with an earliest and no latest runs to `now`, as Splunk's relative ranges do), else the
    range of the events' buckets (`data`, already clipped to the search)."""
    finite = lambda v: v is not None and v not in (float("inf"), float("-inf"))  # noqa: E731
    lo = earliest if finite(earliest) else data[0]
    hi = latest if finite(latest) else (max(now, data[1]) if finite(earliest) else data[1])
    return float(lo), float(max(hi, lo))


def job_rows(job: Job, table: pa.Table) -> tuple[list[dict], list[str]]:
    """Rows of `table` as the job's answer shows them (events with their search-time fields)
    and their field names."""
    res = engine.SearchResult(kind=job.body["kind"], table=table, truncated=False, total=table.num_rows)
    part = {"kind": res.kind, "fields": results.fields(res), "events": results.rows(res, job.tz)}
    if res.kind == "events":
        results.add_extracted(part)
    return part["events"], part["fields"]


def export_chunks(job: Job, tables, names: list[str], fmt: str):
    """Text chunks of an export (see `Jobs.export`)."""
    if fmt == "csv":
        buf = io.StringIO()
        out = csv.writer(buf, lineterminator="\r\n")
        out.writerow(names)
        yield buf.getvalue()
    for table in tables:
        rows, _ = job_rows(job, table)
        buf = io.StringIO()
        if fmt == "csv":
            out = csv.writer(buf, lineterminator="\r\n")
            for r in rows:
                out.writerow([_cell(r.get(n)) for n in names])
        else:
            for r in rows:
                buf.write(json.dumps(r, default=str) + "\n")
        yield buf.getvalue()


def _cell(v) -> str:
    if v is None:
        return ""
    if isinstance(v, list):
        return "\n".join(str(x) for x in v)
    return str(v)


class FieldSummaries:
    """Per-field counts over events added batch by batch; distinct values tracked up to
    `MAX_DISTINCT` per field (past it, `distinct` is a lower bound and says so)."""

    SKIP = {"_raw", "_time"} | set(results.HIDDEN)

    def __init__(self) -> None:
        self.fields: dict[str, dict] = {}

    def add(self, events: list[dict]) -> None:
        for ev in events:
            for k, v in ev.items():
                if k in self.SKIP:
                    continue
                f = self.fields.setdefault(k, {"count": 0, "values": {}, "numeric": True, "min": None,
                                               "max": None, "sum": 0.0, "n": 0, "capped": False})
                f["count"] += 1
                for x in (v if isinstance(v, list) else [v]):
                    key = str(x)
                    if key in f["values"] or len(f["values"]) < MAX_DISTINCT:
                        f["values"][key] = f["values"].get(key, 0) + 1
                    else:
                        f["capped"] = True
                    num = _number(x)
                    if num is None:
                        f["numeric"] = False
                    elif f["numeric"]:
                        f["min"] = num if f["min"] is None else min(f["min"], num)
                        f["max"] = num if f["max"] is None else max(f["max"], num)
                        f["sum"] += num
                        f["n"] += 1

    def result(self) -> list[dict]:
        out = []
        for name, f in sorted(self.fields.items(), key=lambda kv: (-kv[1]["count"], kv[0])):
            top = sorted(f["values"].items(), key=lambda kv: (-kv[1], kv[0]))[:10]
            d = {"name": name, "count": f["count"], "distinct": len(f["values"]),
                 "distinct_capped": f["capped"], "top": [{"value": v, "count": c} for v, c in top]}
            if f["numeric"] and f["n"]:
                d["numeric"] = {"min": f["min"], "max": f["max"], "mean": round(f["sum"] / f["n"], 6)}
            out.append(d)
        return out


def _number(v) -> float | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, (int, float)):
        return float(v)
    try:
        return float(v) if isinstance(v, str) and v.strip() else None
    except ValueError:
        return None


def add_waiter(job: Job, loop, event) -> None:
    """Have `event` (an asyncio.Event of `loop`) set when the job ends: at once if it has."""
    with job.lock:
        job.waiters.append((loop, event))
    if job.ended.is_set():
        wake_waiters(job)


def remove_waiter(job: Job, loop, event) -> None:
    with job.lock:
        if (loop, event) in job.waiters:
            job.waiters.remove((loop, event))


def wake_waiters(job: Job) -> None:
    """Set the asyncio events of the long polls waiting for `job` (from any thread)."""
    with job.lock:
        waiting = list(job.waiters)
    for loop, event in waiting:
        try:
            loop.call_soon_threadsafe(event.set)
        except RuntimeError:   # that loop has closed
            pass


AS_SEARCHER = ("rest", "loadjob")   # commands whose rows depend on who searches


def _reads_as_searcher(node) -> bool:
    """Whether a parsed search (commands, or any node) holds `| rest` or `| loadjob` anywhere,
    subsearches included (`[| loadjob ... | outputlookup t]` runs as the searcher: spl/rawsub.py)."""
    from speleo.spl import ast

    if isinstance(node, ast.ArgsCmd) and node.name in AS_SEARCHER:
        return True
    if isinstance(node, (list, tuple)):
        return any(_reads_as_searcher(x) for x in node)
    if isinstance(node, ast.Node):
        return any(_reads_as_searcher(getattr(node, f.name)) for f in dataclasses.fields(node))
    return False
