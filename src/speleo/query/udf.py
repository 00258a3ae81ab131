"""Python functions Speleo registers on the DuckDB connections that run searches.

`speleo_pcre_match(text, pattern)`: whether the PCRE-style `pattern` matches somewhere in
`text` (NULL when either is NULL), `speleo_pcre_extract(text, pattern, group)` (`rex`) and
`speleo_pcre_replace(text, pattern, replacement)` (`replace()`), run by the `regex` package for what RE2 (DuckDB's regular
expression engine) refuses: look-around, back-references, atomic groups and possessive
quantifiers. Each match is bounded by `PCRE_TIMEOUT_SECS` of one event, as PCRE's
`match_limit` bounds Splunk's (limits.conf [rex] match_limit): past it the search fails with
`PcreTimeout`'s message, it never hangs. Compiled patterns are cached (at most 256).
Registered by `register(con)`; a search whose SQL does not call it pays nothing but the
registration (about 1 ms).
"""

from __future__ import annotations

from functools import lru_cache

PCRE_TIMEOUT_SECS = 1.0
TIMEOUT_MARK = "speleo-pcre-timeout"   # found in DuckDB's error text by query.failures


class PcreTimeout(Exception):
    """A PCRE pattern ran longer than PCRE_TIMEOUT_SECS on one event."""


@lru_cache(maxsize=256)
def _compiled(pattern: str):
    import regex

    return regex.compile(pattern)


def pcre_match(text: str | None, pattern: str | None) -> bool | None:
    """See the module doc. Raises PcreTimeout (its text holds TIMEOUT_MARK)."""
    if text is None or pattern is None:
        return None
    try:
        return _compiled(pattern).search(text, timeout=PCRE_TIMEOUT_SECS) is not None
    except TimeoutError:
        raise PcreTimeout(f"{TIMEOUT_MARK}: {pattern}") from None


def pcre_extract(text: str | None, pattern: str | None, group: int | None) -> str | None:
    """Group `group` of the first match of `pattern` in `text`; NULL when there is no match or
    the group is empty or did not take part. Raises PcreTimeout as pcre_match."""
    if text is None or pattern is None or group is None:
        return None
    try:
        m = _compiled(pattern).search(text, timeout=PCRE_TIMEOUT_SECS)
    except TimeoutError:
        raise PcreTimeout(f"{TIMEOUT_MARK}: {pattern}") from None
    return (m.group(group) or None) if m is not None else None


def pcre_replace(text: str | None, pattern: str | None, replacement: str | None) -> str | None:
    """Every match of `pattern` in `text` replaced by `replacement` (`\\1`..: groups), as eval
    replace(); NULL when an argument is NULL. Raises PcreTimeout as pcre_match."""
    if text is None or pattern is None or replacement is None:
        return None
    try:
        return _compiled(pattern).sub(replacement, text, timeout=PCRE_TIMEOUT_SECS)
    except TimeoutError:
        raise PcreTimeout(f"{TIMEOUT_MARK}: {pattern}") from None


def register(con) -> None:
    """Add Speleo's functions to a DuckDB connection (idempotent per connection is not needed:
    call it once, right after connecting)."""
    con.create_function("speleo_pcre_match", pcre_match, ["VARCHAR", "VARCHAR"], "BOOLEAN",
                        null_handling="special", side_effects=False)
    con.create_function("speleo_pcre_replace", pcre_replace, ["VARCHAR", "VARCHAR", "VARCHAR"], "VARCHAR",
                        null_handling="special", side_effects=False)
    con.create_function("speleo_pcre_extract", pcre_extract, ["VARCHAR", "VARCHAR", "INTEGER"], "VARCHAR",
                        null_handling="special", side_effects=False)


def connect(config: dict | None = None):
    """A DuckDB connection (with `config`) that has Speleo's functions: every connection that
    runs a compiled search is made here."""
    import duckdb

    con = duckdb.connect(config=config or {})
    register(con)
    return con
