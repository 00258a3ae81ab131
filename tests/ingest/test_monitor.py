"""Monitor inputs in-process: rotation, compression, small files, bad files, multiline directories."""

from __future__ import annotations

import gzip
import os
import shutil
import time

import pytest

from speleo.config import Home, Settings
from speleo.ingest.monitor import Monitor
from speleo.service import Service
from tests.conftest import data_path


def line(i: int) -> str:
    return f"2026-11-01 10:{(i // 60) % 60:02d}:{i % 60:02d} INFO seq={i} msg=hello\n"


class Rig:
    def __init__(self, tmp_path, **settings):
        self.home = Home(tmp_path / "home", Settings(pending_event_flush_secs=0.0, **settings))
        self.svc = Service(self.home)
        self.writer = self.svc.open_writer()
        self.logs = tmp_path / "logs"
        self.logs.mkdir()
        self.monitor = Monitor(self.writer.ingestor, self.home.settings, skip_under=self.home.root)

    def add(self, **kw):
        self.svc.add_monitor(str(self.logs), "main", **kw)

    def poll(self, rounds: int = 3):
        for _ in range(rounds):
            self.monitor.poll(scan=True)
        self.writer.store.seal()

    def count(self, spl: str = "index=main | stats count, dc(seq) as d") -> tuple[int, int]:
        row = self.svc.search(spl, limit=0).table.to_pylist()[0]
        return int(row["count"]), int(row.get("d") or 0)

    def restart(self):
        self.monitor.close()
        self.writer.close()
        self.svc = Service(self.home)
        self.writer = self.svc.open_writer()
        self.monitor = Monitor(self.writer.ingestor, self.home.settings, skip_under=self.home.root)


@pytest.fixture
def rig(tmp_path):
    r = Rig(tmp_path)
    yield r
    r.monitor.close()
    r.writer.close()


def append(path, start, n):
    with open(path, "a") as f:
        f.write("".join(line(i) for i in range(start, start + n)))


def test_small_file_that_grows_past_the_fingerprint_is_not_read_twice(rig):
    rig.add()
    app = rig.logs / "app.log"
    append(app, 0, 1)  # ~50 bytes: shorter than the fingerprint
    rig.poll()
    assert rig.count() == (1, 1)
    append(app, 1, 20)
    rig.poll()
    assert rig.count() == (21, 21)
    rig.restart()
    append(app, 21, 5)
    rig.poll()
    assert rig.count() == (26, 26)


def test_rotation_into_gzip_reads_the_tail_once(rig):
    rig.add()
    app = rig.logs / "app.log"
    append(app, 0, 100)
    rig.poll()
    append(app, 100, 20)  # written, then rotated and compressed before the monitor looks
    with open(app, "rb") as src, gzip.open(rig.logs / "app.log.1.gz", "wb") as dst:
        shutil.copyfileobj(src, dst)
    rig.monitor.close()  # no open handle survives: the tail must come from the .gz
    rig.restart()
    os.unlink(app)
    append(app, 120, 10)
    rig.poll()
    assert rig.count() == (130, 130)


def test_restart_resumes_from_checkpoints(rig):
    rig.add()
    append(rig.logs / "a.log", 0, 50)
    append(rig.logs / "b.log", 1000, 50)
    rig.poll()
    rig.restart()
    append(rig.logs / "a.log", 50, 10)
    rig.poll()
    assert rig.count() == (110, 110)


def test_whitelist_and_blacklist(rig):
    rig.add(whitelist=r"\.log$", blacklist=r"debug")
    append(rig.logs / "app.log", 0, 3)
    append(rig.logs / "debug.log", 100, 3)
    append(rig.logs / "app.txt", 200, 3)
    rig.poll()
    assert rig.count() == (3, 3)


def test_binary_file_is_skipped_and_counted(rig):
    rig.add()
    (rig.logs / "core.bin").write_bytes(b"\x7fELF\x00\x00\x01" * 100)
    append(rig.logs / "app.log", 0, 2)
    rig.poll()
    assert rig.count() == (2, 2)
    problems = rig.svc.catalog.problems()
    assert any(p["source"].endswith("core.bin") and "binary" in p["reason"] for p in problems)


def test_huge_line_is_truncated_flagged_and_counted(rig):
    rig.add()
    with open(rig.logs / "app.log", "w") as f:
        f.write(line(0))
        f.write("2026-11-01 10:00:01 INFO seq=1 " + "x" * 50_000 + "\n")
        f.write(line(2))
    rig.poll()
    assert rig.count() == (3, 3)
    raw = rig.svc.search("index=main seq=1 | eval n=len(_raw) | table n _flags", limit=0).table.to_pylist()[0]
    assert raw["n"] <= 10_000 and "truncated" in raw["_flags"]
    assert any(p["reason"] == "truncated" and p["count"] == 1 for p in rig.svc.catalog.problems())


def test_invalid_utf8_is_kept_and_flagged(rig):
    rig.add()
    with open(rig.logs / "app.log", "wb") as f:
        f.write(b"2026-11-01 10:00:00 INFO seq=0 caf\xe9 \xff\xfe\n")
    rig.poll()
    assert rig.count() == (1, 1)
    assert any(p["reason"] == "invalid_utf8" for p in rig.svc.catalog.problems())


def test_kafka_directory_stack_traces_are_one_event_with_the_line_before(rig, tmp_path):
    src = data_path("elastic-examples", "kafka0")
    for f in src.iterdir():
        shutil.copy(f, rig.logs / f.name)
    expected = sum(
        1 for f in src.iterdir() for l in f.read_text(errors="replace").splitlines() if l.startswith("[20")
    )
    rig.add()
    rig.poll()
    assert rig.count("index=main | stats count")[0] == expected
    multi = rig.svc.search("index=main linecount>1 | stats count", limit=0).table.to_pylist()[0]["count"]
    assert multi > 0


def test_copytruncate_then_fast_writes_past_the_old_offset(rig):
    """The app writes more after the truncation than the monitor had read before it: size alone
    does not show the truncation; the head does."""
    rig.add()
    app = rig.logs / "y.log"
    append(app, 0, 50)
    rig.poll()
    append(app, 50, 50)
    shutil.copy(app, rig.logs / "y.log.1")
    with open(app, "r+") as f:
        f.truncate(0)
    append(app, 100, 80)
    rig.poll()
    rig.poll()
    assert rig.count() == (180, 180)
    rig.restart()
    rig.poll()
    assert rig.count() == (180, 180)


def test_large_gzip_is_read_in_chunks_with_every_line_once(tmp_path):
    r = Rig(tmp_path, read_chunk_bytes=64 * 1024)
    try:
        r.add()
        with gzip.open(r.logs / "old.log.1.gz", "wt") as f:
            f.write("".join(line(i) for i in range(20_000)))   # ~1 MB decompressed: 16 chunks
        r.poll()
        assert r.count() == (20_000, 20_000)
    finally:
        r.monitor.close()
        r.writer.close()
