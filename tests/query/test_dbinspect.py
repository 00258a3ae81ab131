"""dbinspect through the real engine (Splunk Search Reference: dbinspect): one row per bucket of
the indexes named, with its event count, time span, state and sizes as the catalog and the files
say, within the searcher's indexes. Two oneshots of 3 and 2 lines make one bucket each."""

from __future__ import annotations

import pytest

from speleo.config import Home
from speleo.errors import SplError
from speleo.ingest.oneshot import add_oneshot
from speleo.query.scope import IndexScope
from speleo.service import Service


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Home:
    root = tmp_path_factory.mktemp("dbinspect")
    h = Home(root / "home")
    svc = Service(h)
    svc.create_index("web")
    w = svc.open_writer()
    try:
        for index, lines in (("main", ["2026-01-01 00:00:00 a", "2026-01-01 00:00:10 b", "2026-01-01 00:00:20 c"]),
                             ("web", ["2026-01-02 00:00:00 d", "2026-01-02 00:00:05 e"])):
            log = root / f"{index}.log"
            log.write_text("".join(x + "\n" for x in lines))
            add_oneshot(w.ingestor, log, index)
    finally:
        w.close()
    return h


def rows(home: Home, query: str, **kw) -> list[dict]:
    return Service(home).search(query, earliest=0, limit=0, **kw).table.to_pylist()


def test_one_row_per_bucket_as_the_files_are(home):
    got = rows(home, "| dbinspect index=*")
    assert [(r["index"], r["eventCount"]) for r in got] == [("main", 3), ("web", 2)]
    main = got[0]
    # 2026-01-01 00:00:00 UTC = 1767225600
    assert (main["startEpoch"], main["endEpoch"]) == (1767225600, 1767225620)
    from pathlib import Path

    bucket = home.root / main["path"]            # relative to the home: the home's path is not shown
    assert not Path(main["path"]).is_absolute() and bucket.is_file()
    assert main["sizeOnDiskMB"] == round(bucket.stat().st_size / 2 ** 20, 6)
    assert main["rawSize"] == len("2026-01-01 00:00:00 a") * 3
    assert main["bucketId"] == f"main~{main['id']}~{main['guId']}"
    import sqlite3

    from speleo.storage import lexicon

    with sqlite3.connect(home.catalog_path) as db:   # the catalog read without Speleo's code
        (state,) = db.execute("SELECT state FROM buckets WHERE id = ?", (main["id"],)).fetchone()
    assert main["state"] == state
    assert main["tsidxState"] == ("full" if lexicon.sidecar_path(bucket).exists() else "none")


def test_default_index_time_range_and_stats_over_it(home):
    # no index named and no roles (the home's owner): the non-internal indexes, as a search
    assert [r["index"] for r in rows(home, "| dbinspect")] == ["main", "web"]
    assert rows(home, "| dbinspect index=web index=main | stats sum(eventCount) as n") == [{"n": 5}]
    # a time range holding only the second day keeps only web's bucket
    svc = Service(home)
    res = svc.search("| dbinspect index=*", earliest=1767312000, latest=1767398400, limit=0)
    assert [r["index"] for r in res.table.to_pylist()] == ["web"]
    assert rows(home, "| dbinspect index=* corruptonly=true") == []


def test_the_searcher_sees_only_the_buckets_of_its_indexes(home):
    scope = IndexScope(allowed=("web",), default=("web",))
    assert [r["index"] for r in rows(home, "| dbinspect index=*", scope=scope)] == ["web"]
    assert [r["index"] for r in rows(home, "| dbinspect index=main", scope=scope)] == []
    # no index named: the searcher's default indexes, as a search without index=
    assert [r["index"] for r in rows(home, "| dbinspect", scope=scope)] == ["web"]


def test_dbinspect_is_a_generating_command_and_streams_like_any_search(home):
    with pytest.raises(SplError):
        rows(home, "search index=main | dbinspect")      # not silently a listing that drops the search
    from speleo.query import engine, stream

    svc = Service(home)
    compiled = engine.compile_for("| dbinspect index=*", earliest=0, lookups_dir=home.lookups_dir)
    tables = list(stream.tables(home, svc.catalog, compiled))
    assert sum(t.num_rows for t in tables) == 2


def test_span_is_refused_with_the_reason(home):
    with pytest.raises(SplError, match="span= is not supported"):
        rows(home, "| dbinspect index=main span=1d")
