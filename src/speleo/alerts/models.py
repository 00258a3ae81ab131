"""Alert tables in the operations database (migration `0003_alerts`).

`alert_state` holds what the scheduler must not forget across restarts (next tick to decide,
last run, the previous run's measured value for rises/drops, a manual suppression);
`alert_throttle` the throttle keys with their expiry; `alert_runs` one row per run (the
`history` endpoint); `fired_alerts` Splunk's triggered-alert list.
"""

from __future__ import annotations

from sqlalchemy import Float, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from speleo.ops.db import Base


class StateRow(Base):
    __tablename__ = "alert_state"
    saved_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    next_scheduled: Mapped[float | None] = mapped_column(Float, nullable=True)
    last_scheduled: Mapped[float | None] = mapped_column(Float, nullable=True)
    last_status: Mapped[str | None] = mapped_column(String(32), nullable=True)
    prev_value: Mapped[float | None] = mapped_column(Float, nullable=True)
    prev_scheduled: Mapped[float | None] = mapped_column(Float, nullable=True)
    suppressed_until: Mapped[float | None] = mapped_column(Float, nullable=True)
    startup_pending: Mapped[int] = mapped_column(Integer, nullable=False, default=0)


class ThrottleRow(Base):
    __tablename__ = "alert_throttle"
    __table_args__ = (UniqueConstraint("scope", "key"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scope: Mapped[str] = mapped_column(String(300), nullable=False)
    key: Mapped[str] = mapped_column(String(64), nullable=False)
    saved_id: Mapped[int] = mapped_column(Integer, nullable=False, index=True)
    expires: Mapped[float] = mapped_column(Float, nullable=False)


class RunRow(Base):
    __tablename__ = "alert_runs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    saved_id: Mapped[int] = mapped_column(Integer, nullable=False, index=True)
    savedsearch_name: Mapped[str] = mapped_column(String(120), nullable=False)
    sid: Mapped[str] = mapped_column(String(120), nullable=False, index=True)
    scheduled_time: Mapped[float] = mapped_column(Float, nullable=False)
    dispatch_time: Mapped[float | None] = mapped_column(Float, nullable=True)
    run_time: Mapped[float | None] = mapped_column(Float, nullable=True)
    status: Mapped[str] = mapped_column(String(32), nullable=False)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    result_count: Mapped[int | None] = mapped_column(Integer, nullable=True)
    measured: Mapped[float | None] = mapped_column(Float, nullable=True)
    triggered: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    suppressed: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    alert_actions: Mapped[str | None] = mapped_column(Text, nullable=True)


class FiredRow(Base):
    __tablename__ = "fired_alerts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    saved_id: Mapped[int] = mapped_column(Integer, nullable=False, index=True)
    savedsearch_name: Mapped[str] = mapped_column(String(120), nullable=False)
    owner_id: Mapped[int] = mapped_column(Integer, nullable=False)
    sid: Mapped[str] = mapped_column(String(120), nullable=False)
    trigger_time: Mapped[float] = mapped_column(Float, nullable=False)
    expiration_time: Mapped[float] = mapped_column(Float, nullable=False, index=True)
    severity: Mapped[int] = mapped_column(Integer, nullable=False)
    alert_type: Mapped[str] = mapped_column(String(16), nullable=False)
    digest_mode: Mapped[int] = mapped_column(Integer, nullable=False)
    actions: Mapped[str | None] = mapped_column(Text, nullable=True)
    triggered_alerts: Mapped[int] = mapped_column(Integer, nullable=False)
    result: Mapped[str | None] = mapped_column(Text, nullable=True)
