"""Timestamp recognition: format table, loghub ground truth, year inference, zones."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pyarrow as pa
import pytest

from speleo import sourcetypes
from speleo.errors import InputError
from speleo.ingest.timestamps import TimestampRecognizer
from speleo.sourcetypes import Sourcetype

LOGHUB = ("Apache", "BGL", "HDFS", "HPC", "Hadoop", "Linux", "OpenSSH", "OpenStack", "Spark", "Zookeeper")
NOW = datetime(2024, 6, 1, tzinfo=timezone.utc).timestamp()


def utc(*parts: int, us: int = 0, offset_h: float = 0) -> float:
    tz = timezone(timedelta(hours=offset_h))
    return datetime(*parts, microsecond=us, tzinfo=tz).timestamp()


FORMATS = [
    ("2015-10-18 18:01:47,978 INFO [main] x", utc(2015, 10, 18, 18, 1, 47, us=978000), "2015-10-18 18:01:47,978"),
    ("2015-10-18T18:01:47.5Z x", utc(2015, 10, 18, 18, 1, 47, us=500000), "2015-10-18T18:01:47.5Z"),
    ("2015-10-18T18:01:47+02:00 x", utc(2015, 10, 18, 18, 1, 47, offset_h=2), "2015-10-18T18:01:47+02:00"),
    ("2015-10-18 18:01:47 -0700 x", utc(2015, 10, 18, 18, 1, 47, offset_h=-7), "2015-10-18 18:01:47 -0700"),
    ("[2016-12-19 16:48:21,224] INFO x", utc(2016, 12, 19, 16, 48, 21, us=224000), "2016-12-19 16:48:21,224"),
    ("[Sun Dec 04 04:47:44 2005] [notice] x", utc(2005, 12, 4, 4, 47, 44), "Sun Dec 04 04:47:44 2005"),
    ('1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] "GET', utc(2000, 10, 10, 13, 55, 36, offset_h=-7),
     "10/Oct/2000:13:55:36 -0700"),
    ("081109 203615 148 INFO dfs", utc(2008, 11, 9, 20, 36, 15), "081109 203615"),
    ("17/06/09 20:10:40 INFO x", utc(2017, 6, 9, 20, 10, 40), "17/06/09 20:10:40"),
    ("- 1117838570 2005.06.03 R02 2005-06-03-15.42.50.675872 R02", 1117838570.0, "1117838570"),
    ("KERNEL 2005-06-03-15.42.50.675872 x", utc(2005, 6, 3, 15, 42, 50, us=675872), "2005-06-03-15.42.50.675872"),
    ("134681 node-246 unix.hw state 1077804742 1 x", 1077804742.0, "1077804742"),
    ("at 1446249499322 ms", 1446249499.322, "1446249499322"),
    ('{"load_timestamp":1445680800424,"timestamp":1446249499322}', 1446249499.322, "1446249499322"),
    ('{"@timestamp":"2020-01-02T03:04:05Z","a":1}', utc(2020, 1, 2, 3, 4, 5), "2020-01-02T03:04:05Z"),
    ("nova-api.log.1.2017-05-16_13:53:08 2017-05-16 00:00:00.008 25746 INFO",
     utc(2017, 5, 16, 0, 0, 0, us=8000), "2017-05-16 00:00:00.008"),
    ("06/09/2017 20:10:40 x", utc(2017, 6, 9, 20, 10, 40), "06/09/2017 20:10:40"),
]


@pytest.mark.parametrize("line,expected,text", FORMATS)
def test_formats(line: str, expected: float, text: str) -> None:
    hit = TimestampRecognizer(tz="UTC", now=NOW).find(line)
    assert hit is not None
    assert hit[0] == pytest.approx(expected, abs=1e-6)
    assert line[hit[1] : hit[2]] == text


@pytest.mark.parametrize("line", ["no time here", "version 1.2.3 build 42", "id=12345678901234", ""])
def test_no_timestamp(line: str) -> None:
    assert TimestampRecognizer(tz="UTC", now=NOW).find(line) is None


def test_lookahead_limits_search() -> None:
    line = "x" * 200 + " 2015-10-18 18:01:47"
    assert TimestampRecognizer(tz="UTC", max_lookahead=128).find(line) is None
    assert TimestampRecognizer(tz="UTC", max_lookahead=300).find(line) is not None


@pytest.mark.parametrize(
    "line,expected",
    [
        ("2015-10-18 18:01:47 x", True),
        ("[2016-12-19 16:48:21,224] INFO", True),
        ("- 1117838570 2005.06.03", True),
        ("Jun 14 15:16:01 combo", True),
        ("\tat kafka.Foo(Foo.scala:12) 2015-10-18 18:01:47", False),
        ("  2015-10-18 18:01:47 indented", False),
        ("java.io.IOException: 2015-10-18 18:01:47", False),
        ("83.149.9.216 - - [17/May/2015:10:05:03 +0000]", False),
    ],
)
def test_starts_with_timestamp(line: str, expected: bool) -> None:
    assert TimestampRecognizer(tz="UTC", now=NOW).starts_with_timestamp(line) is expected


@pytest.mark.parametrize(
    "line,year",
    [
        ("Dec 31 23:59:00 host x", 2023),   # last year: this year would be in the future
        ("Jan  1 00:10:00 host x", 2024),   # just before now
        ("Jan  2 00:00:00 host x", 2024),   # within two days of clock skew (MAX_DAYS_HENCE)
        ("Jan  3 00:00:00 host x", 2024),
        ("Jan  3 00:31:00 host x", 2023),   # more than two days ahead: last year
    ],
)
def test_year_rollover(line: str, year: int) -> None:
    now = datetime(2024, 1, 1, 0, 30, tzinfo=timezone.utc).timestamp()
    hit = TimestampRecognizer(tz="UTC", now=now).find(line)
    assert hit is not None
    assert datetime.fromtimestamp(hit[0], timezone.utc).year == year


def test_year_rollover_vectorised_matches() -> None:
    now = datetime(2024, 1, 1, 0, 30, tzinfo=timezone.utc).timestamp()
    rec = TimestampRecognizer(tz="UTC", now=now)
    lines = ["Dec 31 23:59:00 h x", "Jan  1 00:10:00 h x", "Jan  3 00:00:00 h x", "nothing"]
    rec.find(lines[0])
    assert rec.learned is not None
    got = rec.extract_vector(pa.array(lines), rec.learned, anchored=False).to_pylist()
    assert got[:3] == [rec.find(s)[0] for s in lines[:3]]  # type: ignore[index]
    assert got[3] is None


def test_vectorised_window_counts_characters_not_bytes() -> None:
    """The vector path looks at the first 176 characters of a line (lookahead 128 + 48): a
    timestamp at character 100 is found and one cut by the window (characters 160-178) is
    not, whether the padding before it is ASCII (1 byte a character) or not (2 bytes)."""
    rec = TimestampRecognizer(tz="UTC")
    rec.find("2021-07-01 12:00:00 x")
    ts = "2021-07-01 12:00:00 end"
    for pad in ("x", "é"):
        lines = [pad * 99 + " " + ts, pad * 159 + " " + ts, "short " + ts]
        got = rec.extract_vector(pa.array(lines), rec.learned, anchored=False).to_pylist()  # type: ignore[arg-type]
        assert got == [1625140800.0, None, 1625140800.0], pad


def test_naive_time_uses_zone_and_offsets_win() -> None:
    rec = TimestampRecognizer(tz="Europe/Paris")
    summer = rec.find("2021-07-01 12:00:00 x")
    winter = rec.find("2021-01-01 12:00:00 x")
    explicit = rec.find("2021-07-01 12:00:00Z x")
    assert summer and summer[0] == utc(2021, 7, 1, 10, 0, 0)
    assert winter and winter[0] == utc(2021, 1, 1, 11, 0, 0)
    assert explicit and explicit[0] == utc(2021, 7, 1, 12, 0, 0)


def test_zone_vectorised_matches_python() -> None:
    lines = ["2021-07-01 12:00:00 x", "2021-01-01 12:00:00 x", "2021-03-28 03:30:00 x", "2021-07-01 12:00:00Z"]
    rec = TimestampRecognizer(tz="Europe/Paris")
    rec.find(lines[0])
    got = rec.extract_vector(pa.array(lines), rec.learned, anchored=False).to_pylist()  # type: ignore[arg-type]
    assert got == [rec.find(s)[0] for s in lines]  # type: ignore[index]


def test_unknown_zone_is_an_input_error() -> None:
    with pytest.raises(InputError):
        TimestampRecognizer(tz="Mars/Olympus")


def test_time_format_and_prefix() -> None:
    rec = TimestampRecognizer(tz="UTC", time_format="%d.%m.%Y %H:%M:%S")
    hit = rec.find("at 03.02.2021 04:05:06 done")
    assert hit and hit[0] == utc(2021, 2, 3, 4, 5, 6)
    pre = TimestampRecognizer(tz="UTC", time_prefix=r"when=")
    hit = pre.find("start=2020-01-01 00:00:00 when=2021-01-01 00:00:00")
    assert hit and hit[0] == utc(2021, 1, 1)
    with pytest.raises(InputError):
        TimestampRecognizer(time_format="%Q")


@pytest.mark.parametrize("system", LOGHUB)
def test_loghub_ground_truth(data_dir: Path, truth_of, time_matches, system: str) -> None:
    lines = (data_dir / "loghub" / system / f"{system}_2k.log").read_text(encoding="utf-8").splitlines()
    truth = truth_of(system)
    assert len(lines) == len(truth)
    rec = TimestampRecognizer(tz="UTC")
    good = 0
    for line, expected in zip(lines, truth):
        hit = rec.find(line)
        good += time_matches(system, hit[0] if hit else None, expected)
    assert good / len(lines) >= 0.995, f"{system}: {good}/{len(lines)}"


def test_kafka_lines(data_dir: Path) -> None:
    shape = re.compile(r"^\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),(\d{3})\]")
    rec = TimestampRecognizer(tz="UTC")
    checked = 0
    for path in sorted((data_dir / "elastic-examples" / "kafka0").glob("server.log*")):
        for line in path.read_text(encoding="utf-8").splitlines():
            m = shape.match(line)
            if m:
                want = datetime.strptime(m[1], "%Y-%m-%d %H:%M:%S").replace(tzinfo=timezone.utc)
                hit = rec.find(line)
                assert hit and hit[0] == pytest.approx(want.timestamp() + int(m[2]) / 1000)
                checked += 1
    assert checked > 2000


def test_auth_log(data_dir: Path) -> None:
    lines = (data_dir / "elastic-examples" / "auth" / "auth.log").read_text(encoding="utf-8").splitlines()
    now = datetime(2024, 6, 1, tzinfo=timezone.utc).timestamp()
    rec = TimestampRecognizer(tz="UTC", now=now)
    good = 0
    for line in lines:
        want = datetime.strptime(line[:15].replace("  ", " 0"), "%b %d %H:%M:%S")
        hit = rec.find(line)
        got = datetime.fromtimestamp(hit[0], timezone.utc) if hit else None
        good += got is not None and got.timestamp() <= now + 86400 and (
            got.month, got.day, got.hour, got.minute, got.second
        ) == (want.month, want.day, want.hour, want.minute, want.second)
    assert good == len(lines)


def test_nginx_json_epoch_millis(data_dir: Path) -> None:
    path = data_dir / "elastic-examples" / "nginx_json" / "nginxplus_json_logs"
    rec = TimestampRecognizer(tz="UTC")
    for line in path.read_text(encoding="utf-8").splitlines()[:200]:
        hit = rec.find(line)
        assert hit and hit[0] == json.loads(line)["timestamp"] / 1000


# ---- year inference at New Year: one rule for files and syslog, with an injected clock -----
def _at(*parts: int) -> float:
    return datetime(*parts, tzinfo=timezone.utc).timestamp()


@pytest.mark.parametrize(
    "now,line,want",
    [
        (_at(2024, 12, 31, 23, 59, 59), "Jan  1 00:00:02 h x", _at(2025, 1, 1, 0, 0, 2)),
        (_at(2025, 1, 1, 0, 0, 1), "Dec 31 23:59:59 h x", _at(2024, 12, 31, 23, 59, 59)),
        (_at(2024, 12, 30, 0, 0, 0), "Jan  1 00:00:00 h x", _at(2025, 1, 1)),       # 2 days ahead
        (_at(2024, 12, 29, 0, 0, 0), "Jan  1 00:00:00 h x", _at(2024, 1, 1)),       # 3 days: past
        (_at(2025, 3, 1, 12, 0, 0), "Feb 29 10:00:00 h x", _at(2024, 2, 29, 10)),   # leap day
    ],
)
def test_year_inference_files_and_syslog_agree(now: float, line: str, want: float) -> None:
    from speleo.ingest import syslog

    clock_rec = TimestampRecognizer(tz="UTC", clock=lambda: now)
    hit = clock_rec.find(line)
    assert hit is not None and hit[0] == want
    vec = clock_rec.extract_vector(pa.array([line]), clock_rec.learned, anchored=False)  # type: ignore[arg-type]
    assert vec.to_pylist() == [want] or (vec[0].as_py() is None and "Feb 29" in line)
    assert syslog.parse("<13>" + line, now, "UTC").time == want


def test_new_year_through_the_file_parser_with_an_injected_clock() -> None:
    from speleo.ingest.breaking import EventParser

    data = b"Dec 31 23:59:58 h a: one\nDec 31 23:59:59 h a: two\nJan  1 00:00:02 h a: three\n"
    parser = EventParser(sourcetypes.get("syslog"), tz="UTC", clock=lambda: _at(2024, 12, 31, 23, 59, 59))
    times = parser.parse(data, 0, True, 0.0).events.column("_time").to_pylist()
    assert times == [_at(2024, 12, 31, 23, 59, 58), _at(2024, 12, 31, 23, 59, 59), _at(2025, 1, 1, 0, 0, 2)]
    late = EventParser(sourcetypes.get("syslog"), tz="UTC", clock=lambda: _at(2025, 1, 1, 0, 0, 5))
    assert late.parse(data, 0, True, 0.0).events.column("_time").to_pylist() == times


def test_vectorised_year_less_matches_python_around_new_year() -> None:
    now = _at(2024, 12, 31, 22, 0, 0)
    lines = [f"{m} {d:2d} {h:02d}:30:00 h x" for m in ("Dec", "Jan", "Jun") for d in (1, 2, 30) for h in (0, 23)]
    rec = TimestampRecognizer(tz="Europe/Paris", now=now)
    rec.learn(lines)
    got = rec.extract_vector(pa.array(lines), rec.learned, anchored=False).to_pylist()  # type: ignore[arg-type]
    want = [rec.find(s) for s in lines]
    assert got == [w[0] if w else None for w in want]
    assert max(got) <= now + 2 * 86400


# ---- per-source format choice -------------------------------------------------------------
def test_day_month_order_is_decided_per_source() -> None:
    ambiguous = ["04/03/2021 05:06:07 a", "04/03/2021 05:06:08 b"]
    rec = TimestampRecognizer(tz="UTC")
    assert rec.learn(ambiguous).name == "mdy_slash"  # type: ignore[union-attr]
    assert rec.find(ambiguous[0])[0] == utc(2021, 4, 3, 5, 6, 7)  # type: ignore[index]
    european = ambiguous + ["25/03/2021 05:06:07 c"]
    rec = TimestampRecognizer(tz="UTC")
    assert rec.learn(european).name == "dmy_slash"  # type: ignore[union-attr]
    got = rec.extract_vector(pa.array(european), rec.learned, anchored=False).to_pylist()  # type: ignore[arg-type]
    assert got == [utc(2021, 3, 4, 5, 6, 7), utc(2021, 3, 4, 5, 6, 8), utc(2021, 3, 25, 5, 6, 7)]


def test_majority_of_the_sample_beats_the_first_line() -> None:
    lines = ["1614830000 header written by the exporter"] + [f"2021-03-04 05:06:{i:02d} INFO x" for i in range(5)]
    rec = TimestampRecognizer(tz="UTC")
    assert rec.learn(lines).name == "iso8601"  # type: ignore[union-attr]
    assert rec.scores == {"iso8601": 5, "epoch": 1}


def test_a_number_in_the_message_never_replaces_a_timestamp() -> None:
    from speleo.ingest.breaking import EventParser

    st = Sourcetype("x", should_linemerge=False)
    data = (b"2021-03-04 05:06:07 INFO first\n"
            b"job 42 ended at 1614830000123 after retries\n"
            b"20210304-05:06:09:5|Step|setTotal=1614830000000##7\n")
    rows = EventParser(st, tz="UTC").parse(data, 0, True, 0.0).events.to_pylist()
    assert [r["_time"] for r in rows] == [utc(2021, 3, 4, 5, 6, 7), utc(2021, 3, 4, 5, 6, 7),
                                          utc(2021, 3, 4, 5, 6, 9, us=5000)]
    assert [r["_flags"] for r in rows] == ["", "no_timestamp", ""]


def test_vector_and_python_paths_agree_on_every_held_out_format() -> None:
    from tests.ingest.timestamp_cases import CASES, NOW_ISO, utc_epoch

    for case in CASES:
        rec = TimestampRecognizer(tz=case.tz, now=utc_epoch(NOW_ISO))
        pattern = rec.learn(list(case.lines))
        assert pattern is not None, case.name
        vec = rec.extract_vector(pa.array(case.lines), pattern, anchored=False).to_pylist()
        py = [rec._search_one(pattern, s) for s in case.lines]
        assert vec == [h[0] if h else None for h in py], case.name


def test_max_timestamp_lookahead_from_props(tmp_path: Path) -> None:
    from speleo.ingest.breaking import EventParser
    from speleo.sourcetypes import get, load_props

    props = tmp_path / "props.toml"
    props.write_text("[sourcetype.short]\nmax_timestamp_lookahead = 10\n")
    st = get("short", load_props(props))
    assert st.max_timestamp_lookahead == 10
    data = b"host-with-a-long-name 2021-03-04 05:06:07 x\n"
    rows = EventParser(st, tz="UTC").parse(data, 0, True, 7.0).events.to_pylist()
    assert rows[0]["_time"] == 7.0 and rows[0]["_flags"] == "no_timestamp"
    rows = EventParser(get("other"), tz="UTC").parse(data, 0, True, 7.0).events.to_pylist()
    assert rows[0]["_time"] == utc(2021, 3, 4, 5, 6, 7)


@pytest.mark.parametrize(
    "fmt,line,want",
    [
        ("%b %d, %Y %I:%M:%S %p", "at Mar 04, 2021 07:08:09 PM x", utc(2021, 3, 4, 19, 8, 9)),
        ("%Y-%m-%d %H:%M:%S,%3N", "2021-03-04 05:06:07,250 x", utc(2021, 3, 4, 5, 6, 7, us=250000)),
        ("%A %d %B %Y %H:%M:%S %Z", "Thursday 04 March 2021 05:06:07 EST", utc(2021, 3, 4, 10, 6, 7)),
    ],
)
def test_time_format_directives(fmt: str, line: str, want: float) -> None:
    hit = TimestampRecognizer(tz="UTC", time_format=fmt).find(line)
    assert hit is not None and hit[0] == pytest.approx(want)


def test_a_growing_file_keeps_learning_until_it_has_enough_lines() -> None:
    from speleo.ingest.breaking import EventParser

    parser = EventParser(Sourcetype("x", should_linemerge=False), tz="UTC")
    first = parser.parse(b"04/03/2021 05:06:07 a\n", 0, False, 0.0)
    assert first.events.column("_time").to_pylist() == [utc(2021, 4, 3, 5, 6, 7)]  # month first
    more = b"25/03/2021 05:06:07 b\n05/03/2021 05:06:07 c\n"
    times = parser.parse(more, first.consumed, True, 0.0).events.column("_time").to_pylist()
    assert times == [utc(2021, 3, 25, 5, 6, 7), utc(2021, 3, 5, 5, 6, 7)]  # day first from now on


def test_a_time_more_than_two_days_ahead_is_not_taken() -> None:
    from speleo.ingest.breaking import EventParser

    now = utc(2024, 6, 1)
    data = (b"2024-06-01 00:00:00 ok\n2024-06-02 23:00:00 skewed clock, kept\n"
            b"2030-01-01 00:00:00 bogus year\n1900000000 epoch in 2030\n")
    rows = EventParser(Sourcetype("x", should_linemerge=False), tz="UTC", now=now).parse(
        data, 0, True, 0.0).events.to_pylist()
    assert [r["_time"] for r in rows] == [now, utc(2024, 6, 2, 23), utc(2024, 6, 2, 23), utc(2024, 6, 2, 23)]
    assert [r["_flags"] for r in rows] == ["", "", "no_timestamp", "no_timestamp"]
    rec = TimestampRecognizer(tz="UTC", now=now)
    assert rec.find("2030-01-01 00:00:00 x") is None


def test_time_prefix_through_the_file_parser() -> None:
    from speleo.ingest.breaking import EventParser

    st = Sourcetype("x", should_linemerge=False, time_prefix=r"when=")
    data = b"id=1614830000 when=2021-03-04 05:06:07 a\nid=1614830001 when=04/Mar/2021:05:06:08 b\n"
    times = EventParser(st, tz="UTC").parse(data, 0, True, 0.0).events.column("_time").to_pylist()
    assert times == [utc(2021, 3, 4, 5, 6, 7), utc(2021, 3, 4, 5, 6, 8)]


def test_oneshot_reads_year_less_files_against_the_ingestors_clock(tmp_path: Path) -> None:
    from speleo.config import Home
    from speleo.ingest.oneshot import add_oneshot
    from speleo.service import Service

    log = tmp_path / "messages"
    log.write_text("Dec 31 23:59:58 h cron[1]: before\nJan  1 00:00:02 h cron[1]: after\n")
    svc = Service(Home(tmp_path / "home"))
    writer = svc.open_writer()
    writer.ingestor.clock = lambda: _at(2024, 12, 31, 23, 59, 59)
    writer.ingestor.tz = "UTC"
    add_oneshot(writer.ingestor, log, "main")
    writer.close()
    rows = svc.search("index=main | sort _time | table _time", limit=0).table.to_pylist()
    assert [r["_time"] for r in rows] == [_at(2024, 12, 31, 23, 59, 58), _at(2025, 1, 1, 0, 0, 2)]


@pytest.mark.parametrize(
    "dates,name",
    [
        (["01/03/2021", "02/03/2021", "03/03/2021", "05/03/2021"], "dmy_slash"),   # days of March
        (["03/01/2021", "03/02/2021", "03/03/2021", "03/05/2021"], "mdy_slash"),   # days of March
        (["04/03/2021", "04/03/2021"], "mdy_slash"),                               # nothing tells
        (["01-03-2021", "02-03-2021", "04-03-2021"], "dmy_dash"),
    ],
)
def test_ambiguous_day_month_follows_the_order_of_the_lines(dates: list[str], name: str) -> None:
    rec = TimestampRecognizer(tz="UTC")
    assert rec.learn([f"{d} 10:00:0{i} x" for i, d in enumerate(dates)]).name == name  # type: ignore[union-attr]


def test_a_number_after_an_unknown_leading_time_is_not_learned() -> None:
    from speleo.ingest.breaking import EventParser

    # an ordinal date (not in the table) starts each line; a 13-digit number follows it
    data = b"".join(b"2021-063 05:06:%02d job done at 1614830000123\n" % i for i in range(40))
    parser = EventParser(Sourcetype("x", should_linemerge=False), tz="UTC", now=utc(2024, 6, 1))
    rows = parser.parse(data, 0, True, 5.0).events.to_pylist()
    assert {r["_time"] for r in rows} == {5.0} and {r["_flags"] for r in rows} == {"no_timestamp"}
    hpc = TimestampRecognizer(tz="UTC")  # an epoch column with no clock before it is learned
    assert hpc.learn(["134681 node-246 unix.hw state 1077804742 1 Component ok"]).name == "epoch"  # type: ignore[union-attr]


def test_dotted_year_first_dates() -> None:
    hit = TimestampRecognizer(tz="UTC").find("2021.03.04 05:06:07.250 service started")
    assert hit is not None and hit[0] == utc(2021, 3, 4, 5, 6, 7, us=250000)
    assert TimestampRecognizer(tz="UTC").find("- 1117838570 2005.06.03 R02-M1-N0")[0] == 1117838570.0  # type: ignore[index]


def test_time_prefix_only_its_first_match_is_looked_after() -> None:
    """props.conf.spec TIME_PREFIX: the timestamp is looked for after the first match only
    (trying every match made a line of 10,000 `[` cost every pattern 10,000 times)."""
    rec = TimestampRecognizer(tz="UTC", time_prefix=r"\[", now=datetime(2026, 12, 5, tzinfo=timezone.utc).timestamp())
    assert rec.find("[2026-12-04 08:00:00] [worker 3]") == (datetime(2026, 12, 4, 8, tzinfo=timezone.utc).timestamp(), 1, 20)
    assert rec.find("[worker 3] [2026-12-04 08:00:00]") is None
    assert rec.find("[" * 10000) is None
