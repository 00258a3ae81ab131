"""Events from one JSON document holding a list of records (AWS CloudTrail's delivered files,
`{"Records": [{...}, {...}]}`): each record becomes one event, its `_raw` the record's own text.

Pure: `split_records` finds each record with `json.JSONDecoder.raw_decode`, so a record's text
and byte offset are those of the file (nothing is re-serialised).
"""

from __future__ import annotations

import json
import re

MAX_DOCUMENT_BYTES = 64 * 1024 * 1024  # a larger document is broken into lines as any other file
_DECODER = json.JSONDecoder()
_SPACE = re.compile(r"\s*")


def is_records_document(data: bytes, key: str) -> bool:
    """True when `data` starts as a JSON object whose first key is `key` holding a list."""
    return re.match(rb'\s*\{\s*"' + re.escape(key.encode()) + rb'"\s*:\s*\[', data[:256]) is not None


def split_records(text: str, key: str) -> list[tuple[int, str]] | None:
    """[(character offset, record text)] of the list `key` of the JSON object `text`, or None
    when `text` is not such an object (then it is broken into lines as usual). Whitespace
    around records is left out; the other keys of the object are ignored."""
    head = re.match(r'\s*\{\s*"' + re.escape(key) + r'"\s*:\s*\[', text)
    if head is None:
        return None
    pos, out = head.end(), []
    while True:
        pos = _SPACE.match(text, pos).end()
        if text.startswith("]", pos):
            return out
        try:
            _, end = _DECODER.raw_decode(text, pos)
        except ValueError:
            return None
        out.append((pos, text[pos:end]))
        pos = _SPACE.match(text, end).end()
        if text.startswith(",", pos):
            pos += 1
        elif not text.startswith("]", pos):
            return None


def byte_offsets(text: str, char_offsets: list[int]) -> list[int]:
    """The UTF-8 byte offset of each (increasing) character offset of `text`."""
    out, done, size = [], 0, 0
    for c in char_offsets:
        size += len(text[done:c].encode("utf-8"))
        done = c
        out.append(size)
    return out
