"""Job reuse of the web's search jobs (speleo.web.jobs): the window, the refresh's `after`, the
viewers and a viewer's cancel, with an injected clock and no search run (the jobs are made with
`_new`/`_shared`, the start path's own steps)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from speleo.errors import NotFoundError
from speleo.web.jobs import SHARE_SECS, Jobs


@pytest.fixture
def jobs():
    now = [1000.0]
    svc = SimpleNamespace(home=SimpleNamespace(settings=SimpleNamespace(default_tz=None)))
    j = Jobs(svc, clock=lambda: now[0], persist=False)   # no home: nothing on disk
    j.now = now
    return j


def test_identical_search_within_the_window_is_shared(jobs):
    key = ("index=web | stats count", "-24h", "None", None, 100, "None", ("search",))
    with jobs.lock:
        first = jobs._new(1, "index=web | stats count", None, None, share_key=key)
    jobs.now[0] += SHARE_SECS - 1
    with jobs.lock:
        assert jobs._shared(2, key) is first
        assert jobs._shared(3, ("other",)) is None
    assert first.reused == 1 and first.viewers == {1, 2}
    assert jobs.get(2, first.id) is first          # the second viewer may read it
    with pytest.raises(NotFoundError):
        jobs.get(3, first.id)
    jobs.cancel(2, first.id)                       # a viewer leaves; the job goes on for the other
    assert first.state == "running" and first.viewers == {1}
    jobs.now[0] += 2                               # past the window: a new job
    with jobs.lock:
        assert jobs._shared(2, key) is None


def test_refresh_wants_a_newer_job(jobs):
    key = ("q",)
    with jobs.lock:
        first = jobs._new(1, "q", None, None, share_key=key)
        assert jobs._shared(1, key, after=first.opened) is None   # my own refresh: not the job I showed
    jobs.now[0] += 5
    with jobs.lock:
        second = jobs._new(1, "q", None, None, share_key=key)
        assert jobs._shared(2, key, after=first.opened) is second  # another browser's refresh shares it
    jobs.cancel(1, first.id)
    assert first.state == "cancelled"


def test_a_search_reading_rest_is_never_shared_between_users(tmp_path):
    """`| rest` answers as its searcher (their name, their jobs): its share key holds the owner,
    also when a macro hides the command (docs/decisions/0044-rest-command.md)."""
    from speleo.config import Home
    from speleo.query.macrostore import upsert

    home = Home(tmp_path / "home")
    upsert(home, [{"name": "me", "definition": "| rest /services/authentication/current-context"}])
    jobs = Jobs(SimpleNamespace(home=home), persist=False)
    key = ("q", "-24h")
    for search in ("| rest /services/authentication/current-context", "`me` | table username",
                   # a subsearch that writes a lookup runs first, as its own search, as the searcher:
                   # | loadjob (and | rest) in it read what that searcher may read
                   '| makeresults | eval c=7 | search [| loadjob savedsearch="u:search:s" | outputlookup t.csv '
                   '| fields c]',
                   "| makeresults | append [search index=web [| rest /services/server/info | outputlookup i.csv "
                   "| fields host]]"):
        assert jobs._per_searcher(key, search, 1) != jobs._per_searcher(key, search, 2)
    plain = "index=web | stats count"
    assert jobs._per_searcher(key, plain, 1) == jobs._per_searcher(key, plain, 2) == key
    assert jobs._per_searcher(None, "| rest /services/server/info", 1) is None   # not shared at all anyway
