"""Report time bounds: the one time-bound parser of the CLI, API and web page
(`speleo.query.timefmt.to_epoch`: epoch seconds, ISO 8601, Splunk relative times such as
`-30d` or `-7d@d`), read in UTC, with errors that name the parameter."""

from __future__ import annotations

import datetime as dt

from speleo.errors import InputError, SpeleoError
from speleo.query.timefmt import to_epoch


def parse_time(value, now: float, field: str = "time") -> float | None:
    """Epoch seconds UTC from `value` (None, "" or 0: None, no bound). Raises InputError naming `field`."""
    try:
        return to_epoch(value, now, dt.timezone.utc)
    except SpeleoError as e:
        raise InputError(f"{field}: '{value}' is not a time ({e}); give epoch seconds, ISO 8601 "
                         "(2026-12-04T08:00:00Z) or a relative time such as -30d") from None
