"""Bucket lifecycle with real files and real `speleo` processes: cold path on another folder,
age-out, future-dated events, archive to a folder, thaw/unthaw, one search over warm + cold +
thawed, and kill -9 at every step of a roll and of an archive.

Buckets are made in-process through the store (append, seal, merge into warm: one warm bucket
per day because maxHotSpanSecs is one hour), then `speleo` runs as a separate process. Expected
values come from the lines the test wrote."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from speleo.config import Home
from speleo.storage import indexconf
from speleo.storage.catalog import Catalog
from speleo.storage.store import Store
from speleo.service import Service
from tests.conftest import run_cli, speleo_cmd

DAY = 86400.0
T0 = 1_700_000_000.0   # 2023-11-14: every day below is long past


def day_lines(index: str, day: int, n: int = 5) -> list[str]:
    return [f"{index} day{day} line{i} payload-{day}-{i}" for i in range(n)]


def make_buckets(home: Home, index: str, days: list[int], settings: dict | None = None) -> dict[int, list[str]]:
    """One warm bucket per day (events at T0 + day*DAY + i); returns the lines by day."""
    cat = Catalog(home.catalog_path)
    if index not in cat.index_names():
        cat.ensure_index(index)
    indexconf.apply(home, cat, index, indexconf.parse_changes({"maxHotSpanSecs": "3600", **(settings or {})}))
    store = Store(home, cat)
    lines = {}
    for d in days:
        lines[d] = day_lines(index, d)
        n = len(lines[d])
        store.append(pa.table({"_time": [T0 + d * DAY + i for i in range(n)], "_raw": lines[d],
                               "index": [index] * n, "_indextime": [time.time()] * n}))
        store.seal()
    store.merge_hot(1)
    store.collect_garbage(0)
    store.close()
    cat.close()
    return lines


def search_raw(home: Path, spl: str) -> list[str]:
    """Every `_raw` a search finds (in this process: searches read the catalog and files, as the CLI does)."""
    res = Service(Home(home)).search(spl, limit=0, timeline=False)
    return sorted(res.table.column("_raw").to_pylist())


def show(home: Path, index: str, now: float | None = None) -> dict:
    return Service(Home(home)).index(index, now)


def parquet_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.parquet")) if folder.exists() else []


@pytest.fixture
def home(tmp_path) -> Home:
    return Home(tmp_path / "home").ensure()


def test_warm_buckets_roll_to_a_cold_path_on_another_folder_and_stay_searchable(home, tmp_path):
    cold = tmp_path / "colddisk" / "web"
    lines = make_buckets(home, "web", [1, 2, 3], {"coldPath": str(cold), "maxWarmDBCount": "1"})
    every = sorted(sum(lines.values(), []))
    before = show(home.root, "web")
    assert [b["state"] for b in before["buckets"]] == ["warm"] * 3
    out = run_cli(home.root, "index", "retention", "run", "--output", "json")
    acts = json.loads(out.stdout)["actions"]
    assert [(a["action"], a["reason"]) for a in acts] == [("rolled", "max_warm_count")] * 2
    after = show(home.root, "web")
    states = {b["state"]: [] for b in after["buckets"]}
    for b in after["buckets"]:
        states[b["state"]].append(b)
    assert len(states["cold"]) == 2 and len(states["warm"]) == 1
    # the two oldest days went to cold, in the cold folder; the home keeps only the newest
    assert sorted(round(b["earliest"]) for b in states["cold"]) == [T0 + DAY, T0 + 2 * DAY]
    assert sorted(p for p in parquet_files(cold)) == sorted(Path(b["path"]) for b in states["cold"])
    assert len(parquet_files(home.index_dir("web"))) == 1
    # bytes measured on the file system match the catalog
    assert after["disk_bytes"] == sum(p.stat().st_size for p in parquet_files(cold) + parquet_files(home.index_dir("web")))
    assert after["disk_bytes"] == after["catalog_bytes"]
    assert search_raw(home.root, "index=web") == every
    rolled = search_raw(home.root, "index=_internal sourcetype=lifecycle event=rolled")
    assert len(rolled) == 2 and all('to="cold"' in r and 'reason="max_warm_count"' in r for r in rolled)


def test_age_freezes_old_buckets_but_a_future_dated_event_keeps_its_bucket(home):
    lines = make_buckets(home, "app", [1, 2], {"frozenTimePeriodInSecs": "1d"})
    # day 5 holds one event dated a year after "now" below: its bucket must stay
    cat = Catalog(home.catalog_path)
    store = Store(home, cat)
    now = T0 + 30 * DAY
    store.append(pa.table({"_time": [T0 + 5 * DAY, now + 365 * DAY], "_raw": ["app day5 old", "app from the future"],
                           "index": ["app", "app"], "_indextime": [time.time()] * 2}))
    store.seal()
    store.close()
    before_disk = show(home.root, "app")["disk_bytes"]
    out = run_cli(home.root, "index", "retention", "run", "--now", str(now), "--output", "json")
    acts = json.loads(out.stdout)["actions"]
    assert sorted((a["action"], a["reason"], round(a["earliest"])) for a in acts) == [
        ("deleted", "age", T0 + DAY), ("deleted", "age", T0 + 2 * DAY)]
    shown = show(home.root, "app", now)
    (kept,) = shown["buckets"]
    assert kept["kept_by_newer_event"] and kept["future_dated"] and kept["latest"] == now + 365 * DAY
    assert search_raw(home.root, "index=app") == ["app day5 old", "app from the future"]
    assert shown["disk_bytes"] < before_disk and shown["disk_bytes"] == kept["disk_bytes"]
    assert len(parquet_files(home.index_dir("app"))) == 1   # the deleted buckets' files are gone
    table = subprocess.run(speleo_cmd(home.root, "index", "show", "app", "--output", "table", "--now", str(now)),
                           env={**os.environ, "COLUMNS": "250"}, capture_output=True, text=True, check=True).stdout
    assert "kept by a newer event" in table
    deleted = search_raw(home.root, "index=_internal event=deleted reason=age")
    assert len(deleted) == 2 and all('idx="app"' in d for d in deleted)
    assert not any(line in search_raw(home.root, "index=app") for line in lines[1] + lines[2])


def test_archive_to_a_folder_readable_by_pyarrow_then_thaw_and_unthaw(home, tmp_path):
    frozen = tmp_path / "archive"
    cold = tmp_path / "cold"
    lines = make_buckets(home, "arc", [1, 2, 3, 4], {"coldToFrozenDir": str(frozen), "coldPath": str(cold),
                                                   "frozenTimePeriodInSecs": str(int(30 * DAY))})
    now = T0 + 2.5 * DAY + 30 * DAY   # days 1 and 2 are past 30 days, 3 and 4 are not
    run_cli(home.root, "index", "edit", "arc", "--max-warm-count", "1")
    run_cli(home.root, "index", "retention", "run", "--now", str(now))
    # the archive holds days 1-2 as plain Parquet files any tool reads, with a JSON description
    files = sorted((frozen / "arc").glob("*.parquet"))
    assert len(files) == 2
    got = sorted(sum((pq.read_table(f).column("_raw").to_pylist() for f in files), []))
    assert got == sorted(lines[1] + lines[2])
    meta = json.loads(files[0].with_suffix(".json").read_text())
    assert meta["index"] == "arc" and meta["event_count"] == 5 and len(meta["sha256"]) == 64
    assert search_raw(home.root, "index=arc") == sorted(lines[3] + lines[4])
    # thaw day 1 only: one search reads warm (day 4) + cold (day 3) + thawed (day 1)
    lo, hi = T0 + DAY, T0 + 1.5 * DAY
    run_cli(home.root, "index", "thaw", "arc", "--earliest", str(lo), "--latest", str(hi))
    states = sorted(b["state"] for b in show(home.root, "arc")["buckets"])
    assert states == ["cold", "thawed", "warm"]
    assert search_raw(home.root, "index=arc") == sorted(lines[1] + lines[3] + lines[4])
    assert search_raw(home.root, "index=_internal event=thawed") and search_raw(home.root, "index=_internal event=archived")
    # thawed buckets are never frozen by retention, even far past their age
    run_cli(home.root, "index", "retention", "run", "--now", str(now + 3650 * DAY))
    assert "thawed" in [b["state"] for b in show(home.root, "arc")["buckets"]]
    run_cli(home.root, "index", "unthaw", "arc")
    assert search_raw(home.root, "index=arc") == []   # everything else aged out in the run above
    assert not parquet_files(home.index_dir("arc") / "thaweddb")
    nothing = run_cli(home.root, "index", "thaw", "arc", "--earliest", str(T0 + 100 * DAY), "--latest",
                      str(T0 + 101 * DAY), check=False)
    assert nothing.returncode == 1 and "no archived bucket" in nothing.stderr


def crash_run(home: Path, step: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "SPELEO_CRASH_AT": step}
    return subprocess.run(speleo_cmd(home, "index", "retention", "run", *args), env=env, capture_output=True,
                          text=True, timeout=300)


@pytest.mark.parametrize("step", ["cold.rewriting", "cold.copied", "cold.committed"])
def test_kill_during_a_roll_to_cold_leaves_every_event_in_exactly_one_place(home, tmp_path, step):
    cold = tmp_path / "cold"
    lines = make_buckets(home, "k", [1, 2], {"coldPath": str(cold), "maxWarmDBCount": "1"})
    every = sorted(sum(lines.values(), []))
    proc = crash_run(home.root, step)
    assert proc.returncode == 137, proc.stderr
    if step == "cold.rewriting":   # it died inside the rewrite: a temp file, no cold file yet
        assert list(cold.glob("*.parquet.tmp")) and not parquet_files(cold)
    assert search_raw(home.root, "index=k") == every            # no loss, no duplicate right after the crash
    run_cli(home.root, "index", "retention", "run")             # recovery, then the step again if needed
    assert search_raw(home.root, "index=k") == every
    shown = show(home.root, "k")
    assert sorted(b["state"] for b in shown["buckets"]) == ["cold", "warm"]
    # no stray copy left behind: the folders hold exactly the files the catalog lists
    listed = sorted(Path(b["path"]) for b in shown["buckets"])
    assert sorted(parquet_files(cold) + parquet_files(home.index_dir("k"))) == listed
    assert not list(cold.glob("*.tmp"))


@pytest.mark.parametrize("step", ["archive.uploaded", "archive.committed"])
def test_kill_during_an_archive_never_loses_a_bucket(home, tmp_path, step):
    frozen = tmp_path / "frozen"
    lines = make_buckets(home, "z", [1, 2], {"coldToFrozenDir": str(frozen), "frozenTimePeriodInSecs": "1d"})
    now = T0 + 1.5 * DAY + DAY   # day 1 is past the limit, day 2 is not
    proc = crash_run(home.root, step, "--now", str(now))
    assert proc.returncode == 137, proc.stderr
    expected_live = sorted(lines[1] + lines[2]) if step == "archive.uploaded" else sorted(lines[2])
    assert search_raw(home.root, "index=z") == expected_live
    run_cli(home.root, "index", "retention", "run", "--now", str(now))
    assert search_raw(home.root, "index=z") == sorted(lines[2])
    (arch,) = show(home.root, "z")["archives"]
    assert sorted(pq.read_table(arch["location"]).column("_raw").to_pylist()) == sorted(lines[1])
    assert len(parquet_files(home.index_dir("z"))) == 1


def test_cold_to_frozen_script_exit_0_takes_the_bucket_and_non_zero_keeps_it(home, tmp_path):
    """Splunk indexes.conf coldToFrozenScript (spec 3.6 check 7): exit 1 keeps and retries, exit 0 frees."""
    taken = tmp_path / "taken"
    taken.mkdir()
    script = tmp_path / "freeze.py"
    script.write_text("import shutil, sys, pathlib\n"
                      "if pathlib.Path(sys.argv[1]).parent.joinpath('refuse').exists(): sys.exit(1)\n"
                      f"shutil.copy(sys.argv[1], {str(taken)!r})\n")
    lines = make_buckets(home, "scr", [1, 2], {"frozenTimePeriodInSecs": "1d"})
    run_cli(home.root, "index", "edit", "scr", "--frozen-script", f"{os.sys.executable} {script}")
    now = T0 + 1.5 * DAY + DAY
    (home.index_dir("scr") / "refuse").write_text("")
    out = json.loads(run_cli(home.root, "index", "retention", "run", "--now", str(now), "-o", "json").stdout)
    assert out["actions"] == [] and "exited 1" in out["failures"][0]["error"]
    assert search_raw(home.root, "index=scr") == sorted(lines[1] + lines[2])
    (home.index_dir("scr") / "refuse").unlink()
    out = json.loads(run_cli(home.root, "index", "retention", "run", "--now", str(now), "-o", "json").stdout)
    assert [a["action"] for a in out["actions"]] == ["frozen"]
    assert search_raw(home.root, "index=scr") == sorted(lines[2])
    (copy,) = taken.glob("*.parquet")
    assert sorted(pq.read_table(copy).column("_raw").to_pylist()) == sorted(lines[1])


def test_home_path_on_another_folder_holds_hot_and_warm_buckets(home, tmp_path):
    hot = tmp_path / "fastdisk" / "h"
    lines = make_buckets(home, "hp", [1, 2], {"homePath": str(hot)})
    shown = show(home.root, "hp")
    assert {Path(b["path"]).parent for b in shown["buckets"]} == {hot}
    assert len(parquet_files(hot)) == 2 and not parquet_files(home.index_dir("hp"))
    assert search_raw(home.root, "index=hp") == sorted(lines[1] + lines[2])
    stray = hot / "warm_1_2_0123456789ab.parquet"   # a file a crash left before its catalog commit
    stray.write_bytes(b"x")
    Service(home).open_writer().close()   # recovery
    assert not stray.exists() and len(parquet_files(hot)) == 2


def test_a_cold_bucket_is_rewritten_smaller_and_every_search_answers_as_before(home, tmp_path):
    """The roll to cold rewrites the file at coldCompressionLevel (Speleo's own setting) with the
    same row groups: the same searches give the same answers before and after, the term index
    sidecar (letter terms) and the catalog's Bloom filters (digit terms) still prune, and the
    bucket archived from cold and thawed again answers the same too. Expected values from the
    lines written: 40,000 events in row groups of 16,384 (16,384 + 16,384 + 7,232)."""
    from speleo.storage import lexicon

    n = 40_000
    lines = [f"{i} user{i % 7} {'GET' if i % 2 == 0 else 'POST'} /p/{i % 100} bytes={(i * 7919) % 90_000}"
             + (" zebraquux" if i in (5, 39_990) else "") + (" code=777001" if i == 100 else "") for i in range(n)]
    cat = Catalog(home.catalog_path)
    cat.ensure_index("cz")
    indexconf.apply(home, cat, "cz", indexconf.parse_changes(
        {"coldPath": str(tmp_path / "cold"), "coldToFrozenDir": str(tmp_path / "frozen")}))
    store = Store(home, cat)
    store.append(pa.table({"_time": [T0 + i for i in range(n)], "_raw": lines, "index": ["cz"] * n,
                           "source": ["/var/log/cz.log"] * n, "_indextime": [time.time()] * n}))
    store.seal()
    store.merge_hot(1)
    store.collect_garbage(0)
    store.close()
    cat.close()

    svc = Service(home)
    queries = {
        "index=cz zebraquux": 2, "index=cz 777001": 1, "index=cz user3 GET": None, "index=cz GET | stats count": None,
        "index=cz | stats count by user": None, "index=cz zebraquux OR 777001 | table _time _raw": None,
    }

    def answers() -> dict:
        out = {}
        for q in queries:
            r = svc.search(q, limit=0, timeline=False)
            s = r.scanned
            out[q] = (sorted(repr(sorted(row.items())) for row in r.table.to_pylist()),
                      s["buckets_with_term_index"], s["row_groups_skipped_by_terms"])
        return out

    (warm,) = svc.index("cz")["buckets"]
    warm_file = Path(warm["path"])
    groups = [pq.ParquetFile(warm_file).metadata.row_group(i).num_rows for i in range(3)]
    assert groups == [16_384, 16_384, 7_232]
    before = answers()
    # worked out from the lines: the letter term is found through the sidecar, the digit term
    # read in its one row group (the Bloom filters skip the other two)
    assert [len(before[q][0]) for q in ("index=cz zebraquux", "index=cz 777001")] == [2, 1]
    assert before["index=cz zebraquux"][1] == 1 and before["index=cz 777001"][2] == 2
    assert len(before["index=cz user3 GET"][0]) == len([i for i in range(n) if i % 7 == 3 and i % 2 == 0])
    assert before["index=cz GET | stats count"][0] == [repr([("count", n // 2)])]

    rep = svc.with_lifecycle(lambda lc: lc.run_retention())
    assert rep.actions == [] and rep.failures == []   # 300 warm buckets are kept by default
    svc.edit_index("cz", {"maxWarmDBCount": "0"})
    rep = svc.with_lifecycle(lambda lc: lc.run_retention())
    (act,) = rep.actions
    assert act["action"] == "rolled" and act["zstd_level"] == 15 and rep.failures == []
    (cold,) = svc.index("cz")["buckets"]
    cold_file = Path(cold["path"])
    assert cold["state"] == "cold" and cold_file.parent == tmp_path / "cold" and not warm_file.exists()
    assert cold["disk_bytes"] == cold_file.stat().st_size == cold["size_bytes"] == act["cold_size_bytes"]
    assert cold_file.stat().st_size < warm["disk_bytes"]
    md = pq.ParquetFile(cold_file).metadata
    assert [md.row_group(i).num_rows for i in range(md.num_row_groups)] == groups
    assert {md.row_group(0).column(j).compression for j in range(md.num_columns)} == {"ZSTD"}
    lex = lexicon.load(cold_file)   # the sidecar came along and names the new file's size
    assert lex is not None and lex.parquet_bytes == cold_file.stat().st_size and lex.header["groups"] == groups
    assert sorted(pq.read_table(cold_file).column("_raw").to_pylist()) == sorted(lines)
    assert answers() == before

    # archived from cold, thawed back: the same answers again (the thawed bucket from the archive)
    svc.edit_index("cz", {"frozenTimePeriodInSecs": "1d"})
    rep = svc.with_lifecycle(lambda lc: lc.run_retention())
    assert [a["action"] for a in rep.actions] == ["archived"]
    svc.with_lifecycle(lambda lc: lc.thaw("cz", None, None))
    (thawed,) = svc.index("cz")["buckets"]
    assert thawed["state"] == "thawed"
    Service(home).with_lifecycle(lambda lc: lc.store.build_missing_sidecars())
    assert answers() == before


def test_level_0_copies_the_warm_bucket_unchanged(home, tmp_path):
    cold = tmp_path / "cold"
    make_buckets(home, "c0", [1, 2], {"coldPath": str(cold), "maxWarmDBCount": "1", "coldCompressionLevel": "0"})
    warm = {Path(b["path"]).read_bytes() for b in show(home.root, "c0")["buckets"]}
    run_cli(home.root, "index", "retention", "run")
    (cold_file,) = parquet_files(cold)
    assert cold_file.read_bytes() in warm
    assert show(home.root, "c0")["settings"]["coldCompressionLevel"] == 0


def test_a_merge_during_the_rewrite_wins_and_the_roll_leaves_nothing_behind(home, tmp_path, monkeypatch):
    """The rewrite runs outside the store's merge lock; a merge that retires the warm bucket
    meanwhile wins: the roll's commit adds nothing, its cold files are removed, nothing is
    reported as failed, and every event is found once. The next run rolls the merged bucket."""
    from speleo.storage import lifecycle

    cold = tmp_path / "cold"
    lines = make_buckets(home, "mg", [1, 2], {"coldPath": str(cold), "maxWarmDBCount": "0"})
    every = sorted(sum(lines.values(), []))
    cat = Catalog(home.catalog_path)
    indexconf.apply(home, cat, "mg", indexconf.parse_changes({"maxHotSpanSecs": "90d"}))   # the two may merge now
    store = Store(home, cat)
    merged = []
    real = lifecycle.rewrite_durably

    def rewrite_while_merging(src, dest, level):
        real(src, dest, level)
        assert store._merge_lock.acquire(timeout=5)   # not held by the roll during its rewrite
        store._merge_lock.release()
        if not merged:
            merged.append(store.merge_hot(2))         # both warm buckets become one, retired

    monkeypatch.setattr(lifecycle, "rewrite_durably", rewrite_while_merging)
    rep = lifecycle.Lifecycle(store).run_retention()
    assert merged == [1] and rep.actions == [] and rep.failures == []
    assert not parquet_files(cold) and not list(cold.glob("*.tidx"))
    assert search_raw(home.root, "index=mg") == every
    rep = lifecycle.Lifecycle(store).run_retention()
    assert [a["action"] for a in rep.actions] == ["rolled"] and rep.failures == []
    store.close()
    cat.close()
    assert len(parquet_files(cold)) == 1 and search_raw(home.root, "index=mg") == every


def test_a_roll_that_fails_before_its_commit_leaves_no_file_and_is_retried(home, tmp_path, monkeypatch):
    """A disk that fills up after the rewrite (here: while the sidecar is written) fails the
    roll: reported, the bucket stays warm and searchable, the cold folder holds nothing (each
    retry writes under a new name, so left-overs would pile up); the next run rolls it."""
    from speleo.storage import lifecycle

    cold = tmp_path / "cold"
    lines = make_buckets(home, "df", [1], {"coldPath": str(cold), "maxWarmDBCount": "0"})
    cat = Catalog(home.catalog_path)
    store = Store(home, cat)
    real = lifecycle.carry_sidecar

    def full(src, dest):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(lifecycle, "carry_sidecar", full)
    rep = lifecycle.Lifecycle(store).run_retention()
    assert rep.actions == [] and len(rep.failures) == 1 and "No space left" in rep.failures[0]["error"]
    assert not any(cold.iterdir())
    assert search_raw(home.root, "index=df") == sorted(lines[1])
    monkeypatch.setattr(lifecycle, "carry_sidecar", real)
    rep = lifecycle.Lifecycle(store).run_retention()
    assert [a["action"] for a in rep.actions] == ["rolled"] and rep.failures == []
    store.close()
    cat.close()
    assert len(parquet_files(cold)) == 1 and len(list(cold.glob("*.tidx"))) == 1
    assert search_raw(home.root, "index=df") == sorted(lines[1])
