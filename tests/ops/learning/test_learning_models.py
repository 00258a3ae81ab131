"""The learning-loop records on SQLite and PostgreSQL: action reminders (durable rows, sent once,
retried after a failed delivery, escalated to the manager), SMART warnings, evidence, the
backlog, post-mortem gates, checklist checks (URL, code roll) and review rules. The clock is a
ManualClock; email goes to a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import hashlib
import json
import threading
import time

import pytest

from speleo.clock import ManualClock
from speleo.ops.actions import Actions, RuleError, smart_warnings
from speleo.ops.checklists import Checklists
from speleo.ops.db import Database
from speleo.ops.incidents.service import Incidents
from speleo.ops.notify import MailSettings, Notifier
from speleo.ops.postmortems import Postmortems
from speleo.ops.reviews import Reviews

DAY = 86400.0
T0 = 1_780_000_000.0


@pytest.fixture(params=["sqlite", "postgresql"])
def ops_db(request, tmp_path):
    if request.param == "sqlite":
        db = Database(f"sqlite:///{tmp_path / 'ops.sqlite'}")
    else:
        from tests.ops.pg import fresh_database

        db = Database(fresh_database(request))
    db.migrate()
    yield db
    db.close()


def _rule(fn, rule: str) -> RuleError:
    with pytest.raises(RuleError) as e:
        fn()
    assert e.value.rule == rule and f"(rule {rule})" in str(e.value)
    return e.value


def test_reminders_are_durable_sent_once_and_escalated(ops_db, smtp_inbox):
    clock = ManualClock(T0)
    acts = Actions(ops_db, clock, before_secs=DAY, after_secs=DAY, manager_secs=2 * DAY)
    notifier = Notifier(ops_db, MailSettings(host="127.0.0.1", port=smtp_inbox.port), clock)
    acts.set_person("alice", "t", email="alice@example.com", team="payments", manager="dave")
    acts.set_person("dave", "t", email="dave@example.com")
    a = acts.create("problem", "PRB-7", "t", title="add an alert on pool exhaustion", owner="alice",
                    expected="an alert fires within 5 minutes", due_at=T0 + 3 * DAY, type="detect")
    b = acts.create("problem", "PRB-7", "t", title="fix the retry storm", owner="erin",
                    expected="zero retries over 3 per request", due_at=T0 + 3 * DAY, type="prevent")
    assert a["warnings"] == [] and a["source_type"] == "problem" and a["source_id"] == "PRB-7"
    assert acts.run_due(clock.time(), notifier) == 0
    clock.set(T0 + 2 * DAY)                      # the "before" reminders are due
    # two ticks at once (two server threads): each reminder is claimed and sent once
    threads = [threading.Thread(target=acts.run_due, args=(clock.time(), notifier)) for _ in range(2)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert [r[0] for r in smtp_inbox.wait(1)] == [["alice@example.com"]]
    rem = {r["kind"]: r for r in acts.get(b["id"])["reminders"]}
    assert rem["before"]["outcome"].startswith("skipped: no email address for erin")
    clock.set(T0 + 5 * DAY)                      # at, after, manager
    acts.run_due(clock.time(), notifier)
    acts.run_due(clock.time(), notifier)
    got = sorted((r[0], m["Subject"].rsplit(": ", 1)[0]) for r, m in smtp_inbox.wait(4))
    due = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(T0 + 3 * DAY))
    assert got == [("alice@example.com", f"[speleo] action {a['id']} is due now ({due})"),
                   ("alice@example.com", f"[speleo] action {a['id']} is due on {due}"),
                   ("alice@example.com", f"[speleo] action {a['id']} was due on {due} and is overdue"),
                   ("dave@example.com", f"[speleo] action {a['id']} owned by alice was due on {due} and is still open")]
    assert acts.get(b["id"])["reminders"][-1]["outcome"].startswith("skipped: erin has no manager")
    # an on-call email contact (speleo.ops.oncall) reaches a user the action directory has no address for
    from speleo.ops.oncall.models import ContactRow

    with ops_db.session() as s:
        s.add(ContactRow(user="erin", kind="email", target="erin@example.com", style="json", created_at=T0))
    assert acts.remind(b["id"], notifier, "t")["outcome"] == "sent to erin@example.com"
    smtp_inbox.wait(5)
    # a failed delivery is retried later, and closing an action cancels what is left
    c = acts.create("review", 3, "t", title="write the runbook", owner="alice", expected="a runbook with 5 steps",
                    due_at=T0 + 6 * DAY, type="process")
    dead = Notifier(ops_db, MailSettings(host="127.0.0.1", port=1, timeout_secs=2), clock)
    acts.run_due(clock.time(), dead)
    before = next(r for r in acts.get(c["id"])["reminders"] if r["kind"] == "before")
    assert before["sent_at"] is None and before["tries"] == 1 and before["outcome"].startswith("failed")
    assert before["due_at"] == clock.time() + 600
    acts.done(c["id"], "alice", "link", "https://runbooks.example.com/pool")
    assert {r["outcome"] for r in acts.get(c["id"])["reminders"]} == {"cancelled: the action is done"}
    clock.set(T0 + 30 * DAY)
    n = len(smtp_inbox.messages)
    acts.run_due(clock.time(), notifier)
    assert len(smtp_inbox.messages) == n        # nothing left for a, nothing for the closed c
    backlog = acts.backlog()
    assert backlog["open"] == 2 and backlog["overdue"] == 2
    assert {"key": "payments", "open": 1, "overdue": 1} in backlog["by_team"]
    assert {"key": "(no team)", "open": 1, "overdue": 1} in backlog["by_team"]
    assert backlog["by_source"] == [{"key": "problem", "open": 2, "overdue": 2}]
    assert backlog["by_age"] == [{"key": "8-30 days", "open": 2, "overdue": 2}]


def test_smart_warnings_and_evidence(ops_db):
    assert smart_warnings("add an alert", "fires within 5 minutes", T0 + DAY, T0) == []
    w = smart_warnings("better monitoring", "be better", T0 - 1, T0)
    assert [x.split(":")[0] for x in w] == ["no verb", "no measurable result", "due date in the past"]
    assert smart_warnings("fix it", "0 errors", T0 + 120 * DAY, T0)[0].startswith("due date months away (120 days)")
    acts = Actions(ops_db, ManualClock(T0))
    a = acts.create("postmortem", 1, "t", title="add an alert", owner="alice", expected="fires in 5 min",
                    due_at=T0 + DAY, type="detect")
    _rule(lambda: acts.done(a["id"], "alice", None, None), "action-done-needs-evidence")
    with pytest.raises(Exception, match="is not an http"):
        acts.done(a["id"], "alice", "link", "javascript:alert(1)")
    with pytest.raises(Exception, match="no saved search or alert named 'pool'"):
        acts.done(a["id"], "alice", "saved_search", "pool")
    with pytest.raises(Exception, match="no checklist item '9:9'"):
        acts.done(a["id"], "alice", "checklist", "9:9")
    _rule(lambda: acts.create("postmortem", 1, "t", title="x", owner="a b", expected="y", due_at=T0, type="detect"),
          "action-single-owner")
    _rule(lambda: acts.create("postmortem", 1, "t", title="x", owner="a", expected="y", due_at=T0, type=None),
          "action-needs-type")


def _resolved_incident(db, clock) -> int:
    inc = Incidents(db, clock)
    i = inc.create("checkout 500s", "alice", "cli", impact_started_at=clock.time() - 900)
    inc.resolve(i["id"], "alice", "cli")
    return i["id"]


def test_postmortem_gates_and_release_on_the_timeline(ops_db, tmp_path):
    clock = ManualClock(T0)
    checks = Checklists(ops_db, clock, http_get=lambda url: (200, "shop is up"))
    root = tmp_path / "app"
    root.mkdir()
    (root / "app.py").write_text("print('v2')\n")
    manifest = tmp_path / "manifest.txt"
    manifest.write_text(f"{hashlib.sha256(b'old content').hexdigest()}  app.py\n")
    checks.save_template("deploy", "web", "before opening traffic", [
        {"name": "home page answers", "kind": "url", "url": "https://shop.example.com/", "text": "shop is up"},
        {"name": "code roll", "kind": "coderoll", "root": str(root), "manifest": str(manifest)}], "t")
    run = checks.start_run("deploy", "shop", "2.0", "alice", at=T0 - 1200)
    items = {i["name"]: i["id"] for i in run["items"]}
    assert checks.confirm(run["id"], items["home page answers"], "alice")["status"] == "pass"
    coderoll = checks.confirm(run["id"], items["code roll"], "alice")
    assert coderoll["status"] == "fail" and coderoll["evidence"][-1]["counts"]["mismatch"] == 1
    _rule(lambda: checks.sign_off(run["id"], "alice"), "signoff-needs-all-required")
    manifest.write_text(f"{hashlib.sha256((root / 'app.py').read_bytes()).hexdigest()}  app.py\n")
    assert checks.confirm(run["id"], items["code roll"], "alice")["status"] == "pass"
    assert checks.sign_off(run["id"], "alice")["signed_off_by"] == "alice"

    iid = _resolved_incident(ops_db, clock)
    pms = Postmortems(ops_db, clock)
    pm = pms.start(iid, "alice", facilitator="carol")
    # "what changed?": the release is on the incident's own timeline, then a candidate of its post-mortem
    on_incident = [e for e in Incidents(ops_db, clock).get(iid)["timeline"] if e["kind"] == "release"]
    assert [(e["text"], e["at"], e["source"]) for e in on_incident] == [
        ("release shop 2.0 by alice", T0 - 1200, f"release:{run['release']['id']}")]
    rel = [e for e in pm["entries"] if "release:" in e["source"]]
    assert [e["text"] for e in rel] == ["release shop 2.0 by alice"] and rel[0]["at"] == T0 - 1200
    # a release older than its window is not on a later incident's timeline
    clock.set(T0 + 2 * 86400)
    later = _resolved_incident(ops_db, clock)
    assert [e for e in Incidents(ops_db, clock).get(later)["timeline"] if e["kind"] == "release"] == []
    clock.set(T0)
    _rule(lambda: pms.add_action(pm["id"], "a", issue=1, owner="a", expected="x", due_at=T0, type="detect"),
          "actions-phase-only")
    for e in pm["entries"]:
        pms.update_entry(pm["id"], e["id"], "carol", state="accepted")
    first = pm["entries"][0]["id"]
    pms.update_entry(pm["id"], first, "carol", impact_start=True)
    pms.update_entry(pm["id"], first, "carol", detection=True)
    assert [g["rule"] for g in pms.get(pm["id"])["gate"]] == ["timeline-agreement"]
    pms.advance(pm["id"], "carol", agreed=True)
    issue = pms.add_issue(pm["id"], "carol", "the release went out without a canary", [rel[0]["id"]])
    pms.advance(pm["id"], "carol")
    pms.add_action(pm["id"], "carol", issue=issue["id"], owner="bob", expected="a canary gets 5% of traffic",
                   due_at=T0 + 7 * DAY, type="prevent", title="add a canary stage")
    assert pms.advance(pm["id"], "carol")["phase"] == "complete"


def test_review_refuses_to_finish_without_owned_actions(ops_db):
    clock = ManualClock(T0)
    rv = Reviews(ops_db, clock, searcher=lambda spl, a, b: (7, None))
    r = rv.create("migration", T0 - DAY, T0, "alice")
    g = rv.add_goal(r["id"], "alice", "fewer than 10 errors", "<", 10, search="index=main ERROR")
    _rule(lambda: rv.finish(r["id"], "alice"), "review-needs-actions")
    _rule(lambda: rv.add_action(r["id"], "alice", kind="sustain", title="keep the dry run", owner=None,
                                expected="a dry run before each migration", due_at=T0 + DAY), "action-needs-owner")
    rv.add_action(r["id"], "alice", kind="sustain", title="keep the dry run", owner="bob",
                  expected="a dry run before each migration", due_at=T0 + DAY)
    _rule(lambda: rv.finish(r["id"], "alice"), "review-goals-observed")
    got = rv.observe(r["id"], "alice")["goals"][0]
    assert (got["id"], got["observed"], got["met"], got["difference"]) == (g["id"], 7.0, True, -3.0)
    assert rv.finish(r["id"], "alice")["status"] == "finished"
    _rule(lambda: rv.add_goal(r["id"], "alice", "x", "<", 1), "review-finished")


def test_cli_on_the_home_database_without_a_server(tmp_path):
    from tests.conftest import run_cli

    from speleo.config import Home

    home = tmp_path / "home"
    db = Database.for_home(Home(home))
    iid = str(_resolved_incident(db, ManualClock(T0)))
    pm = run_cli(home, "postmortem", "start", iid, "--facilitator", "carol").stdout.strip()
    p = run_cli(home, "postmortem", "action", "add", pm, "--issue", "1", "--owner", "alice", check=False)
    assert p.returncode == 1 and "(rule actions-phase-only)" in " ".join(p.stderr.split())
    shown = json.loads(run_cli(home, "postmortem", "show", pm, "--output", "json").stdout)
    assert shown["facilitator"] == "carol" and shown["entries"][0]["text"] == "impact started (incident record)"
    assert [g["rule"] for g in shown["gate"]] == ["timeline-all-decided", "timeline-impact-start",
                                                 "timeline-detection", "timeline-agreement"]


def test_a_long_incident_timeline_is_copied_up_to_the_limit_and_says_so(ops_db, monkeypatch):
    import speleo.ops.postmortems as pmod

    monkeypatch.setattr(pmod, "MAX_CANDIDATES", 5)
    clock = ManualClock(T0)
    inc = Incidents(ops_db, clock)
    iid = _resolved_incident(ops_db, clock)
    for n in range(6):
        inc.add_entry(iid, "note", f"note {n}", "alice", "cli", at=T0 - 100 + n)
    total = len(inc.get(iid)["timeline"])
    pm = Postmortems(ops_db, clock).start(iid, "alice")
    copied = [e for e in pm["entries"] if e["source"].startswith("incident:") and e["incident_entry_id"]]
    assert len(copied) == 5
    assert [e["text"] for e in pm["entries"] if e["source"] == "postmortem:limit"] == [
        f"{total - 5} later entries of the incident's timeline were not copied (at most 5); see incident {iid}"]


def test_reminder_offsets_from_learning_conf(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'ops.sqlite'}")
    db.migrate()
    (tmp_path / "learning.conf").write_text("[reminders]\nbefore_secs = 3600\nmanager_secs = 604800\n")
    acts = Actions.for_home(tmp_path, db, ManualClock(T0))
    a = acts.create("review", 1, "t", title="fix it", owner="alice", expected="0 errors", due_at=T0 + DAY,
                    type="improve")
    due = {r["kind"]: r["due_at"] for r in acts.get(a["id"])["reminders"]}
    assert due == {"before": T0 + DAY - 3600, "at": T0 + DAY, "after": T0 + 2 * DAY, "manager": T0 + 8 * DAY}
    (tmp_path / "learning.conf").write_text("[reminders]\nafter_secs = soon\n")
    with pytest.raises(Exception, match=r"learning.conf \[reminders\] after_secs = 'soon': give seconds"):
        Actions.for_home(tmp_path, db)
