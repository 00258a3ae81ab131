"""map through the real engine (buckets merged warm, with term index sidecars): each run reads
every event its own search selects, not only those of the outer search's terms; a token in
index= reads that index. Counts worked out from the lines written here."""

from __future__ import annotations

from pathlib import Path

import pytest

from speleo.config import Home
from speleo.ingest.oneshot import add_oneshot
from speleo.service import Service

USERS = ("alice", "bob", "carol", "dave")


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Home:
    root = tmp_path_factory.mktemp("mapengine")
    lines = []
    for i in range(40):   # user i % 4; every 3rd line says failed, the others success
        word = "failed" if i % 3 == 0 else "success"
        lines.append(f"2026-01-01 00:{i // 60:02d}:{i % 60:02d} login user={USERS[i % 4]} {word}\n")
    main = root / "main.log"
    main.write_text("".join(lines))
    web = root / "web.log"
    web.write_text("".join(f"2026-01-01 00:00:{i:02d} GET /x user=alice\n" for i in range(7)))
    h = Home(root / "home")
    svc = Service(h)
    svc.create_index("web")
    w = svc.open_writer()
    try:
        add_oneshot(w.ingestor, main, "main")
        add_oneshot(w.ingestor, web, "web")
        w.store.merge_hot(1)
        w.store.collect_garbage(0)
    finally:
        w.close()
    assert list((h.root / "indexes" / "main").glob("*.tidx")), "the test needs sidecars"
    return h


def search(home: Home, spl: str) -> list[dict]:
    res = Service(home).search(spl, limit=0, timeline=False)
    return res.table.to_pylist()


def test_runs_read_every_event_of_their_own_search(home):
    rows = search(home, 'index=main failed | stats count by user | map search="search index=main user=$user$ '
                        '| stats count as n by user" | sort user')
    # 40 lines over 4 users: 10 each, whatever the outer search's term
    assert rows == [{"user": u, "n": 10} for u in USERS]
    rows = search(home, 'index=main failed | stats count by user | map search="search index=main user=$user$ '
                        'success | stats count as n by user" | sort user')
    # failed on i % 3 == 0: alice i=0,12,24,36 (4 failed, 6 success); bob 9,21,33 (3, 7); carol 6,18,30 (3, 7);
    # dave 3,15,27,39 (4, 6)
    assert rows == [{"user": "alice", "n": 6}, {"user": "bob", "n": 7}, {"user": "carol", "n": 7},
                    {"user": "dave", "n": 6}]


def test_a_token_in_index_reads_that_index(home):
    rows = search(home, 'index=main user=alice | head 1 | eval idx="web" | map search="search index=$idx$ | stats count"')
    assert rows == [{"count": 7}]


def test_index_star_leaves_the_internal_indexes_out(tmp_path):
    """Splunk: `index=*` searches every index but the internal ones; `index=_*` reaches those."""
    log = tmp_path / "a.log"
    log.write_text("2026-01-01 00:00:00 one\n2026-01-01 00:00:01 two\n")
    h = Home(tmp_path / "home")
    w = Service(h).open_writer()
    try:
        add_oneshot(w.ingestor, log, "main")
        add_oneshot(w.ingestor, log, "_internal", force=True)
        w.store.seal()
    finally:
        w.close()
    assert search(h, "index=* | stats count") == [{"count": 2}]
    assert search(h, "index=_* | stats count") == [{"count": 2}]
    assert search(h, "index=* OR index=_internal | stats count") == [{"count": 4}]
