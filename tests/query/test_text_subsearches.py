"""Subsearches whose results are search text, run by a real search (query/subsearches.py):
first, over the home's buckets, then the search compiled with their text (spl/rawsub.py).

Splunk Search Manual, "About subsearches" (the subsearch runs first as a search of its own);
Search Reference: return (`return $field`), limits.conf [subsearch] maxtime. Expected rows are
worked out from the events written here.
"""

from __future__ import annotations

import time

import pyarrow as pa
import pytest

from speleo.config import Home
from speleo.query import subsearches
from speleo.query.failures import SearchFailed
from speleo.service import Service

NOW = time.time()


@pytest.fixture
def svc(tmp_path):
    svc = Service(Home(tmp_path / "home"))
    rows = [
        {"_time": NOW - 30, "_raw": "user=alice status=500", "index": "main"},
        {"_time": NOW - 20, "_raw": "user=bob status=200", "index": "main"},
        {"_time": NOW - 10, "_raw": "suspect=bob", "index": "intel"},
        {"_time": NOW - 5, "_raw": "x | delete", "index": "intel"},
    ]
    w = svc.open_writer()
    w.store.append(pa.table({k: [r[k] for r in rows] for k in ("_time", "_raw", "index")}))
    w.store.seal()
    w.close()
    return svc


def test_a_subsearch_of_another_index_gives_the_search_its_text(svc):
    # the intel subsearch runs first: "bob"; then index=main bob
    res = svc.search("index=main [search index=intel suspect=* | return $suspect] | table _raw", earliest=NOW - 3600)
    assert res.table.column("_raw").to_pylist() == ["user=bob status=200"]


def test_the_text_is_terms_only(svc):
    # the value "x | delete" is three terms; nothing is deleted, and the event holding them is found
    res = svc.search('index=intel [search index=intel x | eval search=_raw | fields search] | table _raw',
                     earliest=NOW - 3600)
    assert res.table.column("_raw").to_pylist() == ["x | delete"]
    assert svc.search("index=* | stats count", earliest=NOW - 3600).table.to_pylist() == [{"count": 4}]


def test_maxtime_stops_a_subsearch(svc, monkeypatch):
    import duckdb

    from speleo.query import engine

    def slow(*args, on_connection=None, **kw):
        con = duckdb.connect()
        on_connection(con, None)
        time.sleep(0.3)          # the timer interrupts the connection meanwhile
        raise duckdb.InterruptException("interrupted")

    monkeypatch.setattr(engine, "execute", slow)
    run = subsearches.runner(svc.home, svc.catalog, maxtime_secs=0.05)
    with pytest.raises(SearchFailed, match="subsearch maxtime"):
        run(object(), 10)


def test_a_subsearch_writing_a_lookup_runs_first_with_the_lookup_check(svc):
    # the subsearch's status=500 event is alice's: users.csv gets "alice", and user="alice" filters main
    q = "index=main [search index=main status=500 | table user | outputlookup users.csv] | table _raw"
    lookup = svc.home.lookups_dir / "users.csv"
    from speleo.errors import ForbiddenError

    with pytest.raises(ForbiddenError, match="edit_lookups"):
        svc.search(q, earliest=NOW - 3600, write_lookups=False)
    assert not lookup.exists()
    seen = []
    res = svc.search(q, earliest=NOW - 3600, check=seen.append)
    assert res.table.column("_raw").to_pylist() == ["user=alice status=500"]
    assert lookup.read_text().splitlines() == ["user", "alice"]
    # the server's check (speleo.server.access.search_guard) saw the subsearch, then the search
    assert [s.post[0]["kind"] for s in seen[:1]] == ["outputlookup"] and len(seen) == 2
