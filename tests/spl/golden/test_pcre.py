"""Regular expressions RE2 refuses (look-around, back-references, atomic groups, possessive
quantifiers) in `regex` and `match()`: run by the `regex` package, bounded per event
(query/udf.py). Splunk's engine is PCRE (Search Reference: regex, "Regular expressions";
limits.conf [rex] match_limit bounds it). Expected rows are worked out by hand.
"""

from __future__ import annotations

import pytest

from speleo.errors import SplSyntaxError
from speleo.query import udf
from speleo.spl import compile_search
from tests.spl.conftest import make_ctx
from tests.spl.golden._util import ev, run

EVENTS = ev("Failed password for root from 10.0.0.1", "Failed password for invalid user bob from 10.0.0.2",
            "Accepted password for root from 10.0.0.3", "token abab seen", "token abcd seen", "aaaa bbbb")


def raws(query: str) -> list[str]:
    return [r["_raw"] for r in run(query, rows=EVENTS)]


def test_negative_look_ahead_in_the_regex_command():
    # "Failed password for " not followed by "invalid": only the first event
    assert raws('* | regex _raw="Failed password for (?!invalid)"') == ["Failed password for root from 10.0.0.1"]
    # `!=` keeps the others, also events without a match
    assert len(raws('* | regex _raw!="Failed password for (?!invalid)"')) == 5


def test_look_behind_and_back_references_in_match():
    # a word of one letter repeated four times: aaaa and bbbb, in one event
    assert raws('* | where match(_raw, "\\\\b(\\\\w)\\\\1{3}\\\\b")') == ["aaaa bbbb"]
    # a pair of letters repeated (abab), not abcd
    assert raws('* | where match(_raw, "token (\\\\w\\\\w)\\\\1 ")') == ["token abab seen"]
    # "root" preceded by "for ": two events
    assert len(raws('* | where match(_raw, "(?<=for )root")')) == 2
    # the count through eval, as a boolean in if()
    rows = run('* | eval f=if(match(_raw, "(?<!invalid )user"), 1, 0) | stats sum(f) as n', rows=EVENTS)
    assert rows == [{"n": 0}]   # the only "user" follows "invalid "


def test_re2_patterns_still_run_on_re2():
    sql = compile_search('* | regex _raw="Failed password"', make_ctx()).sql
    assert "SPELEO_PCRE_MATCH" not in sql.upper() and "REGEXP_MATCHES" in sql.upper()
    assert "SPELEO_PCRE_MATCH" in compile_search('* | regex _raw="a(?=b)"', make_ctx()).sql.upper()


def test_an_invalid_pcre_pattern_is_a_syntax_error_at_its_place():
    with pytest.raises(SplSyntaxError, match="invalid regular expression") as e:
        compile_search('* | where match(_raw, "(?<=a")', make_ctx())
    assert e.value.pos.start == len("* | where match(_raw, ")


def test_a_pattern_that_runs_too_long_fails_the_search_with_a_reason(monkeypatch):
    from speleo.query.failures import translate

    monkeypatch.setattr(udf, "PCRE_TIMEOUT_SECS", 0.05)
    query = '* | regex _raw="(a|aa)+(?=b)\\\\1"'
    with pytest.raises(Exception) as e:
        run(query, rows=ev("a" * 40 + "!"))
    err = translate(e.value, query)
    assert "took longer than" in err.message and "(a|aa)+(?=b)\\1" in err.message


def test_rex_with_look_around_extracts_each_named_group():
    # Search Reference: rex. "root" after "for " and before " from": two events; `who` keeps
    # its earlier value where the pattern does not match (rex sets fields only from a match)
    rows = run('* | rex "for (?<who>\\\\w+)(?= from)" | rex "(?<pair>(\\\\w)\\\\2)\\\\2\\\\2" | table who pair',
               rows=EVENTS)
    assert [r["who"] for r in rows] == ["root", None, "root", None, None, None]
    # aaaa bbbb: the first letter repeated four times is "a"; the group is two of them
    assert [r["pair"] for r in rows] == [None, None, None, None, None, "aa"]


def test_rex_with_more_than_one_match_and_look_around_is_refused_with_the_reason():
    from speleo.errors import SplUnsupportedError

    with pytest.raises(SplUnsupportedError, match="look-around"):
        compile_search('* | rex max_match=0 "(?<=for )(?<w>\\\\w+)"', make_ctx())


def test_replace_with_back_references_and_look_behind():
    # Search Reference: eval replace(X, Y, Z): every match of Y replaced; \1 is Y's first group
    rows = run('| makeresults | eval s="aaa bbb abab", r=replace(s, "(\\\\w)\\\\1+", "<\\\\1>"), '
               'q=replace(s, "(?<=a)b", "X") | table r q')
    assert rows == [{"r": "<a> <b> abab", "q": "aaa bbb aXaX"}]
