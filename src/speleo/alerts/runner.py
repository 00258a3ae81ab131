"""One run of a saved search: search, measure, decide, throttle, act, record.

`AlertRunner.run(saved, scheduled_time)` behaves as Splunk's scheduler does for a run whose
scheduled time is S (savedsearches.conf.spec, `allow_data_time_skew`): relative
`dispatch.earliest_time` / `dispatch.latest_time` are resolved against S, not against the
moment the job starts (a 01:30 run with -5m..now searches 01:25-01:30 even when it starts at
01:33), and the job's `now` is S. The trigger condition is evaluated on the final results
(speleo.alerts.conditions), compared with the previous successful run's measure kept in the
scheduler state. Failed runs do not change that previous value.

Digest mode triggers once per run; per-result mode once per result row, capped at
`max_per_result_alerts` (500) triggers and `max_per_result_alerts_time` (300 s) per run
(Splunk limits.conf [scheduler]), the truncation said in the run record.

Every run ends in one record (`alert_runs` in the ops DB, the `history` endpoint) and one
`_internal` event with sourcetype `scheduler` in Splunk's scheduler.log field names.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import itertools
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from speleo.alerts import conditions, throttle
from speleo.alerts.actions import ActionContext, ServerContext, get_action
from speleo.alerts.actions.execute import ActionPool
from speleo.alerts.spec import condition_search
from speleo.alerts.state import Run
from speleo.alerts.store import SavedSearch
from speleo.errors import SpeleoError

_seq = itertools.count(1)


@dataclass
class SearchOutput:
    """What the runner needs from a search: rows (at most a cap), the full count, field names."""

    rows: list[dict]
    total: int
    fields: list[str] = field(default_factory=list)
    table: Any = None          # the engine's result table (pyarrow.Table), kept for `| loadjob`
    kind: str = "results"      # "events" or "results"
    truncated: bool = False    # more rows existed than `rows`/`table` hold


@dataclass
class RunnerSettings:
    max_per_result_alerts: int = 500
    max_per_result_alerts_time_secs: float = 300.0
    max_result_rows: int = 10_000
    fired_result_rows: int = 10


@dataclass
class RunReport:
    """A finished run, with what it would have sent (for backtests and REST dispatch)."""

    run: Run
    triggers: list[list[dict]] = field(default_factory=list)
    actions: list[dict] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)


# The owner (user id) of the saved search being run, while `AlertRunner.run` runs it: the server's
# search function runs it with that user's roles (Splunk: a scheduled search runs as its owner).
RUN_OWNER: contextvars.ContextVar[int | None] = contextvars.ContextVar("speleo_alert_run_owner", default=None)


def make_sid(saved: SavedSearch, scheduled: float) -> str:
    """A URL-safe search id in the shape of Splunk's scheduler sids."""
    return f"scheduler__{saved.id}_at_{int(scheduled)}_{next(_seq)}"


class AlertRunner:
    """Runs saved searches. `search(query, earliest, latest, now) -> SearchOutput`;
    `emit(fields)` writes an `_internal` scheduler event; `states`: a StateStore (or the
    in-memory one of a backtest)."""

    def __init__(self, search: Callable[..., SearchOutput], states, clock, tz: dt.tzinfo, server: ServerContext,
                 emit: Callable[[str, dict], None] | None = None, settings: RunnerSettings | None = None,
                 pool: ActionPool | None = None, artifacts=None) -> None:
        self.search = search
        self.states = states
        self.clock = clock
        self.tz = tz
        self.server = server
        self.emit = emit or (lambda sourcetype, fields: None)
        self.settings = settings or RunnerSettings()
        self.pool = pool or ActionPool()
        self.artifacts = artifacts   # speleo.alerts.artifacts.Artifacts: results kept for | loadjob (None: not kept)

    # -- the run ------------------------------------------------------------------------
    def run(self, saved: SavedSearch, scheduled: float, *, trigger_actions: bool = True, run_id: int | None = None,
            sid: str | None = None, update_state: bool = True) -> RunReport:
        """Run `saved` as its scheduled run at `scheduled` (epoch s). Never raises for a search
        or action failure: the run record says what failed."""
        spec = saved.spec
        run = Run(saved.id, saved.name, sid or make_sid(saved, scheduled), scheduled, self.clock.time(), id=run_id)
        report = RunReport(run)
        t0 = time.monotonic()
        state_update: dict[str, Any] = {}
        owner = RUN_OWNER.set(saved.owner_id)
        try:
            out = self._search(spec, spec["search"], scheduled)
            run.result_count = out.total
            self._decide(saved, out, scheduled, report, state_update, trigger_actions)
            run.status = "success"
            if update_state:
                self._keep(saved, run, out, scheduled, report)
        except SpeleoError as e:
            run.status, run.reason = "failed", f"the search failed: {e}"
        except Exception as e:  # a bug must not stop the scheduler; the record says what happened
            run.status, run.reason = "failed", f"{type(e).__name__}: {e}"
        finally:
            RUN_OWNER.reset(owner)
        run.run_time = round(time.monotonic() - t0, 3)
        if run.status != "success":  # a failed run never becomes the previous value
            state_update.pop("prev_value", None)
            state_update.pop("prev_scheduled", None)
        state_update.update(last_scheduled=scheduled, last_status=run.status)
        if report.messages:
            run.reason = "; ".join(filter(None, [run.reason, *report.messages]))
        self.states.finish_run(run, state_update if update_state else None)
        self._log(saved, report)
        return report

    def _keep(self, saved: SavedSearch, run: Run, out: SearchOutput, scheduled: float, report: RunReport) -> None:
        """Keep the run's results for `| loadjob` (speleo.alerts.artifacts), for `dispatch.ttl`.
        A disk that refuses is said in the run's record; the run still succeeded."""
        if self.artifacts is None or out.table is None:
            return
        from speleo.alerts.artifacts import ttl_secs
        from speleo.alerts.cron import Schedule

        spec = saved.spec
        try:
            period = Schedule.parse(spec["cron_schedule"], self.tz).period(scheduled) \
                if spec["cron_schedule"] else 3600.0
        except (SpeleoError, ValueError):
            period = 3600.0
        info = {"saved_created": saved.created, "label": saved.name, "owner": saved.owner, "app": spec["app"] or "search", "search": spec["search"],
                "kind": out.kind, "scheduled": scheduled, "total": out.total, "truncated": out.truncated}
        try:
            self.artifacts.keep(saved.id, run.sid, out.table, info, ttl_secs(spec["dispatch.ttl"], period))
        except (OSError, ValueError) as e:
            report.messages.append(f"results not kept for loadjob: {e}")

    def bounds(self, spec, scheduled: float) -> tuple[float | None, float | None]:
        """(earliest, latest) epoch seconds of a run scheduled at `scheduled`."""
        from speleo.query.timefmt import to_epoch

        earliest = to_epoch(spec["dispatch.earliest_time"] or None, scheduled, self.tz)
        latest = to_epoch(spec["dispatch.latest_time"] or "now", scheduled, self.tz)
        return earliest, latest

    def _search(self, spec, query: str, scheduled: float) -> SearchOutput:
        earliest, latest = self.bounds(spec, scheduled)
        return self.search(query, earliest, latest, scheduled)

    def _decide(self, saved: SavedSearch, out: SearchOutput, scheduled: float, report: RunReport,
                state_update: dict, trigger_actions: bool) -> None:
        spec, run = saved.spec, report.run
        prev = self.states.state(saved.id)
        rows = out.rows
        cond_rows = None
        if spec.attrs.get("rule.type"):
            rows = self._rule_matches(spec, out.rows, scheduled)
            cond_rows, value = len(rows), None
        elif str(spec["alert_condition"]).strip():
            cond = self._search(spec, condition_search(spec["search"], spec["alert_condition"]), scheduled)
            cond_rows, rows = cond.total, cond.rows
            value = None
        else:
            value = conditions.measure(spec["alert_type"], out.rows, out.total)
        outcome = conditions.evaluate(spec["alert_type"], spec["alert_comparator"], spec.threshold, value,
                                      prev.prev_value, cond_rows)
        run.measured = value
        report.messages.append(outcome.reason)
        if value is not None:
            state_update.update(prev_value=value, prev_scheduled=scheduled)
        if not outcome.triggered:
            return
        run.triggered = 1
        triggers = self._triggers(spec, rows, report)
        if not trigger_actions:  # evaluated and recorded; nothing sent, throttled or listed
            report.triggers = triggers
            return
        now = self.clock.time()
        candidates = rows if spec.digest else [r for t in triggers for r in t]
        kept = throttle.apply(spec, saved.id, saved.owner_id, candidates, self.states, now, prev.suppressed_until)
        if kept.suppressed:
            run.suppressed = kept.suppressed
            report.messages.append(kept.reason)
        if spec.digest:
            triggers = [] if kept.suppressed else [kept.rows]
        else:
            triggers = [[r] for r in kept.rows]
        report.triggers = triggers
        if triggers:
            self._act(saved, triggers, out, report, scheduled, now)
            self._record_fired(saved, triggers, out, run, now)

    def _rule_matches(self, spec, rows: list[dict], scheduled: float) -> list[dict]:
        from speleo.alerts.cron import Schedule
        from speleo.alerts.rules.evaluate import evaluate_rule, options

        period = Schedule.parse(spec["cron_schedule"], self.tz).period(scheduled) if spec["cron_schedule"] else 3600.0
        earliest = self.bounds(spec, scheduled)[0]
        return evaluate_rule(spec.attrs["rule.type"], options(spec.attrs), rows, scheduled, earliest, period)

    def _triggers(self, spec, rows: list[dict], report: RunReport) -> list[list[dict]]:
        if spec.digest:
            return [rows]
        cap = self.settings.max_per_result_alerts
        if len(rows) > cap:
            report.messages.append(f"per-result alerts truncated: {len(rows)} results, at most "
                                   f"max_per_result_alerts = {cap} triggers per run")
            rows = rows[:cap]
        return [[r] for r in rows]

    # -- actions and fired alerts -------------------------------------------------------
    def _act(self, saved: SavedSearch, triggers: list[list[dict]], out: SearchOutput, report: RunReport,
             scheduled: float, now: float) -> None:
        spec = saved.spec
        names = list(spec.actions)
        if not names:
            return
        deadline = time.monotonic() + self.settings.max_per_result_alerts_time_secs
        job = {"sid": report.run.sid, "resultCount": out.total, "search": spec["search"],
               "earliestTime": spec["dispatch.earliest_time"], "latestTime": spec["dispatch.latest_time"] or "now",
               "scheduledTime": scheduled}
        job["earliest"], job["latest"] = self.bounds(spec, scheduled)
        for n, rows in enumerate(triggers):
            if not spec.digest and time.monotonic() > deadline:
                report.messages.append(f"per-result alerts stopped after {n} triggers: max_per_result_alerts_time "
                                       f"({self.settings.max_per_result_alerts_time_secs:g} s) reached")
                break

            def make(name: str, rows=rows) -> ActionContext:
                return self.context(saved, name, rows, out.fields, job, now)

            report.actions.extend(self.pool.run(names, make))
        report.run.alert_actions = ",".join(names)
        if out.truncated:   # the actions (a summary index above all) got part of the results: say so
            report.messages.append(
                f"the actions got the first {len(out.rows):,} of the run's {out.total:,} results (the rows a scheduled "
                "run keeps); a summary index written from them is short: end the search with "
                "| collect index=<summary> to write every result")
        failed = [a for a in report.actions if a["status"] != "success"]
        if failed:
            report.messages.append("; ".join(f"action {a['action']} failed: {a['reason']}" for a in failed[:5]))

    def context(self, saved: SavedSearch, name: str, rows: list[dict], fields: list[str], job: dict,
                now: float) -> ActionContext:
        spec = saved.spec
        action = get_action(name)
        params = dict(action.defaults) if action else {}
        if name == "email":
            params.update(self.server.email_defaults)
        params.update(spec.actions.get(name, {}))
        return ActionContext(saved.name, spec.attrs, saved.owner, params, rows, rows[0] if rows else {}, job, now,
                             self.server, fields)

    def _record_fired(self, saved: SavedSearch, triggers, out: SearchOutput, run: Run, now: float) -> None:
        spec = saved.spec
        if not spec.tracked():
            return
        count = sum(len(t) for t in triggers) if not spec.digest else out.total
        first = [r for t in triggers for r in t][: self.settings.fired_result_rows]
        self.states.add_fired(saved.id, saved.name, saved.owner_id, run.sid, now, now + spec.expires_secs(),
                              int(spec["alert.severity"]), bool(spec.digest), list(spec.actions),
                              count, first)

    # -- the record ---------------------------------------------------------------------
    def _log(self, saved: SavedSearch, report: RunReport) -> None:
        run = report.run
        spec = saved.spec
        self.emit("scheduler", {
            "savedsearch_name": saved.name, "app": spec["app"], "user": saved.owner, "sid": run.sid,
            "search_type": "scheduled", "status": run.status, "reason": run.reason or "",
            "scheduled_time": int(run.scheduled_time), "dispatch_time": int(run.dispatch_time or 0),
            "run_time": run.run_time if run.run_time is not None else "", "result_count": run.result_count or 0,
            "alert_actions": run.alert_actions or "", "triggered": run.triggered, "suppressed": run.suppressed,
            "measured": "" if run.measured is None else run.measured,
        })
        for a in report.actions:
            self.emit("alert_actions", {"action_name": a["action"], "sid": run.sid, "search_name": saved.name,
                                        "action_status": a["status"], "reason": a.get("reason", "")})

    def skipped_many(self, saved: SavedSearch, items: list[tuple[float, str]], next_scheduled: float | None) -> None:
        """Record several skipped ticks ((scheduled, reason), in order) in one transaction when
        the state store can (`finish_runs`); the last one stores `next_scheduled`."""
        runs = [Run(saved.id, saved.name, make_sid(saved, t), t, None, None, "skipped", why) for t, why in items]
        states = [{"last_status": "skipped"} for _ in runs]
        if next_scheduled is not None:
            states[-1]["next_scheduled"] = next_scheduled
        if hasattr(self.states, "finish_runs"):
            self.states.finish_runs(list(zip(runs, states)))
        else:
            for run, st in zip(runs, states):
                self.states.finish_run(run, st)
        for run in runs:
            self._log(saved, RunReport(run))

    def skipped(self, saved: SavedSearch, scheduled: float, reason: str, status: str = "skipped",
                next_scheduled: float | None = None) -> Run:
        """Record a run that did not happen (skipped), with the reason."""
        run = Run(saved.id, saved.name, make_sid(saved, scheduled), scheduled, None, None, status, reason)
        state = {"last_status": status}
        if next_scheduled is not None:
            state["next_scheduled"] = next_scheduled
        self.states.finish_run(run, state)
        self._log(saved, RunReport(run))
        return run

