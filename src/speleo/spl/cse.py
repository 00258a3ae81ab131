"""Compute each search-time field once per chain of pipeline stages.

A field extracted from `_raw` (the query layer's `field_sql`) is a chain of regex and JSON
expressions; a search uses it several times (`status=404` compares it as a number and as a
string; `stats ... by status` filters out nulls and groups; `dedup user` filters, partitions and
projects). `State.field` marks each extraction with an `Extracted` node; `share_extractions`
then rewrites the finished query: the first stage that needs a field reads its source through
`SELECT *, <extraction> AS "__xN"` and every later use, in that stage and in the `SELECT *`
stages that follow it, reads the column. Hidden columns never reach the result (`* EXCLUDE`).
Filters on plain columns (time, index, search terms) still run before the extraction: DuckDB
pushes them through the added projection.
"""

from __future__ import annotations

import itertools
from collections import Counter

from sqlglot import exp


class Extracted(exp.Expression):
    """A search-time field extraction; `this` is its SQL, `name` the field. Lowered to `this`."""

    arg_types = {"this": True, "name": False}


def _source(sel: exp.Select) -> str | None:
    """The relation a SELECT reads when it reads exactly one named table, else None."""
    frm = sel.args.get("from_")
    if frm is None or sel.args.get("joins") or not isinstance(frm.this, exp.Table):
        return None
    return frm.this.name


def _star(sel: exp.Select) -> exp.Star | None:
    return next((e for e in sel.expressions if isinstance(e, exp.Star)), None)


def _own(sel: exp.Select) -> list[Extracted]:
    return [n for n in sel.find_all(Extracted) if n.find_ancestor(exp.Select) is sel]


INPUTS = frozenset({"_raw", "_fields", "sourcetype"})   # what an extraction reads


def _redefines_inputs(sel: exp.Select) -> bool:
    """Whether a stage gives `_raw`, `_fields` or `sourcetype` a new value (eval, rename...)."""
    star = _star(sel)
    replaced = [e.alias for e in (star.args.get("replace") or [])] if star is not None else []
    aliased = [e.alias for e in sel.expressions if isinstance(e, exp.Alias)]
    return bool(INPUTS & set(replaced + aliased))


def share_extractions(root: exp.Select) -> exp.Select:
    """Rewrite `root` (a SELECT with its CTEs) in place as described in the module docstring."""
    if not isinstance(root, exp.Select):
        return root
    with_ = root.args.get("with_") or root.args.get("with")
    stages = [(c.alias, c.this) for c in (with_.expressions if with_ else [])] + [(None, root)]
    refs = Counter(t.name for t in root.find_all(exp.Table))
    carried: dict[str | None, dict[str, str]] = {}
    counter = itertools.count()
    for name, sel in stages:
        if not isinstance(sel, exp.Select):
            continue
        src = _source(sel)
        avail = dict(carried.get(src, {})) if src is not None and refs[src] == 1 else {}
        new: dict[str, tuple[str, exp.Expression]] = {}
        for occ in _own(sel):
            key = occ.this.sql()
            if key not in avail and key not in new:
                if src is None:
                    continue
                new[key] = (f"__x{next(counter)}", Extracted(this=occ.this.copy(), name=occ.args.get("name")))
            alias = avail.get(key) or new[key][0]
            occ.replace(exp.column(alias, quoted=True))
        if new:
            inner = exp.select(exp.Star(), *[exp.alias_(e, a, quoted=True) for a, e in new.values()]).from_(exp.Table(this=exp.to_identifier(src)))
            sel.set("from_", exp.From(this=inner.subquery(alias=src)))
            avail.update({k: a for k, (a, _) in new.items()})
        star = _star(sel)
        if star is None or not avail:
            continue
        if name is not None and refs[name] == 1 and not _redefines_inputs(sel):
            carried[name] = avail        # flows on to the one stage that reads this CTE
        else:
            hidden = [exp.column(a, quoted=True) for a in avail.values()]
            star.set("except_", list(star.args.get("except_") or []) + hidden)
    return root
