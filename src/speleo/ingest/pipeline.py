"""The ingestion pipeline: bytes from a source → parsed events → the journal.

`Ingestor` is shared by every input (monitor, oneshot, later HEC and syslog): it picks the
sourcetype and parser of a source, adds the metadata columns, and appends the events to the
store together with the checkpoint that says how far the source was read, so that data and
checkpoint become durable in the same journal record (nothing lost, nothing twice).
"""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import pyarrow as pa
import pyarrow.compute as pc

from speleo import sourcetypes
from speleo.config import check_index_name
from speleo.ingest.breaking import EventParser, ParsedChunk
from speleo.ingest.tailing import sample_lines
from speleo.storage.schema import with_origin

if TYPE_CHECKING:  # the forwarder uses this module without DuckDB
    from speleo.storage.catalog import Catalog
    from speleo.storage.store import Store



@dataclass(frozen=True)
class Origin:
    """Where events come from and where they go: the indexed metadata."""

    index: str
    source: str
    sourcetype: str
    host: str
    host_from_event: bool = False  # take `host` from a syslog header when the event has one


def default_host() -> str:
    """The machine's host name, Splunk's default `host` for local inputs."""
    return socket.gethostname()


class Ingestor:
    """Parses and journals events for every input of one writer process."""

    def __init__(self, store: Store, catalog: Catalog, props=None, tz: str | None = None,
                 clock: Callable[[], float] | None = None) -> None:
        self.store = store
        self.catalog = catalog
        self.props = props
        self.tz = tz
        self.clock = clock  # epoch seconds for year-less timestamps (None: time.time)
        self.families: dict[str, str] = {}  # rotated files of one log keep one sourcetype
        self.events_total = 0

    def parser_for(self, source: str, sourcetype: str | None, sample: bytes) -> tuple[EventParser, str]:
        """The parser for a source and the sourcetype it uses, detected when not given from
        `sample` (the first `sourcetypes.DETECTION_BYTES` of the file) and kept alike for the
        rotated files of one log (`sourcetypes.detect_in_family`)."""
        assigned = self.props.sourcetype_for(source) if self.props else None
        name = sourcetype or assigned or sourcetypes.detect_in_family(
            source, sample_lines(sample), self.families)
        st = sourcetypes.get(name, self.props, source=source)
        return EventParser(st, tz=st.tz or self.tz, clock=self.clock), name

    def ensure_index(self, name: str) -> None:
        """Create the index if missing. Raises InputError for an invalid name."""
        self.catalog.ensure_index(check_index_name(name))

    def checkpoints(self) -> dict[str, tuple]:
        """Where each file (by identity key) was read up to: (path, offset, identity details,
        updated epoch seconds)."""
        return self.catalog.checkpoints(with_ident=True)

    def count_problem(self, kind: str, source: str, reason: str) -> None:
        self.catalog.count_problem(kind, source, reason)

    def seal_if_large(self, limit_bytes: int) -> None:
        """Bound memory between reads: seal the journal when it holds `limit_bytes`."""
        self.store.seal_if_large(limit_bytes)

    def append(
        self,
        chunk: ParsedChunk,
        origin: Origin,
        checkpoint: tuple | None = None,
        problems: list[tuple[str, str, str, int]] | None = None,
    ) -> int:
        """Journal a parsed chunk with its checkpoint (key, path, offset[, ident]); returns events written."""
        events = with_origin(
            chunk.events,
            index=origin.index,
            host=origin.host,
            source=origin.source,
            sourcetype=origin.sourcetype,
            indextime=time.time(),
        )
        if origin.host_from_event and origin.sourcetype in SYSLOG_HOST_SOURCETYPES and events.num_rows:
            events = events.set_column(events.schema.get_field_index("host"), "host",
                                       syslog_hosts(events.column("_raw"), origin.host))
        probs = list(problems or [])
        probs += [("flagged", origin.source, flag, n) for flag, n in chunk.flagged.items() if n]
        cps = {checkpoint[0]: tuple(checkpoint[1:])} if checkpoint else None
        if events.num_rows or cps or probs:
            self.store.append(events, cps, probs)
        self.events_total += events.num_rows
        return events.num_rows


SYSLOG_HOST_SOURCETYPES = sourcetypes.SYSLOG_HOST_SOURCETYPES
SYSLOG_HEADER_HOST = r"^(?:[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d|\d{4}-\d\d-\d\dT[\d:.]+(?:Z|[+-]\d\d:?\d\d)?) (?P<host>[A-Za-z0-9][A-Za-z0-9_.\-]*) "


def syslog_hosts(raw: pa.ChunkedArray, default: str) -> pa.Array:
    """The host named by each event's syslog header (`Jun 14 15:16:01 combo sshd[1]: ...`), else
    `default`: Splunk's syslog sourcetypes set `host` from the event the same way."""
    found = pc.struct_field(pc.extract_regex(raw, SYSLOG_HEADER_HOST), [0])
    return pc.fill_null(found, default)


def source_name(path: Path) -> str:
    """The `source` of a file: its absolute path, as Splunk records it."""
    return str(path.resolve())
