"""Signed session cookies (itsdangerous) and CSRF tokens.

The cookie holds `{"uid", "csrf", "pwc"}` signed with a per-home secret (`<home>/web_secret`,
0600): `pwc` is the user's password-change time, so changing a password ends older sessions.
Cookies are HttpOnly and SameSite=Lax, and Secure whenever the request came over HTTPS
(directly or through a proxy that says so in `X-Forwarded-Proto`). Every state-changing
request from the UI carries the session's CSRF token (form field `csrf` or header
`X-CSRF-Token`); the sign-in form, which has no session yet, uses a double-submit cookie.
"""

from __future__ import annotations

import hmac
import os
import secrets

from itsdangerous import BadSignature, URLSafeTimedSerializer

from speleo.config import Home

COOKIE = "speleo_session"
LOGIN_COOKIE = "speleo_login_csrf"
MAX_AGE = 7 * 24 * 3600


def ensure_secret(home: Home) -> str:
    path = home.root / "web_secret"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(48) + "\n")
    return path.read_text().strip()


class Sessions:
    def __init__(self, secret: str) -> None:
        self.signer = URLSafeTimedSerializer(secret, salt="speleo-session")
        self.login_signer = URLSafeTimedSerializer(secret, salt="speleo-login")

    def issue(self, user_id: int, password_changed: float) -> tuple[str, str]:
        """A new cookie value and its CSRF token."""
        csrf = secrets.token_urlsafe(24)
        return self.signer.dumps({"uid": user_id, "csrf": csrf, "pwc": password_changed}), csrf

    def read(self, value: str | None) -> dict | None:
        if not value:
            return None
        try:
            data = self.signer.loads(value, max_age=MAX_AGE)
        except BadSignature:
            return None
        return data if isinstance(data, dict) and "uid" in data and "csrf" in data else None

    def login_token(self) -> tuple[str, str]:
        token = secrets.token_urlsafe(24)
        return self.login_signer.dumps(token), token

    def login_ok(self, cookie: str | None, presented: str | None) -> bool:
        if not cookie or not presented:
            return False
        try:
            expected = self.login_signer.loads(cookie, max_age=3600)
        except BadSignature:
            return False
        return hmac.compare_digest(str(expected), presented)


def csrf_ok(session: dict, presented: str | None) -> bool:
    return bool(presented) and hmac.compare_digest(session["csrf"], presented)


def cookie_flags(request) -> dict:
    https = request.url.scheme == "https" or request.headers.get("x-forwarded-proto", "").lower() == "https"
    return {"httponly": True, "samesite": "lax", "secure": https, "path": "/"}
