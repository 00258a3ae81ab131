"""The forwarder's file following: complete lines, shipped raw, never parsed.

`RawTailer` is the server monitor's file following (`speleo.ingest.tailing.Tailer`: fingerprints
of the first 256 bytes, discovery, rotation by rename / copytruncate / `.gz`, truncation,
checkpoints) with a different end: instead of breaking events and finding timestamps (the
receiver does that, per sourcetype, as Splunk's indexers do for a universal forwarder), each read
becomes one queue record of raw bytes, cut at a line end, with the file checkpoint it brings the
file to. Neither pyarrow nor the event parser is imported.

Where a record ends:

- never inside a line: an incomplete last line (no "\\n" yet) is held back until its newline
  arrives. Only a compressed rotated file (`.gz`, complete by nature) is sent to its last byte.
- not inside a multi-line event, as far as a cheap look can tell: the receiver breaks every
  request on its own, so a Java stack trace cut between two requests would become two events.
  While the file grows, a record ends just before the last complete line that may start an
  event (`may_start_event`: not blank, not indented, not a known continuation such as
  `Caused by:` or a Python exception line), and the lines from there wait for the next read.
  When the file has not grown for `pending_event_flush_secs` (0.75 s), the held lines are sent
  (the server's monitor flushes a pending event the same way); when `read_chunk_bytes` of lines
  hold no such start, they are sent anyway.

The sink (`speleo.forward.agent.QueueSink`) gives `checkpoints()`, `count_problem(...)`,
`seal_if_large(...)` and `append_raw(payload, lines, target, checkpoint)`.
"""

from __future__ import annotations

import re
import socket
from dataclasses import dataclass
from pathlib import Path

from speleo.ingest.tailing import MonitorInput, Tailer, Tracked, complete_lines_end, sample_lines


# lines at the start of a line (column 0) that continue the event before them
CONTINUATION = re.compile(
    rb"(?:Caused by: |Suppressed: |Traceback \(most recent call last\)|During handling of the above exception"
    rb"|The above exception was the direct cause|\.\.\. \d+ (?:more|common frames omitted)"
    rb"|[\w$.]+(?:Error|Exception|Warning|Exit|Interrupt|Iteration)\b)")


@dataclass(frozen=True)
class Target:
    """Where the lines of a file go: the HEC raw endpoint's query parameters."""

    index: str
    source: str
    sourcetype: str | None
    host: str

    def params(self) -> dict[str, str]:
        out = {"host": self.host, "source": self.source, "index": self.index}
        if self.sourcetype:
            out["sourcetype"] = self.sourcetype
        return out


def default_host() -> str:
    return socket.gethostname()


def may_start_event(data: bytes, start: int) -> bool:
    """Whether the line at `data[start:]` may begin an event (the cheap guess, see module doc)."""
    first = data[start:start + 1]
    if not first or first in b" \t\r\n\f\v":
        return False
    return CONTINUATION.match(data, start) is None


def last_event_start(data: bytes, end: int) -> int:
    """Start of the last line of `data[:end]` (complete lines) that may begin an event, if it is
    not the first line; else 0."""
    pos = end - 1  # the "\n" ending the last complete line
    while pos > 0:
        start = data.rfind(b"\n", 0, pos) + 1
        if start == 0:
            return 0
        if may_start_event(data, start):
            return start
        pos = start - 1
    return 0


class RawTailer(Tailer):
    """Follows the forwarder's inputs and queues complete lines (see module doc)."""

    def __init__(self, sink, settings, skip_under: Path | None = None,
                 inputs: list[MonitorInput] | None = None, props=None) -> None:
        super().__init__(sink, settings, skip_under, inputs)
        self.props = props
        self._whole = False

    def _describe(self, path: str, inp: MonitorInput, head: bytes) -> tuple[None, Target]:
        sourcetype = inp.sourcetype or (self.props.sourcetype_for(path) if self.props else None)
        if not sourcetype:  # detected as the server's monitor does (stdlib only)
            from speleo import sourcetypes

            sourcetype = sourcetypes.detect(path, sample_lines(sourcetypes.detection_sample(path, head)))
        return None, Target(inp.index, path, sourcetype, inp.host or default_host())

    def _read_gz(self, t: Tracked) -> int:
        self._whole = True  # read to its end: the last line is complete even without "\n"
        try:
            return super()._read_gz(t)
        finally:
            self._whole = False

    def _on_truncate(self, t: Tracked) -> bool:
        if t.carry:  # complete lines read before the truncation and held back: they go now
            self._emit(t, t.carry, final=True)
        return super()._on_truncate(t)

    def _emit(self, t: Tracked, data: bytes, final: bool) -> int:
        if self._whole and final:  # the end of a decompressed .gz
            cut = len(data)
        else:
            cut = complete_lines_end(data)  # complete lines only ("\n", "\r\n" or a lone "\r")
            if cut and not final:
                start = last_event_start(data, cut)
                if start or cut < self.settings.read_chunk_bytes:
                    cut = start  # the last event may still grow: keep it for the next read
        if not cut:
            t.carry = data
            return 0
        payload = data[:cut]
        if not payload.endswith(b"\n"):
            payload += b"\n"
        lines = payload.count(b"\n") if payload.strip() else 0
        self.ing.append_raw(payload, lines, t.origin, self._checkpoint(t, data, cut))
        self._advance(t, data, cut)
        return lines
