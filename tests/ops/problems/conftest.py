"""Problem tests run on SQLite and on PostgreSQL (the incidents' `ops_db` fixture)."""

from tests.ops.incidents.conftest import ops_db  # noqa: F401
