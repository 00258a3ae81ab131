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


def test_volume_meter_per_day_and_origin(tmp_path):
    """record_volume adds bytes (UTF-8) and events per licence day of _indextime and origin: one
    origin over two days (the fast path) and mixed origins (the grouped path) count the same."""
    from speleo.storage.schema import conform
    from speleo.storage.store import record_volume

    cat = Catalog(tmp_path / "c.db")
    one = conform(pa.table({"_time": [T] * 3, "_raw": ["ab", "é", "xyz"], "index": ["main"] * 3,
                            "host": ["h"] * 3, "source": ["/f"] * 3, "sourcetype": ["st"] * 3,
                            "_indextime": [T, T + 0.5, T + DAY]}))
    mixed = conform(pa.table({"_time": [T] * 3, "_raw": ["ab", "é", "xyz"], "index": ["main"] * 3,
                              "host": ["h", "h", None], "source": ["/f"] * 3, "sourcetype": ["st"] * 3,
                              "_indextime": [T, T + 0.5, T + DAY]}))
    with cat.transaction() as con:
        record_volume(con, one, "UTC")
        record_volume(con, mixed, "UTC")
    rows = cat.query("SELECT day, index_name, sourcetype, host, source, bytes, events FROM volume ORDER BY day, host")
    assert [tuple(r) for r in rows] == [
        ("2025-11-24", "main", "st", "h", "/f", 2 * (2 + 2), 4),   # "ab" and "é" (2 bytes), twice
        ("2025-11-25", "main", "st", "", "/f", 3, 1),             # the missing host counts as ""
        ("2025-11-25", "main", "st", "h", "/f", 3, 1),
    ]
