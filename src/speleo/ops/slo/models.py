"""The `slos` table (Alembic revision `0005_reports`). Times are epoch seconds UTC."""

from __future__ import annotations

import json

from sqlalchemy import Float, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from speleo.ops.db import Base


class SloRow(Base):
    """One SLO. `good`/`total` hold SPL text (`*_kind` "spl") or a saved search's name ("saved");
    `alerts` is the JSON list of the generated burn-rate saved searches' names."""

    __tablename__ = "slos"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(120), nullable=False, unique=True)
    service: Mapped[str] = mapped_column(String(120), nullable=False, index=True)
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    good: Mapped[str] = mapped_column(Text, nullable=False)
    good_kind: Mapped[str] = mapped_column(String(8), nullable=False)
    total: Mapped[str] = mapped_column(Text, nullable=False)
    total_kind: Mapped[str] = mapped_column(String(8), nullable=False)
    objective: Mapped[float] = mapped_column(Float, nullable=False)   # percent, 0 < objective < 100
    window_days: Mapped[int] = mapped_column(Integer, nullable=False)
    alerts: Mapped[str] = mapped_column(Text, nullable=False, default="[]")
    created_by: Mapped[str] = mapped_column(String(120), nullable=False)
    created_at: Mapped[float] = mapped_column(Float, nullable=False)
    updated_at: Mapped[float] = mapped_column(Float, nullable=False)

    def to_dict(self) -> dict:
        d = {c: getattr(self, c) for c in ("id", "name", "service", "description", "good", "good_kind", "total",
                                          "total_kind", "objective", "window_days", "created_by", "created_at",
                                          "updated_at")}
        d["alerts"] = json.loads(self.alerts or "[]")
        return d
