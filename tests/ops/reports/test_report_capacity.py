"""The capacity report over host metrics this test planted (the forwarder's event shapes):
utilisation per host and the days-until-full forecast against an independent least-squares fit."""

from __future__ import annotations

import json
import statistics

import pytest

from speleo.config import Home
from speleo.errors import InputError
from speleo.ops.reports import capacity
from speleo.service import Service

T0 = 1_793_491_200.0   # 2026-11-01T00:00:00Z
STEP = 600
N = 6 * 24 * 3         # three days of 10-minute samples
GB = 1024 ** 3


def samples() -> list[tuple[str, float, dict]]:
    out = []
    for i in range(N):
        t = T0 + i * STEP
        for h, cpu in (("web1", 20 + (i % 10)), ("db1", 60 + (i % 5))):
            out.append((h, t, {"metric": "cpu", "cpu_percent": float(cpu), "cpu_count": 4}))
            out.append((h, t, {"metric": "memory", "total": 16 * GB, "available": 8 * GB, "used": 8 * GB,
                               "percent": 50.0 + (i % 3)}))
            out.append((h, t, {"metric": "net", "bytes_sent_per_s": 1000.0 + i, "bytes_recv_per_s": 5000.0}))
        # web1:/data grows ~1 GB a day with a wobble; db1:/ shrinks; db1:/var stays flat
        out.append(("web1", t, {"metric": "disk", "mount": "/data", "device": "/dev/sdb1", "fstype": "ext4",
                                "total": 100 * GB, "used": 40 * GB + i * STEP * GB / 86400 + (i % 4) * 1e6,
                                "free": 0, "percent": 40.0}))
        out.append(("db1", t, {"metric": "disk", "mount": "/", "device": "/dev/sda1", "fstype": "ext4",
                               "total": 50 * GB, "used": 30 * GB - i * 1e5, "free": 0, "percent": 60.0}))
    return out


@pytest.fixture(scope="module")
def search(tmp_path_factory):
    from speleo.alerts.indexing import write_events

    svc = Service(Home(tmp_path_factory.mktemp("cap") / "home"))
    svc.create_index("metrics")
    w = svc.open_writer()
    for h in ("web1", "db1"):
        evs = [{"_time": t, "_raw": json.dumps(e)} for hh, t, e in samples() if hh == h]
        write_events(w.store, svc.catalog, "metrics", "speleo:metrics", "speleo:forwarder:metrics", h, evs)
    w.store.seal()
    w.close()
    return lambda spl, e, l, limit: svc.search(spl, earliest=e, latest=l, limit=limit, capabilities=None,
                                               timeline=False)


def test_utilisation_per_host(search):
    rep = capacity.report(search, T0, T0 + N * STEP)
    hosts = {h["host"]: h for h in rep["hosts"]}
    assert sorted(hosts) == ["db1", "web1"]
    for h in ("web1", "db1"):
        mine = [e for hh, _, e in samples() if hh == h]
        cpu = [e["cpu_percent"] for e in mine if e["metric"] == "cpu"]
        mem = [e["percent"] for e in mine if e["metric"] == "memory"]
        tx = [e["bytes_sent_per_s"] for e in mine if e["metric"] == "net"]
        assert hosts[h]["cpu_avg"] == pytest.approx(statistics.fmean(cpu))
        assert hosts[h]["cpu_max"] == max(cpu)
        assert hosts[h]["memory_avg"] == pytest.approx(statistics.fmean(mem))
        assert hosts[h]["net_sent_avg"] == pytest.approx(statistics.fmean(tx))
    s = hosts["web1"]["series"]
    assert rep["span"] == capacity.span_for(N * STEP) and s == sorted(s, key=lambda p: p["time"])
    first = [e["cpu_percent"] for hh, t, e in samples() if hh == "web1" and e["metric"] == "cpu"
             and s[0]["time"] <= t < s[0]["time"] + rep["span"]]
    assert s[0]["cpu_percent"] == pytest.approx(statistics.fmean(first))


def test_days_until_full_forecast(search):
    end = T0 + N * STEP
    rep = capacity.report(search, T0, end, forecast_days=2)
    fs = {(f["host"], f["mount"]): f for f in rep["filesystems"]}
    raw = [(t, e["used"]) for h, t, e in samples() if h == "web1" and e["metric"] == "disk" and t >= end - 2 * 86400]
    span = capacity.span_for(2 * 86400)
    buckets: dict[float, list[float]] = {}
    for t, used in raw:
        buckets.setdefault(t - t % span, []).append(used)
    pts = sorted((b, statistics.fmean(v)) for b, v in buckets.items())
    fit = statistics.linear_regression([p[0] for p in pts], [p[1] for p in pts])
    data = fs[("web1", "/data")]
    assert data["status"] == "growing" and data["samples"] == len(raw)
    assert data["growth_bytes_per_day"] == pytest.approx(fit.slope * 86400)
    assert data["days_until_full"] == pytest.approx((100 * GB - pts[-1][1]) / fit.slope / 86400)
    assert 55 < data["days_until_full"] < 62
    assert fs[("db1", "/")]["status"] == "not growing" and fs[("db1", "/")]["days_until_full"] is None
    assert rep["filesystems"][0]["mount"] == "/data"       # soonest full first
    one = capacity.report(search, T0, end, host="db1")
    assert [h["host"] for h in one["hosts"]] == ["db1"]


def test_the_rollup_gives_the_same_report_over_hourly_summaries(tmp_path):
    """Eight days (an hour-wide span): the report from hourly summaries equals the report from
    events and the means planted here; a late sample sealed into a summarised hour is seen."""
    from speleo.alerts.indexing import write_events
    from speleo.ops.db import Database
    from speleo.ops.reports.rollup import Rollup, catalog_fingerprint

    svc = Service(Home(tmp_path / "home"))
    svc.create_index("metrics")
    w = svc.open_writer()
    planted = [(h, t, e) for h, t, e in samples() if t < T0 + 86400]         # one day of samples
    for h in ("web1", "db1"):
        write_events(w.store, svc.catalog, "metrics", "speleo:metrics", "speleo:forwarder:metrics", h,
                     [{"_time": t, "_raw": json.dumps(e)} for hh, t, e in planted if hh == h])
    w.store.seal()

    def search(spl, e, l, limit):
        return svc.search(spl, earliest=e, latest=l, limit=limit, capabilities=None, timeline=False)

    db = Database(f"sqlite:///{tmp_path / 'ops.sqlite'}")
    db.migrate()
    until = T0 + 8 * 86400
    ru = Rollup(db, catalog_fingerprint(svc.catalog), lambda: until)
    plain = capacity.report(search, T0, until)
    assert plain["span"] == 3600
    assert rounded(capacity.report(search, T0, until, rollup=ru)) == rounded(plain) and ru.searched_hours > 0
    assert rounded(capacity.report(search, T0, until, rollup=ru)) == rounded(plain) and ru.searched_hours == 0
    web = next(h for h in plain["hosts"] if h["host"] == "web1")
    cpus = [e["cpu_percent"] for h, _, e in planted if h == "web1" and e["metric"] == "cpu"]
    assert web["cpu_avg"] == pytest.approx(statistics.mean(cpus)) and web["cpu_max"] == max(cpus)
    write_events(w.store, svc.catalog, "metrics", "speleo:metrics", "speleo:forwarder:metrics", "web1",
                 [{"_time": T0 + 3600 + 7, "_raw": json.dumps({"metric": "cpu", "cpu_percent": 99.5})}])
    w.store.seal()
    w.close()
    again = capacity.report(search, T0, until, rollup=ru)
    assert rounded(again) == rounded(capacity.report(search, T0, until))
    assert next(h for h in again["hosts"] if h["host"] == "web1")["cpu_max"] == 99.5


def rounded(x):
    """Floats to 12 significant digits: DuckDB sums doubles in parallel, so a sum's last bits vary
    with how its rows are grouped."""
    if isinstance(x, float):
        return float(f"{x:.12g}")
    if isinstance(x, dict):
        return {k: rounded(v) for k, v in x.items()}
    if isinstance(x, list):
        return [rounded(v) for v in x]
    return x


SERVICES = {"web1": "shop", "web2": "shop", "db1": "ledger"}   # lone1 reports no service


def service_samples() -> list[tuple[str, float, dict]]:
    """One day of 10-minute samples of four hosts, three of them tagged as the forwarder's
    --service tags them (a `service` key in each metrics object)."""
    out = []
    for i in range(6 * 24):
        t = T0 + i * STEP
        for n, h in enumerate(("web1", "web2", "db1", "lone1")):
            tag = {"service": SERVICES[h]} if h in SERVICES else {}
            out.append((h, t, {"metric": "cpu", "cpu_percent": float(10 * n + i % 7), **tag}))
            out.append((h, t, {"metric": "memory", "percent": float(30 + n + i % 3), **tag}))
            out.append((h, t, {"metric": "net", "bytes_recv_per_s": 100.0 * (n + 1) + i, "bytes_sent_per_s": 7.0, **tag}))
            out.append((h, t, {"metric": "disk", "mount": "/", "total": 10 * GB, "used": (n + 1) * GB,
                               "percent": float(10 * (n + 1) + i % 2), **tag}))
    return out


def test_utilisation_per_service(tmp_path):
    from speleo.alerts.indexing import write_events
    from speleo.forward.metrics import envelopes

    # the forwarder's envelopes carry the tag in each event
    env = [json.loads(x) for x in envelopes([{"metric": "cpu", "cpu_percent": 1.0}], T0, "web1", "metrics",
                                            "speleo:metrics", service="shop").decode().splitlines()]
    assert env[0]["event"] == {"metric": "cpu", "cpu_percent": 1.0, "service": "shop"}

    svc = Service(Home(tmp_path / "home"))
    svc.create_index("metrics")
    w = svc.open_writer()
    planted = service_samples()
    for h in ("web1", "web2", "db1", "lone1"):
        write_events(w.store, svc.catalog, "metrics", "speleo:metrics", "speleo:forwarder:metrics", h,
                     [{"_time": t, "_raw": json.dumps(e)} for hh, t, e in planted if hh == h])
    w.store.seal()
    w.close()

    def search(spl, e, l, limit):
        return svc.search(spl, earliest=e, latest=l, limit=limit, capabilities=None, timeline=False)

    end = T0 + 86400
    rep = capacity.report(search, T0, end)
    by = {s["service"]: s for s in rep["services"]}
    assert sorted(by) == ["ledger", "shop"]
    assert by["shop"]["hosts"] == ["web1", "web2"] and by["ledger"]["hosts"] == ["db1"]
    hosts = {h["host"]: h for h in rep["hosts"]}
    assert hosts["web2"]["services"] == ["shop"] and hosts["lone1"]["services"] == []
    shop = [e for h, _, e in planted if SERVICES.get(h) == "shop"]
    cpu = [e["cpu_percent"] for e in shop if e["metric"] == "cpu"]
    assert by["shop"]["cpu_avg"] == pytest.approx(statistics.fmean(cpu)) and by["shop"]["cpu_max"] == max(cpu)
    mem = [e["percent"] for e in shop if e["metric"] == "memory"]
    assert by["shop"]["memory_avg"] == pytest.approx(statistics.fmean(mem))
    # per bucket: network summed over the service's hosts (each host's mean rate), disk the fullest
    span = rep["span"]
    b0 = [(h, e) for h, t, e in planted if SERVICES.get(h) == "shop" and T0 <= t < T0 + span]
    rx = sum(statistics.fmean([e["bytes_recv_per_s"] for hh, e in b0 if hh == h and e["metric"] == "net"])
             for h in ("web1", "web2"))
    first = by["shop"]["series"][0]
    assert first["time"] == T0 and first["hosts"] == 2
    assert first["net_recv_bytes_per_s"] == pytest.approx(rx)
    assert first["disk_percent"] == max(e["percent"] for _, e in b0 if e["metric"] == "disk")
    assert by["shop"]["net_recv_max"] == pytest.approx(max(p["net_recv_bytes_per_s"] for p in by["shop"]["series"]))
    # the forecast rows name their host's service; --service keeps that service's hosts only
    assert {f["host"]: f["services"] for f in rep["filesystems"]}["db1"] == ["ledger"]
    only = capacity.report(search, T0, end, service="ledger")
    assert [h["host"] for h in only["hosts"]] == ["db1"] and [s["service"] for s in only["services"]] == ["ledger"]
    assert [f["host"] for f in only["filesystems"]] == ["db1"]
    # over eight days (hour-wide buckets from hourly partial aggregates): the same service means
    week = capacity.report(search, T0, T0 + 8 * 86400)
    assert week["span"] == 3600
    assert {s["service"]: round(s["cpu_avg"], 9) for s in week["services"]} == \
        {s["service"]: round(s["cpu_avg"], 9) for s in rep["services"]}
    with pytest.raises(InputError, match="service"):
        capacity.report(search, T0, end, service='shop" OR x="')


def test_the_forwarder_refuses_a_service_name_it_could_not_write_plainly(tmp_path):
    from tests.conftest import run_cli

    for bad in ("a b", 'x"y', "-lead", "a|b", "x" * 101):
        proc = run_cli(tmp_path / "home", "forward", "--to", "http://127.0.0.1:9", "--token", "t", "--home",
                       str(tmp_path / "fwd"), "--service", bad, check=False)
        assert proc.returncode == 2 and "--service" in proc.stderr and "letters, digits" in proc.stderr, (bad, proc.stderr)
