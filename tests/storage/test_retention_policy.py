"""The retention policy as pure functions: bucket rows + settings + now -> actions (no server, no files).

Expected actions follow Splunk's rules (indexes.conf.spec; spec section 3.6 checks 3, 4, 5, 6, 9),
worked out by hand from the rows each test builds."""

from __future__ import annotations

from pathlib import Path

import pytest

from speleo.config import Home
from speleo.errors import InputError
from speleo.storage import indexconf
from speleo.storage.catalog import BucketRow
from speleo.storage.lifecycle import Action, RetentionSchedule, kept_by_future, next_age_due, plan_retention

MB = 1024 * 1024
NOW = 1_800_000_000.0
DAY = 86400.0


def bucket(id, index="main", state="warm", lo=0.0, hi=0.0, size=MB):
    """A bucket row; times below 1e6 are seconds before NOW - 1000 (well inside the default age)."""
    lo, hi = (NOW - 1000 + t if t < 1e6 else t for t in (lo, hi))
    return BucketRow(id, index, state, f"indexes/{index}/{id}.parquet", lo, hi, 10, size, size, None, None)


def conf(name="main", **row):
    return indexconf.effective(Home(Path("/h")), name, row)


def test_age_freezes_a_bucket_only_when_its_newest_event_is_past_the_limit():
    a = bucket(1, lo=NOW - 3 * DAY, hi=NOW - 2 * DAY)
    b = bucket(2, lo=NOW - 2 * DAY, hi=NOW - 3600)
    acts = plan_retention([a, b], {"main": conf(max_age_secs=DAY)}, {}, NOW)
    assert acts == [Action("freeze", 1, "main", "age")]
    assert kept_by_future(b, conf(max_age_secs=DAY), NOW) and not kept_by_future(a, conf(max_age_secs=DAY), NOW)


def test_one_future_dated_event_keeps_its_bucket():
    b = bucket(1, lo=NOW - 400 * DAY, hi=NOW + 365 * DAY)
    assert plan_retention([b], {"main": conf(max_age_secs=1)}, {}, NOW) == []
    assert kept_by_future(b, conf(max_age_secs=1), NOW)


def test_size_cap_freezes_the_bucket_whose_newest_event_is_oldest_first():
    # 4 MB each; newest events t1 < t2 < t3 < t4, ids in another order; cap 10 MB: 16 -> 12 -> 8
    rows = [bucket(9, lo=0, hi=400, size=4 * MB), bucket(3, lo=50, hi=100, size=4 * MB),
            bucket(5, lo=10, hi=300, size=4 * MB), bucket(1, lo=0, hi=200, size=4 * MB)]
    acts = plan_retention(rows, {"main": conf(max_size_bytes=10 * MB)}, {}, NOW)
    assert acts == [Action("freeze", 3, "main", "max_total_size"), Action("freeze", 1, "main", "max_total_size")]


def test_thawed_buckets_are_never_frozen_nor_counted():
    rows = [bucket(1, state="thawed", lo=1e6, hi=1e6, size=50 * MB), bucket(2, lo=NOW - 10, hi=NOW, size=2 * MB)]
    settings = {"main": conf(max_age_secs=DAY, max_size_bytes=10 * MB)}
    assert plan_retention(rows, settings, {}, NOW) == []


def test_volume_cap_spans_indexes_and_takes_the_oldest_newest_event_first():
    x = [bucket(1, "x", lo=0, hi=100, size=1 * MB)]
    y = [bucket(2, "y", lo=150, hi=200, size=6 * MB), bucket(3, "y", lo=250, hi=300, size=6 * MB)]
    settings = {"x": conf("x", volume_name="v"), "y": conf("y", volume_name="v")}
    acts = plan_retention(x + y, settings, {"v": indexconf.Volume("v", 11 * MB)}, NOW)
    assert acts == [Action("freeze", 1, "x", "volume_size"), Action("freeze", 2, "y", "volume_size")]


def test_warm_count_rolls_the_oldest_warm_buckets_to_cold():
    rows = [bucket(i, lo=t - 10, hi=t) for i, t in ((1, 400), (2, 100), (3, 300), (4, 200))] + [bucket(5, state="hot", hi=50)]
    acts = plan_retention(rows, {"main": conf(max_warm_db_count=2)}, {}, NOW)
    assert acts == [Action("to_cold", 2, "main", "max_warm_count"), Action("to_cold", 4, "main", "max_warm_count")]
    zero = plan_retention(rows, {"main": conf(max_warm_db_count=0)}, {}, NOW)
    assert sorted(a.bucket_id for a in zero) == [1, 2, 3, 4]


def test_defaults_follow_splunk_but_no_age_limit_and_internal_indexes_keep_30_days():
    assert conf().frozen_time_period_secs == float("inf") and conf().to_splunk()["frozenTimePeriodInSecs"] == 0
    assert conf().max_total_data_size_bytes == 500_000 * MB and conf().max_warm_db_count == 300
    assert conf("_internal").frozen_time_period_secs == 30 * DAY
    assert conf(max_hot_span_secs=60).max_hot_span_secs == 3600  # Splunk raises values below an hour


def test_user_indexes_have_no_age_limit_by_default():
    ancient = bucket(1, lo=1.0e9, hi=1.0e9 + 10)   # 2001
    assert plan_retention([ancient], {"main": conf()}, {}, NOW) == []
    assert next_age_due([ancient], {"main": conf()}) == float("inf")


def test_next_age_due_and_schedule_skip_when_nothing_changed():
    rows = [bucket(1, hi=NOW - DAY), bucket(2, hi=NOW)]
    assert next_age_due(rows, {"main": conf(max_age_secs=2 * DAY)}) == NOW + DAY
    s = RetentionSchedule()
    assert s.due(("a",), NOW)
    s.ran(("a",), NOW + DAY)
    assert not s.due(("a",), NOW + 10) and s.due(("b",), NOW + 10) and s.due(("a",), NOW + DAY)


def test_cold_compression_level_is_speleos_own_setting_with_a_default():
    """coldCompressionLevel: not a Splunk setting (Speleo's own); unset means 15, 0 is kept (copy
    unchanged), an empty value resets it to the default."""
    assert indexconf.parse_changes({"coldCompressionLevel": "19"}) == {"cold_compression_level": 19}
    assert indexconf.parse_changes({"coldCompressionLevel": "0"}) == {"cold_compression_level": 0}
    assert indexconf.parse_changes({"coldCompressionLevel": ""}) == {"cold_compression_level": None}
    home = Home(Path("/nonexistent"))
    assert indexconf.effective(home, "web", {}).cold_compression_level == 15
    assert indexconf.effective(home, "web", {"cold_compression_level": 0}).cold_compression_level == 0
    assert indexconf.effective(home, "web", {"cold_compression_level": 3}).to_splunk()["coldCompressionLevel"] == 3


@pytest.mark.parametrize("text, expected", [("500MB", 500 * MB), ("10GB", 10 * 1024 * MB), ("200KB", 200 * 1024),
                                            ("4096B", 4096), ("1.5GiB", int(1.5 * 1024 * MB)), ("750", 750 * MB)])
def test_sizes_parse(text, expected):
    assert indexconf.parse_size(text) == expected


@pytest.mark.parametrize("text, expected", [("30d", 30 * DAY), ("12h", 12 * 3600), ("90m", 5400), ("3600", 3600),
                                            ("2w", 14 * DAY), ("1y", 365 * DAY)])
def test_ages_parse(text, expected):
    assert indexconf.parse_age(text) == expected


@pytest.mark.parametrize("key, value, words", [
    ("frozenTimePeriodInSecs", "30x", "not a duration"), ("maxTotalDataSizeMB", "lots", "not a size"),
    ("maxTotalDataSizeMB", "5PB", "unknown unit"), ("frozenTimePeriodInSecs", "0", "more than zero"),
    ("maxWarmDBCount", "-1", "whole number"), ("coldToFrozenDir", "s3://", "S3 URL"), ("colder", "1", "unknown index setting"),
    ("coldCompressionLevel", "23", "not a zstd level"), ("coldCompressionLevel", "-3", "not a zstd level"),
    ("coldCompressionLevel", "high", "from 1 (fastest) to 22"),
    # str.isdigit() is true for these, int() refuses the first and reads the second as 3
    ("coldCompressionLevel", "\u00b2", "not a zstd level"), ("maxWarmDBCount", "\u00b2", "whole number"),
    ("coldCompressionLevel", "\u0663", "not a zstd level"),
])
def test_bad_settings_name_the_setting(key, value, words):
    with pytest.raises(InputError) as e:
        indexconf.parse_changes({key: value}, {"frozenTimePeriodInSecs": "--max-age (frozenTimePeriodInSecs)"})
    assert words in str(e.value)
    if key == "frozenTimePeriodInSecs":
        assert str(e.value).startswith("--max-age (frozenTimePeriodInSecs): ")
