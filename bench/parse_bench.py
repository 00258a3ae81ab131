"""Parser throughput: bytes → events (breaking + timestamps) with `EventParser` alone, no storage.

Usage: `python bench/parse_bench.py [MB]`. Generates about MB megabytes of the benchmark logs
(`gen.py`: access, auth, log4j with stack traces, JSON) in a temporary folder, adds the ten
loghub files and the Kafka log of ../shared/data, and parses each file in 8 MiB chunks as
oneshot does. Prints MB/s of CPU time per file kind and overall.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "src"))

from gen import generate  # noqa: E402

from speleo import sourcetypes  # noqa: E402
from speleo.ingest.breaking import EventParser  # noqa: E402
from speleo.ingest.tailing import sample_lines  # noqa: E402

DATA = ROOT / ".." / "shared" / "data"
CHUNK = 8 * 1024 * 1024


def parse_file(path: Path) -> tuple[int, int, float]:
    """(bytes, events, CPU seconds) of parsing one file the way oneshot does."""
    data = path.read_bytes()
    name = sourcetypes.detect(str(path), sample_lines(data[:8192]))
    parser = EventParser(sourcetypes.get(name), tz="UTC")
    t0 = time.process_time()
    events, offset, carry = 0, 0, b""
    for pos in range(0, len(data) + 1, CHUNK):
        block = data[pos : pos + CHUNK]
        buf = carry + block
        final = pos + CHUNK >= len(data)
        chunk = parser.parse(buf, offset, final, 0.0)
        events += chunk.events.num_rows
        offset += chunk.consumed
        carry = buf[chunk.consumed :]
        if final:
            break
    return len(data), events, time.process_time() - t0


def main() -> None:
    mb = float(sys.argv[1]) if len(sys.argv) > 1 else 40.0
    with tempfile.TemporaryDirectory() as tmp:
        generate(Path(tmp), int(mb * 1e6), start=1_700_000_000.0)
        groups: dict[str, list[Path]] = {}
        for p in sorted(Path(tmp).rglob("*")):
            if p.is_file():
                groups.setdefault("gen:" + p.name, []).append(p)
        groups["loghub"] = sorted(DATA.glob("loghub/*/*_2k.log"))
        groups["kafka"] = sorted(DATA.glob("elastic-examples/kafka0/server.log*"))
        total_b, total_s = 0, 0.0
        print(f"{'files':<16} {'MB':>8} {'events':>9} {'MB/s (CPU)':>11}")
        for label, paths in groups.items():
            b = e = 0
            s = 0.0
            for p in paths:
                pb, pe, ps = parse_file(p)
                b, e, s = b + pb, e + pe, s + ps
            total_b, total_s = total_b + b, total_s + s
            print(f"{label:<16} {b / 1e6:8.1f} {e:9d} {b / 1e6 / s:11.1f}")
        print(f"{'all':<16} {total_b / 1e6:8.1f} {'':>9} {total_b / 1e6 / total_s:11.1f}")


if __name__ == "__main__":
    main()
