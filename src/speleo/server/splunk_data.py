"""Splunk REST data endpoints (Splunk REST API reference, "Input endpoints" and "Index endpoints"):
`data/indexes` (list, create, show, edit with indexes.conf names, delete), `data/inputs/http` (HEC
tokens: list, create, show, delete, enable, disable) and `data/inputs/monitor` (list, add, show,
remove), under `/services/` and `/servicesNS/{owner}/{app}/`, Atom XML unless `output_mode=json`.

Capabilities as in Splunk's authorize.conf: reading indexes needs `search` (and lists only the
indexes the caller's roles may search), changing them `indexes_edit`; HEC tokens need
`edit_token_http`; monitor inputs need `edit_monitor` to change and `list_inputs` to read.
A HEC token's secret is in the answer to its creation only (Speleo keeps its SHA-256, never the
secret: docs/decisions/0027-restapi-splunk-rest.md). Every change goes to the audit trail.
"""

from __future__ import annotations

import asyncio
import time

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import Response

from speleo.errors import InputError, NotFoundError
from speleo.server.access import EDIT_MONITOR, EDIT_TOKEN_HTTP, INDEXES_EDIT, LIST_INPUTS, SEARCH, require
from speleo.server.audit import audit, client_address
from speleo.server.index_routes import no_script
from speleo.server.splunk_envelope import entry, feed, form
from speleo.server.splunk_routing import SplunkRoute, add_routes

INDEXES, HTTP, MONITOR = "data/indexes", "data/inputs/http", "data/inputs/monitor"
NOT_SETTINGS = {"name", "output_mode", "count", "offset", "search", "sort_key", "sort_dir", "f", "summarize",
                "datatype"}


def _iso(ts: float | None) -> str:
    return "" if ts is None else time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(ts))


class DataRest:
    def __init__(self, runtime) -> None:
        self.rt = runtime
        self.svc = runtime.service

    def base(self, request: Request) -> str:
        return str(request.base_url).rstrip("/")

    def changed(self, request: Request, action: str, info: str, **fields) -> None:
        audit(self.rt, request.state.principal, action, info=info, src=client_address(request), **fields)

    # -- indexes ----------------------------------------------------------------------------------
    def index_entry(self, request: Request, name: str) -> dict:
        shown = self.svc.index(name)
        content = dict(shown["settings"])
        content.update({
            "totalEventCount": shown["events"], "currentDBSizeMB": round(shown["disk_bytes"] / (1024 * 1024), 3),
            "minTime": _iso(min((b["earliest"] for b in shown["buckets"]), default=None)),
            "maxTime": _iso(max((b["latest"] for b in shown["buckets"]), default=None)),
            "disabled": False, "isInternal": name.startswith("_"), "datatype": "event",
        })
        return entry(self.base(request), INDEXES, name, content, "nobody", "system", "system")

    def visible(self, request: Request, name: str) -> bool:
        scope = request.state.principal.scope()
        return scope is None or scope.permits(name)

    async def index_list(self, request: Request, owner: str | None = None, app: str | None = None) -> Response:
        params = await form(request)
        names = [i["name"] for i in self.svc.indexes() if self.visible(request, i["name"])]
        entries = await asyncio.to_thread(lambda: [self.index_entry(request, n) for n in names])
        return feed(request, INDEXES, entries, params)

    async def index_show(self, request: Request, name: str, owner: str | None = None,
                         app: str | None = None) -> Response:
        if not self.visible(request, name):
            raise NotFoundError(f"no index named '{name}'")
        return feed(request, INDEXES, [await asyncio.to_thread(self.index_entry, request, name)])

    async def index_create(self, request: Request, owner: str | None = None, app: str | None = None) -> Response:
        params = await form(request)
        name = (params.get("name") or "").strip()
        if not name:
            raise InputError("name: required (the new index's name)")
        settings = no_script({k: v for k, v in params.items() if k not in NOT_SETTINGS})
        await asyncio.to_thread(self.svc.create_index, name, settings)
        self.changed(request, "indexes_edit", "created", object=name)
        return feed(request, INDEXES, [await asyncio.to_thread(self.index_entry, request, name)], params, 201)

    async def index_edit(self, request: Request, name: str, owner: str | None = None,
                         app: str | None = None) -> Response:
        params = await form(request)
        settings = no_script({k: v for k, v in params.items() if k not in NOT_SETTINGS})
        await asyncio.to_thread(self.svc.edit_index, name, settings)
        self.changed(request, "indexes_edit", "edited", object=name, settings=",".join(sorted(settings)))
        return feed(request, INDEXES, [await asyncio.to_thread(self.index_entry, request, name)], params)

    async def index_delete(self, request: Request, name: str, owner: str | None = None,
                           app: str | None = None) -> Response:
        await asyncio.to_thread(self.svc.delete_index, name)
        self.changed(request, "indexes_edit", "deleted", object=name)
        return feed(request, INDEXES, [])

    # -- HEC tokens -------------------------------------------------------------------------------
    def token_entry(self, request: Request, t, secret: str | None = None) -> dict:
        content = {"index": t.default_index, "indexes": list(t.allowed_indexes), "sourcetype": t.sourcetype or "",
                   "useACK": t.ack, "disabled": t.disabled, "host": "", "source": ""}
        if secret is not None:
            content["token"] = secret
        return entry(self.base(request), HTTP, t.name, content, "nobody", "splunk_httpinput", "app")

    def token(self, name: str):
        from speleo.storage import tokens

        for t in tokens.list_tokens(self.svc.catalog):
            if t.name == name:
                return t
        raise NotFoundError(f"no HEC token named '{name}'")

    async def token_list(self, request: Request, owner: str | None = None, app: str | None = None) -> Response:
        from speleo.storage import tokens

        params = await form(request)
        return feed(request, HTTP, [self.token_entry(request, t) for t in tokens.list_tokens(self.svc.catalog)],
                    params)

    async def token_show(self, request: Request, name: str, owner: str | None = None,
                         app: str | None = None) -> Response:
        return feed(request, HTTP, [self.token_entry(request, self.token(_hec_name(name)))])

    async def token_create(self, request: Request, owner: str | None = None, app: str | None = None) -> Response:
        """`name`, `index` (default main), `indexes` (allowed, comma-separated), `sourcetype`, `useACK`."""
        from speleo.storage import tokens

        params = await form(request)
        name = _hec_name(params.get("name") or "")
        if not name:
            raise InputError("name: required (the token's name)")
        allowed = [i.strip() for i in (params.get("indexes") or "").split(",") if i.strip()]
        ack = (params.get("useACK") or "0").lower() in ("1", "true", "t", "yes")
        secret = tokens.create_token(self.svc.catalog, name, params.get("index") or "main", allowed,
                                     params.get("sourcetype") or None, ack)
        self.changed(request, "edit_token_http", "created", object=name)
        return feed(request, HTTP, [self.token_entry(request, self.token(name), secret)], params, 201)

    async def token_edit(self, request: Request, name: str, owner: str | None = None,
                         app: str | None = None) -> Response:
        """Only `disabled` can change (the other settings are the token's identity: create another)."""
        from speleo.storage import tokens

        params = await form(request)
        name = _hec_name(name)
        if "disabled" in params:
            tokens.set_disabled(self.svc.catalog, name, params["disabled"].lower() in ("1", "true", "t", "yes"))
            self.changed(request, "edit_token_http", "edited", object=name, disabled=params["disabled"])
        return feed(request, HTTP, [self.token_entry(request, self.token(name))], params)

    async def token_enable(self, request: Request, name: str, owner: str | None = None,
                           app: str | None = None) -> Response:
        return await self._set_disabled(request, name, False)

    async def token_disable(self, request: Request, name: str, owner: str | None = None,
                            app: str | None = None) -> Response:
        return await self._set_disabled(request, name, True)

    async def _set_disabled(self, request: Request, name: str, disabled: bool) -> Response:
        from speleo.storage import tokens

        name = _hec_name(name)
        tokens.set_disabled(self.svc.catalog, name, disabled)
        self.changed(request, "edit_token_http", "disabled" if disabled else "enabled", object=name)
        return feed(request, HTTP, [self.token_entry(request, self.token(name))])

    async def token_delete(self, request: Request, name: str, owner: str | None = None,
                           app: str | None = None) -> Response:
        from speleo.storage import tokens

        name = _hec_name(name)
        tokens.delete_token(self.svc.catalog, name)
        self.changed(request, "edit_token_http", "deleted", object=name)
        return feed(request, HTTP, [])

    # -- monitor inputs ---------------------------------------------------------------------------
    def monitors(self) -> list[dict]:
        return [i for i in self.svc.inputs() if i["kind"] == "monitor"]

    def monitor_entry(self, request: Request, i: dict) -> dict:
        content = {"index": i["index"], "sourcetype": i["sourcetype"] or "", "host": i["host"] or "",
                   "whitelist": i["whitelist"] or "", "blacklist": i["blacklist"] or "",
                   "disabled": bool(i["disabled"]), "initCrcLength": i["head_bytes"] or "", "speleo_id": i["id"]}
        return entry(self.base(request), MONITOR, i["path"], content, "nobody", "search", "app")

    def monitor(self, path: str) -> dict:
        want = path if path.startswith("/") else "/" + path
        for i in self.monitors():
            if i["path"] in (path, want):
                return i
        raise NotFoundError(f"no monitor input for '{path}' (see GET /services/data/inputs/monitor)")

    async def monitor_list(self, request: Request, owner: str | None = None, app: str | None = None) -> Response:
        params = await form(request)
        return feed(request, MONITOR, [self.monitor_entry(request, i) for i in self.monitors()], params)

    async def monitor_show(self, request: Request, name: str, owner: str | None = None,
                           app: str | None = None) -> Response:
        return feed(request, MONITOR, [self.monitor_entry(request, self.monitor(name))])

    async def monitor_create(self, request: Request, owner: str | None = None, app: str | None = None) -> Response:
        """`name` (the path), `index`, `sourcetype`, `host`, `whitelist`, `blacklist`, `initCrcLength`."""
        params = await form(request)
        path = params.get("name") or ""
        if not path:
            raise InputError("name: required (the file or folder to monitor, an absolute path)")
        crc = params.get("initCrcLength")
        try:
            head = int(crc) if crc else None
        except ValueError:
            raise InputError(f"initCrcLength={crc!r}: give a number of bytes (16 to 65536)") from None
        ident = self.svc.add_monitor(path, params.get("index") or "main", params.get("sourcetype") or None,
                                     params.get("host") or None, params.get("whitelist") or None,
                                     params.get("blacklist") or None, head)
        self.changed(request, "edit_monitor", "created", object=ident, path=path)
        (created,) = [i for i in self.monitors() if i["id"] == ident]
        return feed(request, MONITOR, [self.monitor_entry(request, created)], params, 201)

    async def monitor_delete(self, request: Request, name: str, owner: str | None = None,
                             app: str | None = None) -> Response:
        i = self.monitor(name)
        self.svc.remove_input(str(i["id"]))
        self.changed(request, "edit_monitor", "removed", object=i["id"], path=i["path"])
        return feed(request, MONITOR, [])


def _hec_name(name: str) -> str:
    """Splunk names HEC inputs `http://NAME`; the token's own name is NAME."""
    return name[len("http://"):] if name.startswith("http://") else name


def install(app: FastAPI, runtime) -> None:
    h = DataRest(runtime)
    router = APIRouter(route_class=SplunkRoute)
    dep = {c: [Depends(require(c))] for c in (SEARCH, INDEXES_EDIT, EDIT_TOKEN_HTTP, EDIT_MONITOR, LIST_INPUTS)}
    add_routes(router, [
        (INDEXES, "GET", h.index_list, dep[SEARCH]), (INDEXES, "POST", h.index_create, dep[INDEXES_EDIT]),
        (INDEXES + "/{name}", "GET", h.index_show, dep[SEARCH]),
        (INDEXES + "/{name}", "POST", h.index_edit, dep[INDEXES_EDIT]),
        (INDEXES + "/{name}", "DELETE", h.index_delete, dep[INDEXES_EDIT]),
        (HTTP, "GET", h.token_list, dep[EDIT_TOKEN_HTTP]), (HTTP, "POST", h.token_create, dep[EDIT_TOKEN_HTTP]),
        (HTTP + "/{name:path}/enable", "POST", h.token_enable, dep[EDIT_TOKEN_HTTP]),
        (HTTP + "/{name:path}/disable", "POST", h.token_disable, dep[EDIT_TOKEN_HTTP]),
        (HTTP + "/{name:path}", "GET", h.token_show, dep[EDIT_TOKEN_HTTP]),
        (HTTP + "/{name:path}", "POST", h.token_edit, dep[EDIT_TOKEN_HTTP]),
        (HTTP + "/{name:path}", "DELETE", h.token_delete, dep[EDIT_TOKEN_HTTP]),
        (MONITOR, "GET", h.monitor_list, dep[LIST_INPUTS]), (MONITOR, "POST", h.monitor_create, dep[EDIT_MONITOR]),
        (MONITOR + "/{name:path}", "GET", h.monitor_show, dep[LIST_INPUTS]),
        (MONITOR + "/{name:path}", "DELETE", h.monitor_delete, dep[EDIT_MONITOR]),
    ])
    app.include_router(router)
