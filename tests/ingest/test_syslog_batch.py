"""The batch path of the syslog listeners (`syslog._columns_5424`, Arrow kernels over a whole
batch) against the per-message parser it stands in for: for any mix of messages, the event
table must be the same, row for row and in the order received."""

from __future__ import annotations

import calendar
import json
import random
import time

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from speleo.ingest import syslog

NOW = 1_780_000_000.0   # 2026-05-28

PRINT = "".join(chr(c) for c in range(0x21, 0x7F))
token = st.text(alphabet=PRINT, min_size=1, max_size=12)


@st.composite
def timestamp(draw) -> str:
    if draw(st.integers(0, 9)) == 0:
        return "-"
    year = draw(st.sampled_from(["2026", "2024", "2023", "1969", "0999", "9999", "2000"]))
    month = draw(st.sampled_from(["01", "02", "04", "12", "13", "00"]))
    day = draw(st.sampled_from(["01", "28", "29", "30", "31", "00", "32"]))
    hms = draw(st.sampled_from(["10:00:00", "23:59:59", "23:59:60", "24:00:00", "00:60:00", "12:34:56"]))
    frac = draw(st.sampled_from(["", ".5", ".123", ".123456", ".1234567", "."]))
    zone = draw(st.sampled_from(["Z", "+00:00", "-05:30", "+14:00", "+23:59", "+24:00", "-00:61", "", "z"]))
    return f"{year}-{month}-{day}T{hms}{frac}{zone}"


@st.composite
def message(draw) -> bytes:
    kind = draw(st.integers(0, 9))
    pri = draw(st.sampled_from(["34", "0", "191", "192", "034", "7", "165"]))
    head = " ".join([draw(timestamp()),
                     draw(st.one_of(token, st.just("-"), st.just('ho"st'), st.just("hôte"))),
                     draw(st.one_of(token, st.just("-"))), draw(st.one_of(token, st.just("-"))),
                     draw(st.one_of(token, st.just("-")))])
    sd = draw(st.sampled_from(["-", '[exampleSDID@32473 iut="3"]', "-x", "", '[bad',
                               '[ex@1 a="x\\]y" b="\\"q\\""][o@2 c="3"]']))
    msg = draw(st.sampled_from(["", " ", " su root failed", " %ASA-6-302013: Built", " line\nnext",
                                " [UFW BLOCK] IN=eth0 OUT= SRC=1.2.3.4", " a] b", " filterlog: 5,,,1000",
                                " \ufeffBOM first", " ends with CR\r"]))
    if kind == 0:   # BSD
        return f"<{pri}>Dec  5 10:00:00 host app[1]: hello".encode()
    if kind == 1:   # garbage
        return draw(st.binary(max_size=40))
    if kind == 2:   # a header cut short
        return f"<{pri}>1 {head}".rsplit(" ", draw(st.integers(1, 4)))[0].encode()
    text = f"<{pri}>1 {head} {sd}{msg}" if sd else f"<{pri}>1 {head}{msg}"
    return text.encode()


def both(messages: list[tuple[bytes, str, float]]) -> tuple[pa.Table, pa.Table]:
    fast = syslog.events_table(messages, "tcp:514", "main", "UTC")
    old = syslog.FAST_MIN_MESSAGES
    syslog.FAST_MIN_MESSAGES = 10**9
    try:
        slow = syslog.events_table(messages, "tcp:514", "main", "UTC")
    finally:
        syslog.FAST_MIN_MESSAGES = old
    return fast.drop_columns(["_indextime"]), slow.drop_columns(["_indextime"])


@settings(max_examples=150, deadline=None)
@given(st.lists(message(), min_size=32, max_size=120))
def test_batch_path_gives_the_per_message_parser_table(datas):
    messages = [(d, f"10.0.0.{i % 3}", NOW + i) for i, d in enumerate(datas)]
    fast, slow = both(messages)
    for name in slow.column_names:
        assert fast.column(name).to_pylist() == slow.column(name).to_pylist(), name


def test_a_batch_of_common_messages_takes_the_batch_path(monkeypatch):
    """The common shape really goes through the Arrow kernels (else the test above compares the
    per-message path with itself), and a truncated message sends its batch the old way."""
    calls = []
    real = syslog._columns_one_by_one
    monkeypatch.setattr(syslog, "_columns_one_by_one", lambda m, tz: calls.append(len(m)) or real(m, tz))
    msgs = [(f"<34>1 2026-05-28T10:00:{i % 60:02d}.{i}Z web{i % 3} sshd 42 - - failed {i}".encode(), "10.0.0.1", NOW)
            for i in range(100)]
    table = syslog.events_table(msgs, "tcp:514", "main", None)
    assert calls == [] and table.num_rows == 100
    assert table.column("_time")[7].as_py() == pytest.approx(1_779_962_407.7)   # 2026-05-28T10:00:07.7Z
    assert table.column("host")[4].as_py() == "web1"
    assert table.column("_fields")[0].as_py() == '{"facility":"auth","severity":"crit","appname":"sshd","procid":"42"}'
    msgs[5] = (syslog.Truncated(msgs[5][0]), "10.0.0.1", NOW)
    syslog.events_table(msgs, "tcp:514", "main", None)
    assert calls == [100]


def test_batch_path_values_worked_out_by_hand(monkeypatch):
    """Messages among common ones, each checked against what RFC 5424 says it is: the batch path
    takes the first four (PRI of one and three digits, a BOM, a zone offset, NILVALUEs), the
    per-message path the others (a day that does not exist, a time too far ahead, structured data)."""
    calls = []
    real = syslog._columns_one_by_one
    monkeypatch.setattr(syslog, "_columns_one_by_one", lambda m, tz: calls.append(len(m)) or real(m, tz))
    special = [
        "<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 - \ufeffAn application event",
        "<7>1 2026-05-28T12:00:00.5+02:00 - app - - - two\nlines",
        "<0>1 - - - - - -",
        "<34>1 - h a - - - %ASA-6-302013: Built inbound",
        "<34>1 2026-02-30T10:00:00Z h a - - - no such day",
        "<34>1 2026-06-10T00:00:00Z h a - - - far ahead",
        '<34>1 2026-05-28T10:00:00Z h a - - [ex@1 k="a\\]b"] sd',
    ]
    filler = [f"<34>1 2026-05-28T10:00:00Z web sshd 42 - - filler {i}" for i in range(33)]
    table = syslog.events_table([(m.encode(), "10.0.0.9", NOW) for m in special + filler], "tcp:514", "main", "UTC")
    assert calls == [3]
    rows = table.slice(0, len(special)).to_pylist()
    assert [r["_time"] for r in rows] == [
        (calendar.timegm((2003, 10, 11, 22, 14, 15)) * 1000 + 3) / 1000,   # .003 s, as Python's fromisoformat
        calendar.timegm((2026, 5, 28, 10, 0, 0)) + 0.5,                      # 12:00 at +02:00
        NOW, NOW, NOW, NOW,                                                  # NILVALUE, no such day, too far ahead
        calendar.timegm((2026, 5, 28, 10, 0, 0))]
    assert [r["host"] for r in rows] == ["mymachine.example.com", "10.0.0.9", "10.0.0.9", "h", "h", "h", "h"]
    assert rows[0]["_raw"] == special[0][len("<165>"):] and rows[1]["_raw"] == special[1][len("<7>"):]
    assert [r["_flags"] for r in rows] == ["", "", "", "", "syslog_malformed", "no_timestamp", ""]
    assert [r["linecount"] for r in rows] == [1, 2, 1, 1, 1, 1, 1]
    assert [r["sourcetype"] for r in rows] == ["syslog", "syslog", "syslog", "cisco:asa", "syslog", "syslog", "syslog"]
    assert [json.loads(r["_fields"]) for r in rows] == [
        {"facility": "local4", "severity": "notice", "appname": "evntslog", "msgid": "ID47"},   # 165 = 20 * 8 + 5
        {"facility": "kern", "severity": "debug", "appname": "app"},
        {"facility": "kern", "severity": "emerg"},
        {"facility": "auth", "severity": "crit", "appname": "a"},
        {"facility": "auth", "severity": "crit", "appname": "a"},
        {"facility": "auth", "severity": "crit", "appname": "a"},
        {"facility": "auth", "severity": "crit", "appname": "a", "sd.ex@1.k": "a]b"}]
    assert table.column("_raw")[-1].as_py() == "1 2026-05-28T10:00:00Z web sshd 42 - - filler 32"


def test_a_generated_mix_gives_the_per_message_parser_table():
    """A seeded mix of common and odd messages (RFC 3164, headers cut short, no PRI, bad or
    far-ahead timestamps, quotes and non-ASCII in header fields, structured data with escaped
    brackets, BOM, CR, newlines, device needles, PRI of 1 to 3 digits) in batches of several
    sizes: the batch path gives the per-message parser's table, and takes about half of them."""
    rnd = random.Random(16)
    stamps = ["-", "2026-05-28T10:00:00Z", "2026-05-28T12:00:00.5+02:00", "2024-02-29T23:59:59.999999-23:59",
              "2024-02-30T10:00:00Z", "2023-02-29T00:00:00Z", "9999-12-31T23:59:59Z", "1000-01-01T00:00:00+01:00",
              "2030-01-01T00:00:00Z", "2024-05-01T10:00:00.1234567Z", "2024-05-01T10:00:00", "2024-05-01t10:00:00z"]
    words = ["-", "host", "app", "1234", "ID47", 'q"uote', "h\\b", "hôte"]
    sds = ["-", '[ex@1 a="1"]', '[ex@1 a="x\\]y" b="\\"q\\""][o@2 c="3"]', "[bad", ""]
    bodies = ["", " ", " plain", " \ufeffBOM body", " two\nlines", " %ASA-6-302013: Built", " [UFW BLOCK] IN=eth0 OUT= ",
              " filterlog: 5,,,1000", " tail\r"]
    pris = ["0", "7", "34", "165", "191", "192", "034"]

    def pick(values, common):
        return rnd.choice(values) if rnd.random() < 0.15 else rnd.choice(values[:common])

    mix = []
    for i in range(3000):
        k = rnd.random()
        if k < 0.05:
            m = f"<{rnd.choice(pris)}>Dec  5 10:00:00 host app[1]: hello"
        elif k < 0.08:
            m = f"<{rnd.choice(pris)}>1 {rnd.choice(stamps)} host"
        elif k < 0.1:
            m = "no pri at all"
        else:
            head = " ".join([pick(stamps, 4)] + [pick(words, 5) for _ in range(4)])
            m = f"<{pick(pris, 5)}>1 {head} {pick(sds, 1)}{rnd.choice(bodies)}"
        mix.append((m.encode(), f"10.0.0.{i % 3}", NOW + i % 5))
    fast_rows = len(syslog._columns_5424(mix)[0])
    assert 0.4 * len(mix) < fast_rows < 0.7 * len(mix)
    for size in (32, 100, 1000, 3000):
        for start in range(0, len(mix), size):
            fast, slow = both(mix[start: start + size])
            for name in slow.column_names:
                assert fast.column(name).to_pylist() == slow.column(name).to_pylist(), (size, start, name)


def test_mixed_batch_keeps_the_received_order():
    msgs = [((f"<34>1 2026-05-28T10:00:00Z h - - - - m{i}" if i % 2 else f"<13>May 28 10:00:00 h app: m{i}").encode(),
             "10.0.0.1", NOW) for i in range(64)]
    table = syslog.events_table(msgs, "udp:514", "main", "UTC")
    assert [r.rsplit(" ", 1)[1] for r in table.column("_raw").to_pylist()] == [f"m{i}" for i in range(64)]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.binary(min_size=1, max_size=300)), min_size=1, max_size=60),
       st.lists(st.integers(1, 700), min_size=1, max_size=30))
def test_framer_gives_each_frame_whatever_the_reads(frames, cuts):
    """Octet-counted frames (any bytes) and newline-framed lines (no LF inside, starting with
    `<`), mixed, cut into reads of any sizes: each message comes out once, in order, without
    its framing or trailing CR/LF/NUL (empty ones dropped)."""
    stream, want = b"", []
    for counted, body in frames:
        if counted:
            stream += b"%d %s" % (len(body), body)
            msg = body.rstrip(b"\r\n\x00")
        else:
            body = b"<" + body.replace(b"\n", b" ")
            stream += body + b"\n"
            msg = body.rstrip(b"\r\n\x00")
        if msg:
            want.append(msg)
    framer, got, pos, i = syslog.Framer(max_bytes=1024), [], 0, 0
    while pos < len(stream):
        step = cuts[i % len(cuts)]
        got += framer.feed(stream[pos: pos + step])
        pos, i = pos + step, i + 1
    got += framer.flush()
    assert got == want


def test_udp_queue_is_bounded_and_drops_are_counted():
    """The UDP receiving thread queues at most max_bytes of datagrams; the rest are dropped and
    counted, and the listener stores the queue in batches of UDP_TAKE."""
    import socket as _socket

    from speleo.ingest import syslog_server

    rx = _socket.socket(_socket.AF_INET, _socket.SOCK_DGRAM)
    rx.bind(("127.0.0.1", 0))
    receiver = syslog_server._UdpReceiver(rx, max_bytes=10_000)
    receiver.start()
    try:
        tx = _socket.socket(_socket.AF_INET, _socket.SOCK_DGRAM)
        datagram = b"<34>1 - h app - - - " + b"x" * 979   # 1,000 bytes
        for _ in range(50):
            tx.sendto(datagram, rx.getsockname())
        deadline = time.time() + 10
        while receiver.received < 50 and time.time() < deadline:
            time.sleep(0.01)
        assert receiver.received == 50
        assert len(receiver.queue) == 10 and receiver.dropped == 40   # 10 x 1,000 bytes fit
        assert len(receiver.take(4)) == 4 and len(receiver.queue) == 6
        for _ in range(4):   # room for 4 more after the take
            tx.sendto(datagram, rx.getsockname())
        while receiver.received < 54 and time.time() < deadline:
            time.sleep(0.01)
        assert len(receiver.queue) == 10 and receiver.dropped == 40
        tx.close()
    finally:
        receiver.close()


def test_reads_queued_as_received_give_the_table_of_their_tuples():
    """A listener queues each read's messages with one sender and receive time (`Received`):
    the table is the one of the (bytes, sender, time) tuples, NILVALUE hosts and timestamps
    taking their own read's sender and time, on the batch path and the per-message one."""
    reads = []
    for r in range(6):
        msgs = [f"<34>1 {'-' if i % 5 == 0 else '2026-05-28T10:00:00Z'} {'-' if i % 3 == 0 else 'web'} app - - - "
                f"read {r} message {i}".encode() for i in range(r * 7, r * 7 + 7)]
        if r == 2:
            msgs.append(b"<13>May 28 10:00:00 h app: not RFC 5424")
        reads.append((msgs, f"10.0.0.{r}", NOW + r))
    queued = syslog.Received()
    for msgs, sender, t in reads:
        queued.add(msgs, sender, t)
    tuples = [(m, sender, t) for msgs, sender, t in reads for m in msgs]
    assert len(queued) == len(tuples) == 43 and list(queued) == tuples
    assert [queued[i] for i in (0, 6, 7, 22, -1)] == [tuples[i] for i in (0, 6, 7, 22, -1)]
    got = syslog.events_table(queued, "tcp:514", "main", "UTC").drop_columns(["_indextime"])
    want = syslog.events_table(tuples, "tcp:514", "main", "UTC").drop_columns(["_indextime"])
    assert got.to_pylist() == want.to_pylist()
    assert got.column("host")[9].as_py() == "10.0.0.1" and got.column("_time")[36].as_py() == NOW + 5   # read 1, read 5
