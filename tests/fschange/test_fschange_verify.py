"""Code-roll verification: manifests (and their errors) and the check, pure and on a real tree."""

from __future__ import annotations

import hashlib
import json

import pytest

from speleo.alerts.fschange import manifest as mf
from speleo.alerts.fschange import verify as vf
from speleo.alerts.fschange.scanner import Scanner
from speleo.alerts.fschange.settings import FsChangeSettings

H = {c: hashlib.sha256(c.encode()).hexdigest() for c in ("X", "Y", "b", "d")}


def test_sha256sum_and_path_lines_mix():
    m = mf.parse(f"# release 42\n{H['X']}  bin/a\n{H['b']} *./lib//b\n\nconf/app.conf\n", "m.txt")
    assert {p: (e.sha256, e.line) for p, e in m.entries.items()} == {
        "bin/a": (H["X"], 2), "lib/b": (H["b"], 3), "conf/app.conf": (None, 5)}


def test_bad_lines_are_named_with_what_to_do():
    text = f"{H['X']}  ok\n{H['X'][:40]}  short\n/etc/passwd\n../up\n{H['X']}  ok\n"
    with pytest.raises(mf.ManifestError) as e:
        mf.parse(text, "roll.sha256")
    msg = str(e.value)
    assert msg.startswith("roll.sha256: 4 bad line(s); nothing was checked")
    assert "line 2: " in msg and "has 40 hex digits, a SHA-256 has 64" in msg
    assert "line 3: '/etc/passwd' is absolute" in msg and "line 4: '../up' contains '..'" in msg
    assert "line 5: 'ok' is already listed on line 1" in msg
    assert "sha256sum" in msg    # says what to write instead


def test_empty_manifest_is_an_error():
    with pytest.raises(mf.ManifestError, match="m.txt: lists no path"):
        mf.parse("# nothing yet\n\n", "m.txt")


def test_json_manifest_and_its_errors():
    doc = {"manifest_version": 1, "roll_id": "r1", "ignore": ["logs/**"],
           "files": [{"path": "a", "sha256": H["X"]}, {"path": "b", "type": "file"}]}
    m = mf.parse(json.dumps(doc), "m.json")
    assert m.roll_id == "r1" and m.ignored("logs/app.log") and not m.ignored("bin/x")
    bad = {"files": [{"path": "a", "sha256": "zz"}, {"nopath": 1}, {"path": "c", "type": "fifo"}]}
    with pytest.raises(mf.ManifestError) as e:
        mf.parse(json.dumps(bad), "m.json")
    assert 'files[0]: "sha256" must be 64 hex digits' in str(e.value)
    assert "files[1]: each file is an object with a \"path\"" in str(e.value)
    assert "files[2]: \"type\" must be file, dir or symlink" in str(e.value)
    with pytest.raises(mf.ManifestError, match="line 1 column 2: not valid JSON"):
        mf.parse("{oops", "m.json")


def test_check_changes_against_manifest_pure():
    m = mf.parse(f"{H['X']}  bin/a\n{H['b']}  bin/b\nconf/c\n{H['d']}  bin/same\n", "m")
    seen = [vf.Observed("bin/a", True, H["X"], "update"),          # as expected
            vf.Observed("bin/b", True, H["Y"], "update"),          # other content
            vf.Observed("bin/evil", True, H["Y"], "add")]          # not in the manifest
    current = {"bin/same": (True, H["d"])}.get
    rep = vf.check(seen, m, lambda p: current(p, (False, None)), "/opt/app")
    assert {i.path: i.status for i in rep.items} == {
        "bin/a": "expected", "bin/b": "mismatch", "conf/c": "missing", "bin/same": "ok", "bin/evil": "unexpected"}
    assert rep.exit_code == 1 | 2 | 4 and not rep.ok
    text = rep.message()
    assert "FAILED" in text and "unexpected bin/evil" in text and "missing    conf/c" in text


def test_rows_to_observed_takes_the_last_state_and_rename_sources():
    rows = [{"_time": 1, "action": "add", "path": "/r/a", "hash": "h1"},
            {"_time": 2, "action": "update", "path": "/r/a", "hash": "h2"},
            {"_time": 3, "action": "renamed", "path": "/r/c", "old_path": "/r/b", "hash": "h3"},
            {"_time": 4, "action": "delete", "path": "/r/d"},
            {"_time": 5, "action": "add", "path": "/elsewhere/x"},
            {"_time": 6, "action": "add", "path": "/r/dir", "isdir": "1"}]
    got = {o.path: (o.exists, o.hash, o.action) for o in vf.observed_from_rows(rows, "/r")}
    assert got == {"a": (True, "h2", "update"), "c": (True, "h3", "renamed"), "b": (False, None, "renamed"),
                   "d": (False, None, "delete")}


def test_tree_check_spec_acceptance_9_and_10(tmp_path):
    root = tmp_path / "app"
    (root / "logs").mkdir(parents=True)
    (root / "a").write_text("Y")
    (root / "b").write_text("b")
    (root / "d").write_text("d")
    (root / "logs" / "app.log").write_text("noise")
    m = mf.parse(json.dumps({"ignore": ["logs/**"], "files": [
        {"path": "a", "sha256": H["X"]}, {"path": "b", "sha256": H["b"]}, {"path": "c", "sha256": H["X"]}]}), "m.json")
    res = Scanner(str(root), FsChangeSettings()).scan()
    rep = vf.check_tree(str(root), res.entries, m)
    assert {i.path: i.status for i in rep.items} == {"a": "mismatch", "b": "ok", "c": "missing", "d": "unexpected"}
    assert rep.exit_code == 7 and rep.to_dict()["result"] == "fail"
    ok = mf.parse(f"{H['Y']}  a\n{H['b']}  b\n{H['d']}  d\n", "m2")
    ok.ignore = ["logs/**"]
    assert vf.check_tree(str(root), res.entries, ok).exit_code == 0


def test_roll_condition_triggers_with_the_changed_paths_in_its_reason(tmp_path):
    m = tmp_path / "m.sha256"
    m.write_text(f"{H['X']}  a\n")
    rows = [{"_time": 1, "action": "update", "path": "/r/a", "hash": H["X"]},
            {"_time": 2, "action": "add", "path": "/r/evil", "hash": H["Y"]}]
    out = vf.roll_condition(rows, str(m), "/r")
    assert out.triggered and "unexpected evil" in out.reason and "expected   a" in out.reason
    assert not vf.roll_condition(rows[:1], str(m), "/r").triggered
