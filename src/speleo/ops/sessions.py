"""Web sessions kept on the server (table `web_sessions`), so that they can be ended.

A session id is 32 random bytes (URL-safe text) handed to the browser in a signed cookie; the
database keeps only its SHA-256, so a copy of the database signs nobody in. A session ends when
it is revoked (sign-out, password change, the user disabled, an admin's "sign out everywhere"),
when it has not been used for `idle_secs`, or `absolute_secs` after it began, whichever comes
first (Splunk web.conf `tools.sessions.timeout` is the idle one; 60 minutes there too).

Times are epoch seconds UTC from the injectable clock (`speleo.clock`).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import Float, Integer, String, select, update
from sqlalchemy.orm import Mapped, mapped_column

from speleo.clock import Clock, SystemClock
from speleo.ops.db import Base

IDLE_SECS = 3600.0
ABSOLUTE_SECS = 24 * 3600.0
TOUCH_SECS = 30.0   # last_seen is written at most this often per session


class SessionRow(Base):
    __tablename__ = "web_sessions"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)   # sha256 hex of the session id
    user_id: Mapped[int] = mapped_column(Integer, nullable=False, index=True)
    csrf: Mapped[str] = mapped_column(String(64), nullable=False)
    created: Mapped[float] = mapped_column(Float, nullable=False)
    last_seen: Mapped[float] = mapped_column(Float, nullable=False)
    expires: Mapped[float] = mapped_column(Float, nullable=False)
    revoked: Mapped[float | None] = mapped_column(Float, nullable=True)
    revoked_reason: Mapped[str | None] = mapped_column(String(64), nullable=True)
    client: Mapped[str | None] = mapped_column(String(64), nullable=True)


@dataclass(frozen=True)
class WebSession:
    key: str          # the stored hash (safe to log: it signs nobody in)
    user_id: int
    csrf: str
    created: float
    last_seen: float
    expires: float


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


class SessionStore:
    """Create, find and revoke web sessions in the operations database."""

    def __init__(self, db, clock: Clock | None = None, idle_secs: float = IDLE_SECS,
                 absolute_secs: float = ABSOLUTE_SECS) -> None:
        self.db = db
        self.clock = clock or SystemClock()
        self.idle_secs = idle_secs
        self.absolute_secs = absolute_secs

    def create(self, user_id: int, client: str | None = None) -> tuple[str, WebSession]:
        """A new session: (the id for the cookie, the session)."""
        sid = secrets.token_urlsafe(32)
        now = self.clock.time()
        row = SessionRow(id=_hash(sid), user_id=user_id, csrf=secrets.token_urlsafe(24), created=now, last_seen=now,
                         expires=now + self.absolute_secs, client=(client or "")[:64])
        with self.db.session() as s:
            s.add(row)
            self._purge(s, now)
        return sid, WebSession(row.id, user_id, row.csrf, now, now, row.expires)

    def find(self, session_id: str | None) -> WebSession | None:
        """The live session of an id (not revoked, not idle too long, not past its end), or None.
        Marks it used."""
        if not session_id:
            return None
        now = self.clock.time()
        with self.db.session() as s:
            row = s.get(SessionRow, _hash(session_id))
            if row is None or row.revoked is not None or now >= row.expires or now - row.last_seen >= self.idle_secs:
                return None
            if now - row.last_seen >= TOUCH_SECS:
                row.last_seen = now
            return WebSession(row.id, row.user_id, row.csrf, row.created, row.last_seen, row.expires)

    def revoke(self, session_id: str | None, reason: str = "logout") -> bool:
        """End one session; True when a live one was ended."""
        if not session_id:
            return False
        return self._revoke(SessionRow.id == _hash(session_id), reason) > 0

    def revoke_user(self, user_id: int, reason: str) -> int:
        """End every session of a user; returns how many were live."""
        return self._revoke(SessionRow.user_id == user_id, reason)

    def live_count(self, user_id: int) -> int:
        now = self.clock.time()
        with self.db.session() as s:
            rows = s.scalars(select(SessionRow).where(SessionRow.user_id == user_id, SessionRow.revoked.is_(None),
                                                      SessionRow.expires > now))
            return sum(1 for r in rows if now - r.last_seen < self.idle_secs)

    def _revoke(self, where, reason: str) -> int:
        with self.db.session() as s:
            res = s.execute(update(SessionRow).where(where, SessionRow.revoked.is_(None))
                            .values(revoked=self.clock.time(), revoked_reason=reason[:64]))
            return int(res.rowcount or 0)

    def _purge(self, s, now: float) -> None:
        """Forget sessions that ended more than a day ago (the table stays small)."""
        from sqlalchemy import delete, or_

        s.execute(delete(SessionRow).where(or_(SessionRow.expires < now - 86400,
                                               SessionRow.last_seen < now - self.idle_secs - 86400,
                                               SessionRow.revoked < now - 86400)))
