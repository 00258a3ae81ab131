"""The forwarder's file following (`RawTailer`): complete lines only, multi-line events kept in one
record, the monitor's identity rules (rename, copytruncate, .gz, truncation, small files),
checkpoints travelling with the records — and no pyarrow nor event parser in the process."""

from __future__ import annotations

import gzip
import os
import shutil
import subprocess
import sys

import pytest

from speleo.config import Settings
from speleo.forward.tail import RawTailer, last_event_start, may_start_event
from speleo.ingest.tailing import MonitorInput


def line(i: int) -> str:
    return f"2026-11-01 10:{(i // 60) % 60:02d}:{i % 60:02d} INFO seq={i} msg=hello\n"


def append(path, text: str) -> None:
    with open(path, "a") as f:
        f.write(text)


def lines(start: int, n: int) -> str:
    return "".join(line(i) for i in range(start, start + n))


class Sink:
    """Stands for the disk queue: keeps the records and the checkpoints they carry."""

    def __init__(self) -> None:
        self.records: list[tuple[bytes, int, dict, tuple]] = []
        self.cps: dict[str, tuple[str, int]] = {}
        self.problems: list = []

    def checkpoints(self):
        return dict(self.cps)

    def count_problem(self, *a):
        self.problems.append(a)

    def seal_if_large(self, n):
        pass

    def append_raw(self, payload, n, target, cp):
        self.records.append((payload, n, target.params(), cp))
        self.cps[cp[0]] = (cp[1], cp[2])
        return n

    def text(self) -> str:
        return b"".join(r[0] for r in self.records).decode()

    def seqs(self) -> list[int]:
        return [int(x.split("seq=")[1].split()[0]) for x in self.text().splitlines() if "seq=" in x]


class Rig:
    def __init__(self, tmp_path, flush: float = 3600.0, **settings) -> None:
        self.logs = tmp_path / "logs"
        self.logs.mkdir(exist_ok=True)
        self.settings = Settings(pending_event_flush_secs=flush, **settings)
        self.sink = Sink()
        self.inputs = [MonitorInput(1, str(self.logs), "main", None, "hostA")]
        self.tailer = RawTailer(self.sink, self.settings, inputs=self.inputs)

    def poll(self, rounds: int = 3) -> None:
        for _ in range(rounds):
            self.tailer.poll(scan=True)

    def restart(self) -> None:
        self.tailer.close()
        self.tailer = RawTailer(self.sink, self.settings, inputs=self.inputs)


@pytest.fixture
def rig(tmp_path):
    r = Rig(tmp_path)
    yield r
    r.tailer.close()


def test_only_complete_lines_are_sent_and_an_incomplete_one_waits(tmp_path):
    rig = Rig(tmp_path, flush=0.0)  # even when the file is idle: no partial line
    app = rig.logs / "app.log"
    append(app, lines(0, 10) + "2026-11-01 10:00:10 INFO seq=10 ms")
    rig.poll()
    assert rig.sink.seqs() == list(range(10))
    assert all(r[0].endswith(b"\n") for r in rig.sink.records)
    append(app, "g=hello\n")
    rig.poll()
    assert rig.sink.seqs() == list(range(11))
    assert rig.sink.text() == app.read_text()
    assert rig.sink.cps[rig.sink.records[-1][3][0]] == (str(app), app.stat().st_size)


def test_the_last_event_waits_for_the_next_one_so_a_stack_trace_is_never_cut(rig):
    app = rig.logs / "app.log"
    trace_head = "2026-11-01 10:00:05 ERROR boom\njava.lang.IllegalStateException: bad\n\tat a.B.c(B.java:1)\n"
    trace_tail = "\tat a.B.d(B.java:2)\nCaused by: java.io.IOException: x\n\tat e.F.g(F.java:3)\n\t... 2 more\n"
    append(app, lines(0, 5) + trace_head)
    rig.poll()
    assert rig.sink.text() == lines(0, 5)  # the trace's first lines wait
    append(app, trace_tail)
    rig.poll()
    assert rig.sink.text() == lines(0, 5)  # still no line that starts an event after it
    append(app, lines(6, 3))
    rig.poll()
    text = rig.sink.text()
    assert text == lines(0, 5) + trace_head + trace_tail + lines(6, 2)
    # the trace went in one record (one request), whole
    [record] = [r[0].decode() for r in rig.sink.records if trace_head in r[0].decode()]
    assert trace_head + trace_tail in record


def test_held_lines_are_sent_once_the_file_is_idle(tmp_path):
    rig = Rig(tmp_path, flush=0.0)
    app = rig.logs / "app.log"
    append(app, lines(0, 3) + "\tat x.Y(Y.java:1)\n")
    rig.tailer.poll(scan=True)
    assert rig.sink.seqs() == [0, 1]
    rig.poll()  # no growth: the held event goes
    assert rig.sink.text() == app.read_text()


def test_a_long_run_without_an_event_start_is_sent_anyway(tmp_path):
    rig = Rig(tmp_path, read_chunk_bytes=4096)
    app = rig.logs / "app.log"
    append(app, "2026-11-01 10:00:00 ERROR start\n" + "".join(f"\tat frame{i}\n" for i in range(1000)))
    rig.poll(5)
    assert len(rig.sink.text()) > 8000 and rig.sink.text() == app.read_text()[: len(rig.sink.text())]


def test_event_start_guess():
    data = b"x\n2026 INFO a\n\tat b\nCaused by: c\n  more\n\nValueError: d\nplain line\n"
    starts = {data[p:].split(b"\n", 1)[0]: may_start_event(data, p) for p in
              [0] + [i + 1 for i, c in enumerate(data[:-1]) if c == 10]}
    assert starts == {b"x": True, b"2026 INFO a": True, b"\tat b": False, b"Caused by: c": False,
                      b"  more": False, b"": False, b"ValueError: d": False, b"plain line": True}
    assert data[last_event_start(data, len(data)):] == b"plain line\n"
    assert last_event_start(b"only one\n", 9) == 0


def test_rename_rotation_reads_the_renamed_tail_then_the_new_file(tmp_path):
    rig = Rig(tmp_path, flush=0.0)  # a rotated file stops growing: its held lines go at once
    app = rig.logs / "app.log"
    append(app, lines(0, 50))
    rig.poll()
    append(app, lines(50, 10))
    os.rename(app, rig.logs / "app.log.1")
    append(app, lines(60, 10))
    rig.poll()
    assert sorted(rig.sink.seqs()) == list(range(70))


def test_copytruncate_is_neither_lost_nor_duplicated(tmp_path):
    rig = Rig(tmp_path, flush=0.0)  # a rotated file stops growing: its held lines go at once
    app = rig.logs / "app.log"
    append(app, lines(0, 40))
    rig.poll()
    append(app, lines(40, 10))
    shutil.copyfile(app, rig.logs / "app.log.1")
    with open(app, "r+") as f:
        f.truncate(0)
    append(app, lines(50, 30))  # written fast, past the old offset, before the next look
    rig.poll()
    assert sorted(rig.sink.seqs()) == list(range(80))


def test_rotation_into_gzip_reads_the_tail_from_the_gz_once(rig):
    app = rig.logs / "app.log"
    append(app, lines(0, 100))
    rig.poll()
    append(app, lines(100, 20))  # written, then rotated and compressed before the tailer looks
    rig.restart()  # no open handle survives: the tail must come from the .gz
    with open(app, "rb") as src, gzip.open(rig.logs / "app.log.1.gz", "wb") as dst:
        shutil.copyfileobj(src, dst)
    os.unlink(app)
    append(app, lines(120, 11))
    rig.poll()
    assert sorted(rig.sink.seqs()) == list(range(130))


def test_a_large_gz_is_read_in_chunks_cut_at_line_ends(tmp_path):
    rig = Rig(tmp_path, read_chunk_bytes=4096)
    with gzip.open(rig.logs / "old.log.gz", "wt") as f:
        f.write(lines(0, 500) + "2026-11-01 10:00:00 INFO seq=500 no newline at the end")
    rig.poll()
    assert rig.sink.seqs() == list(range(501)) and len(rig.sink.records) > 5
    assert all(r[0].endswith(b"\n") and r[0].startswith(b"2026-") for r in rig.sink.records)


def test_truncated_and_rewritten_file_is_read_again_from_the_start(rig):
    app = rig.logs / "app.log"
    append(app, lines(0, 30))
    rig.poll()
    before = len(rig.sink.seqs())
    with open(app, "r+") as f:
        f.truncate(0)
    append(app, lines(0, 3))  # the same file, truncated and rewritten
    rig.poll()  # the line held back before the truncation (29) is sent, not dropped
    append(app, lines(3, 1))
    rig.poll()
    assert rig.sink.seqs()[before:] == [29, 0, 1, 2]


def test_small_file_growing_past_the_fingerprint_and_restarts_read_on_from_checkpoints(rig):
    app = rig.logs / "app.log"
    append(app, line(0) + line(1))  # shorter than the fingerprint
    rig.poll()
    append(app, lines(2, 20))
    rig.poll()
    rig.restart()  # the checkpoints come back from what the records carried
    append(app, lines(22, 5))
    rig.poll()
    assert rig.sink.seqs() == list(range(26))
    assert len({r[3][0] for r in rig.sink.records if r[3][2] > 300}) == 1  # one full fingerprint


def test_targets_carry_host_source_index_and_the_detected_sourcetype(tmp_path):
    rig = Rig(tmp_path, flush=0.0)
    (rig.logs / "app.log").write_text(lines(0, 3))
    (rig.logs / "auth.log").write_text("Nov  1 10:00:00 web1 sshd[12]: Accepted password for bob\n")
    rig.poll()
    params = {r[2]["source"]: r[2] for r in rig.sink.records}
    assert params[str(rig.logs / "app.log")] == {"host": "hostA", "source": str(rig.logs / "app.log"),
                                                 "index": "main", "sourcetype": "generic"}
    assert params[str(rig.logs / "auth.log")]["sourcetype"] == "linux_secure"


def test_binary_files_are_skipped(rig):
    (rig.logs / "blob.bin").write_bytes(b"\x00\x01" * 100 + b"\n")
    rig.poll()
    assert rig.sink.records == [] and rig.sink.problems


def test_the_forwarder_loads_neither_pyarrow_nor_the_parser():
    code = (
        "import sys\n"
        "import speleo.cli.forward_cmds, speleo.forward.agent, speleo.forward.metrics, speleo.forward.tail\n"
        "from speleo import sourcetypes\n"
        "sourcetypes.detect('/x.log', ['2026-11-01 10:00:00 INFO a=1'])\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('pyarrow', 'numpy', 'duckdb', 'rich', 'httpx')\n"
        "             or m in ('speleo.ingest.breaking', 'speleo.ingest.timestamps', 'speleo.ingest.pipeline',\n"
        "                      'speleo.ingest.monitor', 'speleo.service', 'speleo.spl'))\n"
        "print(bad)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
