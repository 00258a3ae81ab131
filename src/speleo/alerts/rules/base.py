"""Shared machinery of the ElastAlert rule types (semantics read from ElastAlert 2's
`elastalert/ruletypes.py`; spec §1.11): options with their requirements, `query_key`
grouping, and the event window.

Events are dicts with `_time` in epoch seconds (a number, or ISO 8601 text) and any fields;
count-mode inputs (a `stats count` or `timechart count` result) carry a `count` field that
is used as the event's weight. Rules only consume lists: `add(events)` returns the matches
those events produce, `tick(now)` the matches of the passage of time (flatline).
"""

from __future__ import annotations

import datetime as dt
from collections import deque
from typing import Any

from speleo.errors import InputError

ALL = "all"
MISSING = "_missing"


def ts(event: dict) -> float:
    v = event.get("_time")
    if isinstance(v, (int, float)):
        return float(v)
    try:
        return dt.datetime.fromisoformat(str(v)).timestamp()
    except (TypeError, ValueError):
        raise InputError(f"an event has no usable _time ({v!r})") from None


def weight(event: dict, use_count: bool) -> float:
    if not use_count:
        return 1.0
    try:
        return float(event.get("count") or 0)
    except (TypeError, ValueError):
        return 0.0


class EventWindow:
    """(event, count) pairs in time order; after each insert the oldest are evicted while
    `ts(newest) - ts(oldest) >= timeframe`, so the span kept is always < timeframe (two
    events exactly `timeframe` apart are never in one window). Evicted pairs go to `on_evict`."""

    def __init__(self, timeframe: float, on_evict=None) -> None:
        self.timeframe = timeframe
        self.data: deque[tuple[dict, float]] = deque()
        self.running = 0.0
        self.on_evict = on_evict

    def append(self, event: dict, count: float) -> None:
        t = ts(event)
        if self.data and t < ts(self.data[-1][0]):   # out of order: insert in place
            items = sorted([*self.data, (event, count)], key=lambda p: ts(p[0]))
            self.data = deque(items)
        else:
            self.data.append((event, count))
        self.running += count
        self.evict()

    def evict(self) -> None:
        while self.data and ts(self.data[-1][0]) - ts(self.data[0][0]) >= self.timeframe:
            old = self.data.popleft()
            self.running -= old[1]
            if self.on_evict:
                self.on_evict(old)

    def count(self) -> float:
        return self.running

    def clear(self) -> None:
        self.data.clear()
        self.running = 0.0


class Rule:
    """A rule type: `required` options, the options dict, `query_key` grouping."""

    required: tuple[str, ...] = ()

    def __init__(self, options: dict[str, Any]) -> None:
        missing = [k for k in self.required if options.get(k) in (None, "", [])]
        if missing:
            raise InputError(f"rule type {type(self).__name__.lower()}: missing {', '.join(missing)}")
        self.o = options
        self.use_count = bool(options.get("use_count_query") or options.get("use_terms_query"))

    def key(self, event: dict) -> Any:
        qk = self.o.get("query_key")
        if not qk:
            return ALL
        keys = qk if isinstance(qk, list) else [qk]
        vals = tuple(MISSING if event.get(k) in (None, "") else str(event.get(k)) for k in keys)
        return vals[0] if len(vals) == 1 else vals

    def add(self, events: list[dict]) -> list[dict]:
        out: list[dict] = []
        for e in sorted(events, key=ts):
            out.extend(self.add_one(e))
        return out

    def add_one(self, event: dict) -> list[dict]:
        raise NotImplementedError

    def tick(self, now: float) -> list[dict]:
        return []


def seconds(value: Any, name: str) -> float:
    """A timeframe: seconds, or ElastAlert's {minutes: 5} / {hours: 1} dict."""
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, dict):
        units = {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86400, "weeks": 604800}
        return float(sum(units[k] * float(v) for k, v in value.items()))
    from speleo.alerts.spec import duration_secs

    return duration_secs(value, name)
