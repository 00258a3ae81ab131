"""Bucket profiles, and searches specialized to the buckets they read, give the same answers.

Expected values are counted from the events written in each test, not from Speleo's output.
"""

from __future__ import annotations

import json
import sqlite3
import time

import pyarrow as pa

from speleo.config import Home
from speleo.query import engine
from speleo.service import Service
from speleo.storage import profile as bucket_profile
from speleo.storage.catalog import Catalog

NOW = time.time()


def _write(svc, rows: list[dict]) -> None:
    w = svc.open_writer()
    cols = {k: [r.get(k) for r in rows] for k in ("_time", "_raw", "index", "sourcetype", "_fields")}
    w.store.append(pa.table(cols))
    w.store.seal()
    w.close()


def _plan(svc, query: str):
    compiled = engine.compile_for(query, now=NOW)
    p = engine.plan(svc.catalog, compiled)
    return compiled, p, engine.specialize(compiled, p)


def test_profile_of_a_bucket_lists_its_sourcetypes_fields_and_json(tmp_path):
    svc = Service(Home(tmp_path / "home"))
    _write(svc, [
        {"_time": NOW - 3, "_raw": "a=1", "index": "main", "sourcetype": "kv"},
        {"_time": NOW - 2, "_raw": '{"a": 2}', "index": "main", "sourcetype": "_json"},
        {"_time": NOW - 1, "_raw": "b=3", "index": "other", "sourcetype": "kv",
         "_fields": json.dumps({"env": "prod"})},
    ])
    profiles = {b.index_name: bucket_profile.parse(b.profile) for b in svc.catalog.live_buckets(["main", "other"])}
    assert profiles["main"] == bucket_profile.Profile(frozenset({"kv", "_json"}), fields=False, json=True)
    assert profiles["other"] == bucket_profile.Profile(frozenset({"kv"}), fields=True, json=False)


def test_merged_bucket_profile_is_the_union_and_unknown_stays_unknown():
    a = bucket_profile.Profile(frozenset({"kv"}), False, False)
    b = bucket_profile.Profile(frozenset({"syslog"}), True, False)
    assert bucket_profile.union([a, b]) == bucket_profile.Profile(frozenset({"kv", "syslog"}), True, False)
    assert bucket_profile.union([a, None]) is None
    assert bucket_profile.parse(a.to_text()) == a
    assert bucket_profile.parse("not json") is None


def test_specialized_search_keeps_only_branches_the_buckets_need_and_answers_the_same(tmp_path):
    svc = Service(Home(tmp_path / "home"))
    raws = [f"user=u{i % 3} bytes={i}" for i in range(9)] + ['user="u 9" bytes=9']
    _write(svc, [{"_time": NOW - 10 + i, "_raw": r, "index": "main", "sourcetype": "kv"} for i, r in enumerate(raws)])
    query = "index=main | stats count sum(bytes) as b by user"
    compiled, p, special = _plan(svc, query)
    assert "JSON_VALID" in compiled.sql and "_fields" in compiled.sql
    assert "JSON_VALID" not in special.sql and "_fields" not in special.sql
    assert "access_combined" not in special.sql        # other sourcetypes' regexes are gone
    # expected from the raw lines: u0 = 0+3+6, u1 = 1+4+7, u2 = 2+5+8, "u 9" = 9 (quoted value)
    rows = {r["user"]: (r["count"], r["b"]) for r in svc.search(query, limit=0, now=NOW).table.to_pylist()}
    assert rows == {"u0": (3, 9.0), "u1": (3, 12.0), "u2": (3, 15.0), "u 9": (1, 9.0)}


def test_search_with_no_extraction_is_not_recompiled(tmp_path):
    svc = Service(Home(tmp_path / "home"))
    _write(svc, [{"_time": NOW - 1, "_raw": "x", "index": "main", "sourcetype": "kv"}])
    compiled, _, special = _plan(svc, "index=main | stats count by host")
    assert special is compiled


def test_json_and_indexed_fields_survive_specialization(tmp_path):
    svc = Service(Home(tmp_path / "home"))
    _write(svc, [
        {"_time": NOW - 3, "_raw": '{"status": "500"}', "index": "main", "sourcetype": "_json"},
        {"_time": NOW - 2, "_raw": "status=404", "index": "main", "sourcetype": "kv"},
        {"_time": NOW - 1, "_raw": "no status here", "index": "main", "sourcetype": "kv",
         "_fields": json.dumps({"status": "200"})},
    ])
    rows = svc.search("index=main | stats count by status", limit=0, now=NOW).table.to_pylist()
    assert sorted((r["status"], r["count"]) for r in rows) == [("200", 1), ("404", 1), ("500", 1)]


def test_extraction_after_sourcetype_is_dropped_still_binds(tmp_path):
    svc = Service(Home(tmp_path / "home"))
    _write(svc, [{"_time": NOW - 1, "_raw": "user=ann", "index": "main", "sourcetype": "kv"}])
    rows = svc.search("index=main | fields - sourcetype | table user", limit=0, now=NOW).table.to_pylist()
    assert rows == [{"user": "ann"}]


def test_catalog_from_before_profiles_gets_the_column_and_reads_as_unknown(tmp_path):
    path = tmp_path / "catalog.sqlite"
    con = sqlite3.connect(path)
    con.executescript(
        "CREATE TABLE buckets (id INTEGER PRIMARY KEY AUTOINCREMENT, index_name TEXT NOT NULL, state TEXT NOT NULL,"
        " path TEXT NOT NULL, min_time REAL NOT NULL, max_time REAL NOT NULL, event_count INTEGER NOT NULL,"
        " raw_bytes INTEGER NOT NULL, size_bytes INTEGER NOT NULL, bloom BLOB, journal_seq INTEGER,"
        " created REAL NOT NULL, retired_at REAL);"
        "INSERT INTO buckets(index_name, state, path, min_time, max_time, event_count, raw_bytes, size_bytes, created)"
        " VALUES ('main', 'hot', 'x.parquet', 1, 2, 1, 1, 1, 1);")
    con.commit()
    con.close()
    cat = Catalog(path)
    (row,) = cat.live_buckets()
    assert row.profile is None and bucket_profile.parse(row.profile) is None


ACCESS = '1.2.3.4 - bob [10/Oct/2023:13:55:36 +0000] "GET /a HTTP/1.1" 200 512'


def _unspecialized(svc, query: str, monkeypatch) -> list[dict]:
    with monkeypatch.context() as m:
        m.setattr(engine, "specialize", lambda compiled, p: compiled)
        return svc.search(query, limit=0, now=NOW).table.to_pylist()


def test_extraction_of_a_value_a_command_gave_raw_fields_or_sourcetype_is_not_specialized(tmp_path, monkeypatch):
    # one kv bucket: no JSON, no indexed fields, no access_combined. The extractions below read
    # a _raw/_fields/sourcetype an eval gave; the bucket's profile says nothing about those.
    svc = Service(Home(tmp_path / "home"))
    _write(svc, [{"_time": NOW - 1, "_raw": "x=1", "index": "main", "sourcetype": "kv"}])
    raw = ACCESS.replace('"', '\\"')
    cases = {
        'index=main | eval _raw="{\\"z\\": 5}" | table z': [{"z": "5"}],      # JSON branch
        'index=main | eval _fields="{\\"q\\": \\"7\\"}" | table q': [{"q": "7"}],   # indexed branch
        f'index=main | eval sourcetype="access_combined", _raw="{raw}" | table clientip': [{"clientip": "1.2.3.4"}],
        'index=main | rename x as _raw | table x': [{"x": None}],
    }
    for query, expected in cases.items():
        assert svc.search(query, limit=0, now=NOW).table.to_pylist() == expected, query
        assert _unspecialized(svc, query, monkeypatch) == expected, query


def test_one_sourcetype_bucket_keeps_the_sourcetype_check_where_it_matters(tmp_path, monkeypatch):
    # a bucket of access_combined events: its regex applies to events whose sourcetype is
    # access_combined, not to an event with no sourcetype, nor once sourcetype was dropped or changed
    svc = Service(Home(tmp_path / "home"))
    _write(svc, [
        {"_time": NOW - 2, "_raw": ACCESS, "index": "main", "sourcetype": "access_combined"},
        {"_time": NOW - 1, "_raw": ACCESS.replace("1.2.3.4", "5.6.7.8"), "index": "main", "sourcetype": None},
    ])
    (b,) = svc.catalog.live_buckets(["main"])
    assert bucket_profile.parse(b.profile) == bucket_profile.Profile(frozenset({"access_combined"}), False, False,
                                                                      null_sourcetype=True)
    cases = {
        "index=main | table clientip": [{"clientip": None}, {"clientip": "1.2.3.4"}],
        "index=main | fields - sourcetype | table clientip": [{"clientip": None}, {"clientip": None}],
        'index=main | eval sourcetype="other" | table clientip': [{"clientip": None}, {"clientip": None}],
    }
    for query, expected in cases.items():
        assert svc.search(query, limit=0, now=NOW).table.to_pylist() == expected, query
        assert _unspecialized(svc, query, monkeypatch) == expected, query


def test_profile_text_keeps_a_missing_sourcetype_and_an_older_text_assumes_one():
    p = bucket_profile.Profile(frozenset({"kv"}), False, False, null_sourcetype=True)
    assert bucket_profile.parse(p.to_text()) == p
    older = '{"sourcetypes": ["kv"], "fields": false, "json": false}'
    assert bucket_profile.parse(older).null_sourcetype is True
    assert bucket_profile.union([p, bucket_profile.Profile(frozenset({"x"}), True, False)]) == \
        bucket_profile.Profile(frozenset({"kv", "x"}), True, False, null_sourcetype=True)


def test_events_whose_time_a_command_made_null_count_but_have_no_timeline_bin(tmp_path):
    # (the engine's timeline, read with the specialized events SQL) three events, two made timeless
    svc = Service(Home(tmp_path / "home"))
    _write(svc, [{"_time": NOW - i, "_raw": f"user={u}", "index": "main", "sourcetype": "kv"}
                 for i, u in ((1, "a"), (2, "b"), (3, "a"))])
    r = svc.search('index=main | eval _time=if(user="a", null(), _time)', limit=0, now=NOW)
    assert r.total == 3 and r.table.num_rows == 3 and sum(c for _, c in r.timeline) == 1
    r = svc.search('index=main | eval _time=if(user="a", null(), _time) | timechart span=1m count by user',
                   limit=0, now=NOW)
    assert [sorted(k for k in row if k != "_time") for row in r.table.to_pylist()] == [["b"]]


def test_fields_after_transaction_when_events_have_indexed_fields(tmp_path):
    svc = Service(Home(tmp_path / "home"))
    _write(svc, [
        {"_time": NOW - 3, "_raw": "session=s1 user=ann step=1", "index": "main", "sourcetype": "kv",
         "_fields": json.dumps({"env": "prod"})},
        {"_time": NOW - 2, "_raw": "session=s1 user=ann step=2", "index": "main", "sourcetype": "kv"},
        {"_time": NOW - 1, "_raw": "session=s2 user=bob step=1", "index": "main", "sourcetype": "kv"},
    ])
    rows = svc.search("index=main | transaction session | stats count by user", limit=0, now=NOW).table.to_pylist()
    assert sorted((r["user"], r["count"]) for r in rows) == [("ann", 1), ("bob", 1)]
