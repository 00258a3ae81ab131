"""Event breaking: bytes -> Arrow events, checked against independent counts and ground truth."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest

from speleo import sourcetypes
from speleo.ingest.breaking import SCHEMA, EventParser
from speleo.sourcetypes import Sourcetype

LOGHUB = ("Apache", "BGL", "HDFS", "HPC", "Hadoop", "Linux", "OpenSSH", "OpenStack", "Spark", "Zookeeper")
NOW = 1_717_200_000.0  # 2024-06-01 UTC
GENERIC = Sourcetype("generic")


def parse_all(data: bytes, st: Sourcetype = GENERIC, fallback: float = 0.0, chunk: int | None = None):
    """Parse `data` in chunks of `chunk` bytes (None = one final call); rows as dicts."""
    parser = EventParser(st, tz="UTC", now=NOW)
    if chunk is None:
        result = parser.parse(data, 0, True, fallback)
        assert result.consumed == len(data)
        return result.events.to_pylist()
    rows, pending, offset, pos = [], b"", 0, 0
    while pos < len(data) or pending:
        piece = data[pos : pos + chunk]
        pos += len(piece)
        buf = pending + piece
        result = parser.parse(buf, offset, pos >= len(data), fallback)
        rows += result.events.to_pylist()
        offset += result.consumed
        pending = buf[result.consumed :]
        if pos >= len(data):
            assert not pending
            break
    return rows


def test_schema_and_empty_input() -> None:
    result = EventParser(GENERIC).parse(b"", 0, True, 0.0)
    assert result.events.schema == SCHEMA and result.events.num_rows == 0 and result.consumed == 0


@pytest.mark.parametrize("system", LOGHUB)
def test_loghub_one_event_per_line_with_ground_truth_time(data_dir: Path, truth_of, time_matches,
                                                          system: str) -> None:
    path = data_dir / "loghub" / system / f"{system}_2k.log"
    data = path.read_bytes()
    name = sourcetypes.detect(str(path), data[:20000].decode("utf-8", "replace").splitlines()[:50])
    rows = parse_all(data, sourcetypes.get(name))
    truth = truth_of(system)
    assert len(rows) == len(truth) == len(data.splitlines())
    good = sum(time_matches(system, r["_time"], t) for r, t in zip(rows, truth))
    assert good / len(truth) >= 0.995, f"{system} ({name}): {good}/{len(truth)}"


def test_kafka_stack_traces_stay_with_their_line(data_dir: Path) -> None:
    for path in sorted((data_dir / "elastic-examples" / "kafka0").glob("server.log*")):
        data = path.read_bytes()
        starts = sum(1 for line in data.decode().splitlines() if line.startswith("[20"))
        rows = parse_all(data)
        assert len(rows) == starts, path.name
        assert all(r["_raw"].startswith("[20") for r in rows)
        assert all(data[r["_offset"] : r["_offset"] + 21] == r["_raw"][:21].encode() for r in rows)
        assert sum(r["linecount"] for r in rows) == len([ln for ln in data.decode().splitlines() if ln.strip()])


def test_chunked_parsing_equals_one_call(data_dir: Path) -> None:
    data = (data_dir / "elastic-examples" / "kafka0" / "server.log.2016-12-19-20").read_bytes()
    whole = parse_all(data)
    for chunk in (997, 8192):
        assert parse_all(data, chunk=chunk) == whole


def test_not_final_holds_back_last_event_and_partial_line() -> None:
    data = b"2020-01-01 00:00:00 a\n\tat x\n2020-01-01 00:00:01 b\n\tat y\n2020-01-01 00:00:02 c"
    parser = EventParser(GENERIC, tz="UTC")
    held = parser.parse(data, 100, False, 0.0)
    assert held.events.column("_raw").to_pylist() == ["2020-01-01 00:00:00 a\n\tat x"]
    assert held.consumed == data.index(b"2020-01-01 00:00:01")
    assert held.events.column("_offset").to_pylist() == [100]
    rest = parser.parse(data[held.consumed :], 100 + held.consumed, True, 0.0)
    assert rest.events.column("_raw").to_pylist() == ["2020-01-01 00:00:01 b\n\tat y", "2020-01-01 00:00:02 c"]
    assert rest.consumed == len(data) - held.consumed


def test_incomplete_last_line_joins_last_event_when_final() -> None:
    rows = parse_all(b"2020-01-01 00:00:00 a\n2020-01-01 00:0")
    assert [r["_raw"] for r in rows] == ["2020-01-01 00:00:00 a\n2020-01-01 00:0"]


def test_incomplete_line_alone_is_not_consumed() -> None:
    result = EventParser(GENERIC).parse(b"2020-01-01 00:00:00 no newline yet", 0, False, 0.0)
    assert result.consumed == 0 and result.events.num_rows == 0


def test_crlf_and_blank_lines() -> None:
    data = b"2020-01-01 00:00:00 a\r\n  more\r\n\r\n   \r\n2020-01-01 00:00:01 b \r\n\r\n"
    rows = parse_all(data)
    assert [r["_raw"] for r in rows] == ["2020-01-01 00:00:00 a\n  more", "2020-01-01 00:00:01 b "]
    assert [r["linecount"] for r in rows] == [2, 1]
    assert [r["_offset"] for r in rows] == [0, data.index(b"2020-01-01 00:00:01")]


def test_leading_blank_lines_make_no_empty_event() -> None:
    rows = parse_all(b"\n\n2020-01-01 00:00:00 a\n")
    assert [r["_raw"] for r in rows] == ["2020-01-01 00:00:00 a"]


def test_no_timestamps_every_line_is_an_event() -> None:
    data = b"alpha one\nbeta two\n  gamma three\n"
    rows = parse_all(data, fallback=1234.5)
    assert [r["_raw"] for r in rows] == ["alpha one", "beta two", "  gamma three"]
    assert {r["_time"] for r in rows} == {1234.5}
    assert {r["_flags"] for r in rows} == {"no_timestamp"}


def test_event_without_timestamp_takes_previous_time() -> None:
    st = Sourcetype("x", should_linemerge=False)
    rows = parse_all(b"2020-01-01 00:00:05 a\nno time\n", st, fallback=1.0)
    assert rows[1]["_time"] == rows[0]["_time"] and rows[1]["_flags"] == "no_timestamp"


def test_truncation_flags_long_lines() -> None:
    st = Sourcetype("x", should_linemerge=False, truncate=50)
    rows = parse_all(b"2020-01-01 00:00:00 " + "é".encode() * 100 + b"\nshort\n", st)
    assert len(rows[0]["_raw"].encode()) <= 50 and rows[0]["_flags"] == "truncated"
    assert rows[1]["_raw"] == "short"


def test_invalid_utf8_is_kept_and_flagged() -> None:
    rows = parse_all(b"2020-01-01 00:00:00 bad \xff\xfe byte\n2020-01-01 00:00:01 good\n")
    assert rows[0]["_raw"] == "2020-01-01 00:00:00 bad \ufffd\ufffd byte"
    assert rows[0]["_flags"] == "invalid_utf8" and rows[1]["_flags"] == ""


def test_binary_flag() -> None:
    rows = parse_all(b"2020-01-01 00:00:00 nul\x00here\n")
    assert rows[0]["_flags"] == "binary"


def test_max_lines_splits_and_flags() -> None:
    data = b"2020-01-01 00:00:00 head\n" + b"\tline\n" * 9 + b"2020-01-01 00:00:01 next\n"
    rows = parse_all(data, replace(GENERIC, max_lines=4))
    assert [r["linecount"] for r in rows] == [4, 4, 2, 1]
    # pieces after the first inherit its time, so they also carry no_timestamp
    assert all("max_lines" in r["_flags"].split(",") for r in rows[:3]) and rows[3]["_flags"] == ""
    assert rows[0]["_flags"] == "max_lines" and rows[1]["_time"] == rows[0]["_time"]


def test_max_lines_leaves_an_event_of_exactly_max_lines_whole() -> None:
    """The cut starts at max_lines + 1 lines: 4 lines with max_lines=4 stay one event, 5 do not."""
    head, tail = b"2020-01-01 00:00:00 head\n", b"2020-01-01 00:00:01 next\n"
    rows = parse_all(head + b"\tline\n" * 3 + tail, replace(GENERIC, max_lines=4))
    assert [(r["linecount"], r["_flags"]) for r in rows] == [(4, ""), (1, "")]
    rows = parse_all(head + b"\tline\n" * 4 + tail, replace(GENERIC, max_lines=4))
    assert [r["linecount"] for r in rows] == [4, 1, 1]
    assert [r["_flags"] for r in rows] == ["max_lines", "no_timestamp,max_lines", ""]


def test_flags_of_one_event_are_listed_in_flag_order() -> None:
    """An event with several flags lists them comma-separated in the order of FLAGS; the events
    around it have none."""
    st = Sourcetype("x", should_linemerge=False, truncate=50)
    data = b"2020-01-01 00:00:00 ok\nbad \xff" + b"x" * 100 + b"\n2020-01-01 00:00:02 fine\n"
    rows = parse_all(data, st)
    assert [r["_flags"] for r in rows] == ["", "no_timestamp,truncated,invalid_utf8", ""]
    assert rows[1]["_time"] == 1577836800.0   # the time of the event before it


def test_repeated_lines_of_another_layout_are_each_decided() -> None:
    """Lines the learned format does not fit are asked once per distinct text: an exception
    line repeated stays with the event before it each time, a repeated line that starts with
    another layout's timestamp starts an event each time."""
    data = (b"2020-01-01 00:00:00 a\n"
            b"java.lang.IllegalStateException: pool exhausted\n"
            b"\tat x.y(Z.java:1)\n"
            b"2020-01-01 00:00:01 b\n"
            b"java.lang.IllegalStateException: pool exhausted\n"
            b"Jan  1 00:00:02 other layout\n"
            b"Jan  1 00:00:02 other layout\n")
    rows = parse_all(data)
    assert [r["linecount"] for r in rows] == [3, 2, 1, 1]
    # the year-less lines take the year before NOW (2024-06-01): 2024-01-01 00:00:02 UTC
    assert [r["_time"] for r in rows] == [1577836800.0, 1577836801.0, 1704067202.0, 1704067202.0]


def test_line_breaker_overrides() -> None:
    st = Sourcetype("x", line_breaker=r"BEGIN")
    rows = parse_all(b"BEGIN 2020-01-01 00:00:00\nbody\n2020-01-01 00:00:01 not a start\nBEGIN z\n", st)
    assert [r["linecount"] for r in rows] == [3, 1]


def test_should_linemerge_false(data_dir: Path) -> None:
    data = (data_dir / "elastic-examples" / "kafka0" / "server.log.2016-12-19-16").read_bytes()
    rows = parse_all(data, Sourcetype("x", should_linemerge=False))
    assert len(rows) == len([ln for ln in data.decode().splitlines() if ln.strip()])


def test_apache_access_times(data_dir: Path) -> None:
    path = data_dir / "elastic-examples" / "apache" / "apache_logs"
    data = path.read_bytes()
    rows = parse_all(data, sourcetypes.get("access_combined"), chunk=300_000)
    shape = re.compile(r"\[(\d\d)/(\w{3})/(\d{4}):(\d\d):(\d\d):(\d\d) \+0000\]")
    from datetime import datetime, timezone

    lines = data.decode().splitlines()
    assert len(rows) == len(lines)
    for row, line in zip(rows, lines):
        m = shape.search(line)
        assert m is not None
        want = datetime.strptime(" ".join(m.groups()), "%d %b %Y %H %M %S").replace(tzinfo=timezone.utc)
        assert row["_time"] == want.timestamp()
