"""ElastAlert `frequency`: at least `num_events` events (per `query_key`) within `timeframe`.
The match is the newest event; the key's window is then discarded, so counting restarts."""

from __future__ import annotations

from speleo.alerts.rules.base import EventWindow, Rule, seconds


class Frequency(Rule):
    required = ("num_events", "timeframe")

    def __init__(self, options) -> None:
        super().__init__(options)
        self.timeframe = seconds(options["timeframe"], "timeframe")
        self.windows: dict = {}

    def add_one(self, event: dict) -> list[dict]:
        from speleo.alerts.rules.base import weight

        k = self.key(event)
        w = self.windows.setdefault(k, EventWindow(self.timeframe))
        w.append(event, weight(event, self.use_count))
        if w.count() >= float(self.o["num_events"]):
            del self.windows[k]
            return [{**event, "num_hits": w.count(), "key": k}]
        return []
