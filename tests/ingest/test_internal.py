"""Speleo's own events in `_internal` / `_audit`: durable, searchable by field, secrets masked."""

from __future__ import annotations

import pytest

from speleo.clock import ManualClock
from speleo.config import Home
from speleo.errors import InputError
from speleo.ingest.internal import InternalLog
from speleo.service import Service


def test_internal_events_are_searchable_by_their_fields(tmp_path):
    svc = Service(Home(tmp_path / "home"))
    w = svc.open_writer()
    log = InternalLog(w.store, host="h1", clock=ManualClock(1_800_000_000.0))
    log.emit("_internal", "scheduler", {"savedsearch_name": "a", "status": "success", "result_count": 3})
    log.emit("_internal", "scheduler", {"savedsearch_name": "b", "status": "skipped", "api_token": "hunter2"})
    log.emit("_internal", "scheduler", {"savedsearch_name": "c", "status": "success"})
    w.store.seal()
    res = svc.search("index=_internal sourcetype=scheduler | stats count by status", None, None, 0, None)
    counts = dict(zip(res.table.column("status").to_pylist(), res.table.column("count").to_pylist()))
    assert counts == {"success": 2, "skipped": 1}
    raws = svc.search("index=_internal", None, None, 0, None).table.column("_raw").to_pylist()
    assert all("hunter2" not in r for r in raws)
    assert any('api_token="********"' in r for r in raws)
    # the default search leaves internal indexes out
    assert svc.search("sourcetype=scheduler", None, None, 0, None).table.num_rows == 0
    w.close()


def test_internal_indexes_exist_and_are_reserved(tmp_path):
    svc = Service(Home(tmp_path / "home"))
    names = {i["name"] for i in svc.indexes()}
    assert {"_internal", "_audit", "main"} <= names
    with pytest.raises(InputError, match="reserved"):
        svc.create_index("_mine")
    with pytest.raises(ValueError):
        InternalLog(object()).emit("main", "x", {})
