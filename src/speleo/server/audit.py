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

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from speleo.errors import InputError
from speleo.server.access import ADMIN_ALL, Principal, require

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


# Actions a local command may report through `POST /api/v1/audit` (changes it made to the home
# directly, e.g. `speleo token create` while a server runs and holds the journal).
REPORTABLE = ("edit_monitor", "edit_token_http", "indexes_edit", "edit_user", "edit_roles", "delete_by_keyword")
MAX_REPORTED_FIELDS = 20


class Reported(BaseModel):
    """The body of `POST /api/v1/audit`."""

    action: str
    info: str = Field("", max_length=200)
    fields: dict[str, str | int | float | bool | None] = Field(default_factory=dict)


def audit_router(runtime):
    """`POST /api/v1/audit` {action, info, fields}: an administrative change a local command
    made, recorded with the caller as `user` and `origin=cli` (capability admin_all_objects)."""
    r = APIRouter(tags=["audit"])

    @r.post("/api/v1/audit", status_code=201)
    async def report(body: Reported, request: Request, who: Principal = Depends(require(ADMIN_ALL))) -> dict:
        if body.action not in REPORTABLE:
            raise InputError(f"action {body.action!r}: one of {', '.join(REPORTABLE)}")
        if len(body.fields) > MAX_REPORTED_FIELDS:
            raise InputError(f"at most {MAX_REPORTED_FIELDS} fields")
        reserved = {"action", "user", "auth", "origin", "src", "info", "index", "host", "source", "sourcetype"}
        fields = {k[:64]: v for k, v in body.fields.items() if k not in reserved}
        audit(runtime, who, body.action, info=body.info, origin="cli", src=client_address(request), **fields)
        return {"recorded": True}

    return r
