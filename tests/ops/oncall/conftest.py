"""The operations database for on-call tests (SQLite, and PostgreSQL when a server can be started),
with users inserted directly (the on-call records check user names against the users table)."""

from __future__ import annotations

import pytest

from speleo.ops.db import Database


from tests.ops.incidents.conftest import ops_db  # noqa: F401,E402  (SQLite and PostgreSQL, as for incidents)


@pytest.fixture
def sqlite_db(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'ops.sqlite'}")
    db.migrate()
    yield db
    db.close()


def add_users(db: Database, *names: str) -> None:
    from speleo.ops.users import UserRow

    with db.session() as s:
        for n in names:
            s.add(UserRow(name=n, role="user", password_hash="x", created=0.0, password_changed=0.0, disabled=0))
