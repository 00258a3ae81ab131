"""Splunk REST response shapes: the JSON envelope (`output_mode=json`) and Atom XML (the
default, which splunk-sdk-python parses), form-encoded request bodies, and error bodies.

JSON: `{"links", "origin", "updated", "generator", "entry": [{"name", "id", "updated",
"links", "author", "acl", "content"}], "paging": {"total", "perPage", "offset"}, "messages"}`
(the shape common to Splunk's REST endpoints). Atom: `<feed>` of `<entry>` whose `<content>`
is an `<s:dict>` of `<s:key>` (lists as `<s:list><s:item>`; booleans as 1/0).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any
from urllib.parse import parse_qsl, quote
from xml.sax.saxutils import escape

from fastapi import Request
from fastapi.responses import JSONResponse, Response

from speleo.errors import InputError

SPLUNK_VERSION = "9.2.0"


def now_iso() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


async def form(request: Request) -> dict[str, str]:
    """Query parameters plus the body's fields: form-encoded whatever the Content-Type says
    (the SDK sends none), or a JSON object when the Content-Type is JSON. Last value wins,
    except `actions`-style repeated keys which are joined with commas."""
    out: dict[str, str] = {}
    for k, v in request.query_params.multi_items():
        out[k] = v
    body = await request.body()
    if not body:
        return out
    if "json" in (request.headers.get("content-type") or ""):
        try:
            data = json.loads(body)
        except ValueError:
            raise InputError("the body is not valid JSON") from None
        if not isinstance(data, dict):
            raise InputError("send a JSON object or form fields")
        out.update({str(k): v if isinstance(v, str) else json.dumps(v) if isinstance(v, (dict, list)) else str(v)
                    for k, v in data.items()})
        return out
    seen: dict[str, list[str]] = {}
    for k, v in parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True):
        seen.setdefault(k, []).append(v)
    out.update({k: ",".join(v) if len(v) > 1 else v[0] for k, v in seen.items()})
    return out


def wants_json(request: Request, params: dict | None = None) -> bool:
    mode = (params or {}).get("output_mode") or request.query_params.get("output_mode")
    return (mode or "").lower() == "json"


def entry(base: str, path: str, name: str, content: dict, owner: str = "nobody", app: str = "search",
          sharing: str = "app", links: tuple[str, ...] = ()) -> dict:
    """One entry; `path` is the collection path (e.g. `saved/searches`)."""
    href = f"/servicesNS/{quote(owner, safe='')}/{quote(app, safe='')}/{path}/{quote(name, safe='')}"
    return {"name": name, "id": base + href, "updated": now_iso(),
            "links": {"alternate": href, **{k: f"{href}/{k}" for k in links}},
            "author": owner,
            "acl": {"app": app, "owner": owner, "sharing": sharing, "modifiable": True,
                    "perms": {"read": ["*"], "write": ["admin", "power"]}},
            "content": content}


def feed(request: Request, path: str, entries: list[dict], params: dict | None = None,
         status: int = 200, messages: list | None = None) -> Response:
    """A collection answer, paged by `count` (default 30, 0 = all) and `offset`."""
    params = params or dict(request.query_params)
    total = len(entries)
    offset = int(params.get("offset") or 0)
    count = int(params.get("count") or 30)
    page = entries[offset:] if count <= 0 else entries[offset:offset + count]
    base = str(request.base_url).rstrip("/")
    body = {"links": {"create": f"/servicesNS/nobody/search/{path}/_new"}, "origin": f"{base}/services/{path}",
            "updated": now_iso(), "generator": {"build": "speleo", "version": SPLUNK_VERSION},
            "entry": page, "paging": {"total": total, "perPage": count, "offset": offset},
            "messages": messages or []}
    if wants_json(request, params):
        return JSONResponse(body, status_code=status)
    return Response(atom(body, path), status_code=status, media_type="text/xml; charset=utf-8")


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return str(int(v))
    if isinstance(v, dict):
        return "<s:dict>" + "".join(f'<s:key name="{escape(str(k))}">{_value(x)}</s:key>' for k, x in v.items()) + \
            "</s:dict>"
    if isinstance(v, (list, tuple)):
        return "<s:list>" + "".join(f"<s:item>{_value(x)}</s:item>" for x in v) + "</s:list>"
    return escape("" if v is None else str(v))


def _atom_entry(e: dict) -> str:
    content = dict(e["content"])
    content["eai:acl"] = e["acl"]
    links = "".join(f'<link href="{escape(h)}" rel="{escape(r)}"/>' for r, h in e["links"].items())
    return (f"<entry><title>{escape(e['name'])}</title><id>{escape(e['id'])}</id><updated>{e['updated']}</updated>"
            f"{links}<author><name>{escape(e['author'])}</name></author>"
            f'<content type="text/xml">{_value(content)}</content></entry>')


def atom(body: dict, path: str) -> str:
    entries = "".join(_atom_entry(e) for e in body["entry"])
    p = body["paging"]
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom" '
            'xmlns:s="http://dev.splunk.com/ns/rest" xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/">'
            f"<title>{escape(path)}</title><id>{escape(body['origin'])}</id><updated>{body['updated']}</updated>"
            f"<generator build=\"speleo\" version=\"{SPLUNK_VERSION}\"/>"
            f"<opensearch:totalResults>{p['total']}</opensearch:totalResults>"
            f"<opensearch:itemsPerPage>{p['perPage']}</opensearch:itemsPerPage>"
            f"<opensearch:startIndex>{p['offset']}</opensearch:startIndex>{entries}</feed>")


def sid_response(request: Request, sid: str, params: dict, status: int = 201) -> Response:
    if wants_json(request, params):
        return JSONResponse({"sid": sid}, status_code=status)
    return Response(f'<?xml version="1.0" encoding="UTF-8"?>\n<response>\n  <sid>{escape(sid)}</sid>\n</response>',
                    status_code=status, media_type="text/xml; charset=utf-8")


def error_response(request: Request, status: int, text: str) -> Response:
    """Splunk's error body: XML `<response><messages><msg type="ERROR">`, or JSON messages."""
    if wants_json(request):
        return JSONResponse({"messages": [{"type": "ERROR", "text": text}]}, status_code=status)
    return Response(f'<?xml version="1.0" encoding="UTF-8"?>\n<response><messages><msg type="ERROR">{escape(text)}'
                    "</msg></messages></response>", status_code=status, media_type="text/xml; charset=utf-8")
