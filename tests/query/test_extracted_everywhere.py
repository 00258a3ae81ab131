"""Issue 9: the CLI (`--output jsonl`, `csv`) and the HTTP API give events their search-time fields
(`clientip`, `status`...) as the web does: one implementation, `query.results.add_extracted`.
Expected values come from splitting the lines the test wrote."""

from __future__ import annotations

import csv
import io
import json

import pytest

from tests.conftest import ServerProc, run_cli

LINES = [
    '192.0.2.7 - - [17/May/2015:10:05:03 +0000] "GET /index.html HTTP/1.1" 200 1234 "-" "curl/8"',
    '198.51.100.9 - frank [17/May/2015:10:06:00 +0000] "POST /login HTTP/1.1" 401 55 "-" "Mozilla/5.0"',
]


def expected(line: str) -> dict:
    parts = line.split(" ")
    return {"clientip": parts[0], "user": parts[2], "method": parts[5].strip('"'), "uri_path": parts[6],
            "status": parts[8], "bytes": parts[9]}


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    root = tmp_path_factory.mktemp("extracted")
    log = root / "access.log"
    log.write_text("\n".join(LINES) + "\n")
    h = root / "home"
    run_cli(h, "add", "oneshot", str(log), "--index", "web", "--sourcetype", "access_combined")
    return h


def by_raw(events: list[dict]) -> dict[str, dict]:
    return {e["_raw"]: e for e in events}


def test_cli_jsonl_and_csv_events_carry_the_extracted_fields(home):
    rows = by_raw([json.loads(x) for x in run_cli(home, "search", "index=web", "-o", "jsonl").stdout.splitlines()])
    table = by_raw(list(csv.DictReader(io.StringIO(run_cli(home, "search", "index=web", "-o", "csv").stdout))))
    for line in LINES:
        for k, v in expected(line).items():
            assert str(rows[line][k]) == v, (k, rows[line])
            assert table[line][k] == v, (k, table[line])


def test_api_events_carry_the_extracted_fields(home):
    server = ServerProc(home, ["--hec-port", "0"]).start()
    try:
        body = server.search("index=web")
    finally:
        server.stop()
    assert {"clientip", "status", "uri_path"} <= set(body["fields"])
    events = by_raw(body["events"])
    for line in LINES:
        for k, v in expected(line).items():
            assert str(events[line][k]) == v, (k, events[line])
