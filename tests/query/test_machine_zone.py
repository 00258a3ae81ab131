"""The machine's zone by its IANA name (query/timefmt.py machine_zone): with a fixed offset
instead, a server in New York would put its day buckets an hour off all summer."""

from __future__ import annotations

import datetime as dt

import pytest

from speleo.query.timefmt import local_zone, machine_zone
from speleo.spl.state import tz_name


@pytest.mark.parametrize("env, name", [("America/New_York", "America/New_York"), (":Europe/Paris", "Europe/Paris")])
def test_tz_variable_naming_a_zone_gives_that_zone(monkeypatch, env, name):
    monkeypatch.setenv("TZ", env)
    zone = local_zone()
    assert tz_name(zone) == name
    # January and July offsets differ: the zone keeps its daylight saving time
    assert dt.datetime(2024, 1, 15, tzinfo=zone).utcoffset() != dt.datetime(2024, 7, 15, tzinfo=zone).utcoffset()


@pytest.mark.parametrize("env", ["EST5EDT,M3.2.0,M11.1.0", "/etc/passwd", "../../etc/x", "No/Such_Zone"])
def test_tz_variable_that_names_no_zone_falls_back(monkeypatch, env):
    monkeypatch.setenv("TZ", env)
    assert machine_zone() is None
    zone = local_zone()   # a fixed offset, as before: the same in January and July
    assert dt.datetime(2024, 1, 15, tzinfo=zone).utcoffset() == dt.datetime(2024, 7, 15, tzinfo=zone).utcoffset()


def test_a_named_zone_wins_over_the_machine(monkeypatch):
    monkeypatch.setenv("TZ", "America/New_York")
    assert tz_name(local_zone("Asia/Tokyo")) == "Asia/Tokyo"


@pytest.mark.parametrize("env, name", [("posix/Europe/Paris", "Europe/Paris"), (":right/America/New_York", "America/New_York")])
def test_posix_and_right_zones_are_read_as_the_zone(monkeypatch, env, name):
    monkeypatch.setenv("TZ", env)
    assert tz_name(local_zone()) == name


@pytest.mark.parametrize("env", ["localtime", "posixrules"])
def test_a_zone_python_knows_but_duckdb_does_not_falls_back(monkeypatch, env):
    """Python's tz database has these names, DuckDB's ICU data has not: with one as the zone's
    name, every search that converts a time (timechart span=1d, strftime) failed with "Unknown
    TimeZone"."""
    import os

    import duckdb

    if not os.path.exists(f"/usr/share/zoneinfo/{env}"):
        pytest.skip(f"no /usr/share/zoneinfo/{env} here")
    monkeypatch.setenv("TZ", env)
    zone = machine_zone()
    if zone is not None:   # a name DuckDB knows, then
        duckdb.connect().execute("SELECT timezone($1, to_timestamp(0))", [tz_name(zone)])
