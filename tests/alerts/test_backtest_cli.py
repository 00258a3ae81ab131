"""`speleo alert test` (backtest with a pinned clock, nothing sent) and `speleo alert fired`."""

from __future__ import annotations

import json
from datetime import datetime, timezone

from speleo.alerts.state import StateStore
from speleo.alerts.store import for_home
from speleo.config import Home
from tests.conftest import run_cli

CONF = """[errors rise]
search = index=main ERROR
enableSched = 1
cron_schedule = 0 * * * *
dispatch.earliest_time = -1h
counttype = number of events
relation = rises by
quantity = 10
action.email = 1
action.email.to = ops@example.com
action.email.subject = $name$: $job.resultCount$ errors, first on $result.host$
action.webhook = 1
action.webhook.param.url = http://127.0.0.1:9/never
"""


def test_backtest_prints_when_it_would_fire_and_sends_nothing(tmp_path):
    lines = []
    for hour, n in ((9, 10), (10, 25), (11, 12), (12, 40)):
        lines += [f"2026-11-01 {hour:02d}:{m:02d}:00 ERROR disk full host=web{m % 3}" for m in range(n)]
    f = tmp_path / "app.log"
    f.write_text("\n".join(lines) + "\n")
    home = tmp_path / "home"
    run_cli(home, "add", "oneshot", str(f), "--index", "main", "--sourcetype", "app")
    conf = tmp_path / "s.conf"
    conf.write_text(CONF)
    run_cli(home, "saved", "import", str(conf))
    start = datetime(2026, 11, 1, 9, 30, tzinfo=timezone.utc).timestamp()
    end = datetime(2026, 11, 1, 13, 0, tzinfo=timezone.utc).timestamp()
    proc = run_cli(home, "alert", "test", "errors rise", "--earliest", str(int(start)), "--latest", str(int(end)),
                   "-o", "json")
    rows = json.loads(proc.stdout)
    assert [r["scheduled_time"] for r in rows] == [start + 1800 + 3600 * k for k in range(4)]
    assert [r["result_count"] for r in rows] == [10, 25, 12, 40]
    assert [r["triggers"] for r in rows] == [0, 1, 0, 1]
    sent = rows[1]["would_send"]
    assert {a["action"] for a in sent} == {"email", "webhook"}
    email = [a for a in sent if a["action"] == "email"][0]["would_send"]
    assert email["to"] == "ops@example.com" and email["subject"].startswith("errors rise: 25 errors")
    assert all(a["status"] == "not sent (backtest)" for a in sent)
    # nothing the scheduler keeps has changed, nothing was listed as fired
    store = for_home(Home(home))
    assert StateStore(store.db).state(store.get("errors rise").id).prev_value is None
    assert json.loads(run_cli(home, "alert", "fired", "-o", "json").stdout) == []
    table = run_cli(home, "alert", "test", "errors rise", "--earliest", str(int(start)), "--latest", str(int(end)))
    assert "4 scheduled runs, 2 would have fired; nothing was sent" in table.stderr
