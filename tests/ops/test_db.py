"""The operations database: migrations on a fresh and on an old home, change history."""

from __future__ import annotations

import sqlite3

from sqlalchemy import select

from speleo.config import Home
from speleo.ops.db import ChangeRow, Database, record_change, redact


def test_fresh_home_is_migrated_to_every_head(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'ops.sqlite'}")
    db.migrate()
    con = sqlite3.connect(tmp_path / "ops.sqlite")
    tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"users", "saved_searches", "record_changes", "alembic_version"} <= tables
    assert con.execute("SELECT count(*) FROM alembic_version").fetchone()[0] >= 1


def test_home_from_before_migrations_keeps_its_users(tmp_path):
    # a home written by the earlier create_all code: users table with a row, no alembic_version
    con = sqlite3.connect(tmp_path / "ops.sqlite")
    con.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, name VARCHAR(64) UNIQUE NOT NULL, role VARCHAR(16) NOT NULL,"
                " password_hash VARCHAR(255) NOT NULL, created FLOAT NOT NULL, password_changed FLOAT NOT NULL)")
    con.execute("INSERT INTO users VALUES (7, 'old', 'user', 'x', 1.0, 1.0)")
    con.commit()
    con.close()
    db = Database(f"sqlite:///{tmp_path / 'ops.sqlite'}")
    db.migrate()
    db.migrate()  # idempotent
    con = sqlite3.connect(tmp_path / "ops.sqlite")
    assert con.execute("SELECT id, name FROM users").fetchall() == [(7, "old")]


def test_record_change_keeps_who_when_old_and_new(tmp_path):
    db = Database.for_home(Home(tmp_path / "home"))
    with db.session() as s:
        record_change(s, "incident", 3, "status", "triage", "investigating", "alice", at=100.0)
        record_change(s, "incident", 3, "severity", 2, 2, "alice")  # unchanged: no row
    with db.session() as s:
        rows = s.scalars(select(ChangeRow)).all()
    assert [(r.record_type, r.record_id, r.field, r.old, r.new, r.actor, r.at) for r in rows] == [
        ("incident", "3", "status", "triage", "investigating", "alice", 100.0)]


def test_redact_hides_the_password():
    assert redact("postgresql+psycopg://ops:s3cret@db:5432/speleo") == "postgresql+psycopg://ops:***@db:5432/speleo"
