"""`speleo explain` and `speleo macro ...` through real `speleo` processes."""

from __future__ import annotations

import json

import pytest

from tests.conftest import jsonl, run_cli


@pytest.fixture
def home(tmp_path):
    return tmp_path / "home"


def test_explain_shows_ast_sql_time_range_and_buckets(home, tmp_path):
    log = tmp_path / "app.log"
    log.write_text("2024-03-01T10:00:00Z ERROR disk full user=alice\n2024-03-01T10:00:05Z INFO ok user=bob\n")
    run_cli(home, "add", "oneshot", str(log), "--index", "web")
    out = run_cli(home, "explain", "index=web error earliest=0 | stats count by user", "--now", "1710000000").stdout
    assert "AST:" in out and "StatsCmd(kind='stats'" in out
    assert "SQL:" in out and "GROUP BY" in out
    assert "earliest: 0" in out and "indexes:  web" in out and "terms:    error" in out
    assert "Buckets: 1 to read" in out
    none = run_cli(home, "explain", "index=other | stats count").stdout
    assert "Buckets: 0 to read" in none


def test_explain_errors_exit_2_with_position(home):
    bad = run_cli(home, "explain", "x | stast count", check=False)
    assert bad.returncode == 2 and "stats" in bad.stderr
    unsupported = run_cli(home, "explain", "| tstats count from datamodel=Nope by Nope.src", check=False)
    assert unsupported.returncode == 2 and "no data model named 'Nope'" in unsupported.stderr
    assert "TstatsCmd" in unsupported.stdout        # the AST is shown before the compile error


def test_explain_check(home, tmp_path):
    f = tmp_path / "searches.jsonl"
    f.write_text("\n".join(json.dumps(r) for r in [
        {"search": "x | stats count"}, {"search": "x |\n stast count"}, {"search": "`mine(a)` | head 1"},
        {"nosearch": 1}]) + "\n")
    rows = jsonl(run_cli(home, "explain", "--check", str(f)).stdout)
    assert rows[0] == {"ok": True}
    assert rows[1]["ok"] is False and rows[1]["line"] == 2 and rows[1]["column"] == 2 and "stast" in rows[1]["error"]
    assert rows[2]["ok"] is False and "mine" in rows[2]["error"]
    assert rows[3]["ok"] is False and rows[3]["line"] is None
    run_cli(home, "macro", "add", "mine", "user=$u$", "--args", "u")
    rows = jsonl(run_cli(home, "explain", "--check", str(f)).stdout)
    assert rows[2] == {"ok": True}


def test_macro_add_list_remove_import_and_search(home, tmp_path):
    log = tmp_path / "app.log"
    log.write_text("2024-03-01T10:00:00Z ERROR disk full user=alice\n2024-03-01T10:00:05Z INFO ok user=bob\n")
    run_cli(home, "add", "oneshot", str(log), "--index", "web")
    run_cli(home, "macro", "add", "errs", "index=web ERROR")
    run_cli(home, "macro", "add", "who", "user=$name$", "--args", "name")
    assert jsonl(run_cli(home, "macro", "list").stdout) == [
        {"name": "errs", "definition": "index=web ERROR", "arguments": []},
        {"name": "who", "definition": "user=$name$", "arguments": ["name"]}]
    out = run_cli(home, "search", "`errs` | stats count", "--earliest", "0", "--output", "jsonl")
    assert jsonl(out.stdout) == [{"count": 1}]
    out = run_cli(home, "search", "index=web `who(bob)` | stats count", "--earliest", "0", "--output", "jsonl")
    assert jsonl(out.stdout) == [{"count": 1}]
    run_cli(home, "macro", "remove", "errs")
    assert [m["name"] for m in jsonl(run_cli(home, "macro", "list").stdout)] == ["who"]
    missing = run_cli(home, "macro", "remove", "errs", check=False)
    assert missing.returncode == 1
    bad = run_cli(home, "macro", "add", "x y", "z", check=False)
    assert bad.returncode == 1
    imp = tmp_path / "macros.jsonl"
    imp.write_text(json.dumps({"name": "m1", "definition": "index=web", "arguments": None}) + "\n"
                   + json.dumps({"name": "m2(1)", "definition": "user=$u$", "arguments": ["u"]}) + "\n")
    assert "2 macros imported" in run_cli(home, "macro", "import", str(imp)).stdout
    names = [m["name"] for m in jsonl(run_cli(home, "macro", "list").stdout)]
    assert names == ["m1", "m2", "who"]
    out = run_cli(home, "search", "`m1` `m2(alice)` | stats count", "--earliest", "0", "--output", "jsonl")
    assert jsonl(out.stdout) == [{"count": 1}]
    assert not list((home).glob(".macros.*"))      # the temporary file was renamed into place
