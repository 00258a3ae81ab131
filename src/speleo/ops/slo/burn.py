"""Multi-window, multi-burn-rate alerts (Google SRE workbook, "Alerting on SLOs", recommendation 6).

The burn rate is how fast the error budget is spent: error ratio / (1 - objective). A rate of 1
spends exactly the budget over the SLO window. An alert fires when both its long window and its
short window (1/12 of the long one) burn at least the factor: the long window makes it
significant, the short one makes it reset soon after the burning stops.

The workbook's factors are for a 30-day window (2% of the budget in 1 h -> 14.4; 5% in 6 h -> 6;
10% in 3 d -> 1). Speleo keeps the budget fractions and scales the factor to the SLO's window:
factor = fraction * window hours / long-window hours.

Each alert is a generated saved search (`speleo.alerts`), scheduled by cron, dispatched over its
long window, whose SPL returns one row only when both windows burn too fast (alert_type
"number of events" > 0). The good and total searches are inlined: editing a saved search an SLO
was made from does not change its alerts (re-create the SLO).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BurnWindow:
    name: str            # "page-1h", ...
    long: str            # SPL relative time unit, e.g. "1h"
    long_hours: float
    short: str
    budget_fraction: float
    cron: str
    severity: str        # Splunk alert.severity: 5 = critical, 4 = high, 3 = medium

    def factor(self, window_days: int) -> float:
        return round(self.budget_fraction * window_days * 24 / self.long_hours, 4)


WINDOWS = (
    BurnWindow("page-1h", "1h", 1, "5m", 0.02, "* * * * *", "5"),
    BurnWindow("page-6h", "6h", 6, "30m", 0.05, "*/5 * * * *", "4"),
    BurnWindow("ticket-3d", "3d", 72, "6h", 0.10, "0 * * * *", "3"),
)


def windows_for(window_days: int) -> tuple[BurnWindow, ...]:
    """The alerts that fit an SLO window: a long window longer than the SLO's own (3 d for a
    1-day SLO) would judge more than the budget's period, so it is left out."""
    return tuple(w for w in WINDOWS if w.long_hours <= window_days * 24)


def _base(spl: str) -> str:
    spl = spl.strip()
    return spl if spl.lower().startswith("search ") else "search " + spl


def alert_spl(good_spl: str, total_spl: str, objective: float, w: BurnWindow, window_days: int) -> str:
    """The SPL of one burn-rate alert: one row (`burn_long`, `burn_short`, counts) when both of
    `w`'s windows burn at least its factor, else no row. Run it over `-<long>` to now."""
    budget = round(1 - objective / 100, 12)
    f = w.factor(window_days)
    short = f'eval slo_short=if(_time>=relative_time(now(),"-{w.short}"),1,0)'
    return (f"{_base(good_spl)} | {short} | stats count as good_long sum(slo_short) as good_short"
            f" | appendcols [{_base(total_spl)} | {short} | stats count as total_long sum(slo_short) as total_short]"
            f" | eval good_short=coalesce(good_short,0), total_short=coalesce(total_short,0)"
            f" | eval burn_long=if(total_long>0,(1-good_long/total_long)/{budget},0),"
            f" burn_short=if(total_short>0,(1-good_short/total_short)/{budget},0), factor={f}"
            f" | where burn_long>={f} AND burn_short>={f}")


def alert_name(slo_name: str, w: BurnWindow) -> str:
    return f"SLO {slo_name} burn {w.name}"


def alert_attrs(slo: dict, good_spl: str, total_spl: str, w: BurnWindow) -> dict:
    """savedsearches.conf attributes of one generated alert."""
    f = w.factor(slo["window_days"])
    return {"search": alert_spl(good_spl, total_spl, slo["objective"], w, slo["window_days"]),
            "description": (f"SLO {slo['name']} ({slo['service']}, {slo['objective']}% over {slo['window_days']} d): "
                            f"error budget burning at >= {f}x over {w.long} and {w.short}"),
            "is_scheduled": True, "cron_schedule": w.cron,
            "dispatch.earliest_time": f"-{w.long}", "dispatch.latest_time": "now",
            "alert_type": "number of events", "alert_comparator": "greater than", "alert_threshold": "0",
            "alert.severity": w.severity}
