"""The forwarder's disk queue: durability (fsync), size limit and backpressure, torn tails,
release of acknowledged records, and the atomic checkpoint store."""

from __future__ import annotations

import os
import threading
import time

import pytest

from speleo.forward import queue as q
from speleo.forward.queue import HEADER, DiskQueue, Stopped
from speleo.forward.state import CheckpointStore


def test_records_survive_reopen_in_order_with_their_checkpoints(tmp_path):
    dq = DiskQueue(tmp_path / "q", 1 << 20)
    ids = [dq.append(f"payload {i}".encode(), i, ("fp", "/f", 10 * i)) for i in range(5)]
    assert ids == [1, 2, 3, 4, 5]
    dq.close()
    dq = DiskQueue(tmp_path / "q", 1 << 20)
    got = dq.after(0, 1 << 20, 1 << 20)
    assert [dq.payload(e) for e in got] == [f"payload {i}".encode() for i in range(5)]
    assert [e.events for e in got] == [0, 1, 2, 3, 4]
    assert dq.pending_checkpoints() == {"fp": ("/f", 40)}
    assert dq.append(b"x", 1) == 6  # ids continue


def test_raw_records_keep_their_query_parameters_across_reopen(tmp_path):
    dq = DiskQueue(tmp_path / "q", 1 << 20)
    params = {"host": "h", "source": "/var/log/a b.log", "sourcetype": "st", "index": "main"}
    dq.append(b"line 1\nline 2\n", 2, ("fp", "/f", 14), raw=params)
    dq.append(b'{"event":"metrics"}', 1)
    dq.close()
    dq = DiskQueue(tmp_path / "q", 1 << 20)
    raw, env = dq.after(0, 1 << 20, 100)
    assert dict(raw.raw) == params and env.raw is None
    assert dq.payload(raw) == b"line 1\nline 2\n" and raw.events == 2


def test_append_fsyncs_before_returning(tmp_path, monkeypatch):
    synced: list[int] = []
    real = os.fsync
    monkeypatch.setattr(q.os, "fsync", lambda fd: (synced.append(fd), real(fd)))
    dq = DiskQueue(tmp_path / "q", 1 << 20)
    synced.clear()
    dq.append(b"data", 1)
    assert synced == [dq._fd]


def test_torn_tail_is_cut_and_the_queue_goes_on(tmp_path):
    dq = DiskQueue(tmp_path / "q", 1 << 20)
    for i in range(3):
        dq.append(f"event {i}".encode(), 1, ("fp", "/f", i + 1))
    seg = dq._path(dq.cur_seg)
    dq.close()
    whole = seg.stat().st_size
    # a crash in the middle of the third record's write
    with open(seg, "r+b") as f:
        f.truncate(whole - 3)
    dq = DiskQueue(tmp_path / "q", 1 << 20)
    assert [dq.payload(e) for e in dq.after(0, 1 << 20, 100)] == [b"event 0", b"event 1"]
    assert dq.torn and dq.pending_checkpoints() == {"fp": ("/f", 2)}
    assert dq.append(b"event 2 again", 1) == 3
    dq.close()
    dq = DiskQueue(tmp_path / "q", 1 << 20)
    assert [dq.payload(e) for e in dq.after(0, 1 << 20, 100)] == [b"event 0", b"event 1", b"event 2 again"]


@pytest.mark.parametrize("damage", ["header", "crc"])
def test_damaged_last_record_is_dropped_not_the_ones_before(tmp_path, damage):
    dq = DiskQueue(tmp_path / "q", 1 << 20)
    dq.append(b"good", 1)
    dq.append(b"bad!", 1)
    record_start = dq.entries[-1].pos - HEADER.size
    seg = dq._path(dq.cur_seg)
    dq.close()
    data = bytearray(seg.read_bytes())
    if damage == "header":
        data = data[: record_start + 10]  # the header itself is cut
    else:
        data[-1] ^= 0xFF  # a bit flip in the body: the CRC catches it
    seg.write_bytes(bytes(data))
    dq = DiskQueue(tmp_path / "q", 1 << 20)
    assert [dq.payload(e) for e in dq.after(0, 1 << 20, 100)] == [b"good"]


def test_full_queue_blocks_append_until_release(tmp_path):
    dq = DiskQueue(tmp_path / "q", 4096)
    first = dq.append(b"a" * 3000, 1)
    assert not dq.full()
    done = threading.Event()

    def writer():
        dq.append(b"b" * 3000, 1)  # does not fit beside the first: waits
        done.set()

    t = threading.Thread(target=writer)
    t.start()
    time.sleep(0.4)
    assert not done.is_set(), "append must wait while the queue is full (backpressure)"
    assert dq.stats()["records"] == 1
    dq.release(first)
    t.join(5)
    assert done.is_set() and dq.stats()["records"] == 1


def test_full_queue_append_gives_up_only_when_stopping(tmp_path):
    dq = DiskQueue(tmp_path / "q", 2048)
    dq.append(b"a" * 2000, 1)
    stop = threading.Event()
    threading.Timer(0.3, stop.set).start()
    with pytest.raises(Stopped):
        dq.append(b"b" * 2000, 1, stop=stop)
    assert dq.stats()["records"] == 1  # nothing dropped, nothing half-written


def test_one_record_bigger_than_the_limit_fits_an_empty_queue(tmp_path):
    dq = DiskQueue(tmp_path / "q", 1024)
    dq.append(b"z" * 5000, 1)
    assert dq.full() and dq.stats()["records"] == 1


def test_release_deletes_delivered_segments_and_keeps_ids_growing(tmp_path):
    dq = DiskQueue(tmp_path / "q", 1 << 20, segment_bytes=64 * 1024)
    last = 0
    for _ in range(40):
        last = dq.append(b"x" * 8000, 10)
    assert len(list((tmp_path / "q").glob("*.seg"))) >= 4
    dq.release(last - 1)
    assert dq.stats()["records"] == 1 and dq.stats()["events"] == 10
    assert len(list((tmp_path / "q").glob("*.seg"))) == 1
    dq.release(last)
    dq.close()
    # after everything was delivered and the folder emptied, ids go on from the acknowledged one
    dq = DiskQueue(tmp_path / "q", 1 << 20, acked=last)
    assert dq.stats()["records"] == 0
    assert dq.append(b"y", 1) == last + 1


def test_reopen_skips_records_already_acknowledged(tmp_path):
    dq = DiskQueue(tmp_path / "q", 1 << 20)
    ids = [dq.append(f"r{i}".encode(), 1) for i in range(4)]
    dq.close()  # crashed before the queue could delete them, after the state said ids[1] is delivered
    dq = DiskQueue(tmp_path / "q", 1 << 20, acked=ids[1])
    assert [dq.payload(e) for e in dq.after(0, 1 << 20, 100)] == [b"r2", b"r3"]


def test_after_batches_by_bytes_and_events(tmp_path):
    dq = DiskQueue(tmp_path / "q", 1 << 20)
    for _ in range(10):
        dq.append(b"p" * 100, 5)
    assert len(dq.after(0, 250, 1000)) == 2
    assert len(dq.after(0, 10_000, 12)) == 2
    assert len(dq.after(0, 10, 1)) == 1  # at least one record
    assert [e.id for e in dq.after(8, 10_000, 100)] == [9, 10]


def test_checkpoint_store_is_atomic_and_merges(tmp_path):
    path = tmp_path / "state.json"
    st = CheckpointStore(path)
    assert st.acked == 0 and st.checkpoints == {}
    st.commit(3, {"a": ("/a", 10)}, 7)
    st.commit(5, {"b": ("/b", 20)}, 3)
    again = CheckpointStore(path)
    assert again.acked == 5 and again.events_acked == 10
    assert again.checkpoints == {"a": ("/a", 10), "b": ("/b", 20)}
    assert not path.with_name("state.json.tmp").exists()
