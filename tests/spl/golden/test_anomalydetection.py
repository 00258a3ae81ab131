"""anomalydetection against Splunk's Search Reference (9.1+, search-commands/anomalydetection, and
anomalousvalue / outlier for method=zscore / iqr); expected values worked out by hand below.

EVENTS (newest first): k=a v=1, a 2, a 1, a 2, a 1, a 2, then k=c v=1 (event 7), k=a v=50 (event 8).
  k: a 7/8 of the events, c 1/8.
  v, numbers: a histogram of Sturges' ceil(log2 8) + 1 = 4 bins of (50 - 1) / 4 = 12.25 from 1:
  1 and 2 in the first bin (7 of 8 events), 50 in the last (1 of 8).
  Event probabilities: events 1-6 7/8 * 7/8 = 49/64; event 7 1/8 * 7/8 = 7/64; event 8 7/8 * 1/8 = 7/64.
"""

from __future__ import annotations

import math

import pytest

from speleo.errors import InputError, SplError
from tests.spl.golden._util import ev, run

EVENTS = ev(*[f"k={k} v={v}" for k, v in [("a", 1), ("a", 2), ("a", 1), ("a", 2), ("a", 1), ("a", 2),
                                             ("c", 1), ("a", 50)]])


def table(query: str, rows=EVENTS) -> list[dict]:
    return run(query, rows=rows)


def test_histogram_annotate_adds_the_four_fields_to_every_event():
    rows = table("* | anomalydetection k v action=annotate pthresh=0.2 "
                 "| table k v log_event_prob probable_cause probable_cause_freq max_freq")
    assert len(rows) == 8
    for r in rows[:6]:   # 49/64; on a tie the first field listed is the cause
        assert r["log_event_prob"] == pytest.approx(math.log(49 / 64))
        assert (r["probable_cause"], r["probable_cause_freq"], r["max_freq"]) == ("k", 0.875, 0.875)
    assert rows[6]["log_event_prob"] == pytest.approx(math.log(7 / 64))
    assert (rows[6]["probable_cause"], rows[6]["probable_cause_freq"], rows[6]["max_freq"]) == ("k", 0.125, 0.875)
    assert (rows[7]["probable_cause"], rows[7]["probable_cause_freq"], rows[7]["max_freq"]) == ("v", 0.125, 0.875)


def test_histogram_filter_keeps_events_below_pthresh():
    # pthresh=0.2: 7/64 = 0.109 is below it, 49/64 is not; pthresh=0.1: none
    rows = table("* | anomalydetection k v pthresh=0.2 | table k v probable_cause")
    assert rows == [{"k": "c", "v": "1", "probable_cause": "k"}, {"k": "a", "v": "50", "probable_cause": "v"}]
    assert table("* | anomalydetection method=histogram action=filter pthresh=0.1 k v") == []


# One field y: r in 13 of 18 events, s in 4, t in 1. Log-probabilities r = ln(13/18), s = ln(4/18),
# t = ln(1/18); sorted t, s x4, r x13: Q1 at position 17 * 0.25 = 4.25 = s + 0.25 (r - s), Q3 = r,
# IQR = 0.75 (r - s) = 0.884. cutoff=false: Q1 - 1.5 IQR = s - 0.875 (r - s) = -2.535: t (-2.890) is
# anomalous, s (-1.504) is not. cutoff=true (default): Q1 - 3 IQR = s - 2 (r - s) = -3.861: none.
SPREAD = ev(*(["y=r"] * 13 + ["y=s"] * 4 + ["y=t"]))
R, S, T = math.log(13 / 18), math.log(4 / 18), math.log(1 / 18)


def test_the_computed_threshold_and_cutoff():
    assert [r["y"] for r in table("* | anomalydetection cutoff=false y", SPREAD)] == ["t"]
    assert table("* | anomalydetection y", SPREAD) == []
    assert table("* | anomalydetection cutoff=true y", SPREAD) == []


def test_summary_gives_one_row_of_six_fields():
    q1 = S + 0.25 * (R - S)
    [row] = table("* | anomalydetection action=summary cutoff=false y", SPREAD)
    assert list(row) == ["num_anomalies", "thresh", "max_logprob", "min_logprob", "1st_quartile", "3rd_quartile"]
    assert row["num_anomalies"] == 1
    assert row["thresh"] == pytest.approx(math.exp(q1 - 1.5 * (R - q1)))   # a probability: 0.0792
    assert (row["max_logprob"], row["min_logprob"]) == (pytest.approx(R), pytest.approx(T))
    assert (row["1st_quartile"], row["3rd_quartile"]) == (pytest.approx(q1), pytest.approx(R))


def test_numbers_share_equal_width_bins_and_a_missing_value_is_a_value_of_its_own():
    # w = 1..8 on 8 events and one event without w (9 events): Sturges' ceil(log2 8) + 1 = 4 bins of
    # (8 - 1) / 4 = 1.75 from 1: [1, 2.75) holds 1, 2; [2.75, 4.5) 3, 4; [4.5, 6.25) 5, 6; [6.25, 8] 7, 8:
    # each number's frequency 2/9; the event without w: 1/9 (5 bins of 1.4 would give 1, 2 | 3 | 4, 5 | ...)
    rows = table("* | anomalydetection action=annotate w | table w probable_cause_freq max_freq",
                 ev(*[f"w={w}" for w in range(1, 9)], "no w here"))
    assert [r["max_freq"] for r in rows] == pytest.approx([2 / 9] * 8 + [1 / 9])
    assert rows[-1]["w"] is None


def test_without_a_field_list_every_field_not_starting_with_underscore():
    # after stats the fields are k and n (the count): k=a 2 rows of 3, c 1; n 1 (twice) or 3 ->
    # a histogram of ceil(log2 3) + 1 = 3 bins over 1..3: each value in its own bin
    rows = table("* | stats count as n by k, v | where v!=2 | anomalydetection action=annotate "
                 "| table k v n log_event_prob")
    # rows (k, v, n): (a, 1, 3), (a, 50, 1), (c, 1, 1): k a 2/3, c 1/3; v 1 2/3, 50 1/3 (bins of 49/3);
    # n 3 1/3, 1 2/3
    assert [r["log_event_prob"] for r in rows] == pytest.approx(
        [math.log(2 / 3 * 2 / 3 * 1 / 3), math.log(2 / 3 * 1 / 3 * 2 / 3), math.log(1 / 3 * 2 / 3 * 2 / 3)])


def test_zscore_marks_anomalous_values_as_anomalousvalue_does():
    # v: mean 60 / 8 = 7.5, sample stdev sqrt((4 * 6.5^2 + 3 * 5.5^2 + 42.5^2) / 7) = sqrt(2066 / 7) = 17.18;
    # 50: erfc(42.5 / (17.18 * sqrt 2)) = 0.0134 < 0.2; 1: erfc(6.5 / 24.3) = 0.71, 2: 0.75
    # k: c in 1/8 = 0.125 < 0.2 of the events, a in 7/8
    p50 = math.erfc(42.5 / (math.sqrt(2066 / 7) * math.sqrt(2)))
    rows = table("* | anomalydetection method=zscore pthresh=0.2 k v | table k v Anomaly_Score_*")
    assert rows == [{"k": "c", "v": "1", "Anomaly_Score_Cat(k)": 0.125, "Anomaly_Score_Num(v)": None},
                    {"k": "a", "v": "50", "Anomaly_Score_Cat(k)": None, "Anomaly_Score_Num(v)": pytest.approx(p50)}]
    # the default pthresh 0.01: 0.0134 is not below it, nothing is anomalous
    assert table("* | anomalydetection method=zscore k v") == []
    assert len(table("* | anomalydetection method=zscore action=annotate k v")) == 8


def test_zscore_summary_one_row_per_field():
    rows = table("* | anomalydetection method=zscore action=summary pthresh=0.2 k v")
    assert rows == [
        {"fieldname": "k", "count": 8, "distinct_count": 2, "mean": None, "stdev": None, "isNum": "NO",
         "catAnoFreq%": 12.5, "numAnoFreq%": None, "supportFreq%": 100.0},
        {"fieldname": "v", "count": 8, "distinct_count": 3, "mean": 7.5, "stdev": pytest.approx(math.sqrt(2066 / 7)),
         "isNum": "YES", "catAnoFreq%": None, "numAnoFreq%": 12.5, "supportFreq%": 100.0}]


MOSTLY = ev(*[f"v={v}" for v in [1, 2, 1, 2, 1, 2, 1, 2, 1, 50, "oops"]])


def test_zscore_on_a_mostly_numeric_field_with_some_text():
    # 10 numbers and one text: the field is numeric (more than half its values are numbers). The
    # numbers: sum 5 + 8 + 50 = 63, mean 6.3; squared deviations 5 * 5.3^2 + 4 * 4.3^2 + 43.7^2
    # = 140.45 + 73.96 + 1909.69 = 2124.1, stdev sqrt(2124.1 / 9) = 15.36; 50 at
    # erfc(43.7 / (15.36 * sqrt 2)) = 0.0045, 1 at 0.73, 2 at 0.78. "oops" in 1 of the 11 events: 0.0909
    p50 = math.erfc(43.7 / (math.sqrt(2124.1 / 9) * math.sqrt(2)))
    rows = table("* | anomalydetection method=zscore pthresh=0.2 v | table v Anomaly_Score_*", MOSTLY)
    assert rows == [{"v": "50", "Anomaly_Score_Num(v)": pytest.approx(p50), "Anomaly_Score_Cat(v)": None},
                    {"v": "oops", "Anomaly_Score_Num(v)": None, "Anomaly_Score_Cat(v)": pytest.approx(1 / 11)}]
    # the default pthresh 0.01: 50 (0.0045) only
    assert [r["v"] for r in table("* | anomalydetection method=zscore v | table v", MOSTLY)] == ["50"]
    (summary,) = table("* | anomalydetection method=zscore action=summary pthresh=0.2 v", MOSTLY)
    assert summary == {"fieldname": "v", "count": 11, "distinct_count": 4, "mean": pytest.approx(6.3),
                       "stdev": pytest.approx(math.sqrt(2124.1 / 9)), "isNum": "YES", "catAnoFreq%": 100.0,
                       "numAnoFreq%": 10.0, "supportFreq%": 100.0}
    # half numbers, half text: not mostly numbers, every value a category (each 1/4 < 0.3)
    half = ev("v=1", "v=2", "v=a", "v=b")
    (summary,) = table("* | anomalydetection method=zscore action=summary pthresh=0.3 v", half)
    assert summary["isNum"] == "NO" and summary["catAnoFreq%"] == 100.0 and summary["mean"] is None


def test_iqr_performs_like_outlier():
    # v sorted 1 1 1 1 2 2 2 50: Q1 (position 1.75) = 1, Q3 (5.25) = 2, IQR 1; outlier's default
    # param 2.5: above 2 + 2.5 = 4.5. transform (default): 50 -> 4.5; param=4 mark=true: 50 -> "0006"
    assert [r["v"] for r in table("* | anomalydetection method=iqr v | table v")][-1] == "4.5"
    assert [r["v"] for r in table("* | anomalydetection method=iqr action=tf param=4 mark=true v | table v")][-1] \
        == "0006"
    assert [r["v"] for r in table("* | anomalydetection method=iqr action=rm v | table v")] == \
        ["1", "2", "1", "2", "1", "2", "1"]


def test_work_is_bounded_by_results_times_fields(monkeypatch):
    from speleo.query import anomaly

    monkeypatch.setattr(anomaly, "MAX_VALUES", 15)   # 8 results x 2 fields = 16
    with pytest.raises(InputError, match="8 results x 2 fields is more than 15 values"):
        table("* | anomalydetection k v")
    assert len(table("* | anomalydetection action=annotate k")) == 8


@pytest.mark.parametrize("query, why", [
    ("* | anomalydetection method=kmeans", "method=kmeans: use histogram, zscore or iqr"),
    ("* | anomalydetection action=remove v", "action=remove: with method=histogram use filter, annotate, summary"),
    ("* | anomalydetection method=iqr action=summary v", "with method=iqr use remove, rm, transform, tf"),
    ("* | anomalydetection method=iqr pthresh=0.1 v", "pthresh= is not used with method=iqr"),
    ("* | anomalydetection method=zscore cutoff=false v", "cutoff= applies only to method=histogram"),
    ("* | anomalydetection param=3 v", "param= applies only to method=iqr"),
    ("* | anomalydetection pthresh=2 v", "pthresh=2: expected a probability between 0 and 1"),
    ("* | anomalydetection cutoff=perhaps v", "cutoff=perhaps: expected true or false"),
    ("* | anomalydetection method=zscore minsupcount=10 v", "minsupcount= .* is not supported"),
    ("* | anomalydetection sensitivity=high v", "unknown option 'sensitivity'"),
])
def test_errors_say_what_is_wrong(query, why):
    with pytest.raises(SplError, match=why):
        table(query)


def test_numbers_at_both_ends_of_the_doubles_and_infinities_do_not_fail_the_search():
    """1e308 and -1e308 are numbers: their deviations' squares (zscore) and their range (the
    histogram's bin width) overflow a double; inf and NaN computed by eval are not numbers (as
    the text "inf" is not): the field is categorical then."""
    rows = ev(*[f"v={v}" for v in [10, 11, 9, 10, 12, 10, 11, 9, 10, 10, 11, 9, 10, "1e308", "-1e308"]])
    # zscore: mean 0 (the two cancel), stdev ~ sqrt(2e616 / 14) = 3.78e307; +-1e308 at z = 2.65
    # (erfc(2.65 / sqrt 2) = 0.0081 < 0.01), the small values at z ~ 0
    (summary,) = table("* | anomalydetection method=zscore action=summary v", rows)
    assert summary["isNum"] == "YES" and summary["stdev"] == pytest.approx(1e308 * math.sqrt(2 / 14), rel=1e-6)
    out = table("* | anomalydetection method=zscore v | table v Anomaly_Score_*", rows)
    assert [r["v"] for r in out] == ["1e308", "-1e308"]
    assert out[0]["Anomaly_Score_Num(v)"] == pytest.approx(math.erfc(1e308 / summary["stdev"] / math.sqrt(2)))
    # histogram: 5 bins of (1e308 + 1e308) / 5 from -1e308: every small value in the middle bin (13 of 15)
    out = table("* | anomalydetection pthresh=0.1 v | table v probable_cause_freq", rows)
    assert out == [{"v": "1e308", "probable_cause_freq": pytest.approx(1 / 15)},
                   {"v": "-1e308", "probable_cause_freq": pytest.approx(1 / 15)}]
    # an infinity eval computed is not a number (as the text "inf" is not): 7 numbers and it, so the
    # field is numeric (most values are numbers) and the infinity is scored as a category, its share
    # 1/8 = 0.125 (below pthresh 0.2); the numbers 1, 2 (mean 10/7, stdev sqrt(2/7)) score 0.42 and 0.29
    inf = ev(*[f"v={v}" for v in [1, 2, 1, 2, 1, 2, 1]], "v=big")
    big = "* | eval v=if(v==\"big\", exp(1000), v) | anomalydetection method=zscore"
    (summary,) = table(big + " action=summary v", inf)
    assert summary["isNum"] == "YES" and summary["mean"] == pytest.approx(10 / 7)
    assert table(big + " pthresh=0.2 v | table Anomaly_Score_*", inf) == [{"Anomaly_Score_Cat(v)": 0.125}]
    assert len(table("* | eval v=if(v==\"big\", exp(1000), v) | anomalydetection action=annotate v", inf)) == 8


def test_without_a_field_list_the_events_search_time_fields_are_scored():
    # 30 events status=200 method=GET and one status=500 method=DELETE: the bare command reads
    # the key=value fields of each event (not only host/source/sourcetype/index, the same on
    # every event, which would find nothing); the one rare event is the anomaly
    from tests.spl.golden._util import ev as _ev, run as _run

    rows = _run("* | anomalydetection | table status method",
                rows=_ev(*(["status=200 method=GET"] * 30 + ["status=500 method=DELETE"])))
    assert rows == [{"status": "500", "method": "DELETE"}]
