"""Speleo's exception hierarchy.

One root (`SpeleoError`) and a handful of subclasses. The CLI renders them in
`speleo.cli.main`, the HTTP API in `speleo.server.app`; nothing else formats errors.
"""

from __future__ import annotations

from dataclasses import dataclass


class SpeleoError(Exception):
    """Root of every error Speleo raises on purpose.

    `status` is the HTTP status the API answers with; `code` a stable machine name.
    """

    status = 500
    code = "error"

    def to_dict(self) -> dict:
        """JSON shape of the error for the API: ``{"code", "message"}``."""
        return {"code": self.code, "message": str(self)}


class InputError(SpeleoError):
    """Bad input from a user or a file: says what was wrong and where."""

    status = 400
    code = "bad_input"


class NotFoundError(SpeleoError):
    """A named thing (index, input, token, saved search) does not exist."""

    status = 404
    code = "not_found"


class ConflictError(SpeleoError):
    """The request conflicts with what exists (duplicate content, existing name)."""

    status = 409
    code = "conflict"


class AuthError(SpeleoError):
    """Missing or invalid credentials."""

    status = 401
    code = "unauthorized"


class ForbiddenError(SpeleoError):
    """Valid credentials that do not allow this action (a web user who is not an admin)."""

    status = 403
    code = "forbidden"


class ThrottledError(SpeleoError):
    """Too many attempts (failed sign-ins): try again after `retry_after` seconds (HTTP 429,
    with a Retry-After header)."""

    status = 429
    code = "too_many_requests"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = int(retry_after)


class StorageError(SpeleoError):
    """The data directory is unusable (corrupt catalog, locked by another writer)."""

    status = 503
    code = "storage"


@dataclass
class Position:
    """A span in a query: 0-based character offsets `start`..`end`, 1-based `line` and `column`."""

    start: int
    end: int
    line: int
    column: int


def position_of(text: str, start: int, end: int | None = None) -> Position:
    """Compute the 1-based line and column of character offset `start` in `text`."""
    start = max(0, min(start, len(text)))
    line = text.count("\n", 0, start) + 1
    column = start - (text.rfind("\n", 0, start) + 1) + 1
    return Position(start, start if end is None else end, line, column)


class SplError(SpeleoError):
    """An SPL query that cannot run: a syntax error or an unsupported construct.

    Carries the query and the position of the problem so that the CLI can draw a
    caret under it and the web UI can underline it.
    """

    status = 400
    code = "spl_error"

    def __init__(
        self,
        message: str,
        query: str = "",
        start: int = 0,
        end: int | None = None,
        suggestion: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.query = query
        self.pos = position_of(query, start, end if end is not None else start + 1)
        self.suggestion = suggestion

    @property
    def line(self) -> int:
        return self.pos.line

    @property
    def column(self) -> int:
        return self.pos.column

    def render(self) -> str:
        """Human text: the message, the offending query line and a caret under the problem."""
        lines = self.query.split("\n") if self.query else [""]
        src = lines[self.pos.line - 1] if self.pos.line - 1 < len(lines) else ""
        width = max(1, min(self.pos.end - self.pos.start, len(src) - self.pos.column + 1))
        caret = " " * (self.pos.column - 1) + "^" * width
        hint = f"\n  did you mean '{self.suggestion}'?" if self.suggestion else ""
        return (
            f"{self.message} (line {self.pos.line}, column {self.pos.column})\n"
            f"  {src}\n  {caret}{hint}"
        )

    def to_dict(self) -> dict:
        return {
            "code": self.code,
            "message": self.message,
            "line": self.pos.line,
            "column": self.pos.column,
            "start": self.pos.start,
            "end": self.pos.end,
            "suggestion": self.suggestion,
        }


class SplSyntaxError(SplError):
    """The query does not parse."""

    code = "spl_syntax"


class SplUnsupportedError(SplError):
    """The query uses a command, function or option that Speleo does not implement (named)."""

    code = "spl_unsupported"
