"""props.toml: a source glob assigns a sourcetype, whose own extraction is searchable."""

from __future__ import annotations

from speleo.config import Home
from speleo.ingest.oneshot import add_oneshot
from speleo.service import Service


def test_props_sourcetype_and_extraction(tmp_path):
    home = Home(tmp_path / "home")
    svc = Service(home)
    home.props_path.write_text(
        '[source."*/orders.log"]\nsourcetype = "orders"\n\n'
        '[sourcetype.orders]\nextractions = ["order (?P<order_id>[A-Z]{2}\\\\d+) by (?P<buyer>\\\\w+)"]\n'
    )
    log = tmp_path / "orders.log"
    log.write_text(
        "2026-11-01 10:00:00 order AB12 by alice\n2026-11-01 10:00:01 order CD34 by bob\n"
        "2026-11-01 10:00:02 order AB99 by alice\n"
    )
    w = svc.open_writer()
    res = add_oneshot(w.ingestor, log, "main")
    w.close()
    assert res.sourcetype == "orders"
    rows = svc.search("index=main buyer=alice | stats count by order_id", limit=0).table.to_pylist()
    assert sorted((r["order_id"], r["count"]) for r in rows) == [("AB12", 1), ("AB99", 1)]
