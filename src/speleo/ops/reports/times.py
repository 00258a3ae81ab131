"""Report time bounds: epoch seconds, ISO 8601 or a relative `-30d` (s, m, h, d, w) from now."""

from __future__ import annotations

import datetime as dt
import re

from speleo.errors import InputError

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_RELATIVE = re.compile(r"^-(\d+)([smhdw])$")


def parse_time(value, now: float, field: str = "time") -> float | None:
    """Epoch seconds UTC from `value` (None stays None): a number, ISO 8601 (UTC when no zone is
    given) or `-<n><unit>` before `now`. Raises InputError naming `field` otherwise."""
    if value is None or value == "":
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    text = str(value).strip()
    try:
        return float(text)
    except ValueError:
        pass
    m = _RELATIVE.match(text)
    if m:
        return now - int(m.group(1)) * _UNITS[m.group(2)]
    try:
        t = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InputError(f"{field}: '{text}' is not a time; give epoch seconds, ISO 8601 "
                         "(2026-12-04T08:00:00Z) or a relative time such as -30d") from None
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.timezone.utc)
    return t.timestamp()
