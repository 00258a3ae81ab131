"""The journal's group commit (HEC's write path): one fsync for the records submitted while the
previous one ran, each waiter released only after the fsync covering its record, a failed group
cut from the segment and reported to every waiter in it."""

from __future__ import annotations

import asyncio
import errno
import os
import stat
import time

import pyarrow as pa

from speleo.storage import journal as jmod
from speleo.storage.journal import GroupCommit, Journal, Record, read_segment
from speleo.storage.store import conform


def record(word: str) -> Record:
    return Record(conform(pa.table({"_time": [1.0], "_raw": [word], "index": ["main"]})), {})


def raws(path) -> list[str]:
    records, _ = read_segment(path)
    return [r.events.column("_raw")[0].as_py() for r in records]


async def together(gc: GroupCommit, coros) -> list:
    """Run `coros` so that all of them are submitted before the commit thread takes any (its
    condition is held meanwhile; the loop's thread may take it again, the commit thread not)."""
    with gc._cond:
        tasks = [asyncio.ensure_future(c) for c in coros]
        for _ in range(3):
            await asyncio.sleep(0)
        assert len(gc._queue) == len(tasks)
    return await asyncio.gather(*tasks)


def slow_fsync(monkeypatch, path, fail_at: set[int] = frozenset()):
    """os.fsync of the segment file: 30 ms each, numbered from 1; those in `fail_at` raise
    ENOSPC. `durable` is what the file held when the last successful fsync returned."""
    state = {"calls": 0, "durable": set()}
    real = jmod.os.fsync

    def fsync(fd):
        if not stat.S_ISREG(os.fstat(fd).st_mode):   # the folder's fsync when the segment is made
            return real(fd)
        state["calls"] += 1
        time.sleep(0.03)
        if state["calls"] in fail_at:
            raise OSError(errno.ENOSPC, "No space left on device")
        real(fd)
        state["durable"] = set(raws(path))

    monkeypatch.setattr(jmod.os, "fsync", fsync)
    return state


def test_concurrent_appends_share_fsyncs_and_return_only_once_durable(tmp_path, monkeypatch):
    j = Journal(tmp_path / "journal")
    state = slow_fsync(monkeypatch, j.path_of(j.seq))
    gc = GroupCommit(j)
    released_durable = []

    async def write(word: str) -> None:
        await gc.append(record(word))
        released_durable.append(word in state["durable"])

    async def main() -> None:
        await write("first")   # alone: a group of one
        await together(gc, [write(f"e{i}") for i in range(20)])

    asyncio.run(main())
    gc.close()
    assert released_durable == [True] * 21
    assert sorted(raws(j.path_of(j.seq))) == sorted(["first"] + [f"e{i}" for i in range(20)])
    assert state["calls"] == 2   # "first", then the twenty together
    assert len(j.pending) == 21


def test_a_failed_fsync_fails_its_whole_group_and_cuts_it_from_the_segment(tmp_path, monkeypatch):
    j = Journal(tmp_path / "journal")
    path = j.path_of(j.seq)
    slow_fsync(monkeypatch, path, fail_at={2})   # fsync 3 is the undo's, 4 the next group's
    gc = GroupCommit(j)

    async def write(word: str):
        try:
            await gc.append(record(word))
            return "ok"
        except OSError as e:
            return errno.errorcode[e.errno]

    async def main():
        first = await write("kept")
        failed = await together(gc, [write(f"lost{i}") for i in range(5)])
        after = await write("after")
        return first, failed, after

    first, failed, after = asyncio.run(main())
    gc.close()
    assert (first, failed, after) == ("ok", ["ENOSPC"] * 5, "ok")
    assert raws(path) == ["kept", "after"]
    assert [r.events.column("_raw")[0].as_py() for r in j.pending] == ["kept", "after"]


def test_close_writes_what_was_submitted_then_refuses(tmp_path):
    j = Journal(tmp_path / "journal")
    gc = GroupCommit(j)

    async def main():
        await gc.append(record("a"))
        gc.close()
        try:
            await gc.append(record("b"))
        except OSError as e:
            return str(e)

    assert asyncio.run(main()) == "the journal is closing"
    assert raws(j.path_of(j.seq)) == ["a"]


class _FullDisk:
    """A segment file on a full disk: writes are buffered, every flush (also the one of seek and
    of close) raises ENOSPC; close still closes the file, as io.BufferedWriter.close does."""

    def __init__(self, real):
        self.real = real

    def write(self, data):
        return len(memoryview(data).cast("B"))

    def tell(self):
        return self.real.tell()

    def fileno(self):
        return self.real.fileno()

    def _full(self, *args):
        raise OSError(errno.ENOSPC, "No space left on device")

    flush = seek = truncate = _full

    def close(self):
        self.real.close()
        self._full()


def test_a_write_that_cannot_even_be_undone_leaves_the_journal_usable(tmp_path):
    # the append's flush fails, and so do the undo's seek and the close: the damaged segment is
    # left (recovery reads up to the tear) and the next record goes to a new one, once space is back
    j = Journal(tmp_path / "journal")
    j.append(record("kept"))
    first = j.path_of(j.seq)
    j._file = _FullDisk(j._file)
    try:
        j.append(record("lost"))
    except OSError as e:
        assert e.errno == errno.ENOSPC
    else:
        raise AssertionError("the append should have failed")
    j.append(record("after"))
    assert raws(first) == ["kept"]
    assert raws(j.path_of(j.seq)) == ["after"]
    # each segment is sealed with its own records: "kept" under the damaged one's number
    left, rotated = j.take_left(), j.rotate()
    assert [(seq, [r.events.column("_raw")[0].as_py() for r in rs]) for seq, rs in left + [rotated]] == [
        (int(first.stem), ["kept"]), (int(first.stem) + 1, ["after"])]
    assert j.take_left() == []
    j.close()
