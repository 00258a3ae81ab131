"""The audit trail: one helper that writes every security-relevant event into `_audit`.

`audit(runtime, who, action, **fields)` journals one event (sourcetype `audittrail`, durable when
it returns) with field names after Splunk's audit trail where Splunk has them: `action`
(`login attempt`, `logout`, `search`, `edit_user`, `edit_roles`, `indexes_edit`, `edit_monitor`...),
`info` (`succeeded`, `failed`, `granted`, `completed`, `denied`), `user`, `src` (the client
address), `search`, `search_et`/`search_lt` (the time range, epoch seconds), `total_run_time`
(seconds), `result_count`, `event_count`. Secret-looking field names are masked by
`InternalLog`; callers never pass a password. A failure to write the audit event is logged and
does not fail the request it describes.

Search it: `index=_audit sourcetype=audittrail action="login attempt" info=failed | stats count by user, src`.
"""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger("speleo.audit")


def audit(runtime, who, action: str, **fields: Any) -> None:
    """Record `action` by `who` (a `speleo.server.access.Principal`, a user name, or None)."""
    name = who if isinstance(who, str) or who is None else getattr(who, "name", str(who))
    event = {"action": action, "user": name or "-"}
    via = getattr(who, "via", None)
    if via:
        event["auth"] = via
    event.update({k: v for k, v in fields.items() if v is not None})
    internal = getattr(runtime, "internal", None)
    if internal is None:   # a server that is not started yet (tests building the app alone)
        log.warning("audit event not written (no internal log): %s", action)
        return
    try:
        internal.emit("_audit", "audittrail", event, component="AuditLogger")
    except Exception:  # noqa: BLE001 - the audit trail must not take the request down
        log.exception("could not write an audit event (%s)", action)


def client_address(request) -> str:
    """The client address of a request as the server saw it (proxies are not trusted)."""
    return request.client.host if request.client else "unknown"
