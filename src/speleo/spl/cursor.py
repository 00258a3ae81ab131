"""A token cursor with the small helpers every command's argument parser uses."""

from __future__ import annotations

from speleo.errors import SplSyntaxError, SplUnsupportedError
from speleo.spl.tokens import T, Token


class Cursor:
    """Walks the tokens of one pipeline stage; errors carry the query and a span."""

    def __init__(self, query: str, tokens: list[Token], command: str = "") -> None:
        self.query = query
        self.tokens = tokens
        self.i = 0
        self.command = command

    # -- basic movement ---------------------------------------------------------
    def peek(self, k: int = 0) -> Token:
        return self.tokens[min(self.i + k, len(self.tokens) - 1)]

    def next(self) -> Token:
        tok = self.peek()
        self.i = min(self.i + 1, len(self.tokens) - 1)
        return tok

    def at_end(self) -> bool:
        return self.peek().kind is T.EOF

    def accept(self, kind: T, value: str | None = None) -> Token | None:
        tok = self.peek()
        if tok.kind is kind and (value is None or tok.value == value):
            return self.next()
        return None

    def accept_word(self, *words: str) -> Token | None:
        return self.next() if self.peek().is_word(*words) else None

    def expect(self, kind: T, what: str, value: str | None = None) -> Token:
        tok = self.accept(kind, value)
        if tok is None:
            raise self.error(f"expected {what}", self.peek())
        return tok

    # -- errors -----------------------------------------------------------------
    def error(self, message: str, tok: Token | None = None) -> SplSyntaxError:
        tok = tok or self.peek()
        prefix = f"{self.command}: " if self.command else ""
        found = "end of command" if tok.kind is T.EOF else repr(tok.value)
        return SplSyntaxError(f"{prefix}{message}, found {found}", self.query, tok.start, tok.end)

    def unsupported(self, message: str, tok: Token | None = None) -> SplUnsupportedError:
        tok = tok or self.peek()
        prefix = f"{self.command}: " if self.command else ""
        return SplUnsupportedError(prefix + message, self.query, tok.start, max(tok.end, tok.start + 1))

    def expect_end(self) -> None:
        if not self.at_end():
            raise self.error("unexpected argument")

    # -- common argument shapes ---------------------------------------------------
    def name(self, what: str = "a field name") -> Token:
        """A field name: a word or a quoted string."""
        tok = self.peek()
        if tok.kind in (T.WORD, T.STRING, T.FIELD):
            return self.next()
        raise self.error(f"expected {what}")

    def options(self, allowed: set[str], ignored: frozenset[str] = frozenset()) -> dict[str, Token]:
        """Leading `key=value` options; unknown keys are unsupported, `ignored` are dropped."""
        opts: dict[str, Token] = {}
        while self.peek().kind is T.WORD and self.peek(1).kind is T.OP and self.peek(1).value == "=":
            key = self.peek()
            if key.value.lower() not in allowed | ignored:
                if self.peek(2).kind is T.EOF:
                    break
                raise self.unsupported(f"option {key.value!r} is not supported", key)
            self.i += 2
            value = self.next()
            if value.kind not in (T.WORD, T.STRING, T.NUMBER):
                raise self.error(f"expected a value for {key.value}", value)
            if key.value.lower() in allowed:
                opts[key.value.lower()] = value
        return opts

    def skip_balanced(self, what: str) -> Token:
        """After an opening parenthesis: move past its matching `)` and return that token.
        Raises SplSyntaxError "expected ')' closing <what>" when it is missing."""
        depth, j = 1, self.i
        while depth and self.tokens[j].kind is not T.EOF:
            depth += {T.LPAREN: 1, T.RPAREN: -1}.get(self.tokens[j].kind, 0)
            j += 1
        if depth:
            raise self.error(f"expected ')' closing {what}")
        self.i = j
        return self.tokens[j - 1]

    def fields_and_options(self, allowed: set[str], stop: str) -> tuple[list[str], dict[str, Token]]:
        """Field names (blanks or commas between them) up to EOF or the word `stop`, with
        `key=value` options among them (their documented place varies); an unknown option is
        unsupported."""
        opts = self.options(allowed)
        fields: list[str] = []
        while not self.at_end() and not self.peek().is_word(stop):
            if self.accept(T.COMMA):
                continue
            if self.peek().kind is T.WORD and self.peek(1).kind is T.OP and self.peek(1).value == "=":
                at = self.i
                opts.update(self.options(allowed))
                if self.i == at:
                    raise self.unsupported(f"option {self.peek().value!r} is not supported")
                continue
            fields.append(self.name().value)
        return fields, opts

    def field_list(self, stop: tuple[str, ...] = ("by",)) -> list[Token]:
        """Field names separated by blanks or commas, up to EOF or a stop word."""
        out: list[Token] = []
        while not self.at_end() and not self.peek().is_word(*stop):
            if self.accept(T.COMMA):
                continue
            out.append(self.name())
        return out

    def integer(self, tok: Token, what: str) -> int:
        try:
            return int(tok.value)
        except ValueError:
            raise self.error(f"expected an integer {what}", tok) from None


def as_bool(value: str) -> bool:
    """Splunk boolean option values: true/t/1/yes vs false/f/0/no."""
    return value.lower() in ("true", "t", "1", "yes", "y")
