"""The output-to-lookup action (Splunk `action.lookup.filename`, `action.lookup.append`):
the same as `| outputlookup <filename> append=<append>`: a CSV file in the home's lookups
folder, created when absent, overwritten unless `append` is true (rows added under the
existing header)."""

from __future__ import annotations

import pyarrow as pa

from speleo.alerts.actions import ActionContext, ActionError, register_action
from speleo.alerts.spec import parse_bool


def output_lookup(ctx: ActionContext) -> str:
    from speleo.query.post import apply_post

    name = ctx.render(ctx.params.get("filename") or "").strip()
    if not name.endswith(".csv") or "/" in name or name.startswith("."):
        raise ActionError(f"alert '{ctx.name}': action.lookup.filename = {name!r}: give a file name ending in .csv "
                          "(no folders)")
    names = ctx.fields or sorted({k for r in ctx.rows for k in r})
    table = pa.table({n: pa.array([_cell(r.get(n)) for r in ctx.rows], pa.string()) for n in names})
    append = parse_bool(ctx.params.get("append") or "0", "action.lookup.append")
    apply_post(table, [{"kind": "outputlookup", "path": str(ctx.server.home.lookups_dir / name), "append": append}])
    return f"{len(ctx.rows)} rows {'appended to' if append else 'written to'} {name}"


def _cell(v):
    if v is None:
        return None
    return "\n".join(map(str, v)) if isinstance(v, list) else str(v)


register_action("lookup", output_lookup, maxtime_secs=300)
