"""stats functions over a multivalue field count each of its values (Splunk Search Reference,
stats: a multivalue field's values are each a value of the field for the functions; by-fields
split on each value, `dedup_splitvals`). Expected values worked out by hand below."""

from __future__ import annotations

from tests.spl.golden._util import ev, run

# three results: n=1 holds a = (1, 2, 3), n=2 a = 5, n=3 no a; g = x, x, y
BASE = ('| makeresults count=3 | streamstats count as n '
        '| eval a=case(n=1, split("1,2,3", ","), n=2, "5"), g=if(n<3, "x", "y")')


def test_numeric_functions_read_each_value():
    # group x: values 1, 2, 3, 5 -> sum 11, count 4, dc 4, avg 2.75, min 1, max 5, median 2.5
    # (the mean of the middle two), range 4; group y: no value -> counts 0, the rest null
    rows = run(BASE + " | stats sum(a) as s count(a) as c dc(a) as d avg(a) as m min(a) as lo max(a) as hi "
                      "median(a) as med range(a) as r count as rows by g", rows=ev())
    assert rows == [
        {"g": "x", "s": 11, "c": 4, "d": 4, "m": 2.75, "lo": 1, "hi": 5, "med": 2.5, "r": 4, "rows": 2},
        {"g": "y", "s": None, "c": 0, "d": 0, "m": None, "lo": None, "hi": None, "med": None, "r": None,
         "rows": 1}]


def test_without_by_and_repeated_values():
    # a = (2, 2, 7) and (7): count 4, dc 2 (2 and 7), sum 18
    rows = run('| makeresults count=2 | streamstats count as n | eval a=if(n=1, split("2,2,7", ","), "7") '
               '| stats count(a) as c dc(a) as d sum(a) as s count as rows', rows=ev())
    assert rows == [{"c": 4, "d": 2, "s": 18, "rows": 2}]


def test_text_values_order_lexicographically():
    # a = (b, a, c): min "a", max "c" (Search Reference: max/min of non-numeric values)
    rows = run('| makeresults | eval a=split("b,a,c", ",") | stats min(a) as lo max(a) as hi dc(a) as d',
               rows=ev())
    assert rows == [{"lo": "a", "hi": "c", "d": 3}]


def test_eventstats_values_of_a_multivalue_field():
    # eventstats values(m): the sorted distinct values of every result's m, on each result
    rows = run('| makeresults count=2 | streamstats count as n | eval m=if(n=1, split("y,x", ","), "z") '
               '| eventstats values(m) as v | table n v', rows=ev())
    assert rows == [{"n": 1, "v": ["x", "y", "z"]}, {"n": 2, "v": ["x", "y", "z"]}]


def test_chart_and_timechart_with_a_split_read_each_value():
    # h = z on both results; g = k (a = 1, 2) and j (a = 1, 2): sum 3 per series, dc 2
    base = ('| makeresults count=2 | streamstats count as n '
            '| eval a=split("1,2", ","), g=if(n=1, "k", "j"), h="z"')
    assert run(base + " | chart sum(a) over h by g", rows=ev()) == [{"h": "z", "j": 3, "k": 3}]
    assert run(base + " | chart dc(a) over h by g", rows=ev()) == [{"h": "z", "j": 2, "k": 2}]
    rows = run(base + " | timechart span=1d count(a) by g", rows=ev())
    assert [(r["j"], r["k"]) for r in rows] == [(2, 2)]


def test_eventstats_reads_each_value():
    # as test_numeric_functions_read_each_value, on each result: group x (n=1, 2) sum 11, count 4,
    # dc 4; group y (n=3, no a) count 0 and sum null
    rows = run(BASE + " | eventstats sum(a) as s count(a) as c dc(a) as d by g | table n s c d", rows=ev())
    assert rows == [{"n": 1, "s": 11, "c": 4, "d": 4}, {"n": 2, "s": 11, "c": 4, "d": 4},
                    {"n": 3, "s": None, "c": 0, "d": 0}]


# chart/timechart split by a multivalue field: a result counts in the series (and row) of each
# of its values, as stats by it does (Search Reference: chart, timechart: the split-by field's
# values name the columns). Four results: n=1 has g = (x, y), n=2 g = x, n=3 g = y, n=4 no g.
SPLIT = ('| makeresults count=4 | streamstats count as n '
         '| eval g=case(n=1, split("x,y", ","), n=2, "x", n=3, "y")')


def test_chart_by_a_multivalue_field_splits_its_values():
    # n=1 is in x and y; n=4 has no g: the NULL series
    assert run(SPLIT + " | chart count over n by g", rows=ev()) == [
        {"n": 1, "NULL": 0, "x": 1, "y": 1}, {"n": 2, "NULL": 0, "x": 1, "y": 0},
        {"n": 3, "NULL": 0, "x": 0, "y": 1}, {"n": 4, "NULL": 1, "x": 0, "y": 0}]
    # over the multivalue field: rows x (n 1, 2: sum 3) and y (n 1, 3: sum 4); n=4 has no row
    assert run(SPLIT + " | eval k=\"k\" | chart sum(n) over g by k", rows=ev()) == [
        {"g": "x", "k": 3}, {"g": "y", "k": 4}]


def test_timechart_by_a_multivalue_field_splits_its_values():
    # all four results in one hour: x = n 1, 2; y = n 1, 3; NULL = n 4
    rows = run(SPLIT + " | timechart span=1h count by g", rows=ev())
    assert [{k: v for k, v in r.items() if k != "_time"} for r in rows] == [{"NULL": 1, "x": 2, "y": 2}]
    rows = run(SPLIT + " | timechart span=1h sum(n) by g", rows=ev())
    assert [{k: v for k, v in r.items() if k != "_time"} for r in rows] == [{"NULL": 4, "x": 3, "y": 4}]


def test_eventstats_of_a_multivalue_field_by_itself():
    # eventstats by a multivalue field groups by each value, as stats does (decision 0045): n=1
    # a = (1, 2, 3) is in groups 1, 2, 3 (each: sum = the value, count 1), written back as lists in
    # the order of its values; n=2 a = 5: group 5; n=3 has no a: no group, null
    rows = run('| makeresults count=3 | streamstats count as n | eval a=case(n=1, split("1,2,3", ","), n=2, "5") '
               '| eventstats sum(a) as s count(a) as c by a | table n s c', rows=ev())
    assert rows == [{"n": 1, "s": ["1", "2", "3"], "c": ["1", "1", "1"]}, {"n": 2, "s": ["5"], "c": ["1"]},
                    {"n": 3, "s": None, "c": None}]


# eventstats by a multivalue field (decision 0045; the eventstats page,
# https://help.splunk.com/splunk-enterprise/spl-search-reference/9.4/search-commands/eventstats, is
# silent): the groups are stats' (a result counts in the group of each value, a repeated value
# twice: dedup_splitvals=false); each result gets, per function, the list of its groups' values in
# the order of its distinct values. Four results: n=1 g = (x, y), a = (1, 2); n=2 g = x, a = 5;
# n=3 g = (y, y), no a; n=4 no g, a = 7; h = p, p, q, q.
ESPLIT = ('| makeresults count=4 | streamstats count as n | eval g=case(n=1, split("x,y", ","), n=2, "x", '
          'n=3, split("y,y", ",")), a=case(n=1, split("1,2", ","), n=2, "5", n=4, "7"), h=if(n<3, "p", "q")')


def test_eventstats_by_a_multivalue_field_writes_each_groups_value():
    # x = n 1, 2: count 2, sum of a 1+2+5 = 8, values(n) 1 2; y = n 1, n 3 twice: count 3, sum 3
    # (n=3 has no a), values(n) 1 3, max(n) 3; n=1 is in x and y; n=4 in no group
    rows = run(ESPLIT + " | eventstats count sum(a) as s values(n) as vn max(n) as hi by g "
                        "| table n count s vn hi", rows=ev())
    assert rows == [
        {"n": 1, "count": ["2", "3"], "s": ["8", "3"], "vn": ["1", "2", "3"], "hi": ["2", "3"]},
        {"n": 2, "count": ["2"], "s": ["8"], "vn": ["1", "2"], "hi": ["2"]},
        {"n": 3, "count": ["3"], "s": ["3"], "vn": ["1", "3"], "hi": ["3"]},
        {"n": 4, "count": None, "s": None, "vn": None, "hi": None}]


def test_eventstats_by_a_single_and_a_multivalue_field_keeps_the_result_order():
    # groups (p, x) = n 1, 2: 2; (p, y) = n 1: 1; (q, y) = n 3 twice: 2; n=4 has no g.
    # A comparison on the lists is true when a value is (n=1: 2 > 1).
    rows = run(ESPLIT + " | sort - n | eventstats count by h g | where count > 1 | table n count", rows=ev())
    assert rows == [{"n": 3, "count": ["2"]}, {"n": 2, "count": ["2"]}, {"n": 1, "count": ["2", "1"]}]


def test_chart_and_timechart_of_a_multivalue_field_keep_results_without_a_value():
    # a = (1, 2, 3), 5, none; k = k, k, z: n=3 keeps its row and its series z (count 0, sum null)
    base = ('| makeresults count=3 | streamstats count as n | eval a=case(n=1, split("1,2,3", ","), n=2, "5"), '
            'k=if(n=3, "z", "k")')
    assert run(base + " | chart count(a) over n by k", rows=ev()) == [
        {"n": 1, "k": 3, "z": 0}, {"n": 2, "k": 1, "z": 0}, {"n": 3, "k": 0, "z": 0}]
    assert run(base + " | chart sum(a) over n by k", rows=ev()) == [
        {"n": 1, "k": 6, "z": None}, {"n": 2, "k": 5, "z": None}, {"n": 3, "k": None, "z": None}]
    rows = run(base + " | timechart span=1h count(a) by k", rows=ev())
    assert [{c: v for c, v in r.items() if c != "_time"} for r in rows] == [{"k": 4, "z": 0}]


# streamstats over a multivalue field: each value counts, as in stats (Search Reference,
# streamstats: the functions of stats over the results seen so far,
# https://help.splunk.com/splunk-enterprise/spl-search-reference/9.4/search-commands/streamstats).
# Four results in order n = 1..4: a = (1, 2, 3), 5, none, (2, 7); g = x, y, x, y.
STREAM = ('| makeresults count=4 | streamstats count as n '
          '| eval a=case(n=1, split("1,2,3", ","), n=2, "5", n=4, split("2,7", ",")), g=if(n%2=1, "x", "y")')


def test_streamstats_reads_each_value():
    # running values: n=1 1,2,3 (sum 6, count 3, max 3, range 2, stdev 1); n=2 adds 5 (sum 11,
    # count 4, dc 4, max 5, range 4, stdev: mean 2.75, squares 3.0625+0.5625+0.0625+5.0625=8.75,
    # /3, sqrt = 1.70783); n=3 adds nothing; n=4 adds 2, 7 (sum 20, count 6, dc 5: 1 2 3 5 7,
    # range 6, stdev: mean 20/6, squares sum 25.3333, /5, sqrt = 2.25093). count (no field) counts results.
    rows = run(STREAM + " | streamstats sum(a) as s count(a) as c dc(a) as d max(a) as hi range(a) as r "
                        "stdev(a) as sd count as k | table n s c d hi r sd k", rows=ev())
    assert [(r["n"], r["s"], r["c"], r["d"], r["hi"], r["r"], r["k"]) for r in rows] == [
        (1, 6, 3, 3, 3, 2, 1), (2, 11, 4, 4, 5, 4, 2), (3, 11, 4, 4, 5, 4, 3), (4, 20, 6, 5, 7, 6, 4)]
    assert [round(r["sd"], 5) for r in rows] == [1.0, 1.70783, 1.70783, 2.25093]


def test_streamstats_window_and_current_count_results_not_values():
    # window=2: this result and the one before, whatever their number of values:
    # n=1 (1,2,3) 6/3; n=2 (1,2,3,5) 11/4; n=3 (5) 5/1; n=4 (nothing, 2, 7) 9/2
    rows = run(STREAM + " | streamstats window=2 sum(a) as s count(a) as c | table n s c", rows=ev())
    assert [(r["s"], r["c"]) for r in rows] == [(6, 3), (11, 4), (5, 1), (9, 2)]
    # current=f: the results before this one: none (sum null, count 0), n=1, n=1..2, n=1..3
    rows = run(STREAM + " | streamstats current=f sum(a) as s count(a) as c | table n s c", rows=ev())
    assert [(r["s"], r["c"]) for r in rows] == [(None, 0), (6, 3), (11, 4), (11, 4)]


def test_streamstats_of_a_multivalue_field_by_groups_and_resets():
    # by g: x = n 1, 3 (values 1, 2, 3 both times: dc 3, min 1, avg 2); y = n 2 (5), n 4 (5, 2, 7:
    # dc 3, min 2, avg 14/3)
    rows = run(STREAM + " | streamstats dc(a) as d min(a) as lo avg(a) as m by g | table n d lo m", rows=ev())
    assert [(r["d"], r["lo"], round(r["m"], 4)) for r in rows] == [
        (3, 1, 2.0), (1, 5, 5.0), (3, 1, 2.0), (3, 2, 4.6667)]
    # window=2 global=f by g: the group's last two results: x 6, 6; y 5, 5+9=14
    rows = run(STREAM + " | streamstats window=2 global=f sum(a) as s by g | table n s", rows=ev())
    assert [r["s"] for r in rows] == [6, 5, 6, 14]
    # reset_after n=2: n=3 starts over (no value: null), n=4 9; a second multivalue field b (1, 1
    # on every result) counts 2, 4, then 2, 4
    rows = run(STREAM + ' | eval b=split("1,1", ",") | streamstats reset_after="(n=2)" sum(a) as s count(b) as cb '
                        '| table n a s cb', rows=ev())
    assert [(r["a"], r["s"], r["cb"]) for r in rows] == [
        (["1", "2", "3"], 6, 2), (["5"], 11, 4), (None, None, 2), (["2", "7"], 9, 4)]


def test_streamstats_first_keeps_the_list_and_time_window_reads_each_value():
    # first() keeps the first result's whole list (as stats' first)
    rows = run(STREAM + " | streamstats first(a) as f | table n f", rows=ev())
    assert [r["f"] for r in rows] == [["1", "2", "3"]] * 4
    # events newest first at 0, -60, -120, -400 s with v = (1, 2), 3, (4, 5), 6; time_window=2m:
    # the newer results within 120 s (far end included): 3; 3+3=6; 3+3+9=15; 6 alone
    events = ev((0, "x v=1;2"), (-60, "x v=3"), (-120, "x v=4;5"), (-400, "x v=6"))
    rows = run('* | rex "v=(?<v>\\S+)" | eval a=split(v, ";") | streamstats time_window=2m sum(a) as s '
               'count(a) as c | table s c', rows=events)
    assert [(r["s"], r["c"]) for r in rows] == [(3, 2), (6, 3), (15, 5), (6, 1)]


def test_eventstats_by_a_multivalue_field_min_max_over_text():
    # x = n 1, 2 (pear, apple: no number -> max pear, min apple); y = n 1, 3 (pear, 7 -> 7)
    rows = run('| makeresults count=3 | streamstats count as n | eval g=case(n=1, split("x,y", ","), n=2, "x", '
               'n=3, "y"), s=case(n=1, "pear", n=2, "apple", n=3, "7") | eventstats max(s) as hi min(s) as lo by g '
               '| table n hi lo', rows=ev())
    assert rows == [{"n": 1, "hi": ["pear", "7"], "lo": ["apple", "7"]}, {"n": 2, "hi": ["pear"], "lo": ["apple"]},
                    {"n": 3, "hi": ["7"], "lo": ["7"]}]


def test_eventstats_dedup_splitvals_and_streamstats_without_the_by_field():
    # dedup_splitvals=t: n=3's (y, y) counts once in y: x = n 1, 2 and y = n 1, 3, both 2
    rows = run(ESPLIT + " | eventstats dedup_splitvals=t count by g | table n count", rows=ev())
    assert [r["count"] for r in rows] == [["2", "2"], ["2"], ["2"], None]
    # streamstats by a field n=2 lacks: n=2 gets nothing; the others run over a = (1, 2), none, 7
    rows = run(ESPLIT + ' | eval k=if(n=2, null(), "p") | streamstats sum(a) as s by k | table n s', rows=ev())
    assert [r["s"] for r in rows] == [3, None, 3, 10]


def test_streamstats_output_named_like_its_field_or_an_earlier_column():
    # `sum(a) as a` replaces the list by the running sum (6, 11, 11: a single value, so a+1 works);
    # `count(a) as n` replaces the earlier n (3, 4, 4 values seen)
    rows = run(STREAM + " | streamstats sum(a) as a count(a) as n | eval b=a+1 | table n a b", rows=ev())
    assert [(r["n"], r["a"], r["b"]) for r in rows] == [(3, 6, 7), (4, 11, 12), (4, 11, 12), (6, 20, 21)]


def test_streamstats_of_a_multivalue_field_reads_it_as_it_came_in():
    # every function reads the results as they came in, even when another output of the same
    # command takes the name of its field or by-field (outputs of STREAM's results by hand):
    # `sum(b) as a count(a)`: b = (1, 1) on every result -> 2, 4, 6, 8; a's values 3, 1, 0, 2 -> 3, 4, 4, 6
    rows = run(STREAM + ' | eval b=split("1,1", ",") | streamstats sum(b) as a count(a) as c | table n a c',
               rows=ev())
    assert [(r["a"], r["c"]) for r in rows] == [(2, 3), (4, 4), (6, 4), (8, 6)]
    # `count as a sum(a)`: a counts results 1..4; the sum reads a's values 6, 11, 11, 20
    rows = run(STREAM + " | streamstats count as a sum(a) as s | table n a s", rows=ev())
    assert [(r["a"], r["s"]) for r in rows] == [(1, 6), (2, 11), (3, 11), (4, 20)]
    # `count as g ... by g`: groups are g's values x (n 1, 3: dc 3, 3) and y (n 2: 5 -> 1; n 4: 5, 2, 7 -> 3)
    rows = run(STREAM + " | streamstats dc(a) as d count as g by g | table n g d", rows=ev())
    assert [(r["g"], r["d"]) for r in rows] == [(1, 3), (1, 1), (2, 3), (2, 3)]


def test_eventstats_output_named_like_its_multivalue_by_field():
    # ESPLIT's g: n=1 (x, y), n=2 x, n=3 (y, y), n=4 none; without dedup_splitvals y counts n=1
    # once and n=3 twice. `count as g by g` replaces g by each result's groups' counts:
    # x 2, y 3; `sum(a) as g by g`: x = 1+2+5 = 8, y = 1+2 = 3 (n=3 has no a)
    rows = run(ESPLIT + " | eventstats count as g by g | table n g", rows=ev())
    assert [r["g"] for r in rows] == [["2", "3"], ["2"], ["3"], None]
    rows = run(ESPLIT + " | eventstats sum(a) as g by g | table n g", rows=ev())
    assert [r["g"] for r in rows] == [["8", "3"], ["8"], ["3"], None]
