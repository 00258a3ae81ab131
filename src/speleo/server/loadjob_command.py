"""`| loadjob` on the server: the search's job reads made as the searcher.

`bind(compiled, who)`, called by the search guard (`speleo.server.access.search_guard`, which
every search of the server goes through), gives each `loadjob` step (spl/commands/loadjob.py) a
`load` bound to the searcher `who`. It answers `(table, messages)` from:
- `savedsearch="<user>:<app>:<name>"`: the saved search named so (of that owner; `-` or
  `nobody` for any owner: the one `who` may see, other users' private ones neither read nor
  named), when `who` may see it (`rest_saved.visible_to`: Splunk's sharing, a
  private one only by its owner or a holder of `edit_saved_searches`), then its newest kept
  scheduled run (`artifact_offset` older ones) from `speleo.alerts.artifacts`. A shared saved
  search's results are readable by every searcher as Splunk's scheduled reports are: the run
  was made as its owner, with the owner's indexes;
- a sid of a scheduled run (`scheduler__<id>_at_...`): the same, for that run;
- any other sid: a web or REST job of `who` (`speleo.web.jobs`: a job is found only by its
  viewers), finished; its kept result table, else its answer's rows.

A job or saved search `who` may not see is answered as one that does not exist.
"""

from __future__ import annotations

import pyarrow as pa

from speleo.errors import ConflictError, InputError, NotFoundError
from speleo.server.rest_command import bind_steps


def bind(compiled, who) -> None:
    """Bind every `| loadjob` step of `compiled` to the searcher `who` (a `Principal`), over the
    app `rest_command.install` was given. Unbound steps are refused when they run."""
    bind_steps(compiled, "loadjob", "load", load, who)


def load(app, who, step: dict) -> tuple[pa.Table, list[str]]:
    """The step's table and messages for the searcher. Raises NotFoundError (no such job or run
    the searcher may read), InputError (events=true of results), ConflictError (a running job)."""
    from speleo.alerts.artifacts import Artifacts, belongs

    runtime = app.state.runtime
    artifacts = Artifacts.for_home(runtime.home, runtime.clock.time)
    if step.get("savedsearch"):
        return _saved(runtime, artifacts, who, step)
    sid = step["sid"]
    info = artifacts.find(sid)
    if info is not None:
        saved = runtime.scheduler.store.by_id(info["saved_id"])
        if saved is not None and belongs(info, saved.created) and _visible(who, saved):
            return _artifact(artifacts, info, step)
    return _job(app, who, step)


def _visible(who, saved) -> bool:
    from speleo.server.rest_saved import visible_to

    return visible_to(who, saved)


def _saved(runtime, artifacts, who, step: dict) -> tuple[pa.Table, list[str]]:
    from speleo.alerts.store import NOBODY

    user, app_name, name = step["savedsearch"]
    store = runtime.scheduler.store
    wanted = f"savedsearch=\"{user}:{app_name}:{name}\""
    unseen = NotFoundError(f"loadjob {wanted}: no saved search {name!r} of {user!r} that you may read")
    if user in ("-", NOBODY):   # any owner: among those the searcher may see only (a private one is not named)
        seen = [s for s in store.named(name) if _visible(who, s)]
        if not seen:
            raise unseen
        if len(seen) > 1:
            raise InputError(f"loadjob {wanted}: several owners have a saved search named {name!r} "
                             f"({', '.join(s.owner for s in seen)}); name the owner, e.g. "
                             f"savedsearch=\"{seen[0].owner}:{app_name}:{name}\"")
        saved = seen[0]
    else:
        try:
            saved = store.get(name, store.owner_id(user))
        except NotFoundError:
            raise unseen from None
        if not _visible(who, saved):
            raise unseen
    if app_name not in ("-", "*") and str(saved.spec["app"] or "search") != app_name:
        raise NotFoundError(f"loadjob {wanted}: the saved search {name!r} is in the app "
                            f"{saved.spec['app'] or 'search'!r}, not {app_name!r}")
    info = artifacts.newest(saved.id, int(step.get("offset") or 0), born=saved.created)
    if info is None:
        kept = artifacts.count(saved.id, born=saved.created)
        if kept:
            raise NotFoundError(f"loadjob {wanted} artifact_offset={step['offset']}: {kept} run(s) of it are kept "
                                f"(artifact_offset=0 to {kept - 1})")
        raise NotFoundError(f"loadjob {wanted}: no finished scheduled run of it is kept; results are kept for "
                            "dispatch.ttl (default twice its schedule's period) once a scheduled run succeeds. "
                            "Schedule it (cron_schedule, is_scheduled=1) or run it with | savedsearch")
    return _artifact(artifacts, info, step)


def _artifact(artifacts, info: dict, step: dict) -> tuple[pa.Table, list[str]]:
    if step.get("events") and info.get("kind") != "events":
        raise InputError(f"loadjob events=true: the run {info['sid']} of {info.get('label')!r} is a transforming "
                         "search; only its results are kept (leave events= out)")
    try:
        table = artifacts.table(info)
    except (OSError, pa.ArrowInvalid) as e:
        raise NotFoundError(f"loadjob: the kept results of {info['sid']} cannot be read ({e}); "
                            "the next scheduled run keeps new ones") from None
    said = []
    if info.get("truncated"):
        said.append(f"loadjob: the run {info['sid']} kept {info.get('rows', table.num_rows):,} of its "
                    f"{info.get('total', 0):,} results")
    return _hidden_out(table), said


def _job(app, who, step: dict) -> tuple[pa.Table, list[str]]:
    sid = step["sid"]
    jobs = getattr(app.state, "web_jobs", None)
    if jobs is None:
        raise NotFoundError(f"loadjob {sid}: no search job with that id")
    try:
        job = jobs.get(who.user_id, sid)
    except NotFoundError:
        raise NotFoundError(f"loadjob {sid}: no search job or scheduled run with that id that you may read "
                            "(jobs are kept for their ttl; scheduled runs for dispatch.ttl)") from None
    if job.state != "done":
        raise ConflictError(f"loadjob {sid}: the job is {job.state}; loadjob reads finished jobs only")
    result = job.result
    if result is not None:
        kind, table, truncated, total = result.kind, result.table, result.truncated, result.total
    elif job.body is not None:
        from speleo.query.jobrows import body_table

        kind = job.body["kind"]
        rows = job.body.get("events" if kind == "events" else "results") or []
        table, truncated, total = body_table(rows, job.body.get("fields") or []), job.body.get("truncated"), job.total
    else:
        raise NotFoundError(f"loadjob {sid}: the job keeps no results")
    if step.get("events") and kind != "events":
        raise InputError(f"loadjob events=true: the job {sid} is a transforming search; only its results are kept "
                         "(leave events= out)")
    said = [f"loadjob: the job {sid} kept {table.num_rows:,} of its {total or 0:,} results"] if truncated else []
    return _hidden_out(table), said


def _hidden_out(table: pa.Table) -> pa.Table:
    """Drop Speleo's internal ordering columns a kept table may hold."""
    drop = [n for n in table.column_names if n.startswith("__speleo")]
    return table.drop_columns(drop) if drop else table
