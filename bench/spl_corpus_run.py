"""The SPL corpus's run rate: each detection of ../shared/data/spl-corpus parsed, compiled (with
the shipped data models, event types and tags) and executed on a small table of events, the way
tests/spl/test_safety.py::test_corpus_parse_rate compiles them (same macros and stand-ins, no
lookups folder). Prints the counts and the most common reasons a search stops, for docs/spl.md.

Usage: `python bench/spl_corpus_run.py [--failures N]` (N reasons to print, default 15).
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


def measure() -> dict:
    searches = [json.loads(line)["search"] for line in (DATA / "security_content_searches.jsonl").open()]
    macros = _macros(searches)
    con = udf.connect()
    con.register("__events__", events_table())
    counts = Counter()
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
            compiled = compile_search(q, make_ctx(macros=macros))
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
    return {"total": len(searches), **counts, "seconds": time.perf_counter() - t0, "stops": stops}


def main() -> None:
    n = int(sys.argv[sys.argv.index("--failures") + 1]) if "--failures" in sys.argv else 15
    r = measure()
    total = r["total"]
    for key in ("parse", "compile", "run"):
        print(f"{key:8} {r.get(key, 0):5} / {total} ({100 * r.get(key, 0) / total:.1f}%)")
    print(f"({r['seconds']:.0f} s)")
    for reason, count in r["stops"].most_common(n):
        print(f"{count:5}  {reason}")


if __name__ == "__main__":
    main()
