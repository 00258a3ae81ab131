"""Report tests use the incident tests' `ops_db` (SQLite, and PostgreSQL when it can be started)."""

from tests.ops.incidents.conftest import ops_db  # noqa: F401
