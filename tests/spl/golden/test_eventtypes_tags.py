"""Event types and tags: `eventtype=` / `tag=` / `tag::<field>=` in searches, and the computed
`eventtype` and `tag` fields (sorted lists), from eventtypes.conf / tags.conf text.

Splunk Knowledge Manager Manual, "About event types" (an event has every event type whose search
it matches) and "About tags and aliases" (tags.conf `[<field>=<value>]`, `<tag> = enabled`;
`tag::<field>=<tag>` limits the tag to one field); Search Reference, "search".
"""

from __future__ import annotations

import pytest

from speleo import knowledge
from speleo.errors import SplUnsupportedError
from speleo.spl import compile_search
from tests.spl.conftest import make_ctx
from tests.spl.golden._util import ev, rows_of, run

EVENTTYPES = """
[failed_login]
search = sourcetype=auth "failed"

[web_error]
search = sourcetype=access status>=500

[web_any]
search = sourcetype=access
tags = webtraffic
"""
LOOP = "[loop_a]\nsearch = eventtype=loop_b\n\n[loop_b]\nsearch = eventtype=loop_a\n"

TAGS = """
[eventtype=failed_login]
authentication = enabled
failure = enabled

[eventtype=web_error]
error = enabled

[host=db1]
database = enabled

[user=root]
privileged = enabled
"""

EVENTS = ev((-10, "login failed user=root", "db1", "auth"),
            (-20, "login ok user=bob", "db1", "auth"),
            (-30, "GET / status=503 user=carol", "web1", "access"),
            (-40, "GET / status=200 user=root", "web1", "access"),
            (-50, "something else", "app1", "app"))
K = knowledge.from_text(EVENTTYPES, TAGS, base=False)


def q(query, *cols):
    return rows_of(query, EVENTS, *cols, knowledge=K)


def test_eventtype_in_search():
    # failed_login: sourcetype=auth and the term "failed": only -10
    assert q("eventtype=failed_login | table user", "user") == ["root"]
    # wildcard: web_error and web_any -> both access events
    assert q("eventtype=web_* | table user", "user") == ["carol", "root"]


def test_tag_in_search():
    # error is on eventtype=web_error (-30); database on host=db1 (-10, -20)
    assert q("tag=error | table user", "user") == ["carol"]
    assert q("tag=database | table user", "user") == ["root", "bob"]
    # tags given in eventtypes.conf (tags = webtraffic) count too
    assert q("tag=webtraffic | stats count", "count") == [2]


def test_tag_of_one_field():
    # privileged is on user=root only: -10 and -40; tag::host=privileged matches none
    assert q("tag::user=privileged | table host", "host") == ["db1", "web1"]
    assert q("tag::host=privileged | stats count", "count") == [0]


def test_eventtype_and_tag_fields():
    rows = run("* | table user eventtype tag", rows=EVENTS, knowledge=K)
    assert rows == [
        {"user": "root", "eventtype": ["failed_login"], "tag": ["authentication", "database", "failure",
                                                                 "privileged"]},
        {"user": "bob", "eventtype": None, "tag": ["database"]},
        {"user": "carol", "eventtype": ["web_any", "web_error"], "tag": ["error", "webtraffic"]},
        {"user": "root", "eventtype": ["web_any"], "tag": ["privileged", "webtraffic"]},
        {"user": None, "eventtype": None, "tag": None},
    ]


def test_not_and_not_equal():
    # NOT tag=database: the three events off db1; tag!=database: only events that have a tag
    assert q("NOT tag=database | table host", "host") == ["web1", "web1", "app1"]
    assert q("tag!=database | table user", "user") == ["carol", "root"]


def test_stats_by_eventtype_counts_each_value():
    rows = run("* | stats count by eventtype", rows=EVENTS, knowledge=K)
    assert rows == [{"eventtype": "failed_login", "count": 1}, {"eventtype": "web_any", "count": 2},
                    {"eventtype": "web_error", "count": 1}]


def test_an_event_type_that_refers_to_itself_is_refused():
    # refused with the chain, for the search and for the computed field alike (never a silent gap)
    looping = knowledge.from_text(EVENTTYPES + LOOP, TAGS, base=False)
    for query in ("eventtype=loop_a", "* | table eventtype"):
        with pytest.raises(SplUnsupportedError) as info:
            compile_search(query, make_ctx(knowledge=looping))
        assert "eventtype 'loop_a' -> eventtype 'loop_b' -> eventtype 'loop_a'" in info.value.message


def test_home_files_add_replace_and_disable(tmp_path):
    (tmp_path / "eventtypes.conf").write_text(
        "[mine]\nsearch = host=db1\n\n[web_access]\ndisabled = 1\n\n[syslog_message]\nsearch = sourcetype=kern\n")
    (tmp_path / "tags.conf").write_text("[eventtype=mine]\nours = enabled\n\n[eventtype=syslog_message]\n"
                                        "unix = disabled\n\n[broken]\nx = enabled\n")
    k = knowledge.load(tmp_path)
    assert k.eventtypes["mine"] == "host=db1"
    assert "web_access" not in k.eventtypes                       # shipped, turned off
    assert k.eventtypes["syslog_message"] == "sourcetype=kern"     # shipped, replaced
    assert k.tags[("eventtype", "syslog_message")] == ["os"]        # shipped os kept, unix turned off
    assert k.tagged("ours") == [("eventtype", "mine")]
    assert any("tags.conf" in p and "[broken]" in p for p in k.problems)
    assert "mine" not in knowledge.shipped().eventtypes            # the shipped set is untouched
