"""Search results on real logs compared with figures computed independently from the raw files.

With `SPELEO_TEST_ENGINE=clickhouse` the events are stored and searched on ClickHouse (chdb)
instead: the same searches must give the same figures (issue 17; tests/clickhouse/test_suites_on_clickhouse.py
runs this module and the SPL golden suite that way). Tests of the embedded store's own pruning are
marked `embedded_only`."""

from __future__ import annotations

import collections
import json
import os
import re
from pathlib import Path

import pytest

from speleo.config import Home
from speleo.ingest.oneshot import add_oneshot
from speleo.service import Service
from tests.conftest import data_path

ENGINE = os.environ.get("SPELEO_TEST_ENGINE", "embedded")
embedded_only = pytest.mark.skipif(ENGINE != "embedded", reason="the embedded store's buckets and row groups")

ACCESS_RE = re.compile(r'^(\S+) \S+ \S+ \[([^\]]+)\] "(\S+) (\S+)[^"]*" (\d{3}) (\S+)')


@pytest.fixture(scope="module")
def svc(tmp_path_factory):
    root = tmp_path_factory.mktemp("realdata")
    home = Home(root / "home")
    service = Service(home, backend=f"chdb://{root / 'ch'}" if ENGINE == "clickhouse" else "")
    writer = service.open_writer()
    add_oneshot(writer.ingestor, data_path("elastic-examples", "apache", "apache_logs"), "web")
    add_oneshot(writer.ingestor, data_path("elastic-examples", "nginx_json", "nginxplus_json_logs"), "nginx")
    add_oneshot(writer.ingestor, data_path("elastic-examples", "auth", "auth.log"), "auth")
    if ENGINE == "clickhouse":
        writer.store.seal()        # the journal's segments into ClickHouse
    else:
        writer.store.merge_hot(1)  # warm buckets carry the term index
    writer.close()
    return service


@pytest.fixture(scope="module")
def access_lines() -> list[re.Match]:
    lines = data_path("elastic-examples", "apache", "apache_logs").read_text(errors="replace").splitlines()
    return [m for m in (ACCESS_RE.match(l) for l in lines) if m]


def rows(svc, spl, **kw):
    return svc.search(spl, limit=0, **kw).table.to_pylist()


def test_every_line_is_one_event(svc):
    assert rows(svc, "index=web | stats count")[0]["count"] == 10_000
    assert rows(svc, "index=nginx | stats count")[0]["count"] == 500
    assert rows(svc, "index=auth | stats count")[0]["count"] == 7121


def test_status_404_count_matches_the_raw_file(svc, access_lines):
    expected = sum(1 for m in access_lines if m.group(5) == "404")
    assert expected > 0
    assert svc.search("index=web status=404", limit=0).total == expected
    assert rows(svc, "index=web status=404 | stats count")[0]["count"] == expected


def test_stats_count_by_status(svc, access_lines):
    expected = collections.Counter(m.group(5) for m in access_lines)
    got = {str(r["status"]): r["count"] for r in rows(svc, "index=web | stats count by status")}
    assert got == dict(expected)


def test_numeric_comparison_and_top(svc, access_lines):
    expected = sum(1 for m in access_lines if int(m.group(5)) >= 500)
    assert rows(svc, "index=web status>=500 | stats count")[0]["count"] == expected
    top = rows(svc, "index=web | top limit=3 clientip")
    counts = collections.Counter(m.group(1) for m in access_lines).most_common(3)
    assert [(r["clientip"], r["count"]) for r in top] == counts


def test_dc_and_sum_of_bytes(svc, access_lines):
    r = rows(svc, "index=web | stats dc(clientip) as ips, sum(bytes) as total")[0]
    assert r["ips"] == len({m.group(1) for m in access_lines})
    assert float(r["total"]) == sum(int(m.group(6)) for m in access_lines if m.group(6).isdigit())


def test_timechart_hourly_counts_match_the_raw_file(svc, access_lines):
    import datetime as dt

    def hour(ts: str) -> float:
        d = dt.datetime.strptime(ts, "%d/%b/%Y:%H:%M:%S %z")
        return d.timestamp() // 3600 * 3600

    expected = collections.Counter(hour(m.group(2)) for m in access_lines)
    got = {r["_time"]: r["count"] for r in rows(svc, "index=web | timechart span=1h count")}
    assert {t: c for t, c in got.items() if c} == dict(expected)


def test_search_terms_match_whole_tokens_case_insensitively(svc):
    raw = data_path("elastic-examples", "auth", "auth.log").read_text(errors="replace").splitlines()
    token = re.compile(r"(?i)(?:^|[^0-9a-z])failed(?:[^0-9a-z]|$)")
    expected = sum(1 for l in raw if token.search(l))
    assert svc.search("index=auth FAILED", limit=0).total == expected
    both = sum(1 for l in raw if token.search(l) and re.search(r"(?i)(?:^|[^0-9a-z])root(?:[^0-9a-z]|$)", l))
    assert svc.search("index=auth failed root", limit=0).total == both


def test_cidr_search_on_real_access_log(svc, access_lines):
    # Search Reference, search: `clientip=66.249.0.0/16` matches the addresses in that range
    # (Googlebot's), through the term index of warm buckets too
    import ipaddress

    net = ipaddress.ip_network("66.249.0.0/16")
    expected = sum(1 for m in access_lines if ipaddress.ip_address(m.group(1)) in net)
    assert expected > 0
    assert rows(svc, "index=web clientip=66.249.0.0/16 | stats count")[0]["count"] == expected
    assert rows(svc, 'index=web clientip!="66.249.0.0/16" | stats count')[0]["count"] == len(access_lines) - expected


def test_nested_json_fields(svc):
    lines = [json.loads(l) for l in data_path("elastic-examples", "nginx_json", "nginxplus_json_logs").read_text().splitlines()]
    expected = sum(d["connections"]["active"] for d in lines)
    assert float(rows(svc, "index=nginx | stats sum(connections.active) as s")[0]["s"]) == expected


def test_json_fields_whose_keys_hold_dots(svc):
    # nginx keys its zones by host name: server_zones > "hg.nginx.org" > requests. The field is
    # named by its keys joined with dots (Splunk's automatic JSON extraction, as `spath` without
    # a path names them) and read as null: only server_zones > hg > nginx > org > requests was tried.
    lines = [json.loads(l) for l in data_path("elastic-examples", "nginx_json", "nginxplus_json_logs").read_text().splitlines()]
    zone = [d["server_zones"]["hg.nginx.org"] for d in lines]
    got = rows(svc, "index=nginx | stats sum(server_zones.hg.nginx.org.requests) as r, "
                    "max(server_zones.trac.nginx.org.responses.5xx) as m")[0]
    assert float(got["r"]) == sum(z["requests"] for z in zone)
    assert float(got["m"]) == max(d["server_zones"]["trac.nginx.org"]["responses"]["5xx"] for d in lines)
    busy = sum(1 for z in zone if z["processing"] == 1)
    assert rows(svc, "index=nginx server_zones.hg.nginx.org.processing=1 | stats count")[0]["count"] == busy


def test_json_epoch_millisecond_timestamps(svc):
    first = json.loads(data_path("elastic-examples", "nginx_json", "nginxplus_json_logs").read_text().splitlines()[0])
    times = {r["_time"] for r in rows(svc, "index=nginx | table _time")}
    assert first["timestamp"] / 1000 in times


@embedded_only
def test_rare_term_skips_buckets_with_the_term_index(svc):
    res = svc.search("index=* zzzznotthere", limit=0)
    assert res.total == 0
    # warm buckets: their sidecar (the Bloom filter beside it holds digit-only tokens); hot ones: the Bloom filter
    assert res.scanned["buckets_skipped_by_terms"] + res.scanned["buckets_skipped_by_term_index"] >= 1


def test_events_come_newest_first_with_limit_and_truncation(svc):
    res = svc.search("index=web", limit=5)
    times = [r["_time"] for r in res.table.to_pylist()]
    assert len(times) == 5 and times == sorted(times, reverse=True) and res.truncated
    assert res.total == 10_000
    assert sum(c for _, c in res.timeline) == 10_000


@embedded_only
def test_rare_term_reads_only_the_row_groups_that_may_hold_it(tmp_path):
    from speleo.storage.store import ROW_GROUP_ROWS

    n = ROW_GROUP_ROWS * 4
    log = tmp_path / "big.log"
    with open(log, "w") as f:
        for i in range(n):
            word = "needle" if i in (100, ROW_GROUP_ROWS * 3 + 5) else "hay"
            f.write(f"2026-11-01 10:{(i // 60) % 60:02d}:{i % 60:02d} INFO n={i} {word}\n")
    svc = Service(Home(tmp_path / "home"))
    w = svc.open_writer()
    add_oneshot(w.ingestor, log, "main")
    w.store.merge_hot(1)
    w.close()
    res = svc.search("needle | stats count values(n) as n", limit=0)
    row = res.table.to_pylist()[0]
    assert row["count"] == 2 and sorted(row["n"], key=int) == ["100", str(ROW_GROUP_ROWS * 3 + 5)]
    # the warm bucket's term index sidecar names the 2 rows: only they are read
    assert res.scanned["rows_decided_by_term_index"] + res.scanned["rows_checked_after_term_index"] == 2
    assert svc.search("hay | stats count", limit=0).table.to_pylist()[0]["count"] == n - 2


def test_every_extraction_of_a_sourcetype_is_tried(svc):
    """linux_secure defines `user` in several regexes (failed/accepted, invalid user, sessions)."""
    raw = data_path("elastic-examples", "auth", "auth.log").read_text(errors="replace").splitlines()
    sessions = [re.search(r"session (?:opened|closed) for user ([^\s(]+)", l) for l in raw if "sshd[" in l]
    expected = collections.Counter(m.group(1) for m in sessions if m)
    assert sum(expected.values()) > 100
    got = rows(svc, 'index=auth "session opened" OR "session closed" sshd | stats count by user')
    for user, n in expected.most_common(3):
        assert {r["user"]: r["count"] for r in got}.get(user) == n


def test_rename_keeps_later_search_time_fields(svc, access_lines):
    got = rows(svc, "index=web status=404 | rename clientip as ip | stats count by ip status | sort - count | head 1")
    per_ip = collections.Counter(m.group(1) for m in access_lines if m.group(5) == "404")
    best = max(per_ip.values())
    assert got[0]["status"] == "404" and got[0]["count"] == best and per_ip[got[0]["ip"]] == best


def test_syslog_host_comes_from_the_event_header(svc):
    raw = data_path("elastic-examples", "auth", "auth.log").read_text(errors="replace").splitlines()
    expected = collections.Counter(l.split()[3] for l in raw if len(l.split()) > 3)
    got = {r["host"]: r["count"] for r in rows(svc, "index=auth | stats count by host")}
    assert got == dict(expected)


def test_date_fields_like_splunk(svc, access_lines):
    import datetime as dt

    from speleo.config import Settings

    def parts(ts: str):
        d = dt.datetime.strptime(ts, "%d/%b/%Y:%H:%M:%S %z").astimezone(dt.timezone.utc)
        return str(d.hour), d.strftime("%A").lower()

    expected = collections.Counter(parts(m.group(2)) for m in access_lines)
    utc = Service(Home(svc.home.root, Settings(default_tz="UTC")), backend=svc.backend_url or "")   # same data, in UTC
    if svc.on_clickhouse:
        utc._backend = svc.backend
    got = {(r["date_hour"], r["date_wday"]): r["count"]
           for r in utc.search("index=web | stats count by date_hour date_wday", limit=0).table.to_pylist()}
    assert got == dict(expected)


def test_the_searches_ran_on_the_engine_asked_for(svc):
    scanned = svc.search("index=web | stats count", limit=0).scanned
    assert (scanned.get("engine") == "clickhouse") == (ENGINE == "clickhouse"), scanned
