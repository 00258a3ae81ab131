"""The API's own description, for signed-in users and API token holders only.

`GET /api/v1/openapi.json`: the OpenAPI 3 document FastAPI builds from the routes (the API token
or a web session). `GET /api/v1/docs`: the same as an HTML page made here (no script, no outside
resource: it passes the web pages' Content-Security-Policy); a browser that is not signed in is
sent to the sign-in page, a client with a bad token gets the 401 error.
"""

from __future__ import annotations

import html
import json
from urllib.parse import quote

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from speleo.errors import AuthError

PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Speleo HTTP API</title>
<link rel="stylesheet" href="/ui/style.css"></head><body><main class="apidocs">
<h1>Speleo HTTP API {version}</h1>
<p>Send <code>Authorization: Bearer &lt;token&gt;</code> (the token is in <code>&lt;home&gt;/api_token</code>)
and JSON bodies with <code>Content-Type: application/json</code>. Every error is
<code>{{"error": {{"code": ..., "message": ...}}}}</code> with the HTTP status.
The machine-readable description: <a href="/api/v1/openapi.json">/api/v1/openapi.json</a>.</p>
{sections}</main></body></html>"""


def _schema_rows(doc: dict, schema: dict) -> str:
    """The fields of a request body schema as table rows (name, type, required, description)."""
    if "$ref" in schema:
        schema = doc.get("components", {}).get("schemas", {}).get(schema["$ref"].rsplit("/", 1)[-1], {})
    required = set(schema.get("required", []))
    rows = []
    for name, prop in schema.get("properties", {}).items():
        kinds = [p.get("type", "?") for p in prop.get("anyOf", [prop])]
        default = f" (default {json.dumps(prop['default'])})" if "default" in prop else ""
        rows.append(f"<tr><td><code>{html.escape(name)}</code></td><td>{html.escape(' | '.join(kinds))}</td>"
                    f"<td>{'yes' if name in required else 'no'}</td>"
                    f"<td>{html.escape(prop.get('description', ''))}{html.escape(default)}</td></tr>")
    return "".join(rows)


def render(doc: dict) -> str:
    """The HTML page of an OpenAPI document: one section per operation."""
    sections = []
    for path, ops in sorted(doc.get("paths", {}).items()):
        for method, op in ops.items():
            title = f"{method.upper()} {path}"
            summary = html.escape(op.get("description") or op.get("summary") or "")
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
            table = ""
            if body:
                table = ("<table><tr><th>field</th><th>type</th><th>required</th><th>meaning</th></tr>"
                         + _schema_rows(doc, body) + "</table>")
            sections.append(f"<section><h2><code>{html.escape(title)}</code></h2><p>{summary}</p>{table}</section>")
    return PAGE.format(version=html.escape(str(doc.get("info", {}).get("version", ""))),
                       sections="\n".join(sections))


def install(app: FastAPI, authed) -> None:
    """Add the two routes; `authed(request)` raises AuthError unless the token or a session is there."""

    @app.get("/api/v1/openapi.json", dependencies=[Depends(authed)], include_in_schema=False)
    async def openapi_json() -> dict:
        return app.openapi()

    @app.get("/api/v1/docs", include_in_schema=False)
    async def docs_page(request: Request) -> Response:
        try:
            authed(request)
        except AuthError:
            if request.headers.get("authorization"):
                raise
            return RedirectResponse("/login?next=" + quote("/api/v1/docs", safe=""), status_code=303)
        resp = HTMLResponse(render(app.openapi()))
        resp.headers["Cache-Control"] = "no-store"
        resp.headers["Content-Security-Policy"] = "default-src 'self'; style-src 'self'; frame-ancestors 'none'"
        return resp
