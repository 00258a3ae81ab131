"""The search history (speleo.ops.history) and the real-time poll's cursor (web.search_api)."""

from __future__ import annotations

import pyarrow as pa
import pytest

from speleo.errors import InputError
from speleo.ops import history as hmod
from speleo.ops.db import Database
from speleo.ops.history import SearchHistory
from speleo.web.search_api import new_rows


@pytest.fixture
def hist(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'ops.sqlite'}")
    db.migrate()   # the table comes from the migration, as in a real home
    return SearchHistory(db.engine)


def test_runs_fold_per_search_and_range_newest_first(hist):
    runs = [(1, "index=a", "-24h", None, 100.0, 5), (1, "index=b", None, None, 110.0, 7),
            (1, "index=a", "-24h", None, 120.0, 6), (1, "index=a", "-7d", None, 130.0, 9),
            (2, "index=a", "-24h", None, 140.0, 1)]
    for user, q, e, lt, at, n in runs:
        hist.record(user, q, e, lt, ran_at=at, state="done", result_count=n, run_secs=0.25)
    got = [(r["search"], r["earliest"], r["runs"], r["last_run"], r["result_count"]) for r in hist.list(1)]
    assert got == [("index=a", "-7d", 1, 130.0, 9), ("index=a", "-24h", 2, 120.0, 6), ("index=b", None, 1, 110.0, 7)]
    assert [r["search"] for r in hist.list(1, contains="B")] == ["index=b"]
    assert [r["user_id"] for r in hist.list(None)] == [2, 1, 1, 1]
    assert hist.list(2)[0]["run_secs"] == 0.25 and "user_id" not in hist.list(2)[0]
    assert hist.clear(1) == 4 and hist.list(1) == [] and len(hist.list(2)) == 1


def test_a_user_keeps_a_bounded_number_of_runs(hist, monkeypatch):
    monkeypatch.setattr(hmod, "MAX_PER_USER", 5)
    for i in range(12):
        hist.record(1, f"q{i}", None, None, ran_at=float(i), state="done")
    hist.record(2, "other", None, None, ran_at=0.0, state="done")
    assert [r["search"] for r in hist.list(1, limit=100)] == [f"q{i}" for i in range(11, 6, -1)]
    assert [r["search"] for r in hist.list(2)] == ["other"]


def test_bad_searches_are_refused(hist):
    with pytest.raises(InputError, match="empty"):
        hist.record(1, "   ", None, None, ran_at=1.0, state="done")
    with pytest.raises(InputError, match="characters at most"):
        hist.record(1, "x" * (hmod.MAX_SEARCH_CHARS + 1), None, None, ran_at=1.0, state="done")
    hist.record(1, "index=a", "x" * 100, None, ran_at=1.0, state="done")
    assert hist.list(1)[0]["earliest"] == "x" * 64


def test_live_cursor_keeps_only_events_indexed_after_it():
    t = pa.table({"_raw": ["a", "b", "c", "d"], "_indextime": [10.0, 12.0, 11.0, 9.0]})
    rows, cursor = new_rows(t, None)
    assert rows.num_rows == 4 and cursor == 12.0
    rows, cursor = new_rows(t, 10.0)
    assert rows["_raw"].to_pylist() == ["b", "c"] and cursor == 12.0
    rows, cursor = new_rows(t, 12.0)
    assert rows.num_rows == 0 and cursor == 12.0
    rows, cursor = new_rows(pa.table({"_raw": pa.array([], pa.string()), "_indextime": pa.array([], pa.float64())}), 5.0)
    assert rows.num_rows == 0 and cursor == 5.0
