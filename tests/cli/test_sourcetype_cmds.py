"""`speleo sourcetype list|detect` (real CLI processes)."""

from __future__ import annotations

import json

from tests.conftest import run_cli


def test_list_and_detect(tmp_path) -> None:
    home = tmp_path / "home"
    rows = {r["name"]: r for r in json.loads(run_cli(home, "sourcetype", "list", "-o", "json").stdout)}
    assert {"nginx_access", "cisco:asa", "suricata", "XmlWinEventLog", "aws:cloudtrail"} <= set(rows)
    assert rows["mysql:slowquery"]["breaking"] == "breaker: # Time: "
    assert {"src", "dest", "action", "transport", "signature_id"} <= set(rows["cisco:asa"]["fields"])
    ufw = tmp_path / "fw.log"
    ufw.write_text("Nov 20 10:27:00 web1 kernel: [1.5] [UFW BLOCK] IN=ens3 OUT= SRC=203.0.113.99 DST=10.0.0.30 "
                   "LEN=40 PROTO=TCP SPT=53214 DPT=23\n")
    app = tmp_path / "orders.log"
    app.write_text("2026-11-20 10:00:00 order AB12 by alice\n")
    home.mkdir(parents=True, exist_ok=True)
    (home / "props.toml").write_text('[source."*/orders.log"]\nsourcetype = "orders"\n')
    got = json.loads(run_cli(home, "sourcetype", "detect", str(ufw), str(app), "-o", "json").stdout)
    assert got == [{"file": str(ufw), "sourcetype": "ufw", "by": "content"},
                   {"file": str(app), "sourcetype": "orders", "by": "props.toml"}]
