"""Escalation policies and chains with a ManualClock, a real SMTP server and a real webhook listener."""

from __future__ import annotations

import pytest

from speleo.clock import ManualClock
from speleo.errors import ConflictError, InputError, NotFoundError
from speleo.ops.incidents.service import Incidents
from speleo.ops.notify import MailSettings, Notifier
from speleo.ops.oncall.escalation import Escalations
from speleo.ops.oncall.service import OnCall
from tests.ops.oncall.conftest import add_users

T0 = 1_780_000_000.0  # 2026-05-28T20:26:40Z


def setup(db, clock, smtp_port, hook_url):
    add_users(db, "ann", "bob", "cy")
    oc = OnCall(db, clock)
    oc.create_schedule("primary", "Europe/Berlin", "tester")
    oc.add_rotation("primary", "tester", users=["ann"], start="2026-05-01T09:00", kind="weekly")
    oc.add_contact("ann", "email", "ann@example.com", "tester")
    oc.add_contact("bob", "email", "bob@example.com", "tester")
    oc.add_contact("bob", "webhook", hook_url + "/bob", "tester", style="slack")
    oc.create_policy("standard", [{"kind": "notify_schedule", "schedule": "primary"}, {"kind": "wait", "minutes": 5},
                                  {"kind": "notify_user", "user": "bob"}], "tester", services=["checkout"])
    notifier = Notifier(db, MailSettings.from_settings({"mailserver": f"127.0.0.1:{smtp_port}"}), clock)
    return oc, Escalations(db, notifier, oc)


def test_unacknowledged_incident_escalates_to_the_next_person(ops_db, smtp_inbox, webhook_inbox):
    clock = ManualClock(T0)
    oc, esc = setup(ops_db, clock, smtp_inbox.port, webhook_inbox.url)
    inc = Incidents(ops_db, clock).create("checkout errors", "tester", "cli", severity="SEV2", services=["checkout"])
    assert esc.tick(clock.time()) == {"started": 1, "stopped": 0, "sent": 1}
    smtp_inbox.wait(1)
    assert [m[0] for m in smtp_inbox.messages] == [["ann@example.com"]]
    assert "incident %d" % inc["id"] in smtp_inbox.messages[0][1]["Subject"]
    clock.advance(299)
    assert esc.tick(clock.time())["sent"] == 0          # the 5-minute wait is not over
    clock.advance(1)
    assert esc.tick(clock.time())["sent"] == 1
    smtp_inbox.wait(2)
    assert smtp_inbox.messages[1][0] == ["bob@example.com"]
    assert len(webhook_inbox.received) == 1 and webhook_inbox.received[0][0].endswith("/bob")
    assert "blocks" in webhook_inbox.received[0][2]          # the Slack payload
    chain = esc.for_incident(inc["id"])
    assert chain["state"] == "finished" and [s["state"] for s in chain["steps"]] == ["sent", "sent"]
    assert [len(s["attempts"]) for s in chain["steps"]] == [1, 2] and all(a["ok"] for s in chain["steps"] for a in s["attempts"])
    # a webhook URL's path (where Slack keeps its secret) is not shown to readers of the chain
    assert [a["target"] for a in chain["steps"][1]["attempts"]] == ["bob@example.com", webhook_inbox.url.split("/hook")[0] + "/…"]
    texts = [e["text"] for e in Incidents(ops_db, clock).get(inc["id"])["timeline"] if e["kind"] == "escalation"]
    assert texts[0].startswith("escalation policy 'standard' started") and "notified bob" in texts[-1]
    clock.advance(3600)
    assert esc.tick(clock.time()) == {"started": 0, "stopped": 0, "sent": 0}   # nothing twice
    assert len(smtp_inbox.messages) == 2


def test_acknowledging_stops_the_chain(sqlite_db, smtp_inbox, webhook_inbox):
    clock = ManualClock(T0)
    oc, esc = setup(sqlite_db, clock, smtp_inbox.port, webhook_inbox.url)
    incs = Incidents(sqlite_db, clock)
    inc = incs.create("checkout errors", "tester", "cli", services=["checkout"])
    esc.tick(clock.time())
    smtp_inbox.wait(1)
    clock.advance(60)
    incs.ack(inc["id"], "ann", "cli")
    clock.advance(600)
    assert esc.tick(clock.time()) == {"started": 0, "stopped": 1, "sent": 0}
    chain = esc.for_incident(inc["id"])
    assert chain["state"] == "acknowledged" and [s["state"] for s in chain["steps"]] == ["sent", "cancelled"]
    assert len(smtp_inbox.messages) == 1 and webhook_inbox.received == []


def test_claimed_step_is_sent_once_after_a_crash(sqlite_db, smtp_inbox, webhook_inbox):
    """A step claimed by a process that died before marking it done: sent by the next tick, and
    a contact that already has a recorded attempt for it is not sent again."""
    from speleo.ops.oncall.models import StepRow

    clock = ManualClock(T0)
    oc, esc = setup(sqlite_db, clock, smtp_inbox.port, webhook_inbox.url)
    inc = Incidents(sqlite_db, clock).create("x", "tester", "cli", services=["checkout"])
    esc.start_new(clock.time())
    with sqlite_db.session() as s:  # the first step: pretend a process claimed it, then died
        st = s.query(StepRow).filter_by(incident_id=inc["id"], seq=1).one()
        st.state, st.claims = "claimed", 1
        step2 = s.query(StepRow).filter_by(incident_id=inc["id"], seq=2).one().id
    clock.advance(300)
    # the second step's email went out before the crash (its attempt is recorded), the webhook did not
    esc.notifier.email(["bob@example.com"], "earlier", "x", ref=("oncall_step", str(step2)))
    smtp_inbox.wait(1)
    with sqlite_db.session() as s:
        s.query(StepRow).filter_by(id=step2).update({"state": "claimed", "claims": 1})
    assert esc.run_due(clock.time()) == 2
    smtp_inbox.wait(2)
    assert sorted(m[0][0] for m in smtp_inbox.messages) == ["ann@example.com", "bob@example.com"]
    assert len(webhook_inbox.received) == 1
    chain = esc.for_incident(inc["id"])
    assert [(s["state"], s["claims"]) for s in chain["steps"]] == [("sent", 2), ("sent", 2)]
    assert chain["steps"][1]["outcome"]["skipped_already_sent"] == 1


def test_no_policy_and_manual_start(sqlite_db, smtp_inbox, webhook_inbox):
    clock = ManualClock(T0)
    oc, esc = setup(sqlite_db, clock, smtp_inbox.port, webhook_inbox.url)
    incs = Incidents(sqlite_db, clock)
    a = incs.create("db slow", "tester", "cli", services=["db"])
    esc.tick(clock.time())
    assert esc.for_incident(a["id"])["state"] == "no_policy"
    oc.create_policy("fallback", [{"kind": "notify_user", "user": "cy"}], "tester", default=True)
    b = incs.create("dns", "tester", "cli", services=["dns"])
    esc.tick(clock.time())
    assert esc.for_incident(b["id"])["policy"] == "fallback"
    with pytest.raises(ConflictError):
        esc.start(b["id"], "standard", "tester")
    with pytest.raises(NotFoundError):              # beyond 64-bit ids: no incident, not an overflow
        esc.for_incident(2**70)
    with pytest.raises(NotFoundError):
        esc.start(2**70, "standard", "tester")


def test_policy_refusals(sqlite_db):
    add_users(sqlite_db, "ann")
    oc = OnCall(sqlite_db, ManualClock(T0))
    with pytest.raises(InputError, match="unknown user"):
        oc.create_policy("p", [{"kind": "notify_user", "user": "nobody"}], "t")
    with pytest.raises(InputError, match="no schedule named 'ghost'"):
        oc.create_policy("p", [{"kind": "notify_schedule", "schedule": "ghost"}], "t")
    with pytest.raises(InputError, match="escalates to itself"):
        oc.create_policy("p", [{"kind": "notify_user", "user": "ann"}, {"kind": "escalate_to", "policy": "p"}], "t")
    with pytest.raises(InputError, match="no escalation policy named 'q'"):
        oc.create_policy("p", [{"kind": "escalate_to", "policy": "q"}], "t")
    oc.create_policy("a", [{"kind": "notify_user", "user": "ann"}], "t")
    oc.create_policy("b", [{"kind": "wait", "minutes": 1}, {"kind": "escalate_to", "policy": "a"}], "t")
    with pytest.raises(InputError, match="a loop: a -> b -> a"):
        oc.create_policy("a", [{"kind": "escalate_to", "policy": "b"}], "t", replace=True)
    assert oc.get_policy("a")["steps"] == [{"kind": "notify_user", "user": "ann"}]   # nothing half-written
    with pytest.raises(InputError, match="step 2 \\(repeat\\): 'times' must be a number from 1 to 5"):
        oc.create_policy("r", [{"kind": "notify_user", "user": "ann"}, {"kind": "repeat", "times": 9}], "t")
    oc.create_policy("r", [{"kind": "notify_user", "user": "ann"}, {"kind": "wait", "minutes": 10},
                           {"kind": "repeat", "times": 2}, {"kind": "escalate_to", "policy": "b"}], "t")
    # ann at 0, 10 and 20 min; then b: wait 1 min more -> ann at 31 min
    assert [(c["after_secs"], c["target"]) for c in oc.get_policy("r")["chain"]] == [
        (0.0, "ann"), (600.0, "ann"), (1200.0, "ann"), (1860.0, "ann")]


def test_readiness_reports_once_a_day(sqlite_db):
    from speleo.ops.oncall import readiness

    add_users(sqlite_db, "ann", "bob")
    clock = ManualClock(T0)          # Thu 2026-05-28 20:26:40 UTC
    oc = OnCall(sqlite_db, clock)
    oc.create_schedule("s", "UTC", "t")
    # ann from Fri 29 May 00:00 UTC, for 1 day only: a gap before (3h33m20s) and after it
    oc.add_rotation("s", "t", users=["ann"], start="2026-05-29T00:00", kind="daily", end="2026-05-30T00:00")
    oc.create_policy("p", [{"kind": "notify_schedule", "schedule": "s"}, {"kind": "notify_user", "user": "bob"}], "t")
    oc.add_contact("ann", "email", "ann@example.com", "t")
    rep = readiness.check(sqlite_db, clock.time(), days=2)
    assert [(g["start"], g["end"]) for g in rep["gaps"]] == [(T0, 1780012800.0), (1780099200.0, T0 + 2 * 86400)]
    assert rep["users_without_contact"] == ["bob"] and rep["unreachable_policies"] == [] and not rep["ok"]
    seen: list[dict] = []
    assert readiness.daily(sqlite_db, clock.time(), seen.append, days=2) is True
    clock.advance(3 * 3600)          # the same UTC day: not again
    assert readiness.daily(sqlite_db, clock.time(), seen.append, days=2) is False
    clock.advance(2 * 3600)          # Fri 29 May: again
    assert readiness.daily(sqlite_db, clock.time(), seen.append, days=2) is True
    assert [s["users_without_contact"] for s in seen] == ["bob", "bob"] and seen[0]["gaps"] == 2
