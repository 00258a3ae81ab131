"""HTTP Event Collector tokens, kept in the catalog (table `hec_tokens`).

A token is a random UUID (the form Splunk generates). Only its SHA-256 is stored; the secret is
shown once, when it is created, and never logged. Each token has a default index, a list of
allowed indexes (the default one is always allowed), an optional default sourcetype, and
whether indexer acknowledgement is enabled for it.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
import uuid
from dataclasses import dataclass

from speleo.config import check_index_name
from speleo.errors import ConflictError, InputError, NotFoundError
from speleo.storage.catalog import Catalog

TOKEN_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,79}$")


@dataclass(frozen=True)
class HecToken:
    """One token's settings (never its secret)."""

    name: str
    default_index: str
    allowed_indexes: tuple[str, ...]
    sourcetype: str | None
    ack: bool
    disabled: bool
    created: float

    def allows(self, index: str) -> bool:
        return index in self.allowed_indexes

    def to_dict(self) -> dict:
        return {
            "name": self.name, "default_index": self.default_index,
            "allowed_indexes": list(self.allowed_indexes), "sourcetype": self.sourcetype,
            "ack": self.ack, "disabled": self.disabled, "created": self.created,
        }


COLS = "name, default_index, allowed_indexes, sourcetype, ack, disabled, created"


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest()


def _row(r: tuple) -> HecToken:
    return HecToken(r[0], r[1], tuple(json.loads(r[2])), r[3], bool(r[4]), bool(r[5]), r[6])


def create_token(catalog: Catalog, name: str, index: str, allowed: list[str] | None = None,
                 sourcetype: str | None = None, ack: bool = False) -> str:
    """Create a token; returns its secret. Creates the indexes it may write to.

    Raises InputError for a bad name or index, ConflictError when the name is taken.
    """
    if not TOKEN_NAME_RE.match(name or ""):
        raise InputError(f"invalid token name {name!r}: letters, digits, '_', '.', '-' (at most 80)")
    check_index_name(index)
    indexes = [index] + [i for i in (allowed or []) if i != index]
    for i in indexes:
        check_index_name(i)
    if sourcetype is not None and not sourcetype.strip():
        raise InputError("--sourcetype must not be blank")
    secret = str(uuid.uuid4())
    for i in indexes:
        catalog.ensure_index(i)
    try:
        with catalog.transaction() as con:
            con.execute(
                f"INSERT INTO hec_tokens({COLS}, digest) VALUES (?,?,?,?,?,?,?,?)",
                (name, index, json.dumps(indexes), sourcetype, int(ack), 0, time.time(), token_digest(secret)),
            )
    except Exception as e:
        if "UNIQUE" in str(e):
            raise ConflictError(f"a token named '{name}' already exists") from e
        raise
    return secret


def list_tokens(catalog: Catalog) -> list[HecToken]:
    return [_row(r) for r in catalog.query(f"SELECT {COLS} FROM hec_tokens ORDER BY name")]


def lookup(catalog: Catalog, digest: str) -> HecToken | None:
    """The token whose secret has this SHA-256, or None."""
    rows = catalog.query(f"SELECT {COLS} FROM hec_tokens WHERE digest = ?", (digest,))
    return _row(rows[0]) if rows else None


def set_disabled(catalog: Catalog, name: str, disabled: bool = True) -> None:
    with catalog.transaction() as con:
        cur = con.execute("UPDATE hec_tokens SET disabled = ? WHERE name = ?", (int(disabled), name))
        if cur.rowcount == 0:
            raise NotFoundError(f"no token named '{name}' (see 'speleo token list')")


def delete_token(catalog: Catalog, name: str) -> None:
    with catalog.transaction() as con:
        cur = con.execute("DELETE FROM hec_tokens WHERE name = ?", (name,))
        if cur.rowcount == 0:
            raise NotFoundError(f"no token named '{name}' (see 'speleo token list')")
