"""Finding and calling a running server of the same home from the CLI."""

from __future__ import annotations

import json
import os

from speleo.config import Home
from speleo.errors import SpeleoError, SplError
from speleo.server.auth import ensure_api_token


def server_url(home: Home) -> str | None:
    """The URL of the home's running server, or None when none runs (stale files ignored)."""
    try:
        info = json.loads(home.server_file.read_text())
        os.kill(int(info["pid"]), 0)
    except (OSError, ValueError, KeyError):
        return None
    return info.get("url")


def _trust(home: Home):
    """TLS verification of the home's own server (`speleo serve --tls-cert`): its certificate
    file, named in server.json, is the trust anchor (any name: the CLI reaches it by address);
    without it, the system's CAs."""
    import ssl

    try:
        cert = json.loads(home.server_file.read_text()).get("tls_cert")
    except (OSError, ValueError):
        cert = None
    if not cert:
        return True
    ctx = ssl.create_default_context(cafile=cert)
    ctx.check_hostname = False
    ctx.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN   # the server's own (leaf) certificate is trusted
    return ctx


class RemoteError(SpeleoError):
    """An error the server answered with; keeps its status and JSON body."""

    def __init__(self, status: int, body: dict) -> None:
        err = body.get("error", {}) if isinstance(body, dict) else {}
        super().__init__(err.get("message") or str(body))
        self.status = status
        self.body = err


def call(home: Home, method: str, path: str, payload: dict | None = None, timeout: float = 3600.0) -> dict:
    """Call the server's API with the home's token; raises RemoteError on an error answer."""
    import httpx  # here: commands that call no server (speleo forward) stay light

    url = server_url(home)
    if url is None:
        raise SpeleoError("no server is running for this home")
    headers = {"Authorization": f"Bearer {ensure_api_token(home)}"}
    resp = httpx.request(method, url + path, json=payload, headers=headers, timeout=timeout,
                         verify=_trust(home) if url.startswith("https:") else True)
    body = resp.json() if resp.content else {}
    if resp.status_code >= 400:
        err = body.get("error", {}) if isinstance(body, dict) else {}
        if err.get("code", "").startswith("spl"):
            raise SplError(err.get("message", ""), "", 0)
        raise RemoteError(resp.status_code, body)
    return body


class Unreachable(SpeleoError):
    """The server named in server.json did not answer (it may be stopping): search locally instead."""


def call_light(home: Home, method: str, path: str, payload: dict | None = None, timeout: float = 3600.0) -> dict:
    """`call` over the standard library's http.client (no httpx: `speleo search` through a running
    server starts in a fraction of the time). Raises Unreachable when no server answers, SplError
    with the query position when the search does not parse, RemoteError on another error answer."""
    import http.client
    from urllib.parse import urlsplit

    url = server_url(home)
    if url is None:
        raise Unreachable("no server is running for this home")
    parts = urlsplit(url)
    if parts.scheme == "https":
        trust = _trust(home)
        ctx = trust if not isinstance(trust, bool) else None
        con: http.client.HTTPConnection = http.client.HTTPSConnection(parts.hostname, parts.port, timeout=timeout,
                                                                      context=ctx)
    else:
        con = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    data = json.dumps(payload).encode() if payload is not None else None
    headers = {"Authorization": f"Bearer {ensure_api_token(home)}", "Content-Type": "application/json"}
    try:
        con.request(method, path, body=data, headers=headers)
        resp = con.getresponse()
        raw = resp.read()
    except (ConnectionError, TimeoutError, OSError) as e:
        if isinstance(e, TimeoutError):
            raise SpeleoError(f"the server at {url} did not answer within {timeout:g} s") from None
        raise Unreachable(f"the server at {url} could not be reached: {e}") from None
    finally:
        con.close()
    body = json.loads(raw) if raw else {}
    if resp.status >= 400:
        err = body.get("error", {}) if isinstance(body, dict) else {}
        if str(err.get("code", "")).startswith("spl") or ("start" in err and "line" in err):   # a position in the query
            query = (payload or {}).get("search", "")
            raise SplError(err.get("message", ""), query, int(err.get("start") or 0),
                           err.get("end"), err.get("suggestion"))
        raise RemoteError(resp.status, body)
    return body


def login_name() -> str:
    """The operating system's name of the user running the command ("unknown" when none)."""
    import getpass

    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no user name for this uid (containers)
        return "unknown"


def audit(home: Home, action: str, info: str, **fields) -> None:
    """Record an administrative change a command made to the home itself in `_audit`: through
    the running server (`POST /api/v1/audit`, which holds the journal), else through the home's
    journal directly (taking the writer lock for a moment). `user` is `cli:<login name>`."""
    login = login_name()
    fields = {k: (",".join(map(str, v)) if isinstance(v, (list, tuple)) else v) for k, v in fields.items()
              if v is not None}
    if server_url(home):
        call(home, "POST", "/api/v1/audit", {"action": action, "info": info, "fields": {"cli_user": login, **fields}})
        return
    from speleo.ingest.internal import InternalLog
    from speleo.service import Service

    writer = Service(home).open_writer()
    try:
        event = {"action": action, "info": info, "user": f"cli:{login}", "auth": "cli", "origin": "cli", **fields}
        InternalLog(writer.store).emit("_audit", "audittrail", event, component="AuditLogger")
        writer.store.seal()   # searchable now, not only at the next writer's start
    finally:
        writer.close()
