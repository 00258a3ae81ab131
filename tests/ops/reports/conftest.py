"""The operations database for report tests: SQLite, and PostgreSQL when it can be started
(tests/ops/pg.py); a test using `ops_db` runs once per database."""

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
