"""Splunk REST endpoints for saved searches and fired alerts (Splunk REST API reference:
saved/searches, saved/searches/{name}/dispatch|history|scheduled_times|suppress|acknowledge|
reschedule, alerts/fired_alerts), under `/services/` and `/servicesNS/{owner}/{app}/`.

Bodies are form-encoded (with or without a Content-Type, as splunk-sdk-python sends them) or
JSON; answers are Atom XML unless `output_mode=json` (speleo.server.splunk_envelope). Every
route authenticates with `require(...)`: reading needs `search`, writing `schedule_search`.

`POST .../dispatch` runs the search as a scheduled run would (history, alert condition) and
keeps its results as a REST search job under the run's sid (`speleo.server.splunk_jobs`: status,
results; the search runs a second time for that job). It honours `dispatch.now` (or `now`, epoch seconds): the run behaves as the
scheduled run at that time (relative dispatch times resolved against it, compared with the
previous run, recorded in the history); `trigger_actions=1` lets it trigger actions, throttle
and fired alerts, as a scheduled run would (without it the condition is evaluated and
recorded, nothing is sent: Splunk's default).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import math
from dataclasses import replace

from fastapi import APIRouter, Depends, FastAPI, Request
from starlette.responses import Response

from speleo.alerts.cron import schedule_of
from speleo.alerts.spec import normalize
from speleo.alerts.store import NOBODY, SavedSearch
from speleo.alerts.throttle import DIGEST_KEY
from speleo.errors import ForbiddenError, InputError, NotFoundError
from speleo.ops.saved import API_OWNER
from speleo.query.timefmt import local_zone, to_epoch
from speleo.server.access import EDIT_SAVED, SCHEDULE_SEARCH, SEARCH, require
from speleo.server.splunk_envelope import entry, feed, form, sid_response
from speleo.server.splunk_jobs import MAX_JOB_ROWS
from speleo.server.splunk_routing import SplunkRoute, add_routes

SAVED = "saved/searches"
MAX_EPOCH = 253402300799   # 9999-12-31T23:59:59Z: the last time datetime can render
FIRED = "alerts/fired_alerts"
LINKS = ("dispatch", "history", "suppress", "acknowledge", "scheduled_times")
RESERVED = {"name", "output_mode", "count", "offset", "search_filter", "listDefaultActionArgs", "f", "sort_key",
            "sort_dir", "summarize", "add_orphan_field"}


def _fmt(ts: float | None, tz) -> str:
    if not ts:
        return ""
    return dt.datetime.fromtimestamp(ts, tz).strftime("%Y-%m-%d %H:%M:%S %Z")


def visible_to(who, s: SavedSearch) -> bool:
    """Splunk's sharing: a private saved search (`sharing=user`) is seen by its owner and by
    holders of `edit_saved_searches` only; app and global ones by every searcher. `who`: a
    `speleo.server.access.Principal` (REST, web, `| loadjob`)."""
    if str(s.spec["sharing"]) != "user":
        return True
    return who.can(EDIT_SAVED) or (who.via != "token" and s.owner_id == who.user_id)


class SavedRest:
    """The handlers, over a running server's scheduler (store, states, runner)."""

    def __init__(self, runtime) -> None:
        self.rt = runtime
        self.sched = runtime.scheduler
        self.store = self.sched.store
        self.states = self.sched.states
        self.tz = local_zone(runtime.home.settings.default_tz)

    # -- helpers ------------------------------------------------------------------------
    def owner_filter(self, owner: str | None) -> int | None:
        if owner in (None, "-", NOBODY):
            return None
        try:
            return self.store.owner_id(owner)
        except NotFoundError:
            return None

    def creator(self, request: Request, owner: str | None) -> int:
        who = request.state.principal
        if who.via != "token":   # a web or REST session, Basic auth
            return who.user_id
        if owner not in (None, "-", NOBODY):
            return self.store.owner_id(owner) or API_OWNER
        return API_OWNER

    def get(self, name: str, owner: str | None, request: Request | None = None) -> SavedSearch:
        """The saved search; with `request`, only one its caller may see (`visible`), else
        NotFoundError as for a name that does not exist."""
        s = self.store.get(name, self.owner_filter(owner))
        if request is not None and not self.visible(request, s):
            raise NotFoundError(f"no saved search named {name!r}")
        return s

    def visible(self, request: Request, s: SavedSearch) -> bool:
        """`visible_to` the request's principal."""
        return visible_to(request.state.principal, s)

    def writable(self, request: Request, name: str, owner: str | None) -> SavedSearch:
        """The saved search, when the caller may change it: its owner, or a holder of
        `edit_saved_searches` (any owner's). A scheduled search runs as its owner, so changing
        another's search would run the caller's text with the owner's roles (their indexes,
        `| rest` reads and writing commands). Raises ForbiddenError."""
        s = self.get(name, owner, request)
        who = request.state.principal
        if not who.can(EDIT_SAVED) and (who.via == "token" or s.owner_id != who.user_id):
            raise ForbiddenError(f"'{who.name}' may not change the saved search '{s.name}' of '{s.owner}': only its "
                                 f"owner or a holder of the capability '{EDIT_SAVED}' may")
        return s

    def content(self, s: SavedSearch, now: float) -> dict:
        d = s.to_dict()
        for k in ("id", "name", "owner", "created", "updated"):
            d.pop(k, None)
        st = self.states.state(s.id)
        d["alert.suppress.fields"] = ",".join(d.get("alert.suppress.fields") or [])
        nxt = st.next_scheduled
        if s.spec.scheduled and nxt is None:  # not yet seen by the scheduler: the next cron tick
            nxt = schedule_of(s, self.tz, now).next_after(now)
        d["next_scheduled_time"] = _fmt(nxt, self.tz) if s.spec.scheduled else ""
        d["triggered_alert_count"] = len(self.states.fired(now, s.name))
        return d

    def entry(self, request: Request, s: SavedSearch) -> dict:
        now = self.rt.clock.time()
        base = str(request.base_url).rstrip("/")
        return entry(base, SAVED, s.name, self.content(s, now), s.owner, s.spec["app"], s.spec["sharing"], LINKS)

    def one(self, request: Request, s: SavedSearch, params: dict, status: int = 200) -> Response:
        return feed(request, SAVED, [self.entry(request, s)], params, status)

    # -- saved/searches -----------------------------------------------------------------
    async def list(self, request: Request, owner: str | None = None, app: str | None = None) -> Response:
        params = await form(request)
        rows = [s for s in self.store.list(self.owner_filter(owner)) if self.visible(request, s)]
        text = (params.get("search") or "").lower()
        if text:
            rows = [s for s in rows if text in s.name.lower() or text in str(s.attrs.get("search", "")).lower()]
        return feed(request, SAVED, [self.entry(request, s) for s in rows], params)

    async def create(self, request: Request, owner: str | None = None, app: str | None = None) -> Response:
        params = await form(request)
        name = params.get("name", "")
        attrs = {k: v for k, v in params.items() if k not in RESERVED}
        if app and app != "-":
            attrs.setdefault("app", app)
        actor = request.state.principal.name
        res = self.store.save(self.creator(request, owner), name, attrs, actor=actor)
        msgs = [{"type": "WARN", "text": f"ignored unknown keys: {', '.join(res.unknown)}"}] if res.unknown else []
        msgs += [{"type": "INFO", "text": w} for w in res.warnings]
        return feed(request, SAVED, [self.entry(request, res.saved)], params, 201, msgs)

    async def show(self, request: Request, name: str, owner: str | None = None, app: str | None = None) -> Response:
        return self.one(request, self.get(name, owner, request), dict(request.query_params))

    async def update(self, request: Request, name: str, owner: str | None = None, app: str | None = None) -> Response:
        params = await form(request)
        cur = self.writable(request, name, owner)
        attrs = {k: v for k, v in params.items() if k not in RESERVED}
        res = self.store.save(cur.owner_id, name, attrs, merge=True, actor=request.state.principal.name)
        return self.one(request, res.saved, params)

    async def delete(self, request: Request, name: str, owner: str | None = None, app: str | None = None) -> Response:
        cur = self.writable(request, name, owner)
        self.store.remove(name, cur.owner_id, actor=request.state.principal.name)
        return feed(request, SAVED, [], dict(request.query_params))

    # -- dispatch and history ------------------------------------------------------------
    async def dispatch(self, request: Request, name: str, owner: str | None = None,
                       app: str | None = None) -> Response:
        params = await form(request)
        saved = self.get(name, owner, request)
        raw_now = params.get("dispatch.now") or params.get("now")
        try:
            when = float(raw_now) if raw_now else self.rt.clock.time()
        except ValueError:
            when = math.nan
        if not 0 <= when <= MAX_EPOCH:   # also NaN and infinities
            raise InputError(f"dispatch.now = {raw_now!r}: give epoch seconds (UTC) between 0 and {MAX_EPOCH} "
                             "(year 9999)")
        overrides = {k: v for k, v in params.items() if k in ("dispatch.earliest_time", "dispatch.latest_time")}
        if overrides:
            canon, _ = normalize(overrides)
            saved = replace(saved, attrs={**saved.attrs, **canon})
        trigger = params.get("trigger_actions", "0").lower() in ("1", "true", "t", "yes")
        report = await asyncio.to_thread(self.sched.runner.run, saved, when, trigger_actions=trigger)
        # the run's results as a search job under the run's sid (job.is_done(), job.results() of the SDK)
        earliest, latest = self.sched.runner.bounds(saved.spec, when)
        request.app.state.splunk_jobs.start_search(request, saved.spec["search"], earliest, latest, when, MAX_JOB_ROWS,
                                                   app or saved.spec["app"], "dispatch",
                                                   meta={"label": saved.name}, job_id=report.run.sid)
        return sid_response(request, report.run.sid, params)

    async def history(self, request: Request, name: str, owner: str | None = None, app: str | None = None) -> Response:
        s = self.get(name, owner, request)
        base = str(request.base_url).rstrip("/")
        entries = []
        for r in self.states.runs(s.id, 1000):
            c = r.to_dict()
            c.pop("id", None)
            c.update(isDone=r.status != "running", isFailed=r.status == "failed", isScheduled=True)
            entries.append(entry(base, "search/jobs", r.sid, c, s.owner, s.spec["app"], s.spec["sharing"]))
        return feed(request, f"{SAVED}/{name}/history", entries)

    async def scheduled_times(self, request: Request, name: str, owner: str | None = None,
                              app: str | None = None) -> Response:
        params = dict(request.query_params)
        s = self.get(name, owner, request)
        now = self.rt.clock.time()
        start = to_epoch(params.get("earliest_time") or "now", now, self.tz) or now
        end = to_epoch(params.get("latest_time") or "+1h", now, self.tz) or now + 3600
        ticks = schedule_of(s, self.tz, now).ticks(start - 1, end, 10_000) if s.spec["cron_schedule"] else []
        content = {**self.content(s, now), "scheduled_times": [int(t) for t in ticks]}
        base = str(request.base_url).rstrip("/")
        return feed(request, SAVED, [entry(base, SAVED, s.name, content, s.owner, s.spec["app"], s.spec["sharing"])],
                    params)

    async def reschedule(self, request: Request, name: str, owner: str | None = None,
                         app: str | None = None) -> Response:
        params = await form(request)
        s = self.writable(request, name, owner)
        when = to_epoch(params.get("schedule_time") or "now", self.rt.clock.time(), self.tz)
        self.states.update_state(s.id, next_scheduled=when)
        return self.one(request, s, params)

    # -- suppression ------------------------------------------------------------------------
    async def suppress_get(self, request: Request, name: str, owner: str | None = None,
                           app: str | None = None) -> Response:
        s = self.get(name, owner, request)
        now = self.rt.clock.time()
        st = self.states.state(s.id)
        keys = self.states.throttle_keys(s.id, now)
        until = max([st.suppressed_until or 0] + [k["expires"] for k in keys])
        content = {"suppressed": until > now, "expiration": max(0, int(until - now)),
                   "suppressionKey": ",".join(k["key"] for k in keys if k["key"] != DIGEST_KEY)}
        base = str(request.base_url).rstrip("/")
        return feed(request, f"{SAVED}/{name}/suppress",
                    [entry(base, SAVED, s.name, content, s.owner, s.spec["app"], s.spec["sharing"])])

    async def suppress_post(self, request: Request, name: str, owner: str | None = None,
                            app: str | None = None) -> Response:
        params = await form(request)
        s = self.writable(request, name, owner)
        try:
            secs = int(params.get("expiration") or 0)
        except ValueError:
            raise InputError("expiration: give the number of seconds to suppress the alert (0 clears)") from None
        self.states.update_state(s.id, suppressed_until=self.rt.clock.time() + secs if secs > 0 else None)
        return await self.suppress_get(request, name, owner)

    async def acknowledge(self, request: Request, name: str, owner: str | None = None,
                          app: str | None = None) -> Response:
        s = self.writable(request, name, owner)
        self.states.clear_throttle(s.id)
        return self.one(request, s, await form(request))

    # -- fired alerts ---------------------------------------------------------------------
    async def fired_list(self, request: Request, owner: str | None = None, app: str | None = None) -> Response:
        counts: dict[str, int] = {}
        for f in self.states.fired(self.rt.clock.time()):
            counts[f.savedsearch_name] = counts.get(f.savedsearch_name, 0) + 1
        base = str(request.base_url).rstrip("/")
        entries = [entry(base, FIRED, n, {"savedsearch_name": n, "triggered_alert_count": c}) for n, c in
                   sorted(counts.items())]
        return feed(request, FIRED, entries)

    async def fired_show(self, request: Request, name: str, owner: str | None = None,
                         app: str | None = None) -> Response:
        base = str(request.base_url).rstrip("/")
        entries = []
        for f in self.states.fired(self.rt.clock.time(), name):
            c = {"savedsearch_name": f.savedsearch_name, "sid": f.sid, "trigger_time": int(f.trigger_time),
                 "trigger_time_rendered": _fmt(f.trigger_time, self.tz),
                 "expiration_time_rendered": _fmt(f.expiration_time, self.tz), "severity": f.severity,
                 "alert_type": f.alert_type, "digest_mode": f.digest_mode, "actions": ",".join(f.actions),
                 "triggered_alerts": f.triggered_alerts}
            entries.append(entry(base, FIRED, f.sid, c))
        return feed(request, f"{FIRED}/{name}", entries)

    async def fired_delete(self, request: Request, name: str, owner: str | None = None,
                           app: str | None = None) -> Response:
        n = self.states.delete_fired(name)
        if not n:
            fired = [f for f in self.states.fired(0.0) if f.sid == name]
            n = sum(self.states.delete_fired(f.savedsearch_name, f.sid) for f in fired)
        if not n:
            raise NotFoundError(f"no fired alert named '{name}' (a saved search name or a sid)")
        return feed(request, FIRED, [])


def install(app: FastAPI, runtime) -> None:
    """Add the routes (both prefixes, with and without a trailing slash) to the API."""
    h = SavedRest(runtime)
    router = APIRouter(route_class=SplunkRoute)
    read, write = [Depends(require(SEARCH))], [Depends(require(SCHEDULE_SEARCH))]
    routes = [
        (SAVED, "GET", h.list, read), (SAVED, "POST", h.create, write),
        (SAVED + "/{name}", "GET", h.show, read), (SAVED + "/{name}", "POST", h.update, write),
        (SAVED + "/{name}", "DELETE", h.delete, write),
        (SAVED + "/{name}/dispatch", "POST", h.dispatch, write),
        (SAVED + "/{name}/history", "GET", h.history, read),
        (SAVED + "/{name}/scheduled_times", "GET", h.scheduled_times, read),
        (SAVED + "/{name}/reschedule", "POST", h.reschedule, write),
        (SAVED + "/{name}/suppress", "GET", h.suppress_get, read),
        (SAVED + "/{name}/suppress", "POST", h.suppress_post, write),
        (SAVED + "/{name}/acknowledge", "POST", h.acknowledge, write),
        (FIRED, "GET", h.fired_list, read), (FIRED + "/{name}", "GET", h.fired_show, read),
        (FIRED + "/{name}", "DELETE", h.fired_delete, write),
    ]
    add_routes(router, routes)
    app.include_router(router)
