"""Incident records: state machine, MTTx timestamps from the clock, roles with history,
timeline entries and change history for each change, grouping of alerts by dedup key."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from speleo.clock import ManualClock
from speleo.errors import InputError, NotFoundError
from speleo.ops.db import ChangeRow
from speleo.ops.incidents.flows import open_or_join_from_alert
from speleo.ops.incidents.models import STATUSES, TRANSITIONS
from speleo.ops.incidents.service import Incidents, TransitionError, check_transition

T0 = 1_780_000_000.0  # an arbitrary fixed instant


@pytest.fixture
def inc(ops_db):
    return Incidents(ops_db, ManualClock(T0))


def changes(db, incident_id, field=None):
    with db.session() as s:
        q = select(ChangeRow).where(ChangeRow.record_type == "incident", ChangeRow.record_id == str(incident_id))
        rows = list(s.scalars(q.order_by(ChangeRow.id)))
    return [(r.field, r.old, r.new, r.actor, r.at) for r in rows if field is None or r.field == field]


def kinds(incidents, incident_id):
    return [(e["kind"], e["text"]) for e in incidents.get(incident_id)["timeline"]]


# -- state machine -------------------------------------------------------------------------
ALLOWED = [("triage", "investigating"), ("triage", "resolved"), ("investigating", "identified"),
           ("identified", "mitigated"), ("mitigated", "investigating"), ("mitigated", "resolved"),
           ("resolved", "investigating"), ("resolved", "closed")]
REFUSED = [("closed", "investigating", "closed-is-final"), ("closed", "resolved", "closed-is-final"),
           ("mitigated", "closed", "close-only-when-resolved"), ("triage", "closed", "close-only-when-resolved"),
           ("investigating", "triage", "no-return-to-triage"), ("resolved", "mitigated", "reopen-to-investigating"),
           ("resolved", "identified", "reopen-to-investigating"), ("identified", "identified", "same-status")]


@pytest.mark.parametrize("old,new", ALLOWED)
def test_allowed_transitions(old, new):
    check_transition(old, new)


@pytest.mark.parametrize("old,new,rule", REFUSED)
def test_refused_transitions_name_the_rule(old, new, rule):
    with pytest.raises(TransitionError) as e:
        check_transition(old, new)
    assert e.value.rule == rule and f"rule {rule}" in str(e.value)
    assert e.value.to_dict()["rule"] == rule and e.value.status == 409


def test_every_pair_is_decided_by_the_table():
    for old in STATUSES:
        for new in STATUSES:
            if new in TRANSITIONS[old]:
                check_transition(old, new)
            else:
                with pytest.raises(TransitionError):
                    check_transition(old, new)


def test_closing_an_open_incident_is_refused_and_changes_nothing(inc, ops_db):
    i = inc.create("checkout errors", "alice", "test")
    inc.update(i["id"], "alice", "test", status="investigating")
    before = inc.get(i["id"])
    with pytest.raises(TransitionError) as e:
        inc.close(i["id"], "alice", "test")
    assert e.value.rule == "close-only-when-resolved"
    after = inc.get(i["id"])
    assert after["status"] == "investigating" and after["closed_at"] is None
    assert len(after["timeline"]) == len(before["timeline"])
    # several fields at once: a refused status leaves the others unchanged too (one transaction)
    with pytest.raises(TransitionError):
        inc.update(i["id"], "alice", "test", title="renamed", severity="SEV1", status="triage", note="n")
    again = inc.get(i["id"])
    assert (again["title"], again["severity"], again["timeline_total"]) == ("checkout errors", "SEV3",
                                                                            before["timeline_total"])
    assert [c for c in changes(ops_db, i["id"]) if c[0] in ("title", "severity")] == []


# -- MTTx timestamps ------------------------------------------------------------------------
def test_timestamps_come_from_the_clock(ops_db):
    clock = ManualClock(T0)
    inc = Incidents(ops_db, clock)
    impact, detected = T0 - 900, T0 - 120
    i = inc.create("api latency", "alice", "test", severity="SEV2", services=["api"],
                   impact_started_at=impact, detected_at=detected)
    assert (i["impact_started_at"], i["detected_at"], i["declared_at"]) == (impact, detected, T0)
    assert i["acknowledged_at"] is None and i["status"] == "triage"
    clock.set(T0 + 60)
    a = inc.ack(i["id"], "bob", "test")
    assert a["acknowledged_at"] == T0 + 60 and a["status"] == "investigating"
    clock.set(T0 + 90)
    assert inc.ack(i["id"], "carol", "test")["acknowledged_at"] == T0 + 60  # the first ack counts
    clock.set(T0 + 600)
    inc.update(i["id"], "bob", "test", status="identified")
    clock.set(T0 + 1200)
    m = inc.update(i["id"], "bob", "test", status="mitigated")
    assert m["mitigated_at"] == T0 + 1200 and m["resolved_at"] is None
    clock.set(T0 + 3000)
    r = inc.resolve(i["id"], "bob", "test")
    assert r["resolved_at"] == T0 + 3000 and r["mitigated_at"] == T0 + 1200
    clock.set(T0 + 86400)
    c = inc.close(i["id"], "bob", "test", note="review done")
    assert c["closed_at"] == T0 + 86400 and c["status"] == "closed"
    d = inc.get(i["id"])["durations"]
    assert d == {"ttd": 780.0, "tta": 180.0, "ttm": 2100.0, "ttr": 3900.0, "ttc": 83400.0}


def test_resolving_from_triage_sets_mitigated_and_reopen_clears_resolved(ops_db):
    clock = ManualClock(T0)
    inc = Incidents(ops_db, clock)
    i = inc.create("false alarm?", "alice", "test")
    clock.set(T0 + 30)
    r = inc.resolve(i["id"], "alice", "test")
    assert (r["acknowledged_at"], r["mitigated_at"], r["resolved_at"]) == (T0 + 30, T0 + 30, T0 + 30)
    clock.set(T0 + 500)
    o = inc.update(i["id"], "alice", "test", status="investigating", note="errors are back")
    assert o["resolved_at"] is None and o["mitigated_at"] == T0 + 30
    assert ("resolved_at", str(T0 + 30), None, "alice", T0 + 500) in changes(ops_db, i["id"], "resolved_at")


def test_bad_timestamps_are_refused(inc):
    with pytest.raises(InputError, match="impact_started_at .* is after detected_at"):
        inc.create("x", "a", "t", impact_started_at=T0 - 10, detected_at=T0 - 20)
    with pytest.raises(InputError, match="in the future"):
        inc.create("x", "a", "t", detected_at=T0 + 3600)
    with pytest.raises(InputError, match="epoch seconds"):
        inc.create("x", "a", "t", detected_at="yesterday")


def test_bad_input_is_refused_with_the_field_named(inc):
    with pytest.raises(InputError, match="title"):
        inc.create("   ", "a", "t")
    with pytest.raises(InputError, match="severity: 'SEV5'"):
        inc.create("x", "a", "t", severity="SEV5")
    with pytest.raises(InputError, match="service: 'a b'"):
        inc.create("x", "a", "t", services=["a b"])
    with pytest.raises(NotFoundError):
        inc.get(999)
    i = inc.create("x", "a", "t", severity="2")
    assert i["severity"] == "SEV2"
    with pytest.raises(InputError, match="status: 'done'"):
        inc.update(i["id"], "a", "t", status="done")
    assert [x["id"] for x in inc.list()] == [i["id"]] and inc.list(status="closed") == []


# -- roles ----------------------------------------------------------------------------------
def test_role_history_answers_who_was_commander_when(ops_db):
    clock = ManualClock(T0)
    inc = Incidents(ops_db, clock)
    i = inc.create("db down", "alice", "test", severity="SEV1")
    inc.assign(i["id"], "commander", "alice", "alice", "test")
    clock.set(T0 + 100)
    inc.assign(i["id"], "participant", "bob", "alice", "test")
    inc.assign(i["id"], "participant", "carol", "alice", "test")
    clock.set(T0 + 200)
    inc.assign(i["id"], "ic", "dave", "alice", "test")  # hand-over: alice's holding ends
    clock.set(T0 + 300)
    inc.assign(i["id"], "participant", "bob", "dave", "test", remove=True)
    roles = [(r["role"], r["who"], r["assumed_at"], r["renounced_at"]) for r in inc.get(i["id"])["roles"]]
    assert roles == [("commander", "alice", T0, T0 + 200), ("participant", "bob", T0 + 100, T0 + 300),
                     ("participant", "carol", T0 + 100, None), ("commander", "dave", T0 + 200, None)]
    role_entries = [t for k, t in kinds(inc, i["id"]) if k == "role"]
    assert role_entries == ["alice took on the role commander", "bob took on the role participant",
                            "carol took on the role participant", "alice left the role commander",
                            "dave took on the role commander", "bob left the role participant"]
    assert ("role:commander", "alice", None, "alice", T0 + 200) in changes(ops_db, i["id"], "role:commander")
    with pytest.raises(InputError, match="already holds"):
        inc.assign(i["id"], "commander", "dave", "x", "test")
    with pytest.raises(InputError, match="role: 'boss'"):
        inc.assign(i["id"], "boss", "dave", "x", "test")


# -- timeline and history for each change ----------------------------------------------------
def test_each_change_has_a_timeline_entry_and_a_history_row(ops_db):
    clock = ManualClock(T0)
    inc = Incidents(ops_db, clock)
    i = inc.create("login failures", "alice", "cli", severity="SEV3", services=["auth"])
    clock.set(T0 + 10)
    inc.update(i["id"], "bob", "api", severity="SEV2", title="login failures in EU", services=["auth", "web"],
               status="investigating", note="widening")
    entries = inc.get(i["id"])["timeline"]
    got = [(e["kind"], e["text"], e["actor"], e["source"], e["at"]) for e in entries]
    assert got == [
        ("status", "declared SEV3: login failures", "alice", "cli", T0),
        ("field", "title changed", "bob", "api", T0 + 10),
        ("field", "services changed", "bob", "api", T0 + 10),
        ("severity", "severity SEV3 -> SEV2", "bob", "api", T0 + 10),
        ("status", "status triage -> investigating", "bob", "api", T0 + 10),
        ("note", "widening", "bob", "api", T0 + 10),
    ]
    assert entries[2]["details"] == {"field": "services", "old": ["auth"], "new": ["auth", "web"]}
    fields = [(f, o, n) for f, o, n, a, _ in changes(ops_db, i["id"]) if a == "bob"]
    assert ("title", "login failures", "login failures in EU") in fields
    assert ("severity", "SEV3", "SEV2") in fields
    assert ("status", "triage", "investigating") in fields
    assert ("acknowledged_at", None, json.dumps(T0 + 10)) in fields


def test_pinned_event_keeps_its_search_and_exact_range(inc):
    i = inc.create("disk full", "alice", "test")
    e = inc.add_entry(i["id"], "pinned_event", "ERROR no space left on device", "alice", "web",
                      at=T0 - 50, search='index=main "no space left"', earliest=T0 - 3600, latest=T0 - 60.5,
                      details={"_raw": "ERROR no space left on device", "host": "db1"})
    assert e["link"] == (f"/?q=index%3Dmain+%22no+space+left%22&earliest={int(T0 - 3600)}&latest={T0 - 60.5!r}")
    with pytest.raises(InputError, match="before earliest"):
        inc.add_entry(i["id"], "note", "x", "a", "t", search="x", earliest=T0, latest=T0 - 1)
    with pytest.raises(InputError, match="kind"):
        inc.add_entry(i["id"], "status", "x", "a", "t")
    # a closed incident takes no more changes, but its timeline still takes entries
    inc.resolve(i["id"], "alice", "test")
    inc.close(i["id"], "alice", "test")
    with pytest.raises(TransitionError, match="closed-is-final"):
        inc.update(i["id"], "alice", "test", title="renamed")
    inc.add_entry(i["id"], "note", "late finding: the log rotation was off", "bob", "cli")
    got = inc.get(i["id"], timeline_limit=2)
    assert got["timeline_total"] == 5  # pinned, declared, triage -> resolved, -> closed, note
    assert [e["text"] for e in got["timeline"]] == ["status resolved -> closed", "late finding: the log rotation was off"]


# -- alert grouping ---------------------------------------------------------------------------
def test_second_alert_with_the_same_key_joins_and_says_why(ops_db):
    clock = ManualClock(T0)
    inc = Incidents(ops_db, clock)
    g1 = open_or_join_from_alert(inc, alert_name="5xx spike", search="index=web status>=500", earliest=T0 - 300,
                                 latest=T0, fired_at=T0, severity="SEV2", services=["web"], result_count=42)
    assert g1.opened and g1.dedup_key == "5xx spike"
    assert "no open incident has dedup key '5xx spike'" in g1.reason
    clock.set(T0 + 300)
    g2 = open_or_join_from_alert(inc, alert_name="5xx spike", search="index=web status>=500", earliest=T0,
                                 latest=T0 + 300, fired_at=T0 + 300, services=["web", "api"], result_count=7)
    assert not g2.opened and g2.incident_id == g1.incident_id
    assert g2.reason == (f"joined incident {g1.incident_id}: it is triage and has the same dedup key '5xx spike' "
                         "(firing 2 of this key on it)")
    got = inc.get(g1.incident_id)
    assert got["detected_at"] == T0 and got["severity"] == "SEV2" and got["services"] == ["web", "api"]
    alerts = [e for e in got["timeline"] if e["kind"] == "alert"]
    assert [(a["at"], a["earliest"], a["latest"], a["details"]["opened"]) for a in alerts] == [
        (T0, T0 - 300, T0, True), (T0 + 300, T0, T0 + 300, False)]
    assert alerts[1]["details"]["grouping"] == g2.reason
    assert alerts[0]["link"] == f"/?q=index%3Dweb+status%3E%3D500&earliest={int(T0 - 300)}&latest={int(T0)}"
    assert len(inc.list()) == 1


def test_a_different_key_or_a_resolved_incident_opens_a_new_one(ops_db):
    clock = ManualClock(T0)
    inc = Incidents(ops_db, clock)
    a = open_or_join_from_alert(inc, alert_name="disk", dedup_key="disk:db1", fired_at=T0)
    b = open_or_join_from_alert(inc, alert_name="disk", dedup_key="disk:db2", fired_at=T0)
    assert a.opened and b.opened and a.incident_id != b.incident_id
    clock.set(T0 + 100)
    inc.resolve(a.incident_id, "alice", "test")
    c = open_or_join_from_alert(inc, alert_name="disk", dedup_key="disk:db1", fired_at=T0 + 100)
    assert c.opened and c.incident_id not in (a.incident_id, b.incident_id)
    assert f"(incident {a.incident_id} with that key is resolved)" in c.reason


def test_migration_matches_the_models(ops_db):
    from sqlalchemy import inspect

    from speleo.ops.incidents.models import IncidentRow, RoleRow, TimelineRow

    insp = inspect(ops_db.engine)
    for model in (IncidentRow, RoleRow, TimelineRow):
        table = model.__table__
        got = {c["name"]: c["nullable"] for c in insp.get_columns(table.name)}
        assert got == {c.name: c.nullable for c in table.columns}, table.name
