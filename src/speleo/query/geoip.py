"""IP geolocation for the `iplocation` command (Splunk Search Reference: iplocation).

The database is a MaxMind DB file (GeoLite2-City or GeoIP2-City layout) read with `maxminddb`:
the one named by the environment variable `SPELEO_GEOIP_DB` when set (a current GeoLite2-City
download from MaxMind, say), else the GeoLite2-City database of the `maxminddb-geolite2`
package, a dependency of Speleo (MaxMind's build of July 2018: cities and networks move, so a
team that needs today's answers points `SPELEO_GEOIP_DB` at a current file). The file is
memory-mapped once per process and only when a search first asks.

`lookup(ip, field, lang)` gives one of Splunk's iplocation fields as text:
- `City`, `Country`, `Region` (the first subdivision), `Continent`: names in `lang` (`en`
  when the database has no name in that language), "" when the database knows the address but
  not that part (Splunk: "an event can have empty field values");
- `lat`, `lon`: the location's latitude and longitude in degrees; `MetroCode` (US only) and
  `Timezone` (IANA name), "" when unknown;
- None (no field) for an address the database does not hold (private and reserved ranges,
  Splunk: "no fields are added") or a value that is not an IP address. A subnet in CIDR
  notation (`203.0.113.0/24`) is looked up by its network address.
Results are cached (`CACHE_ENTRIES` addresses). Raises `GeoIPUnavailable` when no database can
be opened (the message says how to get one).
"""

from __future__ import annotations

import ipaddress
import os
import threading
from functools import lru_cache

ENV = "SPELEO_GEOIP_DB"
FIELDS = ("City", "Country", "Region", "lat", "lon")            # iplocation's default
ALL_FIELDS = ("City", "Continent", "Country", "MetroCode", "Region", "Timezone", "lat", "lon")  # allfields=true
CACHE_ENTRIES = 65_536
MAX_INPUT_CHARS = 64   # longer values are not addresses: not parsed at all

_lock = threading.Lock()
_reader = None


class GeoIPUnavailable(Exception):
    """No GeoIP database could be opened."""


def database_path() -> str:
    """The MaxMind DB file used (see the module's docstring); raises GeoIPUnavailable."""
    path = os.environ.get(ENV)
    if path:
        return path
    try:
        from _maxminddb_geolite2 import geolite2_database
    except ImportError:
        raise GeoIPUnavailable(
            "iplocation needs a GeoIP database: install the maxminddb-geolite2 package, or set "
            f"{ENV} to a GeoLite2-City .mmdb file") from None
    return geolite2_database()


def open_reader():
    """The MaxMind DB reader of this process, opened on first use; raises GeoIPUnavailable."""
    global _reader
    with _lock:
        if _reader is None:
            import maxminddb

            path = database_path()
            try:
                _reader = maxminddb.open_database(path)
            except (OSError, ValueError, RuntimeError) as e:   # RuntimeError: maxminddb.InvalidDatabaseError
                raise GeoIPUnavailable(f"iplocation: the GeoIP database {path} cannot be read ({e}); "
                                       f"set {ENV} to a GeoLite2-City .mmdb file") from None
        return _reader


@lru_cache(maxsize=CACHE_ENTRIES)
def record(ip: str) -> dict | None:
    """The database's record for `ip` (an address, or a CIDR subnet), None when there is none."""
    text = ip.strip()
    if not text or len(text) > MAX_INPUT_CHARS:
        return None
    try:
        address = ipaddress.ip_network(text, strict=False).network_address if "/" in text \
            else ipaddress.ip_address(text)
    except ValueError:
        return None
    found = open_reader().get(address)
    return found if isinstance(found, dict) else None


def _name(part: dict | None, lang: str) -> str:
    names = (part or {}).get("names") or {}
    return names.get(lang) or names.get("en") or ""


def lookup(ip: str | None, field: str, lang: str | None = None) -> str | None:
    """One iplocation field of `ip` as text (see the module's docstring)."""
    if ip is None:
        return None
    rec = record(ip)
    if rec is None:
        return None
    lang = lang or "en"
    location = rec.get("location") or {}
    if field == "City":
        return _name(rec.get("city"), lang)
    if field == "Country":
        return _name(rec.get("country"), lang)
    if field == "Region":
        subdivisions = rec.get("subdivisions") or [None]
        return _name(subdivisions[0], lang)
    if field == "Continent":
        return _name(rec.get("continent"), lang)
    if field in ("lat", "lon"):
        value = location.get("latitude" if field == "lat" else "longitude")
        return "" if value is None else repr(round(float(value), 4))   # MaxMind: 4 decimal places
    if field == "MetroCode":
        value = location.get("metro_code")
        return "" if value is None else str(value)
    if field == "Timezone":
        return location.get("time_zone") or ""
    raise ValueError(f"unknown iplocation field {field!r}")
