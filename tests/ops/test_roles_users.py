"""Roles (imports, index patterns, built-ins), users with several roles, and the migration of
users from before roles existed."""

from __future__ import annotations

import sqlite3

import pytest

from speleo.config import Home
from speleo.errors import ConflictError, InputError
from speleo.ops.db import Database
from speleo.ops.users import Users


def test_old_users_keep_their_role_after_the_migration(tmp_path):
    con = sqlite3.connect(tmp_path / "ops.sqlite")
    con.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, name VARCHAR(64) UNIQUE NOT NULL, role VARCHAR(16) NOT NULL,"
                " password_hash VARCHAR(255) NOT NULL, created FLOAT NOT NULL, password_changed FLOAT NOT NULL)")
    con.execute("INSERT INTO users VALUES (7, 'old', 'user', 'x', 1.0, 1.0)")
    con.execute("INSERT INTO users VALUES (8, 'boss', 'admin', 'x', 1.0, 1.0)")
    con.commit()
    con.close()
    Database(f"sqlite:///{tmp_path / 'ops.sqlite'}").migrate()
    con = sqlite3.connect(tmp_path / "ops.sqlite")
    assert sorted(con.execute("SELECT user_id, role FROM user_roles").fetchall()) == [(7, "user"), (8, "admin")]
    assert con.execute("SELECT disabled FROM users WHERE id = 7").fetchone() == (0,)


def test_grants_add_up_imports_transitively_and_ignore_cycles(tmp_path):
    users = Users(Home(tmp_path / "home"))
    roles = users.roles
    assert {r.name for r in roles.list()} == {"admin", "power", "user", "can_delete"}
    g = roles.grant(["admin"])
    assert "delete_by_keyword" not in g.capabilities and {"search", "edit_lookups", "edit_user"} <= g.capabilities
    assert g.allowed == ("*", "_*")
    roles.create("a", ["list_inputs"], allowed=["web"], default=["web"])
    roles.create("b", ["edit_monitor"], import_roles=["a"], allowed=["db-*"])
    roles.edit("a", import_roles=["b"])                       # a cycle: a -> b -> a
    g = roles.grant(["b"])
    assert g.capabilities == {"list_inputs", "edit_monitor"}
    assert g.allowed == ("db-*", "web") and g.default == ("web",)
    assert roles.grant(["user", "can_delete"]).capabilities == {"search", "edit_incidents", "delete_by_keyword"}


def test_bad_roles_are_refused_with_the_reason(tmp_path):
    users = Users(Home(tmp_path / "home"))
    with pytest.raises(InputError, match="unknown capability 'fly'"):
        users.roles.create("x", ["fly"])
    with pytest.raises(InputError, match="bad role name"):
        users.roles.create("X Y", [])
    with pytest.raises(InputError, match="bad index pattern"):
        users.roles.create("x", [], allowed=["web;drop"])
    with pytest.raises(InputError, match="importRoles: no role named 'ghost'"):
        users.roles.create("x", [], import_roles=["ghost"])
    with pytest.raises(ConflictError):
        users.roles.create("user", [])
    with pytest.raises(InputError, match="built-in"):
        users.roles.remove("power")
    with pytest.raises(InputError, match="no role named 'nope'"):
        users.add("u", ["nope"], "password-1")
    users.roles.create("temp", ["search"])
    u = users.add("u", ["temp", "power"], "password-1")
    assert set(u.roles) == {"temp", "power"}
    users.roles.remove("temp")
    assert users.by_name("u").roles == ("power",)


def test_first_admin_takes_a_given_password(tmp_path):
    users = Users(Home(tmp_path / "home"))
    assert users.ensure_first_admin("given-password-1") == "given-password-1"
    assert users.authenticate("admin", "given-password-1").roles == ("admin",)
    assert users.ensure_first_admin() is None                 # only when there is no user at all
    other = Users(Home(tmp_path / "home2"))
    made = other.ensure_first_admin()
    assert made and other.authenticate("admin", made) is not None
    with pytest.raises(InputError):
        Users(Home(tmp_path / "home3")).ensure_first_admin("short")


def test_search_limits_are_checked_stored_and_the_most_permissive_role_wins(tmp_path):
    from speleo.query.scope import SearchLimits

    roles = Users(Home(tmp_path / "home")).roles
    assert roles.grant(["admin"]).limits == SearchLimits()        # built-ins set none
    roles.create("slow", ["search"], allowed=["*"], limits={"srchMaxTime": "10m", "srchJobsQuota": 2,
                                                            "srchMaxMemory": "256MB", "srchMaxRowsRead": "5000"})
    roles.create("fast", ["search"], allowed=["*"], limits={"srchMaxTime": 30, "srchMaxRowsRead": 100000})
    d = roles.get("slow").to_dict()
    assert (d["srchMaxTime"], d["srchJobsQuota"], d["srchMaxMemory"], d["srchMaxRowsRead"]) == (600, 2, 256 << 20, 5000)
    assert roles.get("fast").to_dict()["srchMaxMemory"] is None
    # two roles: the larger of each; a setting only one role has counts; 0 lifts the limit
    g = roles.grant(["slow", "fast"])
    assert g.limits == SearchLimits(max_time_secs=600, max_rows_read=100000, max_memory_bytes=256 << 20, jobs_quota=2)
    roles.create("free", ["search"], limits={"srchMaxRowsRead": 0})
    assert roles.grant(["fast", "free"]).limits.max_rows_read == 0
    # imports add up the same way
    roles.create("child", ["search"], import_roles=["slow"], limits={"srchMaxTime": 60})
    assert roles.grant(["child"]).limits.max_time_secs == 600
    # edit one; remove one with None; others unchanged
    _, diff = roles.edit("slow", limits={"srchMaxTime": "2h", "srchJobsQuota": None})
    assert diff == {"srchMaxTime": [600, 7200], "srchJobsQuota": [2, None]}
    d = roles.get("slow").to_dict()
    assert (d["srchMaxTime"], d["srchJobsQuota"], d["srchMaxRowsRead"]) == (7200, None, 5000)
    for bad, why in (({"srchMaxTime": "5 years"}, "srchMaxTime"), ({"srchMaxMemory": "1MB"}, "at least 16MB"),
                     ({"srchMaxRowsRead": "-3"}, "whole number"), ({"srchJobsQuota": 5000}, "at most 1000"),
                     ({"maxSearches": 3}, "unknown search limit"), ({"srchMaxTime": "99999d"}, "at most 365d"),
                     ({"srchMaxRowsRead": "9" * 30}, "at most 10"), ({"srchMaxMemory": "9999999TB"}, "at most"),
                     ({"srchMaxTime": "nan"}, "srchMaxTime"), ({"srchMaxTime": float("inf")}, "srchMaxTime")):
        with pytest.raises(InputError, match=why):
            roles.create("x", ["search"], limits=bad)
    assert not roles.exists("x")
