"""The operations database for incident tests: SQLite in a temporary home, and PostgreSQL too
when a server can be started (see tests/ops/pg.py); each test runs once per database."""

from __future__ import annotations

import pytest

from speleo.ops.db import Database


@pytest.fixture(params=["sqlite", "postgresql"])
def ops_db(request, tmp_path):
    if request.param == "sqlite":
        db = Database(f"sqlite:///{tmp_path / 'ops.sqlite'}")
    else:
        from tests.ops.pg import fresh_database

        db = Database(fresh_database(request))
    db.migrate()
    yield db
    db.close()
