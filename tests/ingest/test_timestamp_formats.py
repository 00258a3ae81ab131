"""Held-out timestamp formats (tests/ingest/timestamp_cases.py): every event at its hand-written
UTC time, none in the future, through detection and the vectorised parser as a file would go."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from tests.ingest.timestamp_cases import CASES, Case, run_case


def test_at_least_thirty_formats() -> None:
    assert len({c.name for c in CASES}) == len(CASES) >= 30


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_format(case: Case) -> None:
    out = run_case(case)
    shown = [datetime.fromtimestamp(t, timezone.utc).isoformat() for t in out.got]
    assert out.good == len(case.want), f"{case.name} ({out.sourcetype}): got {shown}, want {case.want}"
    assert out.future == 0
