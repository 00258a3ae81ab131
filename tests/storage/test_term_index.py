"""The term index sidecar (storage.lexicon, query.indexed): every search answers exactly as it
does without sidecars, on real data and on planted edge cases; corrupt sidecars are detected,
counted and ignored; a kill -9 while one is written leaves no half sidecar in use."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import unicodedata
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from speleo.config import Home
from speleo.ingest.oneshot import add_oneshot
from speleo.query import indexed
from speleo.service import Service
from speleo.storage import lexicon

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
REAL = [DATA / "elastic-examples/apache/apache_logs", DATA / "elastic-examples/auth/auth.log",
        DATA / "loghub/Linux/Linux_2k.log"]
if not all(p.exists() for p in REAL):   # as tests/conftest.py data_path: the real data folder is absent
    pytest.skip(f"real data not found under {DATA.resolve()}", allow_module_level=True)

PLANTED = [
    "FAILED login for USER=Admin from 10.0.0.1",
    "x.failed y-failover then fail over",
    "failover",
    "\u212aernel panic (a Kelvin sign for the K)",
    "kernel ok",
    "\u017ftatus with a long s",
    "status=500 10.0.0.1 user=admin",
    "na\u00efve caf\u00e9 \ufb00 ligature",
    "CamelCaseToken MiXeD",
    "abc123def 123abc 4242",
    "trailing failed",
    "failed",
]


def planted_file(folder: Path) -> Path:
    path = folder / "planted.log"
    path.write_text("".join(f"2026-01-01 00:00:{i:02d} {line}\n" for i, line in enumerate(PLANTED)), encoding="utf-8")
    return path


def make_home(root: Path, files: list[Path]) -> Home:
    home = Home(root)
    svc = Service(home)
    w = svc.open_writer()
    try:
        for f in files:
            add_oneshot(w.ingestor, f, "main")
        w.store.merge_hot(1)
        w.store.collect_garbage(0)
    finally:
        w.close()
    return home


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Home:
    root = tmp_path_factory.mktemp("termindex")
    return make_home(root / "home", REAL + [planted_file(root)])


def sidecars(home: Home) -> list[Path]:
    return sorted(home.indexes_dir.rglob("*.parquet" + lexicon.SUFFIX))


class Hidden:
    """Sidecars moved aside for the block (searches then read the buckets as before)."""

    def __init__(self, home: Home) -> None:
        self.home = home

    def __enter__(self):
        for p in sidecars(self.home):
            p.rename(p.with_name(p.name + ".off"))
        indexed.CACHE = indexed.SidecarCache()

    def __exit__(self, *exc):
        for p in self.home.indexes_dir.rglob("*.off"):
            p.rename(p.with_name(p.name[: -len(".off")]))
        indexed.CACHE = indexed.SidecarCache()


_SERVICES: dict = {}


def answer(home: Home, query: str, timeline: bool = True):
    svc = _SERVICES.setdefault(home.root, Service(home))
    r = svc.search(query, limit=0, timeline=timeline)
    rows = sorted(repr(sorted(row.items())) for row in r.table.to_pylist())
    return {"kind": r.kind, "rows": rows, "total": r.total, "timeline": r.timeline, "span": r.span}, r.scanned


SEARCHES = [
    "failed", "FAILED", "Failed", "fail*", "*over", "*ail*", "fa*ed", "failover", "fail over", '"fail over"',
    "kernel", "status", "status=500", "10.0.0.1", "user=admin", "TERM(x.failed)", "TERM(failed)", "CASE(FAILED)",
    "NOT failed", "NOT kernel", "NOT nosuchtokenanywhere", "nosuchtokenanywhere", "NOT host=nosuchhost",
    "sourcetype=access* GET", "NOT sourcetype=syslog", "host=* sshd", "na\u00efve", "caf\u00e9", "camelcasetoken",
    "abc123def", "123abc", "4242", "*", "failed OR kernel", "NOT (failed OR kernel)", "index=main failed",
    "Failed password", "session opened for user root", "GET NOT 404", "sshd source=*auth*", "ERROR OR error",
    "failed earliest=1431870000 latest=1431890000", "fail* latest=1767225605", "ssh* NOT pam*",
    # search-time fields: copied from _raw (the index looks for their words) or calculated (not)
    "user=root", "user=ro*", "user IN (root, admin, nosuchuser)", "NOT user=root", "action=failure",
    "method=GET", "rhost=*.com", "uid=0", "user=*min", "status=5*", "clientip=66.249.73.135",
]


def test_every_search_answers_as_without_the_sidecars(home):
    assert len(sidecars(home)) >= 2
    subsearch = ["failed | append [search kernel]", "kernel | append [search failed | head 3] | stats count"]
    queries = SEARCHES[::5] + [q + " | stats count" for q in SEARCHES] + \
        ["failed | stats count as n", "fail* | stats count by sourcetype"] + subsearch
    got = {q: answer(home, q) for q in queries}
    with Hidden(home):
        plain = {q: answer(home, q) for q in queries}
    for q in queries:
        assert got[q][0] == plain[q][0], q
        assert plain[q][1]["buckets_with_term_index"] == 0
    # a subsearch reads the same events with its own filter: the index does not restrict them
    assert [q for q in queries if got[q][1]["buckets_read"] and not got[q][1]["buckets_with_term_index"]] == subsearch


def test_counts_come_from_the_index_and_match_an_independent_count(home):
    lines = [line for f in REAL for line in f.read_text(encoding="utf-8", errors="replace").splitlines()]
    lines += PLANTED
    for term in ["failed", "session", "GET", "kernel"]:
        expected = sum(1 for line in lines if re.search(rf"(?i)(?<![0-9a-z]){term}(?![0-9a-z])", line))
        res, scanned = answer(home, f"{term} | stats count", timeline=False)
        assert res["rows"] == [repr([("count", expected)])], term
        folding = sum(1 for line in lines if any(c in lexicon.UNSAFE_CHARS for c in line))
        assert scanned["rows_checked_after_term_index"] <= folding   # only rows like the Kelvin sign's are left
    # a rare term: counted from the index; only the rows with case-folding characters are checked
    res, scanned = answer(home, "failover | stats count")
    assert res["rows"] == [repr([("count", 2)])]
    folding = sum(1 for line in PLANTED if any(c in lexicon.UNSAFE_CHARS for c in line))
    assert (scanned["rows_decided_by_term_index"], scanned["rows_checked_after_term_index"]) == (2, folding)


def test_case_folding_rows_are_left_to_the_sql(home):
    # "\u212aernel" (Kelvin sign) matches `kernel` in today's SQL (lower() maps it to k);
    # the byte tokenizer sees "ernel": such rows are listed apart and always checked
    res, scanned = answer(home, "kernel")
    raws = [r for r in res["rows"] if "panic" in r]
    assert len(raws) == 1 and res["total"] >= 2
    assert scanned["rows_checked_after_term_index"] >= 1
    unsafe = {c for c in lexicon.UNSAFE_CHARS}
    every = set()
    for i in range(0x80, 0x110000):
        c = chr(i)
        if unicodedata.category(c) == "Cs":
            continue
        forms = (c.lower(), c.upper(), c.casefold(), c.title())
        if any(ch.isascii() and ch.isalnum() for f in forms for ch in f):
            every.add(c)
    assert every == unsafe


def test_tokenizer_splits_rows_and_breakers():
    raw = pa.array(["ab.CD-ef1 22", "x", "", None, "G\u00e9h", "end7", "7start"])
    tokens, rows = lexicon.tokenize(raw)
    assert list(zip(tokens.to_pylist(), rows.tolist())) == [
        ("ab", 0), ("cd", 0), ("ef1", 0), ("x", 1), ("g", 4), ("h", 4), ("end7", 5), ("7start", 6)]


def test_a_bucket_without_a_sidecar_and_corrupt_ones(home, tmp_path):
    own = make_home(tmp_path / "h", REAL[1:] + [planted_file(tmp_path)])
    queries = ["failed | stats count", "failed", "NOT failed | stats count", "kernel OR session | stats count"]
    with Hidden(own):
        expected = {q: answer(own, q)[0] for q in queries}
    files = sidecars(own)
    assert len(files) >= 2
    first = files[0]
    good = first.read_bytes()
    other = files[1].read_bytes()
    blob = bytearray(good)
    lex = lexicon.Lexicon(good)
    pos, length, _, _ = lex.header["sections"]["post.0"]
    blob[lex.base + pos + length // 2] ^= 0xFF           # one flipped byte in the postings
    cases = {"flipped": bytes(blob), "truncated": good[: len(good) // 2], "garbage": b"SPLX" + os.urandom(64),
             "another bucket's": other, "empty": b""}
    for name, data in cases.items():
        first.write_bytes(data)
        indexed.CACHE = indexed.SidecarCache()
        for q in queries:
            got, scanned = answer(own, q)
            assert got == expected[q], (name, q)
            assert scanned["buckets_with_term_index"] == len(files) - 1, (name, q)
        problems = [p for p in Service(own).catalog.problems() if "term index sidecar ignored" in p["reason"]]
        assert problems and problems[0]["source"] == str(first), name
    first.unlink()                                        # a bucket without a sidecar, beside others with one
    indexed.CACHE = indexed.SidecarCache()
    for q in queries:
        assert answer(own, q)[0] == expected[q]
    proc = subprocess.run([sys.executable, "-m", "speleo.cli.main", "--home", str(own.root), "index",
                           "build-term-index", "--output", "json"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert '"buckets_indexed": 1' in proc.stdout
    assert first.read_bytes() == good                     # rebuilt the same, byte for byte


CRASH_MERGE = """
import sys
from pathlib import Path
from speleo.config import Home
from speleo.service import Service
w = Service(Home(Path(sys.argv[1]))).open_writer()
w.store.merge_hot(1)
"""


@pytest.mark.parametrize("step", ["sidecar.half_written", "sidecar.written"])
def test_kill_while_a_sidecar_is_written_leaves_none_in_use(tmp_path, step):
    root = tmp_path / "h"
    home = Home(root)
    svc = Service(home)
    w = svc.open_writer()
    for f in REAL[1:]:
        add_oneshot(w.ingestor, f, "main")
    w.close()
    with_hot = answer(home, "failed | stats count")[0]
    env = {**os.environ, "SPELEO_CRASH_AT": step}
    proc = subprocess.run([sys.executable, "-c", CRASH_MERGE, str(root)], env=env, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 137, proc.stderr
    left = sorted(p.name for p in home.indexes_dir.rglob("*.tidx*"))
    assert left and all(n.endswith(".tmp") for n in left) == (step == "sidecar.half_written")
    indexed.CACHE = indexed.SidecarCache()
    assert answer(home, "failed | stats count")[0] == with_hot    # the half or orphan sidecar is not used
    w = Service(home).open_writer()                                 # recovery sweeps them
    w.close()
    assert not list(home.indexes_dir.rglob("*.tidx*"))
    w = Service(home).open_writer()
    w.store.merge_hot(1)
    w.store.collect_garbage(0)
    w.close()
    assert len(sidecars(home)) == len(list(home.indexes_dir.rglob("*.parquet")))
    indexed.CACHE = indexed.SidecarCache()
    after, scanned = answer(home, "failed | stats count")
    assert after["rows"] == with_hot["rows"] and scanned["buckets_with_term_index"] >= 1


def test_count_bins_as_the_sql_does():
    times = np.array([0.5, 59.9, 60.0, 3599.99, 3600.0, -0.5])
    keys, counts = indexed.bin_counts(times, 60)
    assert dict(zip(keys, counts)) == {-60.0: 1, 0.0: 2, 60.0: 1, 3540.0: 1, 3600.0: 1}


def test_search_jobs_read_bucket_batches_as_without_the_sidecars(home):
    from speleo.query import engine

    svc = _SERVICES.setdefault(home.root, Service(home))

    def run(query: str):
        compiled = engine.compile_for(query)
        assert engine.batchable(compiled)
        partials = []
        r = engine.execute_incremental(home, svc.catalog, compiled, limit=20,
                                       on_partial=lambda res, progress: partials.append(res.total))
        # the newest 20 events: equal `_time`s may come in another order, so their times are compared
        return r.total, r.timeline, r.table.column("_time").to_pylist(), partials[-1]

    queries = ["failed", "NOT failed session", "fail* OR kernel"]
    got = {q: run(q) for q in queries}
    with Hidden(home):
        plain = {q: run(q) for q in queries}
    assert got == plain


def test_a_running_server_writes_missing_sidecars_and_answers_through_the_api(tmp_path):
    import time as _time

    from tests.conftest import ServerProc

    own = make_home(tmp_path / "h", REAL[1:])
    for p in sidecars(own):
        p.unlink()                                       # as buckets written before sidecars existed
    expected = sum(1 for f in REAL[1:] for line in f.read_text(encoding="utf-8", errors="replace").splitlines()
                   if re.search(r"(?i)(?<![0-9a-z])failed(?![0-9a-z])", line))
    warm = sorted((own.indexes_dir / "main").glob("warm_*.parquet"))
    assert warm
    server = ServerProc(own.root, ["--hec-port", "0"]).start()
    try:
        deadline = _time.monotonic() + 60
        while not all(lexicon.sidecar_path(p).exists() for p in warm) and _time.monotonic() < deadline:
            _time.sleep(0.2)
        assert all(lexicon.load(p) is not None for p in warm)
        body = server.search("failed | stats count", timeline=False)
        assert [int(r["count"]) for r in body["results"]] == [expected]
    finally:
        server.stop()
