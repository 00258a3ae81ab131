"""A Speleo process dying at each step of archiving a ClickHouse day (SPELEO_CRASH_AT makes the
process exit at once, as kill -9 would; storage.lifecycle.crash_point) loses nothing and stores
nothing twice: the next `speleo index retention run` finishes the archive, every old event is in
the archive exactly once, and a thaw brings each back once (decision 0041). Real CLI processes
on a chdb folder; the expected events are the lines this test wrote."""

from __future__ import annotations

import json
import os
import time
from datetime import datetime, timezone

import pyarrow.parquet as pq
import pytest

from tests.conftest import speleo_cmd

pytest.importorskip("chdb")
DAY = 86400


def stamp(t: float) -> str:
    return datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def cli(home, ch, *args, crash: str | None = None):
    import subprocess

    env = {**os.environ, "SPELEO_BACKEND": f"chdb://{ch}"}
    env.pop("SPELEO_CRASH_AT", None)
    if crash:
        env["SPELEO_CRASH_AT"] = crash
    return subprocess.run(speleo_cmd(home, *args), capture_output=True, text=True, env=env, timeout=300)


@pytest.mark.parametrize("step", ["ch.archive.staged", "ch.archive.written", "ch.archive.uploaded",
                                  "ch.archive.committed"])
def test_a_crash_while_archiving_loses_and_duplicates_nothing(tmp_path, step):
    now = time.time()
    old = [f"{stamp(now - 10 * DAY + m * 60)} old event {m}" for m in range(40)]
    new = [f"{stamp(now - 3600 + m * 60)} new event {m}" for m in range(5)]
    log = tmp_path / "app.log"
    log.write_text("\n".join(old + new) + "\n")
    home, ch, frozen = tmp_path / "home", tmp_path / "ch", tmp_path / "frozen"
    assert cli(home, ch, "index", "create", "web", "--max-age", "3d", "--frozen-dir", str(frozen)).returncode == 0
    r = cli(home, ch, "add", "oneshot", str(log), "--index", "web")
    assert r.returncode == 0, r.stderr

    crashed = cli(home, ch, "index", "retention", "run", "--output", "json", crash=step)
    assert crashed.returncode != 0                                     # it died at the step
    done = cli(home, ch, "index", "retention", "run", "--output", "json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["failures"] == []

    def search(q: str) -> list[dict]:
        out = cli(home, ch, "search", q, "--output", "json")
        assert out.returncode == 0, out.stderr
        body = json.loads(out.stdout)
        return body["results"] if isinstance(body, dict) else body

    assert search("index=web earliest=0 | stats count") == [{"count": len(new)}]
    archived = [r for f in sorted(frozen.glob("web/*.parquet")) for r in pq.read_table(f).column("_raw").to_pylist()]
    assert sorted(archived) == sorted(old)                             # every old event once
    assert cli(home, ch, "index", "thaw", "web", "--earliest", "0").returncode == 0
    raws = [r["_raw"] for r in search("index=web earliest=0 | table _raw")]
    assert sorted(raws) == sorted(old + new)
