"""The scheduler over virtual time: cron ticks and time ranges, rises-by, skipped vs continuous,
restarts (catch-up, lookback, schedule window), DST, run_on_startup, interrupted runs."""

from __future__ import annotations

import threading

from tests.alerts.harness import Harness, epoch


def test_cron_over_days_runs_every_tick_with_its_own_range(tmp_path):
    h = Harness(tmp_path / "h", epoch("2026-03-01T00:00:30"))
    h.save("five", cron_schedule="0 */2 * * *", is_scheduled="1", **{"dispatch.earliest_time": "-2h",
                                                                      "dispatch.latest_time": "now"})
    h.walk(epoch("2026-03-01T00:00:30"), epoch("2026-03-04T00:00:30"), 1800)
    runs = h.runs("five")
    expected = [epoch("2026-03-01T02:00:00") + 7200 * i for i in range(36)]
    assert [r.scheduled_time for r in runs] == expected
    assert {r.status for r in runs} == {"success"}
    assert [(c["earliest"], c["latest"], c["now"]) for c in h.calls] == [(s - 7200, s, s) for s in expected]
    ev = h.scheduler_events("five")
    assert len(ev) == 36 and ev[0]["scheduled_time"] == int(expected[0]) and ev[0]["status"] == "success"


def test_late_dispatch_keeps_the_scheduled_range(tmp_path):
    """Spec §1.12 check 1: scheduled 10:05:00, started 10:05:40 -> range [10:00, 10:05)."""
    h = Harness(tmp_path / "h", epoch("2026-03-01T10:01:00"))
    h.save("late", cron_schedule="*/5 * * * *", is_scheduled="1", **{"dispatch.earliest_time": "-5m"})
    h.at(epoch("2026-03-01T10:01:00"))
    h.at(epoch("2026-03-01T10:05:40"))
    assert (h.calls[0]["earliest"], h.calls[0]["latest"]) == (epoch("2026-03-01T10:00:00"), epoch("2026-03-01T10:05:00"))
    run = h.runs("late")[0]
    assert run.dispatch_time == epoch("2026-03-01T10:05:40") and run.scheduled_time == epoch("2026-03-01T10:05:00")


def test_rises_by_fires_on_the_third_run_and_an_edit_resets(tmp_path):
    h = Harness(tmp_path / "h", epoch("2026-03-01T00:00:30"))
    h.rows["r"] = [[{}] * 5, [{}] * 14, [{}] * 24, [{}] * 100]
    h.save("r", cron_schedule="* * * * *", is_scheduled="1", counttype="number of events", relation="rises by",
           quantity="10")
    h.walk(epoch("2026-03-01T00:00:30"), epoch("2026-03-01T00:03:30"))
    assert [r.triggered for r in h.runs("r")] == [0, 0, 1]
    assert "no previous run" in h.runs("r")[0].reason
    h.store.save(0, "r", {"search": "index=main name=r sourcetype=edited"}, merge=True)   # an edit of the search
    h.rows["r"] = [[{}] * 100]
    h.at(epoch("2026-03-01T00:04:30"))
    last = h.runs("r")[-1]
    assert last.triggered == 0 and "no previous run" in last.reason


def test_percentage_with_zero_previous_value_says_why(tmp_path):
    h = Harness(tmp_path / "h", epoch("2026-03-01T00:00:30"))
    h.rows["z"] = [[], []]
    h.save("z", cron_schedule="* * * * *", is_scheduled="1", counttype="number of events", relation="drops by",
           quantity="50%")
    h.walk(epoch("2026-03-01T00:00:30"), epoch("2026-03-01T00:02:30"))
    second = h.runs("z")[1]
    assert second.triggered == 0 and "previous run measured 0" in second.reason


def _blocking(h: Harness, realtime: str):
    h.gate = threading.Event()
    h.save("block", search="index=main name=block block", cron_schedule="*/5 * * * *", is_scheduled="1",
           realtime_schedule=realtime)
    h.at(epoch("2026-03-01T09:59:00"))
    h.clock.set(epoch("2026-03-01T10:00:00"))
    h.sched.tick()                       # 10:00 starts and blocks
    h.clock.set(epoch("2026-03-01T10:05:00"))
    h.sched.tick()                       # 10:05: the 10:00 run is still running


def test_realtime_schedule_skips_a_run_while_the_previous_still_runs(tmp_path):
    """Spec §1.12 check 11 (realtime_schedule = 1)."""
    h = Harness(tmp_path / "h", epoch("2026-03-01T09:59:00"))
    _blocking(h, "1")
    h.gate.set()
    h.sched.wait_idle()
    runs = h.runs("block")
    assert [(r.scheduled_time, r.status) for r in runs] == [(epoch("2026-03-01T10:00:00"), "success"),
                                                            (epoch("2026-03-01T10:05:00"), "skipped")]
    assert "max_concurrent (1)" in runs[1].reason
    assert [e["status"] for e in h.scheduler_events("block")] == ["skipped", "success"]


def test_continuous_schedule_runs_late_with_its_own_range(tmp_path):
    h = Harness(tmp_path / "h", epoch("2026-03-01T09:59:00"))
    _blocking(h, "0")
    h.gate.set()
    h.sched.wait_idle()
    h.at(epoch("2026-03-01T10:05:10"))
    runs = h.runs("block")
    assert [(r.scheduled_time, r.status) for r in runs] == [(epoch("2026-03-01T10:00:00"), "success"),
                                                            (epoch("2026-03-01T10:05:00"), "success")]
    assert h.calls[-1]["latest"] == epoch("2026-03-01T10:05:00")


def test_restart_continuous_catches_up_in_order_realtime_skips(tmp_path):
    """Spec §1.12 check 12: hourly, down 02:00-05:30."""
    h = Harness(tmp_path / "h", epoch("2026-03-01T01:30:00"))
    h.save("css", cron_schedule="0 * * * *", is_scheduled="1", realtime_schedule="0")
    h.save("rts", cron_schedule="0 * * * *", is_scheduled="1")
    h.walk(epoch("2026-03-01T01:30:00"), epoch("2026-03-01T01:59:00"))
    h.sched.stop()
    h.clock.set(epoch("2026-03-01T05:30:00"))
    h.new_scheduler()
    h.at(epoch("2026-03-01T05:30:00"))
    css = [(r.scheduled_time, r.status) for r in h.runs("css")]
    assert css == [(epoch(f"2026-03-01T0{k}:00:00"), "success") for k in (2, 3, 4, 5)]
    rts = h.runs("rts")
    assert [(r.scheduled_time, r.status) for r in rts] == [(epoch(f"2026-03-01T0{k}:00:00"), "skipped")
                                                           for k in (2, 3, 4, 5)]
    assert all("not running" in r.reason for r in rts)
    h.at(epoch("2026-03-01T06:00:00"))
    assert h.runs("rts")[-1].status == "success"


def test_restart_continuous_lookback(tmp_path):
    h = Harness(tmp_path / "h", epoch("2026-03-01T00:30:00"), lookback=24 * 3600)
    h.save("css", cron_schedule="0 * * * *", is_scheduled="1", realtime_schedule="0")
    h.at(epoch("2026-03-01T00:30:00"))
    h.new_scheduler()
    h.at(epoch("2026-03-02T06:30:00"))  # down 30 h
    runs = h.runs("css")
    ok = [r.scheduled_time for r in runs if r.status == "success"]
    assert ok == [epoch("2026-03-01T07:00:00") + 3600 * k for k in range(24)]
    skipped = [r for r in runs if r.status == "skipped"]
    assert len(skipped) == 6 and all("lookback exceeded" in r.reason for r in skipped)


def test_restart_inside_the_schedule_window_still_runs(tmp_path):
    h = Harness(tmp_path / "h", epoch("2026-03-01T02:50:00"))
    h.save("win", cron_schedule="0 * * * *", is_scheduled="1", schedule_window="30")
    h.save("nowin", cron_schedule="0 * * * *", is_scheduled="1")
    h.at(epoch("2026-03-01T02:50:00"))
    h.new_scheduler()
    h.at(epoch("2026-03-01T03:10:00"))
    assert [(r.scheduled_time, r.status) for r in h.runs("win")] == [(epoch("2026-03-01T03:00:00"), "success")]
    assert [r.status for r in h.runs("nowin")] == ["skipped"]


def test_dst_in_the_server_zone(tmp_path):
    tz = "Europe/Paris"
    h = Harness(tmp_path / "h", epoch("2026-03-28T12:00:00", tz), tz=tz)
    h.save("daily", cron_schedule="30 2 * * *", is_scheduled="1")
    h.save("hourly", cron_schedule="0 * * * *", is_scheduled="1")
    h.walk(epoch("2026-03-28T12:00:00", tz), epoch("2026-03-30T12:00:00", tz), 900)
    daily = [r.scheduled_time for r in h.runs("daily")]
    # 2026-03-29 02:30 does not exist in Paris: the run happens at 03:00 CEST
    assert daily == [epoch("2026-03-29T03:00:00", tz), epoch("2026-03-30T02:30:00", tz)]
    hourly = [r.scheduled_time for r in h.runs("hourly")]
    assert len(hourly) == 12 + 23 + 12  # the short day has 23 hours
    h2 = Harness(tmp_path / "h2", epoch("2026-10-24T12:00:00", tz), tz=tz)
    h2.save("daily", cron_schedule="30 2 * * *", is_scheduled="1")
    h2.save("hourly", cron_schedule="0 * * * *", is_scheduled="1")
    h2.walk(epoch("2026-10-24T12:00:00", tz), epoch("2026-10-26T12:00:00", tz), 900)
    fall = [r.scheduled_time for r in h2.runs("daily")]
    first_0230 = epoch("2026-10-25T00:30:00", "UTC")  # 02:30 CEST, the first of the two 02:30s
    assert fall == [first_0230, epoch("2026-10-26T02:30:00", tz)]
    assert len(h2.runs("hourly")) == 12 + 25 + 12  # the long day has 25 hours


def test_run_on_startup_and_interrupted_runs(tmp_path):
    h = Harness(tmp_path / "h", epoch("2026-03-01T10:00:30"))
    s = h.save("boot", cron_schedule="0 * * * *", is_scheduled="1", run_on_startup="1", realtime_schedule="0")
    h.at(epoch("2026-03-01T10:00:30"))
    assert [r.scheduled_time for r in h.runs("boot")] == [epoch("2026-03-01T10:00:30")]
    # a run left `running` by a killed process
    from speleo.alerts.state import Run
    h.states.start_run(Run(s.id, "boot", "sid-dead", epoch("2026-03-01T11:00:00"), epoch("2026-03-01T11:00:00")),
                       epoch("2026-03-01T12:00:00"))
    h.new_scheduler()
    h.at(epoch("2026-03-01T11:20:00"))
    runs = h.runs("boot")
    dead = [r for r in runs if r.sid == "sid-dead"][0]
    assert dead.status == "failed" and "stopped during the run" in dead.reason
    again = [r for r in runs if r.scheduled_time == epoch("2026-03-01T11:00:00") and r.status == "success"]
    assert len(again) == 1


def test_a_failed_run_does_not_become_the_previous_value(tmp_path):
    h = Harness(tmp_path / "h", epoch("2026-03-01T00:00:30"))
    h.rows["f"] = [[{}] * 5, [{}] * 30, [{}] * 40]
    h.save("f", cron_schedule="* * * * *", is_scheduled="1", counttype="number of events", relation="rises by",
           quantity="20", **{"alert.track": "1"})
    real = h.states.add_fired

    def broken(*a, **kw):   # the second run fails after it measured 30 (recording the fired alert)
        raise OSError("disk full")

    h.states.add_fired = broken
    h.walk(epoch("2026-03-01T00:00:30"), epoch("2026-03-01T00:02:30"))
    h.states.add_fired = real
    h.at(epoch("2026-03-01T00:03:30"))
    runs = h.runs("f")
    assert [r.status for r in runs] == ["success", "failed", "success"]
    assert "disk full" in runs[1].reason
    # 40 is compared with 5 (the last successful run), not with the failed run's 30
    assert runs[2].triggered == 1 and "(previous 5)" in runs[2].reason


def test_allow_skew_spreads_searches_within_the_period_and_is_stable(tmp_path):
    h = Harness(tmp_path / "h", epoch("2026-03-01T00:00:30"))
    for i in range(5):
        h.save(f"s{i}", cron_schedule="*/10 * * * *", is_scheduled="1", allow_skew="100%")
    h.save("plain", cron_schedule="*/10 * * * *", is_scheduled="1")
    h.walk(epoch("2026-03-01T00:00:30"), epoch("2026-03-01T00:30:30"), 20)
    offsets = {}
    for i in range(5):
        runs = h.runs(f"s{i}")
        offs = {r.scheduled_time % 600 for r in runs}
        assert len(runs) == 3 and len(offs) == 1            # the same offset at every tick
        offsets[i] = offs.pop()
        assert 0 < offsets[i] < 600
    assert len(set(offsets.values())) == 5                  # spread, not all at :00
    assert {r.scheduled_time % 600 for r in h.runs("plain")} == {0}
    h.new_scheduler()                                       # a restart keeps the offsets
    h.walk(epoch("2026-03-01T00:30:40"), epoch("2026-03-01T00:40:40"), 20)
    assert {h.runs("s0")[-1].scheduled_time % 600} == {offsets[0]}


def test_clock_set_back_a_week_does_not_silence_the_schedule(tmp_path):
    """Attack: the wall clock jumps back a week (ManualClock): the stored next tick (a week
    ahead) must not stop the search until the clock catches up."""
    h = Harness(tmp_path / "h", epoch("2026-03-08T00:00:30"))
    h.save("m", cron_schedule="*/5 * * * *", is_scheduled="1")
    h.walk(epoch("2026-03-08T00:00:30"), epoch("2026-03-08T00:10:30"))
    assert [r.scheduled_time for r in h.runs("m")] == [epoch("2026-03-08T00:05:00"), epoch("2026-03-08T00:10:00")]
    h.walk(epoch("2026-03-01T00:00:30"), epoch("2026-03-01T00:10:30"))
    after = [r.scheduled_time for r in h.runs("m")][2:]
    assert after == [epoch("2026-03-01T00:05:00"), epoch("2026-03-01T00:10:00")]
    # and forward again: the normal path (missed ticks skipped, the last one runs)
    for _ in range(3):   # a week of 5-minute ticks is skipped in chunks, one per scheduler pass
        h.at(epoch("2026-03-08T00:15:30"))
    last = h.runs("m")[-1]
    assert last.scheduled_time == epoch("2026-03-08T00:15:00") and last.status == "success"


def test_a_week_forward_records_each_searchs_skips_in_one_transaction(tmp_path):
    """Attack: the clock jumps a week ahead with many searches due every minute: the skip
    records (100 per search) must not cost one commit each (that blocked the scheduler for
    minutes with 1,000 searches)."""
    h = Harness(tmp_path / "h", epoch("2026-03-01T00:00:30"))
    for i in range(5):
        h.save(f"m{i}", cron_schedule="* * * * *", is_scheduled="1")
    h.at(epoch("2026-03-01T00:01:00"))
    sessions = []
    real = h.states.db.session

    def counting():
        sessions.append(1)
        return real()

    h.states.db.session = counting
    h.clock.set(epoch("2026-03-08T00:02:00"))
    h.sched.tick()
    h.states.db.session = real
    h.sched.wait_idle(30)
    skipped = [r for r in h.runs("m3") if r.status == "skipped"]
    assert len(skipped) == 100 and "scheduled runs from" in skipped[-1].reason
    assert len(sessions) < 50, len(sessions)   # was 5 x 100 commits


def test_two_schedulers_on_one_database_run_each_search_once(tmp_path):
    """Servers sharing one operations database (PostgreSQL in production): only the holder of the
    `alert-scheduler` lease runs searches; when it stops renewing, the other takes over and runs
    the ticks from there, each once (speleo.ops.lease)."""
    from speleo.ops.lease import Lease

    h = Harness(tmp_path / "h", epoch("2026-03-01T00:00:30"))
    h.save("five", cron_schedule="*/5 * * * *", is_scheduled="1", **{"dispatch.earliest_time": "-5m"})
    first = h.sched
    first.lease = Lease(h.db, "alert-scheduler", "server-a")
    second = h.new_scheduler()
    second.lease = Lease(h.db, "alert-scheduler", "server-b")
    t = epoch("2026-03-01T00:00:30")
    for step in range(12):                      # both decide every minute for 12 minutes
        h.clock.set(t + 60 * step)
        for s in (first, second):
            s.tick()
            s.wait_idle()
    assert [c["latest"] for c in h.calls] == [epoch("2026-03-01T00:05:00"), epoch("2026-03-01T00:10:00")]
    assert first.lease.holding and not second.lease.holding
    for step in range(12, 24):                  # server a is gone (kill -9): b takes over
        h.clock.set(t + 60 * step)
        second.tick()
        second.wait_idle()
    assert [c["latest"] for c in h.calls] == [epoch(f"2026-03-01T00:{m:02d}:00") for m in (5, 10, 15, 20)]
