"""Routes behind the web's admin page (/admin) that the API lacked: HEC tokens (list, create,
disable) and a file upload indexed once (Splunk "Add Data > Upload"). Monitors, users and roles
already have their routes (`app`, `index_routes`, `users_api`).

    GET  /api/v1/hec-tokens                       edit_token_http   the tokens (never their secrets)
    POST /api/v1/hec-tokens {name, index, ...}    edit_token_http   the secret, shown this once
    PATCH /api/v1/hec-tokens/{name} {disabled}    edit_token_http
    POST /api/v1/inputs/upload?index=&sourcetype=&filename=   edit_monitor   the body is the file

An upload is streamed to a private temporary folder outside the home (at most `MAX_UPLOAD_BYTES`;
more is refused with 413 and nothing is indexed), indexed as a oneshot input with
`source` = the file name given, then deleted.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from pathlib import Path

from fastapi import Depends, FastAPI, Request
from pydantic import BaseModel

from speleo.errors import InputError, SpeleoError
from speleo.server.access import EDIT_MONITOR, EDIT_TOKEN_HTTP, Principal, require
from speleo.server.audit import audit, client_address
from speleo.storage import tokens

MAX_UPLOAD_BYTES = 512 << 20


class TooLarge(SpeleoError):
    status = 413
    code = "too_large"


class NewToken(BaseModel):
    name: str
    index: str = "main"
    allowed_indexes: list[str] | None = None
    sourcetype: str | None = None
    ack: bool = False


class TokenChange(BaseModel):
    disabled: bool


def install(app: FastAPI, runtime) -> None:
    svc = runtime.service

    @app.get("/api/v1/hec-tokens", tags=["inputs"])
    async def hec_list(_: Principal = Depends(require(EDIT_TOKEN_HTTP))) -> dict:
        """HEC tokens with their settings (their secrets are kept only as digests)."""
        return {"tokens": [t.to_dict() for t in tokens.list_tokens(svc.catalog)]}

    @app.post("/api/v1/hec-tokens", tags=["inputs"], status_code=201)
    async def hec_create(body: NewToken, request: Request, who: Principal = Depends(require(EDIT_TOKEN_HTTP))) -> dict:
        """Create a token; the answer holds its secret, which is never shown again."""
        secret = tokens.create_token(svc.catalog, body.name, body.index, body.allowed_indexes, body.sourcetype, body.ack)
        audit(runtime, who, "edit_token_http", info="created", object=body.name, target_index=body.index,
              src=client_address(request))
        return {"name": body.name, "token": secret}

    @app.patch("/api/v1/hec-tokens/{name}", tags=["inputs"])
    async def hec_change(name: str, body: TokenChange, request: Request,
                         who: Principal = Depends(require(EDIT_TOKEN_HTTP))) -> dict:
        tokens.set_disabled(svc.catalog, name, body.disabled)
        audit(runtime, who, "edit_token_http", info="disabled" if body.disabled else "enabled", object=name,
              src=client_address(request))
        return {"name": name, "disabled": body.disabled}

    @app.post("/api/v1/inputs/upload", tags=["inputs"])
    async def upload(request: Request, filename: str, index: str = "main", sourcetype: str | None = None,
                     who: Principal = Depends(require(EDIT_MONITOR))) -> dict:
        """Index the request body once as the file `filename` (see the module's text)."""
        from speleo.server.app import OneshotRequest

        name = Path(filename).name
        if not name or name in (".", ".."):
            raise InputError(f"filename {filename!r}: give the uploaded file's name, e.g. access.log")
        folder = Path(tempfile.mkdtemp(prefix="speleo-upload-"))
        try:
            path = folder / name
            size = 0
            with open(path, "wb") as f:
                async for chunk in request.stream():
                    size += len(chunk)
                    if size > MAX_UPLOAD_BYTES:
                        raise TooLarge(f"the upload is over {MAX_UPLOAD_BYTES >> 20} MiB: add large files with "
                                       "'speleo add oneshot PATH' on the server instead; nothing was indexed")
                    f.write(chunk)
                f.flush()
                os.fsync(f.fileno())
            res = await asyncio.to_thread(runtime.oneshot, OneshotRequest(path=str(path), index=index,
                                                                          sourcetype=sourcetype, force=True))
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        audit(runtime, who, "edit_monitor", info="upload", object=name, target_index=index, bytes=size,
              src=client_address(request))
        return {"filename": name, "bytes": size, **res.__dict__}
