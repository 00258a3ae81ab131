"""Syslog messages: RFC 5424 / RFC 3164 parsing, RFC 6587 framing, and the event columns of
a batch of messages (the listeners are `speleo.ingest.syslog_server`).

Every message becomes one event: `_raw` is the message as received without its `<PRI>` (as
Splunk's syslog inputs store it) and without its framing (the trailing newline, or the octet
count of RFC 6587), `_time` comes from its header, `host` is the header's hostname (else the
sender's address), `source` is `udp:PORT`, `tcp:PORT` or `tls:PORT` as in Splunk, the
sourcetype is `syslog`, or a network device's whose layout the message has (`cisco:asa`,
`pfsense:filterlog`, `ufw`... : `sourcetypes.message_sourcetype`); facility, severity and the RFC 5424 header fields are indexed fields.
RFC 3164 has no year (unless the device writes one beside the time): `timeformats.infer_year`
gives it, as for files (at most two days ahead of the clock: December messages read in January
land in the old year, `Jan  1 00:00:02` read at `Dec 31 23:59:59` in the new one); a header
time (any layout, a written year too) more than two days after receipt is not taken (the event
is timed on receipt, flagged `no_timestamp`); its zone is the listener's (`--syslog-tz`, default the machine's).

A message that does not parse is kept, with `syslog_malformed` in `_flags`, timed by whatever
header it has (else on receipt). Over TCP each connection is framed by octet counting
(`LEN SP MSG`) when a message starts with a digit, else by newline; a message is at most
`MAX_MESSAGE_BYTES`, longer ones are cut (flagged `truncated`) and the rest skipped.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import time
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import accumulate, chain, repeat
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from speleo.ingest.timeformats import MAX_AHEAD_SECS, MONTHS, infer_year
from speleo.sourcetypes import message_signatures as sourcetypes_signatures, message_sourcetype

FACILITIES = ("kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron",
              "authpriv", "ftp", "ntp", "security", "console", "solaris-cron", "local0", "local1",
              "local2", "local3", "local4", "local5", "local6", "local7")
SEVERITIES = ("emerg", "alert", "crit", "err", "warning", "notice", "info", "debug")
MAX_MESSAGE_BYTES = 64 * 1024

_PRI = re.compile(r"<(\d{1,3})>")
_5424 = re.compile(r"1 (?P<ts>\S+) (?P<host>\S+) (?P<app>\S+) (?P<procid>\S+) (?P<msgid>\S+) ?(?P<after>.*)$", re.S)
_3164 = re.compile(r"(?P<mon>[A-Z][a-z]{2}) (?P<day>[ \d]\d) (?:(?P<y1>\d{4}) )?"
                   r"(?P<h>\d\d):(?P<m>\d\d):(?P<s>\d\d)(?: (?P<y2>\d{4})(?= |$))? ?(?P<rest>.*)$", re.S)
_3339_HEADER = re.compile(r"(?P<ts>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,6})?(?:Z|[+-]\d\d:\d\d)) (?P<rest>.*)$", re.S)
_MONTHS = {m: i for i, m in enumerate(MONTHS, start=1)}


_TAG = re.compile(r"(?P<app>[^\s\[\]:]{1,48})(?:\[(?P<pid>[^\]\s]{1,128})\])?:(?: |$)")
_SD_NAME = re.compile(r'[!#-<>-\\^-~]{1,32}')  # PRINTUSASCII except '=', ' ', ']', '"'


@dataclass
class Parsed:
    """What the header of one message says (None where it says nothing usable)."""

    time: float | None
    host: str | None
    facility: str | None = None
    severity: str | None = None
    malformed: bool = False
    appname: str | None = None
    procid: str | None = None
    msgid: str | None = None
    sd: dict[str, str | list[str]] | None = None   # "sd.<id>.<param>" -> value(s)

    def fields(self) -> dict[str, str | list[str]]:
        """The indexed fields of the message (`_fields`): names of its facility and severity,
        app name, process id, message id and structured data, where present."""
        out: dict[str, str | list[str]] = {}
        for k in ("facility", "severity", "appname", "procid", "msgid"):
            v = getattr(self, k)
            if v is not None:
                out[k] = v
        if self.sd:
            out.update(self.sd)
        return out


def priority(pri: int) -> tuple[str, str]:
    """(facility, severity) names of a PRI value (0..191)."""
    return FACILITIES[pri >> 3], SEVERITIES[pri & 7]


def parse(message: str, now: float, tz: str | None = None) -> Parsed:
    """Parse one message (RFC 5424, else RFC 3164). Never raises: bad input is `malformed`.

    A message without a valid `<PRI>` is malformed, but a header after it (RFC 3164 or
    rsyslog's RFC 3339 layout) still gives the event its time and host."""
    m = _PRI.match(message)
    if not m or int(m.group(1)) > 191 or (len(m.group(1)) > 1 and m.group(1)[0] == "0"):
        p = _bsd_header(message, now, tz)
        if p is None:
            return Parsed(None, None, malformed=True)
        p.malformed = True
        return p
    facility, severity = priority(int(m.group(1)))
    rest = message[m.end():]
    if rest.startswith("1 "):
        p = _rfc5424(rest)
    else:
        p = _bsd_header(rest, now, tz)
    if p is None:
        return Parsed(None, None, facility, severity, malformed=True)
    p.facility, p.severity = facility, severity
    return p


def _rfc5424(rest: str) -> Parsed | None:
    """Fields of an RFC 5424 message after its PRI (`1 TIMESTAMP HOST APP PROCID MSGID SD [MSG]`)."""
    h = _5424.match(rest)
    if not h:
        return None
    t = rfc3339(h.group("ts"))
    bad = t is None and h.group("ts") != "-"
    sd = None
    after = h.group("after")
    if after.startswith("["):  # STRUCTURED-DATA: one or more elements, then SP MSG or the end
        sd, end = structured_data_prefix(after)
        if sd is None or (end < len(after) and after[end] != " "):
            bad, sd = True, None   # kept in _raw, but no sd.* fields from broken structured data
    elif after and not (after == "-" or after.startswith("- ")):
        bad = True   # neither NILVALUE nor an SD-ELEMENT where STRUCTURED-DATA must be
    host, app, procid, msgid = (None if h.group(k) == "-" else h.group(k) for k in ("host", "app", "procid", "msgid"))
    return Parsed(t, host, malformed=bad, appname=app, procid=procid, msgid=msgid, sd=sd)


def _bsd_header(rest: str, now: float, tz: str | None) -> Parsed | None:
    """Time, host and tag of an RFC 3164 header (`Mmm dd hh:mm:ss`, optionally with a year
    before or after the time, as Cisco and other devices send), or of rsyslog's
    RSYSLOG_ForwardFormat (an RFC 3339 timestamp); None when neither is there."""
    h = _3164.match(rest)
    if h:
        t = bsd_time(h, now, tz)
    else:
        h = _3339_HEADER.match(rest)
        if not h:
            return None
        t = rfc3339(h.group("ts"))
    body = h.group("rest")
    words = body.split(" ", 1)
    host = words[0] if words[0] and not words[0].endswith(":") and "[" not in words[0] else None
    if host is not None:
        body = words[1] if len(words) > 1 else ""
    tag = _TAG.match(body)
    app, procid = (tag.group("app"), tag.group("pid")) if tag else (None, None)
    return Parsed(t, host, malformed=t is None, appname=app, procid=procid)


def structured_data(text: str) -> dict[str, str | list[str]] | None:
    """Fields `sd.<SD-ID>.<PARAM-NAME>` of RFC 5424 STRUCTURED-DATA (`[id k="v" ...]...`),
    values unescaped (`\\"`, `\\\\`, `\\]`); a name repeated in one element gives a list.
    None when it does not follow the grammar."""
    out, end = structured_data_prefix(text)
    return out if end == len(text) else None


def structured_data_prefix(text: str) -> tuple[dict[str, str | list[str]] | None, int]:
    """The SD elements at the start of `text` and where they end: (fields, end); fields is None
    when an element breaks the grammar (unterminated, bad name, unquoted value...)."""
    out: dict[str, str | list[str]] = {}
    i, n = 0, len(text)
    while i < n and text[i] == "[":
        m = _SD_NAME.match(text, i + 1)
        if not m:
            return None, i
        sd_id, i = m.group(), m.end()
        while i < n and text[i] == " ":
            m = _SD_NAME.match(text, i + 1)
            if not m or text[m.end(): m.end() + 2] != '="':
                return None, i
            name, i = m.group(), m.end() + 2
            value = []
            while True:
                if i >= n:
                    return None, i
                c = text[i]
                if c == "\\" and i + 1 < n and text[i + 1] in '"\\]':
                    value.append(text[i + 1])
                    i += 2
                elif c == '"':
                    i += 1
                    break
                else:
                    value.append(c)
                    i += 1
            key, v = f"sd.{sd_id}.{name}", "".join(value)
            old = out.get(key)
            out[key] = v if old is None else (old + [v] if isinstance(old, list) else [old, v])
        if i >= n or text[i] != "]":
            return None, i
        i += 1
    return out, i


def rfc3339(text: str) -> float | None:
    """Epoch seconds of an RFC 3339 timestamp (with zone), or None."""
    if text == "-" or len(text) > 40:
        return None
    try:
        d = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    if d.tzinfo is None:
        return None
    return d.timestamp()


def bsd_time(h: re.Match, now: float, tz: str | None) -> float | None:
    """Epoch seconds of an RFC 3164 `Mmm dd hh:mm:ss`: the year the header gives (`Mmm dd yyyy
    hh:mm:ss`, `Mmm dd hh:mm:ss yyyy`), else `timeformats.infer_year`'s (the rule the file path
    uses): at most two days ahead of `now`, else an earlier year."""
    month = _MONTHS.get(h.group("mon"))
    if month is None:
        return None
    zone = ZoneInfo(tz) if tz else None
    day, hms = int(h.group("day")), (int(h.group("h")), int(h.group("m")), int(h.group("s")))
    given = h.groupdict().get("y1") or h.groupdict().get("y2")

    def epoch(year: int) -> float | None:
        try:
            return dt.datetime(year, month, day, *hms, tzinfo=zone).timestamp()
        except ValueError:  # Feb 29 of a common year, hour 25...
            return None

    if given:
        return epoch(int(given))
    year = infer_year(epoch, now, dt.datetime.fromtimestamp(now, zone).year)
    return None if year is None else epoch(year)


# The common RFC 5424 shape, read for a whole batch at once (`_columns_5424`): a valid PRI, a
# timestamp (or NILVALUE) of RFC 3339's usual layout, header fields of printable ASCII without
# quote or backslash (their JSON needs no escaping), NILVALUE structured data. Other messages take
# the per-message path (`_columns_one_by_one`), which stays the reference. The groups only name
# the parts: the batch path asks RE2 whether each message matches (its DFA, no captures), then
# cuts the header at its spaces, which this shape guarantees are the field separators.
_FAST_5424 = (r"^<(?P<pri>0|[1-9]\d?|1[0-8]\d|19[01])>1 (?P<ts>-|(?P<dt>[1-9]\d{3}-(?:0[1-9]|1[0-2])-(?P<day>0[1-9]|[12]\d|3[01])"
              r"T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d)(?:\.(?P<frac>\d{1,6}))?"
              r"(?P<zone>Z|(?P<sign>[+-])(?P<zh>[01]\d|2[0-3]):(?P<zm>[0-5]\d))) "
              r"(?P<host>[!#-\[\]-~]+) (?P<app>[!#-\[\]-~]+) (?P<procid>[!#-\[\]-~]+) (?P<msgid>[!#-\[\]-~]+) -(?: |$)")
FAST_MIN_MESSAGES = 32    # fewer: the per-message path is as quick
_NEEDLES = "|".join(re.escape(needle) for _name, needle, _rx in sourcetypes_signatures())
# bytes from the most to the least frequent in log text, roughly; those absent are rarer still
_BY_FREQUENCY = b" etaoinsrlhdcu0123456789mpfgwyb.=:-,/_vkxjqzTSAEIRNOLCDPMUHFGBWYVKXJQZ"


def _probe(needle: str) -> tuple[bytes, bytes]:
    """(its rarest byte, the needle), to learn cheaply that a whole batch's bytes do not hold
    `needle`: a byte seldom in log text is looked for first (memchr, as quick as a copy), the
    needle itself only when that byte is there."""
    raw = needle.encode()
    rarest = max(raw, key=lambda b: _BY_FREQUENCY.find(b) % (len(_BY_FREQUENCY) + 1))
    return bytes([rarest]), raw


_PROBES = tuple(dict.fromkeys(_probe(needle) for _name, needle, _rx in sourcetypes_signatures()))
# `{"facility":"...","severity":"...` of each PRI value, the start of every fast message's _fields
_PRI_FIELDS = pa.array(['{"facility":"%s","severity":"%s"' % priority(p) for p in range(192)], pa.string())
_EPOCH = "1970-01-01T00:00:00Z"   # stands in for a NILVALUE timestamp while the others are cast


def events_table(messages: Sequence[tuple[bytes, str, float]], source: str, index: str,
                 tz: str | None) -> pa.Table:
    """Event columns for (message bytes, sender address, receive time) tuples (a list, or
    `Received`).

    `_raw` is the message without its `<PRI>` (Splunk strips it from syslog input unless
    inputs.conf `no_priority_stripping` is set; facility and severity stay as indexed fields);
    a message without a valid PRI is kept whole. A message over MAX_MESSAGE_BYTES, or one the
    framer cut (`Truncated`), is flagged `truncated`. A header time more than `MAX_AHEAD_SECS`
    (2 days, props.conf MAX_DAYS_HENCE) after receipt is not taken: the event
    gets its receive time and the `no_timestamp` flag.

    A batch is read in two passes: the messages of the common RFC 5424 shape (`_FAST_5424`) by
    Arrow's compute kernels for all of them at once, the others one by one; both give the same
    columns for the same message (tests/ingest/test_syslog_batch.py), in the order received."""
    fast = _columns_5424(messages) if len(messages) >= FAST_MIN_MESSAGES else None
    if fast is None:
        cols = _columns_one_by_one(messages, tz)
    else:
        rows, fast_cols = fast     # rows: positions of the fast path's messages, in order
        cols = fast_cols
        if len(rows) < len(messages):
            chosen = set(rows)
            rest = [i for i in range(len(messages)) if i not in chosen]
            slow = _columns_one_by_one([messages[i] for i in rest], tz)
            cols = {k: pa.concat_arrays([fast_cols[k], slow[k]]) for k in slow}
            position = pa.array(list(rows) + rest, pa.int64())   # received position of each row
            order = pc.sort_indices(position)
            cols = {k: v.take(order) for k, v in cols.items()}
    n = len(messages)
    now = time.time()
    return pa.table({
        "_time": cols["_time"],
        "_raw": cols["_raw"],
        "host": cols["host"],
        "source": pa.repeat(pa.scalar(source, pa.string()), n),
        "sourcetype": cols["sourcetype"],
        "index": pa.repeat(pa.scalar(index, pa.string()), n),
        "_indextime": pa.repeat(pa.scalar(now, pa.float64()), n),
        "linecount": cols["linecount"],
        "_offset": pa.repeat(pa.scalar(-1, pa.int64()), n),
        "_flags": cols["_flags"],
        "_fields": cols["_fields"],
    })


def _columns_5424(messages: Sequence[tuple[bytes, str, float]]) -> tuple[range | list[int], dict[str, pa.Array]] | None:
    """The columns of the messages of the common RFC 5424 shape, computed for the batch at once:
    (their positions in `messages`, in order; columns). None when the batch cannot go this way
    (a message that is not UTF-8, or a cut one: the per-message path flags those).

    Each step is one pass of an Arrow kernel over the batch, none of them a regex extraction:
    RE2 tells which messages have the shape; one split at the first six spaces gives the
    header's fields; the timestamps are one cast (Arrow's ISO 8601 parser, which refuses 30
    February as Python does: such a batch finds those dates and sends them the per-message
    way); `_raw` is a byte slice past the PRI; the fields' JSON is one concatenation. The
    device needles and newlines are first looked for in the whole batch's bytes at once (memchr
    for a rare byte), so a batch without any costs no pass per message."""
    data = messages.data if isinstance(messages, Received) else [m[0] for m in messages]
    if Truncated in set(map(type, data)):
        return None
    try:
        binary = pa.array(data, pa.binary())
        if pc.max(pc.binary_length(binary)).as_py() > MAX_MESSAGE_BYTES:
            return None
        text = binary.cast(pa.string())   # UTF-8 checked by Arrow
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None
    ok = pc.match_substring_regex(text, _FAST_5424)
    if not pc.any(ok).as_py():
        return None
    received = messages.times() if isinstance(messages, Received) else pa.array([m[2] for m in messages], pa.float64())
    rows: range | list[int] = range(len(messages))
    if not pc.all(ok).as_py():
        binary, text, received = binary.filter(ok), text.filter(ok), received.filter(ok)
        rows = pc.indices_nonzero(ok).to_pylist()
    # <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID - [MSG]: no field has a space
    parts = pc.split_pattern(text, " ", max_splits=6)
    head, ts, host, app, procid, msgid = (pc.list_element(parts, i) for i in range(6))
    # the time: Arrow's ISO 8601 cast reads the layout the pattern allows (fractions of 1 to 6
    # digits, Z or +hh:mm), microseconds as Python's fromisoformat; a date that does not exist
    # (31 April) fails the whole cast, so those are found (a few distinct days a batch) and left
    # to the per-message path
    nil_ts = pc.equal(ts, "-")
    stamps = pc.if_else(nil_ts, _EPOCH, ts) if pc.any(nil_ts).as_py() else ts
    real = None
    try:
        micros = pc.cast(stamps, pa.timestamp("us", "UTC"))
    except pa.ArrowInvalid:
        days = pc.utf8_slice_codeunits(stamps, 0, 10)
        unreal = [d for d in pc.unique(days).to_pylist() if not _real_day(d)]
        real = pc.invert(pc.is_in(days, pa.array(unreal, pa.string())))
        try:
            micros = pc.cast(pc.if_else(real, stamps, _EPOCH), pa.timestamp("us", "UTC"))
        except pa.ArrowInvalid:
            return None
    total_us = micros.cast(pa.int64())
    exact = pc.less_equal(pc.abs(total_us), 2**53)   # microseconds a double holds exactly (to year 2255)
    if not pc.all(exact).as_py():
        total_us = pc.if_else(exact, total_us, 0)
    header_time = pc.divide(pc.cast(total_us, pa.float64()), 1e6)   # as Python's timedelta.total_seconds()
    keep = pc.and_(exact, pc.invert(pc.greater(header_time, pc.add(received, MAX_AHEAD_SECS))))
    if real is not None:
        keep = pc.and_(keep, real)
    if not pc.all(keep).as_py():   # impossible dates, times too far ahead: the per-message path
        sub = pc.indices_nonzero(keep)
        rows = [rows[i] for i in sub.to_pylist()]
        if not rows:
            return None
        binary, head, host, app, procid, msgid, nil_ts, header_time, received = (
            v.take(sub) for v in (binary, head, host, app, procid, msgid, nil_ts, header_time, received))
    n = len(rows)
    # _raw: the bytes after `<PRI>` (ASCII, so the rest stays UTF-8), one slice when every
    # PRI of the batch has as many digits
    cut = pc.subtract(pc.binary_length(head), 1)
    shortest, longest = pc.min_max(cut).values()
    if shortest == longest:
        raw = pc.binary_slice(binary, shortest.as_py(), MAX_MESSAGE_BYTES + 1).view(pa.string())
    else:
        raw = pc.replace_substring_regex(binary.view(pa.string()), r"^<\d{1,3}>", "", max_replacements=1)
    pri = pc.cast(pc.utf8_slice_codeunits(head, 1, -2), pa.int64())
    pieces: list = [_PRI_FIELDS.take(pri)]
    for name, values in (("appname", app), ("procid", procid), ("msgid", msgid)):
        nil = pc.equal(values, "-")
        if pc.any(nil).as_py():   # `,"name":"value"`, or nothing for NILVALUE
            pieces.append(pc.if_else(nil, "", pc.binary_join_element_wise(f',"{name}":"', values, '"', "")))
        else:
            pieces += [f',"{name}":"', values, '"']
    pieces.append("}")
    merged: list = []   # adjacent constants as one (each argument costs the kernel a step a row)
    for piece in pieces:
        if isinstance(piece, str) and merged and isinstance(merged[-1], str):
            merged[-1] += piece
        else:
            merged.append(piece)
    fields = pc.binary_join_element_wise(*merged, "")
    nil_host = pc.equal(host, "-")
    if pc.any(nil_host).as_py():   # NILVALUE: the sender's address
        senders = messages.senders() if isinstance(messages, Received) else [m[1] for m in messages]
        host = pc.if_else(nil_host, pa.array([senders[i] for i in rows], pa.string()), host)
    whole = b"".join(data)   # every message's bytes: what no message holds, this does not hold either
    sourcetype = pa.repeat(pa.scalar("syslog", pa.string()), n)
    if any(rare in whole and needle in whole for rare, needle in _PROBES):
        any_needle = pc.match_substring_regex(raw, _NEEDLES)   # one pass for every device's needle
        if pc.any(any_needle).as_py():   # the few that may be a device's
            which = pc.indices_nonzero(any_needle).to_pylist()
            names = ["syslog"] * n
            for i, r in zip(which, raw.take(which).to_pylist()):
                names[i] = message_sourcetype(r)
            sourcetype = pa.array(names, pa.string())
    if b"\n" in whole:
        linecount = pc.cast(pc.add(pc.count_substring(raw, "\n"), 1), pa.int32())
    else:
        linecount = pa.repeat(pa.scalar(1, pa.int32()), n)
    return rows, {
        "_time": pc.if_else(nil_ts, received, header_time) if pc.any(nil_ts).as_py() else header_time,
        "_raw": raw,
        "host": host,
        "sourcetype": sourcetype,
        "linecount": linecount,
        "_flags": pa.repeat(pa.scalar("", pa.string()), n),
        "_fields": fields,
    }


def _real_day(day: str) -> bool:
    """Whether `YYYY-MM-DD` is a day of the calendar (not 30 February, 31 April...)."""
    try:
        dt.date.fromisoformat(day)
        return True
    except ValueError:
        return False


def _columns_one_by_one(messages: list[tuple[bytes, str, float]], tz: str | None) -> dict[str, pa.Array]:
    """The event columns of `messages`, parsing each with `parse` (every shape and fault)."""
    times, raws, hosts, flags, counts, fields = [], [], [], [], [], []
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    for data, sender, received in messages:
        f = []
        cut = isinstance(data, Truncated) or len(data) > MAX_MESSAGE_BYTES
        if cut:
            data = data[:MAX_MESSAGE_BYTES]
            f.append("truncated")
        text, bad_utf8 = _decode(data, cut)
        if bad_utf8:
            f.append("invalid_utf8")
        p = parse(text, received, tz)
        if p.malformed:
            f.append("syslog_malformed")
        t = p.time
        if t is not None and t > received + MAX_AHEAD_SECS:
            t = None   # e.g. decades ahead: Splunk's MAX_DAYS_HENCE, as for files
            f.append("no_timestamp")
        times.append(t if t is not None else received)
        raws.append(text[text.index(">") + 1:] if p.facility is not None else text)
        hosts.append(p.host or sender)
        flags.append(",".join(f))
        counts.append(text.count("\n") + 1)
        f = p.fields()
        fields.append(dumps(f) if f else None)
    return {
        "_time": pa.array(times, pa.float64()),
        "_raw": pa.array(raws, pa.string()),
        "host": pa.array(hosts, pa.string()),
        "sourcetype": pa.array([message_sourcetype(r) for r in raws], pa.string()),
        "linecount": pa.array(counts, pa.int32()),
        "_flags": pa.array(flags, pa.string()),
        "_fields": pa.array(fields, pa.string()),
    }


def _decode(data: bytes, cut: bool) -> tuple[str, bool]:
    """(text, had invalid UTF-8). A cut message may end inside a character: that tail is
    dropped without counting as invalid UTF-8."""
    try:
        return data.decode("utf-8"), False
    except UnicodeDecodeError as e:
        if cut and e.reason == "unexpected end of data" and len(data) - e.start < 4:
            return _decode(data[: e.start], False)
        return data.decode("utf-8", "replace"), True


class Received(Sequence):
    """The messages of one source in the order read, as `events_table` takes them: a sequence of
    (bytes, sender address, receive time), kept as the messages' bytes (`data`) and, for each
    read, how many messages it gave, its sender and its time (`reads`), so that a listener
    queues a read without making a tuple per message."""

    def __init__(self) -> None:
        self.data: list[bytes] = []
        self.reads: list[tuple[int, str, float]] = []
        self._ends: list[int] | None = None

    def add(self, msgs: list[bytes], sender: str, received: float) -> None:
        """Append the messages of one read."""
        self.data += msgs
        self.reads.append((len(msgs), sender, received))
        self._ends = None

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[k] for k in range(*i.indices(len(self)))]
        if i < 0:
            i += len(self.data)
        if self._ends is None:
            self._ends = list(accumulate(n for n, _s, _t in self.reads))
        _n, sender, received = self.reads[bisect_right(self._ends, i)]
        return self.data[i], sender, received

    def __iter__(self):
        return zip(self.data, self.senders(), chain.from_iterable(repeat(t, n) for n, _s, t in self.reads))

    def senders(self) -> list[str]:
        """The sender of each message."""
        return list(chain.from_iterable(repeat(s, n) for n, s, _t in self.reads))

    def times(self) -> pa.Array:
        """The receive time of each message (float64, epoch seconds)."""
        return pa.array(np.repeat(np.array([t for _n, _s, t in self.reads], np.float64),
                                  [n for n, _s, _t in self.reads]))


class Truncated(bytes):
    """A message the framer cut at MAX_MESSAGE_BYTES (the rest of it was dropped)."""


def strip_frame(line: bytes) -> bytes:
    """A newline-framed message without its trailing CR / NUL."""
    return line.rstrip(b"\r\n\x00")


class Framer:
    """RFC 6587 framing of one TCP stream: octet counting when a frame starts with a digit,
    else newline (LF) delimited. `feed(data)` returns the complete messages.

    Memory is bounded whatever the sender claims: a message longer than `max_bytes` (a line
    without LF, or an octet count above it, up to 10 digits) gives its first `max_bytes` as a
    `Truncated` message and the rest is skipped as it arrives, never buffered; `dropped_bytes`
    counts what was skipped. The buffer never holds more than `max_bytes` + one read."""

    def __init__(self, max_bytes: int = MAX_MESSAGE_BYTES) -> None:
        self.buf = bytearray()
        self.max = max_bytes
        self.skip = 0            # bytes of an over-long octet-counted frame still to discard
        self.skip_line = False   # discarding the rest of an over-long line, up to its LF
        self.dropped_bytes = 0

    def feed(self, data: bytes) -> list[bytes]:
        self.buf += data
        out: list[bytes] = []
        if not self.skip and not self.skip_line:
            self._octet_frames(out)
        while self._discard() and self.buf:
            c = self.buf[:1]
            if c.isdigit():
                if not self._octet_frame(out):
                    break
            elif c in (b"\n", b"\r", b"\x00"):
                del self.buf[:1]
            elif not self._line(out):
                break
        return [m for m in out if m]

    def _octet_frames(self, out: list[bytes]) -> None:
        """The common case in one pass over the buffer: whole octet-counted frames of at most
        `max` bytes, one after another; stops at anything else, which `feed`'s general loop
        then reads (the same framing, a frame at a time)."""
        data = bytes(self.buf)
        pos, end = 0, len(data)
        limit = self.max
        while pos < end and 48 <= data[pos] <= 57:
            sp = data.find(b" ", pos, pos + 12)
            if sp < 0 or sp - pos > 10 or not data[pos:sp].isdigit():
                break
            size = int(data[pos:sp])
            stop = sp + 1 + size
            if size > limit or stop > end:
                break
            msg = data[sp + 1: stop].rstrip(b"\r\n\x00")
            if msg:
                out.append(msg)
            pos = stop
        if pos:
            del self.buf[:pos]

    def _discard(self) -> bool:
        """Drop what belongs to an over-long message; False when the buffer is used up."""
        if self.skip:
            n = min(self.skip, len(self.buf))
            del self.buf[:n]
            self.skip -= n
            self.dropped_bytes += n
            if self.skip:
                return False
        if self.skip_line:
            nl = self.buf.find(b"\n")
            n = len(self.buf) if nl < 0 else nl + 1
            del self.buf[:n]
            self.dropped_bytes += n if nl < 0 else nl
            if nl < 0:
                return False
            self.skip_line = False
        return True

    def _octet_frame(self, out: list[bytes]) -> bool:
        sp = self.buf.find(b" ", 0, 12)
        digits = bytes(self.buf[:sp]) if sp > 0 else b""
        if not digits.isdigit() or len(digits) > 10:
            if sp < 0 and len(self.buf) < 12 and self.buf.isdigit():
                return False  # the count may still be arriving
            return self._line(out)  # not an octet count: a newline-framed message
        size = int(digits)
        start = sp + 1
        if size > self.max:
            if len(self.buf) < start + self.max:
                return False
            out.append(Truncated(strip_frame(bytes(self.buf[start: start + self.max]))))
            del self.buf[: start + self.max]
            self.skip = size - self.max
            return True
        if len(self.buf) < start + size:
            return False
        out.append(strip_frame(bytes(self.buf[start: start + size])))
        del self.buf[: start + size]
        return True

    def _line(self, out: list[bytes]) -> bool:
        nl = self.buf.find(b"\n")
        if nl > self.max or (nl < 0 and len(self.buf) > self.max):  # an over-long line: cut it
            out.append(Truncated(bytes(self.buf[: self.max])))
            del self.buf[: self.max]
            self.skip_line = True
            return True
        if nl < 0:
            return False
        out.append(strip_frame(bytes(self.buf[:nl])))
        del self.buf[: nl + 1]
        return True

    def flush(self) -> list[bytes]:
        rest = b"" if self.skip or self.skip_line else strip_frame(bytes(self.buf))
        self.buf.clear()
        return [rest] if rest else []
