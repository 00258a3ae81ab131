"""inputs.conf import of [fschange:...] stanzas, the CLI's errors for a bad manifest, and the
documented alert stanza's search run over real fs_notification events."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from speleo.alerts.fschange.conf import read_inputs_conf
from speleo.errors import InputError
from tests.conftest import run_cli
from tests.fschange.conftest import Rig
from speleo.alerts.fschange.settings import FsChangeSettings

REPO = Path(__file__).resolve().parents[2]


def test_fschange_stanzas_with_filters_and_notes(tmp_path):
    conf = tmp_path / "inputs.conf"
    conf.write_text(
        "[monitor:///var/log]\nindex = main\n\n"
        "[fschange:/etc]\npollPeriod = 600\nhashMaxSize = 1048576\nfilters = noswap,confs\n"
        "followLinks = true\nfullEvent = true\nindex = fim\n\n"
        "[fschange:/opt/audit]\nsignedaudit = true\n\n"
        "[filter:blacklist:noswap]\nregex1 = \\.swp$\nregex2 = ~$\n\n"
        "[filter:whitelist:confs]\nregex1 = \\.conf$\n")
    got = read_inputs_conf(str(conf))
    etc, audit = got.inputs
    assert (etc.path, etc.index, etc.line) == ("/etc", "fim", 4)
    s = etc.settings
    assert (s.poll_period_secs, s.hash_algo, s.hash_max_size, s.signedaudit) == (600.0, "sha256", 1048576, False)
    assert [f.text() for f in s.filters] == ["re:\\.swp$", "re:~$", "+re:\\.conf$"]
    assert s.keeps("a/x.conf", "x.conf", False) and not s.keeps("a/x.conf.swp", "x.conf.swp", False)
    assert not s.keeps("a/x.txt", "x.txt", False)              # an allow-list exists: the rest is skipped
    assert audit.settings.signedaudit and audit.settings.hash_algo == "none"   # hashMaxSize default -1: off
    notes = "\n".join(got.notes)
    assert "[monitor:///var/log] skipped" in notes and "followLinks = true" in notes and "fullEvent is not supported" in notes


def test_unknown_filter_name_and_bad_values_are_errors_naming_the_line(tmp_path):
    conf = tmp_path / "inputs.conf"
    conf.write_text("[fschange:/etc]\nfilters = nosuch\n")
    with pytest.raises(InputError, match=r"line 1 \[fschange:/etc\]: filters names 'nosuch'"):
        read_inputs_conf(str(conf))
    conf.write_text("[fschange:/etc]\npollPeriod = hourly\n")
    with pytest.raises(InputError, match="pollPeriod = 'hourly' is not a whole number"):
        read_inputs_conf(str(conf))


def test_cli_verify_with_a_bad_manifest_names_the_line(tmp_path):
    (tmp_path / "app").mkdir()
    m = tmp_path / "m.txt"
    m.write_text("ok/path\n" + "ab" * 20 + "  bin/x\n")
    proc = run_cli(tmp_path / "home", "fschange", "verify", str(tmp_path / "app"), "--manifest", str(m), "--tree", check=False)
    assert proc.returncode == 1
    assert "line 2: " in proc.stderr and "40 hex digits" in proc.stderr and "sha256sum" in proc.stderr


def test_documented_alert_stanza_search_lists_every_changed_path(tmp_path):
    doc = (REPO / "docs" / "alerts-fschange.md").read_text()
    stanza = doc[doc.index("[Files changed under /opt/app]"):]
    search = re.search(r"^search = (.*?)\n(?=\w)", stanza, re.S | re.M).group(1)
    search = re.sub(r"\\\n\s*", " ", search).replace("/opt/app", "{root}")
    r = Rig(tmp_path, FsChangeSettings())
    try:
        r.inp.scan()
        for n in ("a", "b", "c"):
            (r.tree / n).write_text(n)
        r.inp.scan()
        (r.tree / "a").unlink()
        r.inp.scan()
        r.writer.store.seal()
        rows = r.svc.search(search.format(root=r.tree), limit=0).table.to_pylist()
        assert sorted((x["action"], x["path"]) for x in rows) == sorted(
            [("add", str(r.tree / n)) for n in "abc"] + [("delete", str(r.tree / "a"))])
    finally:
        r.close()


def test_documented_roll_stanza_agrees_with_verify_check(tmp_path):
    """The SPL stanza of the docs and `verify.check` (no tree check) give the same statuses."""
    import hashlib
    import os

    from speleo.alerts.fschange import manifest as mf
    from speleo.alerts.fschange import verify as vf

    doc = (REPO / "docs" / "alerts-fschange.md").read_text()
    stanza = doc[doc.index("[Code roll on /opt/app differs from release 42]"):]
    search = re.search(r"^search = (.*?)\n(?=\w)", stanza, re.S | re.M).group(1)
    search = re.sub(r"\\\n\s*", " ", search)
    r = Rig(tmp_path, FsChangeSettings())
    try:
        t = r.tree
        for n in ("a", "b", "c", "old", "quiet"):
            (t / n).write_text(n)
        r.inp.scan()
        (t / "a").write_text("A2")
        (t / "b").write_text("B2")
        (t / "evil").write_text("e")
        os.rename(t / "old", t / "new")
        (t / "c").unlink()
        r.inp.scan()
        r.writer.store.seal()
        sha = lambda b: hashlib.sha256(b).hexdigest()   # noqa: E731
        m = mf.parse(f"{sha(b'A2')}  a\n{sha(b'XX')}  b\n{sha(b'c')}  c\nnew\nquiet\n", "release")
        (r.home.lookups_dir / "release42.csv").write_text(mf.lookup_csv(m, str(t)))
        rows = r.svc.search(search.replace("/opt/app", str(t)), limit=0).table.to_pylist()
        spl = {x["p"][len(str(t)) + 1:]: x["status"] for x in rows}
        events = r.svc.search("index=fim sourcetype=fs_notification | table _time action path old_path hash",
                              limit=0).table.to_pylist()
        rep = vf.check(vf.observed_from_rows(events, str(t)), m, None, str(t))
        assert spl == {i.path: i.status for i in rep.items if i.status != "expected"}
        assert spl == {"b": "mismatch", "c": "missing", "quiet": "missing", "evil": "unexpected", "old": "unexpected"}
    finally:
        r.close()
