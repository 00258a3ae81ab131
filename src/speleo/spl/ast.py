"""SPL abstract syntax tree: plain dataclasses with character spans.

Three families: search expressions (the `search` command's boolean terms), eval
expressions (eval / where), and commands (one class per command). `dump()` gives a
compact, stable text form used by the golden tests.
"""

from __future__ import annotations

import dataclasses

from dataclasses import dataclass, field, fields


@dataclass
class Node:
    """Base: every node knows its span in the (macro-expanded) query."""

    start: int = field(default=0, kw_only=True, compare=False)
    end: int = field(default=0, kw_only=True, compare=False)


# --- search expressions (Splunk Search Reference: search) -------------------------


@dataclass
class Term(Node):
    """A free search term or quoted phrase, matched against `_raw` as whole tokens."""

    text: str
    quoted: bool = False


@dataclass
class FieldCmp(Node):
    """`field<op>value` in a search: op is one of = != < <= > >=."""

    field: str
    op: str
    value: str
    quoted: bool = False


@dataclass
class FieldIn(Node):
    """`field IN (v1, v2, ...)`."""

    field: str
    values: list[str]


@dataclass
class TimeBound(Node):
    """`earliest=...` or `latest=...` inside a search."""

    which: str
    text: str


@dataclass
class And(Node):
    items: list[Node]


@dataclass
class Or(Node):
    items: list[Node]


@dataclass
class Not(Node):
    item: Node


# --- eval expressions (Splunk Search Reference: eval) ------------------------------


@dataclass
class Field(Node):
    name: str


@dataclass
class Str(Node):
    value: str


@dataclass
class Num(Node):
    text: str


@dataclass
class BinOp(Node):
    """op: + - * / % . = == != < <= > >= AND OR XOR LIKE."""

    op: str
    left: Node
    right: Node


@dataclass
class UnOp(Node):
    """op: NOT or - (negation)."""

    op: str
    operand: Node


@dataclass
class Call(Node):
    name: str
    args: list[Node]


# --- commands -------------------------------------------------------------------


@dataclass
class Command(Node):
    """Base of all commands; `name` is the command word as written (lower-cased)."""


@dataclass
class Agg(Node):
    """A stats function call: func(field) [as alias]; `param` holds N of percN."""

    func: str
    arg: str | None = None
    param: float | None = None
    alias: str | None = None
    label: str = ""
    expr: Node | None = field(default=None, metadata={"hide_default": True})   # count(eval(...))


@dataclass
class SearchCmd(Command):
    expr: Node | None


@dataclass
class WhereCmd(Command):
    expr: Node


@dataclass
class EvalCmd(Command):
    assignments: list[tuple[str, Node]]


@dataclass
class StatsCmd(Command):
    """stats and eventstats (kind tells which)."""

    kind: str
    aggs: list[Agg]
    by: list[str]
    dedup_splitvals: bool = field(default=False, metadata={"hide_default": True})


@dataclass
class TimechartCmd(Command):
    span: str | None
    aggs: list[Agg]
    by: str | None
    limit: int = 10
    # (name, value) of useother/usenull/cont/otherstr/nullstr when given (Splunk's defaults otherwise)
    options: tuple = field(default=(), metadata={"hide_default": True})


@dataclass
class TableCmd(Command):
    fields: list[str]


@dataclass
class FieldsCmd(Command):
    remove: bool
    fields: list[str]


@dataclass
class RenameCmd(Command):
    pairs: list[tuple[str, str]]


@dataclass
class SortKey(Node):
    field: str
    descending: bool = False
    mode: str = "auto"   # auto | num | str | ip


@dataclass
class SortCmd(Command):
    keys: list[SortKey]
    limit: int | None = 10000


@dataclass
class HeadCmd(Command):
    count: int
    tail: bool = False


@dataclass
class TopCmd(Command):
    """top and rare (rare=True)."""

    fields: list[str]
    by: list[str]
    limit: int = 10
    rare: bool = False
    countfield: str = "count"
    percentfield: str = "percent"
    showcount: bool = True
    showperc: bool = True


@dataclass
class DedupCmd(Command):
    fields: list[str]
    count: int = 1


@dataclass
class RexCmd(Command):
    field: str
    regex: str
    max_match: int = field(default=1, metadata={"hide_default": True})


@dataclass
class BinCmd(Command):
    field: str
    span: str | None
    alias: str | None = None
    bins: int | None = field(default=None, metadata={"hide_default": True})     # numeric: at most N bins
    extent: tuple = field(default=(), metadata={"hide_default": True})         # (("start"|"end", number), ...)


@dataclass
class FillnullCmd(Command):
    value: str
    fields: list[str]


@dataclass
class Pipeline(Node):
    commands: list[Command]


@dataclass
class Subsearch(Node):
    """`[ ... ]`: a nested pipeline (in a search expression or as a command argument)."""

    pipeline: Pipeline


@dataclass
class TstatsCmd(Command):
    """tstats / mstats: aggregates over indexed fields or a data model (`from datamodel=X`)."""

    kind: str
    options: dict[str, str]
    aggs: list[Agg]
    datamodel: str | None = None
    where: Node | None = None
    by: list[str] = field(default_factory=list)
    by_options: dict[str, str] = field(default_factory=dict)


@dataclass
class ConvertItem(Node):
    func: str
    field: str
    alias: str | None = None


@dataclass
class ConvertCmd(Command):
    timeformat: str | None
    items: list[ConvertItem]


@dataclass
class SpathCmd(Command):
    input: str | None = None
    output: str | None = None
    path: str | None = None


@dataclass
class LookupCmd(Command):
    """lookup <table> (<field> [as <event-field>])... [OUTPUT|OUTPUTNEW (<field> [as <name>])...]."""

    table: str
    options: dict[str, str]
    inputs: list[tuple[str, str]]
    mode: str | None = None
    outputs: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class InputlookupCmd(Command):
    """inputlookup, and inputcsv (`command`), whose file is in the home's `csv` folder."""

    table: str
    options: dict[str, str]
    where: Node | None = None
    command: str = field(default="inputlookup", metadata={"hide_default": True})


@dataclass
class JoinCmd(Command):
    options: dict[str, str]
    fields: list[str]
    subsearch: Subsearch


@dataclass
class AppendCmd(Command):
    """append / appendpipe / appendcols / union-like commands taking one subsearch."""

    kind: str
    options: dict[str, str]
    subsearch: Subsearch


@dataclass
class TransactionCmd(Command):
    fields: list[str]
    options: dict[str, str]
    startswith: Node | None = None
    endswith: Node | None = None


@dataclass
class ForeachCmd(Command):
    fields: list[str]
    options: dict[str, str]
    template: str
    body: Pipeline | None = None


@dataclass
class ChartCmd(Command):
    options: dict[str, str]
    aggs: list[Agg]
    over: str | None = None
    by: list[str] = field(default_factory=list)


@dataclass
class StreamstatsCmd(Command):
    options: dict[str, str]
    aggs: list[Agg]
    by: list[str]


@dataclass
class RegexCmd(Command):
    field: str
    negate: bool
    regex: str


@dataclass
class ReplaceCmd(Command):
    pairs: list[tuple[str, str]]
    fields: list[str]


@dataclass
class ArgsCmd(Command):
    """Commands whose arguments are `key=value` options and plain words (mvexpand, makemv,
    nomv, makeresults, outputlookup, xyseries, untable, addtotals, xmlkv, iplocation,
    fromjson...): `name` is the command word."""

    name: str
    options: dict[str, str]
    args: list[str]


def dump(node: object) -> str:
    """Compact, stable text of an AST: `Name(field=value, ...)` without spans."""
    if isinstance(node, Node):
        parts = [f"{f.name}={dump(getattr(node, f.name))}" for f in fields(node) if f.compare
                 and not (f.metadata.get("hide_default") and getattr(node, f.name) == f.default)]
        return f"{type(node).__name__}({', '.join(parts)})"
    if isinstance(node, tuple):
        return "(" + ", ".join(dump(x) for x in node) + ")"
    if isinstance(node, list):
        return "[" + ", ".join(dump(x) for x in node) + "]"
    return repr(node)


_NAME_ATTRS = ("field", "fields", "by", "arg")


def field_names(nodes) -> set[str]:
    """The field names the nodes mention (eval field references, command field lists, by
    clauses, stats arguments, sort keys), wildcards and quoted values left out: an over-estimate
    used to look ahead (which search-time fields a later command reads)."""
    import re

    out: set[str] = set()
    ident = re.compile(r"[A-Za-z_][\w.:{}-]*")

    def add(v) -> None:
        if isinstance(v, str) and ident.fullmatch(v):
            out.add(v)

    def walk(n) -> None:
        if isinstance(n, list):
            for x in n:
                walk(x)
        elif isinstance(n, Field):
            add(n.name)
        elif isinstance(n, Node):
            for f in fields(n):
                v = getattr(n, f.name)
                if f.name in _NAME_ATTRS:
                    for x in (v if isinstance(v, list) else [v]):
                        add(x)
                if isinstance(v, (Node, list)):
                    walk(v)
    walk(list(nodes))
    return out


def contains(node, types: tuple) -> bool:
    """True when `node` (a node, a list of them, or anything else) holds a node of one of
    `types` anywhere, itself included."""
    if isinstance(node, types):
        return True
    if isinstance(node, (list, tuple)):
        return any(contains(x, types) for x in node)
    if isinstance(node, Node):
        return any(contains(getattr(node, f.name), types) for f in dataclasses.fields(node))
    return False


def has_subsearch(node) -> bool:
    """True when `node` holds a subsearch or a nested pipeline anywhere."""
    return contains(node, (Subsearch, Pipeline))
