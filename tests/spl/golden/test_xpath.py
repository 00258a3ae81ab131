"""xpath (Splunk Search Reference: xpath,
https://help.splunk.com/splunk-cloud-platform/spl-search-reference/10.0.2503/search-commands/xpath):
`xpath [outfield=<field>] <xpath-string> [field=<field>] [default=<string>]`, ElementTree's
XPath syntax. The events are the Reference's own example (<foo><bar nickname=...>) and a
Windows event written by hand; every expected value is read off that text."""

from __future__ import annotations

import pytest

from speleo.errors import SplError
from tests.spl.golden._util import ev, run

FOO = ('<foo><bar nickname="spock"></bar></foo><foo><bar nickname="scotty"></bar></foo>'
       '<foo><bar nickname="bones"></bar></foo>')
WIN = ('<?xml version="1.0"?><Event><System><EventID>4688</EventID></System><EventData>'
       '<Data Name="SubjectUserName">alice</Data><Data Name="NewProcessName">C:\\cmd.exe</Data>'
       '</EventData></Event>')
EVENTS = ev((-10, FOO, "h1", "xml"), (-20, WIN, "h2", "xml"), (-30, "not xml at all", "h3", "xml"))


def test_attribute_values_of_every_match_are_multivalue():
    rows = run('* | xpath outfield=name_of_bar "//bar/@nickname" | table host name_of_bar', rows=EVENTS)
    assert rows == [{"host": "h1", "name_of_bar": ["spock", "scotty", "bones"]},
                    {"host": "h2", "name_of_bar": None}, {"host": "h3", "name_of_bar": None}]


def test_predicates_default_field_and_default_value():
    rows = run("* | xpath \"//Data[@Name='NewProcessName']\" default=none | table host xpath", rows=EVENTS)
    assert rows == [{"host": "h1", "xpath": ["none"]}, {"host": "h2", "xpath": ["C:\\cmd.exe"]},
                    {"host": "h3", "xpath": ["none"]}]
    rows = run('* | xpath outfield=id "/Event/System/EventID" | where isnotnull(id) | stats count by id',
               rows=EVENTS)
    assert rows == [{"id": "4688", "count": 1}]


def test_field_option_on_a_computed_field():
    rows = run('| makeresults | eval doc="<a><b>1</b><b>2</b><c x=\\"y\\"/></a>" '
               '| xpath field=doc outfield=bs "//b" | xpath field=doc outfield=cx "//c/@x" | table bs cx')
    assert rows == [{"bs": ["1", "2"], "cx": ["y"]}]


def test_a_path_outside_the_syntax_is_refused_at_compile_time():
    with pytest.raises(SplError, match="not in the XPath syntax"):
        run('| makeresults | xpath "//a["')
    with pytest.raises(SplError, match="needs 1 field name"):
        run("| makeresults | xpath outfield=x")


def test_nesting_cannot_make_the_output_quadratic():
    from speleo.query import xpath

    depth = 20_000
    nested = "<a>t" * depth + "</a>" * depth        # each <a> holds the text of all below it
    got = xpath.values(nested, "//a")
    assert got is not None and sum(len(v) for v in got) <= 2 * xpath.MAX_OUTPUT_CHARS


def test_a_union_is_refused():
    with pytest.raises(SplError, match="no union"):
        run('| makeresults | xpath "//b | //c"')
