"""The response report against figures this test computes from the timestamps it planted."""

from __future__ import annotations

import datetime as dt
import math
import statistics

import pytest

from speleo.errors import InputError
from speleo.ops.reports import response
from tests.ops.reports.planting import FEB, JAN, plant

PAIRS = {"mttd": ("detected_at", "impact_started_at"), "mtta": ("acknowledged_at", "detected_at"),
         "mttm": ("mitigated_at", "impact_started_at"), "mttr": ("resolved_at", "impact_started_at")}


def expected(incs: list[dict]) -> dict:
    out = {"incidents": len(incs)}
    for m, (end, start) in PAIRS.items():
        vals = sorted(i[end] - i[start] for i in incs if i[end] is not None and i[start] is not None)
        if not vals:
            out[m] = {"n": 0, "mean": None, "median": None, "p90": None}
            continue
        out[m] = {"n": len(vals), "mean": statistics.fmean(vals), "median": statistics.median(vals),
                  "p90": vals[math.ceil(len(vals) * 9 / 10) - 1]}
    return out


def check(got: dict, want: dict) -> None:
    assert got["incidents"] == want["incidents"]
    for m in PAIRS:
        assert got[m]["n"] == want[m]["n"], m
        assert got["missing"][m] == want["incidents"] - want[m]["n"]
        for stat in ("mean", "median", "p90"):
            assert got[m][stat] == pytest.approx(want[m][stat]), (m, stat)


def test_figures_by_severity_service_and_month(ops_db):
    planted = plant(ops_db)
    rep = response.report(ops_db)
    check(rep["overall"], expected(planted))
    for sev in ("SEV1", "SEV2", "SEV3", "SEV4"):
        [got] = [g for g in rep["by"]["severity"] if g["key"] == sev]
        check(got, expected([i for i in planted if i["severity"] == sev]))
    keys = {g["key"]: g for g in rep["by"]["service"]}
    assert sorted(keys) == ["(none)", "db", "web"]
    check(keys["web"], expected([i for i in planted if "web" in i["services"]]))
    check(keys["db"], expected([i for i in planted if "db" in i["services"]]))
    check(keys["(none)"], expected([i for i in planted if not i["services"]]))
    months = {g["key"]: g for g in rep["by"]["month"]}
    assert sorted(months) == ["2026-01", "2026-02"]
    month = lambda i: dt.datetime.fromtimestamp(i["declared_at"], dt.timezone.utc).strftime("%Y-%m")  # noqa: E731
    check(months["2026-02"], expected([i for i in planted if month(i) == "2026-02"]))
    assert [d["measure"] for d in rep["definitions"]] == ["MTTD", "MTTA", "MTTM", "MTTR"]


def test_range_and_filters(ops_db):
    planted = plant(ops_db)
    rep = response.report(ops_db, since=FEB, until=FEB + 10 * 86400, severity="sev2", service="db")
    want = [i for i in planted if FEB <= i["declared_at"] < FEB + 10 * 86400 and i["severity"] == "SEV2"
            and "db" in i["services"]]
    check(rep["overall"], expected(want))
    assert response.report(ops_db, until=JAN)["overall"]["incidents"] == 0


def test_unknown_grouping_is_refused(ops_db):
    with pytest.raises(InputError, match="unknown grouping team"):
        response.report(ops_db, groupings=("team",))


def test_flat_rows_have_one_line_per_group(ops_db):
    plant(ops_db, n=8)
    rep = response.report(ops_db)
    rows = response.rows(rep)
    assert rows[0]["grouping"] == "all" and rows[0]["incidents"] == 8
    assert len(rows) == 1 + sum(len(v) for v in rep["by"].values())
    assert rows[0]["mttr_mean"] == rep["overall"]["mttr"]["mean"]
