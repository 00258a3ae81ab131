"""SPL searches through `Service.search` beside hand-written DuckDB SQL over the same Parquet
buckets (the issue's benchmark: compiled searches within 20% of hand-written SQL).

    python bench/spl_bench.py [EVENTS]      # default 300000; prints a markdown table
    record(events) -> markdown              # used by bench/run.py (SPLBENCH section)

Events are generated key=value lines (5 hosts, 500 users, 2,000 sessions over 6 hours), ingested
with `add_oneshot` into a temporary home. Each pair is checked to give the same rows.
"""

from __future__ import annotations

import math
import random
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

START = 1_700_000_000
KV = r"(?:^|[\s,;]){}=([^\s,;]+)"


def _f(name: str) -> str:
    return f"nullif(regexp_extract(_raw, '{KV.format(name)}', 1), '')"


# (name, SPL, hand-written SQL over the relation `ev`, key columns to compare by)
CASES = [
    ("stats by two fields",
     "index=main | stats count avg(bytes) as avg_bytes by host status",
     f"SELECT host, {_f('status')} AS status, count(*) AS count, avg(try_cast({_f('bytes')} AS DOUBLE)) AS avg_bytes "
     f"FROM ev WHERE {_f('status')} IS NOT NULL GROUP BY 1, 2"),
    ("eventstats",
     "index=main | eventstats avg(bytes) as avg_bytes by host | where bytes > avg_bytes | stats count by host",
     f"SELECT host, count(*) AS count FROM (SELECT host, try_cast({_f('bytes')} AS DOUBLE) AS b, "
     f"avg(try_cast({_f('bytes')} AS DOUBLE)) OVER (PARTITION BY host) AS a FROM ev) WHERE b > a GROUP BY host"),
    ("dedup",
     "index=main | dedup user | table user host _time",
     f"SELECT u AS user, host, _time FROM (SELECT {_f('user')} AS u, host, _time FROM ev) WHERE u IS NOT NULL "
     f"QUALIFY row_number() OVER (PARTITION BY u ORDER BY _time DESC) = 1"),
    ("transaction",
     "index=main | transaction session maxpause=120s | stats count avg(duration) as avg_duration sum(eventcount) as events",
     f"WITH e AS (SELECT {_f('session')} AS s, _time FROM ev WHERE {_f('session')} IS NOT NULL), "
     f"b AS (SELECT s, _time, CASE WHEN lag(_time) OVER w IS NULL OR _time - lag(_time) OVER w > 120 THEN 1 ELSE 0 END AS brk "
     f"FROM e WINDOW w AS (PARTITION BY s ORDER BY _time)), "
     f"g AS (SELECT s, _time, sum(brk) OVER (PARTITION BY s ORDER BY _time ROWS UNBOUNDED PRECEDING) AS seg FROM b), "
     f"t AS (SELECT max(_time) - min(_time) AS d, count(*) AS n FROM g GROUP BY s, seg) "
     f"SELECT count(*) AS count, avg(d) AS avg_duration, sum(n) AS events FROM t"),
    ("timechart by a field",
     "index=main | timechart span=1h count by host",
     # Splunk's cont=true: every hour of the searched range is a row, 0 where no event
     "WITH p AS (PIVOT (SELECT floor(_time / 3600) * 3600 AS _time, host FROM ev) ON host USING count(*) GROUP BY _time), "
     f"g AS (SELECT unnest(generate_series({(START - 10) // 3600 * 3600}, {-(-(START + 7 * 3600) // 3600) * 3600 - 3600}, 3600))::DOUBLE AS _time) "
     "SELECT g._time AS _time, COALESCE(COLUMNS(p.* EXCLUDE (_time)), 0) FROM g LEFT JOIN p ON g._time = p._time"),
]


def generate(path: Path, events: int, seed: int = 7, offset: float = 0.0) -> None:
    rng = random.Random(seed)
    actions = ["login", "logout", "view", "buy", "error"]
    with open(path, "w") as f:
        for i in range(events):
            t = START + i * (6 * 3600 / events) + offset
            ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int((t % 1) * 1000):03d}Z"
            f.write(f"{ts} user=u{rng.randint(1, 500)} session=s{rng.randint(1, 2000)} action={rng.choice(actions)} "
                    f"status={rng.choice([200, 200, 200, 302, 404, 500])} bytes={rng.randint(100, 20000)}\n")


def build_home(events: int) -> tuple[object, Path]:
    from speleo.config import Home
    from speleo.ingest.oneshot import add_oneshot
    from speleo.service import Service

    root = Path(tempfile.mkdtemp(prefix="speleo-splbench-"))
    svc = Service(Home(root / "home"))
    w = svc.open_writer()
    for h in range(5):
        p = root / f"web{h}.log"
        generate(p, events // 5, seed=h, offset=h * 0.01)
        add_oneshot(w.ingestor, p, "main", sourcetype="kv", host=f"web{h}")
    w.store.merge_hot(2)
    w.store.collect_garbage(0)
    svc.catalog.checkpoint()
    w.close()
    return Service(Home(root / "home")), root


def _norm(rows: list[dict]) -> list[tuple]:
    def v(x):
        if isinstance(x, float):
            return round(x, 6) if not math.isnan(x) else None
        if isinstance(x, str) and re.fullmatch(r"-?\d+(\.\d+)?", x):
            return round(float(x), 6)
        if isinstance(x, int):
            return float(x)
        return x
    return sorted(tuple(sorted((k, v(val)) for k, val in r.items() if val is not None and val != 0)) for r in rows)


def _best_pair(a, b, runs: int = 5) -> tuple[float, object, float, object]:
    """Best time of each of two functions over `runs` rounds, run in turn (a, b, a, b...) so that
    both see the same load on a shared machine."""
    best_a = best_b = float("inf")
    out_a = out_b = None
    for _ in range(runs):
        t = time.perf_counter()
        out_a = a()
        best_a = min(best_a, time.perf_counter() - t)
        t = time.perf_counter()
        out_b = b()
        best_b = min(best_b, time.perf_counter() - t)
    return best_a, out_a, best_b, out_b


def run_cases(svc) -> list[dict]:
    import duckdb

    paths = [str(svc.home.root / b.path) for b in svc.catalog.live_buckets()]
    out = []
    for name, spl, sql in CASES:
        def compiled():
            res = svc.search(spl, limit=0, earliest=START - 10, latest=START + 7 * 3600, timeline=False)  # as the CLI runs it
            return res.table.to_pylist()

        def hand():
            con = duckdb.connect()
            con.register("ev", con.read_parquet(paths))
            return con.sql(sql).to_arrow_table().to_pylist()
        t_spl, rows_spl, t_sql, rows_sql = _best_pair(compiled, hand)
        same = _norm(rows_spl) == _norm(rows_sql)
        out.append({"name": name, "spl": spl, "spl_s": t_spl, "sql_s": t_sql, "ratio": t_spl / t_sql,
                    "rows": len(rows_spl), "same": same})
    return out


def table(results: list[dict], events: int) -> str:
    lines = [f"SPL through `Service.search` (parse, compile, plan, DuckDB) beside hand-written DuckDB SQL over "
             f"the same Parquet buckets; {events:,} events, best of 5 runs taken in turn, results checked equal.", "",
             "| search | SPL (s) | hand SQL (s) | ratio | rows | same result |", "|---|---|---|---|---|---|"]
    for r in results:
        spl = r["spl"].replace("|", "\\|")
        lines.append(f"| {r['name']}: `{spl}` | {r['spl_s']:.3f} | {r['sql_s']:.3f} | {r['ratio']:.2f} | "
                     f"{r['rows']} | {'yes' if r['same'] else '**no**'} |")
    return "\n".join(lines) + "\n"


def record(events: int = 300_000, doc: Path = ROOT / "docs" / "benchmarks.md") -> str:
    """Run the SPL benchmark and write its table between the SPLBENCH markers of docs/benchmarks.md."""
    svc, root = build_home(events)
    try:
        md = table(run_cases(svc), events)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    start, end = "<!-- SPLBENCH:START -->", "<!-- SPLBENCH:END -->"
    section = f"{start}\n## SPL searches beside hand-written SQL\n\n{md}{end}"
    text = doc.read_text() if doc.exists() else ""
    if start in text and end in text:
        text = text[: text.index(start)] + section + text[text.index(end) + len(end):]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    doc.write_text(text)
    return md


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 300_000
    svc, root = build_home(n)
    try:
        print(table(run_cases(svc), n))
    finally:
        shutil.rmtree(root, ignore_errors=True)
