"""`speleo oncall` on the home's database when no server runs (in-process, CliRunner)."""

from __future__ import annotations

import json

from click.testing import CliRunner

from speleo.cli.main import cli


def test_oncall_cli_without_a_server(tmp_path):
    home = str(tmp_path / "home")
    r = CliRunner()

    def run(*args, code=0, input=None):
        res = r.invoke(cli, ["--home", home, *args], input=input)
        assert res.exit_code == code, (args, res.output)
        return res.output

    for u in ("ann", "bob"):
        run("user", "add", u, "--password-stdin", input="secret-password\n")
    run("oncall", "schedule", "create", "ops", "--tz", "Europe/Berlin")
    run("oncall", "schedule", "rotation", "ops", "--users", "ann,bob", "--start", "2026-03-28T09:00",
        "--kind", "custom", "--length", "12", "--unit", "hours", "--name", "halves")
    # Sun 29 Mar 2026 07:30 UTC = 09:30 CEST: the 09:00 local hand-off was at 07:00 UTC
    who = json.loads(run("oncall", "who", "ops", "--at", "2026-03-29T07:30:00Z", "--output", "json"))
    # shifts: ann 28 Mar 09:00 CET, bob 21:00 CET, ann 29 Mar 09:00 CEST (07:00Z) .. 21:00 CEST (19:00Z)
    assert who[0]["user"] == "ann" and who[0]["until"] == 1774810800.0  # calendar.timegm((2026,3,29,19,0,0))
    listed = json.loads(run("oncall", "schedule", "list", "--output", "json"))
    assert [(s["name"], s["rotations"][0]["handoff"]) for s in listed] == [("ops", "09:00")]
    out = run("oncall", "policy", "create", "p", "--step", "notify_user:ann", "--step", "escalate_to:p", code=1)
    assert "escalates to itself" in out
    out = run("oncall", "policy", "create", "p", "--step", "wait:x", code=1)
    assert "minutes must be a number" in out
    run("oncall", "policy", "create", "p", "--step", "notify_schedule:ops", "--default")
    assert json.loads(run("oncall", "policy", "list", "--output", "json"))[0]["default"] is True
    rep = json.loads(run("oncall", "readiness", "--output", "json", code=1))
    assert rep["users_without_contact"] == ["ann", "bob"] and [p["policy"] for p in rep["unreachable_policies"]] == ["p"]
    run("oncall", "contact", "add", "ann", "email", "ann@example.com")
    assert json.loads(run("oncall", "contact", "list", "--output", "json"))[0]["target"] == "ann@example.com"
    assert json.loads(run("oncall", "escalations", "--output", "json")) == []
