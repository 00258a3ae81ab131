"""ElastAlert rule types over result lists (spec §1.11): frequency, spike (and a seasonal
spike against the same hour of previous weeks), flatline, new_term, change, cardinality.

`build(type, options, **kw)` makes a rule; rules are pure: they only consume lists of events
(dicts with `_time`) and return matches, and are tested without a server.
"""

from __future__ import annotations

from speleo.alerts.rules.base import Rule
from speleo.alerts.rules.flatline import Flatline
from speleo.alerts.rules.frequency import Frequency
from speleo.alerts.rules.spike import Spike, seasonal_spike
from speleo.alerts.rules.terms import Cardinality, Change, NewTerm
from speleo.errors import InputError

RULE_TYPES: dict[str, type[Rule]] = {"frequency": Frequency, "spike": Spike, "flatline": Flatline,
                                     "new_term": NewTerm, "change": Change, "cardinality": Cardinality}

__all__ = ["RULE_TYPES", "Rule", "build", "seasonal_spike", "Frequency", "Spike", "Flatline", "NewTerm", "Change",
           "Cardinality"]


def build(kind: str, options: dict, **kw) -> Rule:
    """A rule of type `kind`. Raises InputError for an unknown type or a missing option."""
    cls = RULE_TYPES.get(kind)
    if cls is None:
        raise InputError(f"unknown rule type {kind!r} (known: {', '.join(sorted(RULE_TYPES))})")
    try:
        return cls(options, **kw)
    except ValueError as e:
        raise InputError(str(e)) from e
