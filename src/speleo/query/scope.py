"""Which indexes a search may read: the searcher's roles' `srchIndexesAllowed` and
`srchIndexesDefault` (Splunk authorize.conf), applied when the plan picks buckets; and what one
search may cost (`SearchLimits`: `srchMaxTime` and Speleo's rows-read and memory limits),
applied by the engine that runs it.

Patterns are index names with `*` and `?`. As in Splunk, a pattern that does not itself start
with `_` never matches an internal index (`_internal`, `_audit`): `*` is "every index but the
internal ones", `_*` the internal ones. Since every part of a search (subsearches, `metadata`,
`eventcount`) reads the planned buckets only, leaving a bucket out of the plan is enough.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field

from speleo.errors import SpeleoError


class SearchLimitError(SpeleoError):
    """A search went beyond a limit of the searcher's roles (`SearchLimits`): the message names
    the limit, the figure and what to do (HTTP 403)."""

    status = 403
    code = "search_limit"


@dataclass(frozen=True)
class SearchLimits:
    """Per-role search limits (0: none), the largest of the searcher's roles applying (a role
    without the setting does not count; one with 0 lifts the limit).

    - `max_time_secs`: seconds a search may run (Splunk authorize.conf `srchMaxTime`); the
      embedded engine interrupts its DuckDB connection, ClickHouse gets `max_execution_time`.
    - `max_rows_read`: events a search may read (Speleo's own; ClickHouse `max_rows_to_read`):
      the embedded engine refuses a search whose planned buckets hold more, before it runs.
    - `max_memory_bytes`: memory of one search (Speleo's own; DuckDB `memory_limit` of the
      search's connection, ClickHouse `max_memory_usage`).
    - `jobs_quota`: search jobs of one user running at once (Splunk `srchJobsQuota`; 0: the
      server's default, 4).
    """

    max_time_secs: float = 0.0
    max_rows_read: int = 0
    max_memory_bytes: int = 0
    jobs_quota: int = 0

    def any(self) -> bool:
        return bool(self.max_time_secs or self.max_rows_read or self.max_memory_bytes)


NO_LIMITS = SearchLimits()


def matches(name: str, pattern: str) -> bool:
    """Index `name` matches `pattern` (internal names only match patterns starting with `_`)."""
    pattern = pattern.lower()
    if name.startswith("_") and not pattern.startswith("_"):
        return False
    return fnmatch.fnmatchcase(name, pattern)


@dataclass(frozen=True)
class IndexScope:
    """The indexes a searcher may read (`allowed`) and reads when a search names none (`default`),
    and the limits of its roles (`limits`: what one search may cost)."""

    allowed: tuple[str, ...]
    default: tuple[str, ...]
    limits: SearchLimits = field(default=NO_LIMITS)

    def permits(self, name: str) -> bool:
        return any(matches(name, p) for p in self.allowed)

    def wanted_by_default(self, name: str) -> bool:
        return self.permits(name) and any(matches(name, p) for p in self.default)

    def refused(self, named: list[str] | None) -> list[str]:
        """The plain names (no wildcard) a search named that this scope does not permit."""
        return [n for n in (named or []) if not any(c in n for c in "*?") and not self.permits(n.lower())]


def check_lookup_writes(compiled, allowed: bool) -> None:
    """Refuse a search that writes a lookup or CSV file (`outputlookup`, `outputcsv`) for a searcher without the
    `edit_lookups` capability. Raises ForbiddenError (before anything runs)."""
    from speleo.errors import ForbiddenError

    if allowed:
        return
    if any(_writes_lookup(step) for step in getattr(compiled, "post", None) or []):
        raise ForbiddenError("outputlookup and outputcsv write a file, which needs the capability 'edit_lookups'; "
                             "ask an admin for a role that has it")


def _writes_lookup(step: dict) -> bool:
    """An outputlookup or outputcsv step, or commands kept after a post step (`pipeline`) that
    hold one."""
    if step.get("kind") in ("outputlookup", "outputcsv"):
        return True
    probe = step.get("probe")
    return any(_writes_lookup(s) for s in getattr(probe, "post", None) or [])
