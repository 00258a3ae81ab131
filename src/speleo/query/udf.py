"""Python functions Speleo registers on the DuckDB connections that run searches.

`speleo_pcre_match(text, pattern)`: whether the PCRE-style `pattern` matches somewhere in
`text` (NULL when either is NULL), `speleo_pcre_extract(text, pattern, group)` (`rex`) and
`speleo_pcre_replace(text, pattern, replacement)` (`replace()`), run by the `regex` package for
what RE2 (DuckDB's regular expression engine) refuses: look-around, back-references, atomic
groups, possessive quantifiers, conditionals. Patterns compile with `regex.ASCII` (`\\d`, `\\w`
and `\\s` are ASCII, as PCRE's defaults and RE2's) and run with the GIL released, so several
searches match in parallel.

Bounds, as PCRE's `match_limit` bounds Splunk's (limits.conf [rex] match_limit):
- one event: `PCRE_TIMEOUT_SECS` of the matching thread's CPU time (a wall-clock timeout that
  expires on a busy machine is retried with a longer one while the CPU spent stays under it,
  up to `PCRE_WALL_LIMIT_SECS`); past it the search fails with `PcreTimeout`'s message;
- one search: `PCRE_SEARCH_BUDGET_SECS` of matching time on its connection in all;
- a cancel or the searcher's `srchMaxTime` (`interrupt(con)`) stops the next call at once,
  where DuckDB alone would finish its batch of up to 2,048 events first.
`speleo_geoip(ip, field, lang)`: a field of `iplocation` (query/geoip.py);
`speleo_xpath(xml, path)`: the values of `xpath` (query/xpath.py).

Compiled patterns are cached (at most 256). Registered by `connect`; a search whose SQL does not
call them pays nothing but the registration (about 1 ms).
"""

from __future__ import annotations

import threading
import time
import weakref
from functools import lru_cache

PCRE_TIMEOUT_SECS = 1.0          # CPU seconds of one event's match
PCRE_WALL_LIMIT_SECS = 16.0      # the longest wall-clock wait for one event on a busy machine
PCRE_SEARCH_BUDGET_SECS = 300.0  # matching seconds of one search (one connection) in all
TIMEOUT_MARK = "speleo-pcre-timeout"   # found in DuckDB's error text by query.failures
STOP_MARK = "speleo-pcre-stopped"
PATTERN_MARK = "speleo-pcre-pattern"   # a computed pattern or replacement the regex package refuses


class PcreTimeout(Exception):
    """A PCRE pattern ran longer than PCRE_TIMEOUT_SECS on one event, or the search's matching
    went past PCRE_SEARCH_BUDGET_SECS."""


class PcreStopped(Exception):
    """The search was cancelled or ran out of time (`interrupt`)."""


class _Budget:
    """Per connection: whether it was stopped, and the matching time spent so far."""

    def __init__(self) -> None:
        self.stopped = False
        self.spent = 0.0
        self.lock = threading.Lock()

    def run(self, pattern: str, fn):
        """`fn(timeout)` under the bounds of the module doc."""
        if self.stopped:
            raise PcreStopped(STOP_MARK)
        cpu0, wall0 = time.thread_time(), time.perf_counter()
        timeout = PCRE_TIMEOUT_SECS
        try:
            while True:
                try:
                    return fn(timeout)
                except TimeoutError:
                    cpu = time.thread_time() - cpu0
                    waited = time.perf_counter() - wall0
                    if self.stopped:
                        raise PcreStopped(STOP_MARK) from None
                    if cpu >= PCRE_TIMEOUT_SECS * 0.9 or waited >= PCRE_WALL_LIMIT_SECS:
                        raise PcreTimeout(f"{TIMEOUT_MARK}: {pattern}") from None
                    timeout = min(timeout * 2, PCRE_WALL_LIMIT_SECS - waited)   # a busy machine: wait longer
        finally:
            with self.lock:
                self.spent += time.perf_counter() - wall0
                over = self.spent > PCRE_SEARCH_BUDGET_SECS
            if over:
                raise PcreTimeout(f"{TIMEOUT_MARK}: {pattern} (over {PCRE_SEARCH_BUDGET_SECS:g} s for this search)")


_BUDGETS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


@lru_cache(maxsize=256)
def _compiled(pattern: str):
    import regex

    try:
        return regex.compile(pattern, regex.ASCII)
    except regex.error as e:   # a computed pattern (a literal one was checked when compiling)
        raise ValueError(f"{PATTERN_MARK}: invalid regular expression {pattern!r}: {e}") from None


def _search(pattern: str, text: str, timeout: float):
    return _compiled(pattern).search(text, timeout=timeout, concurrent=True)


def pcre_match(text: str | None, pattern: str | None, budget: _Budget | None = None) -> bool | None:
    """See the module doc. Raises PcreTimeout (its text holds TIMEOUT_MARK) or PcreStopped."""
    if text is None or pattern is None:
        return None
    return (budget or _Budget()).run(pattern, lambda t: _search(pattern, text, t)) is not None


def pcre_extract(text: str | None, pattern: str | None, group: str | int | None,
                 budget: _Budget | None = None) -> str | None:
    """Group `group` (a name, or a number as text) of the first match of `pattern` in `text`;
    NULL when there is no match or the group is empty or did not take part. Raises as
    pcre_match."""
    if text is None or pattern is None or group is None:
        return None
    m = (budget or _Budget()).run(pattern, lambda t: _search(pattern, text, t))
    if m is None:
        return None
    key = int(group) if isinstance(group, int) or str(group).isdigit() else str(group)
    return m.group(key) or None


def pcre_replace(text: str | None, pattern: str | None, replacement: str | None,
                 budget: _Budget | None = None) -> str | None:
    """Every match of `pattern` in `text` replaced by `replacement`, a template of the `regex`
    package (`\\g<1>`: a group; functions.pcre_template writes it from Splunk's `\\1`); NULL when
    an argument is NULL. Raises as pcre_match."""
    if text is None or pattern is None or replacement is None:
        return None
    return (budget or _Budget()).run(
        pattern, lambda t: _compiled(pattern).sub(replacement, text, timeout=t, concurrent=True))


@lru_cache(maxsize=256)
def _template(replacement: str, pattern: str) -> str:
    from speleo.spl.functions import replacement_template

    try:
        return replacement_template(replacement, _compiled(pattern).groups)
    except ValueError as e:
        raise ValueError(str(e) if PATTERN_MARK in str(e) else f"{PATTERN_MARK}: {e}") from None


def pcre_replace_spl(text: str | None, pattern: str | None, replacement: str | None,
                     budget: _Budget | None = None) -> str | None:
    """pcre_replace with `replacement` in Splunk's syntax (`\\1` a group, other backslashes
    literal), for a computed pattern RE2 cannot run (eval replace()). Raises ValueError for a
    group the pattern does not have, else as pcre_match."""
    if text is None or pattern is None or replacement is None:
        return None
    return pcre_replace(text, pattern, _template(replacement, pattern), budget)


MAX_MATCHES = 10_000   # rex max_match=0 on the PCRE path: at most this many values per event


def pcre_extract_all(text: str | None, pattern: str | None, group: str | None,
                     budget: _Budget | None = None) -> list[str] | None:
    """Group `group` (a name or a number as text) of every match of `pattern` in `text`, in
    order, at most MAX_MATCHES ("" where the group took no part); NULL when an argument is.
    Raises as pcre_match."""
    if text is None or pattern is None or group is None:
        return None
    key = int(group) if str(group).isdigit() else str(group)

    def run(timeout: float) -> list[str]:
        out = []
        for m in _compiled(pattern).finditer(text, timeout=timeout, concurrent=True):
            out.append(m.group(key) or "")
            if len(out) >= MAX_MATCHES:
                break
        return out
    return (budget or _Budget()).run(pattern, run)


def pcre_sed(text: str | None, pattern: str | None, replacement: str | None, occurrence: int | None,
             every: bool | None, budget: _Budget | None = None) -> str | None:
    """rex mode=sed `s/pattern/replacement/<flags>` for a pattern RE2 cannot run: the
    `occurrence`-th match (from 1) replaced, and every later one too when `every` (flag g); the
    text unchanged when there are fewer matches. `replacement` is a template of the `regex`
    package (functions.pcre_template). NULL when the text or pattern is NULL. Raises as
    pcre_match."""
    if text is None or pattern is None or replacement is None:
        return None
    nth = int(occurrence or 1)

    def run(timeout: float) -> str:
        seen = 0

        def sub(m):
            nonlocal seen
            seen += 1
            if seen < nth or (seen > nth and not every):
                return m.group(0)
            return m.expand(replacement)
        return _compiled(pattern).sub(sub, text, timeout=timeout, concurrent=True)
    return (budget or _Budget()).run(pattern, run)


def register(con) -> None:
    """Add Speleo's functions to a DuckDB connection, bound to its own budget (call it once,
    right after connecting)."""
    budget = _Budget()
    _BUDGETS[con] = budget
    con.create_function("speleo_pcre_match", lambda x, p: pcre_match(x, p, budget), ["VARCHAR", "VARCHAR"],
                        "BOOLEAN", null_handling="special", side_effects=False)
    con.create_function("speleo_pcre_replace", lambda x, p, r: pcre_replace(x, p, r, budget),
                        ["VARCHAR", "VARCHAR", "VARCHAR"], "VARCHAR", null_handling="special", side_effects=False)
    con.create_function("speleo_pcre_replace_spl", lambda x, p, r: pcre_replace_spl(x, p, r, budget),
                        ["VARCHAR", "VARCHAR", "VARCHAR"], "VARCHAR", null_handling="special", side_effects=False)
    con.create_function("speleo_pcre_extract_all", lambda x, p, g: pcre_extract_all(x, p, g, budget),
                        ["VARCHAR", "VARCHAR", "VARCHAR"], "VARCHAR[]", null_handling="special", side_effects=False)
    con.create_function("speleo_pcre_sed", lambda x, p, r, n, g: pcre_sed(x, p, r, n, g, budget),
                        ["VARCHAR", "VARCHAR", "VARCHAR", "BIGINT", "BOOLEAN"], "VARCHAR", null_handling="special",
                        side_effects=False)
    con.create_function("speleo_pcre_extract", lambda x, p, g: pcre_extract(x, p, g, budget),
                        ["VARCHAR", "VARCHAR", "VARCHAR"], "VARCHAR", null_handling="special", side_effects=False)
    con.create_function("speleo_geoip", _geoip, ["VARCHAR", "VARCHAR", "VARCHAR"], "VARCHAR",
                        null_handling="special", side_effects=False)
    con.create_function("speleo_xpath", _xpath, ["VARCHAR", "VARCHAR"], "VARCHAR[]",
                        null_handling="special", side_effects=False)
    con.create_function("speleo_relative_time", _relative_time, ["DOUBLE", "VARCHAR", "VARCHAR"], "DOUBLE",
                        null_handling="special", side_effects=False)


def _relative_time(epoch, modifier, zone):
    """`speleo_relative_time(epoch, modifier, zone)`: relative_time() with a modifier computed
    per event (spl/evalfuncs.py; Search Reference: Date and Time functions); NULL when an
    argument is NULL or the modifier is not a time modifier, as Splunk gives no value."""
    if epoch is None or modifier is None:
        return None
    from speleo.errors import SplError
    from speleo.query.timefmt import local_zone
    from speleo.spl.timemod import parse_relative_time

    try:
        return float(parse_relative_time(str(modifier), float(epoch), local_zone(zone or None)))
    except (SplError, ValueError, OverflowError, KeyError):
        return None


def _xpath(text, path):
    """`speleo_xpath(xml, path)`: the values an `xpath` path selects (query/xpath.py)."""
    from speleo.query import xpath

    return xpath.values(text, path)


def _geoip(ip, field, lang):
    """`speleo_geoip(ip, field, lang)`: one `iplocation` field (query/geoip.py)."""
    from speleo.query import geoip

    return geoip.lookup(ip, field, lang)


def stopped(con) -> bool:
    """Whether the search on `con` was cancelled or ran out of time (`interrupt`): work done in
    Python between its queries (map's runs) checks it."""
    budget = _BUDGETS.get(con)
    return budget is not None and budget.stopped


def interrupt(con) -> None:
    """Stop the search running on `con`: its PCRE functions refuse their next call and DuckDB is
    interrupted (a cancel, or the searcher's srchMaxTime)."""
    budget = _BUDGETS.get(con)
    if budget is not None:
        budget.stopped = True
    con.interrupt()


def connect(config: dict | None = None):
    """A DuckDB connection (with `config`) that has Speleo's functions: every connection that
    runs a compiled search is made here."""
    import duckdb

    con = duckdb.connect(config=config or {})
    register(con)
    return con
