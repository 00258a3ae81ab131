"""Syslog inputs: RFC 5424 / RFC 3164 parsing and the UDP and TCP listeners of `speleo serve`.

Every message becomes one event: `_raw` is the message as received (without its framing:
the trailing newline, or the octet count of RFC 6587), `_time` comes from its header, `host` is
the header's hostname (else the sender's address), `source` is `udp:PORT` or `tcp:PORT` as in
Splunk, the sourcetype is `syslog`. RFC 3164 has no year: `timeformats.infer_year` gives it, as for
files (at most two days ahead of the clock: December messages read in January land in the old
year, `Jan  1 00:00:02` read at `Dec 31 23:59:59` in the new one); its zone is the listener's (`--syslog-tz`, default the machine's).

A message that does not parse is kept, timed on receipt, with `syslog_malformed` in `_flags`.
Over TCP each connection is framed by octet counting (`LEN SP MSG`) when a message starts with
a digit, else by newline. Received messages are appended in small batches (at most
`FLUSH_SECS` late), so a crash of the server may lose the last fraction of a second of syslog
traffic, which has no acknowledgement in the protocol anyway.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import re
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import pyarrow as pa

from speleo.ingest.timeformats import infer_year

log = logging.getLogger("speleo.syslog")

FACILITIES = ("kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron",
              "authpriv", "ftp", "ntp", "security", "console", "solaris-cron", "local0", "local1",
              "local2", "local3", "local4", "local5", "local6", "local7")
SEVERITIES = ("emerg", "alert", "crit", "err", "warning", "notice", "info", "debug")
MAX_MESSAGE_BYTES = 64 * 1024
FLUSH_SECS = 0.05
FLUSH_EVENTS = 5000
TLS_HANDSHAKE_SECS = 30.0
UDP_RCVBUF_BYTES = 16 * 1024 * 1024

_PRI = re.compile(r"<(\d{1,3})>")
_5424 = re.compile(
    r"1 (?P<ts>\S+) (?P<host>\S+) (?P<app>\S+) (?P<procid>\S+) (?P<msgid>\S+)"
    r"(?: (?P<sd>-|(?:\[(?:[^\]\\]|\\.)*\])+))?(?: (?P<msg>.*))?$", re.S)
_3164 = re.compile(r"(?P<mon>[A-Z][a-z]{2}) (?P<day>[ \d]\d) (?P<h>\d\d):(?P<m>\d\d):(?P<s>\d\d) ?(?P<rest>.*)$", re.S)
_3339_HEADER = re.compile(r"(?P<ts>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,6})?(?:Z|[+-]\d\d:\d\d)) (?P<rest>.*)$", re.S)
_MONTHS = {m: i for i, m in enumerate(("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct",
                                       "Nov", "Dec"), start=1)}


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
    """Parse one message (RFC 5424, else RFC 3164). Never raises: bad input is `malformed`."""
    m = _PRI.match(message)
    if not m or int(m.group(1)) > 191 or (len(m.group(1)) > 1 and m.group(1)[0] == "0"):
        return Parsed(None, None, malformed=True)
    facility, severity = priority(int(m.group(1)))
    rest = message[m.end():]
    if rest.startswith("1 "):
        h = _5424.match(rest)
        if not h:
            return Parsed(None, None, facility, severity, malformed=True)
        t = rfc3339(h.group("ts"))
        bad = t is None and h.group("ts") != "-"
        sd = None
        if h.group("sd") and h.group("sd") != "-":
            sd = structured_data(h.group("sd"))
            bad = bad or sd is None
        host, app, procid, msgid = (None if h.group(k) == "-" else h.group(k) for k in ("host", "app", "procid", "msgid"))
        return Parsed(t, host, facility, severity, malformed=bad, appname=app, procid=procid, msgid=msgid, sd=sd)
    h = _3164.match(rest)
    if h:
        t = bsd_time(h, now, tz)
    else:  # rsyslog's RSYSLOG_ForwardFormat: the RFC 3164 layout with an RFC 3339 timestamp
        h = _3339_HEADER.match(rest)
        if not h:
            return Parsed(None, None, facility, severity, malformed=True)
        t = rfc3339(h.group("ts"))
    body = h.group("rest")
    words = body.split(" ", 1)
    host = words[0] if words[0] and not words[0].endswith(":") and "[" not in words[0] else None
    if host is not None:
        body = words[1] if len(words) > 1 else ""
    tag = _TAG.match(body)
    app, procid = (tag.group("app"), tag.group("pid")) if tag else (None, None)
    return Parsed(t, host, facility, severity, malformed=t is None, appname=app, procid=procid)


def structured_data(text: str) -> dict[str, str | list[str]] | None:
    """Fields `sd.<SD-ID>.<PARAM-NAME>` of RFC 5424 STRUCTURED-DATA (`[id k="v" ...]...`),
    values unescaped (`\\"`, `\\\\`, `\\]`); a name repeated in one element gives a list.
    None when it does not follow the grammar."""
    out: dict[str, str | list[str]] = {}
    i, n = 0, len(text)
    while i < n:
        if text[i] != "[":
            return None
        m = _SD_NAME.match(text, i + 1)
        if not m:
            return None
        sd_id, i = m.group(), m.end()
        while i < n and text[i] == " ":
            m = _SD_NAME.match(text, i + 1)
            if not m or text[m.end(): m.end() + 2] != '="':
                return None
            name, i = m.group(), m.end() + 2
            value = []
            while True:
                if i >= n:
                    return None
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
            return None
        i += 1
    return out


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
    """Epoch seconds of an RFC 3164 `Mmm dd hh:mm:ss`; the year is `timeformats.infer_year`'s
    (the rule the file path uses): at most two days ahead of `now`, else an earlier year."""
    month = _MONTHS.get(h.group("mon"))
    if month is None:
        return None
    zone = ZoneInfo(tz) if tz else None
    day, hms = int(h.group("day")), (int(h.group("h")), int(h.group("m")), int(h.group("s")))

    def epoch(year: int) -> float | None:
        try:
            return dt.datetime(year, month, day, *hms, tzinfo=zone).timestamp()
        except ValueError:  # Feb 29 of a common year, hour 25...
            return None

    year = infer_year(epoch, now, dt.datetime.fromtimestamp(now, zone).year)
    return None if year is None else epoch(year)


def events_table(messages: list[tuple[bytes, str, float]], source: str, index: str,
                 tz: str | None) -> pa.Table:
    """Event columns for (message bytes, sender address, receive time) tuples."""
    times, raws, hosts, flags, counts, fields = [], [], [], [], [], []
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    for data, sender, received in messages:
        f = []
        if len(data) > MAX_MESSAGE_BYTES:
            data = data[:MAX_MESSAGE_BYTES]
            f.append("truncated")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = data.decode("utf-8", "replace")
            f.append("invalid_utf8")
        p = parse(text, received, tz)
        if p.malformed:
            f.append("syslog_malformed")
        times.append(p.time if p.time is not None else received)
        raws.append(text)
        hosts.append(p.host or sender)
        flags.append(",".join(f))
        counts.append(text.count("\n") + 1)
        f = p.fields()
        fields.append(dumps(f) if f else None)
    n = len(raws)
    now = time.time()
    return pa.table({
        "_time": pa.array(times, pa.float64()),
        "_raw": pa.array(raws, pa.string()),
        "host": pa.array(hosts, pa.string()),
        "source": pa.array([source] * n, pa.string()),
        "sourcetype": pa.array(["syslog"] * n, pa.string()),
        "index": pa.array([index] * n, pa.string()),
        "_indextime": pa.array([now] * n, pa.float64()),
        "linecount": pa.array(counts, pa.int32()),
        "_offset": pa.array([-1] * n, pa.int64()),
        "_flags": pa.array(flags, pa.string()),
        "_fields": pa.array(fields, pa.string()),
    })


def strip_frame(line: bytes) -> bytes:
    """A newline-framed message without its trailing CR / NUL."""
    return line.rstrip(b"\r\n\x00")


def grow_receive_buffer(sock, size: int = UDP_RCVBUF_BYTES) -> None:
    """Ask for a large UDP receive buffer, so bursts wait in the kernel while a batch is written
    instead of being dropped (as rsyslog's imudp `rcvbufSize`). Beyond `net.core.rmem_max` only
    root gets it (SO_RCVBUFFORCE); otherwise the kernel's cap applies."""
    if sock is None:
        return
    for opt in (getattr(socket, "SO_RCVBUFFORCE", None), socket.SO_RCVBUF):
        if opt is None:
            continue
        try:
            sock.setsockopt(socket.SOL_SOCKET, opt, size)
            return
        except OSError:
            continue


def tls_context(cert: str | None, key: str | None) -> ssl.SSLContext:
    """Server context for syslog over TLS (RFC 5425: TLS 1.2 or later)."""
    if not cert:
        raise ValueError("syslog over TLS needs a certificate (--syslog-tls-cert)")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(cert, key)
    return ctx


class Framer:
    """RFC 6587 framing of one TCP stream: octet counting when a frame starts with a digit,
    else newline (LF) delimited. `feed(data)` returns the complete messages."""

    def __init__(self, max_bytes: int = MAX_MESSAGE_BYTES) -> None:
        self.buf = bytearray()
        self.max = max_bytes

    def feed(self, data: bytes) -> list[bytes]:
        self.buf += data
        out: list[bytes] = []
        while self.buf:
            if self.buf[:1].isdigit():
                sp = self.buf.find(b" ", 0, 12)
                digits = bytes(self.buf[:sp]) if sp > 0 else b""
                if not digits.isdigit() or len(digits) > 10:
                    if sp < 0 and len(self.buf) < 12 and self.buf.isdigit():
                        break  # the count may still be arriving
                    got = self._line()  # not an octet count: a newline-framed message
                    if not got:
                        break
                    out.extend(got)
                    continue
                size = int(digits)
                if len(self.buf) < sp + 1 + size:
                    break
                out.append(bytes(self.buf[sp + 1: sp + 1 + size]).rstrip(b"\r\n\x00"))
                del self.buf[: sp + 1 + size]
            elif self.buf[:1] in (b"\n", b"\r", b"\x00"):
                del self.buf[:1]
            else:
                got = self._line()
                if not got:
                    break
                out.extend(got)
        return [m for m in out if m]

    def _line(self) -> list[bytes]:
        nl = self.buf.find(b"\n")
        if nl < 0:
            if len(self.buf) > self.max:  # an endless line: cut it into messages
                msg = bytes(self.buf[: self.max])
                del self.buf[: self.max]
                return [msg]
            return []
        msg = strip_frame(bytes(self.buf[:nl]))
        del self.buf[: nl + 1]
        return [msg]

    def flush(self) -> list[bytes]:
        rest = strip_frame(bytes(self.buf))
        self.buf.clear()
        return [rest] if rest else []


class SyslogListeners:
    """UDP and TCP syslog servers on one asyncio loop in a thread, writing through `ingestor`."""

    def __init__(self, ingestor, bind: str, udp_port: int, tcp_port: int, index: str,
                 tz: str | None = None, *, tls_port: int = 0, tls_cert: str | None = None,
                 tls_key: str | None = None) -> None:
        if tz:
            ZoneInfo(tz)  # raises for an unknown zone before anything listens
        self.tls = None
        if tls_port:
            self.tls = tls_context(tls_cert, tls_key)  # raises for a bad certificate or key
        self.tls_port = tls_port
        self.tls_bound = 0
        self.ingestor = ingestor
        self.bind = bind
        self.udp_port = udp_port
        self.tcp_port = tcp_port
        self.index = index
        self.tz = tz
        self.pending: dict[str, list[tuple[bytes, str, float]]] = {}
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._run, name="speleo-syslog", daemon=True)
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self.received = 0
        self.pending_count = 0
        self.udp_bound = 0
        self.tcp_bound = 0

    def describe(self) -> list[str]:
        out = []
        if self.udp_port:
            out.append(f"syslog on udp://{self.bind}:{self.udp_bound} -> index '{self.index}'")
        if self.tcp_port:
            out.append(f"syslog on tcp://{self.bind}:{self.tcp_bound} -> index '{self.index}'")
        if self.tls_port:
            out.append(f"syslog over TLS on tls://{self.bind}:{self.tls_bound} -> index '{self.index}'")
        return out

    def start(self) -> None:
        self.thread.start()
        self._ready.wait(10)
        if self._error is not None:
            raise OSError(f"syslog listener: {self._error}")

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_until_complete(self._open())
        except BaseException as e:  # report to start() and end the thread
            self._error = e
            self._ready.set()
            return
        self._ready.set()
        self.loop.run_forever()

    async def _open(self) -> None:
        self._servers = []
        if self.udp_port:
            transport, _ = await self.loop.create_datagram_endpoint(
                lambda: _Udp(self), local_addr=(self.bind, self.udp_port))
            self.udp_bound = transport.get_extra_info("sockname")[1]
            grow_receive_buffer(transport.get_extra_info("socket"))
            self._servers.append(transport)
        if self.tcp_port:
            server = await asyncio.start_server(self._tcp_client, self.bind, self.tcp_port, limit=MAX_MESSAGE_BYTES)
            self.tcp_bound = server.sockets[0].getsockname()[1]
            self._servers.append(server)
        if self.tls_port:
            server = await asyncio.start_server(self._tls_client, self.bind, self.tls_port, limit=MAX_MESSAGE_BYTES,
                                                ssl=self.tls, ssl_handshake_timeout=TLS_HANDSHAKE_SECS)
            self.tls_bound = server.sockets[0].getsockname()[1]
            self._servers.append(server)
        self._flusher = self.loop.create_task(self._flush_loop())

    def add(self, source: str, data: bytes, sender: str) -> None:
        self.pending.setdefault(source, []).append((data, sender, time.time()))
        self.received += 1
        self.pending_count += 1
        if self.pending_count >= FLUSH_EVENTS:
            self.flush()

    def flush(self) -> None:
        batches, self.pending, self.pending_count = self.pending, {}, 0
        self._store(batches)

    async def _flush_loop(self) -> None:
        while True:
            await asyncio.sleep(FLUSH_SECS)
            if self.pending:
                batches, self.pending, self.pending_count = self.pending, {}, 0
                await asyncio.to_thread(self._store, batches)

    def _store(self, batches) -> None:
        for source, messages in batches.items():
            try:
                self.ingestor.store.append(events_table(messages, source, self.index, self.tz))
                self.ingestor.events_total += len(messages)
            except Exception:
                log.exception("syslog: could not store %d messages from %s", len(messages), source)

    async def _tcp_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await self._stream(reader, writer, f"tcp:{self.tcp_bound}")

    async def _tls_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await self._stream(reader, writer, f"tls:{self.tls_bound}")

    async def _stream(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, source: str) -> None:
        peer = writer.get_extra_info("peername")
        sender = peer[0] if peer else "unknown"
        framer = Framer()
        try:
            while True:
                data = await reader.read(65536)
                if not data:
                    break
                for msg in framer.feed(data):
                    self.add(source, msg, sender)
            for msg in framer.flush():
                self.add(source, msg, sender)
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()

    def stop(self) -> None:
        if not self.thread.is_alive():
            return

        async def shutdown() -> None:
            self._flusher.cancel()
            for s in self._servers:
                s.close()
            self.flush()

        fut = asyncio.run_coroutine_threadsafe(shutdown(), self.loop)
        try:
            fut.result(timeout=10)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(timeout=10)


class _Udp(asyncio.DatagramProtocol):
    def __init__(self, owner: SyslogListeners) -> None:
        self.owner = owner

    def datagram_received(self, data: bytes, addr) -> None:
        msg = strip_frame(data)
        if msg:
            self.owner.add(f"udp:{self.owner.udp_bound}", msg, addr[0] if addr else "unknown")
