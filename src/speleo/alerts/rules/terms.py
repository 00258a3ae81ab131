"""ElastAlert `new_term`, `change` and `cardinality`.

- `new_term`: values of `fields` seen in the history (`terms_window_size`, 30 days) are
  known; each later value not yet seen matches once and becomes known. Falsy values are never
  terms; `alert_on_missing_field` makes a missing value a match (`missing_field`). A composite
  field (a list of names) is the tuple of their values.
- `change`: per `query_key`, the last values of `compare_key`; a differing value matches
  (`old_value`, `new_value`); the first occurrence never does; `ignore_null` makes an event
  with any falsy compared value ineligible; with `timeframe` only a change within it counts.
- `cardinality`: per key, distinct `cardinality_field` values seen within `timeframe`; above
  `max_cardinality` every event matches while it stays above (repeats included); below
  `min_cardinality` matches once strictly more than `timeframe` has passed since the key's
  first event (then that clock restarts).
"""

from __future__ import annotations

from speleo.alerts.rules.base import Rule, seconds, ts


def _value(event: dict, field):
    if isinstance(field, list):
        vals = tuple(event.get(f) for f in field)
        return None if any(v in (None, "", [], 0) for v in vals) else vals
    v = event.get(field)
    return None if v in (None, "", [], 0) else v


class NewTerm(Rule):
    required = ("fields",)

    def __init__(self, options, history: list[dict] | None = None) -> None:
        super().__init__(options)
        fields = options["fields"]
        self.fields = fields if isinstance(fields, list) else [fields]
        self.seen: dict[str, set] = {self._name(f): set() for f in self.fields}
        for e in history or []:
            for f in self.fields:
                v = _value(e, f)
                if v is not None:
                    self.seen[self._name(f)].add(v)

    @staticmethod
    def _name(f) -> str:
        return ",".join(f) if isinstance(f, list) else f

    def add_one(self, event: dict) -> list[dict]:
        out = []
        for f in self.fields:
            name, v = self._name(f), _value(event, f)
            if v is None:
                if self.o.get("alert_on_missing_field"):
                    out.append({**event, "missing_field": name})
                continue
            if v not in self.seen[name]:
                self.seen[name].add(v)
                out.append({**event, "new_field": name, "new_value": list(v) if isinstance(v, tuple) else v})
        return out


class Change(Rule):
    required = ("compare_key", "query_key")

    def __init__(self, options) -> None:
        super().__init__(options)
        ck = options["compare_key"]
        self.compare = ck if isinstance(ck, list) else [ck]
        self.timeframe = seconds(options["timeframe"], "timeframe") if options.get("timeframe") else None
        self.last: dict = {}

    def add_one(self, event: dict) -> list[dict]:
        values = [event.get(k) for k in self.compare]
        if self.o.get("ignore_null") and any(not v for v in values):
            return []
        k = self.key(event)
        prev = self.last.get(k)
        self.last[k] = (values, ts(event))
        if prev is None or prev[0] == values:
            return []
        if self.timeframe is not None and ts(event) - prev[1] > self.timeframe:
            return []
        return [{**event, "old_value": prev[0], "new_value": values, "key": k}]


class Cardinality(Rule):
    required = ("timeframe", "cardinality_field")

    def __init__(self, options) -> None:
        super().__init__(options)
        if options.get("max_cardinality") is None and options.get("min_cardinality") is None:
            raise ValueError("cardinality needs max_cardinality or min_cardinality")
        self.timeframe = seconds(options["timeframe"], "timeframe")
        self.values: dict = {}
        self.first: dict = {}

    def add_one(self, event: dict) -> list[dict]:
        k, t = self.key(event), ts(event)
        seen = self.values.setdefault(k, {})
        self.first.setdefault(k, t)
        v = event.get(self.o["cardinality_field"])
        if v not in (None, ""):
            seen[str(v)] = t
        for old in [x for x, last in seen.items() if t - last > self.timeframe]:
            del seen[old]
        n = len(seen)
        hi, lo = self.o.get("max_cardinality"), self.o.get("min_cardinality")
        if hi is not None and n > int(hi):
            return [{**event, "cardinality": n, "key": k}]
        if lo is not None and n < int(lo) and t - self.first[k] > self.timeframe:
            self.first[k] = t
            return [{**event, "cardinality": n, "key": k}]
        return []
