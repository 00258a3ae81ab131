"""Computed columns no later stage reads are dropped, and the answers do not change."""

from __future__ import annotations

import sqlglot

from speleo.spl.prune import prune_columns


def _prune(sql: str) -> str:
    return prune_columns(sqlglot.parse_one(sql, read="duckdb")).sql(dialect="duckdb")


def test_unread_aggregates_are_dropped():
    sql = ("WITH a AS (SELECT k, LIST(x) AS xs, COUNT(*) AS n FROM t GROUP BY k), "
           "b AS (SELECT SUM(n) AS total FROM a) SELECT * FROM b")
    assert _prune(sql) == ("WITH a AS (SELECT k, COUNT(*) AS n FROM t GROUP BY k), "
                           "b AS (SELECT SUM(n) AS total FROM a) SELECT * FROM b")


def test_a_stage_read_through_star_keeps_everything():
    sql = "WITH a AS (SELECT k, MAX(x) AS m FROM t GROUP BY k), b AS (SELECT * FROM a) SELECT k FROM b"
    assert _prune(sql) == sql


def test_ordinal_group_by_keeps_the_items_it_points_at():
    sql = "WITH a AS (SELECT k, j, COUNT(*) AS n, MAX(x) AS m FROM t GROUP BY 1, 2) SELECT n FROM a"
    assert _prune(sql) == "WITH a AS (SELECT k, j, COUNT(*) AS n FROM t GROUP BY 1, 2) SELECT n FROM a"


def test_distinct_and_last_stage_are_left_alone():
    sql = "WITH a AS (SELECT DISTINCT k, j FROM t) SELECT k FROM a"
    assert _prune(sql) == sql
    assert _prune("SELECT k, j FROM t") == "SELECT k, j FROM t"


def test_answer_is_the_same_after_pruning():
    import duckdb

    con = duckdb.connect()
    con.execute("CREATE TABLE t AS SELECT * FROM (VALUES ('a', 1), ('a', 2), ('b', 5)) v(k, x)")
    sql = ("WITH a AS (SELECT k, LIST(x) AS xs, SUM(x) AS s, COUNT(*) AS n FROM t GROUP BY k), "
           "b AS (SELECT k, s FROM a) SELECT * FROM b ORDER BY k")
    assert "LIST" not in _prune(sql)
    # by hand: a -> 1 + 2 = 3, b -> 5
    assert con.sql(_prune(sql)).fetchall() == [("a", 3), ("b", 5)] == con.sql(sql).fetchall()


def test_a_stage_read_through_table_star_keeps_everything():
    for sql in ("WITH a AS (SELECT k, MAX(x) AS m FROM t GROUP BY k) SELECT a.*, a.k AS k2 FROM a",
                "WITH a AS (SELECT k, MAX(x) AS m FROM t GROUP BY k) SELECT k, COLUMNS(a.* EXCLUDE (k)) FROM a"):
        assert _prune(sql) == sql
    # COUNT(*) reads no column
    assert _prune("WITH a AS (SELECT k, MAX(x) AS m FROM t GROUP BY k) SELECT k, COUNT(*) AS n FROM a GROUP BY k") == \
        "WITH a AS (SELECT k FROM t GROUP BY k) SELECT k, COUNT(*) AS n FROM a GROUP BY k"
