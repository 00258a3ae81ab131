"""kill -9 of a Speleo writer sealing into ClickHouse (chdb, in the child processes) loses nothing
acknowledged and stores nothing twice: a segment is marked sealed only after its insert, and a
replayed segment is re-sent with the same deduplication tokens."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("chdb")
CHILD = [sys.executable, str(Path(__file__).with_name("_writer_child.py"))]


def run_child(args, env_extra=None, **kw):
    env = {**os.environ, **(env_extra or {})}
    return subprocess.Popen(CHILD + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, **kw)


def recovered(home, chdb) -> list[int]:
    p = run_child(["recover", str(home), str(chdb)])
    out, err = p.communicate(timeout=120)
    assert p.returncode == 0, err
    return json.loads(out.strip().splitlines()[-1])


def test_crash_between_insert_and_seal_commit_stores_once(tmp_path):
    home, chdb = tmp_path / "home", tmp_path / "ch"
    p = run_child(["write", str(home), str(chdb), "3"], {"SPELEO_CRASH_AT": "sink-before-commit"})
    out, err = p.communicate(timeout=120)
    assert p.returncode == 137, err                 # died after the insert, before the catalog commit
    acked = [int(line.split()[1]) for line in out.splitlines() if line.startswith("acked")]
    assert acked == [0, 1, 2]
    offsets = recovered(home, chdb)                 # replays the segment: same tokens
    assert offsets == list(range(300))              # each acknowledged event exactly once


def test_kill_9_while_writing_loses_nothing_acknowledged(tmp_path):
    home, chdb = tmp_path / "home", tmp_path / "ch"
    p = run_child(["write", str(home), str(chdb), "1000"])
    acked = []
    for line in p.stdout:
        if line.startswith("acked"):
            acked.append(int(line.split()[1]))
        if len(acked) == 8:                         # mid-stream: two seals done, a segment open
            p.send_signal(signal.SIGKILL)
            break
    p.wait(timeout=60)
    assert p.returncode == -signal.SIGKILL
    offsets = recovered(home, chdb)
    assert len(offsets) == len(set(offsets))        # nothing twice
    assert set(range(len(acked) * 100)) <= set(offsets)
