"""Monitor inputs: follow files and directory trees, as Splunk's `[monitor://]` does.

A file is identified by a fingerprint of its first `fingerprint_bytes` bytes (decompressed for
`.gz`), never by path or inode, so a renamed, copied or compressed rotated file is recognised
and read on from its checkpoint. Checkpoints (fingerprint → bytes consumed) travel in the same
journal record as the events they cover. A file shorter than the fingerprint length gets a
provisional fingerprint of what it has; when it grows and its head still starts with those
bytes, the checkpoint moves to the full fingerprint.

Rotation: by rename (the open handle is drained, the renamed file keeps its fingerprint), by
copytruncate (the copy carries the fingerprint and is read on from the checkpoint; the truncated
original is new content), into `.gz` (read decompressed from the checkpoint). A file whose size
falls below its checkpoint was truncated and is read again from the start.

That file following needs no parser and lives in `speleo.ingest.tailing` (standard library
only), shared with the forwarder; `Monitor` adds the parsing: each file gets the parser of its
sourcetype, and what is read becomes events.

Where the events go is the sink's business: `Monitor` takes any object with the methods of
`Ingestor` that it calls (`parser_for`, `ensure_index`, `append(chunk, origin, checkpoint)`,
`checkpoints()`, `count_problem(kind, source, reason)`, `seal_if_large(bytes)`), so the server
journals them. `inputs=` gives a fixed list of inputs instead of the catalog's `inputs` table.
"""

from __future__ import annotations

import time
from pathlib import Path

from speleo import sourcetypes
from speleo.ingest.pipeline import Ingestor, Origin, default_host
from speleo.ingest.tailing import (  # noqa: F401  (re-exported: the monitor's names as before)
    MonitorInput,
    Tailer,
    Tracked,
)
from speleo.ingest.identity import fingerprint  # noqa: F401


class Monitor(Tailer):
    """Runs every monitor input of the catalog. `poll()` does one pass; `run()` loops."""

    def __init__(self, ingestor: Ingestor, settings, skip_under: Path | None = None,
                 inputs: list[MonitorInput] | None = None, clock=time.monotonic) -> None:
        super().__init__(ingestor, settings, skip_under, inputs, clock)

    def _describe(self, path: str, inp: MonitorInput, head: bytes) -> tuple[object, Origin]:
        sample = sourcetypes.detection_sample(path, head)  # as much as oneshot reads
        parser, st_name = self.ing.parser_for(path, inp.sourcetype, sample)
        origin = Origin(inp.index, path, st_name, inp.host or default_host(), host_from_event=not inp.host)
        self.ing.ensure_index(inp.index)
        return parser, origin

    def _emit(self, t: Tracked, data: bytes, final: bool) -> int:
        chunk = t.parser.parse(data, t.offset, final, t.fallback_time)
        n = 0
        if chunk.consumed or chunk.flagged:   # raises: nothing advances
            n = self.ing.append(chunk, t.origin, self._checkpoint(t, data, chunk.consumed))
        self._advance(t, data, chunk.consumed)
        if chunk.events.num_rows:
            t.fallback_time = chunk.events.column("_time")[-1].as_py()
        return n
