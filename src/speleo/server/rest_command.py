"""`| rest` on the server: the search's REST reads made as the searcher, in process.

A `| rest` step (spl/commands/restcmd.py) reads one GET endpoint of Speleo's Splunk REST API.
`bind(compiled, who)`, called by the search guard (`speleo.server.access.search_guard`, which
every search of the server goes through), gives each such step a `fetch` bound to the searcher
`who`. `fetch` calls the server's own ASGI app in process (no socket, no HTTP parsing): the same
route table, the same `require(<capability>)` dependency and the same handler as an HTTP client
gets, with `who` as the principal (`access.principal` reads it from the ASGI scope key
`PRINCIPAL_KEY`, which only this module sets: a network client cannot put keys in the scope).
So a searcher reads exactly what their own HTTP request would answer, and a refusal is the
route's own (403 naming the capability). Design: docs/decisions/0044-rest-command.md.

The app is the one `install` was given (`build_app` calls it): one server per process.
"""

from __future__ import annotations

import asyncio
import json
import threading
import weakref
from functools import partial
from urllib.parse import urlencode

from speleo.errors import ForbiddenError, InputError, NotFoundError, SpeleoError

PRINCIPAL_KEY = "speleo.rest_principal"   # ASGI scope key of an in-process `| rest` request
_app: "weakref.ref | None" = None


def install(app) -> None:
    """Make `app` the server `| rest` reads (build_app calls this)."""
    global _app
    _app = weakref.ref(app)


def installed_app():
    """The app `install` was given (None: no server in this process)."""
    return _app() if _app is not None else None


def bind_steps(compiled, kind: str, key: str, fn, who) -> None:
    """Give every post step of `kind` in `compiled` the callable `key` = `fn(app, who, step)`
    bound to the searcher `who`. Without an installed app the steps stay unbound (and are
    refused when they run)."""
    app = installed_app()
    post = getattr(compiled, "post", None) or []
    for i, step in enumerate(post):
        if step.get("kind") == kind and app is not None:
            post[i] = {**step, key: partial(fn, app, who, step)}


def bind(compiled, who) -> None:
    """Bind every `| rest` step of `compiled` to the searcher `who` (a `Principal`)."""
    bind_steps(compiled, "rest", "fetch", fetch, who)


def request_scope(app, who, step: dict) -> dict:
    """The ASGI scope of the GET the step makes: the URI as written (`/servicesNS/<owner>/<app>/`
    narrows saved searches as over HTTP), JSON, `count` rows at most, as the server's own address."""
    path = "/" + step["uri"].strip().strip("/")
    query = urlencode({**step["args"], "output_mode": "json", "count": str(step["count"])})
    rt = getattr(app.state, "runtime", None)
    host, port = (getattr(rt, "bind", "127.0.0.1"), int(getattr(rt, "port", 8000)))
    return {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
            "path": path, "raw_path": path.encode(), "query_string": query.encode(), "root_path": "",
            "headers": [(b"host", f"{host}:{port}".encode())], "client": None, "server": (host, port),
            PRINCIPAL_KEY: who}


async def _call(app, scope: dict) -> tuple[int, bytes]:
    sent: list[dict] = []
    done = asyncio.Event()
    asked = [False]

    async def receive() -> dict:
        if not asked[0]:
            asked[0] = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await done.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        sent.append(message)
        if message["type"] == "http.response.body" and not message.get("more_body"):
            done.set()

    await app(scope, receive, send)
    status = next((m["status"] for m in sent if m["type"] == "http.response.start"), 500)
    return status, b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")


def _run(app, scope: dict, timeout: float) -> tuple[int, bytes]:
    """Run the request to its end on an event loop of this thread (or of a thread of its own
    when this one already runs a loop)."""
    def go() -> tuple[int, bytes]:
        return asyncio.run(asyncio.wait_for(_call(app, scope), timeout))

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return go()
    out: dict = {}

    def worker() -> None:
        try:
            out["ok"] = go()
        except BaseException as e:  # noqa: BLE001 - handed to the caller
            out["err"] = e

    t = threading.Thread(target=worker, name="speleo-rest", daemon=True)
    t.start()
    t.join()
    if "err" in out:
        raise out["err"]
    return out["ok"]


def fetch(app, who, step: dict) -> dict:
    """The endpoint's JSON feed as `who` reads it. Raises ForbiddenError (the route's 401/403,
    naming the capability), NotFoundError (404), InputError (timeout) or SpeleoError."""
    try:
        status, body = _run(app, request_scope(app, who, step), float(step["timeout_secs"]))
    except (asyncio.TimeoutError, TimeoutError):
        raise InputError(f"rest {step['uri']}: no answer within {step['timeout_secs']} s (timeout=)") from None
    try:
        doc = json.loads(body) if body else {}
    except ValueError:
        doc = {}
    if status == 200 and isinstance(doc, dict):
        return doc
    text = _message(doc) or f"the endpoint answered HTTP {status}"
    err = {401: ForbiddenError, 403: ForbiddenError, 404: NotFoundError}.get(status)
    if err is not None:
        raise err(f"rest {step['uri']}: {text}")
    e = SpeleoError(f"rest {step['uri']}: {text}")
    e.status = status if 400 <= status < 600 else 500
    raise e


def _message(doc) -> str:
    """The error text of a Splunk-shaped (`messages`) or Speleo-shaped (`error`) answer."""
    if not isinstance(doc, dict):
        return ""
    msgs = doc.get("messages") or []
    if msgs and isinstance(msgs[0], dict):
        return "; ".join(str(m.get("text", "")) for m in msgs)
    err = doc.get("error")
    if isinstance(err, dict):
        return str(err.get("message", ""))
    return str(doc.get("detail", "")) if doc.get("detail") else ""
