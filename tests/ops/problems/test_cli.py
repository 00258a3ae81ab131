"""`speleo problem` on the home's database when no server runs (the story test covers the CLI
through a server)."""

from __future__ import annotations

import json

from tests.conftest import run_cli


def test_problem_cli_without_a_server(tmp_path):
    home = tmp_path / "home"
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({"runbook": "restart the workers", "timebox_minutes": 7}))
    pid = int(run_cli(home, "problem", "create", "workers hang on a full queue", "--service", "jobs").stdout)
    run_cli(home, "problem", "plan", str(pid), "--file", str(plan))
    sig = run_cli(home, "problem", "signature", "add", str(pid), "--alert", "queue full")
    shown = json.loads(run_cli(home, "problem", "show", str(pid), "--output", "json").stdout)
    assert (shown["statement"], shown["services"], shown["plan"]["timebox_minutes"]) == (
        "workers hang on a full queue", ["jobs"], 7)
    assert [(g["id"], g["kind"], g["value"]) for g in shown["signatures"]] == [(int(sig.stdout), "alert", "queue full")]
    listed = json.loads(run_cli(home, "problem", "list", "--output", "json").stdout)
    assert [(x["id"], x["status"], x["signatures"]) for x in listed] == [(pid, "open", 1)]
