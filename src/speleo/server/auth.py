"""API tokens: the token the local CLI uses, created in the home on first start.

The token file (`<home>/api_token`, mode 0600) holds the secret; the server keeps only its
SHA-256 and compares in constant time. Tokens never appear in logs.
"""

from __future__ import annotations

import os

from speleo.config import Home


def ensure_api_token(home: Home) -> str:
    """Read the home's API token, creating it (0600) when missing."""
    path = home.token_path
    if not path.exists():
        import secrets   # here: the CLI reads the token on every call, and hashlib costs it ~3 ms

        token = secrets.token_urlsafe(32)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(token + "\n")
    return path.read_text().strip()


def digest(token: str) -> str:
    import hashlib

    return hashlib.sha256(token.encode()).hexdigest()


def token_matches(presented: str | None, expected_digest: str) -> bool:
    """Constant-time check of a presented token against a stored digest."""
    if not presented:
        return False
    import hmac

    return hmac.compare_digest(digest(presented), expected_digest)


def bearer(header: str | None) -> str | None:
    """The token of an `Authorization: Bearer <t>` (or `Splunk <t>`) header."""
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() in ("bearer", "splunk") and value.strip() else None
