"""iplocation (Splunk Search Reference: iplocation,
https://help.splunk.com/en/splunk-enterprise/spl-search-reference/9.4/search-commands/iplocation):
City, Country, Region, lat, lon from a GeoIP database; allfields adds Continent, MetroCode,
Timezone; prefix= and lang=; "for IP addresses which do not have a location, such as internal
addresses, no fields are added".

The database is the GeoLite2-City build of July 2018 shipped by the maxminddb-geolite2
package. The expected values are those of MaxMind's own documented test address 81.2.69.142
(a London network) and of Google's public resolvers as that build records them, read once
with `mmdblookup`-style access to the raw records and written here by hand."""

from __future__ import annotations

import pytest

from speleo.errors import SplError
from speleo.query import geoip
from tests.spl.golden._util import ev, run

EVENTS = ev((-10, "GET / from 81.2.69.142", "web1", "access"), (-20, "GET / from 10.1.2.3", "web1", "access"),
            (-30, "GET / from 8.8.8.8", "web2", "access"), (-40, "GET / from 2001:4860:4860::8888", "web2", "access"))


@pytest.fixture(autouse=True)
def packaged_database(monkeypatch):
    monkeypatch.delenv(geoip.ENV, raising=False)
    monkeypatch.setattr(geoip, "_reader", None)
    geoip.record.cache_clear()
    yield
    geoip.record.cache_clear()


def test_default_fields_and_no_fields_for_a_private_address():
    rows = run('* | rex "from (?<ip>\\S+)" | iplocation ip | table ip City Country Region lat lon', rows=EVENTS)
    assert rows == [
        {"ip": "81.2.69.142", "City": "Willesden", "Country": "United Kingdom", "Region": "England",
         "lat": 51.5333, "lon": -0.2333},
        {"ip": "10.1.2.3", "City": None, "Country": None, "Region": None, "lat": None, "lon": None},
        # the 2018 build places 8.8.8.8 in the United States without a city or a state
        {"ip": "8.8.8.8", "City": "", "Country": "United States", "Region": "", "lat": 37.751, "lon": -97.822},
        {"ip": "2001:4860:4860::8888", "City": "Mountain View", "Country": "United States", "Region": "California",
         "lat": 37.4192, "lon": -122.0574},
    ]


def test_allfields_prefix_and_lang():
    rows = run('| makeresults | eval src="81.2.69.142/24" | iplocation prefix=geo_ allfields=true lang=de src '
               '| table geo_*')
    assert rows == [{"geo_City": "Willesden", "geo_Continent": "Europa", "geo_Country": "Vereinigtes Königreich",
                     "geo_MetroCode": "", "geo_Region": "England", "geo_Timezone": "Europe/London",
                     "geo_lat": 51.5333, "geo_lon": -0.2333}]


def test_on_results_and_in_later_commands():
    rows = run('* | rex "from (?<ip>\\S+)" | stats count by ip host | iplocation ip '
               '| stats count by Country | sort Country', rows=EVENTS)
    # the private address has no Country: stats by Country leaves it out
    assert rows == [{"Country": "United Kingdom", "count": 1}, {"Country": "United States", "count": 2}]
    rows = run('* | rex "from (?<ip>\\S+)" | iplocation ip | where lat > 40 | table ip', rows=EVENTS)
    assert rows == [{"ip": "81.2.69.142"}]


def test_not_an_address_gets_no_fields():
    rows = run('| makeresults | eval ip=split("not-an-ip,999.1.1.1,", ",") | mvexpand ip | iplocation ip '
               '| table ip Country')
    assert [r["Country"] for r in rows] == [None, None, None]


def test_clear_errors(monkeypatch, tmp_path):
    with pytest.raises(SplError, match="needs 1 field name"):
        run("| makeresults | iplocation")
    with pytest.raises(SplError, match="not supported"):
        run("| makeresults | eval ip=\"1.2.3.4\" | iplocation db=x ip")
    monkeypatch.setenv(geoip.ENV, str(tmp_path / "missing.mmdb"))
    with pytest.raises(SplError, match="cannot be read.*SPELEO_GEOIP_DB"):
        run('| makeresults | eval ip="81.2.69.142" | iplocation ip')


def test_a_file_that_is_not_a_database_gives_the_clear_error(monkeypatch, tmp_path):
    bad = tmp_path / "bad.mmdb"
    bad.write_bytes(b"not a maxmind database" * 100)
    monkeypatch.setenv(geoip.ENV, str(bad))
    with pytest.raises(SplError, match="cannot be read.*SPELEO_GEOIP_DB"):
        run('| makeresults | eval ip="81.2.69.142" | iplocation ip')


def test_a_private_address_keeps_the_fields_it_had():
    rows = run('| makeresults | eval ip="10.1.2.3", City="Lyon" | iplocation ip | table City Country')
    assert rows == [{"City": "Lyon", "Country": None}]
