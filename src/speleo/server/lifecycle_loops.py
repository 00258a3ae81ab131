"""The server's data-lifecycle threads: retention, the licence record (docs/storage.md) and data
model acceleration summaries (query.acceleration).

Both run under `Runtime._guard` (an exception is kept in `loop_errors` and the loop goes on) and
stop with the runtime's stop event. Time comes from `runtime.clock`.
"""

from __future__ import annotations


def lifecycle_emit(runtime, event: str, fields: dict) -> None:
    """A bucket lifecycle event (rolled, archived, thawed, deleted...) into `_internal`."""
    runtime.internal.emit("_internal", "lifecycle", {"event": event, **fields}, component="BucketMover")


def retention_loop(runtime) -> None:
    """Retention (`storage.lifecycle`), checked every `retention_check_secs` (Splunk's
    rotatePeriodInSecs); re-planned only when buckets or settings changed or an age deadline passed."""
    from speleo.storage.lifecycle import Lifecycle, RetentionSchedule, retention_tick

    lc = Lifecycle(runtime.writer.store, runtime.lifecycle_emit, runtime.clock)
    schedule = RetentionSchedule()
    applied = None
    while not runtime.stop_event.is_set():
        if runtime.service.on_clickhouse:
            applied = clickhouse_retention(runtime, applied)
            clickhouse_days(runtime)
        retention_tick(lc, schedule, runtime.clock.time())
        runtime.stop_event.wait(runtime.home.settings.retention_check_secs)


def clickhouse_retention(runtime, applied: str | None) -> str:
    """On the ClickHouse backend, retention is each table's TTL (docs/scale-out.md): when the
    index settings changed since `applied` (by the API, or by `speleo index edit` writing the
    catalog beside the server), set the tables' TTLs again and note it in `_internal`.
    Returns the settings' fingerprint now applied."""
    from speleo.storage import indexconf

    now = repr(sorted(indexconf.load_all(runtime.home, runtime.service.catalog).items()))
    if now != applied:
        try:
            done = runtime.service.sync_backend_indexes()
        except Exception as e:   # ClickHouse unreachable: tried again at the next check
            runtime.errors["clickhouse-retention"] = f"{type(e).__name__}: {e}"
            return applied
        runtime.errors.pop("clickhouse-retention", None)
        for row in done:
            lifecycle_emit(runtime, "retention_applied", row)
    return now


def clickhouse_days(runtime) -> None:
    """On the ClickHouse backend: freeze the day partitions past their index's age, size or
    volume limit, archiving first where `coldToFrozenDir` says (storage.clickhouse.lifecycle).
    A failure is kept in `errors` and retried at the next check."""
    try:
        svc = runtime.service
        report = svc.backend.lifecycle(svc.home, svc.catalog, runtime.lifecycle_emit, runtime.clock).run_retention()
    except Exception as e:   # ClickHouse unreachable: tried again at the next check
        runtime.errors["clickhouse-lifecycle"] = f"{type(e).__name__}: {e}"
        return
    if report.failures:
        runtime.errors["clickhouse-lifecycle"] = report.failures[-1]["error"]
    else:
        runtime.errors.pop("clickhouse-lifecycle", None)


def license_loop(runtime) -> None:
    """Usage (and RolloverSummary) events every `license_report_secs`, and the budget warning."""
    from speleo.storage import license

    settings, cat = runtime.home.settings, runtime.service.catalog
    home_id = license.home_id(cat)

    def emit(rows, meta) -> None:
        runtime.internal.emit_many("_internal", "splunkd", rows, source="license_usage.log",
                                   component="LicenseUsage", meta=meta)

    while not runtime.stop_event.wait(settings.license_report_secs):
        now = runtime.clock.time()
        day = license.license_day(now, settings.default_tz)
        license.report(runtime.writer.store, cat, home_id, emit, settings.license_squash_threshold, day)
        warning = license.check_budget(cat, day, now)
        if warning is not None:
            runtime.internal.emit("_internal", "splunkd", warning, source="license_usage.log",
                                  component="LicenseUsage", level="WARN")


def acceleration_loop(runtime) -> None:
    """Keep the summaries of accelerated data models in step with the buckets
    (query.acceleration.build), a few buckets at a time so that a stop is quick; looks again
    every `acceleration_check_secs`, at once while work is pending. Each pass that built or
    removed summaries, or met a failure not noted before, is noted in `_internal` (component
    DataModelAcceleration); the last failures stay in `errors` until a pass builds without one. Not on the ClickHouse backend (its events
    are not in buckets here)."""
    from speleo.query import acceleration

    svc, settings = runtime.service, runtime.home.settings
    said: set = set()   # failures already noted: one that recurs (retried every 5 minutes) is noted once
    while not runtime.stop_event.is_set():
        if svc.on_clickhouse:
            runtime.stop_event.wait(settings.acceleration_check_secs)
            continue
        report = acceleration.build(runtime.home, svc.catalog, props=svc.props(), now=runtime.clock.time(),
                                    limit=4, should_stop=runtime.stop_event.is_set)
        new_failures = set(report.failed) - said
        said = set(report.failed) if len(said) > 1000 else said | set(report.failed)
        if report.built or report.removed or new_failures:
            runtime.internal.emit("_internal", "splunkd", {"event": "summaries", **report.as_dict()},
                                  component="DataModelAcceleration", level="WARN" if report.failed else "INFO")
        if report.failed:
            runtime.errors["acceleration"] = "; ".join(f"{k}: {v}" for k, v in list(report.failed.items())[:3])
        elif report.built:   # (a pass between retries has nothing to say either way)
            runtime.errors.pop("acceleration", None)
        more = report.pending > 0 and report.built > 0   # more to build, and building works: at once
        runtime.stop_event.wait(0.05 if more else settings.acceleration_check_secs)
