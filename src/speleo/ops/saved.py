"""Saved searches: name, SPL, time range, per owner, in the operations database (table `saved_searches`).

The owner is a web user's id; searches saved with the API token belong to owner 0 ("api token").
Names are unique per owner.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

from sqlalchemy import Float, Integer, String, Text, UniqueConstraint, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from speleo.errors import ConflictError, InputError, NotFoundError
from speleo.ops.db import Base
from speleo.ops.users import Users

API_OWNER = 0


class SavedRow(Base):
    __tablename__ = "saved_searches"
    __table_args__ = (UniqueConstraint("owner_id", "name"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner_id: Mapped[int] = mapped_column(Integer, nullable=False, index=True)
    name: Mapped[str] = mapped_column(String(120), nullable=False)
    search: Mapped[str] = mapped_column(Text, nullable=False)
    earliest: Mapped[str | None] = mapped_column(String(64), nullable=True)
    latest: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created: Mapped[float] = mapped_column(Float, nullable=False)
    updated: Mapped[float] = mapped_column(Float, nullable=False)
    # Splunk's scheduling and alerting attributes (canonical keys, JSON; speleo.alerts.spec)
    attrs: Mapped[str | None] = mapped_column(Text, nullable=True)
    app: Mapped[str | None] = mapped_column(String(80), nullable=True)
    sharing: Mapped[str | None] = mapped_column(String(16), nullable=True)


@dataclass
class Saved:
    id: int
    owner_id: int
    name: str
    search: str
    earliest: str | None
    latest: str | None
    created: float
    updated: float

    def to_dict(self) -> dict:
        return asdict(self)


def _saved(r: SavedRow) -> Saved:
    return Saved(r.id, r.owner_id, r.name, r.search, r.earliest, r.latest, r.created, r.updated)


def _clean_time(v) -> str | None:
    if v is None:
        return None
    v = str(v).strip()
    if len(v) > 64:
        raise InputError("earliest/latest: 64 characters at most")
    return v or None


class SavedSearches:
    def __init__(self, users: Users) -> None:
        self.engine = users.engine

    def list(self, owner: int | None) -> list[Saved]:
        """The owner's saved searches by name (owner None: everyone's)."""
        with Session(self.engine) as s:
            q = select(SavedRow).order_by(SavedRow.owner_id, SavedRow.name)
            if owner is not None:
                q = q.where(SavedRow.owner_id == owner)
            return [_saved(r) for r in s.scalars(q)]

    def save(self, owner: int, name: str, search: str, earliest=None, latest=None, replace: bool = False) -> tuple[Saved, bool]:
        """Create (or, with `replace`, overwrite) a saved search; returns it and whether it is new."""
        name = (name or "").strip()
        if not name or len(name) > 120 or any(ord(c) < 32 for c in name):
            raise InputError("name: 1-120 printable characters")
        if not (search or "").strip():
            raise InputError("search: the SPL text is empty")
        if len(search) > 100_000:
            raise InputError("search: 100,000 characters at most")
        now = time.time()
        with Session(self.engine) as s:
            row = s.scalars(select(SavedRow).where(SavedRow.owner_id == owner, SavedRow.name == name)).first()
            if row is not None and not replace:
                raise ConflictError(f"a saved search named '{name}' exists already (send \"replace\": true to overwrite it)")
            created = row is None
            if row is None:
                row = SavedRow(owner_id=owner, name=name, created=now)
                s.add(row)
            row.search, row.earliest, row.latest, row.updated = search.strip(), _clean_time(earliest), _clean_time(latest), now
            s.commit()
            return _saved(row), created

    def get(self, owner: int | None, saved_id: int) -> Saved:
        with Session(self.engine) as s:
            row = s.get(SavedRow, saved_id)
            if row is None or (owner is not None and row.owner_id != owner):
                raise NotFoundError(f"no saved search with id {saved_id}")
            return _saved(row)

    def delete(self, owner: int | None, saved_id: int) -> None:
        """Delete one (owner None: any owner's, for the API token)."""
        with Session(self.engine) as s:
            row = s.get(SavedRow, saved_id)
            if row is None or (owner is not None and row.owner_id != owner):
                raise NotFoundError(f"no saved search with id {saved_id}")
            s.delete(row)
            s.commit()
