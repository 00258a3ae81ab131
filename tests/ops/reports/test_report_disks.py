"""Disk health: the forwarder's smartctl collector (a fake smartctl program), and the report over
smartctl documents this test wrote and indexed: risk, trend, flagged documents, the alert search."""

from __future__ import annotations

import json
import stat
import time

import pytest

from speleo.config import Home
from speleo.forward.smart import SmartCollector
from speleo.ops.reports import disks
from speleo.service import Service
from tests.ops.reports.smartdocs import ata, nvme

DAY = 86400.0
T0 = 1_793_491_200.0   # 2026-11-01T00:00:00Z


def fake_smartctl(tmp_path, docs: dict[str, str]) -> str:
    """A smartctl program: --scan-open lists `docs`' devices; `-a DEV` prints its text, except
    /dev/slow, which hangs."""
    d = tmp_path / "docs"
    d.mkdir()
    for i, (dev, text) in enumerate(docs.items()):
        (d / f"{i}.json").write_text(text)
        (d / f"{i}.name").write_text(dev)
    scan = json.dumps({"devices": [{"name": n, "type": "sat"} for n in [*docs, "/dev/slow"]]})
    prog = tmp_path / "smartctl"
    prog.write_text(f"""#!/bin/sh
last=""; for a in "$@"; do last="$a"; done
if [ "$1" = "--scan-open" ]; then echo '{scan}'; exit 0; fi
if [ "$last" = "/dev/slow" ]; then sleep 30; fi
for f in {d}/*.name; do
  if [ "$(cat "$f")" = "$last" ]; then cat "${{f%.name}}.json"; exit 4; fi
done
exit 2
""")
    prog.chmod(prog.stat().st_mode | stat.S_IEXEC)
    return str(prog)


def test_collector_reads_each_drive_bounded_and_never_fails(tmp_path):
    good = ata("/dev/sda", "A1")
    prog = fake_smartctl(tmp_path, {"/dev/sda": json.dumps(good), "/dev/sdz": '{"device": {"name": "/dev/sdz"'})
    c = SmartCollector(prog, timeout=1.0)
    started = time.monotonic()
    events = c.collect()
    assert time.monotonic() - started < 20          # the hanging drive is cut at its timeout
    by_dev = {(e.get("device") or {}).get("name"): e for e in events}
    assert set(by_dev) == {"/dev/sda", "/dev/sdz", "/dev/slow"}
    sda = by_dev["/dev/sda"]
    assert sda["serial_number"] == "A1" and sda["speleo_smart"]["pending_sectors"] == 0   # exit status 4 is fine
    assert "not JSON" in by_dev["/dev/sdz"]["smartctl_parse_error"]
    assert by_dev["/dev/sdz"]["raw"] == '{"device": {"name": "/dev/sdz"'   # kept, not dropped
    assert by_dev["/dev/slow"]["smartctl_error"] == "timed out after 1 s"
    assert c.errors == 2
    off = SmartCollector(str(tmp_path / "no-such-smartctl"))
    assert off.collect() == [] and off.errors == 1 and "cannot run" in off.last_error
    assert SmartCollector("").enabled is False and SmartCollector("").collect() == []


READINGS = [  # (day, host, document)
    *[(d, "alpha", ata("/dev/sda", "HEALTHY1")) for d in range(4)],
    (0, "alpha", ata("/dev/sdb", "FAIL1")),
    (1, "alpha", ata("/dev/sdb", "FAIL1", realloc=8, pending=2)),
    (2, "alpha", ata("/dev/sdb", "FAIL1", realloc=16, pending=4, timeout=1)),
    (3, "alpha", ata("/dev/sdb", "FAIL1", realloc=24, pending=8, timeout=1)),
    *[(d, "beta", nvme("/dev/nvme0", "NVME-OK")) for d in range(4)],
    (0, "beta", nvme("/dev/nvme1", "NVME-BAD", media_errors=3)),
    (3, "beta", nvme("/dev/nvme1", "NVME-BAD", media_errors=7, critical_warning=4, passed=False)),
    (1, "beta", ata("/dev/sdc", "OLDREALLOC", realloc=5)),
    (3, "beta", ata("/dev/sdc", "OLDREALLOC", realloc=5)),
]


@pytest.fixture(scope="module")
def indexed(tmp_path_factory):
    return planted_home(tmp_path_factory.mktemp("disks"))


def planted_home(root):
    """A home with READINGS (and one document that does not parse) in index `metrics`;
    returns (service, search)."""
    from speleo.alerts.indexing import write_events

    svc = Service(Home(root / "home"))
    svc.create_index("metrics")
    w = svc.open_writer()
    for host in ("alpha", "beta"):
        evs = [{"_time": T0 + day * DAY, "_raw": json.dumps({**doc, "speleo_smart": __import__("speleo.smartdata",
                fromlist=["summary"]).summary(doc)})} for day, h, doc in READINGS if h == host]
        if host == "beta":
            evs.append({"_time": T0 + DAY, "_raw": '{"device": {"name": "/dev/sdq"'})   # does not parse
        write_events(w.store, svc.catalog, "metrics", "smartctl:json", "test", host, evs)
    w.store.seal()
    w.close()

    def search(spl, earliest, latest, limit):
        return svc.search(spl, earliest=earliest, latest=latest, limit=limit, capabilities=None, timeline=False)

    return svc, search


def test_report_rates_each_drive_and_flags_what_does_not_parse(indexed):
    _, search = indexed
    rep = disks.report(search, T0 - DAY, T0 + 5 * DAY)
    got = {(d["host"], d["device"]): d for d in rep["drives"]}
    assert set(got) == {("alpha", "/dev/sda"), ("alpha", "/dev/sdb"), ("beta", "/dev/nvme0"), ("beta", "/dev/nvme1"),
                        ("beta", "/dev/sdc")}
    assert {k: d["risk"] for k, d in got.items()} == {
        ("alpha", "/dev/sda"): "low", ("beta", "/dev/nvme0"): "low",
        ("alpha", "/dev/sdb"): "high",          # pending sectors, rising reallocations
        ("beta", "/dev/nvme1"): "failing",      # the drive's own verdict and critical_warning
        ("beta", "/dev/sdc"): "medium"}         # old reallocations, not rising
    sdb = got[("alpha", "/dev/sdb")]
    assert sdb["readings"] == 4 and sdb["serial"] == "FAIL1"
    assert sdb["attributes"]["pending_sectors"] == {"first": 0, "last": 8, "delta": 8, "trend": "rising",
                                                    "series": [[T0, 0], [T0 + DAY, 2], [T0 + 2 * DAY, 4],
                                                               [T0 + 3 * DAY, 8]]}
    assert sdb["attributes"]["reallocated_sectors"]["trend"] == "rising"
    assert sdb["attributes"]["offline_uncorrectable"]["trend"] == "steady"
    assert any("pending_sectors = 8" in r for r in sdb["reasons"])
    assert got[("beta", "/dev/nvme1")]["attributes"]["media_errors"]["delta"] == 4
    assert [d["risk"] for d in rep["drives"]][:2] == ["failing", "high"]     # worst first
    [flag] = rep["flagged"]
    assert flag["host"] == "beta" and "does not parse" in flag["reason"]
    rows = disks.rows(rep)
    assert {"host": "alpha", "device": "/dev/sdb", "attribute": "pending_sectors", "last": 8} .items() <= \
        next(r for r in rows if r["device"] == "/dev/sdb" and r["attribute"] == "pending_sectors").items()


def test_documented_alert_search_fires_for_the_rising_drive_only(indexed):
    svc, _ = indexed
    res = svc.search(disks.ALERT_EXAMPLE, earliest=T0 - DAY, latest=T0 + 5 * DAY, capabilities=None, limit=0)
    got = [(r["host"], r["speleo_smart.device"]) for r in res.table.to_pylist()]
    assert got == [("alpha", "/dev/sdb")]


def test_forwarder_queues_smartctl_documents_and_reports_them_in_status(tmp_path):
    """The forwarder's disk-health thread: documents queued as smartctl:json HEC envelopes in the
    metrics index; its state in `status()`; a forwarder without smartctl has no such thread."""
    from speleo.forward.agent import ForwardOptions, Forwarder

    prog = fake_smartctl(tmp_path, {"/dev/sda": json.dumps(ata("/dev/sda", "Q1", pending=3))})
    opts = ForwardOptions(to="http://127.0.0.1:9", token="t", home=tmp_path / "fwd", metrics_interval=0,
                          smart_interval=0.05, smartctl=prog)
    fwd = Forwarder(opts)
    fwd.smart.timeout = 1.0
    try:
        import threading

        t = threading.Thread(target=fwd._smart_loop, daemon=True)
        t.start()
        deadline = time.monotonic() + 20
        while fwd.queue.last_id() == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        fwd.stop.set()
        t.join(timeout=10)
        [entry, *_] = fwd.queue.after(0, 10 ** 7, 10 ** 6)
        lines = [json.loads(x) for x in fwd.queue.payload(entry).decode().splitlines()]
        sda = next(x for x in lines if x["event"].get("serial_number") == "Q1")
        assert (sda["sourcetype"], sda["index"], sda["source"]) == ("smartctl:json", "metrics",
                                                                    "speleo:forwarder:smartctl")
        assert sda["event"]["speleo_smart"]["pending_sectors"] == 3
        st = fwd.status()["smart"]
        assert st["enabled"] is True and st["smartctl"] == prog and st["errors"] >= 1   # /dev/slow timed out
    finally:
        fwd.stop.set()
        fwd.close()
    off = Forwarder(ForwardOptions(to="http://127.0.0.1:9", token="t", home=tmp_path / "fwd2", smartctl=""))
    try:
        assert off.status()["smart"]["enabled"] is False
    finally:
        off.close()


def test_the_rollup_gives_the_same_report_and_sees_a_late_reading(tmp_path):
    """A month-long disks report from hourly summaries: equal to the report from events, read from
    summaries the second time, and a reading sealed later into a summarised hour changes it."""
    from speleo.alerts.indexing import write_events
    from speleo.ops.db import Database
    from speleo.ops.reports.rollup import Rollup, catalog_fingerprint

    svc, search = planted_home(tmp_path)                     # its own: a reading is added below
    db = Database(f"sqlite:///{tmp_path / 'ops.sqlite'}")
    db.migrate()
    now = T0 + 6 * DAY
    ru = Rollup(db, catalog_fingerprint(svc.catalog), lambda: now)
    plain = disks.report(search, T0 - DAY, now)
    assert disks.report(search, T0 - DAY, now, rollup=ru) == plain and ru.searched_hours > 0
    assert disks.report(search, T0 - DAY, now, rollup=ru) == plain and ru.searched_hours == 0
    w = svc.open_writer()
    late = ata("/dev/sda", "HEALTHY1", pending=3)           # the healthy drive, day 2, an hour later
    write_events(w.store, svc.catalog, "metrics", "smartctl:json", "test", "alpha",
                 [{"_time": T0 + 2 * DAY + 3600, "_raw": json.dumps(late)}])
    w.store.seal()
    w.close()
    again = disks.report(search, T0 - DAY, now, rollup=ru)
    assert again == disks.report(search, T0 - DAY, now)
    sda = next(d for d in again["drives"] if d["device"] == "/dev/sda")
    assert sda["readings"] == 5 and sda["attributes"]["pending_sectors"]["series"][3] == [T0 + 2 * DAY + 3600, 3]


def test_the_rollup_forgets_deleted_readings_and_keeps_the_reading_limit(tmp_path, monkeypatch):
    """`| delete` of a reading in a summarised hour makes that hour stale (the fingerprint counts
    the tombstones); readings from summaries and searches together stay under MAX_READINGS."""
    from speleo.ops.db import Database
    from speleo.ops.reports.rollup import Rollup, catalog_fingerprint

    svc, search = planted_home(tmp_path)
    db = Database(f"sqlite:///{tmp_path / 'ops.sqlite'}")
    db.migrate()
    now = T0 + 6 * DAY
    ru = Rollup(db, catalog_fingerprint(svc.catalog), lambda: now)
    before = disks.report(search, T0 - DAY, now, rollup=ru)
    sdb = next(d for d in before["drives"] if d["device"] == "/dev/sdb")
    assert sdb["readings"] == 4
    svc.search(f"index=metrics sourcetype=smartctl:json FAIL1 earliest={T0 + 3 * DAY - 1} latest={T0 + 3 * DAY + 1} | delete",
               limit=0, capabilities=None, actor="test")
    after = disks.report(search, T0 - DAY, now, rollup=ru)
    sdb = next(d for d in after["drives"] if d["device"] == "/dev/sdb")
    assert sdb["readings"] == 3 and after == disks.report(search, T0 - DAY, now)
    monkeypatch.setattr(disks, "MAX_READINGS", 5)
    capped = disks.report(search, T0 - DAY, now, rollup=ru)
    assert capped["truncated"] and sum(d["readings"] for d in capped["drives"]) <= 5
