"""fschange scan of a large tree beside `find -newer` and `sha256sum` over the same tree.

    python bench/fschange_bench.py                 # 20,000 files (what `make bench` runs)
    python bench/fschange_bench.py --files 100000  # the issue's goal: rescan of 100,000 unchanged files < 5 s
    python bench/fschange_bench.py --files 100000 --record   # also rewrite the FSBENCH section of docs/benchmarks.md

Each measured step runs in its own process, which reports its wall time and peak RSS
(`getrusage`): the baseline scan (every file hashed), the rescan of the unchanged tree (the
restart case: state loaded, every entry stat'ed, nothing read), and a rescan after 100 files
were modified. Peers: `find TREE -newer STAMP` (what a cron job would run to list changes) and
`find TREE -type f -print0 | xargs -0 sha256sum` (hashing everything, as a manifest check does).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
FILES_PER_DIR = 500


def build_tree(tree: Path, n: int) -> int:
    """`n` files of 200-4,000 random bytes in folders of FILES_PER_DIR; returns total bytes."""
    if tree.exists() and sum(1 for _ in tree.rglob("f*")) == n:
        return sum(p.stat().st_size for p in tree.rglob("f*"))
    shutil.rmtree(tree, ignore_errors=True)
    rnd = random.Random(7)
    total = 0
    for i in range(n):
        d = tree / f"d{i // FILES_PER_DIR:04d}" / f"s{(i // 50) % 10}"
        if i % 50 == 0:
            d.mkdir(parents=True, exist_ok=True)
        data = rnd.randbytes(rnd.randint(200, 4000))
        (d / f"f{i:06d}").write_bytes(data)
        total += len(data)
    return total


def child(step: str, home: str, tree: str) -> None:
    """Run one step in this process and print {seconds, rss_mb, ...} as JSON."""
    sys.path.insert(0, str(ROOT / "src"))
    t0 = time.perf_counter()
    out: dict = {}
    if step in ("baseline", "rescan", "changed"):
        from speleo.alerts.fschange import inputs
        from speleo.alerts.fschange.runner import FsChangeInput
        from speleo.alerts.fschange.settings import FsChangeSettings
        from speleo.config import Home
        from speleo.service import Service

        svc = Service(Home(Path(home)))
        if step == "baseline":
            inputs.add_input(svc, tree, "fim", FsChangeSettings())
        w = svc.open_writer()
        t0 = time.perf_counter()   # scanning only: imports and opening the home are not the scan
        c0 = time.process_time()
        inp = FsChangeInput(inputs.get_input(svc, "1"), svc.home.root, w.store, svc.catalog)
        inp.start()
        rep = inp.scan()
        out.update(files=rep.files, changes=rep.changes, hashed=rep.hashed)
        out["seconds"] = time.perf_counter() - t0
        out["cpu_seconds"] = time.process_time() - c0
        if step == "rescan":   # the server's periodic rescan: the baseline is already in memory
            t1, c1 = time.perf_counter(), time.process_time()
            inp.scan()
            out["memory_seconds"] = time.perf_counter() - t1
            out["memory_cpu_seconds"] = time.process_time() - c1
        inp.close()
        w.store.seal()
        w.close()
    else:
        subprocess.run(step, shell=True, check=True, stdout=subprocess.DEVNULL)
        out["seconds"] = time.perf_counter() - t0
    usage = resource.getrusage(resource.RUSAGE_SELF if step in ("baseline", "rescan", "changed") else resource.RUSAGE_CHILDREN)
    out["rss_mb"] = usage.ru_maxrss / 1024
    print(json.dumps(out))


def measure(step: str, home: Path, tree: Path) -> dict:
    proc = subprocess.run([sys.executable, __file__, "--child", step, "--home", str(home), "--tree", str(tree)],
                          capture_output=True, text=True, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run(n: int) -> dict:
    tree, home = OUT / f"fstree-{n}", OUT / "fschange-home"
    print(f"building a tree of {n:,} files ...", flush=True)
    total = build_tree(tree, n)
    shutil.rmtree(home, ignore_errors=True)
    stamp = OUT / "fschange-stamp"
    stamp.write_text("")
    os.utime(stamp, (time.time() - 1, time.time() - 1))
    subprocess.run(f"cat $(find {tree} -type f | head -1000) > /dev/null", shell=True)   # warm the page cache a little
    res = {"files": n, "bytes": total}
    res["baseline"] = measure("baseline", home, tree)
    res["rescan"] = measure("rescan", home, tree)
    for p in sorted(tree.rglob("f*"))[:: max(1, n // 100)][:100]:
        p.write_bytes(p.read_bytes()[::-1] + b"!")
    res["changed"] = measure("changed", home, tree)
    res["find_newer"] = measure(f"find {tree} -newer {stamp}", home, tree)
    res["sha256sum"] = measure(f"find {tree} -type f -print0 | xargs -0 sha256sum", home, tree)
    shutil.rmtree(home, ignore_errors=True)
    return res


def table(r: dict) -> str:
    m = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    mem = dict(r["rescan"], seconds=r["rescan"]["memory_seconds"], cpu_seconds=r["rescan"]["memory_cpu_seconds"])
    rows = [
        ("baseline scan (every file stat'ed and hashed, state written)", r["baseline"], "sha256sum", r["sha256sum"]),
        ("rescan of the unchanged tree after a restart (state loaded, nothing read)", r["rescan"], "find -newer", r["find_newer"]),
        ("periodic rescan of the unchanged tree in a running server", mem, "find -newer", r["find_newer"]),
        (f"rescan after 100 files changed ({r['changed']['changes']} events)", r["changed"], "find -newer", r["find_newer"]),
    ]
    lines = [f"fschange over {r['files']:,} files ({r['bytes'] / 1e6:.0f} MB) on this machine ({m}); "
             "`python bench/fschange_bench.py --files N --record` reruns it. Each step is its own process; "
             "times exclude Python start-up and imports; wall time (CPU time of the process in brackets: "
             "on a busy machine the wall time mostly measures waiting for a core).", "",
             "| measure | Speleo | peer (same run) | ratio | goal |", "| --- | --- | --- | --- | --- |"]
    for label, s, peer, p in rows:
        goal = ""
        if "of the unchanged tree" in label:
            met = r["files"] >= 100_000 and s["seconds"] < 5
            goal = f"< 5 s for 100,000 files: {'met' if met else ('NOT met' if r['files'] >= 100_000 else 'see the 100,000-file run')}"
        cpu = f" ({s['cpu_seconds']:.2f} s CPU)" if "cpu_seconds" in s else ""
        lines.append(f"| {label} | {s['seconds']:.2f} s{cpu}, {s['rss_mb']:.0f} MB peak RSS | `{peer}`: {p['seconds']:.2f} s, "
                     f"{p['rss_mb']:.0f} MB | {s['seconds'] / max(p['seconds'], 1e-9):.1f}x | {goal} |")
    return "\n".join(lines) + "\n"


def record(r: dict, doc: Path = ROOT / "docs" / "benchmarks.md") -> None:
    start, end = "<!-- FSBENCH:START -->", "<!-- FSBENCH:END -->"
    section = f"{start}\n## fschange (file-change monitor)\n\n{table(r)}{end}"
    text = doc.read_text()
    if start in text and end in text:
        text = text[: text.index(start)] + section + text[text.index(end) + len(end):]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    doc.write_text(text)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--files", type=int, default=int(os.environ.get("FSBENCH_FILES", 20_000)))
    ap.add_argument("--record", action="store_true", help="rewrite the FSBENCH section of docs/benchmarks.md")
    ap.add_argument("--child")
    ap.add_argument("--home")
    ap.add_argument("--tree")
    a = ap.parse_args()
    if a.child:
        child(a.child, a.home, a.tree)
        return
    OUT.mkdir(parents=True, exist_ok=True)
    r = run(a.files)
    print(table(r))
    if a.record:
        record(r)


if __name__ == "__main__":
    main()
