"""Timestamp accuracy tables for docs/ingestion.md.

Usage: `python bench/timestamp_accuracy.py` from the repository root. Prints three Markdown
tables: the held-out formats of tests/ingest/timestamp_cases.py (events at the hand-written
UTC time, events placed in the future), the generated families of
tests/ingest/test_timestamp_generated.py, and the ten loghub systems of ../shared/data against
their *_structured.csv ground truth, both parsed as files are (sourcetype detection, then
`EventParser`).
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

from tests.ingest.conftest import DATA, LOGHUB, ground_truth, same_time  # noqa: E402
from tests.ingest.test_timestamp_generated import FAMILIES, run_family  # noqa: E402
from tests.ingest.timestamp_cases import CASES, run_case  # noqa: E402

from speleo import sourcetypes  # noqa: E402
from speleo.ingest.breaking import EventParser  # noqa: E402
from speleo.ingest.tailing import sample_lines  # noqa: E402

NOW = 1_717_200_000.0  # 2024-06-01 UTC, as the tests pin it


def formats_table() -> list[str]:
    rows = ["| format | source of the layout | sourcetype | events | right time | future |",
            "| --- | --- | --- | ---: | ---: | ---: |"]
    for case in CASES:
        out = run_case(case)
        rows.append(f"| `{case.name}` | {case.source} | {out.sourcetype} | {len(case.want)} | "
                    f"{100 * out.accuracy:.1f}% | {out.future} |")
    return rows


def generated_table() -> list[str]:
    rows = ["| family | sourcetype | events | right time | future |", "| --- | --- | ---: | ---: | ---: |"]
    for name, yearless, write, resolution in FAMILIES:
        st_name, good, n, future = run_family(name, yearless, write, resolution)
        rows.append(f"| `{name}` | {st_name} | {n} | {100 * good / n:.1f}% | {future} |")
    return rows


def loghub_table() -> list[str]:
    rows = ["| system | sourcetype | lines | right time |", "| --- | --- | ---: | ---: |"]
    for system in LOGHUB:
        path = DATA / "loghub" / system / f"{system}_2k.log"
        data = path.read_bytes()
        name = sourcetypes.detect(str(path), sample_lines(data[:8192]))
        events = EventParser(sourcetypes.get(name), tz="UTC", now=NOW).parse(data, 0, True, 0.0).events
        truth = ground_truth(DATA, system)
        times = events.column("_time").to_pylist()
        good = sum(same_time(system, t, w) for t, w in zip(times, truth)) if len(times) == len(truth) else 0
        rows.append(f"| {system} | {name} | {len(truth)} | {100 * good / len(truth):.2f}% |")
    return rows


if __name__ == "__main__":
    print("\n".join(formats_table()))
    print()
    print("\n".join(generated_table()))
    print()
    print("\n".join(loghub_table()))
