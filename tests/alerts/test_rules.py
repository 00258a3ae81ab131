"""ElastAlert rule types on synthetic events (spec §1.11 and checks 14-15)."""

from __future__ import annotations

import pytest

from speleo.alerts.rules import build, seasonal_spike
from speleo.errors import InputError


def ev(t, **f):
    return {"_time": float(t), **f}


def test_frequency_window_is_half_open():
    r = build("frequency", {"num_events": 3, "timeframe": 10})
    m = r.add([ev(0), ev(5), ev(9)])
    assert [x["_time"] for x in m] == [9.0]
    r = build("frequency", {"num_events": 3, "timeframe": 10})
    assert r.add([ev(0), ev(5), ev(10)]) == []


def test_frequency_per_query_key_and_restart_after_match():
    r = build("frequency", {"num_events": 2, "timeframe": 60, "query_key": "host"})
    m = r.add([ev(0, host="a"), ev(1, host="b"), ev(2, host="a"), ev(3, host="a"), ev(4, host="a")])
    assert [(x["host"], x["_time"]) for x in m] == [("a", 2.0), ("a", 4.0)]


@pytest.mark.parametrize("counts, expected", [
    ([10, 10, 20], [(20, 10, "up")]),
    ([10, 10, 0], [(0, 10, "down")]),
    ([10, 10, 15], []),
])
def test_spike_count_mode(counts, expected):
    r = build("spike", {"timeframe": 10, "spike_height": 2, "threshold_ref": 10, "spike_type": "both",
                        "use_count_query": True})
    m = r.add([ev(10 * i, count=c) for i, c in enumerate(counts)])
    assert [(x["spike_count"], x["reference_count"], x["spike_direction"]) for x in m] == expected


def test_spike_never_fires_on_zero_and_zero():
    r = build("spike", {"timeframe": 10, "spike_height": 2, "spike_type": "both", "use_count_query": True})
    assert r.add([ev(0, count=0), ev(10, count=0), ev(20, count=0)]) == []


def test_seasonal_spike_against_same_hour_of_previous_weeks():
    week, now = 7 * 86400, 10 * 7 * 86400 + 15 * 3600   # 15:00 on some day
    buckets = [ev(now - 3600, count=900)]                # this hour: 900 events
    buckets += [ev(now - k * week - 3600, count=300) for k in (1, 2, 3, 4)]   # same hour, 4 weeks: 300
    buckets += [ev(now - 2 * 3600, count=5000)]          # a busy earlier hour today is not the reference
    m = seasonal_spike(buckets, now, {"timeframe": 3600, "spike_height": 2, "weeks": 4})
    assert m["spike_count"] == 900 and m["reference_count"] == 300 and m["spike_direction"] == "up"
    assert seasonal_spike(buckets, now, {"timeframe": 3600, "spike_height": 4, "weeks": 4}) is None


def test_flatline_keeps_matching_while_low():
    r = build("flatline", {"threshold": 3, "timeframe": 60}, start=0.0)
    r.add([ev(10), ev(20)])
    assert r.tick(30) == []                  # timeframe has not passed since the start
    m = r.tick(61)
    assert len(m) == 1 and m[0]["count"] == 2 and m[0]["key"] == "all"
    assert len(r.tick(90)) == 1              # still low: matches again
    r.add([ev(91), ev(92), ev(93)])
    assert r.tick(95) == []


def test_flatline_without_any_event_checks_all():
    r = build("flatline", {"threshold": 1, "timeframe": 60}, start=0.0)
    assert [x["count"] for x in r.tick(120)] == [0]


def test_new_term_with_history_and_missing_field():
    r = build("new_term", {"fields": ["user"], "alert_on_missing_field": True},
              history=[ev(0, user="alice"), ev(1, user="bob")])
    m = r.add([ev(10, user="alice"), ev(11, user="mallory"), ev(12, user="mallory"), ev(13, user="")])
    assert [(x.get("new_value"), x.get("missing_field")) for x in m] == [("mallory", None), (None, "user")]


def test_change_first_occurrence_never_matches_and_ignore_null():
    r = build("change", {"compare_key": "country", "query_key": "user", "ignore_null": True})
    m = r.add([ev(0, user="a", country="FR"), ev(1, user="a", country="FR"), ev(2, user="a", country=""),
               ev(3, user="a", country="US"), ev(4, user="b", country="DE")])
    assert [(x["old_value"], x["new_value"]) for x in m] == [(["FR"], ["US"])]


def test_change_within_timeframe_only():
    r = build("change", {"compare_key": ["country"], "query_key": "user", "timeframe": 10})
    assert r.add([ev(0, user="a", country="FR"), ev(100, user="a", country="US")]) == []


def test_cardinality_max_matches_every_event_while_above():
    r = build("cardinality", {"timeframe": 60, "cardinality_field": "v", "max_cardinality": 2})
    m = r.add([ev(i, v=x) for i, x in enumerate("abcda")])
    assert [x["v"] for x in m] == ["c", "d", "a"]


def test_cardinality_min_after_timeframe():
    r = build("cardinality", {"timeframe": 10, "cardinality_field": "v", "min_cardinality": 2})
    assert r.add([ev(0, v="a"), ev(5, v="a")]) == []
    assert [x["cardinality"] for x in r.add([ev(11, v="a")])] == [1]


def test_missing_options_and_unknown_type():
    with pytest.raises(InputError, match="num_events"):
        build("frequency", {"timeframe": 10})
    with pytest.raises(InputError, match="unknown rule type"):
        build("blacklist2", {})


def test_rule_type_as_a_scheduled_trigger(tmp_path):
    """A saved search with rule.type = frequency: each match triggers once, per query_key."""
    from speleo.alerts.actions import register_action
    from tests.alerts.harness import Harness, epoch

    got = []
    register_action("test_rule_record", lambda ctx: got.append(ctx.render("$result.host$ $result.num_hits$")) or "ok")
    h = Harness(tmp_path / "h", epoch("2026-03-01T00:00:30"))
    base = epoch("2026-03-01T00:00:00")
    h.rows["f"] = lambda now: [{"_time": base + i, "host": "a" if i % 4 else "b"} for i in range(12)]
    h.save("f", cron_schedule="* * * * *", is_scheduled="1", **{"rule.type": "frequency", "rule.num_events": "5",
                                                                "rule.timeframe": "1m", "rule.query_key": "host",
                                                                "action.test_rule_record": "1"})
    h.walk(epoch("2026-03-01T00:00:30"), epoch("2026-03-01T00:01:30"))
    run = h.runs("f")[-1]
    assert run.triggered == 1 and "returned 1 row" in run.reason   # 9 a-events: one match at the 5th
    assert got == ["a 5"]
