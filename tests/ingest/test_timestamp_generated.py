"""Generated files per timestamp family: 600 random times each (2001-2024, or the year before the
clock for year-less layouts), written with `datetime.strftime`, message bodies that hold numbers
and dates of their own. Every event must come back at the time that was written (>= 99.5%)."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import pytest

from speleo import sourcetypes
from speleo.ingest.breaking import EventParser

NOW = datetime(2024, 6, 1, tzinfo=timezone.utc)
EARLIEST = datetime(2001, 9, 10, tzinfo=timezone.utc)
N = 600


def _ms(t: datetime) -> str:
    return f"{t.microsecond // 1000:03d}"


# (name, year-less, function writing the timestamp of a UTC datetime, resolution in seconds)
FAMILIES = [
    ("rfc3339", False, lambda t: t.strftime("%Y-%m-%dT%H:%M:%S.") + _ms(t) + "Z", 1e-3),
    ("log4j", False, lambda t: t.strftime("%Y-%m-%d %H:%M:%S,") + _ms(t), 1e-3),
    ("offset", False, lambda t: (t + timedelta(hours=5, minutes=30)).strftime("%Y-%m-%dT%H:%M:%S+05:30"), 1),
    ("ymd_slash", False, lambda t: t.strftime("%Y/%m/%d %H:%M:%S"), 1),
    ("compact", False, lambda t: t.strftime("%Y%m%d %H%M%S"), 1),
    ("compact_colon", False, lambda t: t.strftime("%Y%m%d-%H:%M:%S:") + str(t.microsecond // 1000), 1e-3),
    ("mdy", False, lambda t: t.strftime("%m/%d/%Y %H:%M:%S"), 1),
    ("dmy", False, lambda t: t.strftime("%d/%m/%Y %H:%M:%S"), 1),
    ("dmy_dot", False, lambda t: t.strftime("%d.%m.%Y %H:%M:%S"), 1),
    ("us_ampm", False, lambda t: f"{t.month}/{t.day}/{t.year} {t.hour % 12 or 12}:{t:%M:%S} {t:%p}", 1),
    ("access", False, lambda t: t.strftime("[%d/%b/%Y:%H:%M:%S +0000]"), 1),
    ("tomcat", False, lambda t: t.strftime("%d-%b-%Y %H:%M:%S.") + _ms(t), 1e-3),
    ("rfc2822", False, lambda t: t.strftime("%a, %d %b %Y %H:%M:%S GMT"), 1),
    ("ctime", False, lambda t: t.strftime("%a %b ") + f"{t.day:2d}" + t.strftime(" %H:%M:%S %Y"), 1),
    ("mon_dd_yyyy", False, lambda t: t.strftime("%b %d %Y %H:%M:%S"), 1),
    ("jul", False, lambda t: f"{t:%b} {t.day}, {t.year} {t.hour % 12 or 12}:{t:%M:%S} {t:%p}", 1),
    ("epoch", False, lambda t: f"{t.timestamp():.3f}", 1e-3),
    ("epoch_ms", False, lambda t: str(int(t.timestamp() * 1000)), 1e-3),
    ("syslog", True, lambda t: t.strftime("%b ") + f"{t.day:2d}" + t.strftime(" %H:%M:%S"), 1),
    ("android", True, lambda t: t.strftime("%m-%d %H:%M:%S.") + _ms(t), 1e-3),
    ("proxifier", True, lambda t: t.strftime("[%m.%d %H:%M:%S]"), 1),
    ("glog", True, lambda t: t.strftime("I%m%d %H:%M:%S.%f"), 1e-6),
]
BODIES = [
    "GET /api/v1/items/{n} 200 took {n}ms",
    "job {n} finished, next run at 1614830000123",
    "user=bob{n} session={n}{n} ok",
    "retry {n} of 5 after 2021-03-04 05:06:07",
    "value={n}.{n} count={n}",
]


def _times(rng: random.Random, yearless: bool) -> list[datetime]:
    lo = NOW - timedelta(days=360) if yearless else EARLIEST
    span = (NOW - lo).total_seconds()
    return [lo + timedelta(seconds=rng.uniform(0, span)) for _ in range(N)]


def run_family(name: str, yearless: bool, write, resolution: float) -> tuple[str, int, int, int]:
    """(sourcetype, events at the written time, events, events in the future) of one family."""
    rng = random.Random(name)
    times = _times(rng, yearless)
    lines = [f"{write(t)} {rng.choice(BODIES).format(n=rng.randint(1, 99999))}" for t in times]
    st_name = sourcetypes.detect(f"/var/log/{name}.log", lines[:20])
    parser = EventParser(sourcetypes.get(st_name), tz="UTC", now=NOW.timestamp())
    got = parser.parse(("\n".join(lines) + "\n").encode(), 0, True, 0.0).events.column("_time").to_pylist()
    if len(got) != N:
        return st_name, 0, N, 0
    want = [t.timestamp() // resolution * resolution if resolution >= 1 else t.timestamp() for t in times]
    tolerance = 1e-6 if resolution >= 1 else resolution  # whole seconds must be exact
    good = sum(1 for g, w in zip(got, want) if abs(g - w) < tolerance)
    return st_name, good, N, sum(1 for g in got if g > NOW.timestamp())


@pytest.mark.parametrize("name,yearless,write,resolution", FAMILIES, ids=[f[0] for f in FAMILIES])
def test_generated_family(name: str, yearless: bool, write, resolution: float) -> None:
    st_name, good, n, future = run_family(name, yearless, write, resolution)
    assert good / n >= 0.995, f"{name}: {good}/{n} ({st_name})"
    assert future == 0
