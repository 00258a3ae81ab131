"""Syslog parsing: RFC 5424, RFC 3164 (year inference around New Year, zones), framing."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings, strategies as st

from speleo.ingest import syslog
from speleo.ingest.syslog import Framer, events_table, parse, priority

UTC = dt.timezone.utc


def ts(*args, tz=UTC) -> float:
    return dt.datetime(*args, tzinfo=tz).timestamp()


def test_priority_names():
    assert priority(0) == ("kern", "emerg")
    assert priority(35) == ("auth", "err")
    assert priority(158) == ("local3", "info")
    assert priority(191) == ("local7", "debug")


def test_rfc5424():
    msg = '<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3"] An application event'
    p = parse(msg, now=ts(2024, 1, 1))
    assert p.time == pytest.approx(ts(2003, 10, 11, 22, 14, 15, 3000))
    assert p.host == "mymachine.example.com"
    assert (p.facility, p.severity) == ("local4", "notice")
    assert not p.malformed


def test_rfc5424_offset_and_nil_values():
    p = parse("<34>1 2003-08-24T05:14:15.000003-07:00 - su - - -", now=0)
    assert p.time == pytest.approx(ts(2003, 8, 24, 12, 14, 15, 3))
    assert p.host is None and not p.malformed
    p = parse("<34>1 - host1 su - - - no time", now=123.0)
    assert p.time is None and p.host == "host1" and not p.malformed


def test_rfc3164_current_year_and_zone():
    now = ts(2024, 6, 1, 12)
    p = parse("<34>Oct 11 22:14:15 mymachine su: 'su root' failed", now=now, tz="UTC")
    assert p.time == ts(2023, 10, 11, 22, 14, 15)
    assert p.host == "mymachine"
    p = parse("<13>May 31 22:14:15 web01 app[12]: hi", now=now, tz="Europe/Paris")
    assert p.time == ts(2024, 5, 31, 20, 14, 15)


def test_rfc3164_new_year():
    # December message read just after New Year: last year
    jan = ts(2025, 1, 1, 0, 0, 5)
    assert parse("<13>Dec 31 23:59:59 h app: x", now=jan, tz="UTC").time == ts(2024, 12, 31, 23, 59, 59)
    # sender's clock slightly ahead across New Year: next year, not a year ago
    dec = ts(2024, 12, 31, 23, 59, 58)
    assert parse("<13>Jan  1 00:00:01 h app: x", now=dec, tz="UTC").time == ts(2025, 1, 1, 0, 0, 1)
    # Feb 29 in a common year goes back to the last leap year
    assert parse("<13>Feb 29 10:00:00 h app: x", now=ts(2025, 3, 1), tz="UTC").time == ts(2024, 2, 29, 10)


def test_rfc3164_without_hostname():
    p = parse("<13>Oct 11 22:14:15 app[12]: no host", now=ts(2024, 1, 1), tz="UTC")
    assert p.host is None and not p.malformed


@pytest.mark.parametrize("msg", ["no pri at all", "<999>too big", "<13>", "<13>1 notatime h a p m - x",
                                 "<13>Foo 11 22:14:15 h x", "", "<013>Oct 11 22:14:15 h x"])
def test_malformed_kept(msg):
    assert parse(msg, now=1.0).malformed


def test_events_table_flags_and_host():
    t = events_table([(b"garbage", "10.0.0.9", 100.0), (b"<13>Oct 11 22:14:15 h1 a: x", "10.0.0.9", 100.0),
                      (b"\xff<13>bad utf8", "10.0.0.9", 100.0)], "udp:514", "main", "UTC")
    rows = t.to_pylist()
    assert rows[0]["_flags"] == "syslog_malformed" and rows[0]["host"] == "10.0.0.9" and rows[0]["_time"] == 100.0
    assert rows[1]["_flags"] == "" and rows[1]["host"] == "h1" and rows[1]["sourcetype"] == "syslog"
    assert "invalid_utf8" in rows[2]["_flags"] and "syslog_malformed" in rows[2]["_flags"]


def test_framer_newline_and_octet_counting():
    f = Framer()
    assert f.feed(b"<13>a\n<13>b\r\n<13>c") == [b"<13>a", b"<13>b"]
    assert f.feed(b"\n") == [b"<13>c"]
    assert f.feed(b"9 <13>hello6 <13>x") == [b"<13>hello"]
    assert f.feed(b"y") == [b"<13>xy"]
    # a message that contains a newline under octet counting stays whole
    assert f.feed(b"9 <13>a\nb c") == [b"<13>a\nb c"]


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_parse_and_framing_never_raise(data):
    parse(data.decode("utf-8", "replace"), now=1_700_000_000.0, tz="UTC")
    f = Framer(max_bytes=64)
    for m in f.feed(data) + f.flush():
        assert m
    events_table([(data or b"x", "1.2.3.4", 1.0)], "tcp:1", "main", None)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(min_size=1, max_size=40).filter(lambda b: b.strip(b"\r\n\x00") == b and b[:1] != b" "), max_size=10),
       st.integers(1, 7))
def test_octet_counting_roundtrip_any_split(messages, step):
    stream = b"".join(str(len(m)).encode() + b" " + m for m in messages)
    f = Framer()
    got = []
    for i in range(0, len(stream), step):
        got += f.feed(stream[i:i + step])
    assert got == [m for m in messages]


def test_indexed_fields_of_rfc5424_and_rfc3164():
    msg = ('<165>1 2003-10-11T22:14:15.003Z mymachine evntslog 12 ID47 [exampleSDID@32473 iut="3" '
           'eventSource="Application"][examplePriority@32473 class="high"] An application event')
    assert parse(msg, now=0).fields() == {
        "facility": "local4", "severity": "notice", "appname": "evntslog", "procid": "12", "msgid": "ID47",
        "sd.exampleSDID@32473.iut": "3", "sd.exampleSDID@32473.eventSource": "Application",
        "sd.examplePriority@32473.class": "high"}
    assert parse("<34>1 - - - - - -", now=0).fields() == {"facility": "auth", "severity": "crit"}
    assert parse("<86>May  1 10:00:01 box cron[77]: job", now=ts(2024, 6, 1), tz="UTC").fields() == {
        "facility": "authpriv", "severity": "info", "appname": "cron", "procid": "77"}
    assert parse("<13>Oct 11 22:14:15 kernel: up", now=ts(2024, 6, 1), tz="UTC").fields()["appname"] == "kernel"
    assert parse("no pri at all", now=0).fields() == {}


def test_structured_data_escapes_repeats_and_bad_grammar():
    sd = syslog.structured_data
    assert sd(r'[a x="q\"u\]o\\t\e" x="2"][b@1 y=""]') == {"sd.a.x": ['q"u]o\\t\\e', "2"], "sd.b@1.y": ""}
    assert sd("[a]") == {}
    for bad in ('[a x="1"', "[a x=1]", '[a  x="1"]', '[a x="1"]junk', '[a b c="1"]', '[="1"]'):
        assert sd(bad) is None, bad
    p = parse('<14>1 2024-01-01T00:00:00Z h app - - [a x=1] msg', now=0)
    assert p.malformed and p.sd is None and p.facility == "user"


def test_events_table_has_fields_column():
    t = events_table([(b"<35>1 - h sshd - - - x", "1.2.3.4", 1.0), (b"junk", "1.2.3.4", 1.0)], "tcp:514", "main", "UTC")
    import json
    f = t.column("_fields").to_pylist()
    assert json.loads(f[0]) == {"facility": "auth", "severity": "err", "appname": "sshd"} and f[1] is None


def test_rsyslog_forward_format_rfc3339_in_a_bsd_header():
    p = parse("<158>2024-05-01T10:00:00.123456+02:00 vm fileapp: file line one", now=0)
    assert p.time == pytest.approx(ts(2024, 5, 1, 8, 0, 0, 123456)) and p.host == "vm" and not p.malformed
    assert p.fields() == {"facility": "local3", "severity": "info", "appname": "fileapp"}
    assert parse("<158>2024-05-01T10:00:00 vm x: no zone", now=0).malformed


# -- issue 9: framing bounds, header faults, PRI stripping -------------------------------------
def test_overlong_line_gives_one_truncated_event_and_the_next_line_is_whole():
    line = b"<13>" + b"a" * 200_000
    stream = line + b"\n<13>next\n"
    f = Framer()
    got = []
    for i in range(0, len(stream), 65536):   # arrives in reads of 64 KB, as from a socket
        got += f.feed(stream[i:i + 65536])
    assert [bytes(m) for m in got] == [line[:syslog.MAX_MESSAGE_BYTES], b"<13>next"]
    assert isinstance(got[0], syslog.Truncated) and not isinstance(got[1], syslog.Truncated)
    assert f.dropped_bytes == len(line) - syslog.MAX_MESSAGE_BYTES
    rows = events_table([(m, "10.0.0.1", 1.0) for m in got], "tcp:1", "main", "UTC").to_pylist()
    assert [r["_flags"].split(",").count("truncated") for r in rows] == [1, 0]
    assert rows[0]["_raw"] == "a" * (syslog.MAX_MESSAGE_BYTES - 4)


def test_huge_octet_count_is_skipped_without_buffering():
    f = Framer()
    assert f.feed(b"9999999999 <13>") == []
    chunk = b"x" * 65536
    out = []
    for _ in range(40):   # 2.5 MB of the claimed frame
        out += f.feed(chunk)
        assert len(f.buf) <= syslog.MAX_MESSAGE_BYTES + 65536 + 12
    assert len(out) == 1 and isinstance(out[0], syslog.Truncated) and len(out[0]) == syslog.MAX_MESSAGE_BYTES
    assert f.dropped_bytes == 4 + 40 * 65536 - syslog.MAX_MESSAGE_BYTES
    assert f.skip == 9999999999 - syslog.MAX_MESSAGE_BYTES - (f.dropped_bytes)


def test_truncated_utf8_tail_is_not_invalid_utf8():
    data = syslog.Truncated(("<13>Oct 11 22:14:15 h app: " + "é" * 40_000).encode()[:syslog.MAX_MESSAGE_BYTES - 1])
    (row,) = events_table([(data, "h", 1.0)], "tcp:1", "main", "UTC").to_pylist()
    assert row["_flags"] == "truncated"


@pytest.mark.parametrize("msg", [
    '<14>1 2024-01-01T00:00:00Z h app - - [a x="1" unterminated',
    '<14>1 2024-01-01T00:00:00Z h app - - [a x="1"]no-space',
    '<14>1 2024-01-01T00:00:00Z h app - - [a x="1"][b',
])
def test_rfc5424_broken_structured_data_is_malformed_without_sd_fields(msg):
    p = parse(msg, now=0)
    assert p.malformed and p.sd is None and p.host == "h" and p.time == ts(2024, 1, 1)


def test_no_pri_still_takes_the_headers_time_and_host():
    p = parse("Oct 11 22:14:15 gw01 kernel: no pri", now=ts(2024, 6, 1), tz="UTC")
    assert p.malformed and p.time == ts(2023, 10, 11, 22, 14, 15) and p.host == "gw01"
    assert p.facility is None and p.appname == "kernel"
    p = parse("2024-05-01T10:00:00Z vm app: forward format without pri", now=0)
    assert p.malformed and p.time == ts(2024, 5, 1, 10) and p.host == "vm"


@pytest.mark.parametrize("msg", ["<13>Dec 31 23:59:58 2026 host01 app: x", "<13>Dec 31 2026 23:59:58 host01 app: x"])
def test_year_beside_the_time_is_the_year_not_the_host(msg):
    p = parse(msg, now=ts(2028, 6, 1), tz="UTC")
    assert p.time == ts(2026, 12, 31, 23, 59, 58) and p.host == "host01" and p.appname == "app"
    assert not p.malformed


def test_pri_is_stripped_from_raw_and_kept_as_fields():
    rows = events_table([(b"<35>Oct 11 22:14:15 h1 sshd: x", "ip", 1.0), (b"<999>not a pri", "ip", 1.0),
                         (b"<13>1 - h app - - - y", "ip", 1.0)], "udp:1", "main", "UTC").to_pylist()
    assert [r["_raw"] for r in rows] == ["Oct 11 22:14:15 h1 sshd: x", "<999>not a pri", "1 - h app - - - y"]
    import json
    assert json.loads(rows[0]["_fields"])["severity"] == "err" and rows[1]["_fields"] is None


@pytest.mark.parametrize("msg", [
    b"<13>1 2099-12-04T09:00:07Z host app - - - a 5424 time 73 years ahead",
    b"<13>1 9999-12-31T23:59:59+00:00 host app - - - the last second of year 9999",
    b"<13>Dec 31 2099 09:00:08 host app: a year written in a 3164 header, ahead",
])
def test_header_time_far_ahead_of_receipt_is_not_taken(msg):
    """MAX_DAYS_HENCE (2 days) binds syslog headers as it binds files: the event is timed on
    receipt and flagged no_timestamp, never placed decades ahead."""
    received = ts(2026, 12, 4, 9, 0, 0)
    (row,) = events_table([(msg, "10.0.0.1", received)], "tcp:1", "main", "UTC").to_pylist()
    assert row["_time"] == received
    assert "no_timestamp" in row["_flags"].split(",")


def test_header_time_within_two_days_ahead_is_kept():
    received = ts(2026, 12, 4, 9, 0, 0)
    msg = b"<13>1 2026-12-05T20:00:00Z host app - - - a clock 35 hours fast"
    (row,) = events_table([(msg, "10.0.0.1", received)], "tcp:1", "main", "UTC").to_pylist()
    assert row["_time"] == ts(2026, 12, 5, 20, 0, 0)
    assert row["_flags"] == ""


def test_network_device_messages_get_their_sourcetype():
    msgs = [b"<164>Nov 20 10:24:01 fw1 %ASA-4-106023: Deny tcp src outside:198.51.100.23/51515 dst "
            b"inside:10.0.0.10/22 by access-group \"outside_access_in\" [0x0, 0x0]",
            b"<134>1 2026-11-20T10:28:30.5Z pfsense filterlog 41234 - - 7,,,1000000105,igb0,match,pass,out,4,0x0,,"
            b"64,1,0,DF,17,udp,72,10.0.0.1,10.0.0.2,4000,53,52",
            b"<4>Nov 20 10:27:00 web1 kernel: [1.5] [UFW BLOCK] IN=ens3 OUT= MAC=aa SRC=203.0.113.99 DST=10.0.0.30 "
            b"LEN=40 PROTO=TCP SPT=1 DPT=23",
            b"<13>Nov 20 10:27:00 gw01 kernel: pkt 1 on eth0",
            b"<189>Nov 20 10:25:20 rtr1 343: Nov 20 10:25:20.789 UTC: %SYS-5-CONFIG_I: Configured from console "
            b"by netops on vty0 (10.0.0.99)"]
    rows = events_table([(m, "10.0.0.9", 100.0) for m in msgs], "udp:514", "main", "UTC").to_pylist()
    assert [r["sourcetype"] for r in rows] == ["cisco:asa", "pfsense:filterlog", "ufw", "syslog", "cisco:ios"]
