"""The SPL corpus's run rate: each detection of ../shared/data/spl-corpus parsed, compiled (with
the shipped data models, event types and tags) and executed on a small table of events, the way
tests/spl/test_safety.py::test_corpus_parse_rate compiles them (same macros and stand-ins, no
lookups folder). Prints the counts and the most common reasons a search stops, for docs/spl.md.

With `--standin-lookups`, the lookups the corpus names but does not ship are stand-ins, as its
missing macros are: for each table a CSV holding only a header, the union of the columns the
corpus's `lookup` commands name for it (its inputs and outputs; `inputlookup` alone: one column
named after the table), written to a temporary folder given to the compiler as its lookups
folder. The searches then compile and run over empty tables: what is measured is the language,
not the corpus's data.

A subsearch that runs before its search (results that are search text, or an `outputlookup`
inside: spl/rawsub.py) runs on the same table of events, its steps after the search carried out,
as a real search's runner (query/subsearches.py) runs it.

Usage: `python bench/spl_corpus_run.py [--failures N] [--standin-lookups]` (N reasons to print,
default 15).
"""

from __future__ import annotations

import json
import re
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

from speleo.query import udf  # noqa: E402

from speleo.errors import SplError  # noqa: E402
from speleo.query.post import apply_post  # noqa: E402
from speleo.spl import compile_search, parse  # noqa: E402
from speleo.spl.macros import MacroDef, macro_table  # noqa: E402
from tests.spl.conftest import events_table, make_ctx  # noqa: E402

DATA = ROOT / ".." / "shared" / "data" / "spl-corpus"


def _macros(searches: list[str]) -> dict:
    macros = macro_table(json.loads(line) for line in (DATA / "security_content_macros.jsonl").open())
    macros["drop_dm_object_name(1)"] = MacroDef("drop_dm_object_name", "rename $name$.* as *", ("name",))
    for q in searches:
        for name in re.findall(r"`([a-z0-9_]+_filter)`", q):
            macros.setdefault(name, MacroDef(name, "search *"))
    return macros


def _reason(e: BaseException) -> str:
    text = str(getattr(e, "message", None) or e).splitlines()[0]
    return re.sub(r"\s*\([^)]*\)", "", re.sub(r",? found .*$", "", text))[:90]


def _lookup_nodes(node):
    """Every lookup and inputlookup command in a parsed search, subsearches included."""
    import dataclasses

    from speleo.spl import ast

    if isinstance(node, (ast.LookupCmd, ast.InputlookupCmd)):
        yield node
    if isinstance(node, (list, tuple)):
        for x in node:
            yield from _lookup_nodes(x)
    elif isinstance(node, ast.Node):
        for f in dataclasses.fields(node):
            yield from _lookup_nodes(getattr(node, f.name))


def standin_lookups(searches: list[str], macros: dict, folder: Path) -> int:
    """Header-only CSV files for the lookup tables the searches name (see the module
    docstring); returns how many tables were written."""
    import csv

    from speleo.spl import ast

    columns: dict[str, list[str]] = {}
    for q in searches:
        try:
            pipeline = parse(q, macros)
        except SplError:
            continue
        for n in _lookup_nodes(pipeline):
            cols = columns.setdefault(n.table, [])
            if isinstance(n, ast.LookupCmd):
                for name, _ in list(n.inputs) + list(n.outputs):
                    if name not in cols:
                        cols.append(name)
    folder.mkdir(parents=True, exist_ok=True)
    written = 0
    for table, cols in columns.items():
        if not table or "/" in table or ".." in table or table.startswith("."):
            continue
        name = table if table.lower().endswith(".csv") else table + ".csv"
        with (folder / name).open("w", newline="") as f:
            csv.writer(f).writerow(cols or [table])
        written += 1
    return written


def measure(standins: bool = False) -> dict:
    searches = [json.loads(line)["search"] for line in (DATA / "security_content_searches.jsonl").open()]
    macros = _macros(searches)
    lookups_dir = None
    if standins:
        import tempfile

        lookups_dir = Path(tempfile.mkdtemp(prefix="speleo-corpus-lookups-"))
        standin_lookups(searches, macros, lookups_dir)
    con = udf.connect()
    con.register("__events__", events_table())
    counts = Counter()

    def run_sub(compiled, limit: int):
        table = con.sql(compiled.sql).to_arrow_table()
        rows = (apply_post(table, compiled.post, con) if compiled.post else table).to_pylist()
        return rows[:limit], len(rows) > limit

    stops: Counter[str] = Counter()
    t0 = time.perf_counter()
    for q in searches:
        try:
            parse(q, macros)
        except SplError as e:
            stops["parse: " + _reason(e)] += 1
            continue
        counts["parse"] += 1
        try:
            compiled = compile_search(q, make_ctx(macros=macros, lookups_dir=lookups_dir, run_subsearch=run_sub))
        except SplError as e:
            stops["compile: " + _reason(e)] += 1
            continue
        counts["compile"] += 1
        try:
            rel = con.sql(compiled.sql)
            if compiled.post:
                apply_post(rel.to_arrow_table(), compiled.post, con)
            else:
                rel.fetchall()
        except Exception as e:  # noqa: BLE001 - a measurement: every failure is counted by its reason
            stops["run: " + type(e).__name__ + ": " + _reason(e)] += 1
            continue
        counts["run"] += 1
    if lookups_dir is not None:
        import shutil

        shutil.rmtree(lookups_dir, ignore_errors=True)
    return {"total": len(searches), **counts, "seconds": time.perf_counter() - t0, "stops": stops}


def main() -> None:
    n = int(sys.argv[sys.argv.index("--failures") + 1]) if "--failures" in sys.argv else 15
    r = measure(standins="--standin-lookups" in sys.argv)
    total = r["total"]
    for key in ("parse", "compile", "run"):
        print(f"{key:8} {r.get(key, 0):5} / {total} ({100 * r.get(key, 0) / total:.1f}%)")
    print(f"({r['seconds']:.0f} s)")
    for reason, count in r["stops"].most_common(n):
        print(f"{count:5}  {reason}")


if __name__ == "__main__":
    main()
