"""geostats against Splunk's Search Reference (9.4, search-commands/geostats); expected values
worked out by hand below.

The grid: at zoom level z a cell is 22.5 / 2^z degrees of latitude by 45 / 2^z of longitude
(the defaults binspanlat=22.5, binspanlong=45: 8x8 cells at level 0), row = floor((lat + 90) *
2^z / 22.5), column = floor((lon + 180) * 2^z / 45), the edge 90 / 180 in the last cell.

Events (newest first):
  1 lat=10    lon=20   k=a bytes=100   level 0: row floor(100/22.5)=4, col floor(200/45)=4
  2 lat=12    lon=24   k=a bytes=300   level 0: (4, 4)   [102/22.5=4.53, 204/45=4.53]
  3 lat=11    lon=22   k=b bytes=50    level 0: (4, 4)   [101/22.5=4.49, 202/45=4.49]
  4 lat=-30   lon=-100 k=b bytes=10    level 0: (2, 1)   [60/22.5=2.67, 80/45=1.78]
  5 lat=-30.5 lon=-99  k=c bytes=1     level 0: (2, 1)   [59.5/22.5=2.64, 81/45=1.8]
  6 lat=95    lon=0    k=a             latitude out of range: left out
  7 k=a bytes=5                        no coordinates: left out
  8 lat=90    lon=180  k=d bytes=7     level 0: (7, 7)   [180/22.5=8 and 360/45=8: the last cell, 7]
"""

from __future__ import annotations

import pytest

from speleo.errors import InputError, SplError
from speleo.query import geoip
from tests.spl.golden._util import ev, run

EVENTS = ev("lat=10 lon=20 k=a bytes=100", "lat=12 lon=24 k=a bytes=300", "lat=11 lon=22 k=b bytes=50",
            "lat=-30 lon=-100 k=b bytes=10", "lat=-30.5 lon=-99 k=c bytes=1", "lat=95 lon=0 k=a bytes=9",
            "k=a bytes=5", "lat=90 lon=180 k=d bytes=7")


def table(query: str) -> list[dict]:
    return run(query, rows=EVENTS)


def test_count_per_cell_with_the_mean_of_its_points():
    # (2,1): events 4, 5: lat (-30 - 30.5)/2 = -30.25, lon (-100 - 99)/2 = -99.5
    # (4,4): events 1, 2, 3: lat (10 + 12 + 11)/3 = 11, lon (20 + 24 + 22)/3 = 22
    # (7,7): event 8 alone
    assert table("* | geostats count maxzoomlevel=0") == [
        {"geobin": "bin_id_zl_0_y_2_x_1", "count": 2, "latitude": -30.25, "longitude": -99.5},
        {"geobin": "bin_id_zl_0_y_4_x_4", "count": 3, "latitude": 11.0, "longitude": 22.0},
        {"geobin": "bin_id_zl_0_y_7_x_7", "count": 1, "latitude": 90.0, "longitude": 180.0},
    ]


def test_each_zoom_level_doubles_the_cells_in_both_dimensions():
    # level 1 (11.25 x 22.5 degrees): lat 10 -> 200/22.5 = 8.9 -> 8, lat 12 -> 9.07 -> 9, lat 11 -> 8.98 -> 8;
    # lon 20 -> 400/45 = 8.9 -> 8, lon 24 -> 9.07 -> 9, lon 22 -> 8.98 -> 8: events 1 and 3 share (8,8),
    # event 2 is alone in (9,9); events 4, 5: 120/22.5 = 5.3, 119/22.5 = 5.3 -> row 5, 160/45 = 3.6,
    # 162/45 = 3.6 -> column 3; event 8: the last cell of 16 x 16, (15,15)
    rows = table("* | geostats count maxzoomlevel=1")
    assert [(r["geobin"], r["count"]) for r in rows] == [
        ("bin_id_zl_0_y_2_x_1", 2), ("bin_id_zl_0_y_4_x_4", 3), ("bin_id_zl_0_y_7_x_7", 1),
        ("bin_id_zl_1_y_5_x_3", 2), ("bin_id_zl_1_y_8_x_8", 2), ("bin_id_zl_1_y_9_x_9", 1),
        ("bin_id_zl_1_y_15_x_15", 1)]
    assert rows[4]["latitude"] == 10.5 and rows[4]["longitude"] == 21.0   # events 1 and 3


def test_ten_zoom_levels_by_default_each_counting_every_event():
    # "Default: 9. Specifies that 10 zoom levels are created, 0-9": the 6 events with coordinates
    # are counted once at each level; the commands after geostats read its rows
    rows = table('* | geostats count | rex field=geobin "bin_id_zl_(?<zl>\\d+)_" '
                 '| stats sum(count) as n dc(geobin) as cells by zl | sort num(zl)')
    assert [(int(r["zl"]), r["n"]) for r in rows] == [(z, 6) for z in range(10)]
    # levels 1-4: events 1 and 3 share a cell, as do 4 and 5 (1 and 0.5 degrees apart); from
    # level 5 on (22.5/32 = 0.70 degrees tall, 100*32/22.5 = 142.2 vs 101*32/22.5 = 143.6, and
    # 60*32/22.5 = 85.3 vs 59.5*32/22.5 = 84.6) every event sits alone
    assert [r["cells"] for r in rows] == [3, 4, 4, 4, 4, 6, 6, 6, 6, 6]


def test_by_gives_a_column_per_series_and_globallimit_merges_the_rest_into_OTHER():
    # counts: a 2 (events 1, 2), b 2 (3, 4), c 1, d 1: globallimit=2 keeps a and b; c and d are
    # added into OTHER; an empty count cell is 0
    assert table("* | geostats count by k globallimit=2 maxzoomlevel=0") == [
        {"geobin": "bin_id_zl_0_y_2_x_1", "a": 0, "b": 1, "OTHER": 1, "latitude": -30.25, "longitude": -99.5},
        {"geobin": "bin_id_zl_0_y_4_x_4", "a": 2, "b": 1, "OTHER": 0, "latitude": 11.0, "longitude": 22.0},
        {"geobin": "bin_id_zl_0_y_7_x_7", "a": 0, "b": 0, "OTHER": 1, "latitude": 90.0, "longitude": 180.0},
    ]


def test_other_functions_leave_empty_cells_empty_and_several_name_their_columns():
    # sum(bytes): (4,4) a = 100 + 300, b = 50; (2,1) b = 10, c = 1; (7,7) d = 7
    rows = table("* | geostats sum(bytes) by k maxzoomlevel=0")
    assert [[r[s] for s in ("a", "b", "c", "d")] for r in rows] == [
        [None, 10, 1, None], [400, 50, None, None], [None, None, None, 7]]
    rows = table("* | geostats max(bytes) AS top count by k maxzoomlevel=0 globallimit=1")
    # globallimit=1 by the first function's total: max a = 300 (level 0 has one a cell),
    # b = 10 + 50, c = 1, d = 7 -> a; OTHER adds the rest up, max() too ("only works
    # intuitively for count and additive statistics")
    assert list(rows[1]) == ["geobin", "top: a", "count: a", "top: OTHER", "count: OTHER", "latitude", "longitude"]
    assert [(r["top: a"], r["count: a"], r["top: OTHER"], r["count: OTHER"]) for r in rows] == [
        (None, 0, 11, 2), (300, 2, 50, 1), (None, 0, 7, 1)]


def test_locallimit_keeps_the_largest_series_of_each_cell():
    # locallimit=1: (2,1) b 1 and c 1 tie -> b (by name), c into OTHER; (4,4) a 2 -> kept, b into OTHER
    rows = table("* | geostats count by k locallimit=1 maxzoomlevel=0")
    assert [[r[s] for s in ("a", "b", "c", "d", "OTHER")] for r in rows] == [
        [0, 1, 0, 0, 1], [2, 0, 0, 0, 1], [0, 0, 0, 1, 0]]


def test_translatetoxy_false_gives_a_row_per_cell_and_series():
    rows = table("* | geostats translatetoxy=false count by k maxzoomlevel=0")
    assert [(r["geobin"], r["k"], r["count"]) for r in rows] == [
        ("bin_id_zl_0_y_2_x_1", "b", 1), ("bin_id_zl_0_y_2_x_1", "c", 1), ("bin_id_zl_0_y_4_x_4", "a", 2),
        ("bin_id_zl_0_y_4_x_4", "b", 1), ("bin_id_zl_0_y_7_x_7", "d", 1)]


def test_field_options_and_bin_spans():
    # binspanlat=90 binspanlong=180: a 2 x 2 grid; rows (lat + 90) / 90, columns (lon + 180) / 180:
    # events 1, 2, 3 -> (1, 1), 4 and 5 -> (0, 0), 8 -> (1, 1) (the edge)
    rows = table("* | eval la=lat, lo=lon | geostats latfield=la longfield=lo outputlatfield=y outputlongfield=x "
                 "binspanlat=90 binspanlong=180 maxzoomlevel=0 count")
    assert rows == [{"geobin": "bin_id_zl_0_y_0_x_0", "count": 2, "y": -30.25, "x": -99.5},
                    {"geobin": "bin_id_zl_0_y_1_x_1", "count": 4, "y": 30.75, "x": 61.5}]   # (33 + 90)/4, (66 + 180)/4


@pytest.fixture
def packaged_database(monkeypatch):
    monkeypatch.delenv(geoip.ENV, raising=False)
    monkeypatch.setattr(geoip, "_reader", None)
    geoip.record.cache_clear()
    yield
    geoip.record.cache_clear()


def test_after_iplocation(packaged_database):
    # test_iplocation.py's addresses: London 51.5333, -0.2333 -> level 0 (141.5/22.5 = 6.3, 179.8/45 = 3.99)
    # = (6, 3); 8.8.8.8 37.751, -97.822 and 2001:4860:4860::8888 37.4192, -122.0574 -> (5, 1); 10.1.2.3 none
    events = ev("from 81.2.69.142", "from 10.1.2.3", "from 8.8.8.8", "from 2001:4860:4860::8888")
    rows = run('* | rex "from (?<ip>\\S+)" | iplocation ip | geostats count maxzoomlevel=0', rows=events)
    assert [(r["geobin"], r["count"]) for r in rows] == [("bin_id_zl_0_y_5_x_1", 2), ("bin_id_zl_0_y_6_x_3", 1)]
    assert rows[0]["latitude"] == pytest.approx((37.751 + 37.4192) / 2)
    assert rows[0]["longitude"] == pytest.approx((-97.822 - 122.0574) / 2)


def test_rows_are_bounded_by_whole_zoom_levels(monkeypatch):
    from speleo.query.post import collect_messages
    from speleo.spl.commands import geostats

    # level 0 has 3 cells, level 1 has 4: with room for 3, level 1 is left out whole
    monkeypatch.setattr(geostats, "MAX_CELLS", 3)
    with collect_messages() as said:
        rows = table("* | geostats count maxzoomlevel=1")
    assert [r["geobin"] for r in rows] == ["bin_id_zl_0_y_2_x_1", "bin_id_zl_0_y_4_x_4", "bin_id_zl_0_y_7_x_7"]
    assert any("zoom levels 1 and above are left out" in m for m in said)
    monkeypatch.setattr(geostats, "MAX_CELLS", 2)
    with pytest.raises(InputError, match="more than 2 cells at zoom level 0"):
        table("* | geostats count maxzoomlevel=1")


@pytest.mark.parametrize("query, why", [
    ("* | geostats", "needs a statistical function"),
    ("* | geostats maxzoomlevel=3", "needs a statistical function"),
    ("* | geostats count maxzoomlevel=21", "maxzoomlevel=21: expected a whole number from 0 to 20"),
    ("* | geostats binspanlat=0 count", "binspanlat=0: expected a number of degrees from 0.0001"),
    ("* | geostats binspanlat=1e-300 count", "from 0.0001 to 180"),
    ("* | geostats count as latitude", "'latitude' is used twice"),
    ("* | geostats binspanlong=400 count", "to 360"),
    ("* | geostats globallimit=-1 count", "globallimit=-1"),
    ("* | geostats count by k host", "one by-field"),
    ("* | geostats colour=red count", "unknown option 'colour'"),
    ("* | geostats translatetoxy=maybe count", "expected true or false"),
    ("* | geostats count count", "same name"),
])
def test_errors_say_what_is_wrong(query, why):
    with pytest.raises(SplError, match=why):
        table(query)
