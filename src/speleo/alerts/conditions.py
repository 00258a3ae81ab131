"""Trigger conditions: what a run measures and whether it triggers (pure functions).

Splunk savedsearches.conf.spec (`counttype`, `relation`, `quantity`, `alert_condition`) and
the REST `alert_type`, `alert_comparator`, `alert_threshold`:

| alert_type        | measured value                                           |
| always            | none: every successful run triggers                      |
| number of events  | the number of results of the run (Splunk UI "Number of Results") |
| number of hosts   | distinct non-empty `host` values in the results           |
| number of sources | distinct non-empty `source` values in the results         |
| custom            | `alert_condition` run over the results: triggers on >= 1 row |

Comparators compare the measure `v` with the threshold `q`; "rises by" / "drops by" compare
with `p`, the same measure of the previous successful run of the same saved search (Splunk
keeps two artifacts, `dispatch.ttl = 2p`, for this). Speleo's choices where Splunk's
documentation is silent: `rises by q` means `v - p >= q`; the first run after creation or an
edit never triggers (there is no `p`); a previous value of 0 never triggers a percentage
comparator and the run record says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable


@dataclass(frozen=True)
class Outcome:
    """The decision for one run: `triggered`, and `reason` (always said, for the run record)."""

    triggered: bool
    reason: str


def _distinct(rows: Iterable[dict], name: str) -> int:
    seen = set()
    for r in rows:
        v = r.get(name)
        for x in v if isinstance(v, list) else [v]:
            if x not in (None, ""):
                seen.add(str(x))
    return len(seen)


def measure(alert_type: str, rows: list[dict], result_count: int | None = None) -> float | None:
    """The value a run is judged by (None for `always` and `custom`).

    `result_count`: the run's full result count when `rows` holds only the first ones."""
    if alert_type == "number of events":
        return float(len(rows) if result_count is None else result_count)
    if alert_type == "number of hosts":
        return float(_distinct(rows, "host"))
    if alert_type == "number of sources":
        return float(_distinct(rows, "source"))
    return None


def _pct(v: float, p: float) -> float:
    return (v - p) / p * 100.0


# comparator -> (needs the previous value, percentage, test(v, p, q))
COMPARATORS: dict[str, tuple[bool, bool, Callable[[float, float | None, float], bool]]] = {
    "greater than": (False, False, lambda v, p, q: v > q),
    "less than": (False, False, lambda v, p, q: v < q),
    "equal to": (False, False, lambda v, p, q: v == q),
    "not equal to": (False, False, lambda v, p, q: v != q),
    "rises by": (True, False, lambda v, p, q: v - p >= q),
    "drops by": (True, False, lambda v, p, q: p - v >= q),
    "rises by perc": (True, True, lambda v, p, q: _pct(v, p) >= q),
    "drops by perc": (True, True, lambda v, p, q: -_pct(v, p) >= q),
}


def compare(comparator: str, value: float, threshold: float, previous: float | None) -> Outcome:
    """Apply one comparator. Raises KeyError for an unknown comparator (validated at creation)."""
    needs_prev, percent, test = COMPARATORS[comparator]
    shown = f"{_num(value)} {comparator} {_num(threshold)}{'%' if percent else ''}"
    if needs_prev and previous is None:
        return Outcome(False, f"not triggered: no previous run to compare with (the first run after the alert "
                              f"was created or edited never triggers '{comparator}'); measured {_num(value)}")
    if percent and previous == 0:
        return Outcome(False, f"not triggered: the previous run measured 0, so a change in percent cannot be "
                              f"computed ('{comparator}' needs a non-zero previous value); measured {_num(value)}")
    hit = test(value, previous, threshold)
    against = f" (previous {_num(previous)})" if needs_prev else ""
    return Outcome(hit, f"{'triggered' if hit else 'not triggered'}: {shown}{against}")


def evaluate(alert_type: str, comparator: str, threshold: float | None, value: float | None,
             previous: float | None, condition_rows: int | None = None) -> Outcome:
    """Whether a successful run triggers. `condition_rows`: rows returned by `alert_condition`
    (when set, Splunk ignores alert_type/comparator/threshold)."""
    if condition_rows is not None:
        hit = condition_rows > 0
        return Outcome(hit, f"{'triggered' if hit else 'not triggered'}: alert_condition returned {condition_rows} "
                            f"row{'s' if condition_rows != 1 else ''}")
    if alert_type == "always" or value is None:
        return Outcome(True, "triggered: alert_type is always")
    return compare(comparator, value, float(threshold or 0), previous)


def _num(v: float | None) -> str:
    if v is None:
        return "none"
    return str(int(v)) if float(v).is_integer() else f"{v:g}"
