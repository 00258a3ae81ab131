"""min()/max() over text values in chart, timechart, tstats and geostats, as in stats.

Splunk Search Reference, "Aggregate functions", max(<value>)/min(<value>): values compare as
numbers when they can; "if the values in the field are non-numeric, the maximum value is found
using lexicographical ordering":
https://help.splunk.com/splunk-enterprise/spl-search-reference/9.2/statistical-and-charting-functions/aggregate-functions
Speleo as in stats (docs/spl.md): a group with a number takes the numbers' min/max, a group with
none the lexicographic one; a column where some group has no number holds text (numbers written
as Splunk prints them).

Events (offset, host, sourcetype; newest first):
  -10 web1 app    g=lo s=pear       -40 web1 auth   g=hi s=12
  -20 web2 access g=lo s=apple      -50 db2  app    g=hi s=3
  -30 db1  access g=hi s=fig
20 s buckets from NOW = 1,700,000,000: -10 and -20 in ...980, -30 and -40 in ...960, -50 in ...940.
"""

from __future__ import annotations

from tests.spl.golden._util import NOW, ev, run

EVENTS = ev((-10, "g=lo s=pear", "web1", "app"), (-20, "g=lo s=apple", "web2", "access"),
            (-30, "g=hi s=fig", "db1", "access"), (-40, "g=hi s=12", "web1", "auth"),
            (-50, "g=hi s=3", "db2", "app"))


def rows(query: str, *cols: str, events=EVENTS) -> list[tuple]:
    return [tuple(r[c] for c in cols) for r in run(query, rows=events)]


def test_chart_by_one_field():
    # hi: fig, 12, 3 -> numbers 12 and 3; lo: pear, apple -> no number: pear / apple
    assert rows("* | chart max(s) as hi_s min(s) as lo_s by g", "g", "hi_s", "lo_s") == [
        ("hi", "12", "3"), ("lo", "pear", "apple")]


def test_timechart_without_by():
    # ...940: 3; ...960: fig, 12 -> 12; ...980: pear, apple -> pear / apple
    got = rows("* | timechart span=20s max(s) as top min(s) as bottom", "_time", "top", "bottom")
    assert got == [(NOW - 60, "3", "3"), (NOW - 40, "12", "12"), (NOW - 20, "pear", "apple")]
    # the commands after timechart read the text
    got = rows('* | timechart span=20s max(s) as top | eval t=top."!" | table _time t', "t")
    assert got == [("3!",), ("12!",), ("pear!",)]


def test_timechart_by_a_field():
    # hi: ...940 3, ...960 12 (fig, 12); lo: ...980 pear; the column of values holds text (lo has none)
    got = run("* | timechart span=20s max(s) by g", rows=EVENTS)
    assert got == [{"_time": NOW - 60, "hi": "3", "lo": None}, {"_time": NOW - 40, "hi": "12", "lo": None},
                   {"_time": NOW - 20, "hi": None, "lo": "pear"}]
    # limit=1: series by event count, hi (3) kept, lo into OTHER: its min of pear, apple is apple
    got = run("* | timechart span=20s limit=1 min(s) by g", rows=EVENTS)
    assert got == [{"_time": NOW - 60, "hi": "3", "OTHER": None}, {"_time": NOW - 40, "hi": "12", "OTHER": None},
                   {"_time": NOW - 20, "hi": None, "OTHER": "apple"}]


def test_tstats_over_indexed_fields():
    # hosts web1, web2, db1, web1, db2 -> max web2, min db1; sourcetypes -> min access, max auth
    assert rows("| tstats max(host) as h min(host) as l min(sourcetype) as st max(sourcetype) as su "
                "where index=main", "h", "l", "st", "su") == [("web2", "db1", "access", "auth")]
    # by sourcetype: access web2, db1 -> web2; app web1, db2 -> web1; auth web1
    assert rows("| tstats max(host) as h where index=main by sourcetype", "sourcetype", "h") == [
        ("access", "web2"), ("app", "web1"), ("auth", "web1")]


GEO = ev("lat=10 lon=20 k=a", "lat=12 lon=24 k=b", "lat=-30 lon=-100 k=c", "lat=-30.5 lon=-99 k=7")


def test_geostats():
    # zoom level 0 (22.5 x 45 degrees): lat 10, 12 -> row 4 (100/22.5, 102/22.5), lon 20, 24 -> column 4;
    # lat -30, -30.5 -> row 2, lon -100, -99 -> column 1. Cell (2,1): c and 7 -> the number 7;
    # cell (4,4): a, b -> no number: max b, min a
    got = rows("* | geostats max(k) as mk min(k) as lk maxzoomlevel=0", "geobin", "mk", "lk", events=GEO)
    assert got == [("bin_id_zl_0_y_2_x_1", "7", "7"), ("bin_id_zl_0_y_4_x_4", "b", "a")]


def test_eventstats_over_results():
    # by g: hi = fig, 12, 3 -> numbers 12 / 3; lo = pear, apple -> pear / apple; the column holds
    # text (lo has no number), on every result of the group
    assert rows("* | table g s host | eventstats max(s) as top min(s) as bottom by g | table g s top bottom",
                "s", "top", "bottom") == [
        ("pear", "pear", "apple"), ("apple", "pear", "apple"), ("fig", "12", "3"), ("12", "12", "3"),
        ("3", "12", "3")]
    # the commands after it read the text
    assert rows("* | table g s host | eventstats max(s) as top by g | where s=top | table g s", "g", "s") == [
        ("lo", "pear"), ("hi", "12")]
    # by host: web1 = pear, 12 -> 12; web2 apple; db1 fig; db2 3
    assert rows("* | table g s host | eventstats max(s) as top by host | table top", "top") == [
        ("12",), ("apple",), ("fig",), ("12",), ("3",)]
    # every result has a number in its group: the numbers stay numbers
    assert rows("* | table g s host | eventstats max(s) as top | table top", "top") == [(12,)] * 5


def test_eventstats_over_events_reads_numbers_only():
    # over events min()/max() stay numeric (text over events would carry every event through the
    # post step): group lo (pear, apple) has none -> null; hi (fig, 12, 3) -> 12 / 3
    assert rows("* | eventstats max(s) as top min(s) as bottom by g | table g s top bottom",
                "s", "top", "bottom") == [
        ("pear", None, None), ("apple", None, None), ("fig", 12, 3), ("12", 12, 3), ("3", 12, 3)]


def test_chart_with_a_column_split():
    # cells (g, host): hi/db1 fig, hi/db2 3, hi/web1 12, lo/web1 pear, lo/web2 apple; rows in
    # order, columns sorted by name, missing cells null; every cell holds text
    assert run("* | chart max(s) over g by host", rows=EVENTS) == [
        {"g": "hi", "db1": "fig", "db2": "3", "web1": "12", "web2": None},
        {"g": "lo", "db1": None, "db2": None, "web1": "pear", "web2": "apple"}]
    # the other way round, min; the commands after chart see the series columns
    assert run("* | chart min(s) over host by g | eval z=hi.\"!\" | table host z", rows=EVENTS) == [
        {"host": "db1", "z": "fig!"}, {"host": "db2", "z": "3!"}, {"host": "web1", "z": "12!"},
        {"host": "web2", "z": None}]
    # numbers only (the length of s): the cells stay numbers
    assert run("* | eval n=len(s) | chart max(n) over g by host", rows=EVENTS) == [
        {"g": "hi", "db1": 3, "db2": 1, "web1": 2, "web2": None},
        {"g": "lo", "db1": None, "db2": None, "web1": 4, "web2": 5}]
