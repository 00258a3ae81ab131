"""The server's fschange loop in process with real inotify: folder removal and folder renames
found by partial rescans, the bounded queue falling back to a full rescan, unreadable files and
folders (as an unprivileged user), and a watched folder that disappears."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

from speleo.alerts.fschange.settings import FsChangeSettings
from speleo.alerts.fschange.watcher import PathQueue, scopes_for
from speleo.alerts.fschange.scanner import Scope
from tests.conftest import wait_for
from tests.fschange.conftest import Rig


@pytest.fixture
def watched(tmp_path):
    from speleo.alerts.fschange.watcher import FsChangeWatcher

    tree = tmp_path / "tree"
    (tree / "sub" / "deep").mkdir(parents=True)
    for p in ("sub/a", "sub/deep/b", "top"):
        (tree / p).write_text(p)
    r = Rig(tmp_path, FsChangeSettings(poll_period_secs=3600), tree)
    r.inp.close()
    w = FsChangeWatcher(r.home.root, r.svc.catalog, r.writer.store)
    stop = threading.Event()
    t = threading.Thread(target=w.run, args=(stop,), daemon=True)
    t.start()
    # the baseline is written during the first full scan, the next full scan's time just after it
    wait_for(lambda: w.inputs and r.id in w.inputs and w.inputs[r.id].state.has_baseline
             and w.next_full.get(r.id, 0.0) > 0)
    yield r, w
    stop.set()
    t.join(timeout=10)
    w.close()
    r.writer.close()


def test_inotify_partial_rescans_report_subtree_removal_and_folder_rename(watched):
    r, w = watched
    t = r.tree
    [st] = w.status()
    assert (st["path"], st["watch"], st["queued_paths"]) == (str(t), "inotify", 0) and st["next_full_scan_secs"] > 3000
    (t / "top").write_text("top, rewritten")               # a write: the file alone is rescanned
    os.chmod(t / "sub" / "a", 0o640)
    wait_for(lambda: len(r.events()) >= 2)
    assert {(e["path"], e["changed"]) for e in r.events()} == {
        (str(t / "top"), "content,mtime,size"), (str(t / "sub" / "a"), "mode")}
    before = len(r.events())
    os.rename(t / "sub", t / "moved")
    wait_for(lambda: len(r.events()) >= before + 4)
    got = {(e["action"], e["path"], e.get("old_path")) for e in r.events() if e["action"] == "renamed"}
    assert got == {("renamed", str(t / "moved"), str(t / "sub")),
                   ("renamed", str(t / "moved" / "a"), str(t / "sub" / "a")),
                   ("renamed", str(t / "moved" / "deep"), str(t / "sub" / "deep")),
                   ("renamed", str(t / "moved" / "deep" / "b"), str(t / "sub" / "deep" / "b"))}
    shutil.rmtree(t / "moved")
    wait_for(lambda: len(r.events()) >= before + 8)
    deleted = {e["path"] for e in r.events() if e["action"] == "delete"}
    assert deleted == {str(t / "moved"), str(t / "moved" / "a"), str(t / "moved" / "deep"), str(t / "moved" / "deep" / "b")}
    time.sleep(1.0)
    assert len(r.events()) == before + 8


def test_queue_overflow_means_one_full_rescan():
    q = PathQueue(limit=3)
    for i in range(5):
        q.put(f"/t/{i}", alone=i % 2 == 0)
    assert q.take(time.monotonic()) is None                 # not quiet yet
    paths, overflow = q.take(time.monotonic() + 10)
    assert overflow and paths == {}
    assert q.take(time.monotonic() + 20) is None
    q.put("/t/a")
    q.lost()                                                # the kernel dropped events
    assert q.take(time.monotonic() + 30) == ({}, True)


def test_scopes_cover_the_parent_and_whole_new_or_gone_folders(tmp_path):
    root = str(tmp_path)
    (tmp_path / "new").mkdir()
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "f").write_text("x")
    s = scopes_for({f"{root}/new": True, f"{root}/new/x": True, f"{root}/gone/y": True, "/elsewhere/z": True},
                   root, {f"{root}/gone/y"})
    got = {(x.path, x.recursive) for x in s}
    assert got == {(root, False), (f"{root}/new", True), (f"{root}/gone", False), (f"{root}/gone/y", True)}
    assert Scope(root, False).covers(f"{root}/a") and not Scope(root, False).covers(f"{root}/a/b")
    # a written file: itself only; a written file whose folder is listed anyway: nothing more
    assert {(x.path, x.recursive) for x in scopes_for({f"{root}/d/f": False}, root, set())} == {(f"{root}/d/f", False)}
    both = scopes_for({f"{root}/d/f": False, f"{root}/d/g": True}, root, set())
    assert {(x.path, x.recursive) for x in both} == {(f"{root}/d", False)}


def test_missing_watched_folder_keeps_the_baseline(tmp_path):
    r = Rig(tmp_path, FsChangeSettings())
    try:
        (r.tree / "f").write_text("x")
        r.inp.scan()
        moved = tmp_path / "away"
        os.rename(r.tree, moved)                            # as an unmounted file system
        assert r.inp.scan().changes == 0
        os.rename(moved, r.tree)
        assert r.inp.scan().changes == 0 and r.events() == []
    finally:
        r.close()


SCAN_AS_NOBODY = """
import json, sys
from speleo.alerts.fschange.scanner import Scanner
from speleo.alerts.fschange.changes import diff
from speleo.alerts.fschange.settings import FsChangeSettings
root = sys.argv[1]
s = Scanner(root, FsChangeSettings())
first = s.scan()
import os
os.chmod(os.path.join(root, "locked"), 0o000)
second = s.scan(first.entries)
d = diff(first.entries, second.entries, keep=second.unlisted)
print(json.dumps({"problems": [list(p) for p in second.problems], "deleted": [c.path for c in d.changes if c.action == "delete"],
                  "unreadable_hash": second.entries[os.path.join(root, "secret")].hash}))
"""


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to switch to an unprivileged user")
def test_unreadable_file_and_folder_are_reported_not_fatal_not_deleted():
    root = Path(tempfile.mkdtemp(prefix="fsc-nobody-", dir="/tmp"))
    try:
        os.chmod(root, 0o777)
        (root / "secret").write_text("s")
        os.chmod(root / "secret", 0o000)
        (root / "locked").mkdir()
        (root / "locked" / "inside").write_text("i")
        for p in (root / "locked", root / "locked" / "inside"):
            os.chown(p, 65534, 65534)
        src = Path(__file__).resolve().parents[2] / "src"     # the scanner needs only the standard library
        python = shutil.which("python3", path="/usr/bin:/bin") or sys.executable   # one the user may run
        env = dict(os.environ, PYTHONPATH=str(src))
        proc = subprocess.run([python, "-c", SCAN_AS_NOBODY, str(root)], capture_output=True, text=True,
                              env=env, user=65534, group=65534, timeout=120)
        assert proc.returncode == 0, proc.stderr
        out = json.loads(proc.stdout)
        reasons = {(p, r.split(":")[0]) for p, r in out["problems"]}
        assert (str(root / "secret"), "unreadable") in reasons
        assert (str(root / "locked"), "cannot list folder") in reasons
        assert out["deleted"] == [] and out["unreadable_hash"] is None
    finally:
        os.chmod(root / "locked", 0o755)
        shutil.rmtree(root, ignore_errors=True)


def test_partial_scan_never_goes_through_a_link_out_of_the_tree(tmp_path):
    from speleo.alerts.fschange.scanner import Scanner

    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_text("s")
    tree = tmp_path / "tree"
    tree.mkdir()
    os.symlink(outside, tree / "out")
    s = Scanner(str(tree), FsChangeSettings())
    res = s.scan({}, [Scope(str(tree / "out" / "secret"), False), Scope(str(tree / "out"), True)])
    assert list(res.entries) == [str(tree / "out")] and res.entries[str(tree / "out")].kind == "link"


def test_one_failing_input_does_not_stop_the_others(tmp_path):
    from speleo.alerts.fschange import inputs
    from speleo.alerts.fschange.watcher import FsChangeWatcher

    good, bad = tmp_path / "good", tmp_path / "bad"
    r = Rig(tmp_path, FsChangeSettings(), good)
    try:
        r.inp.close()
        bad_id = inputs.add_input(r.svc, str(bad.mkdir() or bad), "fim", FsChangeSettings())
        w = FsChangeWatcher(r.home.root, r.svc.catalog, r.writer.store, use_inotify=False)
        w.reload()
        w.inputs[bad_id].scan = lambda scopes=None: (_ for _ in ()).throw(RuntimeError("disk on fire"))
        w.tick()
        (good / "x").write_text("1")
        w.next_full[r.id] = 0.0
        w.tick()
        assert [e["path"] for e in r.events()] == [str(good / "x")]
        reasons = [p["reason"] for p in r.svc.catalog.problems() if p["source"] == str(bad)]
        assert reasons == ["scan failed (RuntimeError: disk on fire); retried every 30 s"]
        w.close()
    finally:
        r.writer.close()


def test_inotify_watch_limit_falls_back_to_polling(tmp_path, monkeypatch):
    from watchdog.observers import Observer

    from speleo.alerts.fschange.watcher import FsChangeWatcher

    def refuse(self, *a, **k):
        raise OSError(28, "inotify watch limit reached")

    monkeypatch.setattr(Observer, "schedule", refuse)
    r = Rig(tmp_path, FsChangeSettings(poll_period_secs=0.5))
    try:
        r.inp.close()
        w = FsChangeWatcher(r.home.root, r.svc.catalog, r.writer.store)
        w.tick()                                           # baseline
        assert w.status()[0]["watch"] == "polling"
        (r.tree / "x").write_text("1")
        time.sleep(0.6)
        w.tick()                                           # the poll period has passed: a full rescan
        assert [e["path"] for e in r.events()] == [str(r.tree / "x")]
        reasons = [p["reason"] for p in r.svc.catalog.problems() if p["kind"] == "fschange"]
        assert any(x.startswith("inotify unavailable (OSError") and "polled every 0.5 s only" in x for x in reasons)
        w.close()
    finally:
        r.writer.close()


def test_an_inotify_watch_that_ends_is_replaced_and_the_tree_rescanned(watched):
    """watchdog's emitter thread ends silently on an error: without a check no change would
    ever be reported again (the poll period here is an hour)."""
    r, w = watched
    [watch] = w.watches.values()
    emitter = w.observer._emitter_for_watch[watch]
    emitter.stop()                                       # as if its thread had died
    emitter.join(timeout=10)
    assert not emitter.is_alive()
    (r.tree / "while-deaf").write_text("x")              # made while no event can arrive
    wait_for(lambda: any(e["path"] == str(r.tree / "while-deaf") for e in r.events()), timeout=20)
    assert w.status()[0]["watch"] == "inotify"
    (r.tree / "after").write_text("y")                   # and events flow again
    wait_for(lambda: any(e["path"] == str(r.tree / "after") for e in r.events()), timeout=20)
    problems = r.svc.catalog.query("SELECT reason FROM problems WHERE source = ?", (str(r.tree),))
    assert any("inotify stopped delivering events" in p[0] for p in problems)


def test_a_dead_observer_is_stopped_and_replaced(watched):
    """watchdog's dispatching thread ends (an error in it): a new observer takes over the watches
    and the old one's emitter threads are stopped, not left filling a queue nobody reads."""
    r, w = watched
    old = w.observer
    emitters = list(old.emitters)

    def broken(event_queue):
        raise RuntimeError("a bug in a handler")   # ends the observer's thread, as in watchdog

    old.dispatch_events = broken
    (r.tree / "wakes-the-observer").write_text("y")
    old.join(timeout=10)
    assert not old.is_alive() and all(e.is_alive() for e in emitters)   # the emitters outlive it
    wait_for(lambda: w.observer is not None and w.observer is not old, timeout=20)
    wait_for(lambda: not any(e.is_alive() for e in emitters), timeout=10)   # stopped, not leaked
    (r.tree / "after-observer").write_text("z")
    wait_for(lambda: any(e["path"] == str(r.tree / "after-observer") for e in r.events()), timeout=20)
    assert w.observer.is_alive()
