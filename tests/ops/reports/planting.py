"""Incidents planted straight into the operations database with known timestamps."""

from __future__ import annotations

import json
import random

from speleo.ops.incidents.models import IncidentRow

JAN = 1_767_225_600.0  # 2026-01-01T00:00:00Z
FEB = 1_769_904_000.0  # 2026-02-01T00:00:00Z


def plant(db, n: int = 40, seed: int = 7) -> list[dict]:
    """`n` incidents over January and February 2026 with random delays; some lack timestamps.
    Returns what was written (the test's own copy of the timestamps)."""
    rnd = random.Random(seed)
    planted = []
    with db.session() as s:
        for i in range(n):
            declared = (JAN if i % 2 else FEB) + rnd.randrange(0, 27 * 86400)
            impact = None if i % 7 == 3 else declared - rnd.randrange(60, 7200)
            detected = declared - rnd.randrange(0, 50)
            if impact is not None and detected < impact:
                detected = impact
            ack = None if i % 5 == 4 else detected + rnd.randrange(10, 3600)
            mitigated = None if i % 3 == 2 else declared + rnd.randrange(100, 20000)
            resolved = declared + rnd.randrange(20000, 90000)
            services = [["web"], ["db"], ["web", "db"], []][i % 4]
            sev = f"SEV{1 + i % 4}"
            row = dict(title=f"planted {i}", severity=sev, status="resolved", services=json.dumps(services),
                       created_by="test", impact_started_at=impact, detected_at=detected, declared_at=declared,
                       acknowledged_at=ack, mitigated_at=mitigated, resolved_at=resolved, updated_at=resolved)
            s.add(IncidentRow(**row))
            planted.append({**row, "services": services})
    return planted
