"""Create, list, show and remove SLOs; each SLO's burn-rate alerts are generated saved searches.

An SLO is `objective` percent of the `total` events being `good` events over a rolling window
of `window_days` (SRE workbook, "Implementing SLOs": SLI = good events / valid events). Both
searches are event searches: the SLI counts their events. Each is SPL text or the name of a
saved search (its SPL is read when the SLO is created).

Refusals name their rule (`SloRefused.rule`, shown by the CLI and the API):
- `slo-name`: 1-120 printable characters, unique;
- `slo-objective-range`: 0 < objective < 100 (100% leaves no error budget);
- `slo-window-range`: 1 <= window_days <= 366;
- `slo-search-runs`: a search that does not parse or run, or a saved search that does not exist;
- `slo-searches-count-events`: a search that returns a results table (stats, timechart ...)
  instead of events gives no number of events to count;
- `slo-good-within-total`: over the last window the good search found more events than the
  total one, so good is not a subset of total.

`search(spl, earliest, latest, limit)` is the caller's search (the server's with the caller's
rights, or the home's on the command line) returning a `speleo.query.engine.SearchResult`.
"""

from __future__ import annotations

import json
from typing import Callable

from sqlalchemy import select

from speleo.errors import ConflictError, InputError, NotFoundError, SpeleoError
from speleo.ops.db import Database, record_change
from speleo.ops.slo import burn
from speleo.ops.slo.models import SloRow

Searcher = Callable[[str, float, float, int], object]
KINDS = ("spl", "saved")
EXAMPLES = {"good": "index=web status<500", "total": "index=web"}


class SloRefused(InputError):
    """An SLO definition broke a rule; `rule` names it (docs/reports.md)."""

    code = "slo_refused"

    def __init__(self, rule: str, message: str) -> None:
        super().__init__(f"rule {rule}: {message}")
        self.rule = rule

    def to_dict(self) -> dict:
        return {**super().to_dict(), "rule": self.rule}


def refuse(rule: str, message: str) -> SloRefused:
    return SloRefused(rule, message)


class Slos:
    """SLO records over the operations database; `alerts` is the home's `speleo.alerts.store.AlertStore`
    (None: no burn-rate alerts are generated); `clock` gives now (epoch seconds)."""

    def __init__(self, db: Database, search: Searcher, alerts=None, clock=None) -> None:
        import time

        self.db, self.search, self.alerts = db, search, alerts
        self.now = clock.time if clock is not None else time.time

    # -- reading ------------------------------------------------------------------------
    def list(self) -> list[dict]:
        with self.db.session() as s:
            return [r.to_dict() for r in s.scalars(select(SloRow).order_by(SloRow.name))]

    def get(self, name: str) -> dict:
        with self.db.session() as s:
            return self._row(s, name).to_dict()

    def _row(self, s, name: str) -> SloRow:
        row = s.scalars(select(SloRow).where(SloRow.name == name)).first()
        if row is None:
            raise NotFoundError(f"no SLO named '{name}' (see 'speleo slo list')")
        return row

    def spl_of(self, slo: dict, which: str) -> str:
        """The SPL of the SLO's `which` ("good" | "total") search (a saved search's current SPL)."""
        if slo[f"{which}_kind"] == "saved":
            return self._saved_spl(slo[which], which)
        return slo[which]

    def _saved_spl(self, name: str, which: str) -> str:
        if self.alerts is None:
            raise refuse("slo-search-runs", f"the {which} search names saved search '{name}', "
                                            "but no saved searches are available here")
        try:
            return str(self.alerts.get(name).attrs.get("search", ""))
        except SpeleoError as e:
            raise refuse("slo-search-runs", f"the {which} search: {e}") from None

    # -- writing ------------------------------------------------------------------------
    def create(self, name: str, service: str, good: str, total: str, objective: float, window_days: int = 30,
               actor: str = "system", description: str = "", good_kind: str = "spl", total_kind: str = "spl",
               alerts: bool = True) -> dict:
        """Check and store an SLO, then generate its burn-rate alerts (`burn.windows_for` its window).
        Raises SloRefused (a rule), ConflictError (the name exists)."""
        name, service = (name or "").strip(), (service or "").strip()
        if not name or len(name) > 120 or any(ord(c) < 32 for c in name):
            raise refuse("slo-name", "give the SLO a name of 1-120 printable characters")
        if not service or len(service) > 120:
            raise refuse("slo-name", "give the service the SLO is about (--service, 1-120 characters)")
        if isinstance(objective, bool) or not isinstance(objective, (int, float)) or not 0 < objective < 100:
            raise refuse("slo-objective-range", f"objective {objective!r}: give a percentage above 0 and below "
                                                "100, e.g. 99.9 (100% leaves no error budget)")
        if isinstance(window_days, bool) or not isinstance(window_days, int) or not 1 <= window_days <= 366:
            raise refuse("slo-window-range", f"window {window_days!r} days: give 1 to 366 days (30 is usual)")
        for kind in (good_kind, total_kind):
            if kind not in KINDS:
                raise InputError(f"search kind '{kind}': choose spl or saved")
        with self.db.session() as s:
            if s.scalars(select(SloRow.id).where(SloRow.name == name)).first() is not None:
                raise ConflictError(f"an SLO named '{name}' exists already (remove it first)")
        slo = {"name": name, "service": service, "objective": float(objective), "window_days": window_days,
               "good": good.strip(), "good_kind": good_kind, "total": total.strip(), "total_kind": total_kind}
        good_spl, total_spl = self.spl_of(slo, "good"), self.spl_of(slo, "total")
        self._check_counts(good_spl, total_spl, window_days)
        names = self._make_alerts(slo, good_spl, total_spl, actor) if alerts and self.alerts is not None else []
        now = self.now()
        with self.db.session() as s:
            row = SloRow(**slo, description=description or "", alerts=json.dumps(names), created_by=actor,
                         created_at=now, updated_at=now)
            s.add(row)
            s.flush()
            record_change(s, "slo", row.id, "created", None, name, actor, now)
            return row.to_dict()

    def _check_counts(self, good_spl: str, total_spl: str, window_days: int) -> None:
        end = self.now()
        start = end - window_days * 86400
        counts = {}
        for which, spl in (("good", good_spl), ("total", total_spl)):
            if not spl:
                raise refuse("slo-search-runs", f"the {which} search is empty")
            try:
                res = self.search(f"{spl} | head 1", start, end, 1)
            except SpeleoError as e:
                raise refuse("slo-search-runs", f"the {which} search ({spl!r}) does not run: {e}") from None
            if getattr(res, "kind", None) != "events":
                raise refuse("slo-searches-count-events",
                             f"the {which} search ({spl!r}) returns a results table, not events, so there is no "
                             "number of events to count; give the base search whose events are the "
                             f"{which} events (e.g. {EXAMPLES[which]!r}), without stats or timechart")
            counts[which] = count_events(self.search, spl, start, end)
        if counts["good"] > counts["total"]:
            raise refuse("slo-good-within-total",
                         f"over the last {window_days} days the good search found {counts['good']} events and the "
                         f"total search {counts['total']}: good events must be a part of the total events")

    def _make_alerts(self, slo: dict, good_spl: str, total_spl: str, actor: str) -> list[str]:
        from speleo.ops.saved import API_OWNER

        names = []
        for w in burn.windows_for(slo["window_days"]):
            n = burn.alert_name(slo["name"], w)
            self.alerts.save(API_OWNER, n, burn.alert_attrs(slo, good_spl, total_spl, w), replace=True, actor=actor)
            names.append(n)
        return names

    def remove(self, name: str, actor: str = "system") -> dict:
        """Delete the SLO and its generated alerts (their fired-alert history stays)."""
        with self.db.session() as s:
            row = self._row(s, name)
            gone = row.to_dict()
            record_change(s, "slo", row.id, "deleted", False, True, actor, self.now())
            s.delete(row)
        for n in gone["alerts"]:
            if self.alerts is not None:
                try:
                    self.alerts.remove(n, actor=actor)
                except NotFoundError:
                    pass   # removed by hand already
        return gone


def count_events(search: Searcher, spl: str, start: float, end: float) -> int:
    """How many events `spl` finds in [start, end)."""
    res = search(f"{spl} | stats count", start, end, 1)
    rows = res.table.to_pylist()
    return int(rows[0]["count"]) if rows else 0


def bucket_counts(search: Searcher, spl: str, start: float, end: float, span: int) -> dict[float, int]:
    """Event counts of `spl` per `span`-second bucket in [start, end): bucket start -> count."""
    res = search(f"{spl} | bin _time span={int(span)} | stats count by _time", start, end, 0)
    return {float(r["_time"]): int(r["count"]) for r in res.table.to_pylist() if r.get("_time") is not None}
