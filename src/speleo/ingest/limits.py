"""Bounds on what network clients may make the server hold before they are authenticated, and
the counters of what was refused because of them.

Every listener (the API, HEC, syslog TCP/TLS) has a `ConnectionGuard`: at most
`max_connections` open connections (one more is refused at once and counted), and a
connection that sends nothing for `idle_secs` while the server waits for it is closed (counted).
`Refusals` keeps the counts per (source, reason) in memory, thread-safe; the server shows them
live in its status (`server.network.refused`) and adds them to the catalog's problem counters
(`speleo status`) every second (`drain()`).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

DEFAULT_MAX_CONNECTIONS = 1000
DEFAULT_IDLE_SECS = 300.0
TLS_HANDSHAKE_SECS = 10.0


@dataclass(frozen=True)
class ConnectionLimits:
    """Per listener: open connections at most, and seconds a connection may stay silent while
    the server waits for it (headers, body, the next syslog frame, a TLS handshake's end)."""

    max_connections: int = DEFAULT_MAX_CONNECTIONS
    idle_secs: float = DEFAULT_IDLE_SECS
    tls_handshake_secs: float = TLS_HANDSHAKE_SECS


class Refusals:
    """Counters of refused or dropped input: (source, reason) -> count, since the start, plus
    the part not yet written to the catalog."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._total: dict[tuple[str, str], int] = {}
        self._undrained: dict[tuple[str, str], int] = {}

    def count(self, source: str, reason: str, n: int = 1) -> None:
        key = (source, reason)
        with self._lock:
            self._total[key] = self._total.get(key, 0) + n
            self._undrained[key] = self._undrained.get(key, 0) + n

    def snapshot(self) -> list[dict]:
        """[{source, reason, count}] since the start, sorted by source then reason."""
        with self._lock:
            items = sorted(self._total.items())
        return [{"source": s, "reason": r, "count": n} for (s, r), n in items]

    def drain(self) -> list[tuple[str, str, int]]:
        """(source, reason, count) counted since the last drain; resets them."""
        with self._lock:
            out, self._undrained = self._undrained, {}
        return [(s, r, n) for (s, r), n in out.items()]


class ConnectionGuard:
    """Open connections of one listener (`source`, e.g. `hec:8088`, `tcp:5514`) against its
    limit. `admit()` before serving a connection (False: refuse it, already counted),
    `release()` when an admitted one closes; `idle(reason)` counts a connection closed for silence."""

    def __init__(self, source: str, limits: ConnectionLimits, refusals: Refusals) -> None:
        self.source = source
        self.limits = limits
        self.refusals = refusals
        self.open = 0
        self._lock = threading.Lock()

    def admit(self) -> bool:
        with self._lock:
            full = self.open >= self.limits.max_connections
            if not full:
                self.open += 1
        if full:
            self.refusals.count(self.source, f"connection refused: {self.limits.max_connections} already open")
        return not full

    def release(self) -> None:
        with self._lock:
            self.open -= 1

    def idle(self, what: str = "no data") -> None:
        self.refusals.count(self.source, f"connection closed: {what} for {self.limits.idle_secs:g}s")

    def status(self) -> dict:
        return {"source": self.source, "open": self.open, "max": self.limits.max_connections,
                "idle_secs": self.limits.idle_secs}


class MemoryBudget:
    """Bytes of request bodies held at once across all requests of a listener (as received and
    once decompressed): `hold()` gives a per-request `Held` whose `take(n)` fails (False) when
    the budget is spent, and whose `release()` gives everything back when the request is done."""

    def __init__(self, limit_bytes: int) -> None:
        self.limit = limit_bytes
        self.used = 0
        self._lock = threading.Lock()

    def hold(self) -> "Held":
        return Held(self)

    def _take(self, n: int) -> bool:
        with self._lock:
            if self.used + n > self.limit:
                return False
            self.used += n
            return True

    def _give(self, n: int) -> None:
        with self._lock:
            self.used -= n


class Held:
    """What one request holds of a `MemoryBudget`."""

    def __init__(self, budget: MemoryBudget) -> None:
        self.budget = budget
        self.bytes = 0

    def take(self, n: int) -> bool:
        if not self.budget._take(n):
            return False
        self.bytes += n
        return True

    def release(self) -> None:
        self.budget._give(self.bytes)
        self.bytes = 0
