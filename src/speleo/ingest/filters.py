"""Ingest filters: drop or route events by regex before they are indexed ("index only what you want").

Splunk's model (props.conf `TRANSFORMS-<class>` and transforms.conf `REGEX`, `SOURCE_KEY`,
`DEST_KEY`, `FORMAT`): a props stanza (`<sourcetype>`, `source::<glob>`, `host::<glob>`, or `*`
for every event) lists transforms, applied in order; a transform whose `REGEX` matches the
`SOURCE_KEY` (`_raw`, `MetaData:Source`, `MetaData:Sourcetype`, `MetaData:Host`) either sends
the event to the `nullQueue` (dropped) or back to the `indexQueue` (kept again), with
`DEST_KEY = queue`, or sets its index, with `DEST_KEY = _MetaData:Index` and `FORMAT = <index>`.

Speleo reads them from `<home>/transforms.toml` when the writer starts (restart the server to
apply a change):

    [transforms.drop_debug]
    REGEX = "\\\\bDEBUG\\\\b"
    DEST_KEY = "queue"
    FORMAT = "nullQueue"

    [props."sourcetype::app"]        # or props.app, props."source::/var/log/*.log", props."host::web*"
    TRANSFORMS = ["drop_debug"]

Regexes are RE2 (pyarrow's engine: no look-around, no back-references). Events of internal
indexes are never filtered. Dropped events are counted (events and raw bytes, per licence day,
transform and index) apart from the licence record, which counts only what was indexed.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from speleo.config import check_index_name
from speleo.errors import InputError

SOURCE_KEYS = {"_raw": "_raw", "MetaData:Source": "source", "MetaData:Sourcetype": "sourcetype",
               "MetaData:Host": "host"}


@dataclass(frozen=True)
class Transform:
    """One transforms.conf stanza: `action` is "drop", "keep" (indexQueue) or "index" (route to `target`)."""

    name: str
    column: str
    regex: str
    action: str
    target: str | None = None


@dataclass(frozen=True)
class Stanza:
    """One props.conf stanza: which events (`column` matched against a glob; None: all) and its transforms."""

    column: str | None
    pattern: str
    transforms: tuple[Transform, ...]


class Filters:
    """The ingest filters of a home; `apply(events)` → (kept events, dropped counts)."""

    def __init__(self, stanzas: list[Stanza]) -> None:
        self.stanzas = stanzas

    @property
    def indexes(self) -> set[str]:
        """Indexes events may be routed to (they must exist)."""
        return {t.target for s in self.stanzas for t in s.transforms if t.action == "index" and t.target}

    def apply(self, events: pa.Table) -> tuple[pa.Table, list[tuple[str, str, int, int]]]:
        """Route and drop; returns the events to index and (transform, index, events, raw bytes) dropped."""
        n = events.num_rows
        if n == 0 or not self.stanzas:
            return events, []
        user = pc.invert(pc.starts_with(events.column("index"), "_"))
        drop = pa.array([False] * n)
        dropped_by = pa.array([None] * n, pa.string())
        index = events.column("index")
        for st in self.stanzas:
            applies = user if st.column is None else pc.and_(user, _glob(events.column(st.column), st.pattern))
            for t in st.transforms:
                hit = pc.fill_null(pc.and_(applies, pc.match_substring_regex(events.column(t.column), t.regex)), False)
                if t.action == "drop":
                    drop = pc.or_(drop, hit)
                    dropped_by = pc.if_else(hit, pa.scalar(t.name), dropped_by)
                elif t.action == "keep":
                    drop = pc.and_(drop, pc.invert(hit))
                else:
                    index = pc.if_else(hit, pa.scalar(t.target), index)
        events = events.set_column(events.schema.get_field_index("index"), "index", index)
        gone = events.filter(drop).append_column("by", dropped_by.filter(drop))
        counts = []
        if gone.num_rows:
            gone = gone.append_column("bytes", pc.binary_length(gone.column("_raw")))
            agg = gone.group_by(["by", "index"]).aggregate([("bytes", "sum"), ("bytes", "count")])
            counts = [(r["by"], r["index"], int(r["bytes_count"]), int(r["bytes_sum"] or 0)) for r in agg.to_pylist()]
        return events.filter(pc.invert(drop)), counts


def _glob(column, pattern: str):
    """Whole-value glob match (`*` any text, `?` one character) as an RE2 expression."""
    rx = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return pc.fill_null(pc.match_substring_regex(column, f"^(?s:{rx})$"), False)


def load(path: Path) -> Filters | None:
    """The filters of a `transforms.toml`, or None when the file does not exist.
    Raises InputError naming the file and stanza of anything wrong."""
    if not path.exists():
        return None
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as e:
        raise InputError(f"{path}: {e}") from e
    transforms = {name: _transform(path, name, t) for name, t in (doc.get("transforms") or {}).items()}
    stanzas = []
    for key, body in (doc.get("props") or {}).items():
        names = body.get("TRANSFORMS") or []
        names = [names] if isinstance(names, str) else names
        unknown = [x for x in names if x not in transforms]
        if unknown:
            raise InputError(f"{path}: [props.\"{key}\"] TRANSFORMS names {', '.join(unknown)}, not defined in "
                             f"[transforms.*] (defined: {', '.join(transforms) or 'none'})")
        stanzas.append(Stanza(*_stanza_target(key), tuple(transforms[x] for x in names)))
    return Filters(stanzas)


def _stanza_target(key: str) -> tuple[str | None, str]:
    if key == "*":
        return None, "*"
    for prefix, column in (("source::", "source"), ("host::", "host"), ("sourcetype::", "sourcetype")):
        if key.startswith(prefix):
            return column, key[len(prefix):]
    return "sourcetype", key


def _transform(path: Path, name: str, t: dict) -> Transform:
    where = f"{path}: [transforms.{name}]"
    regex, dest, fmt = t.get("REGEX"), t.get("DEST_KEY"), t.get("FORMAT")
    key = t.get("SOURCE_KEY", "_raw")
    if key not in SOURCE_KEYS:
        raise InputError(f"{where} SOURCE_KEY {key!r}: use one of {', '.join(SOURCE_KEYS)}")
    if not isinstance(regex, str) or not regex:
        raise InputError(f"{where}: REGEX is required")
    try:
        pc.match_substring_regex(pa.array([""]), regex)
    except pa.ArrowInvalid as e:
        raise InputError(f"{where} REGEX {regex!r} is not a valid RE2 regular expression: {e}") from e
    if dest == "queue" and fmt in ("nullQueue", "indexQueue"):
        return Transform(name, SOURCE_KEYS[key], regex, "drop" if fmt == "nullQueue" else "keep")
    if dest == "_MetaData:Index" and isinstance(fmt, str):
        if fmt.startswith("_"):
            raise InputError(f"{where} FORMAT {fmt!r}: events cannot be routed into an internal index")
        try:
            check_index_name(fmt)
        except InputError as e:
            raise InputError(f"{where} FORMAT: {e}") from e
        return Transform(name, SOURCE_KEYS[key], regex, "index", fmt)
    raise InputError(f"{where}: use DEST_KEY = \"queue\" with FORMAT = \"nullQueue\" or \"indexQueue\", "
                     "or DEST_KEY = \"_MetaData:Index\" with FORMAT = \"<index>\"")
