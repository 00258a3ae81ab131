"""Routing shared by the Splunk REST endpoints: every path under `/services/` and
`/servicesNS/{owner}/{app}/`, with and without a trailing slash (splunk-sdk-python asks for
collections with one), and errors in Splunk's shape (`<response><messages><msg type="ERROR">`, or
JSON messages with `output_mode=json`; the SDK reads the detail from there).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.routing import APIRoute
from starlette.responses import Response

from speleo.errors import SpeleoError
from speleo.server.splunk_envelope import error_response

PREFIXES = ("/services/", "/servicesNS/{owner}/{app}/")


class SplunkRoute(APIRoute):
    """Renders Speleo errors in Splunk's error shape (XML, or JSON with output_mode=json)."""

    def get_route_handler(self):
        handler = super().get_route_handler()

        async def run(request: Request) -> Response:
            try:
                return await handler(request)
            except SpeleoError as e:
                resp = error_response(request, e.status, str(e))
                retry = getattr(e, "retry_after", None)
                if retry:
                    resp.headers["Retry-After"] = str(retry)
                return resp

        return run


def add_routes(router: APIRouter, routes: list[tuple], prefixes: tuple[str, ...] = PREFIXES) -> None:
    """Add `(path, method, handler, dependencies)` under every prefix, with and without a
    trailing slash. Handlers take `owner` and `app` keyword arguments (None under /services/)."""
    for prefix in prefixes:
        for path, method, fn, deps in routes:
            for p in (prefix + path, prefix + path + "/"):
                router.add_api_route(p, fn, methods=[method], dependencies=deps, include_in_schema=False)
