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


def test_rex_with_more_than_one_match_and_look_behind():
    # the word after "for " in each event with "password": one a line
    rows = run('* | search password | rex max_match=0 "(?<=for )(?<w>\\\\w+)" | table w', rows=EVENTS)
    assert [r["w"] for r in rows] == [["root"], ["invalid"], ["root"]]


def test_replace_with_back_references_and_look_behind():
    # Search Reference: eval replace(X, Y, Z): every match of Y replaced; \1 is Y's first group
    rows = run('| makeresults | eval s="aaa bbb abab", r=replace(s, "(\\\\w)\\\\1+", "<\\\\1>"), '
               'q=replace(s, "(?<=a)b", "X") | table r q')
    assert rows == [{"r": "<a> <b> abab", "q": "aaa bbb aXaX"}]


@pytest.mark.parametrize("pattern, feature", [
    (r"(?<=a)b", "look-around assertions"), (r"(a)\1", "back-references"),
    (r"(a)\\\1", "back-references"),      # a backslash, then the back-reference \1
    (r"a\\1", None),                      # a backslash then the digit 1: RE2 runs it
    (r"(?<w>\w+)-(?P=w)", "back-references"), (r"\k<w>", "back-references"),
    (r"(a)?(?(1)a|b)", "conditionals"), (r"(?|(a)|(b))", "branch resets"), (r"(?R)", "recursion"),
    (r"(?-1)", "recursion"), (r"(?-i)abc", None), (r"(?#c)a", "comments"), (r"a{2}+", "possessive quantifiers"),
    (r"[+]+", None), (r"[(?=]x", None), (r"\(?=x", None),
])
def test_what_needs_the_pcre_path(pattern, feature):
    from speleo.spl.functions import pcre_feature

    assert pcre_feature(pattern) == feature


def test_rex_groups_are_looked_up_by_name_on_the_pcre_path():
    # the regex package numbers groups its own way: a comment holding "(", a branch reset; by
    # name, "who" is the letter after "x" in each (worked out by hand on "xyz")
    rows = run('* | rex "(?#(c)x(?<who>\\\\w)(?=\\\\w)" | rex "(?|(?<a>x)|(y))(?<b>\\\\w)(?!q)" | table who a b',
               rows=ev("xyz"))
    assert rows == [{"who": "y", "a": "x", "b": "y"}]


def test_replace_uses_one_template_syntax_on_both_paths():
    # \0 is the whole match (as RE2's rewrite); another backslash is literal; a group the
    # pattern lacks is refused when compiling
    rows = run('| makeresults | eval s="foobar", r=replace(s, "(?<=foo)(b)ar", "[\\\\0|\\\\1|\\\\n]") | table r')
    assert rows == [{"r": "foo[bar|b|\\n]"}]
    with pytest.raises(SplSyntaxError, match="group 2"):
        run('| makeresults | eval r=replace("x", "(?<=a)(b)", "\\\\2")')


def test_an_escaped_backslash_in_the_replacement_is_one_backslash_on_both_paths():
    # the replacement's value is \\ (two characters): RE2's rewrite writes one backslash, and so
    # must the regex package's path (a look-behind, literal or computed): "a/b" -> "a\b" (3 characters)
    rows = run('| makeresults | eval s="a/b", p="(?<=a)/", r1=replace(s, "/", "\\\\\\\\"), '
               'r2=replace(s, "(?<=a)/", "\\\\\\\\"), r3=replace(s, p, "\\\\\\\\") | table r1 r2 r3')
    assert rows == [{"r1": "a\\b", "r2": "a\\b", "r3": "a\\b"}]


def test_an_escaped_parenthesis_before_a_question_mark_is_not_a_named_group():
    # x\(?<a> is "x", an optional "(", then "<a>": it matches "x<a>" and "x(<a>" (PCRE's reading);
    # it was rewritten to x\(?P<a> (an optional "(" then "P<a>") and matched neither; a named group
    # after an escaped backslash (\\(?<g>...)) is still one
    q = ('| makeresults | eval s=split("x<a>,x(<a>,xP<a>", ","), p="x\\\\(?<a>" | mvexpand s '
         '| eval l=if(match(s, "x\\\\(?<a>"), 1, 0), c=if(match(s, p), 1, 0), r=replace(s, p, "Q") | table s l c r')
    assert run(q) == [{"s": "x<a>", "l": 1, "c": 1, "r": "Q"}, {"s": "x(<a>", "l": 1, "c": 1, "r": "Q"},
                      {"s": "xP<a>", "l": 0, "c": 0, "r": "xP<a>"}]
    q = ('| makeresults | eval s="a\\\\b", p="\\\\\\\\(?<g>b)" | rex field=s "\\\\\\\\(?<g>b)" '
         '| eval c=if(match(s, p), 1, 0) | table g c')
    assert run(q) == [{"g": "b", "c": 1}]


def test_pcre_digits_and_words_are_ascii():
    # PCRE's (and RE2's) \d is ASCII: an Arabic-Indic three is not a digit on either path
    rows = run('| makeresults | eval s="\u0663x", a=if(match(s, "\\\\d(?=x)"), 1, 0), b=if(match(s, "\\\\dx"), 1, 0) '
               '| table a b')
    assert rows == [{"a": 0, "b": 0}]


def test_an_interrupt_stops_the_pcre_functions_at_their_next_call():
    import threading
    import time

    import pyarrow as pa

    con = udf.connect()
    # 600 rows that each take about 0.06 s in the regex package (18 a's; 22 take 0.9 s): over
    # 30 s in all; stopped at the next row, the query ends a fraction of a second after the
    # interrupt, and never near the 30 s even on a loaded machine
    con.register("t", pa.table({"s": ["a" * 18 + "!"] * 600}))
    threading.Timer(0.3, udf.interrupt, args=(con,)).start()
    t0 = time.perf_counter()
    with pytest.raises(Exception) as e:
        con.sql("SELECT count(*) FROM t WHERE speleo_pcre_match(s, '(a|a)+(?!a)b')").fetchall()
    took = time.perf_counter() - t0
    assert udf.STOP_MARK in str(e.value) or "INTERRUPT" in str(e.value).upper()
    assert took < 10.0, f"the search went on {took:.1f} s after the interrupt"


def test_a_search_over_its_pcre_budget_fails_with_that_reason(monkeypatch):
    from speleo.query.failures import translate

    monkeypatch.setattr(udf, "PCRE_SEARCH_BUDGET_SECS", 0.0)   # any matching time is over it
    query = '* | regex _raw="a(?=b)"'
    with pytest.raises(Exception) as e:
        run(query, rows=ev("ab", "ac"))
    err = translate(e.value, query)
    assert "in all" in err.message and "a(?=b)" in err.message


UNICODE = ev("héllo wörld 42", "ΑΒΓ test 7", "sign \u263a here", "plain 42 more")


def test_re2_syntax_python_lacks_is_accepted():
    # RE2 (and PCRE) have \x{hhhh}, \pL / \p{Greek} and \z; Python's re, which validated patterns
    # before RE2 saw them, refused these (a corpus search with "\x{202E}" failed to compile)
    def run_raws(q):
        return [r["_raw"] for r in run(q, rows=UNICODE)]

    assert run_raws(r'* | regex _raw="\x{263A}"') == ["sign \u263a here"]
    assert run_raws(r'* | where match(_raw, "42\z")') == ["héllo wörld 42"]
    rows = run(r'* | rex field=_raw "^(?<w>\p{Greek}+)" | where isnotnull(w) | table w', rows=UNICODE)
    assert rows == [{"w": "ΑΒΓ"}]
    rows = run(r'* | rex field=_raw "^(?<w>\pL+)" | table w', rows=UNICODE)
    assert [r["w"] for r in rows] == ["héllo", "ΑΒΓ", "sign", "plain"]
    with pytest.raises(SplSyntaxError, match=r"invalid regular expression 'a\{2,1\}'"):
        run(r'* | where match(_raw, "a{2,1}")', rows=UNICODE)


def test_braced_hex_escapes_on_the_pcre_path():
    # a look-behind sends the pattern to the `regex` package, which lacks \x{hhhh}: translated
    rows = run(r'* | where match(_raw, "(?<=sign )\x{263A}") | table _raw', rows=UNICODE)
    assert rows == [{"_raw": "sign \u263a here"}]


@pytest.mark.parametrize("sed, want", [
    # "s/(?<=for )root/ROOT/": the word after "for " replaced; events without it unchanged
    ("s/(?<=for )root/ROOT/", ["Failed password for ROOT from 10.0.0.1",
                               "Failed password for invalid user bob from 10.0.0.2",
                               "Accepted password for ROOT from 10.0.0.3"]),
    # a back-reference: a letter written twice in a row ("aa", "bb") becomes that letter once,
    # first match only, then every match (g), then from the second match on (2g)
    ("s/(\\w)\\1/\\1/", ["aaa bbbb"]),
    ("s/(\\w)\\1/\\1/g", ["aa bb"]),
    ("s/(\\w)\\1/\\1/2g", ["aaa bb"]),
    ("s/(\\w)\\1/\\1/3", ["aaaa bbb"]),
])
def test_rex_sed_with_expressions_re2_refuses(sed, want):
    # Search Reference, rex: mode=sed "s/<regex>/<replacement>/<flags>", flags g (every match)
    # and N (the N-th match; Ng: the N-th and every later one)
    # the events with "password" for the first case, "aaaa bbbb" (matches aa, aa, bb, bb) for the others
    which = "password" if "root" in sed else '"aaaa bbbb"'
    assert raws(f'* | search {which} | rex mode=sed "{sed}" | table _raw') == want



@pytest.mark.parametrize("sed", ["s/(b)/[\\\\\\\\1]/g", "s/(b)/[\\\\1|\\\\n|\\\\\\\\]/g"])
def test_rex_sed_replacement_reads_the_same_on_both_paths(sed):
    # an escaped backslash is a backslash, also before a digit (GNU sed: s/\(b\)/[\\1]/ gives
    # a[\1]c); the pattern with a look-behind that changes nothing runs in the regex package
    # and must give what RE2 gives for the plain pattern
    events = ev("abc")
    re2 = run(f'* | rex mode=sed "{sed}" | table _raw', rows=events)
    pcre = run(f'* | rex mode=sed "{sed.replace("(b)", "(?<=a)(b)")}" | table _raw', rows=events)
    assert re2 == pcre
    if sed.endswith("1]/g"):
        assert pcre == [{"_raw": "a[\\1]c"}]


def test_rex_max_match_with_expressions_re2_refuses():
    # every "ab" whose a is followed by b (look-ahead): "token abab seen" holds two, "token abcd
    # seen" one; max_match=1 is the first only, max_match=0 all of them (Search Reference, rex)
    rows = run('* | search token | rex max_match=0 "(?<pair>a(?=b)b)" | table _raw pair', rows=EVENTS)
    assert [(r["_raw"], r["pair"]) for r in rows] == [("token abab seen", ["ab", "ab"]), ("token abcd seen", ["ab"])]
    rows = run('* | search token | rex max_match=1 "(?<pair>a(?=b)b)" | table pair', rows=EVENTS)
    assert [r["pair"] for r in rows] == ["ab", "ab"]
    # a back-reference: a letter written twice, every one in "aaaa bbbb": aa, aa, bb, bb
    rows = run('* | search "aaaa bbbb" | rex max_match=0 "(?<twice>(\\w)\\2)" | table twice', rows=EVENTS)
    assert rows == [{"twice": ["aa", "aa", "bb", "bb"]}]


def test_mvfind_with_look_behind():
    # Search Reference, mvfind(MVFIELD, "REGEX"): the index (from 0) of the first value that
    # matches; "(?<=x)b": a b after an x: in "abc xbd ab" the second word (1), in "xbc" the first
    rows = run('* | search xbc OR xbd | eval x=mvfind(split(_raw, " "), "(?<=x)b") | table x',
               rows=ev("abc xbd ab", "xbc", "nothing here"))
    assert [r["x"] for r in rows] == [1, 0]


ON_CLICKHOUSE = pytest.mark.skipif(
    __import__("os").environ.get("SPELEO_TEST_ENGINE") == "clickhouse",
    reason="ClickHouse runs a computed pattern with its RE2, which refuses look-around (an error, never another "
           "meaning; docs/spl.md)")


@ON_CLICKHOUSE
def test_computed_patterns_that_re2_refuses_run_in_the_regex_package():
    # Search Reference, match()/replace()/mvfind(): the pattern may be any expression. Each row's
    # pattern is read with PCRE's syntax: row 1 "(?<!x)y" over "xy" (the y follows an x): no match,
    # nothing replaced; row 2 "y" over "zy" (RE2 runs it): a match, "zQ"; row 3 "(y)\1" over "yy"
    # (a back-reference): a match, "Q"; row 4 "(?<=c)b" over "abcb": the second b, "abcQ".
    spl = ('| makeresults count=4 | streamstats count as n '
           '| eval p=case(n=1, "(?<!x)y", n=2, "y", n=3, "(y)\\\\1", n=4, "(?<=c)b"), '
           's=case(n=1, "xy", n=2, "zy", n=3, "yy", n=4, "abcb") '
           '| eval m=if(match(s, p), 1, 0), r=replace(s, p, "Q"), i=mvfind(split("ab,cb", ","), p) | table n m r i')
    rows = run(spl, rows=EVENTS)
    assert [(r["n"], r["m"], r["r"]) for r in rows] == [(1, 0, "xy"), (2, 1, "zQ"), (3, 1, "Q"), (4, 1, "abcQ")]
    # mvfind over ("ab", "cb"): "(?<=c)b" finds the second value (1); "y" patterns find none
    assert [r.get("i") for r in rows] == [None, None, None, 1]
    # a replacement with a group, in Splunk's syntax (\1), of a computed back-reference pattern
    rows = run('| makeresults | eval p="(a)\\\\1", s="aab" | eval r=replace(s, p, "<\\\\1>") | table r', rows=EVENTS)
    assert rows == [{"r": "<a>b"}]


@ON_CLICKHOUSE
def test_a_computed_pattern_the_regex_package_refuses_says_why():
    from speleo.query.failures import translate

    with pytest.raises(Exception) as e:
        run('| makeresults | eval p="(a)(?<=b)", s="aa" | eval r=replace(s, p, "\\\\2")', rows=EVENTS)
    said = str(translate(e.value))
    assert "names group 2, but the pattern has 1" in said and "check the field that holds it" in said
