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
    assert local_zone() is not None   # a fixed offset, as before


def test_a_named_zone_wins_over_the_machine(monkeypatch):
    monkeypatch.setenv("TZ", "America/New_York")
    assert tz_name(local_zone("Asia/Tokyo")) == "Asia/Tokyo"
