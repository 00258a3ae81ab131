"""savedsearches.conf reading, canonical attributes, the saved-search store and `speleo saved`."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from speleo.alerts.conf import parse_conf
from speleo.alerts.spec import AlertSpec, normalize, validate
from speleo.alerts.state import StateStore
from speleo.alerts.store import for_home
from speleo.config import Home
from speleo.errors import ConflictError, InputError
from tests.conftest import run_cli

CONF = Path(__file__).parent / "data" / "savedsearches.conf"
UTC = dt.timezone.utc


def test_conf_continuation_default_and_problems():
    text = "[default]\nalert.severity = 5\n[a]\nsearch = index=main \\\n| stats count\nbroken line\n[b]\nsearch = x\nsearch = y\n"
    conf = parse_conf(text, "t.conf")
    a, b = conf.merged()
    assert a.settings["search"] == "index=main \n| stats count"
    assert a.settings["alert.severity"] == "5" and b.settings["alert.severity"] == "5"
    assert b.settings["search"] == "y"
    assert conf.problems[0].startswith("t.conf:6:")
    assert "set twice" in conf.problems[1]


@pytest.mark.parametrize("raw", [
    {"search": "x", "enableSched": "1", "counttype": "number of events", "relation": "drops by", "quantity": "10%"},
    {"search": "x", "is_scheduled": "true", "alert_type": "number of events", "alert_comparator": "drops by perc",
     "alert_threshold": "10"},
])
def test_conf_and_rest_spellings_store_one_form(raw):
    canon, unknown = normalize(raw)
    assert canon == {"search": "x", "is_scheduled": True, "alert_type": "number of events",
                     "alert_comparator": "drops by perc", "alert_threshold": "10"}
    assert unknown == []


@pytest.mark.parametrize("raw, words", [
    ({"search": "x", "cron_schedule": "0 9 * * MON"}, ["'MON'", "day of week"]),
    ({"search": "x", "cron_schedule": "61 * * * *"}, ["out of range"]),
    ({"search": "x", "is_scheduled": "1"}, ["cron_schedule is empty"]),
    ({"search": "x", "counttype": "number of events", "relation": "bigger than", "quantity": "1"},
     ["alert_comparator", "bigger than"]),
    ({"search": "x", "counttype": "number of events", "relation": "greater than", "quantity": "lots"},
     ["alert_threshold", "lots"]),
    ({"search": "x", "alert.suppress": "1"}, ["alert.suppress.period"]),
    ({"search": "x", "alert.digest_mode": "0", "alert.suppress": "1", "alert.suppress.period": "1m"},
     ["alert.suppress.fields"]),
    ({"search": "x", "cron_schedule": "*/5 * * * *", "schedule_window": "10"}, ["shorter than", "5 minutes"]),
    ({"search": "x", "action.pager": "1"}, ["action.pager", "no such alert action"]),
    ({"search": "x", "dispatch.earliest_time": "-5x"}, ["dispatch.earliest_time", "-5x"]),
])
def test_bad_alerts_are_refused_naming_the_search_and_key(raw, words):
    canon, _ = normalize(raw)
    with pytest.raises(InputError) as e:
        validate(AlertSpec.from_attrs("my alert", canon), UTC)
    assert "'my alert'" in str(e.value)
    for w in words:
        assert w in str(e.value)


def test_condition_that_does_not_parse_is_refused(tmp_path):
    store = for_home(Home(tmp_path / "h"))
    with pytest.raises(InputError) as e:
        store.save(0, "c", {"search": "index=main", "counttype": "custom", "alert_condition": "where ((("})
    assert "alert_condition" in str(e.value) and "'c'" in str(e.value)


def test_edit_resets_previous_value_and_throttle(tmp_path):
    store = for_home(Home(tmp_path / "h"))
    s = store.save(0, "a", {"search": "index=main", "counttype": "number of events", "relation": "rises by",
                            "quantity": "1"}).saved
    states = StateStore(store.db)
    states.update_state(s.id, prev_value=5.0, prev_scheduled=100.0)
    states.claim("search:1", ["k"], s.id, 0, 1e12)
    store.save(0, "a", {"description": "only a description"}, merge=True)
    assert states.state(s.id).prev_value == 5.0           # not a trigger key
    assert states.throttled("search:1", ["k"], 0) == set()  # any edit clears throttling
    store.save(0, "a", {"quantity": "2"}, merge=True)
    assert states.state(s.id).prev_value is None
    with pytest.raises(ConflictError):
        store.save(0, "a", {"search": "x"})


def test_cli_import_list_show_enable_disable_remove(tmp_path):
    home = tmp_path / "h"
    proc = run_cli(home, "saved", "import", str(CONF), "-o", "json", check=False)
    assert proc.returncode == 1
    report = json.loads(proc.stdout)
    assert [r["name"] for r in report["imported"]] == ["Errors in the last 5 minutes", "Firewall volume drop",
                                                         "Daily hosts summary"]
    assert report["imported"][0]["unknown_keys"] == ["display.general.type"]
    assert report["failed"][0]["name"] == "Monday report" and "MON" in report["failed"][0]["error"]
    listed = json.loads(run_cli(home, "saved", "list", "-o", "json").stdout)
    by = {r["name"]: r for r in listed}
    assert by["Errors in the last 5 minutes"]["search"] == "index=main sourcetype=app ERROR \n| stats count by host"
    assert by["Errors in the last 5 minutes"]["dispatch.earliest_time"] == "-5m"
    assert by["Firewall volume drop"]["dispatch.earliest_time"] == "-1h"     # from [default]
    assert by["Firewall volume drop"]["alert_comparator"] == "drops by perc"
    assert by["Firewall volume drop"]["alert.severity"] == 4
    assert by["Daily hosts summary"]["realtime_schedule"] is False
    run_cli(home, "saved", "disable", "Firewall volume drop")
    shown = json.loads(run_cli(home, "saved", "show", "Firewall volume drop", "-o", "json").stdout)
    assert shown["disabled"] is True
    run_cli(home, "saved", "enable", "Firewall volume drop")
    assert json.loads(run_cli(home, "saved", "show", "Firewall volume drop", "-o", "json").stdout)["disabled"] is False
    run_cli(home, "saved", "remove", "Daily hosts summary")
    missing = run_cli(home, "saved", "show", "Daily hosts summary", check=False)
    assert missing.returncode == 1 and "no saved search named" in missing.stderr


def test_alert_track_auto_follows_splunk():
    """savedsearches.conf.spec: auto tracks when an action tracks, never for `always` searches."""
    def spec(**raw):
        return AlertSpec.from_attrs("t", normalize(raw)[0])

    assert spec(counttype="number of events", relation="greater than", quantity="0", **{"action.email": "1"}).tracked()
    assert not spec(counttype="number of events", relation="greater than", quantity="0",
                    **{"action.webhook": "1"}).tracked()
    assert not spec(**{"action.email": "1"}).tracked()           # counttype always
    assert spec(**{"action.webhook": "1", "alert.track": "1"}).tracked()


def test_the_documented_example_stanzas_import_and_run(tmp_path):
    """Every ```ini block of docs/alerts.md imports without an error, and each search runs."""
    import re as _re

    from speleo.alerts.conf import parse_conf
    from tests.alerts.harness import Harness, epoch

    doc = (Path(__file__).resolve().parents[2] / "docs" / "alerts.md").read_text()
    blocks = _re.findall(r"```ini\n(.*?)```", doc, _re.S)
    assert len(blocks) == 2
    h = Harness(tmp_path / "h", epoch("2026-03-01T00:00:30"))
    names = []
    for text in blocks:
        conf = parse_conf(text, "docs/alerts.md")
        assert conf.problems == []
        for st in conf.merged():
            res = h.store.save(0, st.name, st.settings)
            assert res.unknown == [], (st.name, res.unknown)
            names.append(st.name)
    assert len(names) == 6
    for name in names:
        report = h.runner.run(h.store.get(name), epoch("2026-03-01T07:00:00"), trigger_actions=False)
        assert report.run.status == "success", (name, report.run.reason)


def test_passwords_are_never_shown_nor_in_the_history(tmp_path):
    from sqlalchemy import select

    from speleo.ops.db import ChangeRow

    store = for_home(Home(tmp_path / "h"))
    attrs = {"search": "index=main", "action.email": "1", "action.email.to": "a@example.com",
             "action.email.auth_username": "u", "action.email.auth_password": "hunter2"}
    shown = store.save(0, "p", attrs).saved.to_dict()
    assert shown["action.email.auth_password"] == "********" and shown["action.email.auth_username"] == "u"
    store.save(0, "p", {"action.email.auth_password": "********", "description": "x"}, merge=True)
    assert store.get("p").attrs["action.email.auth_password"] == "hunter2"     # the mask sent back keeps it
    with store.db.session() as s:
        history = [(r.field, r.old, r.new) for r in s.scalars(select(ChangeRow))]
    assert ("action.email.auth_password", None, "******** (changed)") in history
    assert "hunter2" not in repr(history)
