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


def test_splunk_named_groups_and_look_around_in_an_extraction(tmp_path):
    """props.conf EXTRACT regexes are PCRE (Splunk Knowledge Manager: "Configure field extractions"):
    `(?<name>...)` groups, and look-behind / back-references, which RE2 refuses, run in the regex
    package at search time. `(?<=amount=)(?<amount>\\d+)(?!\\d)` reads the digits after "amount=";
    `(?<twice>([a-z])\\2)` the first doubled lower-case letter."""
    home = Home(tmp_path / "home")
    svc = Service(home)
    home.props_path.write_text(
        '[source."*/pay.log"]\nsourcetype = "pay"\n\n'
        '[sourcetype.pay]\nextractions = ["(?<=amount=)(?<amount>\\\\d+)(?!\\\\d)", '
        '"code (?<code>[A-Z]+)", "(?<twice>([a-z])\\\\2)"]\n'
    )
    log = tmp_path / "pay.log"
    log.write_text("2026-11-01 10:00:00 amount=15 code AB seen\n2026-11-01 10:00:01 amount=27 code CD kept\n"
                   "2026-11-01 10:00:02 amount=100 code AB moon\n")
    w = svc.open_writer()
    add_oneshot(w.ingestor, log, "main")
    w.close()
    rows = svc.search("index=main | stats sum(amount) as total by code | sort code", limit=0).table.to_pylist()
    assert [(r["code"], r["total"]) for r in rows] == [("AB", 115), ("CD", 27)]
    # lower-case letters: "amount=15 code AB seen" -> ee; "... kept" -> none; "... moon" -> oo
    rows = svc.search("index=main | table twice", limit=0).table.to_pylist()
    assert sorted(r["twice"] or "-" for r in rows) == ["-", "ee", "oo"]
    rows = svc.search("index=main twice=oo | stats sum(amount) as a", limit=0).table.to_pylist()
    assert rows == [{"a": 100}]
