"""Session cookies and CSRF tokens of the web interface.

The cookie carries only a random session id, signed with a per-home secret (itsdangerous;
`<home>/web_secret`, 0600); the session itself lives on the server (`speleo.ops.sessions`:
revocable, idle and absolute timeouts), so signing out, a password change, disabling the user or
an admin's "sign out everywhere" ends it at once. Cookies are HttpOnly and SameSite=Lax, and
Secure whenever the request came over HTTPS (directly or through a proxy that says so in
`X-Forwarded-Proto`). Every state-changing request from the UI carries the session's CSRF
token (form field `csrf` or header `X-CSRF-Token`); the sign-in form, which has no session yet,
uses a signed double-submit cookie.
"""

from __future__ import annotations

import hmac
import os
import secrets

from itsdangerous import BadSignature, URLSafeTimedSerializer

from speleo.config import Home
from speleo.ops.sessions import SessionStore, WebSession

COOKIE = "speleo_session"
LOGIN_COOKIE = "speleo_login_csrf"


def ensure_secret(home: Home) -> str:
    path = home.root / "web_secret"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(48) + "\n")
    return path.read_text().strip()


class Sessions:
    """Signs session ids into cookies and finds their server-side sessions."""

    def __init__(self, secret: str, store: SessionStore) -> None:
        self.store = store
        self.signer = URLSafeTimedSerializer(secret, salt="speleo-session-id")
        self.login_signer = URLSafeTimedSerializer(secret, salt="speleo-login")

    @property
    def max_age(self) -> int:
        """Seconds the cookie is kept by the browser (the session's absolute timeout)."""
        return int(self.store.absolute_secs)

    def issue(self, user_id: int, client: str | None = None) -> tuple[str, WebSession]:
        """A new server-side session: (the cookie value, the session with its CSRF token)."""
        sid, session = self.store.create(user_id, client)
        return self.signer.dumps(sid), session

    def session_id(self, cookie: str | None) -> str | None:
        """The session id a cookie carries when its signature is good, else None."""
        if not cookie:
            return None
        try:
            sid = self.signer.loads(cookie, max_age=self.max_age)
        except BadSignature:
            return None
        return sid if isinstance(sid, str) else None

    def find(self, cookie: str | None) -> WebSession | None:
        return self.store.find(self.session_id(cookie))

    def revoke(self, cookie: str | None, reason: str = "logout") -> bool:
        return self.store.revoke(self.session_id(cookie), reason)

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


def csrf_ok(session: WebSession, presented: str | None) -> bool:
    return bool(presented) and hmac.compare_digest(session.csrf, presented)


def cookie_flags(request) -> dict:
    https = request.url.scheme == "https" or request.headers.get("x-forwarded-proto", "").lower() == "https"
    return {"httponly": True, "samesite": "lax", "secure": https, "path": "/"}
