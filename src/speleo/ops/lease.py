"""Leader leases: one server at a time runs the work that several servers sharing one operations
database (PostgreSQL, `SPELEO_DATABASE_URL`) must not each run: the alert scheduler and the ops
ticks (escalation steps, reminders, report schedules). Their rows make a restart safe; two
servers claiming the same due row at once would still each send it, so only the holder of the
lease acts.

A lease is one row of `leases` (name, holder, expires_at). `Lease.held(now)` renews it when this
process holds it, or takes it when it is free or expired, in one conditional UPDATE (INSERT for
a new name); it answers whether this process holds it now. The holder renews at every tick, so
a lease expires `ttl_secs` (default 15 s) after its holder stopped (kill -9, power loss, a
network partition from the database); another server then takes over. The clocks of the
servers should agree within a few seconds (NTP), as ClickHouse and PostgreSQL replicas expect.
With one server (the embedded default) the lease is always its own.
"""

from __future__ import annotations

import os
import secrets
import socket

from sqlalchemy import Float, String, insert, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from speleo.ops.db import Base

TTL_SECS = 15.0


class LeaseRow(Base):
    """Who holds a lease and until when (epoch seconds UTC)."""

    __tablename__ = "leases"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200), nullable=False)
    expires_at: Mapped[float] = mapped_column(Float, nullable=False)
    acquired_at: Mapped[float] = mapped_column(Float, nullable=False)


def process_holder() -> str:
    """This process's name as a lease holder: host, pid and a random part (a pid is reused)."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


class Lease:
    """The lease `name` in `db` (speleo.ops.db.Database) for `holder`."""

    def __init__(self, db, name: str, holder: str | None = None, ttl_secs: float = TTL_SECS) -> None:
        self.db, self.name, self.ttl = db, name, float(ttl_secs)
        self.holder = holder or process_holder()
        self.holding = False
        self.takeovers = 0          # times this process took the lease (for status and tests)

    def held(self, now: float) -> bool:
        """Renew or take the lease at `now`; True when this process holds it until now + ttl.
        A database error answers False (the work waits; another server may hold it)."""
        try:
            with self.db.session() as s:
                got = s.execute(update(LeaseRow).where(
                    LeaseRow.name == self.name,
                    (LeaseRow.holder == self.holder) | (LeaseRow.expires_at < now),
                ).values(holder=self.holder, expires_at=now + self.ttl)).rowcount == 1
                if got and not self.holding:
                    s.execute(update(LeaseRow).where(LeaseRow.name == self.name).values(acquired_at=now))
            if not got:
                got = self._create(now)
        except Exception:   # the database is away: hold nothing
            got = False
        if got and not self.holding:
            self.takeovers += 1
        self.holding = got
        return got

    def _create(self, now: float) -> bool:
        try:
            with self.db.session() as s:
                s.execute(insert(LeaseRow).values(name=self.name, holder=self.holder, expires_at=now + self.ttl,
                                                  acquired_at=now))
            return True
        except IntegrityError:   # another process made it first, or it exists and is held
            return False

    def release(self) -> None:
        """Let the lease go at once (a clean stop), so another server need not wait for it to expire."""
        try:
            with self.db.session() as s:
                s.execute(update(LeaseRow).where(LeaseRow.name == self.name, LeaseRow.holder == self.holder)
                          .values(expires_at=0.0))
        except Exception:
            pass
        self.holding = False

    def status(self) -> dict:
        return {"lease": self.name, "holder": self.holder, "held": self.holding, "takeovers": self.takeovers}
