"""predict against Splunk's Search Reference (9.4, search-commands/predict); the series below
are ones whose forecasts are known without the code: a constant stays constant (LL), a straight
line goes on (LLT), a repeating pattern repeats (LLP), each with zero one-step error, so every
interval is the prediction itself.

Events: one per minute, 8 minutes, NOW = 1700000000 (22:13:20 UTC): the minute buckets start
at 22:06:00 ... 22:13:00 (1699999560 + 60 k).
"""

from __future__ import annotations

import pytest

from speleo.errors import SplError
from tests.spl.golden._util import ev, run

NEWEST = 1_699_999_980.0   # the newest minute bucket (22:13:00)
FIRST = NEWEST - 7 * 60    # the oldest of eight (22:06:00)


def series(values: list[float]) -> list:
    """Events, oldest value first, one a minute, the last one at NOW."""
    n = len(values)
    return ev(*[(-60 * (n - 1 - k), f"v={v}") for k, v in enumerate(values)])


def table(query: str, values: list[float]) -> list[dict]:
    return run(query, rows=series(values))


def test_a_straight_line_goes_on_with_LLT():
    # v = 2k + 1 for k = 0..7: LLT's level and slope come from the first two values (1, 3),
    # every later one-step prediction is exact; 5 future rows (the default) carry 17 .. 25
    rows = table("* | timechart span=1m sum(v) as v | predict v algorithm=LLT", [2 * k + 1 for k in range(8)])
    assert [r["_time"] for r in rows] == [FIRST + 60 * k for k in range(13)]
    assert [r["v"] for r in rows] == [2 * k + 1 for k in range(8)] + [None] * 5
    assert [r["prediction(v)"] for r in rows] == [None, None] + [2 * k + 1 for k in range(2, 13)]
    # no error at all: the 95% interval is the prediction itself
    assert [r["upper95(prediction(v))"] for r in rows] == [r["prediction(v)"] for r in rows]
    assert [r["lower95(prediction(v))"] for r in rows] == [r["prediction(v)"] for r in rows]


def test_a_constant_stays_with_LL_and_names_follow_AS_and_upperXX():
    rows = table("* | timechart span=1m sum(v) as v | predict v as p algorithm=LL future_timespan=2 upper90=hi",
                 [7] * 6)
    assert list(rows[0]) == ["_time", "v", "p", "hi", "lower95(p)"]
    assert [r["p"] for r in rows] == [None] + [7.0] * 7
    assert [r["hi"] for r in rows] == [None] + [7.0] * 7
    assert len(rows) == 8 and rows[-1]["_time"] == NEWEST + 60 * 2


def test_a_repeating_pattern_repeats_with_LLP_and_its_period_is_found():
    # 1, 5, 9 repeated: the autocorrelation is highest at lag 3; the first period sets the state
    # (mean 5, seasonals -4, 0, 4), then every prediction is exact; 4 future rows go on 1, 5, 9, 1
    values = [1, 5, 9] * 4
    rows = table("* | timechart span=1m sum(v) as v | predict v algorithm=LLP future_timespan=4", values)
    assert [r["prediction(v)"] for r in rows] == [None] * 3 + [float(v) for v in values[3:]] + [1.0, 5.0, 9.0, 1.0]


def test_LLP5_the_default_prefers_the_exact_seasonal_model():
    values = [1, 5, 9] * 4
    rows = table("* | timechart span=1m sum(v) as v | predict v future_timespan=3", values)
    assert [r["prediction(v)"] for r in rows[-3:]] == [1.0, 5.0, 9.0]


def test_holdback_keeps_the_last_rows_out_of_the_fit_and_forecasts_them():
    # the line 2k + 1 fitted on k = 0..5 only; rows 6 and 7 get forecasts 13 and 15, and the
    # 2 future rows 17 and 19, though the held-back values are far off the line
    values = [2 * k + 1 for k in range(6)] + [100, 200]
    rows = table("* | timechart span=1m sum(v) as v | predict v algorithm=LLT holdback=2 future_timespan=2", values)
    assert [r["prediction(v)"] for r in rows[6:]] == [13.0, 15.0, 17.0, 19.0]


def test_noise_gives_an_interval_that_widens_into_the_future():
    values = [10, 12, 9, 11, 10, 13, 9, 11, 10, 12]
    rows = table("* | timechart span=1m sum(v) as v | predict v algorithm=LL", values)
    widths = [r["upper95(prediction(v))"] - r["lower95(prediction(v))"] for r in rows if r["prediction(v)"] is not None]
    assert all(w > 0 for w in widths)
    assert widths[-5:] == sorted(widths[-5:]) and widths[-1] > widths[-5]   # the future widens
    for r in rows[1:]:
        assert r["lower95(prediction(v))"] < r["prediction(v)"] < r["upper95(prediction(v))"]


def test_a_missing_minute_is_predicted_too():
    # timechart fills the empty minute with 0 for count; sum leaves it empty (null): predicted
    evs = [e for k, e in enumerate(series([1, 3, 5, 7, 9, 11])) if k != 3]   # no event at value 7's minute
    rows = run("* | timechart span=1m sum(v) as v | predict v algorithm=LLT future_timespan=0", rows=evs)
    assert [r["v"] for r in rows] == [1, 3, 5, None, 9, 11]
    assert [r["prediction(v)"] for r in rows] == [None, None, 5.0, 7.0, 9.0, 11.0]


@pytest.mark.parametrize("query, why", [
    ("* | timechart span=1m sum(v) as v | predict v algorithm=ARIMA", "unknown algorithm"),
    ("* | timechart span=1m sum(v) as v | predict v algorithm=LLB", "not supported"),
    ("* | timechart span=1m sum(v) as v | predict v future_timespan=-1", "between 0"),
    ("* | timechart span=1m sum(v) as v | predict v period=1", "at least 2"),
    ("* | timechart span=1m sum(v) as v | predict v upper100=x", "between 1 and 99"),
    ("* | timechart span=1m sum(v) as v | predict v colour=red", "unknown option"),
    ("* | timechart span=1m sum(v) as v | predict", "needs a field"),
    ("* | stats count by host | predict count", "_time"),
    ("* | timechart span=1m sum(v) as v | predict nosuch", "no field 'nosuch'"),
    ("* | timechart span=1m sum(v) as v | predict v as _time", "_time is the series' time"),
])
def test_errors_say_what_is_wrong(query, why):
    from speleo.errors import InputError

    with pytest.raises((SplError, InputError), match=why):
        table(query, [1, 2, 3, 4])


def test_a_field_of_the_events_is_extracted_for_predict():
    # predict on the events themselves (no timechart): `v` is a search-time field, read before
    # the events become a result table; later commands need not name it
    rows = table('* | predict v algorithm=LLT future_timespan=1 | table _time "prediction(v)"',
                 [2 * k + 1 for k in range(6)])
    assert [r["prediction(v)"] for r in rows] == [None, None, 5.0, 7.0, 9.0, 11.0, 13.0]


def test_many_future_rows_cost_linear_time():
    """The interval multiplier of step h sums h squared weights: a running sum, not one sum per
    step (10,000 future rows of LLP5 took about 10 s that way)."""
    import time

    from speleo.query import forecast

    model = forecast.fit([1.0, 5.0, 9.0, 2.0] * 6 + [3.0], "LLP5", 4)
    assert model.steps(50) == [model.ahead(h) for h in range(1, 51)]
    started = time.perf_counter()
    rows = table("* | timechart span=1m sum(v) as v | predict v future_timespan=10000", [1, 5, 9, 2] * 4)
    assert len(rows) == 16 + 10_000
    assert time.perf_counter() - started < 3
