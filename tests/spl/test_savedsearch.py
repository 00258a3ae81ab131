"""`| savedsearch` and `| from savedsearch:` (Splunk Search Reference: savedsearch, from): the
saved search's text in place of the command, `$key$` replaced by `key=value` arguments."""

from __future__ import annotations

import pyarrow as pa
import pytest

from speleo.errors import NotFoundError, SplSyntaxError, SplUnsupportedError
from speleo.spl import parse
from speleo.spl.savedsearch import expand_saved_searches


class Saved(dict):
    """A macro table whose saved searches are the dict's items."""

    def saved_search(self, name):
        if name not in self.saved:
            raise NotFoundError(f"no saved search named '{name}'")
        return self.saved[name]

    def __init__(self, **saved):
        super().__init__()
        self.saved = saved


def test_the_command_becomes_the_saved_text():
    m = Saved(errors="index=web status>=500", top="| tstats count where index=web by host")
    assert expand_saved_searches("| savedsearch errors | stats count", m).split() == \
        "| search index=web status>=500 | stats count".split()
    assert expand_saved_searches('| savedsearch "top" | sort - count', m).split() == \
        "| tstats count where index=web by host | sort - count".split()
    assert expand_saved_searches("| from savedsearch:errors", m).split() == "| search index=web status>=500".split()
    # in a subsearch, and left alone where it is not a command
    assert expand_saved_searches("index=web [| savedsearch errors | fields host]", m).split() == \
        "index=web [ | search index=web status>=500 | fields host]".split()
    assert expand_saved_searches('search "| savedsearch errors"', m) == 'search "| savedsearch errors"'
    assert expand_saved_searches("savedsearch errors", m) == "savedsearch errors"   # a search for two words


def test_tokens_are_replaced_by_the_arguments():
    m = Saved(by_status="index=web status=$code$ host=$host$")
    got = expand_saved_searches('| savedsearch by_status code=404 host="web 1" | stats count', m)
    assert "status=404 host=web 1" in got
    with pytest.raises(SplSyntaxError, match=r"needs a value for \$host\$"):
        expand_saved_searches("| savedsearch by_status code=404", m)
    got = expand_saved_searches("| savedsearch by_status nosubstitution=true", m)
    assert "status=$code$" in got


def test_nesting_cycles_and_unknown_names():
    m = Saved(a="| savedsearch b | head 1", b="index=web", loop="| savedsearch loop")
    assert expand_saved_searches("| savedsearch a", m).split() == "| search index=web | head 1".split()
    with pytest.raises(SplSyntaxError, match="calls itself"):
        expand_saved_searches("| savedsearch loop", m)
    with pytest.raises(SplSyntaxError, match="no saved search named 'nope'"):
        expand_saved_searches("| savedsearch nope", m)
    with pytest.raises(SplSyntaxError, match="needs the name"):
        expand_saved_searches("| savedsearch", m)
    with pytest.raises(SplUnsupportedError, match="no saved searches here"):
        parse("| savedsearch a", {})


def test_a_real_home_runs_the_saved_search(tmp_path):
    from speleo.alerts.store import for_home
    from speleo.config import Home
    from speleo.service import Service

    svc = Service(Home(tmp_path / "home"), backend="")
    w = svc.open_writer()
    t0 = 1_700_000_000.0
    # 7 events: status 500 on 3 of them (rows 0, 3, 6), 404 on 2 (rows 1, 4)
    statuses = [500, 404, 200, 500, 404, 200, 500]
    w.store.append(pa.table({"_time": [t0 + i for i in range(7)],
                             "_raw": [f"GET /x status={s}" for s in statuses],
                             "host": ["web1"] * 7, "source": ["s"] * 7, "sourcetype": ["st"] * 7,
                             "index": ["main"] * 7}))
    w.store.seal()
    w.close()
    svc.writer = None
    store = for_home(svc.home)
    store.save(0, "by code", {"search": "index=main status=$code$"})
    got = svc.search('| savedsearch "by code" code=500 | stats count', now=t0 + 100, earliest=0, limit=0)
    assert got.table.to_pylist() == [{"count": 3}]
    got = svc.search("| savedsearch \"by code\" code=404", now=t0 + 100, earliest=0, limit=0)
    assert got.total == 2


def test_a_saved_search_used_twice_its_macros_and_a_leading_search_word():
    from speleo.spl.macros import MacroDef

    m = Saved(errs="index=web status>=500", withmacro="`errs_m` ``` only server errors ``` | stats count",
              worded="search index=web", d="index=db", b="| savedsearch d", c="| savedsearch d")
    m["errs_m"] = MacroDef("errs_m", "status>=500")
    # side by side is not a cycle; nor is a diamond (a -> b -> d, a -> c -> d)
    got = expand_saved_searches("| savedsearch errs | append [| savedsearch errs]", m)
    assert got.count("index=web status>=500") == 2
    got = expand_saved_searches("| savedsearch b | append [| savedsearch c]", m)
    assert got.count("index=db") == 2
    # the saved text's macros and comments are expanded as the caller's are
    got = expand_saved_searches("| savedsearch withmacro", m)
    assert "status>=500" in got and "`" not in got and "only server errors" not in got
    # a saved text that starts with the word search
    assert expand_saved_searches("| savedsearch worded", m).split() == "| search index=web".split()
