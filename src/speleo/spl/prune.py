"""Drop the computed columns no later stage reads.

A pipeline compiles to a chain of CTEs; a command that builds one row per group (`transaction`,
`stats`, `chart`) computes every output field Splunk would give, and DuckDB computes each
aggregate a query lists even when nothing reads its result (a `transaction` followed by
`stats count` would still join every transaction's `_raw`). `prune_columns` walks the chain
from the last stage back and removes, from each stage that lists its columns one by one, the
items no stage after it reads. A stage read through `SELECT *` (or by a non-SELECT, such as a
PIVOT or a UNION) keeps all its columns; so does a SELECT DISTINCT (its columns decide which
rows are kept).
"""

from __future__ import annotations

from sqlglot import exp

ALL = None   # "every column" in the needs below


def _projects_star(body: exp.Expression) -> bool:
    """Whether `body` reads every column of something: a `*` anywhere but in COUNT(*) (`SELECT *`,
    `t.*`, `COLUMNS(t.* EXCLUDE (...))`)."""
    return any(not isinstance(s.parent, exp.Count) for s in body.find_all(exp.Star))


def _reads(body: exp.Expression, name: str) -> bool:
    return any(t.name == name for t in body.find_all(exp.Table))


def _needs_of(body: exp.Expression) -> set[str] | None:
    """The column names a stage may read from its sources: every column name it mentions, or
    ALL when it is not a plain SELECT or projects `*`."""
    if not isinstance(body, exp.Select) or _projects_star(body):
        return ALL
    return {c.name for c in body.find_all(exp.Column)}


def _prunable(body: exp.Expression) -> bool:
    return isinstance(body, exp.Select) and not body.args.get("distinct") \
        and all(isinstance(e, (exp.Alias, exp.Column)) for e in body.expressions)


def _ordinal_reach(body: exp.Select) -> int:
    """How many leading items `GROUP BY` / `ORDER BY` ordinals (`GROUP BY 1, 2`) point into."""
    reach = 0
    for key in ("group", "order"):
        node = body.args.get(key)
        if node is None:
            continue
        for e in node.expressions:
            e = e.this if isinstance(e, exp.Ordered) else e
            if isinstance(e, exp.Literal) and e.is_number:
                reach = max(reach, int(e.this))
    return reach


def prune_columns(root: exp.Expression) -> exp.Expression:
    """Rewrite `root` (a SELECT with its CTEs) in place as the module docstring says; returns it."""
    if not isinstance(root, exp.Select):
        return root
    key = "with_" if root.args.get("with_") is not None else "with"
    with_ = root.args.get(key)
    if with_ is None:
        return root
    root.set(key, None)   # the last stage alone (its CTEs are the other stages)
    try:
        _prune(with_, root)
    finally:
        root.set(key, with_)
    return root


def _prune(with_: exp.With, root: exp.Select) -> None:
    stages = [(c.alias, c.this) for c in with_.expressions] + [(None, root)]
    for i in range(len(stages) - 2, -1, -1):
        name, body = stages[i]
        if not _prunable(body):
            continue
        needed: set[str] = set()
        for _, later in stages[i + 1:]:
            if not _reads(later, name):
                continue
            needs = _needs_of(later)
            if needs is ALL:
                needed = ALL
                break
            needed |= needs
        if needed is ALL:
            continue
        own = {c.name for key in ("where", "group", "having", "qualify", "order")
               if body.args.get(key) is not None for c in body.args[key].find_all(exp.Column)}
        fixed = _ordinal_reach(body)   # GROUP BY 1, 2: the first items keep their positions
        keep = [e for i, e in enumerate(body.expressions)
                if i < fixed or e.alias_or_name in needed or e.alias_or_name in own]
        if keep and len(keep) < len(body.expressions):
            body.set("expressions", keep)
