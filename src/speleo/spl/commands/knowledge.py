"""Event types and tags at search time (Splunk Knowledge Manager Manual: "About event types",
"About tags and aliases"; Search Reference: search, `eventtype=` / `tag=` / `tag::<field>=`).

`eventtype=<name>` is the event type's own search, compiled into a SQL predicate over the same
events (`*` wildcards in the name pick every matching type); `tag=<t>` is the OR of the
`<field>=<value>` pairs tagged `<t>` (an `eventtype=<name>` pair is that type's search);
`tag::<field>=<t>` only the pairs of `<field>`. The fields `eventtype`, `tag` and `tag::<field>`
are computed per event (sorted lists of names). Names and values from the query and the conf
files stay literals: they are compared by the same code as any `field=value`.
"""

from __future__ import annotations

import fnmatch

from sqlglot import exp

from speleo.errors import SplError, SplSyntaxError, SplUnsupportedError
from speleo.spl import ast
from speleo.spl.state import State

MAX_DEPTH = 16
_EMPTY = exp.Cast(this=exp.Array(expressions=[]), to=exp.DataType.build("VARCHAR[]"))


def knowledge_of(state: State):
    """The compile context's Knowledge, else the shipped one."""
    k = getattr(state.ctx, "knowledge", None)
    if k is None:
        from speleo import knowledge

        k = knowledge.shipped()
    return k


def is_knowledge_field(state: State, name: str) -> bool:
    """Whether `name` is computed from event types / tags here (not a column already)."""
    return (name in ("eventtype", "tag") or name.startswith("tag::")) and name not in state.columns \
        and state.has_raw() and name not in state.bindings


def _stack(state: State) -> list[str]:
    if not hasattr(state, "_knowledge_stack"):
        state._knowledge_stack = []
    return state._knowledge_stack


def _parse_search(state: State, text: str, what: str, node: ast.Node) -> ast.Node | None:
    from speleo.spl.parser import parse

    try:
        pipeline = parse(text)
    except SplError as e:
        raise SplSyntaxError(f"{what} does not parse: {e.message}", state.query, node.start,
                             max(node.end, node.start + 1)) from None
    if len(pipeline.commands) != 1 or not isinstance(pipeline.commands[0], ast.SearchCmd):
        raise SplUnsupportedError(f"{what} must be a plain search (no '|')", state.query, node.start,
                                  max(node.end, node.start + 1))
    return pipeline.commands[0].expr


def constraint_condition(state: State, text: str, what: str, node: ast.Node) -> exp.Expression:
    """A never-null boolean for a stored search (event type, data model constraint) applied to
    the current events; errors name `what` and point at `node` of the query."""
    from speleo.spl.commands.search import search_condition

    stack = _stack(state)
    if what in stack or len(stack) >= MAX_DEPTH:
        raise SplUnsupportedError(f"{what} refers to itself (through {' -> '.join(stack + [what])})",
                                  state.query, node.start, max(node.end, node.start + 1))
    expr = _parse_search(state, text, what, node)
    if expr is None:
        return exp.true()
    stack.append(what)
    try:
        return search_condition(state, expr)
    except SplError as e:
        if e.query == state.query:
            raise
        raise type(e)(f"{what}: {e.message}", state.query, node.start, max(node.end, node.start + 1)) from None
    finally:
        stack.pop()


def _eventtype_names(state: State, pattern: str) -> list[str]:
    names = list(knowledge_of(state).eventtypes)
    if "*" in pattern:
        return [n for n in names if fnmatch.fnmatchcase(n.lower(), pattern.lower())]
    return [n for n in names if n.lower() == pattern.lower()]


def eventtype_condition(state: State, name: str, node: ast.Node) -> exp.Expression:
    k = knowledge_of(state)
    return constraint_condition(state, k.eventtypes[name], f"eventtype {name!r}", node)


def _pair_condition(state: State, fieldname: str, value: str, node: ast.Node) -> exp.Expression:
    from speleo.spl.commands.search import _never_null, value_match

    if fieldname == "eventtype":
        return exp.or_(*[exp.paren(eventtype_condition(state, n, node)) for n in _eventtype_names(state, value)]
                       or [exp.false()])
    return _never_null(value_match(state.field(fieldname), value))


def _tag_pairs(state: State, fieldname: str, tag: str) -> list[tuple[str, str]]:
    k = knowledge_of(state)
    only = fieldname.split("::", 1)[1] if "::" in fieldname else None
    if "*" in tag:
        tags = [t for t in k.all_tags() if fnmatch.fnmatchcase(t.lower(), tag.lower())]
        pairs = list(dict.fromkeys(p for t in tags for p in k.tagged(t)))
    else:
        pairs = k.tagged(tag)
    return [p for p in pairs if only is None or p[0] == only]


def value_condition(state: State, fieldname: str, value: str, node: ast.Node) -> exp.Expression:
    """A never-null boolean: the event has `value` in the computed field `fieldname`."""
    if value == "*":
        return exp.Not(this=exp.Is(this=knowledge_field(state, fieldname), expression=exp.null()))
    if fieldname == "eventtype":
        return exp.or_(*[exp.paren(eventtype_condition(state, n, node)) for n in _eventtype_names(state, value)]
                       or [exp.false()])
    return exp.or_(*[exp.paren(_pair_condition(state, f, v, node)) for f, v in _tag_pairs(state, fieldname, value)]
                   or [exp.false()])


def search_node_condition(state: State, node: ast.Node) -> exp.Expression | None:
    """The condition of a FieldCmp / FieldIn on eventtype / tag / tag::<field>, else None."""
    if not isinstance(node, (ast.FieldCmp, ast.FieldIn)) or not is_knowledge_field(state, node.field):
        return None
    if isinstance(node, ast.FieldIn):
        return exp.or_(*[exp.paren(value_condition(state, node.field, v, node)) for v in node.values]
                       or [exp.false()])
    if node.op == "=":
        return value_condition(state, node.field, node.value, node)
    if node.op == "!=":
        present = exp.Not(this=exp.Is(this=knowledge_field(state, node.field), expression=exp.null()))
        return exp.and_(present, exp.Not(this=exp.paren(value_condition(state, node.field, node.value, node))))
    raise SplUnsupportedError(f"{node.field}{node.op}{node.value}: only = and != compare event types and tags",
                              state.query, node.start, max(node.end, node.start + 1))


def _names_when(cases: list[tuple[exp.Expression, list[str]]]) -> exp.Expression:
    """Sorted distinct names of the cases whose condition holds; NULL when none."""
    if not cases:
        return exp.Cast(this=exp.null(), to=exp.DataType.build("VARCHAR[]"))
    parts = [exp.Case(ifs=[exp.If(this=cond, true=exp.Array(expressions=[exp.Literal.string(n) for n in names]))],
                      default=_EMPTY.copy()) for cond, names in cases]
    flat = exp.Anonymous(this="flatten", expressions=[exp.Array(expressions=parts)])
    tidy = exp.Anonymous(this="list_sort", expressions=[exp.Anonymous(this="list_distinct", expressions=[flat])])
    return exp.Nullif(this=tidy, expression=_EMPTY.copy())


def knowledge_field(state: State, name: str) -> exp.Expression:
    """The computed `eventtype`, `tag` or `tag::<field>` of each event (a list, or NULL)."""
    node = ast.Node(start=0, end=0)
    k = knowledge_of(state)
    if name == "eventtype":
        return _names_when([(eventtype_condition(state, n, node), [n]) for n in k.eventtypes])
    only = name.split("::", 1)[1] if "::" in name else None
    cases = [(_pair_condition(state, f, v, node), tags) for (f, v), tags in k.tags.items()
             if tags and (only is None or f == only)]
    return _names_when(cases)
