"""fschange on a real tree, in process: the scanner, change classification, events in the
index, filters, problems (FIFO, symlink loop, links out of the tree) and the commit protocol.

Expected values come from the files the tests write (os.stat, hashlib), not from the scanner.
"""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

import pytest

from speleo.alerts.fschange.settings import Filter, FsChangeSettings
from speleo.alerts.fschange.state import checkpoint_key
from tests.fschange.conftest import Rig


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_first_scan_is_a_silent_baseline_then_each_change_is_one_event(rig):
    r = rig()
    t = r.tree
    (t / "sub").mkdir()
    (t / "a.txt").write_text("alpha\n")
    (t / "sub" / "b.txt").write_text("bravo\n")
    (t / "gone.txt").write_text("to delete\n")
    rep = r.inp.scan()
    assert rep.kind == "baseline" and rep.changes == 0 and r.events() == []
    assert r.inp.scan().changes == 0                    # nothing changed: nothing emitted

    (t / "new.txt").write_text("created\n")           # create
    (t / "a.txt").write_text("alpha, longer\n")        # modify content
    os.chmod(t / "sub" / "b.txt", 0o600)               # chmod
    old_b = t / "sub" / "b.txt"
    os.rename(old_b, t / "c.txt")                      # rename (with its new mode)
    (t / "gone.txt").unlink()                          # delete
    rep = r.inp.scan()
    assert rep.changes == 4
    ev = {e["path"]: e for e in r.events()}
    assert set(ev) == {str(t / p) for p in ("new.txt", "a.txt", "c.txt", "gone.txt")}

    new = ev[str(t / "new.txt")]
    st = os.stat(t / "new.txt")
    assert (new["action"], new["isdir"], new["size"], new["uid"], new["gid"]) == ("add", "0", str(st.st_size), str(st.st_uid), str(st.st_gid))
    assert new["hash"] == sha(t / "new.txt") and new["mode"] == stat.filemode(st.st_mode)[1:]

    a = ev[str(t / "a.txt")]
    assert a["action"] == "update" and a["changed"].split(",") == ["content", "mtime", "size"]
    assert a["hash"] == sha(t / "a.txt") and a["old_hash"] == hashlib.sha256(b"alpha\n").hexdigest()
    assert a["old_size"] == "6" and a["size"] == str(len("alpha, longer\n"))

    c = ev[str(t / "c.txt")]
    assert c["action"] == "renamed" and c["old_path"] == str(old_b)
    assert c["changed"] == "mode" and c["mode"] == "rw-------" and c["old_mode"] == "rw-r--r--"

    g = ev[str(t / "gone.txt")]
    assert g["action"] == "delete" and g["hash"] == hashlib.sha256(b"to delete\n").hexdigest()
    assert r.inp.scan().changes == 0


def test_raw_is_splunk_key_value_and_fields_are_searchable(rig):
    r = rig()
    r.inp.scan()
    (r.tree / "x.conf").write_text("k=v\n")
    r.inp.scan()
    r.writer.store.seal()
    res = r.svc.search("index=fim sourcetype=fs_notification action=add path=*.conf | table action path isdir", limit=0)
    assert res.table.to_pylist() == [{"action": "add", "path": str(r.tree / "x.conf"), "isdir": "0"}]
    raw = r.svc.search("index=fim", limit=0).table.to_pylist()[0]["_raw"]
    assert f'action=add, path="{r.tree / "x.conf"}", isdir=0, size=4' in raw
    mtime = os.stat(r.tree / "x.conf").st_mtime
    import time
    assert f'modtime="{time.strftime("%a %b %d %H:%M:%S %Y", time.localtime(mtime))}"' in raw


def test_same_length_rewrite_is_a_content_change_and_identical_bytes_only_mtime(rig):
    r = rig()
    f = r.tree / "f.bin"
    f.write_bytes(b"AAAA")
    r.inp.scan()
    st = os.stat(f)
    f.write_bytes(b"BBBB")
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    r.inp.scan()
    f.write_bytes(b"BBBB")
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns + 2 * 10**9))
    r.inp.scan()
    changes = [e["changed"] for e in r.events()]
    assert sorted(changes) == ["content,mtime", "mtime"]


def test_without_hashing_a_content_change_is_seen_through_mtime(rig):
    r = rig(FsChangeSettings(hash_algo="none"))
    f = r.tree / "f"
    f.write_bytes(b"1111")
    r.inp.scan()
    st = os.stat(f)
    f.write_bytes(b"2222")
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    r.inp.scan()
    [e] = r.events()
    assert e["changed"] == "mtime" and "hash" not in e


def test_unchanged_rescan_reads_no_file(rig):
    r = rig()
    for i in range(50):
        (r.tree / f"f{i}").write_text(str(i))
    assert r.inp.scan().hashed == 50
    rep = r.inp.scan()
    assert rep.hashed == 0 and rep.changes == 0 and rep.files == 50


def test_filters_skip_and_keep(rig):
    r = rig(FsChangeSettings(filters=(Filter.parse("*.swp"), Filter.parse("logs/*"))))
    r.inp.scan()
    (r.tree / "logs").mkdir()
    (r.tree / "a.swp").write_text("x")
    (r.tree / "logs" / "app.log").write_text("x")
    (r.tree / "keep.txt").write_text("x")
    r.inp.scan()
    assert [e["path"] for e in r.events()] == [str(r.tree / "keep.txt"), str(r.tree / "logs")]


def test_allow_filter_keeps_only_matching_files_at_any_depth(rig):
    r = rig(FsChangeSettings(filters=(Filter.parse("+*.conf"),)))
    r.inp.scan()
    (r.tree / "etc").mkdir()
    (r.tree / "etc" / "a.conf").write_text("x")
    (r.tree / "etc" / "a.txt").write_text("x")
    r.inp.scan()
    assert [(e["path"], e["action"]) for e in r.events()] == [(str(r.tree / "etc"), "add"), (str(r.tree / "etc" / "a.conf"), "add")]


def test_fifo_symlink_loop_and_link_out_of_the_tree_are_reported_never_followed(rig, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_text("never read")
    r = rig()
    os.mkfifo(r.tree / "pipe")
    os.symlink("loop-b", r.tree / "loop-a")
    os.symlink("loop-a", r.tree / "loop-b")
    os.symlink(str(outside), r.tree / "out")
    (r.tree / "ok.txt").write_text("fine")
    rep = r.inp.scan()                                     # a FIFO never blocks the scan
    assert rep.kind == "baseline"
    assert str(r.tree / "out" / "secret") not in r.inp.entries
    assert r.inp.entries[str(r.tree / "out")].target == str(outside)
    assert r.inp.entries[str(r.tree / "pipe")].kind == "fifo"
    r.writer.store.seal()
    probs = {(p["source"], p["reason"].split(":")[0]) for p in r.svc.catalog.problems() if p["kind"] == "fschange"}
    assert probs == {(str(r.tree / "pipe"), "fifo"), (str(r.tree / "loop-a"), "symlink loop"),
                     (str(r.tree / "loop-b"), "symlink loop")}
    os.unlink(r.tree / "out")
    os.symlink("ok.txt", r.tree / "out")                   # retargeted link
    r.inp.scan()
    [e] = r.events()
    assert (e["path"], e["action"], e["target"], e["size"]) == (str(r.tree / "out"), "update", "ok.txt", "6")
    assert {"size", "target"} <= set(e["changed"].split(","))


def test_speleo_home_inside_the_tree_is_never_read(tmp_path):
    tree = tmp_path / "tree"
    tree.mkdir()
    r = Rig(tree, FsChangeSettings(), tree=tree)           # the home is tree/home
    try:
        r.inp.scan()
        assert not any(p.startswith(str(r.home.root)) for p in r.inp.entries)
        (tree / "x").write_text("1")
        r.inp.scan()
        assert [e["path"] for e in r.events()] == [str(tree / "x")]
    finally:
        r.close()


def test_emit_baseline_sends_one_add_per_existing_file_as_splunk(rig):
    r = rig(FsChangeSettings(emit_baseline=True))
    for n in ("a", "b", "c"):
        (r.tree / n).write_text(n)
    r.inp.scan()
    assert [(e["action"], e["path"]) for e in r.events()] == [("add", str(r.tree / n)) for n in "abc"]
    assert r.inp.scan().changes == 0


def test_type_change_is_delete_then_add(rig):
    r = rig()
    (r.tree / "x").write_text("file")
    r.inp.scan()
    (r.tree / "x").unlink()
    (r.tree / "x").mkdir()
    r.inp.scan()
    assert [(e["action"], e["isdir"]) for e in r.events()] == [("add", "1"), ("delete", "0")]


def crash_state(r: Rig, journaled: bool) -> None:
    """Leave the state a kill -9 would: a batch begun (one new file), its events journaled or
    not, never committed; then restart."""
    from speleo.alerts.fschange.changes import diff
    from speleo.alerts.fschange.events import change_fields, events_table
    from speleo.alerts.fschange.runner import batch_delta

    d = diff(r.inp.entries, r.inp.scanner.scan(r.inp.entries).entries)
    puts, deletes = batch_delta(d.changes)
    seq = r.inp.state.begin(puts, deletes)
    if journaled:
        rows = [change_fields(c, "sha256", r.inp.name) for c in d.changes]
        r.writer.store.append(events_table(rows, 1.0, index="fim", host="h", source=r.inp.name,
                                           sourcetype="fs_notification"), {checkpoint_key(r.id): (str(r.tree), seq)})
    r.reopen()


def test_batch_journaled_before_the_crash_is_applied_not_sent_again(rig):
    r = rig()
    r.inp.scan()
    (r.tree / "n").write_text("new")
    crash_state(r, journaled=True)
    assert r.inp.recovered == "applied"
    assert r.inp.scan().changes == 0
    assert [e["path"] for e in r.events()] == [str(r.tree / "n")]


def test_batch_not_journaled_is_dropped_and_found_again(rig):
    r = rig()
    r.inp.scan()
    (r.tree / "n").write_text("new")
    crash_state(r, journaled=False)
    assert r.inp.recovered == "dropped"
    assert r.inp.scan().changes == 1
    assert [e["path"] for e in r.events()] == [str(r.tree / "n")]
    row = r.svc.catalog.query("SELECT offset FROM checkpoints WHERE fingerprint = ?", (checkpoint_key(r.id),))
    assert row[0][0] == r.inp.state.applied_seq == 1


@pytest.mark.parametrize("failing", ["journal", "state"])
def test_a_write_failing_in_process_neither_loses_nor_doubles(rig, failing):
    r = rig()
    r.inp.scan()
    (r.tree / "n").write_text("new")
    target, name = (r.writer.store, "append") if failing == "journal" else (r.inp.state, "commit")
    real = getattr(target, name)

    def once(*a, **k):
        setattr(target, name, real)
        raise OSError(28, "No space left on device")

    setattr(target, name, once)
    with pytest.raises(OSError):
        r.inp.scan()
    r.inp.scan()                                   # the server's loop goes on after the error
    r.inp.scan()
    assert [e["path"] for e in r.events()] == [str(r.tree / "n")]


def test_signedaudit_sends_audittrail_events_to_audit(tmp_path):
    r = Rig(tmp_path, FsChangeSettings(signedaudit=True))
    try:
        r.inp.scan()
        (r.tree / "x").write_text("1")
        r.inp.scan()
        r.writer.store.seal()
        rows = r.svc.search("index=_audit sourcetype=audittrail action=add | table path", limit=0).table.to_pylist()
        assert rows == [{"path": str(r.tree / "x")}] and r.events() == []
    finally:
        r.close()


def test_entry_cap_bounds_memory_and_deletes_nothing(tmp_path):
    from speleo.alerts.fschange.changes import diff
    from speleo.alerts.fschange.scanner import Scanner

    tree = tmp_path / "t"
    for d in range(3):
        (tree / f"d{d}").mkdir(parents=True)
        for i in range(5):
            (tree / f"d{d}" / f"f{i}").write_text("x")
    full = Scanner(str(tree), FsChangeSettings()).scan()
    capped = Scanner(str(tree), FsChangeSettings(), max_entries=7).scan(full.entries)
    assert len(capped.entries) < len(full.entries) == 18
    assert any("more than 7 entries" in p.reason for p in capped.problems)
    assert diff(full.entries, capped.entries, keep=capped.unlisted).changes == []


def test_file_names_that_are_not_utf8_round_trip_and_show_escaped(rig):
    r = rig()
    raw = os.fsencode(str(r.tree)) + b"/bad\xff name"
    with open(raw, "w") as f:
        f.write("x")
    r.inp.scan()
    with open(os.fsencode(str(r.tree)) + b"/new\xfe\nline", "w") as f:
        f.write("y")
    os.unlink(raw)
    r.inp.scan()
    got = {(e["action"], e["path"]) for e in r.events()}
    assert got == {("delete", f"{r.tree}/bad\\xff name"), ("add", f"{r.tree}/new\\xfe\nline")}
    r.reopen()                                          # the baseline reloads the exact bytes
    assert r.inp.scan().changes == 0
    assert os.fsdecode(os.fsencode(str(r.tree)) + b"/new\xfe\nline") in r.inp.entries


def test_file_over_the_hash_size_limit_has_no_hash_and_changes_are_still_seen(rig):
    r = rig(FsChangeSettings(hash_max_size=1_048_576))
    big, small = r.tree / "big", r.tree / "small"
    big.write_bytes(b"a" * 2 * 1024 * 1024)
    small.write_bytes(b"s")
    r.inp.scan()
    big.write_bytes(b"b" * (2 * 1024 * 1024 + 1))
    r.inp.scan()
    [e] = r.events()
    assert e["path"] == str(big) and "hash" not in e and e["changed"].split(",") == ["mtime", "size"]
    assert r.inp.entries[str(small)].hash == hashlib.sha256(b"s").hexdigest()


def test_no_recurse_watches_only_the_direct_entries(rig):
    r = rig(FsChangeSettings(recurse=False))
    (r.tree / "sub").mkdir()
    r.inp.scan()
    (r.tree / "sub" / "x").write_text("deep")
    (r.tree / "y").write_text("top")
    r.inp.scan()
    assert [e["path"] for e in r.events()] == [str(r.tree / "y")]
