"""The kept results of scheduled runs (speleo.alerts.artifacts): ttl from dispatch.ttl, the newest
first by scheduled time, at most MAX_PER_SEARCH, crashes mid-write left behind and cleaned."""

from __future__ import annotations

import pyarrow as pa
import pytest

from speleo.alerts import artifacts
from speleo.alerts.artifacts import Artifacts, ttl_secs


class Clock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def table(n: int) -> pa.Table:
    return pa.table({"host": [f"h{n}"], "count": [n]})


@pytest.mark.parametrize("value,period,want", [
    ("2p", 3600, 7200), ("600", 3600, 600), ("3P", 60, 180), ("  10 ", 5, 10), ("", 100, 200),
    (None, 30, 60), ("soon", 50, 100), ("1.5p", 100, 150)])
def test_ttl_from_dispatch_ttl(value, period, want):
    assert ttl_secs(value, period) == want


def test_newest_first_offsets_expiry_and_the_cap(tmp_path, monkeypatch):
    clock = Clock(1000.0)
    store = Artifacts(tmp_path, clock)
    for i in range(3):   # scheduled at 100, 200, 300; written in another order
        sched = [300, 100, 200][i]
        store.keep(7, f"scheduler__7_at_{sched}_1", table(sched), {"scheduled": sched, "kind": "results"}, 50)
        clock.t += 1
    assert [store.newest(7, k)["scheduled"] for k in range(3)] == [300, 200, 100]
    assert store.newest(7, 3) is None and store.count(7) == 3
    info = store.find("scheduler__7_at_200_1")
    assert store.table(info).to_pylist() == [{"host": "h200", "count": 200}]
    assert store.find("scheduler__8_at_200_1") is None and store.find("../etc") is None
    clock.t = 1000.0 + 50.5   # the first written (t=1000, ttl 50) is expired; the others not yet
    assert [store.newest(7, k)["scheduled"] for k in range(2)] == [200, 100] and store.newest(7, 2) is None
    monkeypatch.setattr(artifacts, "MAX_PER_SEARCH", 2)
    store.keep(7, "scheduler__7_at_400_1", table(400), {"scheduled": 400}, 50)
    kept = sorted(p.name for p in (tmp_path / "7").iterdir())
    assert kept == ["scheduler__7_at_200_1", "scheduler__7_at_400_1"]   # 300 expired; the cap keeps 2 of the rest


def test_a_crash_mid_write_and_a_damaged_artifact_are_skipped_then_removed(tmp_path):
    clock = Clock(0.0)
    store = Artifacts(tmp_path, clock)
    store.keep(3, "scheduler__3_at_10_1", table(10), {"scheduled": 10}, 100)
    (tmp_path / "3" / ".tmp-scheduler__3_at_20_1").mkdir()        # a write cut by kill -9
    bad = tmp_path / "3" / "scheduler__3_at_30_1"
    bad.mkdir()
    (bad / "info.json").write_text("{not json")
    assert store.newest(3)["sid"] == "scheduler__3_at_10_1" and store.count(3) == 1
    store.keep(3, "scheduler__3_at_40_1", table(40), {"scheduled": 40}, 100)
    assert sorted(p.name for p in (tmp_path / "3").iterdir()) == ["scheduler__3_at_10_1", "scheduler__3_at_40_1"]
    with pytest.raises(ValueError):
        store.keep(3, "../escape", table(1), {}, 100)


def test_an_earlier_saved_search_with_the_same_id_is_never_read(tmp_path):
    """SQLite gives a deleted last row's id to the next saved search: the runs kept for the old one
    (created at t=5) are not the new one's (created at t=50), and its first write removes them."""
    clock = Clock(100.0)
    store = Artifacts(tmp_path, clock)
    store.keep(4, "scheduler__4_at_60_1", table(60), {"scheduled": 60, "saved_created": 5.0}, 1000)
    assert store.newest(4, born=5.0)["scheduled"] == 60            # the old one's own reader
    assert store.newest(4, born=50.0) is None and store.count(4, born=50.0) == 0
    assert not artifacts.belongs(store.find("scheduler__4_at_60_1"), 50.0)
    # an artifact written before saved_created was recorded: read when written after the search was made
    assert artifacts.belongs({"created": 100.0}, 50.0) and not artifacts.belongs({"created": 40.0}, 50.0)
    store.keep(4, "scheduler__4_at_70_1", table(70), {"scheduled": 70, "saved_created": 50.0}, 1000)
    assert [p.name for p in (tmp_path / "4").iterdir()] == ["scheduler__4_at_70_1"]
    assert store.newest(4, born=50.0)["scheduled"] == 70
