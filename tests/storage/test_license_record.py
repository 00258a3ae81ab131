"""The licence record in-process: Usage events cover each metered byte once, RolloverSummary comes
once per finished day, internal indexes and stash are not metered (expected bytes from the lines)."""

from __future__ import annotations

import pyarrow as pa

from speleo.config import Home
from speleo.ingest.internal import InternalLog
from speleo.storage import license
from speleo.storage.catalog import Catalog
from speleo.storage.store import Store

DAY = 86400.0
T = 1_764_000_000.0   # 2025-11-24T16:00:00Z


def test_usage_once_and_rollover_once_per_day(tmp_path):
    home = Home(tmp_path / "home").ensure()
    cat = Catalog(home.catalog_path)
    store = Store(home, cat)
    log = InternalLog(store)
    written = {"main": ["a" * 10, "bé" * 5], "_internal": ["x" * 50], "summary": ["s" * 40]}
    for idx, raws in written.items():
        n = len(raws)
        store.append(pa.table({"_time": [T] * n, "_raw": raws, "index": [idx] * n, "_indextime": [T - DAY] * n,
                               "sourcetype": ["stash" if idx == "summary" else "app"] * n}))
    store.seal()
    yesterday, today = license.license_day(T - DAY, None), license.license_day(T, None)
    sent: list[dict] = []

    def emit(rows, meta):
        sent.extend(rows)
        log.emit_many("_internal", "splunkd", rows, source="license_usage.log", component="LicenseUsage", meta=meta)

    assert license.report(store, cat, "HID", emit, today=today) == 2
    main_bytes = len("a" * 10) + len("bé".encode() * 5)
    usage = [e for e in sent if e["type"] == "Usage"]
    assert [(e["idx"], e["b"]) for e in usage] == [("main", main_bytes)]
    assert [(e["type"], e["day"], e["idx"], e["b"]) for e in sent if e["type"] == "RolloverSummary"] == [
        ("RolloverSummary", yesterday, "main", main_bytes)]
    sent.clear()
    assert license.report(store, cat, "HID", emit, today=today) == 0 and sent == []
    # the Usage events themselves are in _internal, which is not metered
    assert license.unreported(cat) == []
    assert license.status(cat, yesterday)["bytes"] == main_bytes
