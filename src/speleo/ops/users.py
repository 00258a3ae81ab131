"""Users: accounts in the operations database (`speleo.ops.db`), passwords hashed with Argon2id.

A user holds one or more roles (`speleo.ops.roles`; table `user_roles`; `UserRow.role` keeps the
first one, for older readers) and may be disabled (it cannot sign in; its sessions end).
Changing a password or disabling a user revokes the user's web sessions (`speleo.ops.sessions`).
Every change is kept in `record_changes` with its actor.

The first time the server starts with no user at all, `ensure_first_admin` creates `admin`
with the password it is given (`speleo serve --admin-password-file`) or a random one, which it
returns so the caller prints it once on standard output; it is never written anywhere else.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import Float, Integer, String, delete, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from speleo.config import Home
from speleo.errors import ConflictError, InputError, NotFoundError
from speleo.ops.db import Base, Database, record_change
from speleo.ops.roles import Roles, UserRoleRow
from speleo.ops.sessions import SessionStore

_hasher = PasswordHasher()
# a real hash, so that signing in as an unknown user costs the same time as a wrong password
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


class UserRow(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    role: Mapped[str] = mapped_column(String(16), nullable=False)
    password_hash: Mapped[str] = mapped_column(String(255), nullable=False)
    created: Mapped[float] = mapped_column(Float, nullable=False)
    password_changed: Mapped[float] = mapped_column(Float, nullable=False)
    disabled: Mapped[int] = mapped_column(Integer, nullable=False, default=0)


@dataclass(frozen=True)
class User:
    id: int
    name: str
    role: str                      # the first of `roles`
    password_changed: float
    roles: tuple[str, ...] = ()
    disabled: bool = False

    def to_dict(self) -> dict:
        return {"name": self.name, "roles": list(self.roles), "disabled": self.disabled}


def _user(row: UserRow, roles: tuple[str, ...] | None = None) -> User:
    roles = roles if roles else (row.role,)
    first = row.role if row.role in roles else roles[0]
    return User(row.id, row.name, first, row.password_changed, tuple(roles), bool(row.disabled))


def _roles_of(s: Session, user_id: int) -> tuple[str, ...]:
    return tuple(s.scalars(select(UserRoleRow.role).where(UserRoleRow.user_id == user_id).order_by(UserRoleRow.role)))


class Users:
    """The users table of one home."""

    def __init__(self, home: Home) -> None:
        self.db = Database.for_home(home)
        self.engine = self.db.engine
        self.roles = Roles(self.db)
        self.sessions = SessionStore(self.db)

    def close(self) -> None:
        """Nothing to do: the engine belongs to the process-wide `Database` of the home."""

    def count(self) -> int:
        with Session(self.engine) as s:
            return len(s.scalars(select(UserRow.id)).all())

    def get(self, user_id: int) -> User | None:
        with Session(self.engine) as s:
            row = s.get(UserRow, user_id)
            return _user(row, _roles_of(s, row.id)) if row else None

    def by_name(self, name: str) -> User:
        """Raises NotFoundError."""
        with Session(self.engine) as s:
            row = self._row(s, name)
            return _user(row, _roles_of(s, row.id))

    def list(self) -> list[User]:
        with Session(self.engine) as s:
            return [_user(r, _roles_of(s, r.id)) for r in s.scalars(select(UserRow).order_by(UserRow.name))]

    def add(self, name: str, role: str | list[str] | tuple[str, ...], password: str, actor: str = "system") -> User:
        """Create a user with one or more roles. Raises InputError, ConflictError."""
        check_name(name)
        roles = self._check_roles([role] if isinstance(role, str) else list(role))
        check_password(password)
        now = time.time()
        with self.db.session() as s:
            if s.scalars(select(UserRow).where(UserRow.name == name)).first():
                raise ConflictError(f"user '{name}' already exists")
            row = UserRow(name=name, role=roles[0], password_hash=_hasher.hash(password), created=now,
                          password_changed=now, disabled=0)
            s.add(row)
            s.flush()
            for r in roles:
                s.add(UserRoleRow(user_id=row.id, role=r))
            record_change(s, "user", name, "created", None, {"roles": list(roles)}, actor)
            return _user(row, tuple(sorted(roles)))

    def set_roles(self, name: str, roles: list[str], actor: str = "system") -> User:
        """Replace a user's roles. Raises NotFoundError, InputError."""
        roles = self._check_roles(roles)
        with self.db.session() as s:
            row = self._row(s, name)
            old = _roles_of(s, row.id)
            s.execute(delete(UserRoleRow).where(UserRoleRow.user_id == row.id))
            for r in roles:
                s.add(UserRoleRow(user_id=row.id, role=r))
            row.role = roles[0]
            record_change(s, "user", name, "roles", list(old), sorted(roles), actor)
        return self.by_name(name)

    def set_password(self, name: str, password: str, actor: str = "system") -> int:
        """Set a password and end the user's sessions; returns how many sessions ended."""
        check_password(password)
        with self.db.session() as s:
            row = self._row(s, name)
            row.password_hash = _hasher.hash(password)
            row.password_changed = time.time()
            record_change(s, "user", name, "password", None, "changed", actor)
            uid = row.id
        return self.sessions.revoke_user(uid, "password changed")

    def set_disabled(self, name: str, disabled: bool, actor: str = "system") -> int:
        """Disable (sessions end, sign-in refused) or enable a user; returns the sessions ended."""
        with self.db.session() as s:
            row = self._row(s, name)
            record_change(s, "user", name, "disabled", bool(row.disabled), disabled, actor)
            row.disabled = 1 if disabled else 0
            uid = row.id
        return self.sessions.revoke_user(uid, "user disabled") if disabled else 0

    def sign_out(self, name: str, actor: str = "system") -> int:
        """End every session of a user ("sign out everywhere"); returns how many were live."""
        user = self.by_name(name)
        with self.db.session() as s:
            record_change(s, "user", name, "signed_out", None, "everywhere", actor)
        return self.sessions.revoke_user(user.id, "signed out by an admin")

    def authenticate(self, name: str, password: str) -> User | None:
        """The user when the password matches and the user is enabled, else None (the same
        Argon2 cost for unknown names, so timing does not tell which names exist)."""
        with Session(self.engine) as s:
            row = s.scalars(select(UserRow).where(UserRow.name == name)).first()
            try:
                _hasher.verify(row.password_hash if row else _DUMMY_HASH, password)
            except (VerifyMismatchError, VerificationError, InvalidHashError):
                return None
            if row is None or row.disabled:
                return None
            if _hasher.check_needs_rehash(row.password_hash):
                row.password_hash = _hasher.hash(password)
                s.commit()
            return _user(row, _roles_of(s, row.id))

    def ensure_first_admin(self, password: str | None = None) -> str | None:
        """Create `admin` (role admin) when there is no user at all, with `password` (`speleo
        serve --admin-password-file`) or else a random one; returns the password (None: users
        exist). Raises InputError for a given password under 8 characters."""
        if self.count():
            return None
        password = password or secrets.token_urlsafe(12)
        self.add("admin", "admin", password, actor="first start")
        return password

    def _row(self, s: Session, name: str) -> UserRow:
        row = s.scalars(select(UserRow).where(UserRow.name == name)).first()
        if row is None:
            raise NotFoundError(f"no user named '{name}' (see 'speleo user list')")
        return row

    def _check_roles(self, roles: list[str]) -> tuple[str, ...]:
        roles = [r.strip() for r in roles if r and r.strip()]
        if not roles:
            raise InputError("a user needs at least one role (see 'speleo role list')")
        for r in roles:
            if not self.roles.exists(r):
                raise InputError(f"no role named {r!r}: one of {', '.join(x.name for x in self.roles.list())}")
        return tuple(dict.fromkeys(roles))


def check_name(name: str) -> None:
    if not name or len(name) > 64 or not all(c.isalnum() or c in "._-@" for c in name):
        raise InputError(f"bad user name {name!r}: use 1-64 letters, digits, '.', '_', '-', '@'")


def check_password(password: str) -> None:
    if len(password) < 8:
        raise InputError("password too short: at least 8 characters")
