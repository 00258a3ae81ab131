"""The on-call page in a real browser (Debian's Chromium): who is on call now, the week and month
calendar of a schedule in its own zone with shifts, an override and a gap; no script errors."""

from __future__ import annotations

import re

from tests.web.test_browser import page, pytestmark, shots, sign_in  # noqa: F401  (fixtures)


def test_oncall_page_shows_who_and_a_calendar(server_factory, page, shots):  # noqa: F811
    server = server_factory().start()
    pw = re.search(r"created web user 'admin' with password: (\S+)", server.log.read_text()).group(1)
    for u in ("ann", "bob"):
        assert server.api("POST", "/api/v1/users", json={"name": u, "password": "secret-password"}).status_code == 201
    assert server.api("POST", "/api/v1/oncall/schedules", json={"name": "primary", "time_zone": "Europe/Berlin"}).status_code == 201
    assert server.api("POST", "/api/v1/oncall/schedules/primary/rotations",
                      json={"users": ["ann", "bob"], "start": "2026-01-05T09:00", "kind": "daily"}).status_code == 201
    now = server.api("GET", "/api/v1/oncall/who").json()["oncall"][0]
    assert server.api("POST", "/api/v1/oncall/schedules", json={"name": "night", "time_zone": "UTC"}).status_code == 201
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    sign_in(page, server, pw, "/oncall")
    page.wait_for_selector("#now table")
    assert now["user"] in page.text_content("#now")
    page.wait_for_selector("#calendar .cal-day")
    assert page.locator("#calendar .cal-day").count() == 7
    assert page.locator("#calendar .shift.gap").count() == 7   # "night" (first by name) has no rotation
    page.select_option("#schedule", "primary")
    page.wait_for_selector("#calendar .shift.on")
    chips = page.locator("#calendar .shift.on").all_text_contents()
    assert any("09:00" in c and ("ann" in c or "bob" in c) for c in chips), chips
    assert page.locator("#calendar .cal-day.today").count() == 1
    page.select_option("#view", "35")
    page.locator("#calendar .cal-day").nth(34).wait_for()
    assert page.locator("#calendar .cal-day").count() == 35
    page.screenshot(path=str(shots / "oncall.png"), full_page=True)
    assert page.locator("#calendar .shift.gap").count() == 0
    assert errors == []
