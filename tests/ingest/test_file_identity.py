"""File identity and rotation (issue 9, faults 1, 2, 6, 7): real files, renamed, copied,
truncated, deleted and re-created. Expected counts come from the lines each test wrote."""

from __future__ import annotations

import gzip
import os
import shutil

import pytest

from speleo.ingest.monitor import Monitor
from tests.ingest.test_monitor import Rig, append, line

BANNER = "# " + "export of the orders table; columns: " + ",".join(f"column_{i:03d}" for i in range(40)) + "\n"
assert len(BANNER) > 300


def with_banner(path, start: int, n: int) -> None:
    with open(path, "w") as f:
        f.write(BANNER + "".join(line(i) for i in range(start, start + n)))


@pytest.fixture
def rig(tmp_path):
    r = Rig(tmp_path)
    yield r
    r.monitor.close()
    r.writer.close()


def seqs(rig) -> tuple[int, int]:
    return rig.count("index=main seq=* | stats count, dc(seq) as d")


def test_rename_rotation_of_a_file_with_a_long_banner_reads_both_generations(rig):
    rig.add()
    app = rig.logs / "orders.csv"
    with_banner(app, 0, 600)
    rig.poll()
    append(app, 600, 100)                     # not read yet when the rotation happens
    os.rename(app, rig.logs / "orders.csv.1")
    with_banner(app, 700, 600)                # the new generation starts with the same 300+ bytes
    rig.poll()
    assert seqs(rig) == (1300, 1300)
    rig.restart()
    append(app, 1300, 10)
    rig.poll()
    assert seqs(rig) == (1310, 1310)


def test_two_files_with_the_same_banner_side_by_side_are_two_files(rig):
    rig.add()
    with_banner(rig.logs / "a.csv", 0, 600)
    rig.poll()
    with_banner(rig.logs / "b.csv", 600, 600)  # appears later, same head as a.csv
    with_banner(rig.logs / "c.csv", 1200, 5)   # shorter than what was read of a.csv
    rig.poll()
    assert seqs(rig) == (1205, 1205)
    status = {os.path.basename(f["path"]): f["fingerprint"] for f in rig.monitor.status()}
    assert len(set(status.values())) == 3


def test_files_with_the_same_banner_found_in_one_scan_are_all_read(rig):
    rig.add()
    for k in range(4):
        with_banner(rig.logs / f"part{k}.csv", k * 100, 100)
    rig.poll()
    assert seqs(rig) == (400, 400)


def test_banner_files_rotated_while_stopped_resume_and_read_the_new_file(rig):
    rig.add()
    app = rig.logs / "orders.csv"
    with_banner(app, 0, 600)
    rig.poll()
    rig.restart()                             # a new monitor: it has seen nothing of what follows
    append(app, 600, 50)
    os.rename(app, rig.logs / "orders.csv.1")
    with_banner(app, 650, 600)
    rig.poll()
    assert seqs(rig) == (1250, 1250)


@pytest.mark.parametrize("same_content", [True, False])
def test_small_file_deleted_and_recreated_is_read_again(rig, same_content):
    rig.add()
    beat = rig.logs / "heartbeat.log"
    append(beat, 0, 1)                         # ~50 bytes, under the head length
    rig.poll()
    os.unlink(beat)
    append(beat, 0, 1 if same_content else 2)  # starts with the very bytes of the old file
    rig.poll()
    expected = 2 if same_content else 3
    assert rig.count("index=main | stats count")[0] == expected


def test_head_length_per_input(tmp_path):
    r = Rig(tmp_path)
    try:
        r.svc.add_monitor(str(r.logs), "main", head_bytes=1024)
        (r.logs / "x.log").write_text("".join(line(i) for i in range(100)))
        r.poll()
        assert [f["fingerprint"].split(":")[0] for f in r.monitor.status()] == ["1024"]
        assert r.svc.inputs()[0]["head_bytes"] == 1024
    finally:
        r.monitor.close()
        r.writer.close()


def test_monitor_path_is_stored_resolved(rig):
    (rig.logs / "sub").mkdir()
    rig.svc.add_monitor(str(rig.logs / "sub" / ".." / "sub" / ".."), "main")
    assert [i["path"] for i in rig.svc.inputs()] == [str(rig.logs.resolve())]


# -- copytruncate when only the file is monitored -----------------------------------------------
def file_rig(tmp_path):
    r = Rig(tmp_path)
    (r.logs / "app.log").touch()
    r.svc.add_monitor(str(r.logs / "app.log"), "main")
    return r


def copytruncate(app, copy, compress: bool = False) -> None:
    if compress:
        with open(app, "rb") as src, gzip.open(copy, "wb") as dst:
            shutil.copyfileobj(src, dst)
    else:
        shutil.copy(app, copy)
    with open(app, "r+") as f:
        f.truncate(0)


@pytest.mark.parametrize("copy_name,compress", [("app.log.1", False), ("app.log-20261101", False),
                                                ("app.log.1.gz", True)])
def test_copytruncate_of_a_monitored_file_reads_the_lines_only_the_copy_holds(tmp_path, copy_name, compress):
    r = file_rig(tmp_path)
    try:
        app = r.logs / "app.log"
        append(app, 0, 500)
        r.poll()
        append(app, 500, 300)            # written after the last read, before the copy
        copytruncate(app, r.logs / copy_name, compress)
        append(app, 800, 200)
        r.poll()
        assert r.count() == (1000, 1000)
    finally:
        r.monitor.close()
        r.writer.close()


def test_copytruncate_while_stopped_reads_the_copy_from_the_checkpoint(tmp_path):
    r = file_rig(tmp_path)
    try:
        app = r.logs / "app.log"
        append(app, 0, 500)
        r.poll()
        r.restart()                     # a new monitor: it has seen nothing of what follows
        append(app, 500, 300)
        copytruncate(app, r.logs / "app.log.1")
        append(app, 800, 200)
        r.poll()
        assert r.count() == (1000, 1000)
    finally:
        r.monitor.close()
        r.writer.close()


def test_truncation_without_a_copy_reports_the_bytes_it_could_not_read(tmp_path):
    r = file_rig(tmp_path)
    try:
        app = r.logs / "app.log"
        append(app, 0, 10)
        r.poll()
        r.restart()
        append(app, 10, 5)
        with open(app, "r+") as f:      # truncated with no copy anywhere
            f.truncate(0)
        append(app, 15, 3)
        r.poll()
        assert r.count() == (13, 13)
        assert any(p["kind"] == "dropped" and "may be lost" in p["reason"] for p in r.svc.catalog.problems())
    finally:
        r.monitor.close()
        r.writer.close()


# -- open files ---------------------------------------------------------------------------------
class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_open_files_stay_under_the_pool_size_and_idle_files_are_closed(tmp_path):
    r = Rig(tmp_path, max_open_files=8, close_inactive_secs=5.0, change_notification=False)
    clock = Clock()
    r.monitor = Monitor(r.writer.ingestor, r.home.settings, skip_under=r.home.root, clock=clock)
    try:
        r.add()
        for k in range(40):
            append(r.logs / f"f{k:02d}.log", k * 10, 10)
        for _ in range(6):
            r.monitor.poll(scan=True)
            assert r.monitor.open_count <= 8
            assert sum(1 for t in r.monitor.tracked.values() if t.fd is not None) == r.monitor.open_count
        r.writer.store.seal()
        assert r.count() == (400, 400)
        clock.now += 6.0
        r.monitor.poll(scan=True)
        assert r.monitor.open_count == 0
        # closed idle files: growth, rename rotation and deletion are still followed without loss
        append(r.logs / "f00.log", 400, 5)
        append(r.logs / "f01.log", 405, 5)
        os.rename(r.logs / "f01.log", r.logs / "f01.log.1")
        append(r.logs / "f01.log", 410, 5)
        r.poll()
        assert r.count() == (415, 415)
    finally:
        r.monitor.close()
        r.writer.close()


def test_change_notification_reads_new_lines_without_a_full_scan(tmp_path):
    r = Rig(tmp_path, scan_secs_notified=3600.0)
    try:
        r.add()
        append(r.logs / "a.log", 0, 5)
        r.monitor.poll()                            # first scan; starts the watcher
        if not (r.monitor.watcher and r.monitor.watcher.alive):
            pytest.skip(f"inotify not available here: {r.monitor.watcher.error if r.monitor.watcher else ''}")
        append(r.logs / "a.log", 5, 5)
        append(r.logs / "b.log", 100, 5)            # a new file, seen through its creation event
        import time

        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and r.monitor.ing.events_total < 15:
            r.monitor.poll()                        # no scan: the last one is less than an hour old
            time.sleep(0.05)
        r.writer.store.seal()
        assert r.count() == (15, 15)
        assert r.monitor.summary()["change_notification"] == "inotify"
    finally:
        r.monitor.close()
        r.writer.close()



def test_a_copy_seen_half_written_is_not_read_as_a_new_file(rig):
    """logrotate's copytruncate of a large file: the copy is seen before it is complete."""
    rig.add()
    app = rig.logs / "app.log"
    append(app, 0, 600)
    rig.poll()
    append(app, 600, 50)
    data = app.read_bytes()
    copy = rig.logs / "app.log.1"
    copy.write_bytes(data[: len(data) // 3])          # the copy so far
    rig.poll()
    copy.write_bytes(data)                            # the copy done, then the truncation
    with open(app, "r+") as f:
        f.truncate(0)
    append(app, 650, 10)
    rig.poll()
    assert rig.count() == (660, 660)


def test_forwarder_state_keeps_identity_details_beside_the_old_checkpoint_shape(tmp_path):
    import json

    from speleo.forward.state import CheckpointStore

    st = CheckpointStore(tmp_path / "state.json")
    st.commit(1, {"256:ab": ("/a.log", 10, "2049.77.0123456789abcdef"), "64:cd": ("/b.log", 5)}, 2)
    again = CheckpointStore(tmp_path / "state.json")
    assert again.checkpoints == {"256:ab": ("/a.log", 10, "2049.77.0123456789abcdef"), "64:cd": ("/b.log", 5)}
    assert json.loads((tmp_path / "state.json").read_text())["checkpoints"]["256:ab"] == ["/a.log", 10]


def test_a_copy_of_a_file_that_stays_intact_is_not_indexed_twice(tmp_path):
    """logrotate's `copy` (the original is left as it is) or a backup copy inside the tree."""
    r = Rig(tmp_path, identity_settle_secs=0.0)
    try:
        r.add()
        app = r.logs / "app.log"
        append(app, 0, 300)
        r.poll()
        append(app, 300, 20)
        shutil.copy(app, r.logs / "app.log.1")
        append(app, 320, 10)
        r.poll()
        append(r.logs / "app.log.1", 1000, 3)       # what is added to the copy later is read
        r.poll()
        assert r.count() == (333, 333)
        assert any("a copy of" in p["reason"] for p in r.svc.catalog.problems())
    finally:
        r.monitor.close()
        r.writer.close()


def test_cli_head_bytes_is_stored_and_checked(tmp_path):
    from tests.conftest import run_cli

    logs = tmp_path / "logs"
    (logs / "sub").mkdir(parents=True)
    home = tmp_path / "home"
    out = run_cli(home, "add", "monitor", str(logs / "sub" / ".."), "--index", "main", "--head-bytes", "2048")
    assert str(logs.resolve()) in out.stdout.replace("\n", "")
    bad = run_cli(home, "add", "monitor", str(logs / "sub"), "--index", "main", "--head-bytes", "3", check=False)
    assert bad.returncode != 0 and "--head-bytes 3" in bad.stdout + bad.stderr
    from speleo.config import Home
    from speleo.service import Service

    assert [(i["path"], i["head_bytes"]) for i in Service(Home(home)).inputs()] == [(str(logs.resolve()), 2048)]
