"""Search history: every search a user ran from the search page, per user, in the operations
database (table `search_history`, one row per run). Splunk keeps the same list in its search
history (the "Search History" panel of the Search app: the search, its time range, when it ran).

A user keeps at most `MAX_PER_USER` runs (the oldest go first), so the table stays bounded
whatever a browser sends. Listing folds identical runs (same SPL and range as written) into one
entry with how many times it ran and the latest run's counts.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from sqlalchemy import Float, Integer, String, Text, delete, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from speleo.errors import InputError
from speleo.ops.db import Base

MAX_PER_USER = 1000          # runs kept per user
MAX_SEARCH_CHARS = 100_000   # as saved searches
MAX_LIST = 500               # entries one listing answers at most


class HistoryRow(Base):
    __tablename__ = "search_history"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(Integer, nullable=False, index=True)
    search: Mapped[str] = mapped_column(Text, nullable=False)
    earliest: Mapped[str | None] = mapped_column(String(64), nullable=True)
    latest: Mapped[str | None] = mapped_column(String(64), nullable=True)
    ran_at: Mapped[float] = mapped_column(Float, nullable=False)
    state: Mapped[str] = mapped_column(String(16), nullable=False)
    result_count: Mapped[int | None] = mapped_column(Integer, nullable=True)
    run_secs: Mapped[float | None] = mapped_column(Float, nullable=True)


@dataclass
class HistoryEntry:
    """One search as the history lists it: the latest run of that SPL and range."""
    search: str
    earliest: str | None
    latest: str | None
    last_run: float          # epoch seconds UTC
    runs: int
    state: str               # done | failed | cancelled (of the latest run)
    result_count: int | None
    run_secs: float | None

    def to_dict(self) -> dict:
        return asdict(self)


def _bound(v) -> str | None:
    if v is None:
        return None
    v = str(v).strip()
    return v[:64] or None


class SearchHistory:
    """The search history of every user of one home (`engine`: the operations database's)."""

    def __init__(self, engine) -> None:
        self.engine = engine

    def record(self, user_id: int, search: str, earliest, latest, ran_at: float, state: str,
               result_count: int | None = None, run_secs: float | None = None) -> None:
        """Add one run of `user_id` (`earliest`/`latest` as the user wrote them: `-24h`, an
        ISO date, an epoch) and forget their runs past MAX_PER_USER. Raises InputError for an
        empty or oversized search."""
        text = (search or "").strip()
        if not text:
            raise InputError("search: the SPL text is empty")
        if len(text) > MAX_SEARCH_CHARS:
            raise InputError(f"search: {MAX_SEARCH_CHARS:,} characters at most")
        with Session(self.engine) as s:
            s.add(HistoryRow(user_id=user_id, search=text, earliest=_bound(earliest), latest=_bound(latest),
                             ran_at=float(ran_at), state=str(state)[:16], result_count=result_count,
                             run_secs=None if run_secs is None else round(float(run_secs), 3)))
            s.flush()
            keep = select(HistoryRow.id).where(HistoryRow.user_id == user_id) \
                .order_by(HistoryRow.ran_at.desc(), HistoryRow.id.desc()).limit(MAX_PER_USER)
            cutoff = s.scalars(keep.offset(MAX_PER_USER - 1)).first()
            if cutoff is not None:
                s.execute(delete(HistoryRow).where(HistoryRow.user_id == user_id, HistoryRow.id < cutoff))
            s.commit()

    def list(self, user_id: int | None, limit: int = 50, contains: str = "") -> list[dict]:
        """The searches of `user_id` (None: every user's, each entry with its `user_id`), newest
        run first, identical search and range folded into one entry (`runs`); `contains`
        keeps those whose SPL holds that text (case-insensitive)."""
        limit = max(1, min(int(limit), MAX_LIST))
        cols = (HistoryRow.user_id, HistoryRow.search, HistoryRow.earliest, HistoryRow.latest)
        with Session(self.engine) as s:
            last = select(*cols, func.max(HistoryRow.id).label("last_id"), func.count().label("runs")) \
                .group_by(*cols)
            if user_id is not None:
                last = last.where(HistoryRow.user_id == user_id)
            if contains:
                last = last.where(func.lower(HistoryRow.search).contains(contains.lower(), autoescape=True))
            sub = last.subquery()
            q = select(HistoryRow, sub.c.runs).join(sub, HistoryRow.id == sub.c.last_id) \
                .order_by(HistoryRow.ran_at.desc(), HistoryRow.id.desc()).limit(limit)
            out = []
            for row, runs in s.execute(q):
                d = HistoryEntry(row.search, row.earliest, row.latest, row.ran_at, int(runs), row.state,
                                 row.result_count, row.run_secs).to_dict()
                if user_id is None:
                    d["user_id"] = row.user_id
                out.append(d)
            return out

    def clear(self, user_id: int) -> int:
        """Forget every run of `user_id`; returns how many."""
        with Session(self.engine) as s:
            n = s.execute(delete(HistoryRow).where(HistoryRow.user_id == user_id)).rowcount
            s.commit()
            return int(n or 0)
