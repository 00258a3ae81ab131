"""ElastAlert `flatline`: fewer than `threshold` events (per key) in `timeframe`. Checked at each
`tick(now)` once `timeframe` has passed since the key's first event; keeps matching every tick
while low (the first-event marker moves back) unless `forget_keys`, which drops the key until
it is seen again. Without `query_key` the `all` key is checked even with no events at all."""

from __future__ import annotations

from speleo.alerts.rules.base import ALL, EventWindow, Rule, seconds, ts, weight


class Flatline(Rule):
    required = ("threshold", "timeframe")

    def __init__(self, options, start: float | None = None) -> None:
        super().__init__(options)
        self.timeframe = seconds(options["timeframe"], "timeframe")
        self.windows: dict = {}
        self.first: dict = {}
        if not options.get("query_key") and start is not None:
            self.first[ALL] = start
            self.windows[ALL] = EventWindow(self.timeframe)

    def add_one(self, event: dict) -> list[dict]:
        k = self.key(event)
        self.windows.setdefault(k, EventWindow(self.timeframe)).append(event, weight(event, self.use_count))
        self.first.setdefault(k, ts(event))
        return []

    def tick(self, now: float) -> list[dict]:
        out = []
        for k in list(self.windows):
            w = self.windows[k]
            w.append({"_time": now, "__placeholder": True}, 0)
            if now - self.first[k] < self.timeframe:
                continue
            count = w.count()
            if count >= float(self.o["threshold"]):
                continue
            last = next((e for e, _ in reversed(w.data) if not e.get("__placeholder")), {"_time": now})
            out.append({**last, "key": k, "count": count, "threshold": self.o["threshold"]})
            if self.o.get("forget_keys") and self.o.get("query_key"):
                del self.windows[k], self.first[k]
            else:
                oldest = ts(w.data[0][0]) if w.data else now
                self.first[k] = min(oldest, now - self.timeframe)
        return out
