"""ElastAlert `spike`, and a seasonal spike (same hour of previous weeks).

`Spike`: two chained windows per key: events enter *cur*; what *cur* evicts enters *ref*.
No evaluation until `2 × timeframe` has passed since the key's first event. Reject when
`cur < threshold_cur` or `ref < threshold_ref`; up-spike when `cur ≥ ref × spike_height`,
down-spike when `cur ≤ ref / spike_height`. After a match the ref window is cleared and the
key waits another `2 × timeframe`. As in ElastAlert, `ref = 0` can be an up-spike and `cur = 0`
a down-spike; unlike it, Speleo never fires when both are 0 [Decision, spec §1.11].

`seasonal_spike`: the reference is the mean count of the same window in each of the previous
`weeks` weeks (for "a sudden large increase in logs from a firewall" at an hour whose volume
varies by time of day and weekday) [Speleo extension].
"""

from __future__ import annotations

from speleo.alerts.rules.base import EventWindow, Rule, seconds, ts, weight

WEEK = 7 * 86400.0


def is_spike(cur: float, ref: float, height: float, kind: str, threshold_cur: float = 0,
             threshold_ref: float = 0) -> str | None:
    """"up", "down" or None."""
    if cur < threshold_cur or ref < threshold_ref or (cur == 0 and ref == 0):
        return None
    if kind in ("up", "both") and cur >= ref * height:
        return "up"
    if kind in ("down", "both") and cur <= ref / height:
        return "down"
    return None


class Spike(Rule):
    required = ("timeframe", "spike_height", "spike_type")

    def __init__(self, options) -> None:
        super().__init__(options)
        self.timeframe = seconds(options["timeframe"], "timeframe")
        self.cur: dict = {}
        self.ref: dict = {}
        self.first: dict = {}

    def _windows(self, k):
        if k not in self.cur:
            self.ref[k] = EventWindow(self.timeframe)
            self.cur[k] = EventWindow(self.timeframe, on_evict=lambda pair, k=k: self.ref[k].append(*pair))
        return self.cur[k], self.ref[k]

    def add_one(self, event: dict) -> list[dict]:
        k = self.key(event)
        cur, ref = self._windows(k)
        t = ts(event)
        self.first.setdefault(k, t)
        cur.append(event, weight(event, self.use_count))
        if t - self.first[k] < 2 * self.timeframe:
            return []
        kind = is_spike(cur.count(), ref.count(), float(self.o["spike_height"]), self.o["spike_type"],
                        float(self.o.get("threshold_cur") or 0), float(self.o.get("threshold_ref") or 0))
        if kind is None:
            return []
        match = {**event, "spike_count": cur.count(), "reference_count": ref.count(), "spike_direction": kind,
                 "key": k}
        ref.clear()
        self.first[k] = t
        return [match]


def seasonal_spike(buckets: list[dict], now: float, options: dict) -> dict | None:
    """`buckets`: rows with `_time` and `count` (e.g. `timechart span=1h count`) covering the
    last `weeks` weeks. Compares the count in [now - timeframe, now) with the mean of the same
    window 1..`weeks` weeks earlier. Returns the match or None."""
    tf = seconds(options["timeframe"], "timeframe")
    weeks = int(options.get("weeks") or 4)

    def total(start: float, end: float) -> float:
        return sum(weight(b, True) for b in buckets if start <= ts(b) < end)

    cur = total(now - tf, now)
    refs = [total(now - k * WEEK - tf, now - k * WEEK) for k in range(1, weeks + 1)]
    ref = sum(refs) / len(refs)
    kind = is_spike(cur, ref, float(options["spike_height"]), options.get("spike_type", "up"),
                    float(options.get("threshold_cur") or 0), float(options.get("threshold_ref") or 0))
    if kind is None:
        return None
    return {"_time": now, "spike_count": cur, "reference_count": ref, "reference_weeks": refs,
            "spike_direction": kind}
