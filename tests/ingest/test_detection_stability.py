"""Sourcetype detection is stable across the files of one log and between oneshot and monitor."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from speleo.config import Home, Settings
from speleo.ingest.monitor import Monitor
from speleo.ingest.oneshot import add_oneshot
from speleo.ingest.tailing import SAMPLE_BYTES, sample_lines
from speleo.service import Service
from speleo.sourcetypes import detect, detect_in_family, family


def test_every_kafka_file_is_kafka_from_the_sample_inputs_read(data_dir: Path) -> None:
    # server.log.2016-12-19-20 starts with one line, then an exception and its frames
    for path in sorted((data_dir / "elastic-examples" / "kafka0").glob("server.log*")):
        head = path.read_bytes()[:SAMPLE_BYTES]
        assert detect(str(path), sample_lines(head)) == "kafka", path.name
        assert detect(str(path), sample_lines(head)[:3]) == "kafka", path.name


def test_rotated_names_share_a_family() -> None:
    names = ["server.log", "server.log.1", "server.log.2016-12-19-16", "server.log.3.gz"]
    assert {family(f"/var/log/kafka/{n}") for n in names} == {"/var/log/kafka/server.log"}
    assert family("/var/log/kafka/controller.log") != family("/var/log/kafka/server.log")
    assert family("/a/server.log") != family("/b/server.log")


def test_a_file_inside_a_stack_trace_takes_its_siblings_type() -> None:
    sibling = ["[2016-12-19 20:39:48,918] INFO Rolled new log segment (kafka.log.Log)"] * 5
    trace = ["\tat kafka.network.Processor.run(SocketServer.scala:413)"] * 30
    known: dict[str, str] = {}
    assert detect("/k/server.log.2", trace) == "generic"
    assert detect_in_family("/k/server.log.1", sibling, known) == "kafka"
    assert detect_in_family("/k/server.log.2", trace, known) == "kafka"
    assert detect_in_family("/other/server.log", trace, known) == "generic"


def _sourcetypes(svc: Service, index: str) -> dict[str, str]:
    rows = svc.search(f"index={index} | stats values(sourcetype) as st by source", limit=0).table.to_pylist()
    return {Path(r["source"]).name: r["st"] if isinstance(r["st"], str) else r["st"][0] for r in rows}


def test_oneshot_and_monitor_type_files_alike(tmp_path: Path, data_dir: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    doc = {"timestamp": 1614834367123, "request": {"uri": "/" + "x" * 300, "status": 200}}
    (logs / "status.json").write_text("\n".join(json.dumps(dict(doc, seq=i)) for i in range(20)) + "\n")
    for path in (data_dir / "elastic-examples" / "kafka0").glob("server.log*"):
        shutil.copy(path, logs / path.name)
    home = Home(tmp_path / "home", Settings(pending_event_flush_secs=0.0))
    svc = Service(home)
    writer = svc.open_writer()
    for path in sorted(logs.iterdir()):
        add_oneshot(writer.ingestor, path, "once")
    svc.add_monitor(str(logs), "followed")
    monitor = Monitor(writer.ingestor, home.settings, skip_under=home.root)
    for _ in range(4):
        monitor.poll(scan=True)
    writer.store.seal()
    monitor.close()
    writer.close()
    once, followed = _sourcetypes(svc, "once"), _sourcetypes(svc, "followed")
    assert once == followed
    assert once.pop("status.json") == "json"
    assert set(once.values()) == {"kafka"} and len(once) == 9


def test_detection_sample_reads_the_head_of_plain_and_gzip_files(tmp_path: Path) -> None:
    import gzip

    from speleo.sourcetypes import DETECTION_BYTES, detection_sample

    text = b"".join(b'{"n": %d, "pad": "%s"}\n' % (i, b"x" * 400) for i in range(100))
    plain, packed = tmp_path / "a.json", tmp_path / "a.json.1.gz"
    plain.write_bytes(text)
    packed.write_bytes(gzip.compress(text))
    for path in (plain, packed):
        assert detection_sample(str(path), text[:256]) == text[:DETECTION_BYTES]
    assert detection_sample(str(tmp_path / "gone"), b"head") == b"head"
    assert detect(str(plain), sample_lines(text[:256])) == "generic_single_line"  # a 256-byte head
    assert detect(str(plain), sample_lines(detection_sample(str(plain), text[:256]))) == "json"


def test_family_memory_is_bounded() -> None:
    from speleo import sourcetypes

    known = {f"/k{i}/x.log": "kafka" for i in range(sourcetypes.MAX_FAMILIES)}
    assert detect_in_family("/new/server.log", ["hello"], known) == "generic_single_line"
    assert len(known) == sourcetypes.MAX_FAMILIES
