"""The HTTP API's one error shape, for every error of every route.

`{"error": {"code": ..., "message": ...}}` with the HTTP status (docs/api.md). `install(app)` makes
FastAPI and Starlette answer with it too: a body that does not validate (400 `bad_input`, with
`field`, the dotted name of the first field at fault, and `errors`, every field and problem), a
body that is not JSON (400), an unknown path (404 `not_found`), a method the path does not have
(405 `method_not_allowed`, with the `Allow` header), any other HTTP error (`http_<status>`), and
an unexpected failure (500 `internal`, the details in the server log only).
"""

from __future__ import annotations

import json
import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from speleo.errors import SpeleoError

log = logging.getLogger("speleo.api")

HTTP_CODES = {400: "bad_input", 401: "unauthorized", 403: "forbidden", 404: "not_found",
              405: "method_not_allowed", 409: "conflict", 413: "too_large", 415: "unsupported_media_type"}


def error_response(status: int, code: str, message: str, headers: dict | None = None, **extra) -> JSONResponse:
    """The API's error answer: `{"error": {"code", "message", **extra}}` with `status`."""
    return JSONResponse({"error": {"code": code, "message": message, **extra}}, status_code=status, headers=headers)


def _field(loc) -> str:
    """`("body", "limit")` -> `limit`; `("query", "offset")` -> `offset` (where it was is implied)."""
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header", "cookie")]
    return ".".join(parts)


def validation_response(errors: list[dict]) -> JSONResponse:
    """400 for a request whose body or parameters do not validate, naming the fields."""
    listed = []
    for e in errors:
        name = _field(e.get("loc", ()))
        kind = e.get("type", "")
        if not name and kind in ("model_attributes_type", "dict_type", "json_invalid", "missing"):
            problem = "the request body must be a JSON object (send 'Content-Type: application/json')"
        else:
            problem = str(e.get("msg", "invalid")).rstrip(".").lower()
        listed.append({"field": name or None, "problem": problem})
    first = listed[0] if listed else {"field": None, "problem": "invalid request"}
    message = f"{first['field']}: {first['problem']}" if first["field"] else first["problem"]
    if len(listed) > 1:
        message += f" (and {len(listed) - 1} more: see 'errors')"
    return error_response(400, "bad_input", message, field=first["field"], errors=listed)


def install(app: FastAPI) -> None:
    """Register the handlers (see module doc) on `app`."""

    @app.exception_handler(SpeleoError)
    async def speleo_error(_: Request, exc: SpeleoError) -> JSONResponse:
        retry = getattr(exc, "retry_after", None)   # ThrottledError (429)
        headers = {"Retry-After": str(retry)} if retry else None
        return JSONResponse({"error": exc.to_dict()}, status_code=exc.status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def request_invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        return validation_response(list(exc.errors()))

    @app.exception_handler(ValidationError)   # a route validating a body itself (the web's search)
    async def model_invalid(_: Request, exc: ValidationError) -> JSONResponse:
        return validation_response(list(exc.errors()))

    @app.exception_handler(json.JSONDecodeError)
    async def not_json(_: Request, exc: json.JSONDecodeError) -> JSONResponse:
        return error_response(400, "bad_input", f"the request body is not JSON (line {exc.lineno}, column "
                              f"{exc.colno}); send a JSON object with 'Content-Type: application/json'")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        status = exc.status_code
        if status == 404:
            message = f"no such endpoint: {request.method} {request.url.path} (see docs/api.md or /api/v1/docs)"
        elif status == 405:
            allowed = (exc.headers or {}).get("Allow") or (exc.headers or {}).get("allow")
            message = f"{request.url.path} does not take {request.method}" + (f"; it takes {allowed}" if allowed else "")
        else:
            message = str(exc.detail) if exc.detail else f"HTTP {status}"
        return error_response(status, HTTP_CODES.get(status, f"http_{status}"), message, headers=exc.headers)

    @app.exception_handler(Exception)
    async def internal(request: Request, exc: Exception) -> JSONResponse:
        log.error("internal error on %s %s", request.method, request.url.path, exc_info=exc)
        return error_response(500, "internal", "the server failed on this request (an internal error, logged "
                              "on the server); retry, or report it with what you sent")
