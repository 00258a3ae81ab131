"""Oneshot of the benchmark's generated logs (bench/gen.py: Apache access, auth.log, log4j with
stack traces, JSON), read back from the sealed buckets and checked event by event against the
files' own bytes: offsets, raw text, line counts, times, flags and the catalog's counters.

The expected events are worked out here from the files with `str` and `datetime` only: every
line is an event except the stack-trace lines of app.log (they follow an ERROR line); a line
whose timestamp the rare marker cut (`Dec quetzalcoatl7  2 ...`) takes the time of the event
before it and is flagged `no_timestamp`. Small chunks and seals make a file several journal
records and several hot buckets.
"""

from __future__ import annotations

import sys
import time
from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from speleo.config import Home
from speleo.ingest import oneshot
from speleo.service import Service

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from gen import RARE_TOKEN, generate  # noqa: E402


def _expected(path: Path) -> list[dict]:
    """The events of one generated file: offset, raw, linecount, time (None: no timestamp)."""
    data = path.read_bytes()
    events: list[dict] = []
    pos = 0
    for line in data.decode().split("\n")[:-1]:
        continuation = path.name == "app.log" and not line.startswith("[")
        if continuation:
            events[-1]["raw"] += "\n" + line
            events[-1]["linecount"] += 1
        else:
            events.append({"offset": pos, "raw": line, "linecount": 1, "time": _time_of(path.name, line)})
        pos += len(line.encode()) + 1
    return events


def _time_of(name: str, line: str) -> float | None:
    if RARE_TOKEN in line and name in ("auth.log", "status.json"):
        return None                  # the marker was put inside the timestamp
    if name == "access.log":
        text = line[line.index("[") + 1 : line.index("]")]
        return datetime.strptime(text, "%d/%b/%Y:%H:%M:%S %z").timestamp()
    if name == "status.json":
        return int(line.split('"timestamp": ')[1].split(",")[0]) / 1000
    if name == "app.log":            # naive: the machine's zone, as the parser reads it
        whole, millis = line[1:24].split(",")
        return time.mktime(time.strptime(whole, "%Y-%m-%d %H:%M:%S")) + int(millis) / 1000
    return None                      # auth.log is year-less: compared apart


def test_generated_logs_round_trip_event_by_event(tmp_path, monkeypatch):
    data = tmp_path / "data"
    generate(data, 3_200_000, seed=42)   # 20 hosts x 4 files of ~10 KB; two hosts are read
    for name in ("auth.log", "status.json"):   # a marker inside a timestamp, as gen.py may place it
        f = data / "web-01" / name
        lines = f.read_text().split("\n")
        lines.insert(5, lines[4].replace(" ", f" {RARE_TOKEN} ", 1))
        f.write_text("\n".join(lines))
    monkeypatch.setattr(oneshot, "CHUNK_BYTES", 4096)
    monkeypatch.setattr(oneshot, "SEAL_PENDING_BYTES", 12_000)
    svc = Service(Home(tmp_path / "home"))
    w = svc.open_writer()
    files = sorted(p for host in ("web-00", "web-01") for p in (data / host).iterdir())
    results = {p.name + p.parent.name: oneshot.add_oneshot(w.ingestor, p, "main", host=p.parent.name) for p in files}
    paths = [svc.home.root / b.path for b in svc.catalog.live_buckets(["main"])]
    got = pa.concat_tables([pq.read_table(p) for p in paths]).to_pylist()
    w.close()
    assert len(paths) > len(files)          # small seals: several buckets per file
    flagged_expected: dict[str, int] = {}
    for path in files:
        source = str(path.resolve())
        mine = sorted((e for e in got if e["source"] == source), key=lambda e: e["_offset"])
        want = _expected(path)
        assert [(e["_offset"], e["_raw"], e["linecount"]) for e in mine] == [
            (e["offset"], e["raw"], e["linecount"]) for e in want], path
        assert {(e["host"], e["index"]) for e in mine} == {(path.parent.name, "main")}
        assert results[path.name + path.parent.name].events == len(want)
        previous = None
        for e, w_ in zip(mine, want):
            cut = RARE_TOKEN in w_["raw"] and path.name in ("auth.log", "status.json")
            assert e["_flags"] == ("no_timestamp" if cut else ""), (path, w_["raw"])
            if cut:
                assert e["_time"] == previous
            elif path.name == "auth.log":   # month, day and clock in the machine's zone
                wall = time.localtime(e["_time"])
                assert f"{time.strftime('%b', wall)} {wall.tm_mday:2d} {time.strftime('%H:%M:%S', wall)}" == w_["raw"][:15]
            else:
                assert e["_time"] == pytest.approx(w_["time"], abs=1e-6), (path, w_["raw"])
            previous = e["_time"]
        n_cut = sum(1 for w_ in want if RARE_TOKEN in w_["raw"] and path.name in ("auth.log", "status.json"))
        if n_cut:
            flagged_expected[source] = n_cut
        checkpoint = svc.catalog.query("SELECT offset FROM checkpoints WHERE path = ?", (source,))
        assert [r[0] for r in checkpoint] == [path.stat().st_size]
    problems = svc.catalog.query("SELECT source, count FROM problems WHERE kind = 'flagged' AND reason = 'no_timestamp'")
    assert dict((s, n) for s, n in problems) == flagged_expected and len(flagged_expected) >= 2
    volume = svc.catalog.query("SELECT sum(bytes), sum(events) FROM volume WHERE index_name = 'main'")
    assert tuple(volume[0]) == (sum(len(e["_raw"].encode()) for e in got), len(got))


def test_expected_events_of_a_stack_trace_are_worked_out_by_hand(tmp_path):
    """The helper above on four lines: an ERROR line with its trace is one event of 3 lines
    (34 + 48 + 18 bytes), the next starts at byte 100."""
    p = tmp_path / "app.log"
    p.write_text("[2026-12-02 09:05:50,444] ERROR x\njava.lang.IllegalStateException: pool exhausted\n"
                 "\tat a.b(C.java:1)\n[2026-12-02 09:05:51,000] INFO y\n")
    assert [(e["offset"], e["linecount"]) for e in _expected(p)] == [(0, 3), (100, 1)]
