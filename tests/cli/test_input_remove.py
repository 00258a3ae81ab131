"""`speleo input remove ID` for any kind of input in the catalog's `inputs` table (monitor,
fschange) and `http://NAME` for HEC token inputs; the events indexed stay."""

from __future__ import annotations

import json

from tests.conftest import run_cli


def test_remove_monitor_and_fschange_inputs_by_id(tmp_path):
    home = tmp_path / "home"
    watched = tmp_path / "watched"
    watched.mkdir()
    (watched / "a.log").write_text("2026-11-01 10:00:00 INFO one\n")
    run_cli(home, "add", "monitor", str(watched), "--index", "main")
    run_cli(home, "add", "fschange", str(watched), "--index", "main")
    ids = {i["kind"]: i["id"] for i in json.loads(run_cli(home, "status", "--json").stdout)["inputs"]}
    assert set(ids) == {"monitor", "fschange"}
    baseline = home / "fschange" / f"input-{ids['fschange']}.sqlite"
    baseline.parent.mkdir(exist_ok=True)
    baseline.write_bytes(b"")   # as the server's first scan would leave it
    out = run_cli(home, "input", "remove", str(ids["fschange"]))
    assert "(fschange) removed" in out.stdout and not baseline.exists()
    assert "(monitor) removed" in run_cli(home, "input", "remove", str(ids["monitor"])).stdout
    assert json.loads(run_cli(home, "status", "--json").stdout)["inputs"] == []
    again = run_cli(home, "input", "remove", str(ids["monitor"]), check=False)
    assert again.returncode == 1 and f"no input with id {ids['monitor']}" in again.stderr
    bad = run_cli(home, "input", "remove", "first", check=False)
    assert bad.returncode == 1 and "not a number" in bad.stderr
