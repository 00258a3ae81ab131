"""The building blocks of sourcetype definitions: `Extraction`, `Sourcetype` and `Family`.

Standard library only and pure. Every regex is written for both Python's `re` and RE2
(DuckDB, pyarrow): named groups use `(?P<name>...)` only, no lookarounds, no backreferences.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class Extraction:
    """A search-time field extraction: `regex` (named groups) applied to `field`.

    `field` is `_raw`, a metadata column (`source`, `host`) or a field extracted before it
    (Splunk props.conf `EXTRACT-x = regex in field`); a regex of one group on another field is
    a field alias (`FIELDALIAS`). With `values`, the text a group captures is translated
    through the table (keys compared in lower case; text not in the table gives no field), as
    a Splunk add-on does with a lookup or an `EVAL-action = case(...)`: `Failed` -> `failure`.
    """

    regex: str
    field: str = "_raw"
    values: tuple[tuple[str, str], ...] = ()

    def translate(self, text: str) -> str | None:
        """The value of a captured `text` after `values` (itself when there is no table)."""
        if not self.values:
            return text
        return dict(self.values).get(text.lower())


@dataclass(frozen=True)
class Sourcetype:
    """Parse settings and search-time extractions of one kind of log (see the package doc)."""

    name: str
    time_format: str | None = None
    time_prefix: str | None = None
    tz: str | None = None
    max_timestamp_lookahead: int = 128
    line_breaker: str | None = None
    should_linemerge: bool = True
    max_lines: int = 257
    truncate: int = 10000
    extractions: tuple[Extraction, ...] = ()
    kv: bool = True
    json: bool = False
    json_records: str | None = None  # a file that is one JSON object whose list under this key holds the events
    description: str = ""


Detector = Callable[[str, list[str]], "str | None"]


@dataclass(frozen=True)
class Family:
    """The sourcetypes of one family of logs and how to recognise them from content.

    `signatures`: (sourcetype, regex matched at the start of a line), most specific first; a
    sourcetype is detected when its signature fits at least 60% of the sample lines that may
    start an event. `json_keys`: (sourcetype, dotted keys that all must be present) for
    files of JSON objects. `detectors`: functions (source, sample lines) -> sourcetype or None
    for layouts one line cannot tell (Oracle's alert log). `paths`: (detected sourcetype,
    regex searched in the source path, refined sourcetype).
    """

    sourcetypes: tuple[Sourcetype, ...]
    signatures: tuple[tuple[str, str], ...] = ()
    json_keys: tuple[tuple[str, tuple[str, ...]], ...] = ()
    detectors: tuple[Detector, ...] = ()
    paths: tuple[tuple[str, str, str], ...] = ()


def x(*regexes: str, field: str = "_raw") -> tuple[Extraction, ...]:
    """Extractions of `regexes` on `field`."""
    return tuple(Extraction(r, field) for r in regexes)


def alias(target: str, *sources: str) -> tuple[Extraction, ...]:
    """`target` as a copy of the first of `sources` that has a value (Splunk FIELDALIAS).
    A value that is `-` (what Windows and web servers write for "none") gives no field; a
    trailing newline (Docker's `log`) is left out."""
    return tuple(Extraction(rf"(?s)^(?P<{target}>[^-].*?|-.+?)\n?$", s) for s in sources)


def mapped(target: str, regex: str, table: dict[str, str], field: str = "_raw") -> Extraction:
    """`target` from the text `regex` captures in its group `target`, translated by `table`
    (keys in lower case)."""
    return Extraction(regex, field, tuple((k.lower(), v) for k, v in table.items()))


# Shared pieces of regex.
SYSLOG_TIME = r"(?:[A-Z][a-z]{2} +\d{1,2} \d\d:\d\d:\d\d|\d{4}-\d\d-\d\dT\S+)"
SYSLOG_HEAD = (
    r"^" + SYSLOG_TIME + r" (?P<syslog_host>\S+) "
    r"(?P<process>[^\s\[:]+)(?:\[(?P<pid>\d+)\])?: (?P<message>.*)"
)
IP = r"[\d.]+|[0-9a-fA-F:]*:[0-9a-fA-F:.]+"
TRANSPORTS = {"tcp": "tcp", "udp": "udp", "icmp": "icmp", "icmpv6": "icmp", "ipv6-icmp": "icmp",
              "sctp": "sctp", "gre": "gre", "esp": "esp", "ah": "ah", "igmp": "igmp"}
