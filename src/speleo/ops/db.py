"""The operations database: users, saved searches, alert state and the operations records.

SQLAlchemy 2 over SQLite in the home (`<home>/ops.sqlite`) by default, or PostgreSQL when
`SPELEO_DATABASE_URL` names one (`postgresql+psycopg://user:pass@host/db`). The schema is
owned by Alembic migrations (`speleo/ops/migrations/versions/`), applied on open: every
domain package declares its tables on the one `Base` below and adds a migration.

Migrations may form several heads (independent domains each chain from `0001`); `migrate()`
upgrades to all of them (`alembic upgrade heads`).

Every change to an operations record is kept in `record_changes` (who, when, which field,
old and new value): call `record_change` in the same transaction as the change.
"""

from __future__ import annotations

import json
import os
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from sqlalchemy import Float, Integer, String, Text, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from speleo.config import Home
from speleo.errors import StorageError

URL_ENV = "SPELEO_DATABASE_URL"
MIGRATIONS = Path(__file__).resolve().parent / "migrations"


class Base(DeclarativeBase):
    """The declarative base of every operations table."""


class ChangeRow(Base):
    """One changed field of one record: the history every operations record keeps."""

    __tablename__ = "record_changes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    record_type: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    record_id: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    field: Mapped[str] = mapped_column(String(64), nullable=False)
    old: Mapped[str | None] = mapped_column(Text, nullable=True)
    new: Mapped[str | None] = mapped_column(Text, nullable=True)
    actor: Mapped[str] = mapped_column(String(120), nullable=False)
    at: Mapped[float] = mapped_column(Float, nullable=False)


def record_change(session: Session, record_type: str, record_id, field: str, old: Any, new: Any,
                  actor: str, at: float | None = None) -> None:
    """Add a history row for one field (values JSON-encoded unless already strings).

    Does nothing when `old == new`. Commits with the caller's transaction.
    """
    if old == new:
        return
    session.add(ChangeRow(record_type=record_type, record_id=str(record_id), field=field,
                          old=_text(old), new=_text(new), actor=actor or "system",
                          at=time.time() if at is None else at))


def _text(v: Any) -> str | None:
    if v is None or isinstance(v, str):
        return v
    return json.dumps(v, sort_keys=True, default=str)


def database_url(home: Home) -> str:
    """`$SPELEO_DATABASE_URL`, else the SQLite file `<home>/ops.sqlite`."""
    return os.environ.get(URL_ENV) or f"sqlite:///{home.root / 'ops.sqlite'}"


def _sqlite_pragmas(dbapi_con, _record) -> None:
    cur = dbapi_con.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


class Database:
    """One operations database: an engine, sessions, and its migrations.

    Raises StorageError when the database cannot be reached or migrated.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        kw: dict = {"future": True}
        if url.startswith("sqlite"):
            kw["connect_args"] = {"timeout": 30, "check_same_thread": False}
        else:
            kw["pool_pre_ping"] = True
        self.engine: Engine = create_engine(url, **kw)
        if url.startswith("sqlite"):
            event.listen(self.engine, "connect", _sqlite_pragmas)

    @classmethod
    def for_home(cls, home: Home) -> "Database":
        """The home's database, migrated to the current schema (cached per URL in a process)."""
        home.ensure()
        url = database_url(home)
        with _cache_lock:
            db = _cache.get(url)
            if db is None:
                db = cls(url)
                db.migrate()
                _cache[url] = db
            return db

    def migrate(self) -> None:
        """Apply every pending Alembic migration (`upgrade heads`)."""
        from alembic import command
        from alembic.config import Config

        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        try:
            with self.engine.begin() as con:
                cfg.attributes["connection"] = con
                command.upgrade(cfg, "heads")
        except Exception as e:  # an unreachable server, a read-only file: say which database
            raise StorageError(f"the operations database {redact(self.url)} could not be opened or migrated: {e}") from e

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session in a transaction: committed on success, rolled back on an exception."""
        with Session(self.engine, expire_on_commit=False) as s:
            with s.begin():
                yield s

    def close(self) -> None:
        self.engine.dispose()


def redact(url: str) -> str:
    """The URL without its password (for messages and logs)."""
    if "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    creds, host = rest.rsplit("@", 1)
    user = creds.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}"


_cache: dict[str, Database] = {}
_cache_lock = threading.Lock()
