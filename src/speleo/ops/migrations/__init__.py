"""Alembic migrations of the operations database (applied by `speleo.ops.db.Database.migrate`)."""
