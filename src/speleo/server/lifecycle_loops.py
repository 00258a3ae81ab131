"""The server's data-lifecycle threads: retention and the licence record (docs/storage.md).

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

    if runtime.service.on_clickhouse:
        return clickhouse_retention_loop(runtime)
    lc = Lifecycle(runtime.writer.store, runtime.lifecycle_emit, runtime.clock)
    schedule = RetentionSchedule()
    while not runtime.stop_event.is_set():
        retention_tick(lc, schedule, runtime.clock.time())
        runtime.stop_event.wait(runtime.home.settings.retention_check_secs)


def clickhouse_retention_loop(runtime) -> None:
    """On a ClickHouse backend the engine enforces age retention (a TTL per table,
    docs/scale-out.md): at start and every `retention_check_secs`, each index's
    frozenTimePeriodInSecs is written to its table when it changed (`speleo index edit` through
    the server also applies it at once); each change is logged to `_internal`."""
    from speleo.query.clickhouse import retention_fields
    from speleo.storage import indexconf

    svc = runtime.service
    while not runtime.stop_event.is_set():
        for done in svc.backend.sync_retention(indexconf.load_all(runtime.home, svc.catalog)):
            lifecycle_emit(runtime, "retention_applied", retention_fields(done))
        runtime.stop_event.wait(runtime.home.settings.retention_check_secs)


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
