"""speleo.spl.regexwalk.structural: offsets worked out by hand."""

from speleo.spl.commands.evalcmd import capture_groups
from speleo.spl.regexwalk import structural


def test_escapes_and_classes_are_skipped():
    # a \( b [ ( ] c ( d )  ->  a=0, b=3, [=4 (the class opens), c=7, (=8, d=9, )=10
    assert list(structural(r"a\(b[(]c(d)")) == [0, 3, 4, 7, 8, 9, 10]
    assert list(structural(r"a\(b[(]c(d)", 7)) == [7, 8, 9, 10]


def test_capture_groups_ignore_escaped_and_class_parentheses():
    assert capture_groups(r"\((?<user>\w+)[()](\d+)(?:x)") == ["user", None]


def test_a_bracket_first_in_a_class_is_literal():
    # [ ] ( ) ] : one class holding "]", "(" and ")"; then (?<a>\w) is the first group, (\w) the
    # second (RE2 and PCRE read it so): offsets [=0, (=5
    assert list(structural(r"[]()](?<a>\w)(\w)"))[:2] == [0, 5]
    assert capture_groups(r"[]()](?<a>\w)(\w)") == ["a", None]
    assert capture_groups(r"[^]()](?<a>\w)") == ["a"]


def test_only_group_keeps_one_group_capturing():
    # groups in order: (a) 1, (?<b>b) 2, (?:c) none, (d[(]) 3 (the class's "(" is no group), (?P<e>e) 4
    from speleo.spl.regexwalk import only_group

    pattern = r"(a)(?<b>b)(?:c)(d[(])(?P<e>e)"
    assert only_group(pattern, 2) == r"(?:a)(b)(?:c)(?:d[(])(?:e)"
    assert only_group(pattern, 4) == r"(?:a)(?:b)(?:c)(?:d[(])(e)"
    import pytest

    with pytest.raises(ValueError, match="4 capturing groups"):
        only_group(pattern, 5)
