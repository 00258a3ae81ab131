"""Render bench results into docs/benchmarks.md between the BENCH markers."""

from __future__ import annotations

from pathlib import Path

START, END = "<!-- BENCH:START -->", "<!-- BENCH:END -->"


def _goal(ok: bool) -> str:
    return "met" if ok else "NOT met"


def render(r: dict, rare_count: int) -> str:
    ing, z, srv = r["ingest"], r["zstd"], r["server"]
    lines = [
        f"Machine: {r['machine']}. Data: {r['data_bytes'] / 1e9:.2f} GB in {r['files']} generated files "
        "(Apache access, auth.log, log4j with stack traces, nginx-style JSON; 20 hosts, 3 days).",
        "",
        "| measure | Speleo | peer (same run) | ratio | goal |",
        "| --- | --- | --- | --- | --- |",
        f"| ingestion, raw file to searchable (oneshot) | {ing['mb_s_per_core']:.1f} MB/s per core, "
        f"{ing['events_s_per_core']:,.0f} events/s per core ({ing['mb_s_wall']:.1f} MB/s wall) | zstd -3 -T1: {z['mb_s']:.1f} MB/s | "
        f"{ing['mb_s_per_core'] / z['mb_s']:.2f}x zstd | 25 MB/s per core: {_goal(ing['mb_s_per_core'] >= 25)} |",
        f"| bytes on disk (buckets + term index + catalog) | {r['disk_bytes'] / 1e6:.1f} MB | zstd -3: {z['bytes'] / 1e6:.1f} MB | "
        f"{r['disk_bytes'] / z['bytes']:.2f}x zstd ({r['data_bytes'] / r['disk_bytes']:.1f}x compression) | "
        f"no larger than zstd: {_goal(r['disk_bytes'] <= z['bytes'])} |",
        f"| server peak RSS during sustained ingestion (monitor) | {srv['peak_rss_mb']:.0f} MB "
        f"({srv['mb_s_per_core']:.1f} MB/s per core) | | | under 300 MB: {_goal(srv['peak_rss_mb'] < 300)} |",
    ]
    if "freshness" in r:
        f = r["freshness"]
        lines.append(
            f"| line appended to a monitored file → found by search (server, {f['rounds']} rounds) | "
            f"median {f['median_s']:.2f} s, max {f['max_s']:.2f} s | | | within 2 s: {_goal(f['max_s'] <= 2)} |"
        )
    for s in r["searches"]:
        ratio = s["grep_s"] / s["speleo_s"] if s["speleo_s"] else float("inf")
        goal = ""
        if s["name"] == "rare term":
            goal = f"10x faster than grep: {_goal(ratio >= 10)}; found {s.get('speleo_count')} of {rare_count}"
        elif s["name"] == "common term count":
            goal = f"no slower than grep: {_goal(ratio >= 1)}; count {s.get('speleo_count')} vs grep {s['grep_count']}"
        rg = f", rg {s['rg_s']:.2f} s" if "rg_s" in s else ""
        lines.append(
            f"| search `{s['spl']}` ({s['buckets_read']} buckets read, {s['buckets_skipped']} skipped by term index) | "
            f"{s['speleo_s']:.3f} s | `{s['grep']}` {s['grep_s']:.2f} s{rg} | {ratio:.1f}x faster than grep | {goal} |"
        )
    return "\n".join(lines)


def write_report(r: dict, path: Path, rare_count: int) -> None:
    text = path.read_text() if path.exists() else f"# Benchmarks\n\n{START}\n{END}\n"
    head, _, rest = text.partition(START)
    _, _, tail = rest.partition(END)
    path.write_text(f"{head}{START}\n{render(r, rare_count)}\n{END}{tail}")


def write_section(path: Path, marker: str, title: str, body: str) -> None:
    """Put `body` between `<!-- {marker}:START -->` and `<!-- {marker}:END -->` in `path`,
    replacing what was there; a new section headed `## {title}` at the end when absent."""
    start, end = f"<!-- {marker}:START -->", f"<!-- {marker}:END -->"
    text = path.read_text()
    block = f"{start}\n{body}\n{end}"
    if start in text:
        head, rest = text.split(start, 1)
        text = head + block + rest.split(end, 1)[1]
    else:
        text = text.rstrip("\n") + f"\n\n## {title}\n\n{block}\n"
    path.write_text(text)
