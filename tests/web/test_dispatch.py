"""Job artifacts on disk (speleo.web.dispatch) without a server: what a new `Jobs` of the same home
finds, the ttl, unreadable folders, ids that cannot be folder names, and the REST result kept."""

from __future__ import annotations

import json
import time

import pytest

from speleo.config import Home
from speleo.errors import NotFoundError
from speleo.service import Service
from speleo.web import dispatch
from speleo.web.jobs import Jobs


def wait(job):
    assert job.ended.wait(60)
    return job


def test_a_new_jobs_table_finds_the_finished_jobs_and_drops_what_it_cannot_use(tmp_path):
    svc = Service(Home(tmp_path / "home"))
    first = Jobs(svc)
    web = wait(first.start(7, "| makeresults count=3 | eval n=1", None, None, 100, None))
    rest = wait(first.start(7, "| makeresults count=4 | eval n=2", None, None, 100, None, keep_result=True))
    short = wait(first.start(7, "| makeresults count=1", None, None, 100, None, ttl_secs=1))
    odd = wait(first.start(7, "| makeresults count=2", None, None, 100, None, job_id="../escape"))
    assert not (tmp_path / "home" / "escape").exists() and dispatch.folder(svc.home, odd.id) is None
    broken = tmp_path / "home" / "dispatch" / "broken"
    broken.mkdir()
    (broken / "job.json").write_text('{"id": "broken", "sta')          # a crash mid-write
    time.sleep(1.1)
    again = Jobs(svc)
    got = again.get(7, web.id)
    assert got.state == "done" and got.body == web.body and got.total == 3
    kept = again.get(7, rest.id)
    assert kept.result.table.to_pylist() == rest.result.table.to_pylist() and kept.result.total == 4
    assert again.rows(7, web.id, 0, 2)["results"] == web.body["results"][:2]
    for gone in (short.id, odd.id):
        with pytest.raises(NotFoundError, match="no search job"):
            again.get(7, gone)
    assert not (tmp_path / "home" / "dispatch" / short.id).exists()   # past its ttl: deleted
    assert not broken.exists() and again.store_errors == 1              # unreadable: counted, removed
    assert [(p["source"], p["count"]) for p in svc.catalog.problems() if "broken" in p["reason"]] == [("dispatch", 1)]
    # other users' jobs stay theirs after the restart too
    with pytest.raises(NotFoundError, match="no search job"):
        again.get(8, web.id)
    rec = json.loads((tmp_path / "home" / "dispatch" / web.id / "job.json").read_text())
    assert rec["state"] == "done" and rec["owner"] == 7
