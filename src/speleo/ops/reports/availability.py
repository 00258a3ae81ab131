"""The availability report: per SLO, availability per period, error budget left, burn rates, the
bad periods and the incidents that overlap them (docs/reports.md).

Definitions (SRE workbook, "Implementing SLOs"; objective o as a fraction):
- availability = good events / total events over a range (None when there is no event);
- error budget = (1 - o) * total events of the window: how many bad events the SLO allows;
- budget left = 1 - bad events / error budget (1 = untouched, 0 = spent, below 0 = overspent);
- burn rate over a range = (bad / total) / (1 - o): 1 spends the budget exactly over the window;
- a bad period is a run of consecutive 5-minute buckets (UTC-aligned) whose own error ratio is
  above 1 - o; an incident of the SLO's service "consumed" budget when its span (impact start, or
  detection, or declaration, until resolution or now) overlaps a bad period: the bad events of
  the overlapped buckets are counted as its share.
Periods are UTC calendar days, ISO weeks (starting Monday) or months.
"""

from __future__ import annotations

import datetime as dt

from speleo.errors import InputError
from speleo.ops.reports import response
from speleo.ops.slo import burn
from speleo.ops.slo.service import Slos, bucket_counts

BUCKET = 300   # seconds
PERIODS = ("day", "week", "month")


def period_of(ts: float, period: str) -> str:
    t = dt.datetime.fromtimestamp(ts, dt.timezone.utc)
    if period == "day":
        return t.strftime("%Y-%m-%d")
    if period == "week":
        y, w, _ = t.isocalendar()
        return f"{y}-W{w:02d}"
    return t.strftime("%Y-%m")


def _ratio(good: int, total: int) -> float | None:
    return None if total == 0 else good / total


def slo_report(slos: Slos, db, slo: dict, now: float, period: str = "day") -> dict:
    """The figures of one SLO over its window ending at `now` (see the module's definitions)."""
    if period not in PERIODS:
        raise InputError(f"period '{period}': choose day, week or month")
    end = now
    start = end - slo["window_days"] * 86400
    rollup = getattr(slos, "rollup", None)   # speleo.ops.reports.rollup.Rollup, when the caller set one
    counts = rollup.bucket_counts if rollup is not None else bucket_counts
    good = counts(slos.search, slos.spl_of(slo, "good"), start, end, BUCKET)
    total = counts(slos.search, slos.spl_of(slo, "total"), start, end, BUCKET)
    o = slo["objective"] / 100
    budget = round(1 - o, 12)   # 1 - 0.9 is 0.09999999999999998 in floats: 1 bad in 10 is not above it
    g, t = sum(good.values()), sum(total.values())
    bad = t - g
    allowed = budget * t
    per: dict[str, list[int]] = {}
    for b in sorted(set(total) | set(good)):
        p = per.setdefault(period_of(b, period), [0, 0])
        p[0] += good.get(b, 0)
        p[1] += total.get(b, 0)
    periods = [{"period": k, "good": v[0], "total": v[1], "availability": _ratio(*v),
                "met": None if v[1] == 0 else v[0] / v[1] >= o} for k, v in per.items()]
    bad_runs = _bad_runs(good, total, budget)
    return {"slo": slo, "start": start, "end": end, "good": g, "total": t, "bad": bad,
            "availability": _ratio(g, t), "met": None if t == 0 else g / t >= o,
            "error_budget": allowed, "budget_left": None if allowed == 0 else 1 - bad / allowed,
            "burn_rate": None if t == 0 else (bad / t) / budget,
            "burn_windows": _burn_windows(good, total, end, budget, slo["window_days"]),
            "periods": periods, "bad_periods": bad_runs,
            "incidents": _consumers(db, slo["service"], good, total, bad_runs, allowed, end)}


def _bad_runs(good: dict, total: dict, budget: float) -> list[dict]:
    runs: list[dict] = []
    for b in sorted(total):
        t = total[b]
        bad = t - good.get(b, 0)
        if t == 0 or bad / t <= budget:
            continue
        if runs and runs[-1]["end"] == b:
            runs[-1]["end"] = b + BUCKET
            runs[-1]["bad"] += bad
            runs[-1]["total"] += t
        else:
            runs.append({"start": b, "end": b + BUCKET, "bad": bad, "total": t})
    return runs


def _burn_windows(good: dict, total: dict, end: float, budget: float, window_days: int) -> list[dict]:
    def rate(secs: float) -> float | None:
        lo = end - secs
        t = sum(v for b, v in total.items() if b >= lo)
        gd = sum(v for b, v in good.items() if b >= lo)
        return None if t == 0 else ((t - gd) / t) / budget

    out = []
    for w in burn.windows_for(window_days):
        long_s, short_s = w.long_hours * 3600, w.long_hours * 3600 / 12
        rl, rs = rate(long_s), rate(short_s)
        f = w.factor(window_days)
        out.append({"alert": w.name, "long": w.long, "short": w.short, "factor": f, "burn_long": rl,
                    "burn_short": rs, "firing": rl is not None and rs is not None and rl >= f and rs >= f})
    return out


def _consumers(db, service: str, good: dict, total: dict, runs: list[dict], allowed: float, end: float) -> list[dict]:
    if not runs:
        return []
    out = []
    for inc in response.load(db, service=service):
        lo = next(v for v in (inc["impact_started_at"], inc["detected_at"], inc["declared_at"]) if v is not None)
        hi = inc["resolved_at"] if inc["resolved_at"] is not None else end
        overl = [r for r in runs if r["start"] < hi and r["end"] > lo]
        if not overl:
            continue
        bad = sum(total[b] - good.get(b, 0) for r in overl for b in total
                  if r["start"] <= b < r["end"] and b < hi and b + BUCKET > lo)
        out.append({"id": inc["id"], "severity": inc["severity"], "start": lo, "end": inc["resolved_at"],
                    "bad_events": bad, "budget_share": None if allowed == 0 else bad / allowed})
    return out


def report(slos: Slos, db, now: float, name: str | None = None, period: str = "day") -> dict:
    """`{"report": "availability", "now", "period", "slos": [slo_report, ...]}` for every SLO or
    the one named. Raises NotFoundError for an unknown name."""
    items = [slos.get(name)] if name else slos.list()
    return {"report": "availability", "now": now, "period": period,
            "slos": [slo_report(slos, db, s, now, period) for s in items]}


def rows(rep: dict) -> list[dict]:
    """One row per (SLO, period) for a table or CSV."""
    out = []
    for r in rep["slos"]:
        s = r["slo"]
        for p in r["periods"]:
            out.append({"slo": s["name"], "service": s["service"], "objective": s["objective"], "period": p["period"],
                        "good": p["good"], "total": p["total"], "availability": p["availability"], "met": p["met"],
                        "budget_left": r["budget_left"], "burn_rate": r["burn_rate"]})
    return out
