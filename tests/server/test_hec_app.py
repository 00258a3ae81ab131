"""The HEC ASGI app in process: busy answers (code 9 / 18), acks, token cache."""

from __future__ import annotations

import asyncio
import types

import httpx
import pyarrow as pa

from speleo.server.hec_app import Acks, HecService, HecSettings, build_hec_app
from speleo.storage import tokens
from speleo.storage.catalog import Catalog


class FakeStore:
    def __init__(self) -> None:
        self.tables: list[pa.Table] = []

    def append(self, table, *a) -> None:
        self.tables.append(table)


def service(tmp_path, **settings):
    cat = Catalog(tmp_path / "catalog.sqlite")
    secret = tokens.create_token(cat, "t", "main")
    ingestor = types.SimpleNamespace(store=FakeStore(), props=None, tz="UTC", events_total=0)
    return HecService(cat, ingestor, HecSettings(**settings)), secret


def call(svc, path, body=b"", token=None, method="POST"):
    async def go():
        transport = httpx.ASGITransport(app=build_hec_app(svc))
        async with httpx.AsyncClient(transport=transport, base_url="http://hec") as c:
            headers = {"Authorization": f"Splunk {token}"} if token else {}
            return await c.request(method, path, content=body, headers=headers)
    return asyncio.run(go())


def test_busy_when_writes_cannot_keep_up(tmp_path):
    svc, secret = service(tmp_path, max_inflight=2)
    svc.inflight = 2
    r = call(svc, "/services/collector/event", b'{"event": "x"}', secret)
    assert (r.status_code, r.json()) == (503, {"text": "Server is busy", "code": 9})
    r = call(svc, "/services/collector/health", method="GET")
    assert (r.status_code, r.json()["code"]) == (503, 18)
    assert svc.ingestor.store.tables == []
    svc.inflight = 0
    r = call(svc, "/services/collector/event", b'{"event": "x"}', secret)
    assert r.json()["code"] == 0 and svc.ingestor.store.tables[0].column("_raw").to_pylist() == ["x"]


def test_unknown_path_and_method(tmp_path):
    svc, secret = service(tmp_path)
    assert call(svc, "/services/other", token=secret).status_code == 404
    assert call(svc, "/services/collector/event", token=secret, method="GET").status_code == 405


def test_acks_are_per_channel_and_forgotten_once_reported():
    a = Acks()
    assert [a.next_id("c1"), a.next_id("c1"), a.next_id("c2")] == [0, 1, 0]
    a.done("c1", 1)
    assert a.query("c1", [0, 1]) == {"0": False, "1": True}
    assert a.query("c1", [1]) == {"1": False}
    assert a.query("c2", [0]) == {"0": False}


def test_failed_journal_write_is_busy_and_unhealthy_until_a_write_succeeds(tmp_path):
    import errno

    svc, secret = service(tmp_path)
    store = svc.ingestor.store
    real_append = store.append

    def full(table, *a):
        raise OSError(errno.ENOSPC, "No space left on device")

    store.append = full
    r = call(svc, "/services/collector/event", b'{"event": "x"}', secret)
    assert (r.status_code, r.json()) == (503, {"text": "Server is busy", "code": 9})
    r = call(svc, "/services/collector/health", method="GET")
    assert (r.status_code, r.json()["code"]) == (503, 18)
    assert r.json()["reason"] == "journal write failed: No space left on device"
    store.append = real_append
    assert call(svc, "/services/collector/event", b'{"event": "y"}', secret).json()["code"] == 0
    assert call(svc, "/services/collector/health", method="GET").json() == {"text": "HEC is healthy", "code": 17}
    assert svc.refusals.snapshot() == [{"source": "hec", "count": 1,
                                        "reason": "request refused (code 9): journal write failed: No space left on device"}]


def test_gzip_is_bounded_once_decompressed(tmp_path):
    import gzip

    svc, secret = service(tmp_path, max_decompressed_bytes=3 * 1024 * 1024)
    body = gzip.compress(b'{"event": "' + b"a" * (4 * 1024 * 1024) + b'"}')

    async def go():
        transport = httpx.ASGITransport(app=build_hec_app(svc))
        async with httpx.AsyncClient(transport=transport, base_url="http://hec") as c:
            return await c.post("/services/collector/event", content=body,
                                headers={"Authorization": f"Splunk {secret}", "Content-Encoding": "gzip"})
    r = asyncio.run(go())
    assert r.status_code == 413 and r.json()["text"].endswith("too large (maximum is 3145728)")
    assert svc.ingestor.store.tables == []
    ok = gzip.compress(b'{"event": "' + b"b" * (2 * 1024 * 1024) + b'"}')
    body = ok
    assert asyncio.run(go()).json()["code"] == 0
    assert svc.ingestor.store.tables[0].column("_raw").to_pylist() == ["b" * (2 * 1024 * 1024)]
    body = ok[:-20]   # truncated gzip stream
    assert asyncio.run(go()).json()["code"] == 6


def test_bodies_held_at_once_are_bounded(tmp_path):
    svc, secret = service(tmp_path, max_content_bytes=1000, max_decompressed_bytes=1000, max_buffered_bytes=2500)
    other = svc.buffers.hold()
    assert other.take(2000)   # another request holds 2,000 bytes
    body = b'{"event": "' + b"x" * 600 + b'"}'
    r = call(svc, "/services/collector/event", body, secret)
    assert (r.status_code, r.json()) == (503, {"text": "Server is busy", "code": 9})
    assert svc.refusals.snapshot()[0]["reason"] == "request refused (code 9): request bodies held over 2500 bytes"
    other.release()
    assert call(svc, "/services/collector/event", body, secret).json()["code"] == 0
    assert svc.buffers.used == 0   # everything given back after the request


def test_refused_requests_are_counted_by_code(tmp_path):
    svc, secret = service(tmp_path)
    call(svc, "/services/collector/event", b'{"event": "x"}')                       # no token: 2
    call(svc, "/services/collector/event", b'{"event": "x"}', "not-a-token")         # unknown: 4
    call(svc, "/services/collector/event", b'{"event": "x"}{"nope": 1}', secret)     # second envelope: 12
    call(svc, "/services/collector/event", b'{"event": "x"}', secret)                # success: not counted
    assert {(r["reason"], r["count"]) for r in svc.refusals.snapshot()} == {
        ("request refused (code 2): Token is required", 1), ("request refused (code 4): Invalid token", 1),
        ("request refused (code 12): Event field is required", 1)}


def test_indexes_are_read_from_the_catalog_in_a_thread_and_new_ones_seen_at_once(tmp_path):
    """The event loop never reads SQLite: an index the cache lacks (or a stale cache) is looked
    up in a worker thread, then the body is read again; an index created meanwhile is accepted
    at its first use, one that does not exist gets code 7."""
    import threading

    svc, _ = service(tmp_path)
    secret = tokens.create_token(svc.catalog, "multi", "main", allowed=["main", "later", "never"])
    svc.catalog.query("DELETE FROM indexes WHERE name IN ('later', 'never')")   # allowed, not (yet) there
    readers = []
    real = svc.catalog.index_names

    def index_names():
        readers.append(threading.current_thread() is threading.main_thread())
        return real()

    svc.catalog.index_names = index_names
    assert call(svc, "/services/collector/event", b'{"event": "a"}', secret).json()["code"] == 0
    svc.catalog.ensure_index("later")
    r = call(svc, "/services/collector/event", b'{"event": "b", "index": "later"}', secret)
    assert r.json() == {"text": "Success", "code": 0}
    r = call(svc, "/services/collector/event", b'{"event": "c"}{"event": "d", "index": "never"}', secret)
    assert r.json() == {"text": "Incorrect index", "code": 7, "invalid-event-number": 1}
    assert [t.column("_raw").to_pylist() for t in svc.ingestor.store.tables] == [["a"], ["b"], ["c"]]
    assert [t.column("index").to_pylist() for t in svc.ingestor.store.tables] == [["main"], ["later"], ["main"]]
    assert readers == [False, False, False]   # first use, "later" unknown, "never" unknown: in threads
