"""Translating what the engine raises into Speleo's own errors.

DuckDB, pyarrow and sqlglot speak of INT128, binders and casts; a person who typed SPL should
read what went wrong in SPL's terms and what to do. `translate` maps an exception that is not a
`SpeleoError` to a `SearchFailed` (status 400) or, for a fault of Speleo itself, a
`SearchInternalError` (500). The engine's own text goes to the server log (logger
`speleo.query`), never into the error. When the engine names a number the query also holds (a
cast out of range), the error points at that number in the query.
"""

from __future__ import annotations

import logging
import math
import re

import duckdb

from speleo.errors import SpeleoError, SplError

from speleo.query import udf

log = logging.getLogger("speleo.query")


class SearchFailed(SplError):
    """The engine could not run a search: the message says why in SPL's terms and what to do;
    `line`/`column`/`start`/`end` point at a number of the query when the failure names one
    (else at its start, with `located` False)."""

    status = 400
    code = "search_failed"

    def __init__(self, message: str, query: str = "", start: int | None = None, end: int | None = None) -> None:
        super().__init__(message, query, start or 0, end)
        self.located = start is not None

    def render(self) -> str:
        return super().render() if self.located else self.message

    def to_dict(self) -> dict:
        body = super().to_dict()
        if not self.located:
            for k in ("line", "column", "start", "end"):
                body[k] = None
        return body


class SearchInternalError(SearchFailed):
    """Speleo itself failed on this search (a bug): the details are in the server log."""

    status = 500
    code = "search_internal"


_DUCKDB = (
    ((duckdb.ConversionException, duckdb.TypeMismatchException, duckdb.InvalidTypeException),
     "a value does not fit the type an operation needs (a number out of range, or text where a number "
     "is expected)", "use smaller numbers, or convert fields first with tonumber() or tostring()"),
    ((duckdb.OutOfRangeException,),
     "a calculation went out of range (past the 64-bit integer limit, about 9.2e18, or a date past "
     "the year 9999)", "use smaller numbers or times, or make a value decimal (x*1.0) before adding to it"),
    ((duckdb.InvalidInputException,),
     "a function was given an argument it cannot use (a regular expression, a time format or a value "
     "it does not accept)", "check the arguments of the eval/where functions and the rex/regex patterns"),
    ((duckdb.OutOfMemoryException,),
     "the search needs more memory than the server allows",
     "narrow it: a shorter time range, one index, fewer 'by' fields, or a head/limit"),
    ((duckdb.IOException, duckdb.PermissionException),
     "a bucket of the searched indexes could not be read (moved, deleted or unreadable)",
     "check 'speleo status' and the disk, then search again"),
    ((duckdb.BinderException, duckdb.CatalogException, duckdb.ParserException, duckdb.NotImplementedException),
     "this combination of commands and fields cannot run (a field used with two different types, or a "
     "construct the engine does not support here)",
     "simplify the search around the last command you added; if it should work, report it with the query"),
)

_NUMBER_IN_TEXT = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?")


def translate(exc: BaseException, query: str = "") -> SpeleoError:
    """A Speleo error for any exception a search raised (a SpeleoError is returned as is)."""
    if isinstance(exc, SpeleoError):
        return exc
    log.info("search failed in the engine: %s: %s (query %r)", type(exc).__name__, exc, query)
    if (isinstance(exc, duckdb.Error) and udf.STOP_MARK in str(exc)) or isinstance(exc, udf.PcreStopped):
        return SearchFailed("the search was stopped", query)   # udf.interrupt: a cancel or srchMaxTime
    if isinstance(exc, duckdb.Error) and udf.PATTERN_MARK in str(exc):   # a computed pattern (query/udf.py)
        said = str(exc).split(udf.PATTERN_MARK + ": ", 1)[1].splitlines()[0]
        return SearchFailed(f"the search could not run: {said} (a pattern computed from the events' values, "
                            "read with PCRE's syntax); check the field that holds it", query)
    if isinstance(exc, duckdb.Error) and udf.TIMEOUT_MARK in str(exc):   # query/udf.py: a PCRE pattern ran too long
        pattern = str(exc).split(udf.TIMEOUT_MARK + ": ", 1)[1]
        budget = f" (over {udf.PCRE_SEARCH_BUDGET_SECS:g} s for this search)"
        if budget in pattern:
            return SearchFailed(f"the search could not run: the regular expression \"{pattern.split(budget)[0]}\" "
                                f"took over {udf.PCRE_SEARCH_BUDGET_SECS:g} s in all (look-around and back-references "
                                "run one event at a time); add search terms or a shorter time range so that fewer "
                                "events reach it", query)
        return SearchFailed(f"the search could not run: the regular expression \"{pattern}\" took longer than "
                            f"{udf.PCRE_TIMEOUT_SECS:g} s on one event (look-around and back-references can take "
                            "exponential time); make it more specific, or avoid nested repetition", query)
    if isinstance(exc, duckdb.Error):
        for kinds, what, todo in _DUCKDB:
            if isinstance(exc, kinds):
                start, end = _number_span(str(exc), query)
                return SearchFailed(f"the search could not run: {what}; {todo}", query, start, end)
        return SearchInternalError("the search could not run: the engine failed on it (details in the "
                                   "server log); simplify it or report it with the query", query)
    if isinstance(exc, (RecursionError, MemoryError)):
        return SearchFailed("the search is too deeply nested or too large to compile; split it or "
                            "remove levels of parentheses and subsearches", query)
    if _is_arrow(exc):
        return SearchFailed("a step run after the engine (cluster, transpose, a timechart pivot, "
                            "outputlookup...) could not handle these values; try it on fewer or "
                            "simpler fields", query)
    log.exception("internal error on search %r", query, exc_info=exc)
    return SearchInternalError("Speleo failed on this search (an internal error, logged on the server); "
                               "simplify it or report it with the query", query)


def _is_arrow(exc: BaseException) -> bool:
    return any(c.__module__.startswith("pyarrow") for c in type(exc).__mro__ if c is not Exception)


def _number_span(message: str, query: str) -> tuple[int | None, int | None]:
    """The span of the first number of `query` equal to a number the engine's message names."""
    named = set()
    for m in _NUMBER_IN_TEXT.finditer(message):
        try:
            v = float(m.group(0))
        except ValueError:
            continue
        if math.isfinite(v) and abs(v) >= 1000:   # small numbers (INT32, 64) say nothing
            named.add(v)
    if not named:
        return None, None
    for m in _NUMBER_IN_TEXT.finditer(query):
        try:
            if float(m.group(0)) in named:
                return m.start(), m.end()
        except ValueError:
            continue
    return None, None
