"""Throttling (suppress, period, fields, group_name; an edit clears it) and digest vs
per-result mode, with a recording action registered through the action hook."""

from __future__ import annotations

import pytest

from speleo.alerts.actions import register_action
from tests.alerts.harness import Harness, epoch

SENT: list[tuple[str, list[dict], str]] = []


@pytest.fixture(autouse=True)
def recorder():
    SENT.clear()
    register_action("test_record", lambda ctx: SENT.append((ctx.name, ctx.rows, ctx.render("$result.src$"))) or "ok")
    yield


def base(h: Harness, name: str, **kw):
    attrs = {"cron_schedule": "* * * * *", "is_scheduled": "1", "counttype": "number of events",
             "relation": "greater than", "quantity": "0", "action.test_record": "1", **kw}
    return h.save(name, **attrs)


def test_digest_throttle_period(tmp_path):
    """Spec §1.12 check 8: triggers at 10:00 and 10:05 -> one action run; 10:11 -> runs again."""
    h = Harness(tmp_path / "h", epoch("2026-03-01T09:59:30"))
    h.rows["d"] = lambda now: [{"src": "a"}]
    base(h, "d", **{"alert.suppress": "1", "alert.suppress.period": "10m"})
    h.store.save(0, "d", {"cron_schedule": "0,5,11 10 * * *"}, merge=True)
    h.walk(epoch("2026-03-01T09:59:30"), epoch("2026-03-01T10:11:30"))
    runs = h.runs("d")
    assert [(r.triggered, r.suppressed) for r in runs] == [(1, 0), (1, 1), (1, 0)]
    assert len(SENT) == 2
    ev = h.scheduler_events("d")
    assert [e["suppressed"] for e in ev] == [0, 1, 0]


def test_per_result_throttle_by_field(tmp_path):
    """Spec §1.12 check 9."""
    h = Harness(tmp_path / "h", epoch("2026-03-01T00:00:30"))
    h.rows["p"] = [[{"src": "1"}, {"src": "2"}], [{"src": "2"}, {"src": "3"}]]
    base(h, "p", **{"alert.digest_mode": "0", "alert.suppress": "1", "alert.suppress.period": "1h",
                    "alert.suppress.fields": "src"})
    h.walk(epoch("2026-03-01T00:00:30"), epoch("2026-03-01T00:02:30"))
    assert sorted(s[2] for s in SENT) == ["1", "2", "3"]
    assert [s[1] for s in SENT if s[2] == "3"] == [[{"src": "3"}]]
    assert h.runs("p")[1].suppressed == 1


def test_edit_clears_throttle_state(tmp_path):
    h = Harness(tmp_path / "h", epoch("2026-03-01T00:00:30"))
    h.rows["e"] = lambda now: [{"src": "1"}]
    base(h, "e", **{"alert.suppress": "1", "alert.suppress.period": "1h"})
    h.walk(epoch("2026-03-01T00:00:30"), epoch("2026-03-01T00:02:30"))
    assert len(SENT) == 1
    h.store.save(0, "e", {"alert.suppress.period": "2h"}, merge=True)
    h.at(epoch("2026-03-01T00:03:30"))
    assert len(SENT) == 2


def test_group_name_silences_the_other_searches_of_the_group(tmp_path):
    h = Harness(tmp_path / "h", epoch("2026-03-01T00:00:30"))
    h.rows["g1"] = lambda now: [{"src": "1"}]
    h.rows["g2"] = lambda now: [{"src": "1"}]
    kw = {"alert.suppress": "1", "alert.suppress.period": "1h", "alert.suppress.group_name": "fw"}
    base(h, "g1", **kw)
    base(h, "g2", **kw)
    h.walk(epoch("2026-03-01T00:00:30"), epoch("2026-03-01T00:01:30"))
    assert len(SENT) == 1
    assert {r.suppressed for r in h.runs("g1") + h.runs("g2")} == {0, 1}


def test_per_result_cap_of_500_with_a_message(tmp_path):
    """Spec §1.12 check 7: 3 rows -> 3 triggers; 700 rows -> 500 and a truncation message."""
    h = Harness(tmp_path / "h", epoch("2026-03-01T00:00:30"))
    h.rows["m"] = [[{"src": str(i)} for i in range(3)], [{"src": str(i)} for i in range(700)]]
    base(h, "m", **{"alert.digest_mode": "0"})
    h.walk(epoch("2026-03-01T00:00:30"), epoch("2026-03-01T00:02:30"))
    assert [s[1] for s in SENT[:3]] == [[{"src": "0"}], [{"src": "1"}], [{"src": "2"}]]
    assert len(SENT) == 503
    assert "max_per_result_alerts = 500" in h.runs("m")[1].reason


def test_manual_suppression(tmp_path):
    h = Harness(tmp_path / "h", epoch("2026-03-01T00:00:30"))
    h.rows["s"] = lambda now: [{"src": "1"}]
    s = base(h, "s")
    h.states.update_state(s.id, suppressed_until=epoch("2026-03-01T00:02:45"))
    h.walk(epoch("2026-03-01T00:00:30"), epoch("2026-03-01T00:03:30"))
    assert [r.suppressed for r in h.runs("s")] == [1, 1, 0]
    assert len(SENT) == 1
