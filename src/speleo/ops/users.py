"""Users: accounts in the operations database (`speleo.ops.db`), passwords hashed with Argon2id.

The first time the server starts with no user at all, `ensure_first_admin` creates `admin`
with a random password and returns it so the caller prints it once on standard output; it is
never written anywhere else (no log, no file).
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import Float, Integer, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from speleo.config import Home
from speleo.errors import ConflictError, InputError, NotFoundError
from speleo.ops.db import Base, Database

ROLES = ("admin", "user")
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


@dataclass(frozen=True)
class User:
    id: int
    name: str
    role: str
    password_changed: float


def _user(row: UserRow) -> User:
    return User(row.id, row.name, row.role, row.password_changed)


class Users:
    """The users table of one home."""

    def __init__(self, home: Home) -> None:
        self.db = Database.for_home(home)
        self.engine = self.db.engine

    def close(self) -> None:
        """Nothing to do: the engine belongs to the process-wide `Database` of the home."""

    def count(self) -> int:
        with Session(self.engine) as s:
            return len(s.scalars(select(UserRow.id)).all())

    def get(self, user_id: int) -> User | None:
        with Session(self.engine) as s:
            row = s.get(UserRow, user_id)
            return _user(row) if row else None

    def list(self) -> list[User]:
        with Session(self.engine) as s:
            return [_user(r) for r in s.scalars(select(UserRow).order_by(UserRow.name))]

    def add(self, name: str, role: str, password: str) -> User:
        check_name(name)
        check_role(role)
        check_password(password)
        now = time.time()
        with Session(self.engine) as s:
            if s.scalars(select(UserRow).where(UserRow.name == name)).first():
                raise ConflictError(f"user '{name}' already exists")
            row = UserRow(name=name, role=role, password_hash=_hasher.hash(password), created=now, password_changed=now)
            s.add(row)
            s.commit()
            return _user(row)

    def set_password(self, name: str, password: str) -> None:
        check_password(password)
        with Session(self.engine) as s:
            row = s.scalars(select(UserRow).where(UserRow.name == name)).first()
            if row is None:
                raise NotFoundError(f"no user named '{name}' (see 'speleo user list')")
            row.password_hash = _hasher.hash(password)
            row.password_changed = time.time()
            s.commit()

    def authenticate(self, name: str, password: str) -> User | None:
        """The user when the password matches, else None (same cost for unknown names)."""
        with Session(self.engine) as s:
            row = s.scalars(select(UserRow).where(UserRow.name == name)).first()
            try:
                _hasher.verify(row.password_hash if row else _DUMMY_HASH, password)
            except (VerifyMismatchError, VerificationError, InvalidHashError):
                return None
            if row is None:
                return None
            if _hasher.check_needs_rehash(row.password_hash):
                row.password_hash = _hasher.hash(password)
                s.commit()
            return _user(row)

    def ensure_first_admin(self, password: str | None = None) -> str | None:
        """Create `admin` when there is no user, with `password` (`speleo serve
        --admin-password-file`) or else a random one; returns the password (None: users exist)."""
        if self.count():
            return None
        password = password or secrets.token_urlsafe(12)
        self.add("admin", "admin", password)
        return password


def check_name(name: str) -> None:
    if not name or len(name) > 64 or not all(c.isalnum() or c in "._-@" for c in name):
        raise InputError(f"bad user name {name!r}: use 1-64 letters, digits, '.', '_', '-', '@'")


def check_role(role: str) -> None:
    if role not in ROLES:
        raise InputError(f"bad role {role!r}: one of {', '.join(ROLES)}")


def check_password(password: str) -> None:
    if len(password) < 8:
        raise InputError("password too short: at least 8 characters")
