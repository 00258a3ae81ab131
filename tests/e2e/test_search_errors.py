"""Issue 9: every search error is Speleo's own. A few hundred bad searches (tests/query/badqueries.py)
go to a real server's API; none may answer with DuckDB's, sqlglot's or pyarrow's text, each error
has the documented shape, and the CLI prints the same errors with the position in the query."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import httpx
import pytest

from tests.conftest import data_path, run_cli

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "query"))
from badqueries import bad_queries  # noqa: E402

# words of the engines' messages (DuckDB "Conversion Error: Type INT128 ...", "Binder Error", sqlglot, Arrow)
ENGINE_TEXT = re.compile(r"(?-i:[A-Z][a-z]+ Error:)|Exception|INT128|INT64|INT32|HUGEINT|VARCHAR|BIGINT|duckdb|sqlglot|pyarrow|"
                         r"arrow|Traceback|Binder|Catalog|cast|Conversion", re.I)
SPELEO_CODES = {"spl_syntax", "spl_unsupported", "spl_error", "search_failed", "bad_input"}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from tests.conftest import ServerProc

    root = tmp_path_factory.mktemp("searcherr")
    lines = data_path("elastic-examples", "apache", "apache_logs").read_text().splitlines(keepends=True)[:500]
    log = root / "access.log"
    log.write_text("".join(lines))
    home = root / "home"
    run_cli(home, "add", "oneshot", str(log), "--index", "web")
    s = ServerProc(home).start()
    yield s
    s.stop()


def test_no_engine_text_reaches_the_api_for_300_bad_searches(server):
    queries = bad_queries(300)
    assert len(set(queries)) > 250
    errors = 0
    with httpx.Client(headers={"Authorization": f"Bearer {server.token}"}, timeout=120) as http:
        for q in queries:
            r = http.post(server.url + "/api/v1/search", json={"search": q, "limit": 5, "now": 1.7e9})
            if r.status_code == 200:
                assert r.json()["kind"] in ("events", "results"), q
                continue
            errors += 1
            body = r.json()
            assert set(body) == {"error"}, (q, body)
            err = body["error"]
            assert r.status_code == 400 and err["code"] in SPELEO_CODES, (q, r.status_code, err)
            assert not ENGINE_TEXT.search(err["message"]), (q, err["message"])
            if err["line"] is not None:   # a position: inside the query
                assert 0 <= err["start"] <= len(q) and err["column"] >= 1, (q, err)
    assert errors >= 150   # most of them are bad indeed


def test_numbers_past_64_bits_are_refused_at_parse_time_with_their_position(server):
    q = "index=web | head 99999999999999999999"
    r = server.api("POST", "/api/v1/search", json={"search": q})
    err = r.json()["error"]
    assert r.status_code == 400 and err["code"] == "spl_syntax"
    assert (err["start"], err["end"], err["column"]) == (q.index("9999"), len(q), q.index("9999") + 1)
    assert "too large" in err["message"]


def test_a_runtime_cast_error_names_the_number_of_the_query(server):
    q = "index=web | eval x=substr(_raw, 1e19) | head 1"
    err = server.api("POST", "/api/v1/search", json={"search": q}).json()["error"]
    assert err["code"] == "search_failed" and not ENGINE_TEXT.search(err["message"])
    assert (err["start"], err["end"]) == (q.index("1e19"), q.index("1e19") + 4)
    assert "tonumber()" in err["message"]   # says what to do


@pytest.mark.parametrize("q,word", [("index=web | head 99999999999999999999", "too large"),
                                    ("index=web | eval x=round(1.5, 9223372036854775807) | head 1", "does not fit"),
                                    ("index=web earliest=-9999y | head 1", "1 to 9999")])
def test_the_cli_prints_speleo_errors_with_a_caret(server, q, word):
    proc = run_cli(server.home, "search", q, check=False)
    assert proc.returncode == 2, proc.stderr
    assert word in proc.stderr and not ENGINE_TEXT.search(proc.stderr), proc.stderr
    assert "^" in proc.stderr
