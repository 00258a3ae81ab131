"""Splunk REST knowledge objects kept by other parts of Speleo, in Splunk's envelope under
`/services/` and `/servicesNS/{owner}/{app}/`: search macros (`configs/conf-macros`, which
splunk-sdk-python's `service.macros` uses, and `admin/macros`; the home's `macros.json`,
`speleo.query.macrostore`) and lookup table files (`data/lookup-table-files`: list, show, delete;
the CSV files of `<home>/lookups`).

A macro with arguments is named `name(N)` as in macros.conf; its content has `definition`,
`args` (comma-separated argument names), `iseval` (always 0: eval-based macros are not
supported) and `disabled`. Reading needs `search`; writing a macro, which changes every search
of the home, needs `admin_all_objects`; deleting a lookup file needs `edit_lookups`. Changes go
to the audit trail.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import Response

from speleo.errors import InputError, NotFoundError, SpeleoError
from speleo.server.access import ADMIN_ALL, EDIT_LOOKUPS, SEARCH, require
from speleo.server.audit import audit, client_address
from speleo.server.splunk_envelope import entry, feed, form
from speleo.server.splunk_routing import SplunkRoute, add_routes

MACROS = ("configs/conf-macros", "admin/macros")
LOOKUPS = "data/lookup-table-files"


class KnowledgeRest:
    def __init__(self, runtime) -> None:
        self.rt = runtime
        self.home = runtime.home

    def changed(self, request: Request, action: str, info: str, **fields) -> None:
        audit(self.rt, request.state.principal, action, info=info, src=client_address(request), **fields)

    # -- macros -----------------------------------------------------------------------------------
    def macro_entry(self, request: Request, rec: dict, path: str) -> dict:
        from speleo.query.macrostore import key_of

        args = rec.get("arguments") or []
        content = {"definition": rec["definition"], "args": ",".join(args), "iseval": False, "disabled": False,
                   "validation": "", "errormsg": "", "description": rec.get("description", "")}
        return entry(str(request.base_url).rstrip("/"), path, key_of(rec["name"], args), content, "nobody",
                     "search", "global")

    def macro(self, name: str) -> dict:
        from speleo.query.macrostore import key_of, read_records

        for r in read_records(self.home):
            if name == key_of(r["name"], r.get("arguments")):
                return r
        raise NotFoundError(f"no macro named '{name}' (a macro with N arguments is named 'name(N)')")

    def path_of(self, request: Request) -> str:
        return "admin/macros" if "/admin/macros" in request.url.path else "configs/conf-macros"

    async def macro_list(self, request: Request, owner: str | None = None, app: str | None = None) -> Response:
        from speleo.query.macrostore import read_records

        params, path = await form(request), self.path_of(request)
        return feed(request, path, [self.macro_entry(request, r, path) for r in read_records(self.home)], params)

    async def macro_show(self, request: Request, name: str, owner: str | None = None,
                         app: str | None = None) -> Response:
        path = self.path_of(request)
        return feed(request, path, [self.macro_entry(request, self.macro(name), path)])

    async def macro_create(self, request: Request, owner: str | None = None, app: str | None = None) -> Response:
        """`name` (`name` or `name(N)`), `definition`, `args` (comma-separated, N names)."""
        params = await form(request)
        name = (params.get("name") or "").strip()
        if not name:
            raise InputError("name: required (the macro's name; with arguments 'name(N)')")
        return await self._save(request, name, params, 201)

    async def macro_edit(self, request: Request, name: str, owner: str | None = None,
                         app: str | None = None) -> Response:
        params = await form(request)
        current = self.macro(name)
        params.setdefault("definition", current["definition"])
        params.setdefault("args", ",".join(current.get("arguments") or []))
        return await self._save(request, name, params, 200)

    async def _save(self, request: Request, name: str, params: dict, status: int) -> Response:
        from speleo.query.macrostore import key_of, normalize, upsert

        args = [a.strip() for a in (params.get("args") or "").split(",") if a.strip()]
        if "(" in name:
            base, _, count = name.partition("(")
            if count.rstrip(")") != str(len(args)):
                raise InputError(f"{name}: give {count.rstrip(')')} argument names in 'args' (comma-separated)")
            name = base
        if (params.get("iseval") or "0").lower() in ("1", "true"):
            raise InputError("iseval: eval-based macros are not supported; give the definition as SPL text")
        try:
            rec = normalize({"name": name, "definition": params.get("definition"), "arguments": args})
        except SpeleoError as e:
            raise InputError(str(e)) from None
        upsert(self.home, [rec])
        self.changed(request, "edit_macros", "saved", object=key_of(rec["name"], rec["arguments"]))
        path = self.path_of(request)
        return feed(request, path, [self.macro_entry(request, rec, path)], params, status)

    async def macro_delete(self, request: Request, name: str, owner: str | None = None,
                           app: str | None = None) -> Response:
        from speleo.query.macrostore import remove

        self.macro(name)
        remove(self.home, name)
        self.changed(request, "edit_macros", "deleted", object=name)
        return feed(request, self.path_of(request), [])

    # -- lookup table files -----------------------------------------------------------------------
    def lookup_files(self) -> list:
        folder = self.home.lookups_dir
        return sorted(p for p in folder.glob("*.csv") if p.is_file()) if folder.is_dir() else []

    def lookup_entry(self, request: Request, p) -> dict:
        st = p.stat()
        content = {"eai:data": str(p), "size": st.st_size, "updated": int(st.st_mtime)}
        return entry(str(request.base_url).rstrip("/"), LOOKUPS, p.name, content, "nobody", "search", "global")

    def lookup_file(self, name: str):
        for p in self.lookup_files():
            if p.name == name or p.stem == name:
                return p
        raise NotFoundError(f"no lookup table file named '{name}' (see GET /services/{LOOKUPS})")

    async def lookup_list(self, request: Request, owner: str | None = None, app: str | None = None) -> Response:
        params = await form(request)
        return feed(request, LOOKUPS, [self.lookup_entry(request, p) for p in self.lookup_files()], params)

    async def lookup_show(self, request: Request, name: str, owner: str | None = None,
                          app: str | None = None) -> Response:
        return feed(request, LOOKUPS, [self.lookup_entry(request, self.lookup_file(name))])

    async def lookup_delete(self, request: Request, name: str, owner: str | None = None,
                            app: str | None = None) -> Response:
        p = self.lookup_file(name)
        p.unlink()
        self.changed(request, "edit_lookups", "deleted", object=p.name)
        return feed(request, LOOKUPS, [])


def install(app: FastAPI, runtime) -> None:
    h = KnowledgeRest(runtime)
    router = APIRouter(route_class=SplunkRoute)
    read, admin, lookups = [Depends(require(SEARCH))], [Depends(require(ADMIN_ALL))], [Depends(require(EDIT_LOOKUPS))]
    routes = []
    for path in MACROS:
        routes += [(path, "GET", h.macro_list, read), (path, "POST", h.macro_create, admin),
                   (path + "/{name}", "GET", h.macro_show, read), (path + "/{name}", "POST", h.macro_edit, admin),
                   (path + "/{name}", "DELETE", h.macro_delete, admin)]
    routes += [(LOOKUPS, "GET", h.lookup_list, read), (LOOKUPS + "/{name}", "GET", h.lookup_show, read),
               (LOOKUPS + "/{name}", "DELETE", h.lookup_delete, lookups)]
    add_routes(router, routes)
    app.include_router(router)
