"""Line endings: "\\n", "\\r\\n" and a lone "\\r" all end a line (issue 9, fault 3)."""

from __future__ import annotations

import pytest

from speleo.ingest.breaking import EventParser
from speleo.sourcetypes import Sourcetype
from tests.ingest.test_monitor import Rig

NOW = 1_717_200_000.0


def lines(n: int) -> list[str]:
    return [f"2026-11-01 10:{(i // 60) % 60:02d}:{i % 60:02d} INFO seq={i} msg=hello" for i in range(n)]


def feed(data: bytes, cuts: list[int]) -> list[dict]:
    """Parse `data` as a growing file read in pieces ending at `cuts`, then a final call."""
    parser = EventParser(Sourcetype("generic"), tz="UTC", now=NOW)
    rows, carry, offset, pos = [], b"", 0, 0
    for cut in [*cuts, len(data)]:
        buf = carry + data[pos:cut]
        pos = cut
        res = parser.parse(buf, offset, cut == len(data), 0.0)
        rows += res.events.to_pylist()
        offset += res.consumed
        carry = buf[res.consumed:]
    assert carry == b""
    return rows


@pytest.mark.parametrize("eol", ["\r", "\r\n", "\n"])
def test_every_line_end_gives_one_event_per_line(eol):
    text = lines(2000)
    data = eol.join(text).encode() + eol.encode()
    rows = feed(data, list(range(997, len(data), 997)))   # reads end anywhere, also inside "\r\n"
    assert [r["_raw"] for r in rows] == text
    assert [r["_offset"] for r in rows] == [len(eol.join(text[:i]).encode() + (eol.encode() if i else b""))
                                            for i in range(2000)]


def test_crlf_split_between_two_reads_makes_no_empty_event():
    text = lines(3)
    data = "\r\n".join(text).encode() + b"\r\n"
    first_cr = data.index(b"\r")
    rows = feed(data, [first_cr + 1])            # the first read ends between "\r" and "\n"
    assert [r["_raw"] for r in rows] == text


def test_mixed_line_ends():
    text = lines(6)
    data = (text[0] + "\r" + text[1] + "\r\n" + text[2] + "\n" + text[3] + "\r" + text[4] + "\n" + text[5]).encode()
    assert [r["_raw"] for r in feed(data, [])] == text


def test_cr_only_file_followed_by_the_monitor(tmp_path):
    rig = Rig(tmp_path, read_chunk_bytes=4093)
    try:
        rig.add()
        text = lines(2000)
        (rig.logs / "mac.log").write_bytes(("\r".join(text) + "\r").encode())
        rig.poll(rounds=60)
        got = rig.svc.search("index=main | table _raw", limit=0).table.column("_raw").to_pylist()
        assert sorted(got) == sorted(text)
    finally:
        rig.monitor.close()
        rig.writer.close()
