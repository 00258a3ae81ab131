"""outlier (Splunk Search Reference: outlier,
https://help.splunk.com/splunk-enterprise/spl-search-reference/9.4/search-commands/outlier):
values outside param * IQR above the third quartile (and below the first with uselower=true) are
truncated to the threshold (action=transform, the default; mark=true writes "000" before them)
or their results removed (action=remove). param defaults to 2.5.

Expected values by hand: v = 1..10 and 100 (11 numbers). Interpolated quartiles: Q1 at position
2.5 of the sorted list = 3.5, Q3 at 7.5 = 8.5, IQR = 5. param 2.5: upper bound 8.5 + 12.5 = 21,
lower bound 3.5 - 12.5 = -9. param 1: upper 13.5, lower -1.5.
"""

from __future__ import annotations

import pytest

from speleo.errors import SplError
from tests.spl.golden._util import ev, run

VALUES = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 100]
EVENTS = ev(*[f"v={v} w={'x' if v == 100 else 5} low={-v if v == 1 else v}" for v in VALUES])


def column(query: str, name: str = "v") -> list:
    return [r[name] for r in run(query, rows=EVENTS)]


def test_transform_truncates_to_the_upper_bound():
    got = column("* | eval v=tonumber(v) | table v | outlier v")
    assert sorted(got) == [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 21]


def test_text_values_stay_text_and_non_numbers_are_left_alone():
    rows = run("* | table v w | outlier", rows=EVENTS)   # every field: v and w
    assert sorted(int(r["v"]) for r in rows) == [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 21]
    assert sorted(r["w"] for r in rows) == ["5"] * 10 + ["x"]   # w's numbers are all 5: IQR 0, none above


def test_remove_drops_the_results_holding_an_outlier():
    assert sorted(int(x) for x in column("* | table v | outlier action=rm v")) == list(range(1, 11))
    assert len(run("* | table v | outlier action=remove param=1 v", rows=EVENTS)) == 10


def test_mark_and_param():
    # param 1: the upper bound is 13.5; marked values make the column text
    got = column("* | eval v=tonumber(v) | table v | outlier mark=true param=1 v")
    assert sorted(got) == sorted(["00013.5"] + [str(i) for i in range(1, 11)])


def test_uselower_truncates_below_the_lower_bound():
    # low = -1 2 3 ... 10 100: sorted, Q1 = 3.5 and Q3 = 8.5 as for v; with param 0 the bounds
    # are the quartiles themselves: -1 2 3 -> 3.5 and 9 10 100 -> 8.5
    rows = column("* | eval low=tonumber(low) | table low | outlier uselower=true param=0 low", "low")
    assert sorted(rows) == [3.5, 3.5, 3.5, 4, 5, 6, 7, 8, 8.5, 8.5, 8.5]
    # without uselower only the upper side is truncated
    rows = column("* | eval low=tonumber(low) | table low | outlier param=0 low", "low")
    assert sorted(rows) == [-1, 2, 3, 4, 5, 6, 7, 8, 8.5, 8.5, 8.5]


def test_later_commands_read_the_truncated_values():
    assert run("* | eval v=tonumber(v) | table v | outlier v | stats max(v) as m", rows=EVENTS) == [{"m": 21}]


@pytest.mark.parametrize("bad, why", [("action=foo", "transform"), ("param=abc", "not a number"),
                                      ("param=-1", "0 or more"), ("type=mad", "iqr")])
def test_bad_options_say_what_is_wrong(bad, why):
    with pytest.raises(SplError, match=why):
        run(f"* | outlier {bad}", rows=EVENTS)


def test_after_stats_max_and_a_split_timechart():
    # stats max() ends in a step on the result; outlier still follows (max of v per w: 10 for
    # "5", 100 for "x"; two values, IQR 22.5 -> nothing beyond 100 + 56.25)
    rows = run("* | stats max(v) as m by w | outlier m", rows=EVENTS)
    assert sorted(r["m"] for r in rows) == [10, 100]
