"""`delete`: hide the events a search finds from every later search (Splunk Search Reference:
delete). Parsed here; carried out by `speleo.service.Service` (it needs the catalog and the
`delete_by_keyword` capability), never compiled into SQL."""

from __future__ import annotations

from dataclasses import dataclass

from speleo.spl import ast
from speleo.spl.cursor import Cursor
from speleo.spl.tokens import Token


@dataclass
class DeleteCmd(ast.Command):
    """`... | delete` (no arguments); must be the last command, after streaming commands only."""


def parse_delete(cur: Cursor, word: Token) -> DeleteCmd:
    cur.expect_end()
    return DeleteCmd()


def compile_delete(state, cmd: DeleteCmd) -> None:
    raise state.fail("delete must be the last command of a search for events (after streaming commands such as "
                     "search, where, eval, rex only); it runs through 'speleo search --allow-delete' or the API "
                     "for a role with the delete_by_keyword capability", cmd)
