"""The operations sourcetypes end to end: sample files written from each vendor's documented
format (tests/ingest/ops_samples.py) go through `speleo add oneshot`'s ingestion path into one
home; each file's sourcetype is detected from its content, and every event's `_time` and CIM
fields (searched in SQL, and extracted in Python for the events API) are the ones worked out
by hand."""

from __future__ import annotations

import pytest

from speleo.config import Home, Settings
from speleo.ingest.oneshot import add_oneshot
from speleo.ingest.pipeline import source_name
from speleo.service import Service
from speleo.sourcetypes import detect, extract_fields
from tests.ingest.ops_samples import CASES, CLOCK

META = ("_time", "linecount", "host")


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    root = tmp_path_factory.mktemp("opsst")
    svc = Service(Home(root / "home", Settings(default_tz="UTC")))
    writer = svc.open_writer()
    writer.ingestor.clock = lambda: CLOCK
    detected, sources = {}, {}
    for name, content, _, _ in CASES:
        path = root / "logs" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
        detected[name] = add_oneshot(writer.ingestor, path, "ops").sourcetype
        sources[name] = source_name(path)
    writer.close()
    names = sorted({k for case in CASES for exp in case[3] for k in exp} - {"_time", "linecount", "host"})
    spl = "index=ops | sort _time | table _time linecount host _raw sourcetype source " + " ".join(names)
    events: dict[str, list[dict]] = {}
    for row in svc.search(spl, limit=0).table.to_pylist():   # one search: the whole module stays fast
        events.setdefault(row["source"], []).append(row)
    return detected, {name: events.get(source, []) for name, source in sources.items()}, svc


@pytest.mark.parametrize("name,content,sourcetype,expected", CASES, ids=[c[2] for c in CASES])
def test_sourcetype_time_and_cim_fields(home, name, content, sourcetype, expected) -> None:
    detected, events, _ = home
    assert detected[name] == sourcetype
    rows = events[name]
    expected = sorted(expected, key=lambda e: e["_time"])
    header = [r for r in rows if r["_raw"].startswith("/usr/sbin/mysqld, Version")]  # the slow log's own
    assert len(header) == (name == "db-slow.log")                                      # header: one event
    rows = [r for r in rows if r not in header]
    assert len(rows) == len(expected)
    for row, exp in zip(rows, expected):
        assert row["sourcetype"] == sourcetype
        assert row["_time"] == pytest.approx(exp["_time"], abs=1e-6), row["_raw"]
        got = {k: row.get(k) for k in exp if k != "_time"}
        assert got == {k: v for k, v in exp.items() if k != "_time"}, row["_raw"]
        py = extract_fields(row["_raw"], sourcetype, {"source": row["source"], "host": row.get("host")})
        assert {k: py.get(k) for k in exp if k not in META} == {k: v for k, v in exp.items() if k not in META}


@pytest.mark.parametrize("source,line,expected", [
    ("/var/log/nginx/access.log", '1.2.3.4 - - [20/Nov/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 5 "-" "x"',
     "nginx_access"),
    ("/srv/www/access.log", '1.2.3.4 - - [20/Nov/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 5 "-" "x"',
     "access_combined"),
    ("/var/log/pods/shop_web-1_0f0f/nginx/0.log", '{"log":"x\\n","stream":"stdout","time":"2026-11-20T10:00:00Z"}',
     "kube:container"),
    ("/var/log/messages", "Nov 20 10:00:00 h cron[1]: x", "syslog"),
    ("/var/log/cron", "Nov 20 10:00:00 h crond[1]: (root) CMD (run-parts /etc/cron.hourly)", "cron"),
    ("/x/filter.log", "<134>1 2026-11-20T10:28:30.5+00:00 fw filterlog 1 - - 7,,,100,em0,match,pass,out,4,0x0,,64,"
                      "1,0,DF,17,udp,72,10.0.0.1,10.0.0.2,4000,53,52", "pfsense:filterlog"),
    ("/x/eve.json", '{"timestamp":"2026-11-20T10:00:00.0+0000","event_type":"flow","src_ip":"10.0.0.1"}', "suricata"),
])
def test_detection_by_path_and_content(source: str, line: str, expected: str) -> None:
    assert detect(source, [line]) == expected


def test_kubernetes_names_come_from_the_pods_path() -> None:
    got = extract_fields("2026-11-20T10:00:00Z stdout F hello", "kube:container",
                         {"source": "/var/log/pods/shop_web-1_0f0f-aa/nginx/0.log"})
    assert {k: got.get(k) for k in ("namespace", "pod", "pod_uid", "container_name", "message")} == {
        "namespace": "shop", "pod": "web-1", "pod_uid": "0f0f-aa", "container_name": "nginx", "message": "hello"}


def _counts(svc, spl: str) -> dict[tuple, int]:
    rows = svc.search(spl, limit=0).table.to_pylist()
    return {tuple(v for k, v in r.items() if k != "count"): r["count"] for r in rows}


def test_shipped_event_types_tag_authentication(home) -> None:
    """tag=authentication (defaults/eventtypes.conf, tags.conf) finds the logons, sudo and sshd
    events of the samples, and only them (the 4688 process start, PostgreSQL's connection
    received line, the firewall's traffic are not authentication): counted by hand."""
    svc = home[2]
    assert _counts(svc, "index=ops tag=authentication | stats count by sourcetype action") == {
        ("WinEventLog:json", "failure"): 1, ("WinEventLog:json", "success"): 1,
        ("XmlWinEventLog", "failure"): 1, ("XmlWinEventLog", "success"): 1,
        ("aws:cloudtrail", "failure"): 1, ("cisco:asa", "failure"): 3, ("cisco:ios", "failure"): 1,
        ("journald", "failure"): 1, ("journald", "success"): 1, ("linux_secure", "success"): 2,
        ("mysql:error", "failure"): 1, ("postgresql", "failure"): 1, ("sudo", "failure"): 1, ("sudo", "success"): 1}
    assert _counts(svc, "index=ops tag=network tag=communicate | stats count by sourcetype") == {
        ("cisco:asa",): 5, ("cisco:ios",): 1, ("iptables",): 2, ("ufw",): 1, ("pfsense:filterlog",): 2}
    assert _counts(svc, "index=ops tag=ids tag=attack | stats count by sourcetype") == {
        ("suricata",): 1, ("snort",): 2}


def test_authentication_data_model_over_the_samples(home) -> None:
    svc = home[2]
    assert _counts(svc, "| tstats count from datamodel=Authentication where index=ops by Authentication.action") == {
        ("failure",): 11, ("success",): 6}


def test_cloudtrail_delivered_file_gives_one_event_per_record(tmp_path) -> None:
    from tests.ingest.ops_samples import TRAIL_FILE, utc

    svc = Service(Home(tmp_path / "home", Settings(default_tz="UTC")))
    path = tmp_path / "123456789012_CloudTrail_us-east-1_20261120T1045Z_abc.json"
    path.write_text(TRAIL_FILE, encoding="utf-8")
    writer = svc.open_writer()
    writer.ingestor.clock = lambda: CLOCK
    assert add_oneshot(writer.ingestor, path, "trail").sourcetype == "aws:cloudtrail"
    writer.close()
    rows = svc.search("index=trail | sort _time | table _time _raw _offset user src signature action", limit=0)
    rows = rows.table.to_pylist()
    second = TRAIL_FILE.index('{"eventVersion"', 20)   # the records' own text and byte offsets (ASCII)
    assert [(r["_time"], r["_offset"], r["user"], r["src"], r["signature"], r["action"]) for r in rows] == [
        (utc("10:45:00"), TRAIL_FILE.index('{"eventVersion"'), "erin", "203.0.113.77", "CreateAccessKey", "success"),
        (utc("10:46:30"), second, "123456789012", "198.51.100.99", "ConsoleLogin", "success")]
    assert rows[1]["_raw"] == TRAIL_FILE[second:-2]
