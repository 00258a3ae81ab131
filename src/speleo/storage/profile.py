"""What kinds of events a bucket holds, so searches extract fields only the ways that can apply.

A profile is written to the catalog with each bucket (column `buckets.profile`, JSON text):

    {"sourcetypes": ["kv", "syslog"], "fields": false, "json": true, "null_sourcetype": false}

- `sourcetypes`: the distinct `sourcetype` values of its events;
- `null_sourcetype`: whether an event has no sourcetype (no sourcetype's regexes apply to it, so
  one sourcetype in `sourcetypes` does not mean every event has it); a profile written without
  this key reads as true;
- `fields`: whether any event has indexed fields (`_fields` not null: HEC `fields`, syslog);
- `json`: whether any event's `_raw` starts with `{` (a JSON object).

The query layer reads the profiles of the buckets a search reads and drops the extraction
branches no event can take (`query.fields.field_sql_for(..., profile=)`). A bucket written before
profiles existed has none (NULL), and then every branch stays.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc


@dataclass(frozen=True)
class Profile:
    """The union of what some buckets hold (see the module docstring)."""

    sourcetypes: frozenset[str]
    fields: bool
    json: bool
    null_sourcetype: bool = False

    def to_text(self) -> str:
        return json.dumps({"sourcetypes": sorted(self.sourcetypes), "fields": self.fields, "json": self.json,
                           "null_sourcetype": self.null_sourcetype})


def of_table(events: pa.Table) -> Profile:
    """The profile of an event table (EVENT_SCHEMA columns)."""
    sts = pc.unique(events.column("sourcetype").combine_chunks()).to_pylist()
    fields = events.column("_fields")
    raw = events.column("_raw")
    has_json = events.num_rows > 0 and bool(pc.any(pc.starts_with(raw, "{")).as_py())
    return Profile(frozenset(s for s in sts if s is not None), fields.null_count < len(fields), has_json,
                   None in sts)


def parse(text: str | None) -> Profile | None:
    """A profile from its catalog text; None for a bucket without one (or unreadable text)."""
    if not text:
        return None
    try:
        d = json.loads(text)
        return Profile(frozenset(d["sourcetypes"]), bool(d["fields"]), bool(d["json"]),
                       bool(d.get("null_sourcetype", True)))
    except (ValueError, KeyError, TypeError):
        return None


def union(profiles: Iterable[Profile | None]) -> Profile | None:
    """What a set of buckets holds together; None when one of them has no profile."""
    sts: set[str] = set()
    fields = has_json = null_st = False
    for p in profiles:
        if p is None:
            return None
        sts |= p.sourcetypes
        fields, has_json, null_st = fields or p.fields, has_json or p.json, null_st or p.null_sourcetype
    return Profile(frozenset(sts), fields, has_json, null_st)
