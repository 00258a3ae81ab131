"""The alerts page and the REST routes it uses, with a signed-in admin (session + CSRF)."""

from __future__ import annotations

import re

import pytest

from tests.web.test_web_auth import admin_password, sign_in

pytestmark = pytest.mark.e2e


def test_alerts_page_and_save_as_alert_with_a_session(server_factory, tmp_path):
    server = server_factory(tmp_path / "home").start()
    c, _ = sign_in(server, "admin", admin_password(server))
    page = c.get("/alerts")
    assert page.status_code == 200 and "/ui/alerts.js" in page.text and 'id="fired-count"' in page.text
    assert 'id="save-alert"' in c.get("/").text
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', page.text).group(1)
    form = {"name": "web alert", "search": "index=main error", "cron_schedule": "*/5 * * * *", "is_scheduled": "1",
            "alert_type": "number of events", "alert_comparator": "greater than", "alert_threshold": "0"}
    assert c.post("/services/saved/searches?output_mode=json", data=form).status_code == 401   # no CSRF header
    r = c.post("/services/saved/searches?output_mode=json", data=form, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 201, r.text
    entry = r.json()["entry"][0]
    assert entry["acl"]["owner"] == "admin" and entry["content"]["next_scheduled_time"]
    r = c.post("/services/saved/searches/web%20alert/suppress?output_mode=json", data={"expiration": "3600"},
               headers={"X-CSRF-Token": csrf})
    assert r.json()["entry"][0]["content"]["suppressed"] is True
    assert c.get("/services/alerts/fired_alerts?output_mode=json").json()["entry"] == []
