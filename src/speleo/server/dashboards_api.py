"""Dashboards over HTTP: `/api/v1/dashboards` (the web's JSON API) and Splunk's
`/services/data/ui/views` (also under `/servicesNS/{owner}/{app}/`), whose entries carry the
dashboard in `eai:data` as Splunk stores a Studio dashboard: `<dashboard version="2"><label>
<definition><![CDATA[json]]></definition></dashboard>` (Splunk REST API reference:
data/ui/views). Creating or updating accepts in `eai:data` that wrapper, Simple XML (converted)
or the JSON itself.

Reading needs `search`; writing `schedule_search` (the `power` role: dashboards are files shared
by every user of the home). Files: speleo.dashboards.store.
"""

from __future__ import annotations

import json
from xml.sax.saxutils import escape

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse, Response

from speleo.dashboards import model
from speleo.dashboards.store import Dashboard, DashboardStore
from speleo.errors import ConflictError, InputError, NotFoundError
from speleo.server.access import SCHEDULE_SEARCH, SEARCH, Principal, require
from speleo.server.rest_saved import SplunkRoute
from speleo.server.splunk_envelope import entry, feed, form

VIEWS = "data/ui/views"
PANEL_H, PANEL_W = 400, 1440


def studio_xml(d: Dashboard) -> str:
    """The Splunk storage form of a Studio dashboard (a `]]>` in the JSON is split across two
    CDATA sections)."""
    body = json.dumps(d.definition, indent=2, sort_keys=True).replace("]]>", "]]]]><![CDATA[>")
    title = escape(d.definition.get("title") or d.name)
    return f'<dashboard version="2" theme="light">\n  <label>{title}</label>\n  <definition><![CDATA[{body}]]></definition>\n</dashboard>'


def view_entry(request: Request, d: Dashboard) -> dict:
    base = str(request.base_url).rstrip("/")
    content = {"eai:data": studio_xml(d), "label": d.definition.get("title") or d.name, "isDashboard": True,
               "isVisible": True, "version": "2", "eai:type": "views", "description": d.definition.get("description", ""),
               "warnings": d.warnings}
    return entry(base, VIEWS, d.name, content, owner="nobody", app="search", sharing="app")


def saved_lookup(runtime):
    """`name -> (query, earliest, latest)` of a saved search, for `ds.savedSearch`."""
    def look(name: str):
        s = runtime.scheduler.store.get(name)
        return s.attrs.get("search", ""), s.attrs.get("dispatch.earliest_time"), s.attrs.get("dispatch.latest_time")
    return look


def add_panel(doc: dict, title: str, search: str, earliest: str | None, latest: str | None, viz_type: str) -> dict:
    """`doc` with one more panel (a `ds.search` and a visualization placed under the others in
    the first layout): "Add to dashboard" of the search page."""
    doc = json.loads(json.dumps(doc))
    sources, vizs = doc.setdefault("dataSources", {}), doc.setdefault("visualizations", {})
    n = 1
    while f"ds_{n}" in sources or f"viz_{n}" in vizs:
        n += 1
    opts: dict = {"query": search}
    if earliest or latest:
        opts["queryParameters"] = {"earliest": earliest or "", "latest": latest or "now"}
    sources[f"ds_{n}"] = {"type": "ds.search", "options": opts}
    vizs[f"viz_{n}"] = {"type": viz_type if viz_type in model.VIZ_TYPES else "splunk.table", "title": title,
                        "dataSources": {"primary": f"ds_{n}"}, "options": {}}
    lay = doc.setdefault("layout", {"type": "grid", "options": {"width": PANEL_W}, "structure": []})
    target = lay["layoutDefinitions"][lay["tabs"]["items"][0]["layoutId"]] if "tabs" in lay else lay
    structure = target.setdefault("structure", [])
    bottom = max((b.get("position", {}).get("y", 0) + b.get("position", {}).get("h", 0) for b in structure), default=0)
    structure.append({"item": f"viz_{n}", "type": "block", "position": {"x": 0, "y": bottom, "w": PANEL_W, "h": PANEL_H}})
    return doc


def install(app: FastAPI, runtime) -> DashboardStore:
    store = DashboardStore(runtime.home.root)
    app.state.dashboards = store
    api = APIRouter(tags=["dashboards"])
    read, write = Depends(require(SEARCH)), Depends(require(SCHEDULE_SEARCH))

    def full(d: Dashboard) -> dict:
        return {**d.summary(), "definition": d.definition, "source_format": d.source_format,
                "tokens": model.token_defaults(d.definition), "layouts": model.layouts(d.definition)}

    @api.get("/api/v1/dashboards")
    async def list_dashboards(who: Principal = read) -> dict:
        """Every dashboard: {dashboards: [{name, title, description, panels, updated, warnings}]}."""
        return {"dashboards": [d.summary() for d in store.list()]}

    @api.get("/api/v1/dashboards/{name}")
    async def get_dashboard(name: str, who: Principal = read) -> dict:
        """One dashboard: its definition (Studio JSON), warnings, the inputs' default token
        values and the layouts to draw."""
        return full(store.get(name))

    @api.put("/api/v1/dashboards/{name}")
    async def put_dashboard(name: str, request: Request, who: Principal = write) -> JSONResponse:
        """Create or replace: the body is the Studio JSON, or Simple XML (converted)."""
        existed = name in store.names()
        text = (await request.body()).decode("utf-8", "replace")
        d = store.put(name, text)
        return JSONResponse(full(d), status_code=200 if existed else 201)

    @api.delete("/api/v1/dashboards/{name}", status_code=204)
    async def delete_dashboard(name: str, who: Principal = write) -> Response:
        store.remove(name)
        return Response(status_code=204)

    @api.post("/api/v1/dashboards/{name}/resolve")
    async def resolve(name: str, request: Request, who: Principal = read) -> dict:
        """The searches for token values {tokens: {name: value}}: {dataSources: {id: {type,
        query, earliest, latest, refresh, refreshType, extend, missing}}}."""
        body = await _json(request)
        values = body.get("tokens") or {}
        if not isinstance(values, dict):
            raise InputError("tokens: send an object {name: value}")
        d = store.get(name)
        return {"dataSources": model.resolve(d.definition, {str(k): str(v) for k, v in values.items() if v is not None},
                                             saved_lookup(runtime))}

    @api.post("/api/v1/dashboards/{name}/panels", status_code=201)
    async def add(name: str, request: Request, who: Principal = write) -> dict:
        """Add a panel {title, search, earliest?, latest?, type? (splunk.table...)}; creates the
        dashboard (titled `title` of the body's `dashboard_title`, else its name) when missing."""
        b = await _json(request)
        search = str(b.get("search") or "").strip()
        if not search:
            raise InputError("search: give the SPL of the panel")
        try:
            doc = store.get(name).definition
        except NotFoundError:
            doc = {"title": str(b.get("dashboard_title") or name), "dataSources": {}, "visualizations": {},
                   "inputs": {}, "layout": {"type": "grid", "options": {"width": PANEL_W}, "structure": []}}
        doc = add_panel(doc, str(b.get("title") or search[:60]), search, b.get("earliest"), b.get("latest"),
                        str(b.get("type") or "splunk.table"))
        return full(store.put(name, doc))

    app.include_router(api)
    _install_views(app, store)
    return store


async def _json(request: Request) -> dict:
    try:
        b = await request.json()
    except ValueError:
        raise InputError("send a JSON object") from None
    if not isinstance(b, dict):
        raise InputError("send a JSON object")
    return b


def _install_views(app: FastAPI, store: DashboardStore) -> None:
    """Splunk's data/ui/views (list, create, show, update, delete)."""
    router = APIRouter(route_class=SplunkRoute)

    async def list_views(request: Request, owner: str | None = None, app: str | None = None) -> Response:
        return feed(request, VIEWS, [view_entry(request, d) for d in store.list()])

    async def create(request: Request, owner: str | None = None, app: str | None = None) -> Response:
        params = await form(request)
        name = params.get("name") or ""
        if not params.get("eai:data"):
            raise InputError("eai:data: give the dashboard (Simple XML, or Studio JSON in <dashboard version=\"2\">)")
        if name in store.names():
            raise ConflictError(f"dashboard {name!r} exists; POST to {VIEWS}/{name} to update it")
        d = store.put(model.check_name(name), params["eai:data"], replace=False)
        return feed(request, VIEWS, [view_entry(request, d)], params, status=201)

    async def show(request: Request, name: str, owner: str | None = None, app: str | None = None) -> Response:
        return feed(request, VIEWS, [view_entry(request, store.get(name))])

    async def update(request: Request, name: str, owner: str | None = None, app: str | None = None) -> Response:
        params = await form(request)
        store.get(name)   # 404 when missing, as Splunk
        if not params.get("eai:data"):
            raise InputError("eai:data: give the new dashboard text")
        d = store.put(name, params["eai:data"])
        return feed(request, VIEWS, [view_entry(request, d)], params)

    async def delete(request: Request, name: str, owner: str | None = None, app: str | None = None) -> Response:
        store.remove(name)
        return feed(request, VIEWS, [])

    read, write = [Depends(require(SEARCH))], [Depends(require(SCHEDULE_SEARCH))]
    routes = [(VIEWS, "GET", list_views, read), (VIEWS, "POST", create, write),
              (VIEWS + "/{name}", "GET", show, read), (VIEWS + "/{name}", "POST", update, write),
              (VIEWS + "/{name}", "DELETE", delete, write)]
    for prefix in ("/services/", "/servicesNS/{owner}/{app}/"):
        for path, method, fn, deps in routes:
            for p in (prefix + path, prefix + path + "/"):
                router.add_api_route(p, fn, methods=[method], dependencies=deps, include_in_schema=False)
    app.include_router(router)

