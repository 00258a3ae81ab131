"""Every Speleo sqlglot node has a rendering for each engine (docs/decisions/0032-clickhouse.md):
a node added without its ClickHouse (or DuckDB) lowering fails here, not in a user's search."""

from __future__ import annotations

import inspect

from sqlglot import exp

from speleo.spl import nodes


def speleo_nodes() -> list[type]:
    return [c for _, c in inspect.getmembers(nodes, inspect.isclass)
            if issubclass(c, exp.Expression) and c.__module__ == nodes.__name__]


def test_the_registry_knows_the_nodes():
    names = {c.__name__ for c in speleo_nodes()}
    assert {"TermMatch", "TimeBucket", "ValuesAgg", "ExactPercentile", "RegexExtract"} <= names


def test_every_node_has_a_rendering_for_both_engines():
    for engine in ("duckdb", "clickhouse"):
        missing = [c.__name__ for c in speleo_nodes() if c not in nodes.LOWERINGS[engine]]
        assert not missing, f"Speleo nodes without a {engine} rendering: {missing}"


def test_a_node_without_rendering_is_reported(monkeypatch):
    class Orphan(exp.Expression, exp.Func):
        arg_types = {"this": True}

    monkeypatch.setattr(nodes, "Orphan", Orphan, raising=False)
    Orphan.__module__ = nodes.__name__
    assert Orphan in speleo_nodes()
    assert Orphan not in nodes.LOWERINGS["clickhouse"]
