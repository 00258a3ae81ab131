"""The options of one fschange input, with Splunk's inputs.conf names where they exist.

Source: Splunk inputs.conf.spec, `[fschange:<path>]` (pollPeriod, hashMaxSize, recurse,
followLinks, signedaudit, filters, sourcetype, host, index).
"""

from __future__ import annotations

import fnmatch
import json
import re
from dataclasses import asdict, dataclass, field

from speleo.errors import InputError

HASH_ALGOS = ("sha256", "none")


@dataclass(frozen=True)
class Filter:
    """One filter: `glob` matched against the path relative to the watched folder (`*` also
    matches `/`) or, for a glob without `/`, against the file name; with `regex`, a regular
    expression searched in the relative path (Splunk's `[filter:...]` `regexN`). `allow=True`
    is Splunk's `whitelist` (kept), else `blacklist` (skipped)."""

    glob: str
    allow: bool = False
    regex: bool = False

    def matches(self, rel: str, name: str) -> bool:
        if self.regex:
            return re.search(self.glob, rel) is not None
        target = rel if "/" in self.glob else name
        return fnmatch.fnmatchcase(target, self.glob)

    def text(self) -> str:
        return ("+" if self.allow else "") + ("re:" if self.regex else "") + self.glob

    @classmethod
    def parse(cls, text: str) -> "Filter":
        """`GLOB` skips matching paths; `+GLOB` keeps only matching files; `re:REGEX` and
        `+re:REGEX` take a regular expression. Raises InputError."""
        allow = text.startswith("+")
        body = text[1:] if allow or text.startswith("-") else text
        regex = body.startswith("re:")
        body = body[3:] if regex else body
        if not body.strip():
            raise InputError(f"--filter {text!r} is empty: give a glob such as '*.swp' (skip) or '+*.conf' (keep only)")
        if regex:
            try:
                re.compile(body)
            except re.error as e:
                raise InputError(f"filter {body!r} is not a valid regular expression: {e}") from e
        return cls(body, allow, regex)


@dataclass(frozen=True)
class FsChangeSettings:
    """Everything that decides what one input sees and emits.

    `poll_period_secs`: seconds between full rescans (Splunk `pollPeriod`, default 3600; inotify
    reports most changes sooner). `hash_algo`: "sha256" or "none". `hash_max_size`: largest file
    hashed, in bytes (-1: no limit when hashing is on; Splunk `hashMaxSize`). `emit_baseline`:
    False (Speleo's default) records the first scan as a baseline with one summary event; True
    sends one `add` per existing file as Splunk does on its very first start.
    """

    poll_period_secs: float = 3600.0
    hash_algo: str = "sha256"
    hash_max_size: int = -1
    recurse: bool = True
    filters: tuple[Filter, ...] = field(default_factory=tuple)
    emit_baseline: bool = False
    signedaudit: bool = False

    def __post_init__(self) -> None:
        if self.hash_algo not in HASH_ALGOS:
            raise InputError(f"hash {self.hash_algo!r} is not supported: use one of {', '.join(HASH_ALGOS)}")
        if not self.poll_period_secs > 0:
            raise InputError(f"poll period must be a positive number of seconds, not {self.poll_period_secs}")

    @property
    def hashing(self) -> bool:
        return self.hash_algo != "none" and self.hash_max_size != 0

    def wants_hash(self, size: int) -> bool:
        return self.hashing and (self.hash_max_size < 0 or size <= self.hash_max_size)

    def keeps(self, rel: str, name: str, is_dir: bool) -> bool:
        """Whether a path passes the filters, tried left to right (the first match decides).

        A directory is only ever skipped by a deny filter (allow filters name files; the walk
        still descends to find them). A file no filter matches is kept unless the input has
        allow filters."""
        for f in self.filters:
            if f.allow and is_dir:
                continue
            if f.matches(rel, name):
                return f.allow
        return is_dir or not any(f.allow for f in self.filters)

    def to_json(self) -> str:
        d = asdict(self)
        d["filters"] = [f.text() for f in self.filters]
        return json.dumps(d, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "FsChangeSettings":
        d = json.loads(text)
        d["filters"] = tuple(Filter.parse(f) for f in d.get("filters", []))
        return cls(**d)
